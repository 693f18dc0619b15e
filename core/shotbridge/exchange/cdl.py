"""ASC CDL on OTIO objects, under the key OTIO's cmx_3600 and ALE adapters read and write.

`metadata["cdl"] = {"asc_sop": {"slope": [r, g, b], "offset": [r, g, b], "power": [r, g, b]}, "asc_sat": s}`,
so a CDL set here comes out of an EDL as ASC_SOP/ASC_SAT lines and back.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from . import anydict

KEY = "cdl"
Triple = tuple[float, float, float]


class CDL(BaseModel):
    slope: Triple = (1.0, 1.0, 1.0)
    offset: Triple = (0.0, 0.0, 0.0)
    power: Triple = (1.0, 1.0, 1.0)
    saturation: float = Field(default=1.0, ge=0.0)

    @field_validator("slope", "power")
    @classmethod
    def _non_negative(cls, v: Triple) -> Triple:
        if any(x < 0 for x in v):
            raise ValueError("slope and power must not be negative")
        return v

    def to_metadata(self) -> dict[str, Any]:
        return {"asc_sop": {"slope": list(self.slope), "offset": list(self.offset), "power": list(self.power)},
                "asc_sat": self.saturation}

    @classmethod
    def from_metadata(cls, data: dict[str, Any]) -> CDL:
        sop = data.get("asc_sop") or {}
        return cls(slope=_triple(sop.get("slope"), 1.0), offset=_triple(sop.get("offset"), 0.0),
                   power=_triple(sop.get("power"), 1.0), saturation=float(data.get("asc_sat", 1.0)))

    def rounded(self, digits: int = 5) -> CDL:
        """Values rounded for files and people (5 decimals move 8-bit output far less than a code value)."""
        def r(t: Triple) -> Triple:
            return (round(t[0], digits), round(t[1], digits), round(t[2], digits))

        return CDL(slope=r(self.slope), offset=r(self.offset), power=r(self.power),
                   saturation=round(self.saturation, digits))

    @property
    def is_identity(self) -> bool:
        return self == CDL()


def _triple(value: Any, default: float) -> Triple:
    if value is None:
        return (default, default, default)
    values = [float(x) for x in value]
    if len(values) != 3:
        raise ValueError(f"a CDL triple needs 3 values, got {values}")
    return (values[0], values[1], values[2])


def get_cdl(obj: Any) -> CDL | None:
    data = anydict.get(obj, KEY)
    return CDL.from_metadata(data) if data else None


def set_cdl(obj: Any, cdl: CDL) -> None:
    anydict.put(obj, KEY, cdl.to_metadata())

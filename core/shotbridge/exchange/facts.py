"""AI facts on OTIO objects: `metadata["shotbridge"]`, validated and versioned."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from . import anydict
from .errors import ExchangeError

KEY = "shotbridge"
SCHEMA = 1


class IdentityFacts(BaseModel):
    """The identity gate's verdict on a generated take: how near the bible's characters it came."""

    passed: bool
    score: float | None = Field(description="Similarity to the bible, 1 - d^2/4 (1: identical); None: no face")
    distance: float | None = Field(description="Worst character's face distance (None: no face found)")
    threshold: float = Field(description="Largest distance that passes")
    attempts: int = Field(ge=1, description="Generations made (a new seed each) before this one was kept")
    face_model: str
    frames: int = Field(default=1, description="Frames scored")


class Facts(BaseModel):
    """What ShotBridge knows about a clip, take or marker. Unknown keys survive (extra="allow")."""

    model_config = ConfigDict(extra="allow")

    schema_: int = Field(default=SCHEMA, alias="schema")
    id: str | None = Field(default=None, description="Stable id of the shot across recuts")
    job_id: str | None = None
    operation: str | None = None
    provider: str | None = None
    model: str | None = None
    param_digest: str | None = Field(default=None, description="sha256 of the operation's parameters")
    prompt: str | None = None
    seed: int | None = None
    characters: list[str] = Field(default_factory=list, description="Who the shot should show")
    asset_sha256: str | None = None
    provenance: str | None = Field(default=None, description="Reference to the Content Credentials manifest")
    findings: list[dict[str, Any]] = Field(default_factory=list)
    identity: IdentityFacts | None = Field(default=None, description="The identity gate's verdict on a take "
                                                                     "made with bible characters")

    def to_metadata(self) -> dict[str, Any]:
        # Only what is set: every key makes the file bigger for each of 10,000 clips.
        return {"schema": self.schema_, **self.model_dump(by_alias=True, exclude_defaults=True, mode="json")}


def get_facts(obj: Any) -> Facts | None:
    data = anydict.get(obj, KEY)
    if data is None:
        return None
    version = data.get("schema", SCHEMA)
    if not isinstance(version, int) or version > SCHEMA:
        raise ExchangeError(
            f"'{getattr(obj, 'name', obj)}' carries ShotBridge facts of schema {version}; this version reads "
            f"schema {SCHEMA}. Update ShotBridge to read this timeline."
        )
    return Facts.model_validate(data)


def set_facts(obj: Any, facts: Facts) -> None:
    anydict.put(obj, KEY, facts.to_metadata())


def update_facts(obj: Any, **values: Any) -> Facts:
    facts = get_facts(obj) or Facts()
    facts = facts.model_copy(update=values)
    set_facts(obj, facts)
    return facts

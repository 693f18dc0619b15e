"""The operation catalogue: every operation the backend can run, by name."""

from __future__ import annotations

from .base import Canceled, JobContext, Operation, OperationError
from .check_consistency import CheckConsistency
from .detect_shots import DetectShots
from .echo import Echo
from .generate import ExtendShot, FillGap, GenerateImage, Inpaint, RemoveBackground
from .match_look import MatchLook

CATALOGUE: dict[str, Operation] = {op.name: op for op in (
    Echo(), DetectShots(), CheckConsistency(), MatchLook(),
    GenerateImage(), ExtendShot(), FillGap(), Inpaint(), RemoveBackground(),
)}

__all__ = ["CATALOGUE", "Canceled", "JobContext", "Operation", "OperationError"]

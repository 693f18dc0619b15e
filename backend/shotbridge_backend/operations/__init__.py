"""The operation catalogue: every operation the backend can run, by name."""

from __future__ import annotations

from .base import Canceled, JobContext, Operation, OperationError
from .check_consistency import CheckConsistency
from .detect_shots import DetectShots
from .echo import Echo
from .edit_shot import EditShot
from .generate import ExtendShot, FillGap, GenerateImage, Inpaint, RemoveBackground
from .match_look import MatchLook
from .reframe import Reframe
from .replace_character import ReplaceCharacter

CATALOGUE: dict[str, Operation] = {op.name: op for op in (
    Echo(), DetectShots(), CheckConsistency(), MatchLook(),
    GenerateImage(), ExtendShot(), FillGap(), Inpaint(), RemoveBackground(), EditShot(), Reframe(),
    ReplaceCharacter(),
)}

__all__ = ["CATALOGUE", "Canceled", "JobContext", "Operation", "OperationError"]

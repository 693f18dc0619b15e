"""The operation catalogue: every operation the backend can run, by name."""

from __future__ import annotations

from .base import Canceled, JobContext, Operation, OperationError
from .detect_shots import DetectShots
from .echo import Echo

CATALOGUE: dict[str, Operation] = {op.name: op for op in (Echo(), DetectShots())}

__all__ = ["CATALOGUE", "Canceled", "JobContext", "Operation", "OperationError"]

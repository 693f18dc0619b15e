"""`echo`: a trivial operation that exercises the whole job path (doctor, benchmarks, smoke tests)."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from .base import JobContext, Operation


class EchoParams(BaseModel):
    message: str = Field(default="hello", max_length=10_000, description="Text to send back")
    seconds: float = Field(default=0.0, ge=0.0, le=600.0, description="Time to spend, in checkpointed steps")


class EchoResult(BaseModel):
    message: str


class Echo(Operation):
    name = "echo"
    title = "Echo"
    description = "Returns its message; checks that jobs run end to end."
    params = EchoParams
    result = EchoResult

    def run(self, ctx: JobContext, params: EchoParams) -> EchoResult:
        steps = max(1, int(params.seconds / 0.05))
        if params.seconds > 0:
            for i in range(steps):
                ctx.progress(i / steps, "waiting")
                time.sleep(params.seconds / steps)
        return EchoResult(message=params.message)

"""Errors the client raises. Each says what went wrong and what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing pydantic models costs every CLI start ~0.1 s
    from .models import Problem


class ShotBridgeError(Exception):
    """Base class: every error the core raises for a user to read."""


class BackendUnreachable(ShotBridgeError):
    def __init__(self, url: str, reason: str = ""):
        self.url = url
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"Cannot reach the ShotBridge backend at {url}{why}. "
            "Start it with `shotbridge serve`, or point SHOTBRIDGE_URL at a running backend."
        )


class ApiError(ShotBridgeError):
    """The backend answered with an error (problem+json)."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.status = problem.status
        text = problem.title
        if problem.detail:
            text += f": {problem.detail}"
        for err in problem.errors:
            text += f"\n  - {err.field}: {err.message}"
        super().__init__(text)


class AuthError(ApiError):
    pass


class NotFound(ApiError):
    pass


class ValidationFailed(ApiError):
    pass


class Conflict(ApiError):
    pass


class HashMismatch(ShotBridgeError):
    pass


class JobFailed(ShotBridgeError):
    def __init__(self, job):
        self.job = job
        reason = job.error.detail or job.error.title if job.error else job.message
        super().__init__(f"Job {job.id} ({job.operation}) {job.status.value}: {reason}")


def error_for(problem: Problem) -> ApiError:
    cls = {401: AuthError, 403: AuthError, 404: NotFound, 409: Conflict, 422: ValidationFailed}.get(
        problem.status, ApiError
    )
    return cls(problem)

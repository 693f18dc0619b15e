"""What every route needs: the running backend, the caller's token, and problem+json errors."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from shotbridge.models import Job, Problem, Project

from . import auth
from .db import JobRow, ProjectRow
from .runner import to_job
from .service import Backend


class ApiProblem(Exception):
    def __init__(self, status: int, title: str, detail: str = "", errors: list[dict] | None = None):
        super().__init__(detail or title)
        self.problem = Problem(title=title, status=status, detail=detail or None, errors=errors or [])


def field_problem(status: int, title: str, field: str, message: str) -> ApiProblem:
    return ApiProblem(status, title, message, [{"field": field, "message": message}])


PROBLEM_STATUSES = {
    401: "No token, or one this backend does not know",
    403: "The token may not do this (admin only), or the project's policy refuses it",
    404: "Not found, or not reachable with this token",
    409: "Conflicts with the current state (a name taken, a key reused, a job not retryable)",
    412: "Changed since the version sent in If-Match",
    413: "The request body is over the route's size limit",
    422: "The request is invalid; `errors` names the fields",
    503: "No provider that may run this is reachable now",
    507: "The asset store has no room for it",
}


def problems(*statuses: int, **others: dict) -> dict[int | str, dict]:
    """OpenAPI `responses=` for a route: each error status it answers (problem+json, RFC 9457) and, under
    `others` as `status_<n>=...`, any other success it answers besides its default."""
    out: dict[int | str, dict] = {
        status: {"description": PROBLEM_STATUSES[status],
                 "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for status in statuses}
    for key, response in others.items():
        out[int(key.removeprefix("status_"))] = response
    return out


async def get_backend(request: Request) -> Backend:  # async: no thread hop for a dict lookup
    return request.app.state.backend


BackendDep = Annotated[Backend, Depends(get_backend)]


async def authenticate(backend: BackendDep, authorization: Annotated[str | None, Header()] = None
                       ) -> auth.Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiProblem(401, "Missing token",
                         "Send 'Authorization: Bearer <token>'. The embedded backend's token is in "
                         f"{backend.settings.token_file}; the CLI and client read it from there.")
    token = authorization[7:].strip()
    principal = backend.tokens.cached(token) or await run_in_threadpool(backend.tokens.lookup, token)
    if principal is None:
        raise ApiProblem(401, "Invalid token",
                         "The token is not known to this backend. Use the one in "
                         f"{backend.settings.token_file}, or a project token this backend issued.")
    return principal


PrincipalDep = Annotated[auth.Principal, Depends(authenticate)]


def project_row(backend: Backend, principal: auth.Principal, ref: str) -> ProjectRow:
    with backend.db.session() as s:
        row = s.get(ProjectRow, ref) or s.scalars(select(ProjectRow).where(ProjectRow.name == ref)).first()
    if row is None or not principal.may_reach(row.id):
        # The same answer for "absent" and "not yours": a project token learns nothing about other projects.
        raise ApiProblem(404, "Project not found",
                         f"No project '{ref}' is reachable with this token. List yours with `shotbridge projects`.")
    return row


def job_row(backend: Backend, principal: auth.Principal, job_id: str) -> Job:
    with backend.db.session() as s:
        row = s.get(JobRow, job_id)
        job = to_job(row) if row else None
    if job is None or not principal.may_reach(job.project_id):
        raise ApiProblem(404, "Job not found", f"No job '{job_id}' is reachable with this token.")
    return job


def project_model(row: ProjectRow) -> Project:
    return Project(id=row.id, name=row.name, description=row.description, created_at=row.created_at)




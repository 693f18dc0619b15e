"""The HTTP API (/v1), generated from the shared pydantic models. Every error is problem+json."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from shotbridge import __version__
from shotbridge.hashing import sha256_json
from shotbridge.models import (
    OTIO_MEDIA_TYPE,
    SHA256_RE,
    Asset,
    Credentials,
    EgressRecord,
    Estimate,
    Health,
    Job,
    JobStatus,
    JobSubmit,
    Operation,
    Problem,
    Project,
    ProjectCreate,
    ProjectPolicy,
    ProjectWithToken,
    Provider,
)
from shotbridge.safenames import safe_name

from . import audit, auth, characters, routing, timelines
from .body_limits import BodyTooLarge, JsonBodyLimit
from .db import AssetRow, JobRow, ProjectRow, asset_model
from .deps import (
    ApiProblem,
    BackendDep,
    PrincipalDep,
    field_problem,
    job_row,
    problems,
    project_model,
    project_row,
)
from .operations import CATALOGUE
from .policy import load_policy, save_policy
from .provenance.check import check_credentials
from .runner import to_job
from .service import Backend
from .settings import BackendSettings
from .store import StoreError
from .url_checks import NulRefused

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
SSE_KEEPALIVE = 15.0


class AssetFileResponse(FileResponse):
    chunk_size = 1 << 20  # Starlette's 64 KiB costs a thread hop per chunk: 8x slower on large media


def create_app(settings: BackendSettings | None = None) -> FastAPI:
    settings = settings or BackendSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        backend = Backend(settings)
        backend.start()
        app.state.backend = backend
        try:
            yield
        finally:
            backend.stop()

    app = FastAPI(
        title="ShotBridge",
        version=__version__,
        description="AI operations for film and TV crews, shared by the Nuke, Resolve and Blender adapters.",
        lifespan=lifespan,
        responses={"default": {"model": Problem, "content": {PROBLEM: {}}}},
    )
    _install_error_handlers(app)

    async def refuse(exc: BodyTooLarge, scope, receive, send):
        await _too_large(exc, scope["path"])(scope, receive, send)

    async def refuse_nul(where: str, scope, receive, send):
        detail = (f"The request's {where} holds a NUL character (%00, \\u0000), which no name, text, filter or "
                  "id may contain. Remove it and send the request again.")
        await _problem_response(Problem(title="Bad request", status=400, detail=detail,
                                        instance=scope["path"].replace("\x00", "%00")))(scope, receive, send)

    app.add_middleware(NulRefused, refuse=refuse_nul)  # inside the body limit, which hands on whole bodies
    app.add_middleware(JsonBodyLimit, limit=settings.max_json_bytes, refuse=refuse)
    _install_routes(app)
    app.include_router(characters.router)
    app.include_router(timelines.router)
    return app


# -- errors ------------------------------------------------------------------------------------------------


def _problem_response(problem: Problem, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(problem.model_dump(mode="json", exclude_none=True), status_code=problem.status,
                        media_type=PROBLEM, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem):
        exc.problem.instance = request.url.path
        return _problem_response(exc.problem)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [{"field": _dotted(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        fields = ", ".join(e["field"] for e in errors)
        return _problem_response(Problem(title="Invalid request", status=422, instance=request.url.path,
                                         detail=f"Check {fields}.", errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No such endpoint: {request.method} {request.url.path}. The API lives under /v1 (see /docs)."
        return _problem_response(Problem(title=_reason(exc.status_code), status=exc.status_code,
                                         detail=detail, instance=request.url.path),
                                 headers=getattr(exc, "headers", None))

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError):
        return _problem_response(Problem(title=exc.title, status=exc.status, detail=exc.detail,
                                         instance=request.url.path))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _problem_response(Problem(title="Internal error", status=500, instance=request.url.path,
                                         detail=f"{type(exc).__name__}: {exc}. The backend log has details."))


def _too_large(exc: BodyTooLarge, path: str) -> JSONResponse:
    return _problem_response(Problem(title="Request body too large", status=413, detail=str(exc), instance=path),
                             headers={"Connection": "close"})


def _dotted(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# -- routes ------------------------------------------------------------------------------------------------


def _install_routes(app: FastAPI) -> None:  # noqa: C901 - one place that lists the whole API
    @app.get("/v1/health", response_model=Health, tags=["service"])
    def health(backend: BackendDep) -> Health:
        return Health(version=__version__, operations=len(CATALOGUE), providers=len(backend.registry.adapters))

    @app.get("/v1/operations", response_model=list[Operation], tags=["service"], responses=problems(401))
    def list_operations(backend: BackendDep, principal: PrincipalDep) -> list[Operation]:
        out = []
        for op in CATALOGUE.values():
            offered = [a.name for a in backend.registry.implementing(op)]
            reason = op.unavailable_reason() or ("" if offered else (
                f"no configured provider can {op.task.value.replace('_', ' ')}: add ComfyUI or a cloud provider "
                "to providers.toml (docs/providers.md)"))
            out.append(Operation(name=op.name, title=op.title, description=op.description,
                                 params_schema=op.params.model_json_schema(),
                                 result_schema=op.result.model_json_schema(), providers=offered,
                                 available=not reason, reason=reason,
                                 routes=routing.routes(backend.registry, op) if op.task is not None else []))
        return out

    @app.get("/v1/providers", response_model=list[Provider], tags=["service"], responses=problems(401))
    def list_providers(backend: BackendDep, principal: PrincipalDep) -> list[Provider]:
        return backend.registry.describe(CATALOGUE)

    # projects

    @app.get("/v1/projects", response_model=list[Project], tags=["projects"], responses=problems(401))
    def list_projects(backend: BackendDep, principal: PrincipalDep) -> list[Project]:
        with backend.db.session() as s:
            query = select(ProjectRow).order_by(ProjectRow.created_at)
            if not principal.is_admin:
                query = query.where(ProjectRow.id == principal.project_id)
            return [project_model(r) for r in s.scalars(query)]

    @app.post("/v1/projects", response_model=ProjectWithToken, status_code=201, tags=["projects"],
              responses=problems(401, 403, 409, 413, 422))
    def createproject_model(body: ProjectCreate, backend: BackendDep, principal: PrincipalDep) -> ProjectWithToken:
        if not principal.is_admin:
            raise ApiProblem(403, "Admin token needed", "Only the backend's admin token may create projects.")
        try:
            with backend.db.session() as s:
                row = ProjectRow(id=uuid.uuid4().hex[:12], name=body.name, description=body.description)
                s.add(row)
        except IntegrityError:
            raise field_problem(409, "Project exists", "name",
                                f"A project named '{body.name}' already exists; pick another name.") from None
        token = auth.issue(backend.db, row.id)
        return ProjectWithToken(**project_model(row).model_dump(), token=token)

    @app.get("/v1/projects/{project}", response_model=Project, tags=["projects"], responses=problems(401, 404))
    def getproject_model(project: str, backend: BackendDep, principal: PrincipalDep) -> Project:
        return project_model(project_row(backend, principal, project))

    @app.post("/v1/projects/{project}/tokens", status_code=201, tags=["projects"],
              responses=problems(401, 403, 404))
    def create_project_token(project: str, backend: BackendDep, principal: PrincipalDep) -> dict[str, str]:
        row = project_row(backend, principal, project)
        if not principal.is_admin:
            raise ApiProblem(403, "Admin token needed", "Only the backend's admin token may issue tokens.")
        return {"project_id": row.id, "token": auth.issue(backend.db, row.id)}

    # assets

    @app.get("/v1/projects/{project}/assets", response_model=list[Asset], tags=["assets"],
             responses=problems(401, 404))
    def list_assets(project: str, backend: BackendDep, principal: PrincipalDep) -> list[Asset]:
        pid = project_row(backend, principal, project).id
        with backend.db.session() as s:
            rows = s.scalars(select(AssetRow).where(AssetRow.project_id == pid).order_by(AssetRow.created_at))
            return [asset_model(r) for r in rows]

    def _asset_row(backend: Backend, pid: str, sha256: str) -> AssetRow | None:
        _check_sha(sha256)
        with backend.db.session() as s:
            return s.get(AssetRow, (pid, sha256))

    @app.get("/v1/projects/{project}/assets/{sha256}", response_model=Asset, tags=["assets"],
             responses=problems(401, 404, 422))
    @app.head("/v1/projects/{project}/assets/{sha256}", response_model=Asset, tags=["assets"],
              operation_id="head_asset", responses=problems(401, 404, 422))
    def get_asset(project: str, sha256: str, backend: BackendDep, principal: PrincipalDep) -> Asset:
        pid = project_row(backend, principal, project).id
        row = _asset_row(backend, pid, sha256)
        if row is None or not backend.store.exists(sha256):
            raise ApiProblem(404, "Asset not found", f"Project '{project}' has no asset {sha256}; upload it.")
        return asset_model(row)

    @app.put("/v1/projects/{project}/assets/{sha256}", response_model=Asset, status_code=201, tags=["assets"],
             openapi_extra={"requestBody": {"content": {"application/octet-stream": {}}, "required": True}},
             responses=problems(401, 404, 413, 422, 507, status_200={
                 "model": Asset, "description": "The project already has this asset: nothing was uploaded"}))
    async def put_asset(
        project: str, sha256: str, request: Request, backend: BackendDep, principal: PrincipalDep,
        x_shotbridge_filename: Annotated[str, Header()] = "",
        x_shotbridge_media_type: Annotated[str, Header()] = "application/octet-stream",
    ) -> Any:
        pid = (await run_in_threadpool(project_row, backend, principal, project)).id
        _check_sha(sha256)
        existing = await run_in_threadpool(backend.runner.claim_upload, pid, sha256)
        if existing is not None:
            return JSONResponse(existing.model_dump(mode="json"), status_code=200)
        # The name is only a label, but operations name files after it: made safe here, before it is stored.
        filename = safe_name(unquote(x_shotbridge_filename), "X-ShotBridge-Filename", default="")
        limit, setting = upload_limit(backend.settings, x_shotbridge_media_type, filename)
        # Content-Length is the transport's, not an API parameter: read here, absent from the OpenAPI document
        length = request.headers.get("content-length", "")
        content_length = int(length) if length.isdigit() else None
        if content_length is not None and content_length > limit:
            raise ApiProblem(413, "Asset too large",
                             f"The upload is {content_length} bytes; the configured limit is {limit} "
                             f"({setting}). Split it or raise the limit.")
        backend.store.check_space(content_length or 0)
        size = await backend.store.receive(request.stream(), sha256, limit, setting)
        row = AssetRow(project_id=pid, sha256=sha256, size=size, media_type=x_shotbridge_media_type[:200],
                       filename=filename, origin="uploaded")
        saved = await run_in_threadpool(backend.runner.claim_upload, pid, sha256, row)
        if saved is None:
            raise ApiProblem(409, "Upload crossed a clean-up", "A re-run job removed these bytes while they were "
                             "being uploaded; upload the file again.")
        return saved

    @app.get("/v1/projects/{project}/assets/{sha256}/content", tags=["assets"],
             response_class=FileResponse, responses=problems(401, 404, 422, status_200={
                 "description": "The asset's bytes, with the media type it was stored with",
                 "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}, status_206={
                 "description": "The byte ranges asked for with a Range header",
                 "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}, status_400={
                 "description": "A malformed Range header", "content": {"text/plain": {}}}, status_416={
                 "description": "A Range outside the asset", "content": {"text/plain": {}}}))
    def get_asset_content(project: str, sha256: str, backend: BackendDep, principal: PrincipalDep):
        pid = project_row(backend, principal, project).id
        row = _asset_row(backend, pid, sha256)
        if row is None or not backend.store.exists(sha256):
            raise ApiProblem(404, "Asset not found", f"Project '{project}' has no asset {sha256}.")
        return AssetFileResponse(backend.store.path(sha256), media_type=row.media_type,
                            headers={"X-ShotBridge-Sha256": sha256})

    @app.get("/v1/projects/{project}/assets/{sha256}/credentials", response_model=Credentials, tags=["assets"],
             responses=problems(401, 404, 422))
    def get_asset_credentials(project: str, sha256: str, backend: BackendDep, principal: PrincipalDep) -> Credentials:
        pid = project_row(backend, principal, project).id
        row = _asset_row(backend, pid, sha256)
        if row is None or not backend.store.exists(sha256):
            raise ApiProblem(404, "Asset not found", f"Project '{project}' has no asset {sha256}.")
        return check_credentials(backend.store.path(sha256), row.media_type, row.filename,
                                 backend.runner.keys_dir)

    # jobs

    @app.post("/v1/projects/{project}/jobs", response_model=Job, status_code=201, tags=["jobs"],
              responses=problems(401, 403, 404, 409, 413, 422, 503, status_200={
                  "model": Job, "description": "A job with this Idempotency-Key exists already: that job"}))
    def submit_job(
        project: str, body: JobSubmit, backend: BackendDep, principal: PrincipalDep,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Any:
        prow = project_row(backend, principal, project)
        pid = prow.id
        op, params = _validated(body)
        clean = params.model_dump(mode="json")
        _check_assets(backend, pid, project, op, clean)
        provider = _route(backend, pid, prow.name, op, params, body.provider)
        digest = sha256_json([op.name, clean, provider.name])
        key = (idempotency_key or "").strip() or None  # an empty header is no key
        for attempt in range(2):  # two submits racing with one key: the second answers with the first's job
            try:
                with backend.db.session() as s:
                    if key:
                        prior = s.scalars(select(JobRow).where(JobRow.project_id == pid,
                                                               JobRow.idempotency_key == key)).first()
                        if prior is not None:
                            if prior.request_digest != digest:
                                raise ApiProblem(409, "Idempotency key reused",
                                                 f"Key '{key}' was used for a different request "
                                                 f"(job {prior.id}); use a new key for a new job.")
                            return JSONResponse(to_job(prior).model_dump(mode="json"), status_code=200)
                    row = JobRow(id=uuid.uuid4().hex, project_id=pid, idempotency_key=key,
                                 request_digest=digest, operation=op.name, params=clean, provider=provider.name,
                                 status=JobStatus.queued.value, message="queued", token_id=principal.token_id)
                    s.add(row)
                    s.flush()
                    job = to_job(row)
                break
            except IntegrityError:
                if not key or attempt:
                    raise
        backend.runner.enqueue(job.id)
        return job

    # policy, estimates and the egress audit

    @app.get("/v1/projects/{project}/policy", response_model=ProjectPolicy, tags=["policy"],
             responses=problems(401, 404))
    def get_policy(project: str, backend: BackendDep, principal: PrincipalDep) -> ProjectPolicy:
        return load_policy(backend.db, project_row(backend, principal, project).id)

    @app.put("/v1/projects/{project}/policy", response_model=ProjectPolicy, tags=["policy"],
             responses=problems(401, 403, 404, 413, 422))
    def put_policy(project: str, body: ProjectPolicy, backend: BackendDep, principal: PrincipalDep) -> ProjectPolicy:
        """Replace the project's policy. Admin only: a project's own token cannot loosen what protects it."""
        row = project_row(backend, principal, project)
        if not principal.is_admin:
            raise ApiProblem(403, "Admin token needed", "Only the backend's admin token may change a project's "
                             "policy; ask the supervisor who runs the backend.")
        unknown = [g.provider for g in body.grants if backend.registry.get(g.provider) is None]
        if unknown:
            raise field_problem(422, "Unknown provider", "grants",
                                f"No provider {', '.join(map(repr, unknown))} on this backend; it has "
                                f"{', '.join(sorted(backend.registry.adapters))}.")
        return save_policy(backend.db, row.id, body)

    @app.post("/v1/projects/{project}/estimate", response_model=Estimate, tags=["policy"],
              responses=problems(401, 404, 413, 422))
    def estimate_job(project: str, body: JobSubmit, backend: BackendDep, principal: PrincipalDep) -> Estimate:
        """For a job not yet submitted: which providers could run it, what the policy says, what it costs."""
        row = project_row(backend, principal, project)
        op, params = _validated(body)
        return routing.estimate(backend.registry, load_policy(backend.db, row.id), op, params, row.name)

    @app.get("/v1/projects/{project}/audit", response_model=list[EgressRecord], tags=["policy"],
             responses=problems(401, 404, 422))
    def get_audit(project: str, backend: BackendDep, principal: PrincipalDep, job: str | None = None,
                  provider: str | None = None, limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
                  ) -> list[EgressRecord]:
        return audit.records(backend.db, project_row(backend, principal, project).id, job_id=job,
                             provider=provider, limit=limit)

    @app.get("/v1/jobs", response_model=list[Job], tags=["jobs"], responses=problems(401, 404, 422))
    def list_jobs(
        backend: BackendDep, principal: PrincipalDep, project: str | None = None,
        status: JobStatus | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[Job]:
        query = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
        if project is not None:
            query = query.where(JobRow.project_id == project_row(backend, principal, project).id)
        elif not principal.is_admin:
            query = query.where(JobRow.project_id == principal.project_id)
        if status is not None:
            query = query.where(JobRow.status == status.value)
        with backend.db.session() as s:
            return [to_job(r) for r in s.scalars(query)]

    @app.get("/v1/jobs/{job_id}", response_model=Job, tags=["jobs"], responses=problems(401, 404))
    def get_job(job_id: str, backend: BackendDep, principal: PrincipalDep) -> Job:
        return job_row(backend, principal, job_id)

    @app.post("/v1/jobs/{job_id}/cancel", response_model=Job, tags=["jobs"], responses=problems(401, 404))
    def cancel_job(job_id: str, backend: BackendDep, principal: PrincipalDep) -> Job:
        job = job_row(backend, principal, job_id)
        if job.status.terminal:
            return job  # cancel is idempotent: a finished job stays as it finished
        return backend.runner.cancel(job_id)

    @app.post("/v1/jobs/{job_id}/retry", response_model=Job, status_code=201, tags=["jobs"],
              responses=problems(401, 404, 409))
    def retry_job(job_id: str, backend: BackendDep, principal: PrincipalDep) -> Job:
        """A new job with the same operation, parameters and provider as a failed or canceled one."""
        old = job_row(backend, principal, job_id)
        if old.status not in (JobStatus.failed, JobStatus.canceled):
            raise ApiProblem(409, "Job not retryable",
                             f"Job {job_id} is {old.status.value}; only failed or canceled jobs can be retried.")
        with backend.db.session() as s:
            row = JobRow(id=uuid.uuid4().hex, project_id=old.project_id, operation=old.operation,
                         params=old.params, provider=old.provider, status=JobStatus.queued.value,
                         message=f"retry of {old.id}", token_id=principal.token_id)
            s.add(row)
            s.flush()
            job = to_job(row)
        backend.runner.enqueue(job.id)
        return job

    @app.get("/v1/jobs/{job_id}/events", tags=["jobs"],
             responses=problems(401, 404, status_200={"content": {"text/event-stream": {}},
                                                      "description": "Server-sent events; each `data:` line is a Job"}))
    async def job_events(job_id: str, backend: BackendDep, principal: PrincipalDep) -> StreamingResponse:
        queue = backend.broker.subscribe(job_id)  # before the read, so no update can fall between the two
        try:
            first = await run_in_threadpool(job_row, backend, principal, job_id)  # 404 before any byte is sent
        except BaseException:
            backend.broker.unsubscribe(job_id, queue)
            raise

        async def stream():
            job = first
            try:
                yield _sse(job)
                while not job.status.terminal:
                    try:
                        job = await asyncio.wait_for(queue.get(), SSE_KEEPALIVE)
                    except asyncio.TimeoutError:
                        if backend.studio:  # a change of state lost with a broker restart: the row has it
                            latest = await run_in_threadpool(job_row, backend, principal, job_id)
                            if (latest.status, latest.attempts) != (job.status, job.attempts):
                                job = latest
                                yield _sse(job)
                                continue
                        yield ": keep-alive\n\n"
                        continue
                    while not queue.empty() and not job.status.terminal:
                        job = queue.get_nowait()  # a slow reader gets the latest state, not a backlog
                    yield _sse(job)
            finally:
                backend.broker.unsubscribe(job_id, queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def upload_limit(settings: BackendSettings, media_type: str, filename: str) -> tuple[int, str]:
    """The size cap for an upload and the setting that sets it: timelines are parsed, media only stored."""
    from shotbridge.exchange.io import FORMATS
    from shotbridge.exchange.untrusted import Limits

    if media_type == OTIO_MEDIA_TYPE or Path(filename).suffix.lower() in FORMATS:
        return min(settings.max_asset_bytes, Limits.from_env().max_bytes), "SHOTBRIDGE_TIMELINE_MAX_BYTES"
    return settings.max_asset_bytes, "SHOTBRIDGE_MAX_ASSET_BYTES"


def _validated(body: JobSubmit):
    op = CATALOGUE.get(body.operation)
    if op is None:
        raise field_problem(422, "Unknown operation", "operation",
                            f"No operation '{body.operation}'. Known: {', '.join(sorted(CATALOGUE))}.")
    try:
        params = op.params.model_validate(body.params)
    except ValidationError as exc:
        errors = [{"field": "params." + ".".join(str(p) for p in e["loc"]) if e["loc"] else "params",
                   "message": e["msg"]} for e in exc.errors()]
        raise ApiProblem(422, "Invalid parameters",
                         f"Parameters for '{op.name}' failed validation; see errors.", errors) from None
    return op, params


def _route(backend: Backend, pid: str, project: str, op, params, requested: str | None):
    # Analysis runs here and sends nothing anywhere: no policy to read (it would cost every job a query).
    policy = load_policy(backend.db, pid) if op.task is not None else ProjectPolicy()
    try:
        return routing.choose(backend.registry, policy, op, params, requested, project)
    except routing.RouteError as exc:
        problem = ApiProblem(exc.status, exc.title, exc.detail, [{"field": "provider", "message": exc.detail}])
        if exc.rule:
            problem.problem.type = f"urn:shotbridge:policy:{exc.rule}"
        raise problem from None


def _sse(job: Job) -> str:
    return f"event: job\ndata: {job.model_dump_json()}\n\n"


def _check_sha(sha256: str) -> None:
    if not SHA256_RE.match(sha256):
        raise field_problem(422, "Invalid asset id", "sha256",
                            f"'{sha256}' is not a sha256 (64 lowercase hex digits).")


def _check_assets(backend: Backend, pid: str, project: str, op, params: dict) -> None:
    """Every asset a job names must belong to the job's own project."""
    for field in op.asset_fields():
        value = params.get(field)
        refs = value if isinstance(value, list) else [value] if value else []
        with backend.db.session() as s:
            for i, sha in enumerate(refs):
                if s.get(AssetRow, (pid, sha)) is None:
                    where = f"params.{field}" + (f".{i}" if isinstance(value, list) else "")
                    raise field_problem(422, "Unknown asset", where,
                                        f"Asset {sha} is not in project '{project}'. Upload it to this "
                                        "project first (assets are never shared between projects).")


def openapi_document() -> dict:
    return create_app(BackendSettings(data_dir=Path("/nonexistent"))).openapi()

"""The job runner: every job-state transition, over the job table, whichever executor runs the jobs.

The table is the truth: a job is queued, running or finished there before anything else happens, so a
backend that dies mid-job finds the job again on its next start and re-runs it (up to `max_attempts`) or
fails it with the reason. A job is claimed (queued -> running) by one conditional UPDATE, so two workers
handed the same job id never both run it. The executor (executors.py) only decides where `run` is called:
the embedded backend's thread pool, or Celery workers (studio.py), where a running job's worker renews a
lease (`beat`) and `sweep` re-queues the jobs of a worker that stopped. A re-run replaces, never adds: each attempt starts from an empty outputs list, and
what the killed attempt stored leaves the project's assets (and the store) unless something else uses it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import Text, cast, func, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shotbridge.models import Asset, Job, JobStatus, OutputRef, Problem
from shotbridge.safenames import UnsafeName

from .audit import JobEgress
from .db import (
    AssetRow,
    CharacterRow,
    Database,
    JobRow,
    ProjectRow,
    ReferenceRow,
    TimelineRow,
    asset_model,
    bible_for,
    utcnow,
)
from .events import Broker
from .executors import Executor, LocalExecutor
from .operations import CATALOGUE, Canceled, JobContext, OperationError
from .policy import decide, load_policy
from .provenance.keys import ProvenanceError
from .providers import (
    PolicyRefused,
    ProviderError,
    ProviderSession,
    ProviderTimeout,
    ProviderUnavailable,
    Registry,
)
from .store import AssetStore, StoreError

log = logging.getLogger(__name__)

ASSETS_LOCK = 0x5B_0A_55  # PostgreSQL advisory lock id for asset clean-ups in studio mode (see _assets_guard)
PROGRESS_WRITE_INTERVAL = 0.25  # seconds between progress writes to the database (events go out always)


class Interrupted(Exception):
    """The backend is shutting down; the job stays 'running' and is re-queued at the next start."""


def to_job(row: JobRow) -> Job:
    return Job(
        id=row.id, project_id=row.project_id, operation=row.operation, params=row.params or {},
        provider=row.provider, status=JobStatus(row.status), progress=row.progress, message=row.message,
        result=row.result, outputs=[OutputRef.model_validate(o) for o in row.outputs or []],
        error=Problem.model_validate(row.error) if row.error else None, attempts=row.attempts,
        created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
    )


class _ProviderLine:
    """A job's session with its provider, opened at the first request and kept for the rest of the job: the
    adapter reuses what it set up (an upload of the same mask, a progress WebSocket) from frame to frame."""

    def __init__(self) -> None:
        self.open: Callable[[], ProviderSession] | None = None
        self.span: tuple[float, float] = (0.0, 1.0)  # the part of the job's progress the current request is
        self._session: ProviderSession | None = None

    def session(self) -> ProviderSession:
        if self._session is None:
            self._session = self.open()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


class JobRunner:
    def __init__(self, db: Database, store: AssetStore, broker: Broker, work_root: Path, workers: int,
                 max_attempts: int, registry: Registry | None = None, keys_dir: Path | None = None,
                 executor: Executor | None = None):
        self.db = db
        self.registry = registry or Registry([])
        self.keys_dir = keys_dir
        self._keys = None
        self.store = store
        self.broker = broker
        self.work_root = work_root
        self.max_attempts = max_attempts
        self.executor = executor or LocalExecutor(workers)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"  # who holds a running job's lease
        self._cancel: set[str] = set()
        self._running: set[str] = set()  # jobs this process runs now (their leases are renewed by `beat`)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        # Held from "is this sha still used?" to its removal from the store, and from adding an output's row
        # to checking its file is there: a release never takes bytes another job has just claimed.
        self._assets_lock = threading.Lock()
        # as they appear in text, JSON-escaped or not (Windows separators are doubled in JSON)
        sep = r"[/\\]+"
        self._store_path = re.compile(re.escape(str(store.root)).replace("/", sep) + sep + r"[0-9a-f]{2}" + sep
                                      + r"([0-9a-f]{64})")
        self._work_path = re.compile(re.escape(str(work_root)).replace("/", sep) + sep + r"[0-9a-f]{32}" + sep
                                     + r"(?:[^\s'\"]*" + sep + r")?")
        self.executor.bind(self)

    # -- lifecycle ---------------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """After a restart: re-queue jobs that were running (or fail them past max_attempts), then queue all."""
        with self.db.session() as s:
            for row in s.scalars(select(JobRow).where(JobRow.status == JobStatus.running.value)):
                self._requeue_or_fail(row, "the backend stopped while this job was running",
                                      "Check the backend log, then retry the job.")
            queued = list(s.scalars(
                select(JobRow.id).where(JobRow.status == JobStatus.queued.value).order_by(JobRow.created_at)
            ))
        for job_id in queued:
            self.enqueue(job_id)
        return queued

    def _requeue_or_fail(self, row: JobRow, what: str, advice: str) -> None:
        """A job whose attempt was cut off (`what` happened): canceled if that was asked, failed with the reason
        past `max_attempts`, else queued again for a fresh attempt. The caller hands a queued one over."""
        if row.cancel_requested:
            self._finish_row(row, JobStatus.canceled, "canceled")
        elif row.attempts >= self.max_attempts:
            self._finish_row(row, JobStatus.failed, "", Problem(title="Interrupted", status=500, detail=(
                f"{what[0].upper()}{what[1:]}, {row.attempts} times; it is not re-run again. {advice}")))
        else:
            row.status = JobStatus.queued.value
            row.progress = 0.0
            row.worker, row.heartbeat_at, row.enqueued_at = None, None, None
            row.message = f"re-queued: {what} (attempt {row.attempts} of {self.max_attempts})"

    def sweep(self, lease: float, resend_after: float) -> list[str]:
        """Studio mode, run now and then by every API replica and worker (each change is conditional, so any
        number may sweep at once): a running job whose worker has not renewed its lease for `lease` seconds is
        re-queued or failed; a queued job never handed to the broker (its API replica died between the
        commit and the hand-over, or the broker was down) is handed over after `lease / 3` seconds, one handed
        over `resend_after` seconds ago again (a broker that lost its messages). Returns the ids handed over."""
        now = utcnow()
        stale = now - timedelta(seconds=lease)
        handed: list[str] = []
        with self.db.session() as s:
            rows = s.execute(select(JobRow.id, JobRow.attempts, JobRow.worker).where(
                JobRow.status == JobStatus.running.value,
                func.coalesce(JobRow.heartbeat_at, JobRow.started_at, JobRow.created_at) < stale)).all()
        for job_id, attempts, worker in rows:
            with self.db.session() as s:
                # Only if nobody renewed or moved it since the read above (another sweeper, a late heartbeat).
                taken = s.execute(update(JobRow).where(
                    JobRow.id == job_id, JobRow.status == JobStatus.running.value, JobRow.attempts == attempts,
                    func.coalesce(JobRow.heartbeat_at, JobRow.started_at, JobRow.created_at) < stale,
                ).values(heartbeat_at=now)).rowcount == 1
                if not taken:
                    continue
                row = s.get(JobRow, job_id)
                self._requeue_or_fail(row, f"its worker {worker or '?'} stopped answering while it ran",
                                      "Check that worker's log, then retry the job.")
                job = to_job(row)
            log.warning("job %s: worker %s stopped answering; %s", job_id, worker, job.message or job.status.value)
            self.broker.publish(job)
            if job.status == JobStatus.queued:
                handed.append(job_id)
        never = now - timedelta(seconds=lease / 3)
        with self.db.session() as s:
            handed += s.scalars(select(JobRow.id).where(
                JobRow.status == JobStatus.queued.value,
                or_(JobRow.enqueued_at.is_(None) & (JobRow.created_at < never),
                    JobRow.enqueued_at < now - timedelta(seconds=resend_after)),
            ).order_by(JobRow.created_at)).all()
        for job_id in dict.fromkeys(handed):
            self.enqueue(job_id)
        return list(dict.fromkeys(handed))

    def beat(self) -> None:
        """Renew the lease of every job this process runs, and pick up cancels from the database (the broker's
        cancel message may have been missed). A job whose lease was taken over (this worker was thought gone)
        is stopped at its next checkpoint."""
        with self._lock:
            running = set(self._running)
        if not running:
            return
        with self.db.session() as s:
            s.execute(update(JobRow).where(JobRow.id.in_(running), JobRow.worker == self.worker_id,
                                           JobRow.status == JobStatus.running.value).values(heartbeat_at=utcnow()))
            mine = dict(s.execute(select(JobRow.id, JobRow.cancel_requested).where(
                JobRow.id.in_(running), JobRow.worker == self.worker_id,
                JobRow.status == JobStatus.running.value)).all())
        for job_id in running:
            if job_id not in mine:
                log.warning("job %s: its lease passed to another worker; this attempt stops", job_id)
            if mine.get(job_id, True):
                self.note_cancel(job_id)

    def interrupt(self) -> None:
        """Stop taking jobs; running ones stop at their next checkpoint (and are re-queued)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def shutdown(self) -> None:
        self._stopping.set()
        self.executor.shutdown()

    # -- requests ----------------------------------------------------------------------------------------

    def enqueue(self, job_id: str) -> None:
        self.executor.submit(job_id)

    def note_cancel(self, job_id: str) -> None:
        """The job's next checkpoint in this process stops it (a no-op for a job that runs elsewhere)."""
        with self._lock:
            if job_id in self._running or not self.executor.distributed:
                self._cancel.add(job_id)

    def refuse(self, job_id: str, reason: str) -> None:
        """A worker that cannot run this job leaves it queued, saying why (another worker may run it)."""
        log.error("job %s refused: %s", job_id, reason)
        with self.db.session() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == JobStatus.queued.value)
                      .values(message=reason))
            row = s.get(JobRow, job_id)
            job = to_job(row) if row else None
        if job is not None:
            self.broker.publish(job)

    def cancel(self, job_id: str) -> Job:
        with self.db.session() as s:
            row = s.get(JobRow, job_id, with_for_update=True)
            if row.status == JobStatus.queued.value:
                self._finish_row(row, JobStatus.canceled, "canceled before it started")
            elif row.status == JobStatus.running.value:
                row.cancel_requested = True
                row.message = "cancel requested"
            job = to_job(row)
        if job.status == JobStatus.running:
            self.executor.cancel(job_id)
        self.broker.publish(job)
        return job

    # -- execution ---------------------------------------------------------------------------------------

    def run(self, job_id: str) -> None:
        """One attempt at the job, if it is still queued: whoever claims it first runs it, any other caller
        (a duplicate broker message, a sweeper's hand-over) returns at once."""
        if self._stopping.is_set():
            return
        with self._assets_guard():
            with self.db.session() as s:
                now = utcnow()
                claimed = s.execute(update(JobRow).where(
                    JobRow.id == job_id, JobRow.status == JobStatus.queued.value,
                ).values(status=JobStatus.running.value, attempts=JobRow.attempts + 1, started_at=now,
                         message="started", worker=self.worker_id, heartbeat_at=now)).rowcount == 1
                if not claimed:
                    return
                row = s.get(JobRow, job_id)
                s.refresh(row)
                # An attempt killed with the backend may have stored outputs: this one starts clean.
                stale = {o["sha256"] for o in row.outputs or []}
                row.outputs, row.result, row.error = [], None, None
                unused = self._release(s, row.project_id, stale)
                job = to_job(row)
            self._remove_from_store(unused)
        if stale:
            log.info("job %s attempt %d: dropped %d output(s) of the interrupted attempt", job_id, job.attempts,
                     len(stale))
        with self._lock:
            self._running.add(job_id)
        try:
            self._attempt(job)
        finally:
            with self._lock:
                self._running.discard(job_id)
                self._cancel.discard(job_id)

    def _attempt(self, job: Job) -> None:
        job_id = job.id
        self.broker.publish(job)
        work_dir = self.work_root / job_id
        shutil.rmtree(work_dir, ignore_errors=True)  # what a killed attempt left half-written
        work_dir.mkdir(parents=True, exist_ok=True)
        try:
            status, result, error, message = self._execute(job, work_dir)
        except Interrupted:
            if not self.executor.distributed:
                log.info("job %s interrupted by shutdown; it will be re-queued at the next start", job_id)
                return
            with self.db.session() as s:  # a worker that stops hands its job back now, not at lease expiry
                row = s.get(JobRow, job_id, with_for_update=True)
                if row.status != JobStatus.running.value or row.worker != self.worker_id:
                    return
                self._requeue_or_fail(row, f"its worker {self.worker_id} was stopped while it ran",
                                      "Check the workers' logs, then retry the job.")
                job = to_job(row)
            log.info("job %s handed back (%s): this worker is stopping", job_id, job.status.value)
            self.broker.publish(job)
            if job.status == JobStatus.queued:
                self.enqueue(job_id)
            return
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        with self.db.session() as s:
            row = s.get(JobRow, job_id, with_for_update=True)
            if row.status != JobStatus.running.value or row.worker != self.worker_id:
                # this worker was thought gone and the job re-queued: its new attempt's state stands
                log.warning("job %s: this attempt's result is dropped; the job moved on without it", job_id)
                return
            row.result = result
            self._finish_row(row, status, message, error)
            job = to_job(row)
        self.broker.publish(job)

    def _execute(self, job: Job, work_dir: Path):
        op = CATALOGUE[job.operation]
        state = {"progress": 0.0, "message": "", "written": 0.0}

        def canceled() -> bool:
            if self._stopping.is_set():
                raise Interrupted()
            return self._cancel_requested(job.id)

        def report(fraction: float, message: str) -> None:
            state["progress"], state["message"] = fraction, message
            self.broker.publish(job.model_copy(update={"progress": fraction, "message": message}))
            now = time.monotonic()
            if now - state["written"] >= PROGRESS_WRITE_INTERVAL:
                state["written"] = now
                try:
                    with self.db.session() as s:
                        row = s.get(JobRow, job.id)
                        row.progress, row.message = fraction, message
                except DBAPIError as exc:  # the database restarting: progress is saved again later, the job goes on
                    log.warning("job %s: progress not saved (%s)", job.id, " ".join(str(exc.orig).split())[:200])

        adapter = self.registry.get(job.provider) if op.task is not None else None
        line = _ProviderLine()  # one provider session for all of the job's requests, closed when it ends
        ctx = JobContext(
            job_id=job.id, project_id=job.project_id, work_dir=work_dir,
            asset_path=self.store.path, asset_filename=lambda sha: self._asset_filename(job.project_id, sha),
            report=report, canceled=canceled,
            add_output=lambda path, name, media_type: self._add_output(job, path, name, media_type),
            bible=lambda: bible_for(self.db, job.project_id),
            provider=adapter,
            generate=(lambda request, span: self._generate(job, adapter, request, line, span)) if adapter else None,
            references=lambda names: self._references(job.project_id, names),
            add_generated=lambda path, name, media_type, generation, ingredients: self._add_generated(
                job, path, name, media_type, generation, ingredients),
            check_policy=(lambda kinds: self._gate(job, adapter, kinds)) if adapter else None,
            policy=lambda: load_policy(self.db, job.project_id),
        )
        line.open = lambda: self._session(job, adapter, ctx, work_dir, line)
        try:
            if op.task is not None and adapter is None:
                raise ProviderUnavailable(f"provider '{job.provider}' is no longer configured on this backend; "
                                          "retry the job to route it to another one")
            params = op.params.model_validate(job.params)
            result = op.run(ctx, params)
            op.after_run(ctx, params, result)
            return JobStatus.succeeded, result.model_dump(mode="json"), None, state["message"] or "done"
        except Canceled as exc:
            if self._stopping.is_set():  # a provider call cut short by shutdown: re-queued at the next start
                raise Interrupted() from None
            # a provider may have something to say (a Nova Reel job cannot be stopped and keeps running at AWS)
            return JobStatus.canceled, None, None, str(exc) or "canceled"
        except Interrupted:
            raise
        except PolicyRefused as exc:
            d = exc.decision
            return JobStatus.failed, None, Problem(
                type=f"urn:shotbridge:policy:{d.rule}", title="Refused by policy", status=403, detail=d.detail,
                errors=[{"field": "provider", "message": f"rule {d.rule}"}]), f"refused by policy ({d.rule})"
        except ProviderError as exc:
            status = 504 if isinstance(exc, ProviderTimeout) else 503 if isinstance(exc, ProviderUnavailable) else 502
            return JobStatus.failed, None, Problem(title="Provider failed", status=status, detail=str(exc)), str(exc)
        except ProvenanceError as exc:  # nothing unsigned is stored: the job fails and says why
            return JobStatus.failed, None, Problem(title="Content Credentials failed", status=500,
                                                   detail=str(exc)), str(exc)
        except OperationError as exc:
            errors = [{"field": exc.field, "message": str(exc)}] if exc.field else []
            return JobStatus.failed, None, Problem(
                title="Operation failed", status=422, detail=str(exc), errors=errors), str(exc)
        except UnsafeName as exc:  # a name from the request or the timeline that cannot become a file
            return JobStatus.failed, None, Problem(
                title="Unsafe name", status=422, detail=str(exc),
                errors=[{"field": exc.field, "message": exc.reason}]), str(exc)
        except ValidationError as exc:
            return JobStatus.failed, None, Problem(
                title="Invalid parameters", status=422, detail=str(exc)), "invalid parameters"
        except StoreError as exc:
            return JobStatus.failed, None, Problem(title=exc.title, status=exc.status, detail=exc.detail), exc.detail
        except ModuleNotFoundError as exc:  # a worker installed without an optional package this job needs
            detail = (f"The '{job.operation}' operation needs the Python package that provides '{exc.name}', which "
                      f"is not installed where this job ran ({self.worker_id}). Install it there (pip install "
                      "'shotbridge[backend]' installs every package the backend uses), then retry the job.")
            return JobStatus.failed, None, Problem(title="Missing package", status=500, detail=detail), \
                f"missing package: {exc.name}"
        except Exception as exc:  # a bug in an operation must fail its job, never the runner
            log.exception("job %s (%s) crashed", job.id, job.operation)
            return JobStatus.failed, None, Problem(
                title="Internal error", status=500,
                detail=f"{type(exc).__name__}: {exc}. This is a bug in the '{job.operation}' operation; "
                "the backend log has the traceback."), "internal error"
        finally:
            line.close()

    def _finish_row(self, row: JobRow, status: JobStatus, message: str, error: Problem | None = None) -> None:
        row.status = status.value
        row.message = self._public(message)
        row.finished_at = utcnow()
        row.error = json.loads(self._public(error.model_dump_json())) if error else None
        if status == JobStatus.succeeded:
            row.progress = 1.0

    def _public(self, text: str) -> str:
        """A message as a project may read it: the backend's own paths (a stored asset, a job's work folder),
        which engines put in their errors, become the asset's id or the file's name."""
        text = self._store_path.sub(lambda m: f"asset {m[1][:12]}", text)
        return self._work_path.sub("", text)

    # -- providers ---------------------------------------------------------------------------------------

    def _cancel_requested(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._cancel

    def _gate(self, job: Job, adapter, kinds) -> None:
        """The policy as it stands now (it may have changed since the job was submitted)."""
        with self.db.session() as s:
            project = s.get(ProjectRow, job.project_id)
            name = project.name if project else job.project_id
        decision = decide(load_policy(self.db, job.project_id), adapter.describe([]), kinds, name)
        if not decision.allowed:
            raise PolicyRefused(decision)

    def _session(self, job: Job, adapter, ctx: JobContext, work_dir: Path, line: _ProviderLine) -> ProviderSession:
        with self.db.session() as s:
            token_id = s.get(JobRow, job.id).token_id
        folder = work_dir / "provider"
        folder.mkdir(exist_ok=True)
        return ProviderSession(
            adapter, gate=lambda kinds: self._gate(job, adapter, kinds),
            recorder=JobEgress(self.db, project_id=job.project_id, token_id=token_id, job_id=job.id,
                               operation=job.operation),
            progress=lambda f, m: ctx.progress(line.span[0] + (line.span[1] - line.span[0]) * f, m),
            canceled=lambda: self._stopping.is_set() or self._cancel_requested(job.id),
            work_dir=folder, **adapter.session_options())

    def _generate(self, job: Job, adapter, request, line: _ProviderLine, span=(0.0, 1.0)):
        self._gate(job, adapter, request.data_kinds())  # before anything is prepared or sent
        line.span = span
        try:
            return adapter.generate(request, line.session())
        except ProviderUnavailable:
            self.registry.forget_health(adapter.name)  # the next job re-checks instead of trusting the cache
            raise
        except (ProviderError, PolicyRefused, Canceled, Interrupted):
            raise
        except Exception as exc:  # an adapter bug or an unexpected answer: the job fails, with the cause
            log.exception("provider %s failed", adapter.name)
            raise ProviderError(f"{adapter.name} failed unexpectedly ({type(exc).__name__}: {exc})") from exc

    def _references(self, project_id: str, names: list[str]) -> list[tuple[str, str]]:
        with self.db.session() as s:
            rows = s.execute(select(CharacterRow.name, ReferenceRow.asset)
                             .join(ReferenceRow, ReferenceRow.character_id == CharacterRow.id)
                             .where(CharacterRow.project_id == project_id, CharacterRow.name.in_(names))
                             .order_by(ReferenceRow.created_at)).all()
            known = {n for (n,) in s.execute(select(CharacterRow.name).where(CharacterRow.project_id == project_id))}
        unknown = sorted(set(names) - known)
        if unknown:
            raise OperationError(f"No character {', '.join(map(repr, unknown))} in the project's bible; it has "
                                 f"{', '.join(sorted(known)) or 'none'} (`shotbridge character add`).",
                                 field="params.characters")
        return [(name, sha) for name, sha in rows]

    def _add_generated(self, job: Job, path: Path, name: str, media_type: str, generation: dict,
                       ingredients: list[tuple[Path, str, str]]) -> OutputRef:
        from .provenance import Generation, Ingredient, ensure_keys, sign_file

        if self._keys is None:
            self._keys = ensure_keys(self.keys_dir)
        signed = path.with_name(f"signed-{path.name}")
        sign_file(path, signed, media_type, Generation(
            operation=job.operation, provider=generation.get("provider", job.provider),
            model=generation.get("model", ""), job_id=job.id, parameters=generation.get("parameters", {}),
            ingredients=[Ingredient(path=p, title=t, media_type=m) for p, t, m in ingredients],
            digital_source_type=generation.get("digital_source_type") or Generation.digital_source_type,
        ), self._keys)
        return self._add_output(job, signed, name, media_type)

    def _asset_filename(self, project_id: str, sha: str) -> str:
        with self.db.session() as s:
            row = s.get(AssetRow, (project_id, sha))
            return (row.filename or sha[:12]) if row else ""

    def _add_output(self, job: Job, path: Path, name: str, media_type: str) -> OutputRef:
        """Store an output; one with the same name replaces the earlier one (a job writes each file once)."""
        sha, size = self.store.ingest(path)
        with self._assets_guard():
            with self.db.session() as s:
                if s.get(AssetRow, (job.project_id, sha)) is None:
                    s.add(AssetRow(project_id=job.project_id, sha256=sha, size=size, media_type=media_type,
                                   filename=name, origin="generated"))
                ref = OutputRef(name=name, sha256=sha, size=size, media_type=media_type)
                row = s.get(JobRow, job.id)
                kept = [o for o in row.outputs or [] if o["name"] != name]
                replaced = {o["sha256"] for o in row.outputs or [] if o["name"] == name} - {sha}
                row.outputs = [*kept, ref.model_dump()]
                unused = self._release(s, job.project_id, replaced)
            if not self.store.exists(sha):  # the same bytes were released by another job meanwhile
                self.store.ingest(path)
            self._remove_from_store(unused)
        return ref

    def claim_upload(self, project_id: str, sha: str, row: AssetRow | None = None) -> Asset | None:
        """An upload's hold on an asset, under the lock re-run clean-ups take: `row` (a new upload) is saved
        first; then the project's asset is marked uploaded, so no clean-up drops it, and returned if its bytes
        are in the store. None when they are not (the upload must send them)."""
        with self._assets_guard(), self.db.session() as s:
            if row is not None:
                s.merge(row)
                s.flush()
            current = s.get(AssetRow, (project_id, sha))
            if current is None or not self.store.exists(sha):
                return None
            current.origin = "uploaded"  # the artist sent these bytes: theirs now, whoever made them first
            return asset_model(current)

    @contextmanager
    def _assets_guard(self) -> Iterator[None]:
        """The clean-up lock (see `_assets_lock`); in studio mode on PostgreSQL it is also taken across every
        API replica and worker (an advisory lock), since an upload and a re-run may be in different processes."""
        with self._assets_lock:
            if not self.executor.distributed or self.db.engine.dialect.name != "postgresql":
                yield
                return
            with self.db.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ASSETS_LOCK})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ASSETS_LOCK})
                    conn.commit()

    # -- outputs that are no longer a job's --------------------------------------------------------------

    def _release(self, s: Session, project_id: str, shas: set[str]) -> list[str]:
        """Drop the project's generated assets among `shas` that nothing else uses (a job's outputs or
        parameters, a character reference, a timeline version); return those no project holds any more,
        for `_remove_from_store` once the transaction has committed. An uploaded asset is never dropped."""
        s.flush()  # the caller's change to the job's outputs counts in the queries below
        gone = []
        for sha in sorted(shas):
            asset = s.get(AssetRow, (project_id, sha))
            if asset is not None:
                if asset.origin != "generated" or self._in_use(s, project_id, sha):
                    continue
                s.delete(asset)
                s.flush()
            if s.scalars(select(AssetRow.project_id).where(AssetRow.sha256 == sha).limit(1)).first() is None:
                gone.append(sha)
        return gone

    @staticmethod
    def _in_use(s: Session, project_id: str, sha: str) -> bool:
        by_job = select(JobRow.id).where(JobRow.project_id == project_id, or_(
            cast(JobRow.outputs, Text).contains(sha), cast(JobRow.params, Text).contains(sha)))
        by_reference = (select(ReferenceRow.id).join(CharacterRow, ReferenceRow.character_id == CharacterRow.id)
                        .where(CharacterRow.project_id == project_id, ReferenceRow.asset == sha))
        by_timeline = select(TimelineRow.id).where(TimelineRow.project_id == project_id, TimelineRow.asset == sha)
        return any(s.scalars(q.limit(1)).first() is not None for q in (by_job, by_reference, by_timeline))

    def _remove_from_store(self, shas: list[str]) -> None:
        for sha in shas:
            try:
                self.store.remove(sha)
            except StoreError as exc:  # a file left behind wastes space; it must not stop the job
                log.warning("could not remove unused asset %s from the store: %s", sha, exc.detail)

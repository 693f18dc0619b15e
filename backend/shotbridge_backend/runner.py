"""In-process job runner: a bounded pool of worker threads over the job table.

The table is the truth: a job is queued, running or finished there before anything else happens, so a
backend that dies mid-job finds the job again on its next start and re-runs it (up to `max_attempts`) or
fails it with the reason.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select

from shotbridge.models import Job, JobStatus, OutputRef, Problem

from .db import AssetRow, Database, JobRow, bible_for, utcnow
from .events import Broker
from .operations import CATALOGUE, Canceled, JobContext, OperationError
from .store import AssetStore, StoreError

log = logging.getLogger(__name__)

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


class JobRunner:
    def __init__(self, db: Database, store: AssetStore, broker: Broker, work_root: Path, workers: int,
                 max_attempts: int):
        self.db = db
        self.store = store
        self.broker = broker
        self.work_root = work_root
        self.max_attempts = max_attempts
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shotbridge-job")
        self._cancel: set[str] = set()
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """After a restart: re-queue jobs that were running (or fail them past max_attempts), then queue all."""
        with self.db.session() as s:
            for row in s.scalars(select(JobRow).where(JobRow.status == JobStatus.running.value)):
                if row.cancel_requested:
                    self._finish_row(row, JobStatus.canceled, "canceled")
                elif row.attempts >= self.max_attempts:
                    self._finish_row(
                        row, JobStatus.failed, "",
                        Problem(title="Interrupted", status=500, detail=(
                            f"The backend stopped while this job was running, {row.attempts} times; it is not "
                            "re-run again. Check the backend log, then retry the job.")),
                    )
                else:
                    row.status = JobStatus.queued.value
                    row.progress = 0.0
                    row.message = (f"re-queued: the backend stopped while this job was running "
                                   f"(attempt {row.attempts} of {self.max_attempts})")
            queued = list(s.scalars(
                select(JobRow.id).where(JobRow.status == JobStatus.queued.value).order_by(JobRow.created_at)
            ))
        for job_id in queued:
            self.enqueue(job_id)
        return queued

    def shutdown(self) -> None:
        self._stopping.set()
        self.pool.shutdown(wait=True, cancel_futures=True)

    # -- requests ----------------------------------------------------------------------------------------

    def enqueue(self, job_id: str) -> None:
        self.pool.submit(self._run, job_id)

    def cancel(self, job_id: str) -> Job:
        with self.db.session() as s:
            row = s.get(JobRow, job_id, with_for_update=True)
            if row.status == JobStatus.queued.value:
                self._finish_row(row, JobStatus.canceled, "canceled before it started")
            elif row.status == JobStatus.running.value:
                row.cancel_requested = True
                row.message = "cancel requested"
                with self._lock:
                    self._cancel.add(job_id)
            job = to_job(row)
        self.broker.publish(job)
        return job

    # -- execution ---------------------------------------------------------------------------------------

    def _run(self, job_id: str) -> None:
        if self._stopping.is_set():
            return
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None or row.status != JobStatus.queued.value:
                return
            row.status = JobStatus.running.value
            row.attempts += 1
            row.started_at = utcnow()
            row.message = "started"
            job = to_job(row)
        self.broker.publish(job)
        work_dir = self.work_root / job_id
        work_dir.mkdir(parents=True, exist_ok=True)
        try:
            status, result, error, message = self._execute(job, work_dir)
        except Interrupted:
            log.info("job %s interrupted by shutdown; it will be re-queued at the next start", job_id)
            return
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            row.result = result
            self._finish_row(row, status, message, error)
            job = to_job(row)
        with self._lock:
            self._cancel.discard(job_id)
        self.broker.publish(job)

    def _execute(self, job: Job, work_dir: Path):
        op = CATALOGUE[job.operation]
        state = {"progress": 0.0, "message": "", "written": 0.0}

        def canceled() -> bool:
            if self._stopping.is_set():
                raise Interrupted()
            with self._lock:
                return job.id in self._cancel

        def report(fraction: float, message: str) -> None:
            state["progress"], state["message"] = fraction, message
            self.broker.publish(job.model_copy(update={"progress": fraction, "message": message}))
            now = time.monotonic()
            if now - state["written"] >= PROGRESS_WRITE_INTERVAL:
                state["written"] = now
                with self.db.session() as s:
                    row = s.get(JobRow, job.id)
                    row.progress, row.message = fraction, message

        ctx = JobContext(
            job_id=job.id, project_id=job.project_id, work_dir=work_dir,
            asset_path=self.store.path, asset_filename=lambda sha: self._asset_filename(job.project_id, sha),
            report=report, canceled=canceled,
            add_output=lambda path, name, media_type: self._add_output(job, path, name, media_type),
            bible=lambda: bible_for(self.db, job.project_id),
        )
        try:
            params = op.params.model_validate(job.params)
            result = op.run(ctx, params)
            return JobStatus.succeeded, result.model_dump(mode="json"), None, state["message"] or "done"
        except Canceled:
            return JobStatus.canceled, None, None, "canceled"
        except Interrupted:
            raise
        except OperationError as exc:
            errors = [{"field": exc.field, "message": str(exc)}] if exc.field else []
            return JobStatus.failed, None, Problem(
                title="Operation failed", status=422, detail=str(exc), errors=errors), str(exc)
        except ValidationError as exc:
            return JobStatus.failed, None, Problem(
                title="Invalid parameters", status=422, detail=str(exc)), "invalid parameters"
        except StoreError as exc:
            return JobStatus.failed, None, Problem(title=exc.title, status=exc.status, detail=exc.detail), exc.detail
        except Exception as exc:  # a bug in an operation must fail its job, never the runner
            log.exception("job %s (%s) crashed", job.id, job.operation)
            return JobStatus.failed, None, Problem(
                title="Internal error", status=500,
                detail=f"{type(exc).__name__}: {exc}. This is a bug in the '{job.operation}' operation; "
                "the backend log has the traceback."), "internal error"

    def _finish_row(self, row: JobRow, status: JobStatus, message: str, error: Problem | None = None) -> None:
        row.status = status.value
        row.message = message
        row.finished_at = utcnow()
        row.error = error.model_dump(mode="json") if error else None
        if status == JobStatus.succeeded:
            row.progress = 1.0

    def _asset_filename(self, project_id: str, sha: str) -> str:
        with self.db.session() as s:
            row = s.get(AssetRow, (project_id, sha))
            return (row.filename or sha[:12]) if row else ""

    def _add_output(self, job: Job, path: Path, name: str, media_type: str) -> OutputRef:
        sha, size = self.store.ingest(path)
        with self.db.session() as s:
            if s.get(AssetRow, (job.project_id, sha)) is None:
                s.add(AssetRow(project_id=job.project_id, sha256=sha, size=size, media_type=media_type,
                               filename=name, origin="generated"))
            ref = OutputRef(name=name, sha256=sha, size=size, media_type=media_type)
            row = s.get(JobRow, job.id)
            row.outputs = [*(row.outputs or []), ref.model_dump()]
        return ref

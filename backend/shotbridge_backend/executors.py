"""Where a job runs: one small interface, two engines.

The runner (runner.py) owns every job-state transition (claim, attempts, cancel, recovery, outputs); an executor
only carries a job id to something that calls `JobRunner.run(job_id)`, and a cancel to the process running it.
`LocalExecutor` is the embedded backend's thread pool; `studio.CeleryExecutor` hands jobs to Celery workers on a
Redis broker.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .runner import JobRunner


class Executor(Protocol):
    # True when jobs run in other processes: recovery then goes by leases, not "everything running is ours"
    distributed: bool

    def bind(self, runner: JobRunner) -> None:
        """Called once by the runner that owns the job states."""

    def submit(self, job_id: str) -> None:
        """Have `runner.run(job_id)` called somewhere; the job row is written (queued) before this."""

    def cancel(self, job_id: str) -> None:
        """Tell the process running the job (the database row already says cancel_requested)."""

    def shutdown(self) -> None:
        """Stop taking jobs; return once this process's running jobs have returned."""


class LocalExecutor:
    """The embedded default: a bounded pool of threads in the backend's own process."""

    distributed = False

    def __init__(self, workers: int):
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shotbridge-job")
        self._runner: JobRunner | None = None

    def bind(self, runner: JobRunner) -> None:
        self._runner = runner

    def submit(self, job_id: str) -> None:
        self.pool.submit(self._runner.run, job_id)

    def cancel(self, job_id: str) -> None:
        self._runner.note_cancel(job_id)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

"""A job is claimed (queued -> running) by one conditional UPDATE: runners that share a database and are handed
the same job id at the same moment run it once. On SQLite and on PostgreSQL, with the real runner."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from shotbridge.models import JobStatus
from shotbridge_backend.db import Database, JobRow, ProjectRow
from shotbridge_backend.events import Broker
from shotbridge_backend.runner import JobRunner, to_job
from shotbridge_backend.store import AssetStore


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    return request.getfixturevalue("pg_cluster").database(f"c{os.urandom(6).hex()}")


class Started(Broker):
    """The runner's real event broker, noting each attempt it announces."""

    def __init__(self, seen: list[str]):
        super().__init__()
        self.seen = seen

    def publish(self, job) -> None:
        if job.status == JobStatus.running and job.message == "started":
            self.seen.append(job.id)
        super().publish(job)


def test_a_job_handed_to_several_runners_at_once_runs_once(database_url, tmp_path):
    runners, started = [], []
    for i in range(4):  # four "workers", each with its own engine, as separate processes would have
        db = Database(database_url)
        runners.append(JobRunner(db, AssetStore(tmp_path / "assets"), Started(started), tmp_path / f"work{i}", workers=1,
                                 max_attempts=3))
    with runners[0].db.session() as s:
        s.add(ProjectRow(id="p1", name="one"))
    ids = [uuid.uuid4().hex for _ in range(5)]
    with runners[0].db.session() as s:
        s.add_all([JobRow(id=i, project_id="p1", operation="echo", provider="local", status=JobStatus.queued.value,
                          params={"message": i}) for i in ids])
    start = threading.Barrier(len(runners))

    def work(runner: JobRunner) -> None:
        start.wait()
        for job_id in ids:
            runner.run(job_id)

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with runners[0].db.session() as s:
        jobs = [to_job(s.get(JobRow, i)) for i in ids]
    for runner in runners:
        runner.shutdown()
        runner.db.dispose()
    assert [(j.status, j.attempts, j.result) for j in jobs] == [
        (JobStatus.succeeded, 1, {"message": i}) for i in ids]
    assert sorted(started) == sorted(ids), "each job started once, whichever runner took it"


def _runner(database_url: str, tmp_path, max_attempts: int = 2) -> JobRunner:
    runner = JobRunner(Database(database_url), AssetStore(tmp_path / "assets"), Broker(), tmp_path / "work",
                       workers=1, max_attempts=max_attempts)
    with runner.db.session() as s:
        s.add(ProjectRow(id="p1", name="one"))
    return runner


def test_the_sweep_takes_up_only_what_was_abandoned(database_url, tmp_path):
    from datetime import timedelta

    from shotbridge_backend.db import utcnow

    runner = _runner(database_url, tmp_path)
    long_ago, now = utcnow() - timedelta(seconds=60), utcnow()

    def job(status: JobStatus, **extra) -> str:
        job_id = uuid.uuid4().hex
        with runner.db.session() as s:
            s.add(JobRow(id=job_id, project_id="p1", operation="echo", provider="local", status=status.value,
                         params={"message": job_id}, created_at=long_ago, **extra))
        return job_id

    lapsed = job(JobStatus.running, attempts=1, worker="gone:1", heartbeat_at=long_ago)
    spent = job(JobStatus.running, attempts=2, worker="gone:2", heartbeat_at=long_ago)
    alive = job(JobStatus.running, attempts=1, worker="busy:3", heartbeat_at=now)
    orphan = job(JobStatus.queued)  # committed, never handed to the broker
    handed = job(JobStatus.queued, enqueued_at=now)  # waiting in the broker: left there

    assert sorted(runner.sweep(lease=10, resend_after=600)) == sorted([lapsed, orphan])
    runner.executor.pool.shutdown(wait=True)
    with runner.db.session() as s:
        jobs = {i: to_job(s.get(JobRow, i)) for i in (lapsed, spent, alive, orphan, handed)}
    runner.shutdown()
    runner.db.dispose()
    assert (jobs[lapsed].status, jobs[lapsed].attempts) == (JobStatus.succeeded, 2)
    assert jobs[spent].status == JobStatus.failed
    assert "Its worker gone:2 stopped answering while it ran, 2 times" in jobs[spent].error.detail
    assert (jobs[alive].status, jobs[alive].attempts) == (JobStatus.running, 1)
    assert (jobs[orphan].status, jobs[orphan].attempts) == (JobStatus.succeeded, 1)
    assert (jobs[handed].status, jobs[handed].attempts) == (JobStatus.queued, 0)

"""Studio mode with real components: PostgreSQL, Redis, two API replicas and two Celery workers, each a separate
process on loopback. Jobs go in through one replica and are watched through the other; a worker killed with -9
mid-job has its job re-run on the other; a cancel reaches a job on a worker; a job row the broker never got is
run anyway; a worker of another version refuses jobs; an unreachable broker stops a start before it begins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import datastores
import pytest
import requests
from sqlalchemy import create_engine, text

from shotbridge import __version__
from shotbridge.client import Client
from shotbridge.errors import BackendUnreachable
from shotbridge.models import JobStatus

LEASE = "2"  # seconds: a killed worker's job is re-queued within about 3 s


class Studio:
    def __init__(self, root: Path, database: str, broker: str):
        self.root, self.database, self.broker = root, database, broker
        self.env = {**os.environ, "SHOTBRIDGE_CONFIG_DIR": str(root / "config"),  # token and signing keys: shared
                    "SHOTBRIDGE_ASSET_DIR": str(root / "assets"),  # the studio's shared storage
                    "SHOTBRIDGE_DATABASE_URL": database, "SHOTBRIDGE_BROKER_URL": broker,
                    "SHOTBRIDGE_LEASE_SECONDS": LEASE}
        self.apis: list[tuple[datastores.ShotbridgeProcess, str]] = []
        self.workers: list[datastores.ShotbridgeProcess] = []

    def api(self, name: str) -> str:
        port = datastores.free_port()
        proc = datastores.ShotbridgeProcess(self.root / name, ["serve", "--port", str(port), "--data-dir",
                                                            str(self.root / name / "data"), "--log-level", "warning"],
                                         self.env).start()
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return bool(Client(url, "", retries=0).health())
            except BackendUnreachable:
                return False

        proc.wait_for(healthy, f"API replica {name}")
        self.apis.append((proc, url))
        return url

    def worker(self, name: str) -> datastores.ShotbridgeProcess:
        proc = datastores.start_worker(self.root / name, self.env, concurrency=1)
        self.workers.append(proc)
        return proc

    def client(self, url: str) -> Client:
        return Client(url, (self.root / "config" / "token").read_text().strip())

    def sql(self, statement: str, **params):
        engine = create_engine(self.database)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(statement), params)
                return result.all() if result.returns_rows else None
        finally:
            engine.dispose()

    def stop(self) -> None:
        for proc in [*self.workers, *(p for p, _ in self.apis)]:
            proc.stop()


@pytest.fixture(scope="module")
def studio(pg_cluster, tmp_path_factory):
    if not datastores.have_redis():
        pytest.skip("redis-server is not installed here (make services)")
    root = tmp_path_factory.mktemp("studio")
    with datastores.redis(root / "redis") as broker:
        studio = Studio(root, pg_cluster.database(f"s{os.urandom(6).hex()}"), broker.url)
        studio.redis = broker
        try:
            studio.one = studio.api("api1")  # first: it makes the admin token the second one reads
            studio.two = studio.api("api2")
            studio.worker("worker1")
            studio.worker("worker2")
            yield studio
        finally:
            studio.stop()


@pytest.fixture(scope="module")
def project(studio):
    return studio.client(studio.one).create_project(f"studio-{os.urandom(3).hex()}")


def _sse(url: str, token: str, job_id: str):
    """The job's server-sent events, read raw (the client would fall back to polling on a broken stream)."""
    with requests.get(f"{url}/v1/jobs/{job_id}/events", headers={"Authorization": f"Bearer {token}"},
                      stream=True, timeout=(5, 60)) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                job = json.loads(line[5:])
                yield job
                if job["status"] in ("succeeded", "failed", "canceled"):
                    return


def _worker_of(studio: Studio, job_id: str) -> datastores.ShotbridgeProcess:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        [(status, worker)] = studio.sql("SELECT status, worker FROM jobs WHERE id = :id", id=job_id)
        if status == "running" and worker:
            pid = int(worker.rsplit(":", 1)[1])
            return next(w for w in studio.workers if w.proc.pid == pid)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never started")


def test_a_job_submitted_through_one_replica_is_watched_through_the_other(studio, project):
    one, two = studio.client(studio.one), studio.client(studio.two)
    job = one.submit(project.id, "echo", {"message": "across", "seconds": 1.0})
    seen = list(_sse(studio.two, two.token, job.id))
    running = [e for e in seen if e["status"] == "running" and e["progress"] > 0]
    assert running, f"the other replica streamed the worker's progress: {seen}"
    assert seen[-1]["status"] == "succeeded" and seen[-1]["result"] == {"message": "across"}
    assert seen[-1]["attempts"] == 1
    assert two.job(job.id).status == JobStatus.succeeded


def test_a_worker_s_outputs_are_read_through_any_replica(studio, project, movie, tmp_path):
    """Uploaded to one replica, cut into shots on a worker, downloaded from the other: one shared store."""
    one, two = studio.client(studio.one), studio.client(studio.two)
    media = one.upload(project.id, movie)
    job = two.run(project.id, "detect_shots", {"media": media.sha256})
    assert len(job.result["shots"]) >= 2
    files = one.download_outputs(job, tmp_path / "out")
    assert files and all(path.stat().st_size > 0 for path in files.values())


def test_cancel_through_one_replica_reaches_the_job_on_its_worker(studio, project):
    one, two = studio.client(studio.one), studio.client(studio.two)
    job = one.submit(project.id, "echo", {"seconds": 60})
    worker = _worker_of(studio, job.id)
    assert two.cancel(job.id).status in (JobStatus.running, JobStatus.canceled)
    final = list(_sse(studio.one, one.token, job.id))[-1]
    assert final["status"] == "canceled", final
    assert worker.proc.poll() is None, "the worker goes on"
    # the worker is free again: the next job runs
    assert one.run(project.id, "echo", {"message": "after"}).result == {"message": "after"}


def queued_row(studio, project, params: str, handed_over: bool = False) -> str:
    """A queued echo job written straight into the database, as an API replica commits it; its id."""
    job_id = uuid.uuid4().hex
    studio.sql("INSERT INTO jobs (id, project_id, request_digest, operation, params, provider, status, progress, "
               "message, outputs, attempts, cancel_requested, token_id, created_at, enqueued_at) VALUES (:id, :p, "
               "'', 'echo', :params, 'local', 'queued', 0, 'queued', '[]', 0, false, '', now() at time zone 'utc', "
               + ("now() at time zone 'utc')" if handed_over else "NULL)"), id=job_id, p=project.id, params=params)
    return job_id


def test_a_row_the_broker_never_got_is_run(studio, project):
    """The API replica died between committing the job and sending it: the sweeper hands it over."""
    job_id = queued_row(studio, project, '{"message": "orphan"}')
    final = studio.client(studio.two).wait(job_id)
    assert final.status == JobStatus.succeeded and final.result == {"message": "orphan"}


def test_a_worker_of_another_version_refuses_the_job(studio, project):
    from shotbridge_backend.studio import TASK, celery_app

    # handed over just now (enqueued_at set), so the sweeper leaves it to the message sent below
    job_id = queued_row(studio, project, "{}", handed_over=True)
    app = celery_app(studio.broker, "shotbridge")
    app.send_task(TASK, kwargs={"job_id": job_id, "version": "0.0.0-other"}, queue="shotbridge")
    client = studio.client(studio.one)
    deadline = time.monotonic() + 30
    while "0.0.0-other" not in (job := client.job(job_id)).message and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.status == JobStatus.queued and job.attempts == 0, job
    assert f"runs ShotBridge {__version__}" in job.message and "0.0.0-other" in job.message
    client.cancel(job_id)


def test_one_project_s_batch_does_not_starve_another_s_single_job(studio):
    admin = studio.client(studio.one)
    batch, single = (admin.create_project(f"{name}-{os.urandom(3).hex()}") for name in ("batch", "single"))
    shots = [admin.submit(batch.id, "echo", {"message": f"shot{i}", "seconds": 0.3}) for i in range(16)]
    alone = admin.submit(single.id, "echo", {"message": "interactive"})
    done = admin.wait(alone.id)
    assert done.status == JobStatus.succeeded
    later = [admin.wait(job.id) for job in shots]
    after = [job for job in later if job.finished_at > done.finished_at]
    # first come first served would run it after all 16; priorities put it behind at most the batch's first
    # FAIR_SHARE jobs (and the two the workers had already taken)
    assert len(after) >= 10, [(j.message, j.finished_at) for j in later]


def test_a_redis_restart_loses_no_job(studio, project):
    """Redis here keeps nothing on disk: a restart forgets the queued messages; the jobs still run."""
    one, two = studio.client(studio.one), studio.client(studio.two)
    busy = [one.submit(project.id, "echo", {"message": f"busy{i}", "seconds": 2}) for i in range(2)]
    for job in busy:
        _worker_of(studio, job.id)
    waiting = one.submit(project.id, "echo", {"message": "after the restart"})
    studio.redis.stop()
    studio.redis.start()
    final = two.wait(waiting.id)
    assert final.status == JobStatus.succeeded and final.result == {"message": "after the restart"}
    assert [two.wait(job.id).status for job in busy] == [JobStatus.succeeded] * 2
    # updates flow through the restarted broker again: a new job is streamed through the other replica
    job = one.submit(project.id, "echo", {"message": "streamed", "seconds": 0.5})
    assert list(_sse(studio.two, two.token, job.id))[-1]["status"] == "succeeded"


def test_a_postgresql_restart_while_jobs_are_queued_loses_none(studio, project, pg_cluster):
    one = studio.client(studio.one)
    busy = [one.submit(project.id, "echo", {"message": f"busy{i}", "seconds": 1.5}) for i in range(2)]
    for job in busy:
        _worker_of(studio, job.id)
    queued = [one.submit(project.id, "echo", {"message": f"queued{i}"}) for i in range(3)]
    pg_cluster.stop("fast")
    time.sleep(1.0)
    pg_cluster.start()
    finals = [studio.client(studio.two).wait(job.id) for job in [*busy, *queued]]
    assert [(j.status, j.result) for j in finals] == [
        (JobStatus.succeeded, {"message": m}) for m in ("busy0", "busy1", "queued0", "queued1", "queued2")]


def test_a_worker_stopped_mid_job_hands_it_back_at_once(studio, project):
    one = studio.client(studio.one)
    job = one.submit(project.id, "echo", {"message": "handed back", "seconds": 2})
    stopped = _worker_of(studio, job.id)
    stopped.stop()  # SIGTERM: Celery's warm shutdown
    assert stopped.proc.returncode == 0, stopped.log.read_text()[-2000:]
    final = one.wait(job.id)
    assert final.status == JobStatus.succeeded and final.attempts == 2
    studio.workers.remove(stopped)
    assert f"job {job.id} handed back (queued): this worker is stopping" in stopped.log.read_text()
    studio.worker("worker3")  # two workers again for the next test


def test_a_worker_killed_mid_job_has_its_job_run_again_on_another(studio, project):
    one, two = studio.client(studio.one), studio.client(studio.two)
    job = one.submit(project.id, "echo", {"message": "survivor", "seconds": 3})
    victim = _worker_of(studio, job.id)
    for snap in two.events(job.id):
        if snap.progress > 0:
            break
    victim.kill()
    final = two.wait(job.id)
    assert final.status == JobStatus.succeeded and final.result == {"message": "survivor"}
    assert final.attempts == 2
    [(worker,)] = studio.sql("SELECT worker FROM jobs WHERE id = :id", id=job.id)
    assert int(worker.rsplit(":", 1)[1]) != victim.proc.pid, "the other worker ran it"


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_unreachable_broker_stops_the_start(command, tmp_path, pg_cluster):
    port = datastores.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    env = {**os.environ, "SHOTBRIDGE_CONFIG_DIR": str(tmp_path / "config"),
           "SHOTBRIDGE_DATABASE_URL": pg_cluster.database(f"b{os.urandom(6).hex()}")}
    args = ["--port", str(datastores.free_port())] if command == "serve" else []
    done = subprocess.run([sys.executable, "-m", "shotbridge.cli", command, "--broker", url, *args,
                           "--data-dir", str(tmp_path / "data")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"Cannot reach the broker at {url}" in done.stderr
    assert not (tmp_path / "config" / "token").exists(), "nothing was started half-way"

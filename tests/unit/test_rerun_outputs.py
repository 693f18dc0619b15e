"""A job re-run after a crash starts from a clean outputs list: what the killed attempt stored leaves the job,
and leaves the project's assets and the store unless something else still uses it.

The runner, database and store are the real ones; the killed attempt is the state a backend leaves behind
when it dies mid-job (the job 'running' with outputs), and `recover` is what the next start calls.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from shotbridge.models import JobStatus, Problem
from shotbridge_backend.db import (
    AssetRow,
    CharacterRow,
    Database,
    JobRow,
    ProjectRow,
    ReferenceRow,
    TimelineRow,
)
from shotbridge_backend.events import Broker
from shotbridge_backend.runner import JobRunner, to_job
from shotbridge_backend.store import AssetStore


@pytest.fixture
def runner(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    runner = JobRunner(db, AssetStore(tmp_path / "assets"), Broker(), tmp_path / "work", workers=1, max_attempts=3)
    with db.session() as s:
        s.add_all([ProjectRow(id="p1", name="one"), ProjectRow(id="p2", name="two")])
    yield runner
    runner.shutdown()
    db.dispose()


def _job(runner: JobRunner, project: str = "p1", status: JobStatus = JobStatus.running, **extra) -> str:
    job_id = uuid.uuid4().hex
    with runner.db.session() as s:
        s.add(JobRow(id=job_id, project_id=project, operation="echo", provider="local", status=status.value,
                     **{"params": {"message": "again"}, **extra}))
    return job_id


def _store_output(runner: JobRunner, tmp_path, job_id: str, name: str, content: bytes) -> str:
    path = tmp_path / f"{uuid.uuid4().hex}.bin"
    path.write_bytes(content)
    with runner.db.session() as s:
        job = to_job(s.get(JobRow, job_id))
    return runner._add_output(job, path, name, "application/octet-stream").sha256


def _rerun(runner: JobRunner, job_id: str):
    with runner.db.session() as s:
        s.get(JobRow, job_id).attempts = 1
    assert job_id in runner.recover()
    runner.executor.pool.shutdown(wait=True)  # the re-run has finished
    with runner.db.session() as s:
        return to_job(s.get(JobRow, job_id))


def to_job_outputs(runner: JobRunner, job_id: str):
    with runner.db.session() as s:
        return to_job(s.get(JobRow, job_id)).outputs


def _assets(runner: JobRunner, project: str) -> set[str]:
    with runner.db.session() as s:
        return set(s.scalars(select(AssetRow.sha256).where(AssetRow.project_id == project)))


def test_a_rerun_drops_the_killed_attempt_s_outputs_from_the_job_the_assets_and_the_store(runner, tmp_path):
    job_id = _job(runner)
    shas = [_store_output(runner, tmp_path, job_id, f"frame.{i:04d}.png", f"attempt 1 frame {i}".encode())
            for i in range(3)]
    assert len(to_job_outputs(runner, job_id)) == 3

    final = _rerun(runner, job_id)

    assert final.status == JobStatus.succeeded and final.attempts == 2
    assert final.outputs == []
    assert _assets(runner, "p1") == set()
    assert not any(runner.store.exists(sha) for sha in shas)



def test_outputs_something_else_uses_stay(runner, tmp_path):
    job_id = _job(runner)
    sha = {what: _store_output(runner, tmp_path, job_id, f"{what}.png", what.encode())
           for what in ("other job output", "other job input", "character reference", "timeline version",
                        "also in project two", "uploaded too", "unused")}
    other = _job(runner, status=JobStatus.succeeded, params={"image": sha["other job input"]})
    with runner.db.session() as s:
        row = s.get(JobRow, other)
        row.outputs = [{"name": "kept.png", "sha256": sha["other job output"], "size": 16,
                        "media_type": "image/png"}]
        s.add(CharacterRow(id="c1", project_id="p1", name="Ada"))
        s.flush()
        s.add(ReferenceRow(id="r1", character_id="c1", asset=sha["character reference"], model="m", embedding=[]))
        s.add(TimelineRow(id="t1", project_id="p1", name="cut", version=1, asset=sha["timeline version"], clips=1,
                          tracks=1))
        s.add(AssetRow(project_id="p2", sha256=sha["also in project two"], size=1, media_type="image/png",
                       origin="uploaded"))
        s.get(AssetRow, ("p1", sha["uploaded too"])).origin = "uploaded"

    final = _rerun(runner, job_id)

    assert final.outputs == []
    kept = {what for what, s in sha.items() if s in _assets(runner, "p1")}
    assert kept == {"other job output", "other job input", "character reference", "timeline version",
                    "uploaded too"}
    assert {what for what, s in sha.items() if runner.store.exists(s)} == set(sha) - {"unused"}
    assert _assets(runner, "p2") == {sha["also in project two"]}


def test_an_output_written_again_under_its_name_replaces_the_first(runner, tmp_path):
    job_id = _job(runner)
    first = _store_output(runner, tmp_path, job_id, "take.0001.png", b"first")
    second = _store_output(runner, tmp_path, job_id, "take.0001.png", b"second")
    same = _store_output(runner, tmp_path, job_id, "take.0002.png", b"second")

    outputs = to_job_outputs(runner, job_id)
    assert [(o.name, o.sha256) for o in outputs] == [("take.0001.png", second), ("take.0002.png", same)]
    assert _assets(runner, "p1") == {second}
    assert not runner.store.exists(first) and runner.store.exists(second)
    # Replacing one of two names that hold the same bytes keeps the bytes for the other.
    _store_output(runner, tmp_path, job_id, "take.0001.png", b"third")
    assert runner.store.exists(second) and second in _assets(runner, "p1")


def test_a_queued_job_s_first_run_and_a_job_without_leftovers_are_unchanged(runner, tmp_path):
    job_id = _job(runner, status=JobStatus.queued)
    runner.enqueue(job_id)
    runner.executor.pool.shutdown(wait=True)
    with runner.db.session() as s:
        job = to_job(s.get(JobRow, job_id))
    assert job.status == JobStatus.succeeded and job.attempts == 1 and job.result == {"message": "again"}


def test_bytes_an_artist_uploads_are_theirs_and_survive_the_clean_up(runner, tmp_path):
    job_id = _job(runner)
    sha = _store_output(runner, tmp_path, job_id, "sh010.0001.png", b"frame one")
    claimed = runner.claim_upload("p1", sha)  # the same bytes PUT by the artist while the job is running
    assert claimed is not None and claimed.origin.value == "uploaded"
    _rerun(runner, job_id)
    with runner.db.session() as s:
        assert s.get(AssetRow, ("p1", sha)) is not None
    assert runner.store.exists(sha)
    assert runner.claim_upload("p1", "0" * 64) is None  # nothing stored: the upload must send the bytes


def test_a_job_s_error_never_shows_the_backend_s_own_paths(runner):
    sha = "ab" * 32
    job_id = _job(runner)
    with runner.db.session() as s:
        row = s.get(JobRow, job_id)
        detail = (f"Movie '{runner.store.path(sha)}' ended early; "
                  f"cannot read '{runner.work_root / job_id / 'in' / 'sh010_12.png'}'")
        runner._finish_row(row, JobStatus.failed, detail, Problem(title="Operation failed", status=422, detail=detail))
    with runner.db.session() as s:
        job = to_job(s.get(JobRow, job_id))
    for text in (job.message, job.error.detail):
        assert str(runner.store.root) not in text and str(runner.work_root) not in text
        assert "asset abababababab" in text and "'sh010_12.png'" in text

"""The backend and the client together over real HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time

import pytest
import requests

from shotbridge.client import Client
from shotbridge.errors import AuthError, BackendUnreachable, Conflict, NotFound, ValidationFailed
from shotbridge.models import JobStatus
from shotbridge.watcher import JobWatcher

SERVER_MODES = ("sqlite", "postgresql", "studio")  # studio: jobs run on a Celery worker process


def test_token_file_is_private(server):
    token_file = server.root / "config" / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().startswith("sbt_")


def test_health_and_catalogue(admin):
    assert admin.health().status == "ok"
    ops = {op.name: op for op in admin.operations()}
    assert {"echo", "detect_shots"} <= set(ops)
    schema = ops["detect_shots"].params_schema
    assert schema["properties"]["media"]["format"] == "asset"
    assert "media" in schema["required"]
    assert ops["detect_shots"].providers == ["local"]
    local = {p.name: p for p in admin.providers()}["local"]
    assert local.trains_on_inputs is False and local.retention_days == 0


def test_missing_and_wrong_token(server):
    with Client(server.url, None) as anon, pytest.raises(AuthError, match="Missing token"):
        anon.projects()
    with Client(server.url, "sbt_wrong") as bad, pytest.raises(AuthError, match="Invalid token") as exc:
        bad.projects()
    assert exc.value.status == 401
    resp = requests.get(f"{server.url}/v1/projects", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["title"] == "Invalid token"


def test_echo_job_end_to_end_with_progress_events(admin, project):
    seen = []
    job = admin.run(project.id, "echo", {"message": "hi", "seconds": 0.3}, on_event=seen.append)
    assert job.status == JobStatus.succeeded
    assert job.result == {"message": "hi"}
    assert job.attempts == 1 and job.finished_at >= job.started_at
    statuses = [j.status for j in seen]
    assert statuses[-1] == JobStatus.succeeded
    assert any(0 < j.progress < 1 for j in seen), "progress events arrive while the job runs"


def test_events_fall_back_to_polling(admin, project, monkeypatch):
    def broken_sse(job_id):
        raise requests.ConnectionError("stream refused")
        yield  # pragma: no cover

    monkeypatch.setattr(admin, "_sse", broken_sse)
    job = admin.run(project.id, "echo", {"message": "polled", "seconds": 0.2})
    assert job.status == JobStatus.succeeded and job.result["message"] == "polled"


def test_unknown_operation_names_the_field(admin, project):
    with pytest.raises(ValidationFailed) as exc:
        admin.submit(project.id, "make_it_pop", {})
    assert exc.value.problem.errors[0].field == "operation"
    assert "echo" in str(exc.value)


def test_invalid_parameters_name_the_field(admin, project, movie):
    asset = admin.upload(project.id, movie)
    with pytest.raises(ValidationFailed) as exc:
        admin.submit(project.id, "detect_shots", {"media": asset.sha256, "threshold": -3})
    fields = [e.field for e in exc.value.problem.errors]
    assert fields == ["params.threshold"]
    with pytest.raises(ValidationFailed) as exc:
        admin.submit(project.id, "detect_shots", {})
    assert [e.field for e in exc.value.problem.errors] == ["params.media"]


def test_idempotent_submit(admin, project):
    a = admin.submit(project.id, "echo", {"message": "once"}, idempotency_key="key-1")
    b = admin.submit(project.id, "echo", {"message": "once"}, idempotency_key="key-1")
    assert a.id == b.id
    with pytest.raises(Conflict, match="different request"):
        admin.submit(project.id, "echo", {"message": "twice"}, idempotency_key="key-1")


def test_an_empty_key_is_no_key_and_racing_submits_with_one_key_make_one_job(admin, project):
    import concurrent.futures

    url = f"{admin.url}/v1/projects/{project.id}/jobs"
    for _ in range(2):  # found by schemathesis: a second empty key answered 500 (unique constraint)
        resp = admin.session.post(url, json={"operation": "echo"}, headers={"Idempotency-Key": ""}, timeout=30)
        assert resp.status_code == 201, resp.text
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: admin.session.post(
            url, json={"operation": "echo", "params": {"message": "race"}}, headers={"Idempotency-Key": "race-1"},
            timeout=30), range(16)))
    assert {r.status_code for r in answers} <= {200, 201}, [r.text for r in answers if r.status_code >= 300]
    assert len({r.json()["id"] for r in answers}) == 1


def test_upload_is_by_content_and_asks_first(admin, project, movie, monkeypatch):
    first = admin.upload(project.id, movie)
    assert first.sha256 == hashlib.sha256(movie.read_bytes()).hexdigest()
    assert first.size == movie.stat().st_size and first.media_type == "video/mp4"
    calls = []
    real = admin.session.request
    monkeypatch.setattr(admin.session, "request", lambda *a, **k: calls.append(a[:2]) or real(*a, **k))
    again = admin.upload(project.id, movie)
    assert again.sha256 == first.sha256
    assert len(calls) == 1 and calls[0][0] == "GET", "a repeat upload costs one request"


def test_a_plate_sent_to_a_second_project_is_not_hashed_again(admin, project, movie, tmp_path, monkeypatch):
    plate = tmp_path / "plate.mp4"
    plate.write_bytes(movie.read_bytes())
    old = time.time() - 60
    os.utime(plate, (old, old))
    from shotbridge import hashing

    reads = []
    real = hashing.sha256_file
    monkeypatch.setattr(hashing, "sha256_file", lambda p: reads.append(p) or real(p))
    first = admin.upload(project.id, plate)
    other = admin.create_project(f"second-{os.urandom(3).hex()}")
    again = admin.upload(other.id, plate)  # the bytes go (the other project lacks them), the hashing does not
    assert again.sha256 == first.sha256 and admin.asset(other.id, first.sha256) is not None
    assert len(reads) == 1


def test_download_into_cache_atomically(admin, project, movie, tmp_path):
    asset = admin.upload(project.id, movie)
    path = admin.download(project.id, asset.sha256)
    assert path.read_bytes() == movie.read_bytes()
    assert path.name == asset.sha256
    assert not list(path.parent.glob(".*part"))
    copy = admin.download(project.id, asset.sha256, tmp_path / "out" / "copy.mp4")
    assert copy.read_bytes() == movie.read_bytes()


def test_hash_mismatch_is_refused_and_nothing_kept(server, admin, project):
    wrong = "0" * 64
    resp = admin.session.put(f"{server.url}/v1/projects/{project.id}/assets/{wrong}", data=b"not those bytes",
                             timeout=5)
    assert resp.status_code == 422 and resp.json()["title"] == "Hash mismatch"
    store = server.root / "data" / "assets"
    assert not (store / "00" / wrong).exists()
    assert not list((store / "tmp").iterdir())
    assert admin.asset(project.id, wrong) is None


def test_detect_shots_finds_the_cuts(admin, project, movie, tmp_path):
    asset = admin.upload(project.id, movie)
    job = admin.run(project.id, "detect_shots", {"media": asset.sha256})
    shots = job.result["shots"]
    assert [s["start_frame"] for s in shots] == [0, 24, 48, 72]
    import opentimelineio as otio

    path = admin.download(project.id, job.result["timeline"]["sha256"], tmp_path / "t.otio")
    timeline = otio.adapters.read_from_file(str(path))
    clips = list(timeline.find_clips())
    assert len(clips) == 4
    assert clips[1].source_range.start_time.to_frames() == 24
    assert clips[1].media_reference.metadata["shotbridge"]["asset_sha256"] == asset.sha256
    sheet = admin.download(project.id, job.result["thumbnail"]["sha256"], tmp_path / "sheet.jpg")
    assert sheet.read_bytes()[:2] == b"\xff\xd8", "a JPEG contact sheet of the shots"


def test_detect_shots_on_non_video_fails_clearly(admin, project, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("this is not a movie\n" * 100)
    asset = admin.upload(project.id, junk)
    job = admin.submit(project.id, "detect_shots", {"media": asset.sha256})
    job = admin.wait(job.id)
    assert job.status == JobStatus.failed
    assert "notes.txt" in job.error.detail and "movie" in job.error.detail
    assert job.error.errors[0].field == "params.media"


def test_other_projects_assets_and_jobs_are_out_of_reach(server, admin, project, movie):
    other = admin.create_project(f"other-{project.name}")
    asset = admin.upload(other.id, movie)
    # Admin token, but the job names another project's asset.
    with pytest.raises(ValidationFailed) as exc:
        admin.submit(project.id, "detect_shots", {"media": asset.sha256})
    assert exc.value.problem.errors[0].field == "params.media"
    assert "not in project" in str(exc.value)
    # A project token reaches its own project only.
    with Client(server.url, project.token) as scoped:
        assert [p.id for p in scoped.projects()] == [project.id]
        with pytest.raises(NotFound):
            scoped.assets(other.id)
        other_job = admin.submit(other.id, "echo", {})
        with pytest.raises(NotFound):
            scoped.job(other_job.id)
        assert all(j.project_id == project.id for j in scoped.jobs())
        with pytest.raises(AuthError, match="admin token"):
            scoped.create_project("sneaky")
        own = scoped.run(project.id, "echo", {"message": "mine"})
        assert own.result["message"] == "mine"


def test_cancel_stops_at_next_checkpoint(admin, project):
    job = admin.submit(project.id, "echo", {"seconds": 60})
    for snapshot in admin.events(job.id):
        if snapshot.status == JobStatus.running:
            break
    admin.cancel(job.id)
    final = admin.wait(job.id)
    assert final.status == JobStatus.canceled
    assert (final.finished_at - final.started_at).total_seconds() < 5
    # Canceling again is harmless; retry makes a new job with the same parameters.
    assert admin.cancel(job.id).status == JobStatus.canceled
    again = admin.retry(job.id)
    assert again.id != job.id and again.params == final.params
    admin.cancel(again.id)


def test_unreachable_backend_names_url_and_suggests_serve():
    with Client("http://127.0.0.1:9", "x", retries=1, backoff=0.01) as client:
        with pytest.raises(BackendUnreachable) as exc:
            client.health()
    assert "http://127.0.0.1:9" in str(exc.value) and "shotbridge serve" in str(exc.value)


def test_watcher_dispatches_events_through_the_host(admin, project):
    delivered: list[tuple[str, JobStatus]] = []
    done = threading.Event()
    main_thread = threading.current_thread().name

    def dispatch(fn, *args):  # a host would queue this onto its main thread
        delivered.append((threading.current_thread().name, args[0].status))
        fn(*args)

    def on_event(job):
        if job.status.terminal:
            done.set()

    watcher = JobWatcher(admin, dispatch)
    job = admin.submit(project.id, "echo", {"seconds": 0.2})
    watcher.watch(job.id, on_event)
    assert done.wait(10)
    assert delivered[-1][1] == JobStatus.succeeded
    assert all(name != main_thread for name, _ in delivered), "network work never runs on the caller's thread"


def test_job_list_and_openapi(server, admin, project):
    admin.run(project.id, "echo", {"message": "listed"})
    jobs = admin.jobs(project=project.id)
    assert jobs and jobs[0].operation == "echo"
    doc = requests.get(f"{server.url}/openapi.json", timeout=5).json()
    assert "/v1/projects/{project}/jobs" in doc["paths"]
    assert {"Job", "Problem", "Asset", "Operation", "Provider"} <= set(doc["components"]["schemas"])


def test_unknown_route_is_problem_json(server):
    resp = requests.get(f"{server.url}/v2/nothing", timeout=5)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert "/v1" in resp.json()["detail"]

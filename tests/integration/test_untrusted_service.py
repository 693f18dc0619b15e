"""One hostile file fails one request or one job, never the backend: a real server on loopback with its own limits.

The depth limit is lifted on this server so that files built to crash or stall OpenTimelineIO reach the child
process; the pre-scan that normally refuses them is tested in tests/exchange/test_untrusted.py.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import requests
from PIL import Image

from shotbridge.client import Client
from shotbridge.models import OTIO_MEDIA_TYPE, JobStatus
from shotbridge_backend.demo import EmbeddedBackend

CRASHERS = {
    "deep_list.otio": b"[" * 200_000 + b"]" * 200_000,  # segfaults OTIO 0.18.1
    "deep_dict.otio": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,  # minutes in OTIO's reader
    "no_tracks.otio": json.dumps({"OTIO_SCHEMA": "Timeline.1", "name": "t", "tracks": None}).encode(),
    "unknown.otio": json.dumps({"OTIO_SCHEMA": "Bogus.7"}).encode(),
}


@pytest.fixture(scope="module")
def lenient(tmp_path_factory):
    backend = EmbeddedBackend(tmp_path_factory.mktemp("lenient"), env={
        "SHOTBRIDGE_TIMELINE_MAX_DEPTH": str(10**9), "SHOTBRIDGE_TIMELINE_SECONDS": "3",
        "SHOTBRIDGE_TIMELINE_MAX_BYTES": str(4 << 20), "SHOTBRIDGE_MAX_JSON_BYTES": str(64 << 10),
        "SHOTBRIDGE_MAX_ATTEMPTS": "2"})
    client = backend.start()
    token = (backend.root / "config" / "token").read_text().strip()
    with Client(backend.url, token) as admin:
        yield backend, admin
    client.close()
    backend.stop()


def _put(admin: Client, project: str, name: str, data: bytes, media_type: str = OTIO_MEDIA_TYPE) -> requests.Response:
    sha = hashlib.sha256(data).hexdigest()
    return admin.session.put(f"{admin.url}/v1/projects/{project}/assets/{sha}", data=data, timeout=30,
                             headers={"X-ShotBridge-Filename": name, "X-ShotBridge-Media-Type": media_type})


def test_hostile_timelines_fail_their_request_and_their_job_and_nothing_else(lenient, tmp_path):
    backend, admin = lenient
    project = admin.create_project("hostile-timelines")
    mask = tmp_path / "mask.png"
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(mask)
    mask_sha = admin.upload(project.id, mask).sha256
    for name, data in CRASHERS.items():
        resp = _put(admin, project.id, name, data)
        assert resp.status_code == 201, resp.text
        sha = resp.json()["sha256"]
        posted = admin.session.post(f"{admin.url}/v1/projects/{project.id}/timelines",
                                    json={"name": "cut", "asset": sha}, timeout=60)
        assert posted.status_code == 422, (name, posted.text)
        problem = posted.json()
        assert problem["errors"][0]["field"] == "asset" and problem["detail"], problem
        job = admin.wait(admin.submit(project.id, "inpaint", {"timeline": sha, "mask": mask_sha}).id)
        assert job.status == JobStatus.failed and job.attempts == 1, (name, job)
        assert job.error.errors[0].field == "params.timeline", job.error
        assert admin.health().version  # the service is up for everyone else
    details = {name: admin.session.post(
        f"{admin.url}/v1/projects/{project.id}/timelines", timeout=60,
        json={"name": "x", "asset": hashlib.sha256(data).hexdigest()}).json()["detail"] for name, data in CRASHERS.items()}
    assert "crashed" in details["deep_list.otio"] and "SIGSEGV" in details["deep_list.otio"]
    assert "longer than 3 s" in details["deep_dict.otio"]
    assert "has no tracks" in details["no_tracks.otio"]
    assert "Bogus.7" in details["unknown.otio"]
    assert backend.proc.poll() is None


def test_bodies_over_their_route_limit_get_413_naming_the_limit(lenient):
    backend, admin = lenient
    project = admin.create_project("body-limits")
    big_json = {"name": "x" * (100 << 10)}
    resp = admin.session.post(f"{admin.url}/v1/projects/{project.id}/characters", json=big_json, timeout=30)
    assert resp.status_code == 413 and "65536 bytes" in resp.json()["detail"]
    assert "SHOTBRIDGE_MAX_JSON_BYTES" in resp.json()["detail"]
    chunked = admin.session.post(f"{admin.url}/v1/projects/{project.id}/jobs", timeout=30,
                                 data=iter([b'{"operation": "echo", "params": {"x": "', b"y" * (100 << 10), b'"}}']),
                                 headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413, chunked.text
    timeline = _put(admin, project.id, "huge.otio", b" " * (5 << 20))
    assert timeline.status_code == 413 and "SHOTBRIDGE_TIMELINE_MAX_BYTES" in timeline.json()["detail"]
    media = _put(admin, project.id, "plate.mov", b"\0" * (5 << 20), "video/quicktime")
    assert media.status_code == 201  # media has its own, larger limit
    assert admin.health().version

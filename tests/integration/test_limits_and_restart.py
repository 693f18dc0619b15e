"""Bad input at the storage layer, and a backend killed mid-job: clear errors, nothing lost, nothing partial."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time

import pytest
import requests

from shotbridge.client import Client
from shotbridge.models import JobStatus
from shotbridge_backend.demo import EmbeddedBackend


def _admin(backend: EmbeddedBackend) -> Client:
    return Client(backend.url, (backend.root / "config" / "token").read_text().strip())


@pytest.fixture
def make_backend(tmp_path):
    """Backends a test starts are stopped even when the test fails half-way."""
    started: list[EmbeddedBackend] = []

    def make(**env: str) -> EmbeddedBackend:
        backend = EmbeddedBackend(tmp_path, env=env)
        started.append(backend)
        return backend

    yield make
    for backend in started:
        backend.stop()


def test_asset_over_size_limit(tmp_path, make_backend):
    backend = make_backend(SHOTBRIDGE_MAX_ASSET_BYTES="1000")
    backend.start()
    client = _admin(backend)
    project = client.create_project("limits")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(5000))
    with pytest.raises(Exception, match="limit of 1000 bytes|limit is 1000") as exc:
        client.upload(project.id, big)
    assert exc.value.status == 413
    # Without a Content-Length the limit is enforced while streaming.
    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    resp = client.session.put(f"{backend.url}/v1/projects/{project.id}/assets/{sha}",
                              data=iter([big.read_bytes()[:800], big.read_bytes()[800:]]), timeout=10)
    assert resp.status_code == 413
    assert not list((tmp_path / "data" / "assets" / "tmp").iterdir())


@pytest.fixture
def small_volume(tmp_path):
    mnt = tmp_path / "small-volume"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip()}); "
                    "tests/unit/test_store.py covers the same path with an injected ENOSPC")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_while_storing_leaves_nothing_partial(tmp_path, small_volume, make_backend):
    backend = make_backend(SHOTBRIDGE_ASSET_DIR=str(small_volume))
    backend.start()
    client = _admin(backend)
    project = client.create_project("full")
    data = os.urandom(3 << 20)
    sha = hashlib.sha256(data).hexdigest()
    url = f"{backend.url}/v1/projects/{project.id}/assets/{sha}"
    # With a Content-Length the backend refuses before writing a byte.
    resp = client.session.put(url, data=data, timeout=10)
    assert resp.status_code == 507 and "disk space" in resp.json()["detail"]
    # Streamed without a length, the disk fills mid-write: 507, and the partial file is gone.
    resp = client.session.put(url, data=iter([data[i:i + 65536] for i in range(0, len(data), 65536)]),
                              timeout=10)
    assert resp.status_code == 507, resp.text
    assert "ran out of disk space" in resp.json()["detail"]
    assert not list((small_volume / "tmp").iterdir())
    assert not (small_volume / sha[:2] / sha).exists()
    # The backend is still healthy and earlier state is intact.
    small = tmp_path / "small.bin"
    small.write_bytes(b"fits")
    assert client.upload(project.id, small).size == 4


def test_restart_mid_job_completes_and_loses_nothing(tmp_path, make_backend):
    backend = make_backend()
    backend.start()
    client = _admin(backend)
    project = client.create_project("restart")
    done = client.run(project.id, "echo", {"message": "before"})
    job = client.submit(project.id, "echo", {"message": "survivor", "seconds": 3})
    for snap in client.events(job.id):
        if snap.status == JobStatus.running:
            break
    # An upload in flight when the backend dies leaves a temporary file behind...
    payload = os.urandom(4 << 20)
    sha = hashlib.sha256(payload).hexdigest()

    class SlowBody:  # an iterable with a length: requests sends Content-Length, not chunks
        len = len(payload)

        def __iter__(self):
            yield payload[:1 << 20]
            time.sleep(30)  # the server dies while waiting for the rest
            yield payload[1 << 20:]

    uploader = threading.Thread(target=lambda: _swallow(lambda: requests.put(
        f"{backend.url}/v1/projects/{project.id}/assets/{sha}", data=SlowBody(),
        headers={"Authorization": f"Bearer {client.token}"}, timeout=60)), daemon=True)
    uploader.start()
    tmp_dir = tmp_path / "data" / "assets" / "tmp"
    deadline = time.monotonic() + 10
    while not list(tmp_dir.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_dir.iterdir()), "the upload had started writing"
    backend.kill()

    backend.start()
    client = _admin(backend)
    # ...which the restarted backend removes; the final name never existed.
    assert not list(tmp_dir.iterdir())
    assert not (tmp_path / "data" / "assets" / sha[:2] / sha).exists()
    final = client.wait(job.id)
    assert final.status == JobStatus.succeeded, final
    assert final.attempts == 2 and final.result == {"message": "survivor"}
    ids = {j.id for j in client.jobs(project=project.id)}
    assert {done.id, job.id} <= ids, "the job list is intact"


def test_job_interrupted_too_often_fails_with_reason(make_backend):
    backend = make_backend(SHOTBRIDGE_MAX_ATTEMPTS="1")
    backend.start()
    client = _admin(backend)
    project = client.create_project("flaky")
    job = client.submit(project.id, "echo", {"seconds": 30})
    for snap in client.events(job.id):
        if snap.status == JobStatus.running:
            break
    backend.kill()
    backend.start()
    client = _admin(backend)
    final = client.job(job.id)
    assert final.status == JobStatus.failed
    assert "backend stopped while this job was running" in final.error.detail


def _swallow(fn):
    try:
        fn()
    except requests.RequestException:
        pass

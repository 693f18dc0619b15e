"""A ComfyUI pool in studio mode: two Celery workers (separate processes, 2 job threads each) share two ComfyUI
doubles through the servers' queues and claims on the real Redis; one double is taken down mid-run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import datastores
import pytest
from test_studio import Studio

from shotbridge.models import JobStatus

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "providers"))
from live import LiveServer  # noqa: E402 - the provider tests' HTTP server in a thread
from servers.comfyui import FakeComfyUI  # noqa: E402 - the provider tests' ComfyUI double


class Box:
    def __init__(self) -> None:
        self.fake = FakeComfyUI(class_seconds={"KSampler": 1.0})
        self.live = LiveServer(self.fake.app).__enter__()
        self.url = self.live.url
        self.up = True
        self.most = 0  # the most prompts it ever held at once

    def down(self) -> None:
        if self.up:
            self.up = False
            self.live.__exit__(None, None, None)


@pytest.fixture
def pool_studio(pg_cluster, tmp_path):
    if not datastores.have_redis():
        pytest.skip("redis-server is not installed here (make services)")
    boxes = [Box(), Box()]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.005):
            for box in boxes:
                box.most = max(box.most, box.fake.queue_remaining())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with datastores.redis(tmp_path / "redis") as broker:
        studio = Studio(tmp_path / "studio", pg_cluster.database(f"p{os.urandom(6).hex()}"), broker.url)
        config = tmp_path / "studio" / "config"
        config.mkdir(parents=True)
        (config / "providers.toml").write_text(
            "[providers.gpu]\ntype = \"comfyui\"\n"
            f"urls = [\"{boxes[0].url}\", \"{boxes[1].url}\"]\n"
            "poll_interval = 0.2\nbackoff = 0.05\nmax_attempts = 2\ntimeout = 10\n")
        try:
            studio.api_url = studio.api("api")
            for name in ("worker1", "worker2"):
                studio.workers.append(datastores.start_worker(studio.root / name, studio.env, concurrency=2))
            studio.boxes = boxes
            yield studio
        finally:
            studio.stop()
            stop.set()
            watcher.join()
            for box in boxes:
                box.down()
                box.fake.close()


def _submit(client, project: str, seed: int):
    return client.submit(project, "generate_image", {"prompt": f"a lighthouse {seed}", "width": 64, "height": 64},
                         provider="gpu")


def test_workers_share_the_pool_and_a_job_moves_off_a_server_that_goes_down(pool_studio):
    studio, (a, b) = pool_studio, pool_studio.boxes
    client = studio.client(studio.api_url)
    project = client.create_project("pool").id
    servers = {s.url: s for s in next(p for p in client.providers() if p.name == "gpu").servers}
    assert {s.state for s in servers.values()} == {"free"}

    # 6 jobs, 4 job threads on two workers, 2 servers: never a prompt waiting on a box
    jobs = [_submit(client, project, i) for i in range(6)]
    done = [client.wait(j.id) for j in jobs]
    assert [j.status for j in done] == [JobStatus.succeeded] * 6, [j.message for j in done]
    assert (a.most, b.most) == (1, 1)
    assert a.fake.executed and b.fake.executed

    # two more: once both run, one server goes down; its job finishes on the other
    jobs = [_submit(client, project, 10 + i) for i in range(2)]
    deadline = time.monotonic() + 30
    while not (a.fake.running and b.fake.running):
        assert time.monotonic() < deadline, "the two jobs never ran side by side"
        time.sleep(0.01)
    before = len(b.fake.executed)
    a.down()
    done = [client.wait(j.id) for j in jobs]
    assert [j.status for j in done] == [JobStatus.succeeded] * 2, [j.message for j in done]
    assert len(b.fake.executed) == before + 1  # the moved job ran there
    servers = {s.url: s for s in next(p for p in client.providers() if p.name == "gpu").servers}
    assert servers[a.url].state == "down" and servers[b.url].state == "free"
    shown = subprocess.run([sys.executable, "-m", "shotbridge.cli", "providers"], capture_output=True, text=True,
                           timeout=60, env={**os.environ, "SHOTBRIDGE_URL": studio.api_url,
                                            "SHOTBRIDGE_TOKEN": client.token})
    assert shown.returncode == 0, shown.stderr
    assert f"server {a.url} [down: cannot be reached" in shown.stdout
    assert f"server {b.url} [free] queue 0" in shown.stdout

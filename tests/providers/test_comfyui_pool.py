"""A `comfyui` entry with several urls: one GPU pool of ComfyUI doubles (real HTTP servers on 127.0.0.1)."""

from __future__ import annotations

import threading
import time

import pytest
from live import LiveServer
from servers.comfyui import FakeComfyUI

from shotbridge_backend.providers.base import GenerationRequest, ProviderUnavailable, Task
from shotbridge_backend.providers.comfyui import ComfyUIProvider


class Box:
    """A ComfyUI double and its HTTP server, which a test can take down."""

    def __init__(self, **kwargs) -> None:
        self.fake = FakeComfyUI(**kwargs)
        self.live = LiveServer(self.fake.app).__enter__()
        self.url = self.live.url
        self.up = True

    def down(self) -> None:
        if self.up:
            self.up = False
            self.live.__exit__(None, None, None)

    def close(self) -> None:
        self.down()
        self.fake.close()


@pytest.fixture
def boxes():
    started: list[Box] = []

    def start(**kwargs) -> Box:
        box = Box(**kwargs)
        started.append(box)
        return box

    yield start
    for box in started:
        box.close()


def pool(*boxes: Box, **config) -> ComfyUIProvider:
    return ComfyUIProvider("gpu", {"urls": [b.url for b in boxes], "backoff": 0.01, "timeout": 5,
                                   "poll_interval": 0.05, "max_attempts": 2, **config})


def request(seed: int) -> GenerationRequest:
    return GenerationRequest(Task.text_to_image, prompt="a lighthouse", width=64, height=48, seed=seed)


def at_once(count: int, work) -> list[Exception]:
    """work(0) .. work(count - 1), each on its own thread at the same time; what they raised."""
    errors: list[Exception] = []

    def run(i: int) -> None:
        try:
            work(i)
        except Exception as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


class QueueWatch:
    """The most prompts each double ever held at once (running + waiting), sampled until stopped."""

    def __init__(self, *boxes: Box) -> None:
        self.boxes = boxes
        self.most = [0] * len(boxes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            for i, box in enumerate(self.boxes):
                self.most[i] = max(self.most[i], box.fake.queue_remaining())

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join()
        return self.most


def test_jobs_spread_over_the_pool_one_prompt_per_server(boxes, make_session):
    a, b = boxes(class_seconds={"KSampler": 0.3}), boxes(class_seconds={"KSampler": 0.3})
    adapter = pool(a, b)
    sessions = [make_session(adapter)[0] for _ in range(6)]
    results = {}
    watch = QueueWatch(a, b)
    errors = at_once(6, lambda i: results.__setitem__(i, adapter.generate(request(i), sessions[i])))
    most = watch.stop()
    assert not errors
    assert len(results) == 6 and all(r.files for r in results.values())
    assert most == [1, 1]  # never a prompt waiting on a box: the jobs waited in ShotBridge instead
    assert len(a.fake.executed) + len(b.fake.executed) == 6
    assert a.fake.executed and b.fake.executed
    assert {r.reproduce["server"] for r in results.values()} == {a.url, b.url}
    waited = [m for s in sessions for _, m in s.events if m.startswith("waiting for a free server of gpu")]
    assert waited  # 6 jobs, 2 servers: some said they were waiting


def test_a_job_moves_to_the_other_server_when_its_server_goes_down(boxes, make_session):
    a, b = boxes(class_seconds={"KSampler": 1.5}), boxes(class_seconds={"KSampler": 1.5})
    adapter = pool(a, b)
    session, _ = make_session(adapter)
    out: dict = {}
    job = threading.Thread(target=lambda: out.setdefault("result", adapter.generate(request(7), session)))
    job.start()
    deadline = time.monotonic() + 10
    while not (a.fake.running or b.fake.running):
        assert time.monotonic() < deadline, "the prompt never started"
        time.sleep(0.01)
    first, other = (a, b) if a.fake.running else (b, a)
    first.down()
    job.join(30)
    result = out["result"]
    assert result.reproduce["server"] == other.url
    assert len(other.fake.executed) == 1
    # its input went to the server it ran on, and the job said why it moved
    assert any(m.endswith("went away; moving to another server") for _, m in session.events)

    # the pool lists the server that went down, and later jobs go to the one that is up
    servers = {s.url: s for s in adapter.describe(["generate_image"]).servers}
    assert servers[first.url].state == "down" and "cannot be reached" in servers[first.url].reason
    assert servers[other.url].state == "free" and servers[other.url].queue == 0
    again = adapter.generate(request(8), make_session(adapter)[0])
    assert again.reproduce["server"] == other.url


def test_unfit_servers_are_passed_over_and_listed(boxes, make_session):
    a = boxes(missing=("KSampler",))  # cannot run text_to_image
    b = boxes()
    adapter = pool(a, b, tasks=["text_to_image"])
    for seed in range(3):
        assert adapter.generate(request(seed), make_session(adapter)[0]).reproduce["server"] == b.url
    assert not a.fake.paths("POST")
    assert adapter.health() == ""
    servers = {s.url: s for s in adapter.describe(["generate_image"]).servers}
    assert servers[a.url].state == "unfit" and "KSampler" in servers[a.url].reason
    assert servers[b.url].state == "free"


def test_a_pool_with_every_server_down_fails_the_job_naming_each(boxes, make_session):
    a, b = boxes(), boxes()
    adapter = pool(a, b)
    a.down()
    b.down()
    with pytest.raises(ProviderUnavailable) as err:
        adapter.generate(request(1), make_session(adapter)[0])
    assert a.url in str(err.value) and b.url in str(err.value) and "down" in str(err.value)
    assert "no server of gpu" in adapter.health()


def test_a_pool_entry_checks_every_url():
    adapter = ComfyUIProvider("gpu", {"urls": ["http://127.0.0.1:1", "ftp://gpu02"]})
    assert "ftp://gpu02" in adapter.problem and "http:// or https://" in adapter.problem


@pytest.fixture
def redis_url(tmp_path):
    import datastores

    if not datastores.have_redis():
        pytest.skip("redis-server is not installed here (make services)")
    with datastores.redis(tmp_path / "redis") as server:
        yield server.url


def test_workers_sharing_the_pool_claim_servers_on_redis(boxes, make_session, redis_url):
    """Two workers (two pools, as two processes have, sharing nothing but Redis and the servers) never put
    two prompts on one box."""
    a, b = boxes(class_seconds={"KSampler": 0.3}), boxes(class_seconds={"KSampler": 0.3})
    workers = [pool(a, b), pool(a, b)]
    for adapter in workers:
        adapter.share_claims(redis_url)
    jobs = [(workers[i % 2], make_session(workers[i % 2])[0]) for i in range(6)]
    watch = QueueWatch(a, b)
    errors = at_once(6, lambda i: jobs[i][0].generate(request(i), jobs[i][1]))
    assert not errors
    assert watch.stop() == [1, 1]
    assert len(a.fake.executed) + len(b.fake.executed) == 6
    import redis

    assert redis.Redis.from_url(redis_url).keys("shotbridge:comfyui:claim:*") == []  # all released


def test_a_job_waiting_for_a_server_is_canceled_without_sending_anything(boxes, make_session):
    from shotbridge_backend.operations.base import Canceled

    box = boxes(class_seconds={"KSampler": 2.0})
    other = boxes(missing=("KSampler",))  # a second server that cannot run it: the pool has one usable box
    adapter = pool(box, other)
    first = threading.Thread(target=lambda: adapter.generate(request(1), make_session(adapter)[0]))
    first.start()
    while not box.fake.running:
        time.sleep(0.01)
    cancel = threading.Event()
    session, _ = make_session(adapter, canceled=cancel.is_set)
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(Canceled):
        adapter.generate(request(2), session)
    assert box.fake.running  # it stopped waiting at the cancel, not when the box became free
    assert any(m.startswith("waiting for a free server of gpu (1 busy") for _, m in session.events)
    first.join(10)
    assert len([p for p in box.fake.paths("POST") if p == "/prompt"]) == 1


def test_a_pool_where_no_server_has_the_qwen_node_runs_flux_kontext(boxes, make_session, tmp_path):
    import numpy as np
    from PIL import Image

    from shotbridge.models import DataKind
    from shotbridge_backend.providers.base import REFERENCE, InputImage

    a, b = boxes(missing=("TextEncodeQwenImageEditPlus",)), boxes(missing=("TextEncodeQwenImageEditPlus",))
    adapter = pool(a, b)
    ref = tmp_path / "ref.png"
    Image.fromarray(np.full((40, 40, 3), (200, 30, 30), np.uint8)).save(ref)
    with_refs = GenerationRequest(Task.text_to_image, prompt="the hero", width=64, height=48, seed=1,
                                  inputs=[InputImage(REFERENCE, ref, DataKind.reference)])
    out = adapter.generate(with_refs, make_session(adapter)[0])
    assert out.reproduce["template"] == "text_to_image_flux_kontext"
    assert "TextEncodeQwenImageEditPlus" in adapter.template_problems["text_to_image_qwen_edit"]
    c = boxes()  # a server that has it: Qwen-Image-Edit runs there
    mixed = pool(a, c)
    out = mixed.generate(with_refs, make_session(mixed)[0])
    assert out.reproduce["template"] == "text_to_image_qwen_edit" and out.reproduce["server"] == c.url

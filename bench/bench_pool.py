"""A batch of text_to_image jobs on one ComfyUI double and on a pool of two (run by hand:
`PYTHONPATH=core:backend .venv/bin/python bench/bench_pool.py`).

Each double runs in a process of its own and spends a fixed time per prompt (its KSampler node sleeps PROMPT_SECONDS). CLIENTS threads play
the backend's job threads: each takes the next job and runs it through the comfyui adapter with a session of
its own (upload, WebSocket, /prompt, /history, /view, as in production). The baseline is one server
(`url = ...`, prompts wait in its queue); then the same batch on `urls = [a, b]`. Prints both wall times and
the ratio; the target is a ratio of at most 0.6.

Measured 2026-12-04 on the shared 2-core dev box (load average 6-7): 0.25 s per prompt, 52.5 s vs 30.1 s, ratio
0.57; 0.1 s per prompt, 21.6 s vs 14.9 s, ratio 0.69. The pool spends ~50 ms per job here between one prompt
ending and the next starting on that server (a look at both servers' /queue, the claim, the job's WebSocket,
POST /prompt); one server with a queue of its own has no such gap, so the shorter the prompt the more it shows.
Real GPU prompts take seconds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "providers"))
from live import LiveServer, free_port  # noqa: E402 - the tests' HTTP server in a thread
from servers.comfyui import FakeComfyUI  # noqa: E402 - the tests' ComfyUI double

from shotbridge_backend.providers.base import GenerationRequest, Task  # noqa: E402
from shotbridge_backend.providers.comfyui import ComfyUIProvider  # noqa: E402
from shotbridge_backend.providers.session import ProviderSession  # noqa: E402

CLIENTS = 8


class Recorder:
    """The egress audit, discarded (the benchmark measures scheduling, not the audit)."""

    def begin(self, **_kw) -> str:
        return ""

    def finish(self, record_id: str, status: int | None, outcome: str) -> None:
        pass


def batch(adapter: ComfyUIProvider, jobs: int, work: Path, seeds: int) -> float:
    """Wall time of `jobs` jobs; seeds from `seeds` up (the doubles cache like ComfyUI: a graph run before
    would cost nothing)."""
    left = list(range(jobs))
    lock = threading.Lock()
    errors: list[Exception] = []

    def client(k: int) -> None:
        while True:
            with lock:
                if not left or errors:
                    return
                i = left.pop()
            folder = work / f"{k}-{i}"
            folder.mkdir()
            session = ProviderSession(adapter, gate=lambda kinds: None, recorder=Recorder(),
                                      progress=lambda f, m: None, canceled=lambda: False, work_dir=folder,
                                      **adapter.session_options())
            try:
                adapter.generate(GenerationRequest(Task.text_to_image, prompt="bench", width=64, height=48,
                                                   seed=seeds + i), session)
            except Exception as exc:  # stop the batch and report it
                errors.append(exc)
            finally:
                session.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"a job failed: {errors[0]}")
    return time.perf_counter() - start


def serve(port: int, prompt_seconds: float) -> None:
    """One double in a process of its own, as a GPU server is a machine of its own (no shared GIL)."""
    fake = FakeComfyUI(class_seconds={"KSampler": prompt_seconds})
    LiveServer(fake.app, port).__enter__()
    threading.Event().wait()


def start(prompt_seconds: float) -> tuple[multiprocessing.Process, str]:
    port = free_port()
    proc = multiprocessing.get_context("spawn").Process(target=serve, args=(port, prompt_seconds), daemon=True)
    proc.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/queue", timeout=1).raise_for_status()
            return proc, url
        except requests.exceptions.RequestException:
            if time.monotonic() > deadline or not proc.is_alive():
                raise SystemExit(f"the ComfyUI double on port {port} did not start") from None
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--prompt-seconds", type=float, default=0.25, help="fixed GPU time per prompt")
    args = parser.parse_args()
    servers = [start(args.prompt_seconds) for _ in range(2)]
    urls = [url for _, url in servers]
    config = {"timeout": 30}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "one").mkdir()
            (work / "two").mkdir()
            one = batch(ComfyUIProvider("gpu", {"url": urls[0], **config}), args.jobs, work / "one", 0)
            two = batch(ComfyUIProvider("gpu", {"urls": urls, **config}), args.jobs, work / "two", args.jobs)
            split = [len(requests.get(f"{url}/history", timeout=10).json()) for url in urls]
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.join(10)
    split[0] -= args.jobs  # the baseline's prompts
    print(f"{args.jobs} jobs, {args.prompt_seconds:g} s per prompt, {CLIENTS} job threads")
    print(f"1 server : {one:7.2f} s  ({args.jobs / one:5.1f} jobs/s)")
    print(f"2 servers: {two:7.2f} s  ({args.jobs / two:5.1f} jobs/s); prompts per server {split}")
    print(f"ratio 2/1: {two / one:.2f} (target <= 0.60)")


if __name__ == "__main__":
    main()

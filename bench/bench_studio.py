"""Trivial jobs through the embedded backend and through studio mode (run by hand, needs PostgreSQL and Redis:
`make services`; `.venv/bin/python bench/bench_studio.py`).

In one run: the embedded backend (SQLite, its own 2 threads) as the baseline, then studio mode (API on
PostgreSQL, Celery on Redis) with 1 and with 2 workers of 2 threads each. 8 client threads each submit an `echo`
job and wait for it (SSE) until JOBS jobs are done. Prints p50/p99 submit-to-done, jobs per second, and each
figure's ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import datastores  # noqa: E402 - the tests' PostgreSQL and Redis starters

from shotbridge.client import Client  # noqa: E402
from shotbridge_backend.demo import EmbeddedBackend  # noqa: E402

CLIENTS = 8


def drive(url: str, token: str, jobs: int) -> tuple[list[float], float]:
    admin = Client(url, token)
    project = admin.create_project(f"bench-{os.urandom(3).hex()}")
    latencies: list[float] = []
    lock = threading.Lock()
    left = [jobs]

    def client() -> None:
        with Client(url, token) as c:
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                start = time.perf_counter()
                job = c.submit(project.id, "echo", {"message": "x"})
                assert c.wait(job.id).status.value == "succeeded"
                with lock:
                    latencies.append(time.perf_counter() - start)

    for _ in range(10):  # warm-up: connections, imports, first claims
        admin.run(project.id, "echo", {"message": "warm"})
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start


def run(name: str, root: Path, env: dict[str, str], workers: int, jobs: int) -> dict:
    backend = EmbeddedBackend(root, env=env)
    backend.start()
    started = [datastores.start_worker(root / f"worker{i}", dict(backend.env)) for i in range(workers)]
    try:
        token = (root / "config" / "token").read_text().strip()
        latencies, elapsed = drive(backend.url, token, jobs)
    finally:
        for w in started:
            w.stop()
        backend.stop()
    q = statistics.quantiles(latencies, n=100)
    return {"name": name, "p50": q[49] * 1000, "p99": q[98] * 1000, "rate": len(latencies) / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-studio-"))
    results = [run("embedded (SQLite, 2 threads)", tmp / "embedded", {}, 0, args.jobs)]
    with datastores.postgres() as pg, datastores.redis(tmp / "redis") as redis:
        for workers in (1, 2):
            root = tmp / f"studio{workers}"
            env = {"SHOTBRIDGE_DATABASE_URL": pg.database(f"bench{workers}"), "SHOTBRIDGE_BROKER_URL": redis.url,
                   "SHOTBRIDGE_QUEUE": f"bench{workers}", "SHOTBRIDGE_ASSET_DIR": str(root / "data" / "assets")}
            results.append(run(f"studio, {workers} worker(s) x 2 threads", root, env, workers, args.jobs))
    base = results[0]
    print(f"{args.jobs} echo jobs, {CLIENTS} concurrent clients (submit, then wait on SSE)")
    print(f"{'mode':34} {'p50 ms':>8} {'p99 ms':>8} {'jobs/s':>8}   ratio to embedded (p50, p99, jobs/s)")
    for r in results:
        print(f"{r['name']:34} {r['p50']:8.1f} {r['p99']:8.1f} {r['rate']:8.1f}   "
              f"{r['p50'] / base['p50']:.2f}x {r['p99'] / base['p99']:.2f}x {r['rate'] / base['rate']:.2f}x")


if __name__ == "__main__":
    main()

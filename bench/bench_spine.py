"""Spine benchmark (run by hand): job overhead, transfer speed, client memory.

    .venv/bin/python bench/bench_spine.py [--jobs 200] [--mib 512]

Each figure is printed with a ratio against a baseline measured in the same run on the same machine:
- per-job overhead (submit -> done, trivial `echo`) vs one bare GET /v1/health round trip;
- upload/download of a file vs a plain byte copy of the same file over a loopback TCP socket (a first upload, with
  the client's hash cache empty, and one whose hash the client knows), with the CPU each transfer uses and the best
  ratio that much work, or the least any verified transfer must do, allows on this machine's cores;
- the client's peak memory during the upload, above its resident size before it.
Targets: p50 <= 10 ms, p99 <= 50 ms; transfer >= 0.7 of the baseline; client memory < 100 MiB.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from shotbridge.client import Client  # noqa: E402
from shotbridge_backend.demo import EmbeddedBackend  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_jobs(client: Client, project: str, n: int) -> None:
    for _ in range(10):  # warm up connections and code paths
        client.run(project, "echo", {})
        client.health()
    base = []
    for _ in range(n):
        t = time.perf_counter()
        client.health()
        base.append(time.perf_counter() - t)
    lat = []
    for i in range(n):
        t = time.perf_counter()
        job = client.submit(project, "echo", {"message": str(i)})
        job = client.wait(job.id)
        lat.append(time.perf_counter() - t)
        assert job.status.value == "succeeded"
    p50, p99 = pct(lat, 50) * 1e3, pct(lat, 99) * 1e3
    b50 = pct(base, 50) * 1e3
    print(f"job overhead over {n} jobs: p50 {p50:.2f} ms, p99 {p99:.2f} ms (targets 10 / 50 ms)")
    print(f"  baseline GET /v1/health p50 {b50:.2f} ms -> a job costs {p50 / b50:.1f}x one bare round trip")


def raw_copy_seconds(path: Path, dest: Path) -> float:
    """Baseline: the same bytes through a loopback TCP socket into a file, no HTTP, no hashing."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def receive() -> None:
        conn, _ = srv.accept()
        with conn, open(dest, "wb") as fh:
            while chunk := conn.recv(1 << 20):
                fh.write(chunk)

    t = threading.Thread(target=receive)
    t.start()
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s, open(path, "rb") as fh:
        s.sendfile(fh)
    t.join()
    srv.close()
    return time.perf_counter() - start


UPLOADER = """
import resource, sys, time
from shotbridge.client import Client
c = Client(sys.argv[1], sys.argv[2], cache_dir=sys.argv[5])
c.health()
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) * 1024
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
start = rss()
c0, t = cpu(), time.perf_counter()
c.upload(sys.argv[3], sys.argv[4])
elapsed, used = time.perf_counter() - t, cpu() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(elapsed, start, peak, used)
"""


def cpu_self() -> float:
    """CPU seconds this process has used, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_of(pid: int) -> float:
    """CPU seconds process `pid` has used, all threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_transfer(backend: EmbeddedBackend, client: Client, mib: int, work: Path, trials: int) -> None:
    """Interleaved trials (baseline, upload, download), best of each: first-touch page faults on a fresh
    VM make any single 512 MiB write noisy by a factor of several."""
    src = work / "big.bin"
    with open(src, "wb") as fh:
        block = os.urandom(1 << 20)
        for i in range(mib):
            fh.write(block[:-8] + i.to_bytes(8, "little"))
    hour_ago = time.time() - 3600
    os.utime(src, (hour_ago, hour_ago))  # a plate, not a file still being written (the hash cache waits 2 s)
    from shotbridge.hashing import sha256_file

    hashes = []
    for _ in range(trials):
        t = time.perf_counter()
        sha = sha256_file(src)
        hashes.append(time.perf_counter() - t)
    base, ups, known, downs, mems = [], [], [], [], []
    cpus: dict[str, list[float]] = {"copy": [], "upload": [], "download": []}  # client + server CPU seconds
    server = backend.proc.pid
    for trial in range(trials):
        copy = work / "copy.bin"
        c0 = cpu_self()
        base.append(raw_copy_seconds(src, copy))
        cpus["copy"].append(cpu_self() - c0)  # both ends run in this process
        copy.unlink()
        project = client.create_project(f"transfer-{trial}").id  # a new project: the bytes go over the wire
        s0 = cpu_of(server)
        uploader = [sys.executable, "-c", UPLOADER, backend.url, client.token, project, str(src),
                    str(work / f"upload-cache-{trial}")]  # a cache of its own: the client has never hashed the file
        done = subprocess.run(uploader, capture_output=True, text=True, check=True)
        up, start_rss, peak_rss, up_cpu = (float(x) for x in done.stdout.split())
        cpus["upload"].append(up_cpu + cpu_of(server) - s0)
        ups.append(up)
        mems.append(peak_rss - start_rss)
        uploader[5] = client.create_project(f"again-{trial}").id  # same client cache: the hash is known
        done = subprocess.run(uploader, capture_output=True, text=True, check=True)
        known.append(float(done.stdout.split()[0]))
        client.cache_dir = work / f"cache-{trial}"
        c0, s0, t = cpu_self(), cpu_of(server), time.perf_counter()
        cached = client.download(project, sha)
        downs.append(time.perf_counter() - t)
        cpus["download"].append(cpu_self() - c0 + cpu_of(server) - s0)
        cached.unlink()
    b, u, k, d = min(base), min(ups), min(known), min(downs)
    print(f"plain loopback copy of {mib} MiB (socket.sendfile -> file): best {b:.2f} s ({mib / b:.0f} MiB/s) "
          f"of {', '.join(f'{x:.2f}' for x in base)}")
    print(f"upload {mib} MiB (hash, ask, stream, server verifies): best {u:.2f} s ({mib / u:.0f} MiB/s) of "
          f"{', '.join(f'{x:.2f}' for x in ups)} -> ratio {b / u:.2f} of the plain copy (target >= 0.7)")
    print(f"upload of the same file to another project (the client has its hash; the bytes go again): best "
          f"{k:.2f} s of {', '.join(f'{x:.2f}' for x in known)} -> ratio {b / k:.2f}")
    print(f"download {mib} MiB into the cache (hash verified): best {d:.2f} s ({mib / d:.0f} MiB/s) of "
          f"{', '.join(f'{x:.2f}' for x in downs)} -> ratio {b / d:.2f} (target >= 0.7)")
    hashed = min(hashes)
    print(f"  for scale: one sha256 pass over the file alone takes {hashed:.2f} s ({b / hashed:.2f} of the plain "
          "copy); the upload hashes it twice (the client before asking, the server while storing), the download once")
    cores = len(os.sched_getaffinity(0))
    need = {name: min(v) for name, v in cpus.items()}
    print(f"CPU time, client + server, least of the trials: plain copy {need['copy']:.2f} s, upload "
          f"{need['upload']:.2f} s, download {need['download']:.2f} s. On {cores} cores the least wall time "
          f"that much work allows gives at best a ratio of {b / (need['upload'] / cores):.2f} for the upload and "
          f"{b / (need['download'] / cores):.2f} for the download")
    floor_up, floor_down = 2 * hashed + need["copy"], hashed + need["copy"]
    print(f"  the least work any upload can do is two sha256 passes (the client's, to ask; the server's, to verify) "
          f"plus the copy: {floor_up:.2f} CPU s, so on {cores} cores a ratio of {b / (floor_up / cores):.2f} at "
          f"best; a download, one pass plus the copy: {floor_down:.2f} CPU s, {b / (floor_down / cores):.2f} at best")
    print(f"client memory during the upload: +{max(mems) / 2**20:.0f} MiB above its start at most "
          "(target < 100 MiB)")
    calls = []
    real = client.session.request
    client.session.request = lambda *a, **k: calls.append(a[0]) or real(*a, **k)
    client.upload(project, src)
    client.session.request = real
    print(f"repeat upload of the same file: {len(calls)} request(s) ({', '.join(calls)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--trials", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        work = Path(tmp)
        backend = EmbeddedBackend(work / "backend")
        client = backend.start()
        client.cache_dir = work / "client-cache"
        try:
            bench_jobs(client, client.create_project("bench").id, args.jobs)
            bench_transfer(backend, client, args.mib, work, args.trials)
        finally:
            backend.stop()


if __name__ == "__main__":
    main()


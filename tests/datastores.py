"""Real PostgreSQL and Redis servers on loopback ports, and ShotBridge processes using them, started by the
tests themselves (no mocks).

The binaries come from Debian's packages (`make services` installs them when missing). PostgreSQL refuses to run
as root, so a cluster started by root runs as the `postgres` system user the package creates.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> str | None:
    found = sorted(PG_BIN.glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return str(found[-1]) if found else shutil.which(name)


def have_postgres() -> bool:
    return pg_bin("initdb") is not None and pg_bin("pg_ctl") is not None


def have_redis() -> bool:
    return shutil.which("redis-server") is not None


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Postgres:
    """A throwaway cluster: `url` is a SQLAlchemy URL (psycopg 3) for database `shotbridge`."""

    def __init__(self):
        # Its own folder under the system temp dir: the postgres user cannot enter a root-only pytest tmp_path.
        self.root, self.port = Path(tempfile.mkdtemp(prefix="shotbridge-pg-")), free_port()
        self.data = self.root / "pgdata"
        self.url = f"postgresql+psycopg://shotbridge@127.0.0.1:{self.port}/shotbridge"

    def start(self) -> Postgres:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        if not self.data.exists():
            subprocess.run(_as_postgres([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                                         "--no-sync", "-E", "UTF8"]), check=True, capture_output=True)
        self._ctl("start", "-w", "-t", "60", "-l", str(self.root / "postgres.log"), "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off")
        psql = pg_bin("psql")
        for sql in ("CREATE ROLE shotbridge LOGIN", "CREATE DATABASE shotbridge OWNER shotbridge"):
            subprocess.run([psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c", sql],
                           capture_output=True)  # already there after a restart: fine
        return self

    def database(self, name: str) -> str:
        """A new, empty database on this cluster; its URL."""
        subprocess.run([pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c",
                        f'CREATE DATABASE "{name}" OWNER shotbridge'], check=True, capture_output=True)
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("stop", "-w", "-m", mode)

    def _ctl(self, *args: str) -> None:
        done = subprocess.run(_as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), *args]), capture_output=True,
                              text=True)
        if done.returncode != 0:
            log = (self.root / "postgres.log").read_text()[-2000:] if (self.root / "postgres.log").exists() else ""
            raise RuntimeError(f"pg_ctl {args[0]} failed: {done.stderr or done.stdout}\n{log}")


class Redis:
    def __init__(self, root: Path):
        self.root, self.port = root, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Redis:
        self.root.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root)], stdout=open(self.root / "redis.log", "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}; see {self.root / 'redis.log'}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class ShotbridgeProcess:
    """`python -m shotbridge.cli ARGS` (serve, worker) with its own log."""

    def __init__(self, root: Path, args: list[str], env: dict[str, str]):
        root.mkdir(parents=True, exist_ok=True)
        self.root, self.args, self.env = root, args, env
        self.log = root / "process.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ShotbridgeProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", "shotbridge.cli", *self.args], env=self.env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        return self

    def wait_for(self, ready, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not ready in {timeout:.0f} s: {self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(root: Path, env: dict[str, str], concurrency: int = 2) -> ShotbridgeProcess:
    """`shotbridge worker` (studio mode) with its own work folder; returns once Celery says it is ready."""
    proc = ShotbridgeProcess(root, ["worker", "--concurrency", str(concurrency), "--data-dir", str(root / "data"),
                                    "--log-level", "info"], env).start()
    proc.wait_for(lambda: " ready." in proc.log.read_text(), f"worker in {root}")
    return proc


@contextmanager
def postgres():
    server = Postgres().start()
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(server.root, ignore_errors=True)


@contextmanager
def redis(root: Path):
    server = Redis(root).start()
    try:
        yield server
    finally:
        server.stop()

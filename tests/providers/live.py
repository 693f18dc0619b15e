"""Test servers on 127.0.0.1: an ASGI app served by a real uvicorn in a thread, on a free port."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`with LiveServer(app) as server: requests.get(server.url + "/path")`."""

    def __init__(self, app, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                     lifespan="off", ws="websockets-sansio"))
        self._thread = threading.Thread(target=self._server.run, name=f"test-server-{self.port}", daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"test server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(10)


@contextmanager
def backend_on_comfyui(root: Path, **fake_options):
    """A real backend whose only generative provider `gpu` is a ComfyUI double on loopback (made with
    `fake_options`, e.g. missing node classes): (backend, client, the double). Everything is stopped on exit."""
    from servers.comfyui import FakeComfyUI

    from shotbridge_backend.demo import EmbeddedBackend

    fake = FakeComfyUI(**fake_options)
    live = LiveServer(fake.app).__enter__()
    (root / "providers.toml").write_text(f'[providers.gpu]\ntype = "comfyui"\nurl = "{live.url}"\n'
                                         'backoff = 0.01\npoll_interval = 0.05\n')
    backend = EmbeddedBackend(root / "backend", env={"SHOTBRIDGE_PROVIDERS": str(root / "providers.toml")})
    client = backend.start()
    try:
        yield backend, client, fake
    finally:
        client.close()
        backend.stop()
        fake.close()
        live.__exit__(None, None, None)

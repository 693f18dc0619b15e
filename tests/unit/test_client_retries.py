"""Client transport against a tiny real HTTP server that misbehaves on purpose."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shotbridge.client import Client
from shotbridge.errors import ApiError, BackendUnreachable, ValidationFailed


class Script:
    """Responses to hand out in order: (status, headers, body)."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.seen: list[tuple[str, str, float, dict]] = []


@pytest.fixture
def fake():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            script.seen.append((self.command, self.path, time.monotonic(), dict(self.headers)))
            status, headers, body = script.responses.pop(0) if script.responses else (500, {}, {})
            data = json.dumps(body).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield script
    server.shutdown()


HEALTH = {"status": "ok", "version": "t", "operations": 1, "providers": 1}


def test_503_is_retried_honouring_retry_after(fake):
    fake.responses = [(503, {"Retry-After": "0.4"}, {"title": "busy", "status": 503}), (200, {}, HEALTH)]
    with Client(fake.url, "t", backoff=0.01) as client:
        assert client.health().status == "ok"
    assert len(fake.seen) == 2
    assert fake.seen[1][2] - fake.seen[0][2] >= 0.35, "waited as Retry-After said"


def test_429_is_retried_even_for_post(fake):
    job = {"id": "j", "project_id": "p", "operation": "echo", "params": {}, "provider": "local",
           "status": "queued", "created_at": "2026-01-01T00:00:00Z"}
    fake.responses = [(429, {"Retry-After": "0"}, {"title": "slow down", "status": 429}), (201, {}, job)]
    with Client(fake.url, "t", backoff=0.01) as client:
        assert client.submit("p", "echo").id == "j"
    keys = {seen[3]["Idempotency-Key"] for seen in fake.seen}
    assert len(keys) == 1, "a retried submit reuses its idempotency key"


def test_gives_up_after_retries_with_the_problem(fake):
    fake.responses = [(503, {"Retry-After": "0"}, {"title": "Overloaded", "status": 503, "detail": "later"})] * 3
    with Client(fake.url, "t", retries=2, backoff=0.01) as client:
        with pytest.raises(ApiError, match="Overloaded: later") as exc:
            client.health()
    assert exc.value.status == 503 and len(fake.seen) == 3


def test_problem_fields_reach_the_exception(fake):
    problem = {"title": "Invalid parameters", "status": 422,
               "errors": [{"field": "params.threshold", "message": "must be >= 1"}]}
    fake.responses = [(422, {"Content-Type": "application/problem+json"}, problem)]
    with Client(fake.url, "t") as client, pytest.raises(ValidationFailed) as exc:
        client.health()
    assert "params.threshold: must be >= 1" in str(exc.value)


def test_every_call_has_a_timeout(monkeypatch):
    client = Client("http://127.0.0.1:1", "t", retries=0)
    captured = {}

    def record(method, url, **kw):
        captured.update(kw)
        raise __import__("requests").ConnectionError("refused")

    monkeypatch.setattr(client.session, "request", record)
    with pytest.raises(BackendUnreachable):
        client.health()
    assert captured["timeout"] == (5.0, 30.0)

"""The line every provider adapter sends through: policy gate, audit, retries, timeouts, cancel."""

from __future__ import annotations

import asyncio
import io
import threading
import time

import numpy as np
import pytest
from fastapi import FastAPI, Request, Response
from live import LiveServer
from PIL import Image

from shotbridge.models import DataKind, PolicyDecision
from shotbridge_backend.operations.base import Canceled
from shotbridge_backend.providers import (
    InputImage,
    PolicyRefused,
    ProviderAdapter,
    ProviderError,
    ProviderFacts,
    ProviderTimeout,
    ProviderUnavailable,
)
from shotbridge_backend.providers.base import Task


class Dummy(ProviderAdapter):
    type = "dummy"
    kind = "cloud"
    facts = ProviderFacts(trains_on_inputs=False, retention_days=0, data_location="test")
    tasks = frozenset({Task.text_to_image})


class Script:
    """What the test server answers: a queue of (status, headers, delay) per request, then 200."""

    def __init__(self):
        self.plan: list[tuple[int, dict, float]] = []
        self.seen: list[dict] = []
        self.disconnected = threading.Event()


def app_for(script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/work")
    async def work(request: Request):
        body = await request.body()
        script.seen.append({"headers": dict(request.headers), "body": body})
        status, headers, delay = script.plan.pop(0) if script.plan else (200, {}, 0.0)
        end = time.monotonic() + delay
        while time.monotonic() < end:
            if await request.is_disconnected():
                script.disconnected.set()
                return Response(status_code=499)
            await asyncio.sleep(0.02)
        return Response(content=b'{"ok": true}' if status < 400 else b'{"error": "busy"}', status_code=status,
                         headers=headers, media_type="application/json")

    return app


@pytest.fixture
def server():
    script = Script()
    with LiveServer(app_for(script)) as live:
        live.script = script
        yield live


def adapter(**config) -> Dummy:
    return Dummy("dummy", {"backoff": 0.01, "timeout": 2.0, **config})


def test_throttling_and_server_errors_are_retried_honouring_retry_after(server, make_session):
    server.script.plan = [(429, {"Retry-After": "0.3"}, 0), (503, {}, 0), (200, {}, 0)]
    session, recorder = make_session(adapter())
    start = time.monotonic()
    response = session.post(server.url + "/work", json={"prompt": "x"}, kinds={DataKind.prompt})
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert time.monotonic() - start >= 0.3  # waited as the provider asked
    assert len(server.script.seen) == 3
    assert [(r["status"], r["outcome"]) for r in recorder.records] == [(429, "error"), (503, "error"), (200, "ok")]
    assert all(r["data"] == [DataKind.prompt] and r["bytes_sent"] == len(b'{"prompt": "x"}')
               for r in recorder.records)


def test_attempts_stop_at_max_attempts_and_the_last_answer_is_returned(server, make_session):
    server.script.plan = [(500, {}, 0)] * 5
    session, recorder = make_session(adapter(max_attempts=3))
    assert session.post(server.url + "/work").status_code == 500
    assert len(server.script.seen) == 3 == len(recorder.records)


def test_a_provider_asking_to_wait_too_long_fails_the_job_with_a_reason(server, make_session):
    server.script.plan = [(429, {"Retry-After": "3600"}, 0)]
    session, _ = make_session(adapter())
    with pytest.raises(ProviderError, match="asks to wait 3600 s"):
        session.post(server.url + "/work")


def test_retry_after_ms_is_honoured_and_an_adapter_can_refuse_a_retry(server, make_session):
    server.script.plan = [(429, {"retry-after-ms": "250"}, 0), (200, {}, 0)]
    session, _ = make_session(adapter())
    start = time.monotonic()
    assert session.post(server.url + "/work").status_code == 200
    assert time.monotonic() - start >= 0.25
    server.script.plan = [(429, {}, 0), (200, {}, 0)]
    seen = len(server.script.seen)
    assert session.post(server.url + "/work", retryable=lambda r: False).status_code == 429
    assert len(server.script.seen) == seen + 1  # "out of quota" is not asked again


def test_the_audit_keeps_no_credentials_from_urls(server, make_session):
    session, recorder = make_session(adapter())
    port = server.url.rsplit(":", 1)[1]
    session.post(f"http://user:pw@127.0.0.1:{port}/work?filename=a.png&X-Amz-Signature=abc123&sig=zz&type=output")
    url = recorder.records[-1]["url"]
    assert url == f"http://127.0.0.1:{port}/work?filename=a.png&X-Amz-Signature=REDACTED&sig=REDACTED&type=output"


def test_a_hung_provider_times_out_with_a_clear_error(server, make_session):
    server.script.plan = [(200, {}, 5.0)]
    session, recorder = make_session(adapter(timeout=0.5))
    start = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"dummy did not answer POST /work within 0.5 s"):
        session.post(server.url + "/work")
    assert time.monotonic() - start < 3
    assert recorder.records[-1]["outcome"] == "timeout"
    assert len(server.script.seen) == 1  # a timeout is not retried: the provider may still be working


def test_cancel_closes_the_connection_mid_request(server, make_session):
    server.script.plan = [(200, {}, 10.0)]
    flag = threading.Event()
    session, recorder = make_session(adapter(timeout=30), canceled=flag.is_set)
    threading.Timer(0.3, flag.set).start()
    start = time.monotonic()
    with pytest.raises(Canceled):
        session.post(server.url + "/work")
    assert time.monotonic() - start < 2
    assert server.script.disconnected.wait(3), "the provider saw the client go away"
    assert recorder.records[-1]["outcome"] == "canceled"


def test_an_unreachable_provider_names_its_url(make_session):
    session, recorder = make_session(adapter(max_attempts=2))
    with pytest.raises(ProviderUnavailable, match=r"dummy at http://127.0.0.1:9 cannot be reached"):
        session.post("http://127.0.0.1:9/work")
    assert len(recorder.records) == 2


def test_a_refused_request_never_leaves(server, make_session):
    def gate(kinds):
        if DataKind.plate in kinds:
            raise PolicyRefused(PolicyDecision(provider="dummy", allowed=False, rule="no-grant", detail="no"))

    session, recorder = make_session(adapter(), gate=gate)
    frame = session.outgoing(InputImage("image", _png(session.work_dir / "plate.png"), DataKind.plate))
    with pytest.raises(PolicyRefused):
        session.post(server.url + "/work", files={"image": (frame.filename, frame.data)}, sent=[frame])
    assert server.script.seen == [] and recorder.records == []
    assert session.post(server.url + "/work", json={"prompt": "fine"}, kinds={DataKind.prompt}).status_code == 200


def test_outgoing_inputs_are_cleaned_renamed_and_audited(server, make_session, tmp_path):
    path = tmp_path / "SECRET_sh010_plate_v003.jpg"
    exif = Image.Exif()
    exif[0x013B] = "Jane Director"
    Image.fromarray(np.full((16, 16, 3), 120, np.uint8)).save(path, "JPEG", exif=exif)
    session, recorder = make_session(adapter())
    out = session.outgoing(InputImage("image", path, DataKind.plate, source_sha256="ab" * 32))
    assert "SECRET" not in out.filename and out.filename.startswith("image_") and out.filename.endswith(".jpg")
    assert b"Jane Director" not in out.data and out.asset.stripped == ["EXIF"]
    session.post(server.url + "/work", files={"image": (out.filename, out.data, out.media_type)}, sent=[out])
    (record,) = recorder.records
    (asset,) = record["assets"]
    assert (asset.sha256, asset.size, asset.source_sha256) == (out.asset.sha256, len(out.data), "ab" * 32)
    body = server.script.seen[0]["body"]
    assert b"SECRET" not in body and b"Jane Director" not in body and out.data in body


def test_sleep_wakes_on_cancel(make_session):
    flag = threading.Event()
    session, _ = make_session(adapter(), canceled=flag.is_set)
    threading.Timer(0.1, flag.set).start()
    start = time.monotonic()
    with pytest.raises(Canceled):
        session.sleep(10)
    assert time.monotonic() - start < 1


def _png(path):
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path

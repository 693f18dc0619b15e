"""Provider adapters against local test servers that speak each provider's protocol."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shotbridge.models import DataKind, EgressAsset
from shotbridge_backend.providers.session import ProviderSession


@dataclass
class MemoryRecorder:
    """The egress audit, in memory: what a provider adapter sent, request by request."""

    records: list[dict] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)

    def begin(self, *, provider: str, method: str, url: str, bytes_sent: int, data: list[DataKind],
              assets: list[EgressAsset]) -> str:
        rid = str(next(self._ids))
        self.records.append({"id": rid, "provider": provider, "method": method, "url": url,
                             "bytes_sent": bytes_sent, "data": list(data), "assets": list(assets),
                             "status": None, "outcome": "sent"})
        return rid

    def finish(self, record_id: str, status: int | None, outcome: str) -> None:
        record = next(r for r in self.records if r["id"] == record_id)
        record["status"], record["outcome"] = status, outcome


@pytest.fixture
def make_session(tmp_path: Path):
    """make_session(adapter, canceled=..., gate=...) -> (ProviderSession, MemoryRecorder)."""
    sessions = []

    def make(adapter, *, canceled=lambda: False, gate=lambda kinds: None, progress=None):
        recorder = MemoryRecorder()
        events: list[tuple[float, str]] = []
        work = tmp_path / f"work-{len(sessions)}"
        work.mkdir()
        session = ProviderSession(adapter, gate=gate, recorder=recorder,
                                  progress=progress or (lambda f, m: events.append((f, m))), canceled=canceled,
                                  work_dir=work, **adapter.session_options())
        session.events = events
        sessions.append(session)
        return session, recorder

    yield make
    for s in sessions:
        s.close()


@pytest.fixture
def comfy():
    """comfy(**kwargs) -> a ComfyUI test double serving on 127.0.0.1 (its `url` set), stopped after the test."""
    from live import LiveServer
    from servers.comfyui import FakeComfyUI

    started = []

    def start(**kwargs) -> FakeComfyUI:
        fake = FakeComfyUI(**kwargs)
        live = LiveServer(fake.app).__enter__()
        fake.url = live.url
        started.append((fake, live))
        return fake

    yield start
    for fake, live in started:
        fake.close()
        live.__exit__(None, None, None)

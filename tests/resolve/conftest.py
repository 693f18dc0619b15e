"""Resolve cannot run here: the adapter is tested against tests/resolve/fake, whose API is checked against the
published stubs (test_resolve_api_surface.py). The thread running a test is the panel's thread."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parents[1] / "plugins" / "resolve"
for path in (PLUGIN, HERE / "fake"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture
def fake():
    import fake_resolve

    fake_resolve.set_owner(threading.current_thread())
    fake_resolve.MEDIA.clear()
    yield fake_resolve
    fake_resolve.set_owner(threading.main_thread())
    fake_resolve.MEDIA.clear()


class Edit:
    """A small cut in the fake Resolve: two plates and a sequence on V1, a plate on V2, files on disk."""

    def __init__(self, fake, tmp_path: Path, version: tuple = (19, 1, 4, 11, "")):
        self.fake = fake
        self.resolve = fake.new_resolve(version)
        self.project = self.resolve.GetProjectManager().GetCurrentProject()
        self.pool = self.project.GetMediaPool()
        self.timeline = self.project.GetCurrentTimeline()
        media = tmp_path / "plates"
        media.mkdir(exist_ok=True)
        self.paths = {}
        for name, frames in (("A001_C002.mov", 500), ("A002_C001.mov", 300), ("B001_C004.mov", 400)):
            path = media / name
            path.write_bytes(b"\0")
            self.paths[name] = str(fake.register_media(str(path), frames))
        seq = media / "sh030"
        seq.mkdir(exist_ok=True)
        for frame in range(1001, 1101):
            (seq / f"sh030_plate.{frame}.exr").write_bytes(b"\0")
        a, b, c = self.pool.ImportMedia([self.paths["A001_C002.mov"], self.paths["A002_C001.mov"],
                                         self.paths["B001_C004.mov"]])
        (s,) = self.pool.ImportMedia([{"FilePath": str(seq / "sh030_plate.%04d.exr"), "StartIndex": 1001,
                                       "EndIndex": 1100}])
        self.mpis = {"a": a, "b": b, "c": c, "seq": s}
        t = self.timeline
        self.sh010 = t._add(a, 86400, 48, left=100)  # 01:00:00:00, frames 100-147 of A001
        self.sh020 = t._add(b, 86448, 24, left=10)
        self.sh030 = t._add(s, 86496, 40, left=8)  # a gap of 24 frames before it
        self.bg = t._add(c, 86410, 60, left=0, track=2)  # over the first cut, on V2
        t._playhead = 86420  # over sh010 (V1) and bg (V2)

    def clip_named(self, otio_timeline, name):
        return next(c for c in otio_timeline.find_clips() if c.name == name)


@pytest.fixture
def edit(fake, tmp_path):
    return Edit(fake, tmp_path)

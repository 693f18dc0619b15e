"""Resolve's mask source: the shot's first frame grabbed as a still (playhead moved, GrabStill, ExportStills as
PNG from the current album, the still deleted again), opened in the panel's painter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the painter and the fakes' PNGs need OpenCV and Qt: the main venv runs these, the core-only 3.10 venv cannot
pytest.importorskip("cv2")
pytest.importorskip("pytestqt")

FACE = Path(__file__).resolve().parents[2].parent / "shared" / "faces" / "obama" / "obama-720p.jpg"


def face_movie(path: Path, frames: int = 12) -> Path:
    """A real movie: the face photo with the frame number burnt in as a bright bar's width."""
    import cv2
    import numpy as np

    still = cv2.resize(cv2.imread(str(FACE)), (640, 360))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24, (640, 360))
    for i in range(frames):
        frame = still.copy()
        frame[:20] = 0
        frame[:20, : 40 * (i + 1)] = 255
        writer.write(np.ascontiguousarray(frame))
    writer.release()
    return path


@pytest.fixture
def cut(fake, tmp_path):
    movie = face_movie(tmp_path / "A001_C003.mov")
    fake.register_media(str(movie), 12)
    resolve = fake.new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    (mpi,) = project.GetMediaPool().ImportMedia([str(movie)])
    timeline = project.GetCurrentTimeline()
    timeline._add(mpi, 86400, 8, left=3, name="sh010")  # media frames 3-10
    return resolve, project


def test_grab_still_gives_the_shots_first_frame_and_cleans_the_gallery(fake, cut, tmp_path):
    import cv2

    from shotbridge_resolve.host import ResolveHost

    resolve, project = cut
    host = ResolveHost(resolve)
    png = host.still("sh010")
    pixels = cv2.imread(str(png))
    assert png.suffix == ".png" and pixels.shape == (360, 640, 3)
    bar = int((pixels[10, :, :].mean(axis=1) > 200).sum())
    assert 150 <= bar <= 170, f"media frame 3 has a 160 px bar, got {bar}"  # mp4v blurs the edge a little
    assert project.GetCurrentTimeline().GetCurrentTimecode() == "01:00:00:00"
    assert project.GetGallery().GetCurrentStillAlbum().GetStills() == [], "the grabbed still is deleted"
    assert fake.calls("Timeline.GrabStill") and fake.calls("GalleryStillAlbum.ExportStills")


def test_a_clip_not_on_the_timeline_says_so(fake, cut):
    from shotbridge_resolve.host import ResolveHost

    with pytest.raises(ValueError, match="sh999 is not on the current timeline"):
        ResolveHost(cut[0]).still("sh999")


def test_from_host_opens_the_painter_on_the_still(fake, cut, qtbot, tmp_path):
    from shotbridge.panel.qt_mask import mask_from_host
    from shotbridge.panel.qt_view import ShotBridgePanel
    from shotbridge.panel.viewmodel import PanelViewModel
    from shotbridge_resolve.host import ResolveHost

    host = ResolveHost(cut[0])
    vm = PanelViewModel(lambda: None, host=host, cache_dir=tmp_path)
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    vm.take_selection_from_host()
    assert vm.state.selection is not None, host.message
    painter = mask_from_host(panel, "mask")
    assert painter is not None, vm.state.errors
    qtbot.waitUntil(lambda: not painter.canvas.frame.isNull(), timeout=10000)
    assert (painter.canvas.frame.width(), painter.canvas.frame.height()) == (640, 360)
    painter.close()
    vm.close()

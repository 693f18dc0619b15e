"""The Thumbnailer on real files written here: movies (PyAV and OpenCV encoders), stills, sequences and the
files that cannot give a picture."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from shotbridge.panel.thumbnails import Thumbnailer, make_thumbnail


def write_movie(path: Path, frames: int = 48, size=(320, 180)) -> Path:
    """Frame i is a flat colour whose red channel is 5*i, so a thumbnail says which frame it shows."""
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24, size)
    for i in range(frames):
        out.write(np.full((size[1], size[0], 3), (40, 90, 5 * i), np.uint8))  # BGR
    out.release()
    return path


def collect(thumbnailer: Thumbnailer, media, frame: int = 0, timeout: float = 20):
    got = threading.Event()
    box = []
    thumbnailer.request(media, frame, lambda t: (box.append(t), got.set()))
    assert got.wait(timeout), "no thumbnail delivered"
    return box[0]


def red(png: Path) -> int:
    image = cv2.imread(str(png))
    return int(image[image.shape[0] // 2, image.shape[1] // 2, 2])


def test_movie_frames_are_the_asked_frames_and_cached(tmp_path):
    movie = write_movie(tmp_path / "sh010.mp4")
    thumbs = Thumbnailer(tmp_path / "cache", workers=2)
    try:
        t0, t30 = collect(thumbs, movie, 0), collect(thumbs, movie, 30)
        assert t0.ok and t30.ok and t0.path != t30.path
        assert cv2.imread(str(t0.path)).shape == (90, 160, 3)
        assert abs(red(t0.path) - 0) <= 8 and abs(red(t30.path) - 150) <= 8
        stamp = t30.path.stat().st_mtime_ns
        again = collect(thumbs, movie, 30)
        assert again.path == t30.path and again.path.stat().st_mtime_ns == stamp  # read back, not remade
    finally:
        thumbs.close()


def test_one_decode_per_key_and_every_caller_answered(tmp_path):
    movie = write_movie(tmp_path / "a.mp4")
    thumbs = Thumbnailer(tmp_path / "cache", workers=2, load=lambda p: p.read_bytes())
    done = threading.Semaphore(0)
    got = []
    for _ in range(6):
        thumbs.request(movie, 10, lambda t: (got.append(t), done.release()))
    for _ in range(6):
        assert done.acquire(timeout=20)
    assert len({t.path for t in got}) == 1 and all(t.image.startswith(b"\x89PNG") for t in got)
    assert len(list((tmp_path / "cache" / "thumbnails").glob("*.png"))) == 1
    thumbs.close()


def test_stills(tmp_path):
    still = tmp_path / "plate.1001.png"
    cv2.imwrite(str(still), np.full((200, 400, 3), (0, 0, 200), np.uint8))
    thumbs = Thumbnailer(tmp_path / "cache")
    t = collect(thumbs, still)
    assert t.ok and cv2.imread(str(t.path)).shape == (80, 160, 3) and red(t.path) > 190
    thumbs.close()


@pytest.mark.parametrize("kind, words", [
    ("missing", "file not found"), ("truncated", "truncated"), ("junk", "not a picture or movie"),
    ("empty", "empty file")])
def test_undecodable_files_give_a_reason(tmp_path, kind, words):
    movie = write_movie(tmp_path / "good.mp4")
    bad = tmp_path / f"{kind}.mov"
    if kind == "truncated":
        bad.write_bytes(movie.read_bytes()[: movie.stat().st_size // 3])
    elif kind == "junk":
        bad.write_bytes(b"not a movie at all " * 50)
    elif kind == "empty":
        bad.write_bytes(b"")
    thumbs = Thumbnailer(tmp_path / "cache")
    t = collect(thumbs, bad)
    assert not t.ok and words in t.reason and bad.name in t.reason
    assert collect(thumbs, None).reason == "no media file"
    thumbs.close()


def test_close_drops_pending_work(tmp_path):
    movies = [write_movie(tmp_path / f"m{i}.mp4", frames=12) for i in range(12)]
    thumbs = Thumbnailer(tmp_path / "cache", workers=1)
    got = []
    for m in movies:
        thumbs.request(m, 0, got.append)
    thumbs.close()
    thumbs.request(movies[0], 0, got.append)  # after close: ignored, not an error
    threading.Event().wait(0.5)
    assert len(got) <= 1  # at most the decode already running when the panel closed
    made = list((tmp_path / "cache" / "thumbnails").glob("*.png")) if (tmp_path / "cache").exists() else []
    assert len(made) <= 1


def test_make_thumbnail_writes_a_png_atomically(tmp_path):
    movie = write_movie(tmp_path / "b.mp4", frames=4)
    target = make_thumbnail(movie, 0, 64, tmp_path / "out" / "b.png")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not list(target.parent.glob("*.part"))


def write_exr(path: Path, rgb: tuple[int, int, int]) -> None:
    """A real OpenEXR frame (ffmpeg's EXR encoder through PyAV; float32 planes)."""
    import av

    codec = av.CodecContext.create("exr", "w")
    codec.width, codec.height, codec.pix_fmt = 192, 108, "gbrpf32le"
    from fractions import Fraction

    codec.time_base = Fraction(1, 24)
    frame = av.VideoFrame.from_ndarray(np.full((108, 192, 3), rgb, np.uint8), format="rgb24")
    packets = codec.encode(frame.reformat(format="gbrpf32le")) + codec.encode(None)
    path.write_bytes(b"".join(bytes(p) for p in packets))


def test_an_exr_sequence_shot_shows_its_first_frames_file(tmp_path):
    import opentimelineio as otio

    from shotbridge.panel.shots import shot_rows

    pytest.importorskip("av")
    for n, red_value in ((1008, 40), (1009, 200), (1010, 90)):
        write_exr(tmp_path / f"plate.{n}.exr", (red_value, 50, 0))
    seq = otio.schema.ImageSequenceReference(
        target_url_base=f"{tmp_path}/", name_prefix="plate.", name_suffix=".exr", start_frame=1008,
        frame_zero_padding=4, rate=24, available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(1008, 24), otio.opentime.RationalTime(3, 24)))
    cut = otio.schema.Timeline(name="exr")
    cut.tracks.append(otio.schema.Track(name="V1"))
    cut.tracks[0].append(otio.schema.Clip(name="sh010", media_reference=seq, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(1009, 24), otio.opentime.RationalTime(2, 24))))
    [row] = shot_rows(cut)
    assert row.media == tmp_path / "plate.1009.exr"
    thumbs = Thumbnailer(tmp_path / "cache")
    t = collect(thumbs, row.media, row.media_frame)
    assert t.ok and abs(red(t.path) - 200) <= 3
    thumbs.close()


def test_without_pyav_opencv_decodes(tmp_path, monkeypatch):
    """A host Python without PyAV (Nuke's own, say) still gets thumbnails, through OpenCV."""
    import sys

    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now fails as if it were not installed
    movie = write_movie(tmp_path / "m.mp4")
    target = make_thumbnail(movie, 30, 160, tmp_path / "t.png")
    assert abs(red(target) - 150) <= 8
    junk = tmp_path / "junk.mov"
    junk.write_bytes(b"x" * 500)
    thumbs = Thumbnailer(tmp_path / "cache")
    t = collect(thumbs, junk)
    assert not t.ok and "cannot" in t.reason and "junk.mov" in t.reason
    thumbs.close()

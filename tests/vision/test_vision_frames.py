"""Frame sampling guarantees, movie seeking accuracy, image-sequence patterns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotbridge_backend.vision import MediaError, MovieSource, SequenceSource, open_media, sample_frames
from shotbridge_backend.vision.synth import write_movie, write_sequence


@given(st.integers(-50, 500), st.integers(1, 400), st.integers(1, 30))
def test_every_run_of_stride_frames_is_sampled(start, length, stride):
    end = start + length
    frames = sample_frames(start, end, stride)
    assert frames == sorted(set(frames))
    assert frames[0] == start and frames[-1] == end - 1
    s = set(frames)
    for a in range(start, end - stride + 1):  # any drift of `stride` frames inside the shot
        assert s & set(range(a, a + stride))


def test_sample_frames_rejects_bad_stride():
    with pytest.raises(MediaError, match="stride"):
        sample_frames(0, 10, 0)
    assert sample_frames(5, 5, 3) == []


def _numbered_frames(n: int, w: int = 128, h: int = 96):
    """Frame i shows i as 8 black/white bars (robust to mp4v compression)."""
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        for bit in range(8):
            if i >> bit & 1:
                img[:, bit * 16 : (bit + 1) * 16] = 255
        yield img


def _decode(img: np.ndarray) -> int:
    return sum(1 << b for b in range(8) if img[:, b * 16 + 4 : b * 16 + 12].mean() > 127)


def test_movie_reads_the_right_frames_forward_and_backward(tmp_path):
    path = tmp_path / "numbers.mp4"
    assert write_movie(_numbered_frames(150), path) == 150
    with MovieSource(path) as src:
        assert (src.first, src.last, src.size) == (0, 149, (128, 96))
        order = [0, 5, 17, 18, 100, 149, 3, 120, 60, 61, 140]  # grabs, long jumps and backward seeks
        assert [_decode(src.read(f)) for f in order] == order
        assert src.seeks >= 3
        with pytest.raises(MediaError, match="outside"):
            src.read(150)


def test_sequence_patterns(tmp_path):
    write_sequence(_numbered_frames(12), tmp_path / "shot.####.png", first=1001)
    for pattern in ("shot.####.png", "shot.%04d.png"):
        src = open_media(str(tmp_path / pattern))
        assert isinstance(src, SequenceSource) and (src.first, src.last) == (1001, 1012)
        assert _decode(src.read(1005)) == 4
    part = SequenceSource(tmp_path / "shot.####.png", 1003, 1006)
    assert (part.first, part.last) == (1003, 1006)
    with pytest.raises(MediaError, match="No frames match"):
        open_media(str(tmp_path / "other.####.png"))
    with pytest.raises(MediaError, match="does not exist"):
        open_media(str(tmp_path / "missing.mp4"))


def _write_timed(path, stamps_ms: list[int]) -> None:
    """An MPEG-4 movie whose frames carry the given presentation times (PyAV: cv2 writes constant rate only)."""
    import fractions

    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.time_base = stream.codec_context.time_base = fractions.Fraction(1, 1000)
        for i, (img, ms) in enumerate(zip(_numbered_frames(len(stamps_ms)), stamps_ms, strict=True)):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = ms, fractions.Fraction(1, 1000)
            out.mux(stream.encode(frame))
            assert i == _decode(img)
        out.mux(stream.encode())


def test_variable_frame_rate_movie_is_refused_with_conform_advice(tmp_path):
    from shotbridge_backend.vision import stream

    cfr, vfr = tmp_path / "cfr.mp4", tmp_path / "vfr.mp4"
    _write_timed(cfr, [round(i * 1000 / 24) for i in range(48)])
    # 24 fps for a second, then 30 fps: what a phone or a screen recorder writes.
    _write_timed(vfr, [round(i * 1000 / 24) for i in range(24)] + [1000 + round(i * 1000 / 30) for i in range(1, 25)])
    with MovieSource(cfr) as src:
        assert [_decode(img) for _, img in stream(src, 0, 48)] == list(range(48))
    with MovieSource(vfr) as src, pytest.raises(MediaError, match=r"variable frame rate: frame 24 .*Conform"):
        for _ in stream(src, 0, 48):
            pass

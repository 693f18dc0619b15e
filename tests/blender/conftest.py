"""Blender tests run in the Blender venvs (real `bpy`); the main test run ignores this folder."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")
PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "blender"
if str(PLUGIN) not in sys.path:
    sys.path.insert(0, str(PLUGIN))


@pytest.fixture
def scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    s = bpy.context.scene
    s.render.fps, s.render.fps_base = 24, 1.0
    s.frame_start = 1
    return s


def write_png(path: Path, grey: int = 128, size: int = 4) -> None:
    """A tiny real PNG, written without any imaging library."""
    raw = b"".join(b"\x00" + bytes([grey, grey, grey]) * size for _ in range(size))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def sequence(tmp_path):
    folder = tmp_path / "plates"
    folder.mkdir()
    for n in range(1001, 1049):
        write_png(folder / f"sh010.{n:04d}.png")
    return folder


@pytest.fixture(scope="session")
def movie(tmp_path_factory):
    """A real 40-frame H.264 movie, rendered by Blender itself."""
    path = tmp_path_factory.mktemp("movie") / "clip.mp4"
    bpy.ops.wm.read_factory_settings(use_empty=True)
    s = bpy.context.scene
    s.render.engine = "BLENDER_WORKBENCH"
    s.render.resolution_x, s.render.resolution_y, s.render.resolution_percentage = 32, 18, 100
    s.frame_start, s.frame_end = 1, 40
    settings = s.render.image_settings
    if hasattr(settings, "media_type"):
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    s.render.ffmpeg.format, s.render.ffmpeg.codec = "MPEG4", "H264"
    s.render.filepath = str(path)
    camera = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    s.collection.objects.link(camera)
    s.camera = camera
    bpy.ops.render.render(animation=True)
    return path


@pytest.fixture(scope="session")
def sound(tmp_path_factory):
    """Two seconds of silence as a real WAV file."""
    import wave

    path = tmp_path_factory.mktemp("sound") / "room_tone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(b"\x00\x00" * 96000)
    return path

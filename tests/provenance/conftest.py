"""Real keys (in the test's own SHOTBRIDGE_CONFIG_DIR), real c2pa, media written at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
from c2pa_media import noise
from PIL import Image

from shotbridge_backend.provenance import Generation, Ingredient, StudioKeys, init_keys


@pytest.fixture
def studio_keys(tmp_path) -> StudioKeys:
    keys = init_keys(studio="Test Studio")
    assert tmp_path in keys.ca_cert.parents  # the autouse fixture points SHOTBRIDGE_CONFIG_DIR into tmp_path
    return keys


@pytest.fixture
def rogue_keys(tmp_path) -> StudioKeys:
    return init_keys(tmp_path / "rogue-keys", studio="Rogue Outfit")


@pytest.fixture
def media(tmp_path) -> dict[str, Path]:
    """A generated PNG, JPEG and MP4 (unsigned) and two inputs: a reference PNG and a plate JPEG."""
    import cv2

    folder = tmp_path / "media"
    folder.mkdir()
    out = {"png": folder / "gen.png", "jpeg": folder / "gen.jpg", "mp4": folder / "gen.mp4",
           "ref": folder / "hero_ref.png", "plate": folder / "plate_0010.jpg"}
    Image.fromarray(noise(seed=1)).save(out["png"])
    Image.fromarray(noise(seed=2)).save(out["jpeg"], quality=92)
    Image.fromarray(noise((32, 32, 3), seed=3)).save(out["ref"])
    Image.fromarray(noise((48, 64, 3), seed=4)).save(out["plate"], quality=85)
    writer = cv2.VideoWriter(str(out["mp4"]), cv2.VideoWriter_fourcc(*"mp4v"), 24, (96, 64))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for i in range(12):
        writer.write(noise(seed=10 + i))
    writer.release()
    return out


@pytest.fixture
def generation(media) -> Generation:
    return Generation(
        operation="extend_shot",
        provider="comfyui",
        model="sdxl-base-1.0",
        job_id="job-7f3a",
        parameters={"seed": 1234, "prompt": "fog rolls over the pier", "workflow_sha256": "ab" * 32, "cfg": 6.5},
        ingredients=[Ingredient(media["ref"], "hero_ref.png", "image/png"),
                     Ingredient(media["plate"], "plate_0010.jpg", "image/jpeg")],
    )

"""Fixtures for the vision tests: the shared face photographs, one model per session, cached embeddings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FACES = SHARED / "faces"
EVAL_LONG_SIDE = 800  # the photos are downscaled once: faces stay >= ~100 px, detection stays fast

# Bible used by the evaluation: the first images of each identity; everything else is a probe.
EVAL_BIBLE = {
    "obama": ["obama/obama-720p.jpg", "obama/obama2.jpg"],
    "biden": ["biden/biden2.jpg"],
    "alex_lacamoire": ["alex_lacamoire/img1.jpg"],
    "kit_harington": ["kit_harington/john1.jpeg"],
    "rose_leslie": ["rose_leslie/img1.jpg"],
}
# Faces in the group photos, left to right (None: a person outside the bible).
GROUP_FACES = {
    "_group/kit_with_rose.jpg": ["rose_leslie", "kit_harington"],
    "_group/obama_and_biden.jpg": ["biden", "obama", None],
    "_group/two_people.jpg": ["obama", "biden"],
}


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not (FACES / "MANIFEST.md").is_file():
        pytest.skip(f"shared face photographs not found at {FACES} (the sibling 'shared' folder of the repo)")
    return FACES


@pytest.fixture(scope="session")
def model():
    from shotbridge_backend.vision import DlibFaceModel

    return DlibFaceModel()


@pytest.fixture(scope="session")
def photo(faces_dir) -> Callable[[str], np.ndarray]:
    """A face photograph by relative path, downscaled to EVAL_LONG_SIDE (cached)."""
    import cv2

    from shotbridge_backend.vision import DlibFaceModel, load_rgb

    cache: dict[str, np.ndarray] = {}

    def get(rel: str) -> np.ndarray:
        if rel not in cache and "#" in rel:
            # "group.jpg#1": the second face from the left with a face-width margin, as a single shot.
            base, idx = rel.split("#")
            full = load_rgb(faces_dir / base)
            x0, y0, x1, y1 = DlibFaceModel(detect_long_side=0).detect(full)[int(idx)].box
            m = x1 - x0
            img = full[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m]
            s = EVAL_LONG_SIDE / max(img.shape[:2])
            cache[rel] = (
                cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else img.copy()
            )
        if rel not in cache:
            img = load_rgb(faces_dir / rel)
            s = EVAL_LONG_SIDE / max(img.shape[:2])
            cache[rel] = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else img
        return cache[rel]

    return get


@pytest.fixture(scope="session")
def single_face_photos(faces_dir) -> dict[str, str]:
    """relative path -> identity, for every photo of one person."""
    return {
        f"{p.parent.name}/{p.name}": p.parent.name
        for p in sorted(faces_dir.glob("*/*"))
        if p.suffix.lower() in (".jpg", ".jpeg", ".png") and not p.parent.name.startswith("_")
    }


@pytest.fixture(scope="session")
def embedder(model, photo) -> Callable[[str, str], list[tuple[tuple[int, int, int, int], np.ndarray]]]:
    """(photo, transform name) -> [(box, embedding)] for every face, cached for the session."""
    from shotbridge_backend.vision.synth import shot_transforms

    transforms = shot_transforms()
    cache: dict[tuple[str, str], list] = {}

    def get(rel: str, transform: str = "none") -> list:
        key = (rel, transform)
        if key not in cache:
            img = transforms[transform](photo(rel))
            faces = model.detect(img)
            embs = model.embed(img, faces)
            cache[key] = [(f.box, e) for f, e in zip(faces, embs, strict=True)]
        return cache[key]

    return get


@pytest.fixture(scope="session")
def eval_bible(embedder) -> dict[str, np.ndarray]:
    return {name: np.array([embedder(p)[0][1] for p in paths]) for name, paths in EVAL_BIBLE.items()}


@pytest.fixture(scope="session")
def eval_layout() -> tuple[dict[str, list[str]], dict[str, list[str | None]]]:
    """(bible reference photos per character, group-photo faces left to right)."""
    return EVAL_BIBLE, GROUP_FACES

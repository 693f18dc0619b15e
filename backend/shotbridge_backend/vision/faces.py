"""Face detection and identity embeddings behind a small interface, plus the character-bible maths.

`FaceModel` is what the consistency checker needs; `DlibFaceModel` is the embedded CPU default
(dlib's HOG detector and its 128-d ResNet). A stronger model (a GPU provider) implements the same
four members and brings its own distance threshold.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, Field

from .errors import FaceIndexError, MultipleFacesError, NoFaceError, VisionError

# Chosen from distances measured on ../shared/faces (docs/vision.md, tests/vision/test_vision_threshold.py):
# same person <= 0.52 clean, <= 0.61 under all transforms at once; different people >= 0.62.
DLIB_THRESHOLD = 0.6
# HOG's sliding window is 80x80: a face is found when it is about this tall in the image HOG searches.
HOG_FACE_PX = 88
# The smallest face (box height in frame pixels) the second, higher-resolution pass is sized to find.
MIN_FACE_PX = 48


class Aligned(NamedTuple):
    """A face aligned for the embedding: dlib's 150x150 chip and the five landmarks (frame pixels)."""

    chip: np.ndarray
    landmarks: np.ndarray


class Face(BaseModel):
    """One detected face: box in full-resolution pixels (x0, y0, x1, y1; x1/y1 exclusive)."""

    box: tuple[int, int, int, int]
    score: float = Field(description="Detector confidence (model specific; higher is surer)")

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)


@runtime_checkable
class FaceModel(Protocol):
    """What the consistency checker needs from a face model."""

    name: str
    dim: int
    threshold: float  # embeddings closer than this (euclidean) are the same person

    def detect(self, image_rgb: np.ndarray) -> list[Face]: ...

    def embed(self, image_rgb: np.ndarray, faces: Sequence[Face]) -> np.ndarray: ...


@runtime_checkable
class TrackingFaceModel(FaceModel, Protocol):
    """What the every-frame consistency check needs on top: a cheap step from a face's box in one frame to
    the next, a second pass for small faces, and the embedding split into alignment (cheap, every frame)
    and the network (costly, only where a track starts, changes or jumps)."""

    def detect_small(self, image_rgb: np.ndarray, min_face: int = ...) -> list[Face]: ...

    def detect_near(self, image_rgb: np.ndarray, box: tuple[int, int, int, int]) -> Face | None: ...

    def align(self, image_rgb: np.ndarray, face: Face) -> Aligned: ...

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray: ...


_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()


def _dlib_models() -> dict[str, Any]:
    """Load dlib's models once per process (about half a second; they are read-only afterwards)."""
    with _MODELS_LOCK:
        if not _MODELS:
            import dlib

            with warnings.catch_warnings():
                # face_recognition_models still imports pkg_resources, which warns on import.
                warnings.simplefilter("ignore")
                import face_recognition_models as frm

            _MODELS["detector"] = dlib.get_frontal_face_detector()
            _MODELS["shape5"] = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
            _MODELS["resnet"] = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
            _MODELS["dlib"] = dlib
        return _MODELS


def as_rgb8(image: np.ndarray) -> np.ndarray:
    """A contiguous HxWx3 uint8 array (dlib accepts nothing else); float input is taken as 0..1."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise VisionError(f"Expected an RGB image (H x W x 3), got an array of shape {img.shape}.")
    img = img[:, :, :3]
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating):
            img = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
        else:
            img = np.clip(img, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


class DlibFaceModel:
    """dlib's HOG face detector + 5-point landmarks + 128-d ResNet embedding, on the CPU.

    Detection runs on a copy whose long side is at most `detect_long_side` pixels (HOG's cost grows with
    the pixel count: ~45 ms at 960 px against ~180 ms at 1920 px); boxes are mapped back and the embedding
    is computed from the full-resolution crop. HOG finds faces from about 80 px in the detection image,
    so at the default 960 px a 1080p frame's faces must be about 160 px tall or more; raise
    `detect_long_side` (or `upsample`) for wide shots, at a cost in speed.
    """

    name = "dlib-resnet-v1"
    dim = 128

    def __init__(
        self,
        detect_long_side: int = 960,
        upsample: int = 0,
        min_score: float = 0.0,
        num_jitters: int = 1,
        threshold: float = DLIB_THRESHOLD,
    ):
        self.detect_long_side = detect_long_side
        self.upsample = upsample
        self.min_score = min_score
        self.num_jitters = num_jitters
        self.threshold = threshold
        self._models = _dlib_models()
        self._lock = threading.Lock()  # dlib objects are not documented as thread-safe

    def detect(self, image_rgb: np.ndarray) -> list[Face]:
        img = as_rgb8(image_rgb)
        h, w = img.shape[:2]
        scale = min(1.0, self.detect_long_side / max(h, w)) if self.detect_long_side else 1.0
        return self._detect_at(img, scale, (0, 0, w, h), self.upsample)

    def detect_small(self, image_rgb: np.ndarray, min_face: int = MIN_FACE_PX) -> list[Face]:
        """The second pass: the whole frame searched at the scale where a `min_face` px face fills HOG's
        window (x1.8 for 48 px). About 8x the pixels of the frame's own size, so it runs only on frames
        where the first pass found nobody to follow."""
        img = as_rgb8(image_rgb)
        h, w = img.shape[:2]
        return self._detect_at(img, HOG_FACE_PX / min_face, (0, 0, w, h), 0)

    def detect_near(self, image_rgb: np.ndarray, box: tuple[int, int, int, int]) -> Face | None:
        """The face near `box` in this frame (a tracker step): HOG on the box's neighbourhood only, scaled
        so the face is HOG-sized. About 1-2 ms whatever the face or frame size."""
        img = as_rgb8(image_rgb)
        h, w = img.shape[:2]
        x0, y0, x1, y1 = box
        fw, fh = x1 - x0, y1 - y0
        # A third of a face either side: room for a frame's motion; HOG's cost is the region's area.
        mx, my = fw // 3, fh // 3
        region = (max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my))
        faces = self._detect_at(img, 1.1 * HOG_FACE_PX / max(1, fh), region, 0, fast=True)
        if not faces:
            return None
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        return min(faces, key=lambda f: abs((f.box[0] + f.box[2]) / 2 - cx) + abs((f.box[1] + f.box[3]) / 2 - cy))

    def _detect_at(
        self, img: np.ndarray, scale: float, region: tuple[int, int, int, int], upsample: int, fast: bool = False
    ) -> list[Face]:
        import cv2

        rx0, ry0, rx1, ry1 = region
        h, w = img.shape[:2]
        crop = img[ry0:ry1, rx0:rx1]
        if crop.size == 0:
            return []
        if scale != 1.0:
            size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
            # INTER_AREA for whole frames (no aliasing); a face's neighbourhood, every frame, goes linear:
            # 10x cheaper on a large face and HOG still finds it.
            interp = cv2.INTER_AREA if scale < 1 and not fast else cv2.INTER_LINEAR
            crop = cv2.resize(crop, size, interpolation=interp)
        with self._lock:
            rects, scores, _ = self._models["detector"].run(np.ascontiguousarray(crop), upsample, self.min_score)
        faces = []
        for r, s in zip(rects, scores, strict=True):
            box = (
                max(0, rx0 + int(round(r.left() / scale))),
                max(0, ry0 + int(round(r.top() / scale))),
                min(w, rx0 + int(round((r.right() + 1) / scale))),
                min(h, ry0 + int(round((r.bottom() + 1) / scale))),
            )
            if box[2] > box[0] and box[3] > box[1]:
                faces.append(Face(box=box, score=float(s)))
        faces.sort(key=lambda f: (f.box[0], f.box[1]))  # left to right: a stable face_index
        return faces

    def landmarks(self, image_rgb: np.ndarray, face: Face) -> np.ndarray:
        """Five landmarks (eye corners and nose base) as a (5, 2) float array, full-resolution pixels."""
        img = as_rgb8(image_rgb)
        shape = self._shape(img, face)
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)

    def _shape(self, img: np.ndarray, face: Face) -> Any:
        dlib = self._models["dlib"]
        x0, y0, x1, y1 = face.box
        with self._lock:
            return self._models["shape5"](img, dlib.rectangle(x0, y0, x1 - 1, y1 - 1))

    def align(self, image_rgb: np.ndarray, face: Face) -> Aligned:
        """The aligned 150x150 chip the embedding reads, and the landmarks (about 1 ms)."""
        img = as_rgb8(image_rgb)
        shape = self._shape(img, face)
        chip = self._models["dlib"].get_face_chip(img, shape, 150, 0.25)
        return Aligned(chip, np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64))

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """Embeddings of aligned chips from `align` (the costly step: ~70 ms per chip on one core)."""
        if not chips:
            return np.zeros((0, self.dim), dtype=np.float64)
        with self._lock:
            desc = self._models["resnet"].compute_face_descriptor(list(chips), self.num_jitters)
        return np.array([np.asarray(d) for d in desc], dtype=np.float64).reshape(len(chips), self.dim)

    def embed(self, image_rgb: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        if not faces:
            return np.zeros((0, self.dim), dtype=np.float64)
        img = as_rgb8(image_rgb)
        dlib = self._models["dlib"]
        # Align each face to dlib's 150x150 chip from the full-resolution frame, then one batched call.
        chips = [dlib.get_face_chip(img, self._shape(img, f), 150, 0.25) for f in faces]
        with self._lock:
            desc = self._models["resnet"].compute_face_descriptor(chips, self.num_jitters)
        return np.array([np.asarray(d) for d in desc], dtype=np.float64).reshape(len(faces), self.dim)


# --- character bible maths --------------------------------------------------------------------------

Bible = Mapping[str, "np.ndarray | Sequence[np.ndarray]"]


class Match(NamedTuple):
    """The bible character nearest an embedding (None when none is within the threshold)."""

    name: str | None
    distance: float  # euclidean distance to the nearest reference of the nearest character
    nearest: str | None = None  # nearest character even when beyond the threshold

    @property
    def similarity(self) -> float:
        return similarity(self.distance)


def similarity(distance: float) -> float:
    """The cosine similarity a euclidean distance corresponds to for dlib's embeddings: 1 - d^2/4.

    dlib's descriptors have norms of about sqrt(2) (measured 1.39-1.45 on ../shared/faces), so for them
    d^2 = 4 - 4 cos. It reads like the similarity people know (1: identical) and is monotonic in the
    distance, so the threshold is one line on the same chart (distance 0.6 -> similarity 0.91).
    """
    return float(1.0 - distance * distance / 4.0)


def _as_matrix(refs: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    m = np.asarray(refs, dtype=np.float64)
    return m.reshape(1, -1) if m.ndim == 1 else m


def distances_to_bible(embedding: np.ndarray, bible: Bible) -> dict[str, float]:
    """Per character, the distance to its nearest reference embedding."""
    e = np.asarray(embedding, dtype=np.float64).ravel()
    out = {}
    for name, refs in bible.items():
        m = _as_matrix(refs)
        if m.size:
            out[name] = float(np.min(np.linalg.norm(m - e, axis=1)))
    return out


def match(embedding: np.ndarray, bible: Bible, threshold: float = DLIB_THRESHOLD) -> Match:
    """Nearest-neighbour identification against the bible, refused beyond `threshold`."""
    dists = distances_to_bible(embedding, bible)
    if not dists:
        return Match(None, float("inf"), None)
    nearest = min(dists, key=dists.__getitem__)
    d = dists[nearest]
    return Match(nearest if d <= threshold else None, d, nearest)


def reference_embedding(
    images: Sequence[np.ndarray | str | Path],
    model: FaceModel | None = None,
    face_index: int | Sequence[int | None] | None = None,
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Identity embeddings (n_images, dim) for a character's reference images, one face each.

    An image with no face raises `NoFaceError`; one with several faces raises `MultipleFacesError`
    unless `face_index` (one int for all images, or one per image; faces are numbered left to right)
    says which face is the character.
    """
    from .frames import load_rgb

    model = model or DlibFaceModel()
    if face_index is None or isinstance(face_index, int):
        choices: list[int | None] = [face_index] * len(images)
    else:
        choices = list(face_index)
        if len(choices) != len(images):
            raise VisionError(
                f"face_index has {len(choices)} entries for {len(images)} images: give one per image "
                "(None where the image has a single face)."
            )
    rows = []
    for i, (item, choice) in enumerate(zip(images, choices, strict=True)):
        label = labels[i] if labels else (str(item) if isinstance(item, (str, Path)) else f"image {i + 1}")
        img = load_rgb(item, label) if isinstance(item, (str, Path)) else as_rgb8(item)
        faces = model.detect(img)
        if not faces:
            raise NoFaceError(
                f"No face found in reference image '{label}'. Use a photo where the character's face is "
                "visible, roughly frontal and at least about 100 pixels tall."
            )
        if choice is None:
            if len(faces) > 1:
                raise MultipleFacesError(
                    f"{len(faces)} faces found in reference image '{label}'. Say which one is the "
                    f"character with face_index (0 to {len(faces) - 1}, counted left to right), or crop "
                    "the image to that face.",
                    count=len(faces),
                )
            choice = 0
        if not 0 <= choice < len(faces):
            raise FaceIndexError(
                f"face_index {choice} does not exist in reference image '{label}', which has "
                f"{len(faces)} face(s): use 0 to {len(faces) - 1}, counted left to right."
            )
        rows.append(model.embed(img, [faces[choice]])[0])
    return np.array(rows, dtype=np.float64).reshape(len(rows), model.dim)

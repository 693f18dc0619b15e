"""Demo and test shots built from real photographs: camera moves, face replacement, grade shifts.

Only real pictures go in (../shared/faces and scikit-image's bundled images); everything here is
classical image processing (cv2.warpAffine, blending), so the results are honest stand-ins for plates.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from .errors import NoFaceError, VisionError
from .faces import DlibFaceModel, Face, as_rgb8
from .look import CDL, apply_cdl

Move = Literal["static", "push", "pull", "pan_left", "pan_right", "drift"]


def _cover_matrix(
    img_wh: tuple[int, int], size: tuple[int, int], zoom: float, center: tuple[float, float]
) -> np.ndarray:
    """Affine map from image to frame: cover the frame at `zoom`, centred on `center` (normalised)."""
    iw, ih = img_wh
    w, h = size
    s = max(w / iw, h / ih) * zoom
    cx = np.clip(center[0] * iw, w / (2 * s), iw - w / (2 * s)) if iw * s > w else iw / 2
    cy = np.clip(center[1] * ih, h / (2 * s), ih - h / (2 * s)) if ih * s > h else ih / 2
    return np.array([[s, 0.0, w / 2 - s * cx], [0.0, s, h / 2 - s * cy]])


def move_params(
    move: Move, t: float, focus: tuple[float, float], amount: float
) -> tuple[float, tuple[float, float]]:
    """Zoom and centre at normalised time t in 0..1 for a named move (smoothstep eased)."""
    e = t * t * (3 - 2 * t)
    fx, fy = focus
    if move == "push":
        return 1.0 + amount * e, focus
    if move == "pull":
        return 1.0 + amount * (1 - e), focus
    if move in ("pan_left", "pan_right"):
        d = (amount / 2) * (e - 0.5) * (1 if move == "pan_right" else -1)
        return 1.0 + amount, (fx + d, fy)
    if move == "drift":  # a slow handheld-like float
        return 1.0 + amount * 0.5 + 0.02 * np.sin(6.28 * t), (
            fx + 0.01 * np.sin(9.4 * t),
            fy + 0.01 * np.cos(7.1 * t),
        )
    return 1.0, focus


def render_shot(
    image: np.ndarray,
    frames: int,
    size: tuple[int, int] = (1920, 1080),
    move: Move = "push",
    focus: tuple[float, float] = (0.5, 0.4),
    amount: float = 0.15,
) -> Iterator[np.ndarray]:
    """`frames` RGB frames of `size` (w, h) with a camera move over a still photograph."""
    import cv2

    img = as_rgb8(image)
    ih, iw = img.shape[:2]
    for i in range(frames):
        zoom, center = move_params(move, i / max(1, frames - 1), focus, amount)
        m = _cover_matrix((iw, ih), size, zoom, center)
        yield cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def face_focus(image: np.ndarray, model: DlibFaceModel | None = None) -> tuple[float, float]:
    """The normalised centre of the largest face (so moves keep it in frame)."""
    face = largest_face(image, model)
    h, w = image.shape[:2]
    return ((face.box[0] + face.box[2]) / 2 / w, (face.box[1] + face.box[3]) / 2 / h)


def largest_face(image: np.ndarray, model: DlibFaceModel | None = None) -> Face:
    model = model or DlibFaceModel(detect_long_side=1600)
    faces = model.detect(image)
    if not faces:
        raise NoFaceError("No face found in the photograph: pick a photo with a visible, frontal face.")
    return max(faces, key=lambda f: f.area)


def paste_face(
    target: np.ndarray, source: np.ndarray, model: DlibFaceModel | None = None, feather: float = 0.12
) -> np.ndarray:
    """`target` with the inner face of `source`'s largest face aligned onto its largest face.

    A similarity transform maps source landmarks onto target landmarks; the source's colour is matched to
    the target's skin (Lab mean/std inside the face), then blended through a feathered ellipse. The identity
    inside the ellipse is the source person's; hair, ears and background stay the target's.
    """
    import cv2

    model = model or DlibFaceModel(detect_long_side=1600)
    tgt, src = as_rgb8(target), as_rgb8(source)
    tf, sf = largest_face(tgt, model), largest_face(src, model)
    m, _ = cv2.estimateAffinePartial2D(model.landmarks(src, sf), model.landmarks(tgt, tf))
    if m is None:
        raise VisionError("Could not align the two faces: use frontal photographs.")
    h, w = tgt.shape[:2]
    warped = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    x0, y0, x1, y1 = tf.box
    cx, cy, fw, fh = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (int(cx), int(cy + 0.08 * fh)), (int(fw * 0.5), int(fh * 0.64)), 0, 0, 360, 1.0, -1)
    k = max(3, int(feather * fw) | 1)
    mask = cv2.GaussianBlur(mask, (k, k), 0)[..., None]
    inner = mask[..., 0] > 0.5
    lab_t = cv2.cvtColor(tgt, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_w = cv2.cvtColor(warped, cv2.COLOR_RGB2LAB).astype(np.float32)
    mu_t, sd_t = lab_t[inner].mean(0), lab_t[inner].std(0) + 1e-3
    mu_w, sd_w = lab_w[inner].mean(0), lab_w[inner].std(0) + 1e-3
    lab_w = (lab_w - mu_w) / sd_w * sd_t + mu_t
    warped = cv2.cvtColor(np.clip(lab_w, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)
    out = tgt.astype(np.float32) * (1 - mask) + warped * mask
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def replaced_face_shot(
    image_a: np.ndarray,
    image_b: np.ndarray,
    frames: int,
    replace: tuple[int, int] | Sequence[tuple[int, int]],
    mode: Literal["paste", "cut"] = "paste",
    model: DlibFaceModel | None = None,
    **move: object,
) -> Iterator[np.ndarray]:
    """A shot of person A whose face is person B's for frames in `replace` (a half-open range, or several).

    "paste": B's face blended onto A's (same framing, same move: the subtle drift a generated shot shows);
    "cut": the same move over B's photograph for that range (a blunt continuity error).
    """
    if mode == "paste":
        other = paste_face(image_a, image_b, model)
        focus_b = move.pop("focus", None) or face_focus(image_a, model)
    else:
        other = image_b
        focus_b = face_focus(image_b, model)
        move.pop("focus", None)
    focus_a = face_focus(image_a, model)
    plain = render_shot(image_a, frames, focus=focus_a, **move)  # type: ignore[arg-type]
    swapped = render_shot(other, frames, focus=focus_b, **move)  # type: ignore[arg-type]
    ranges = [replace] if isinstance(replace[0], int) else list(replace)  # type: ignore[list-item]
    for i, (fa, fb) in enumerate(zip(plain, swapped, strict=True)):
        yield fb if any(a <= i < b for a, b in ranges) else fa  # type: ignore[misc]


def wide_shot(
    image: np.ndarray,
    frames: int,
    face_px: int,
    size: tuple[int, int] = (1920, 1080),
    at: tuple[float, float] = (0.3, 0.45),
    pan_px: float = 0.5,
    other: np.ndarray | None = None,
    replace: Sequence[tuple[int, int]] = (),
    background: np.ndarray | None = None,
    model: DlibFaceModel | None = None,
) -> Iterator[np.ndarray]:
    """A wide shot: the person in `image` scaled so their face box is `face_px` tall, over a backdrop,
    drifting `pan_px` pixels a frame; with `other`, that person's face pasted on for frames in `replace`."""
    import cv2

    model = model or DlibFaceModel(detect_long_side=0)
    img = as_rgb8(image)
    face = largest_face(img, model)
    s = face_px / face.height
    people = [img] if other is None else [img, paste_face(img, other, model)]
    cx, cy = (face.box[0] + face.box[2]) / 2 * s, (face.box[1] + face.box[3]) / 2 * s
    r = int(face_px * 1.6)
    w, h = size
    if background is None:
        from skimage import data

        background = data.coffee()  # a real photograph with no face in it
    back = cv2.resize(as_rgb8(background), size, interpolation=cv2.INTER_LINEAR)
    crops = []
    for p in people:
        small = cv2.resize(p, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        x0, y0 = max(0, int(cx - r)), max(0, int(cy - r))
        crops.append((small[y0 : int(cy + r), x0 : int(cx + r)], cx - x0, cy - y0))
    for i in range(frames):
        crop, ox, oy = crops[1 if other is not None and any(a <= i < b for a, b in replace) else 0]
        px, py = int(at[0] * w - ox + pan_px * i), int(at[1] * h - oy)
        frame = back.copy()
        cx0, cy0 = max(0, -px), max(0, -py)  # the part of the crop left or above the frame is cut off
        ch, cw = min(crop.shape[0], h - py), min(crop.shape[1], w - px)
        if ch > cy0 and cw > cx0:
            frame[py + cy0 : py + ch, px + cx0 : px + cw] = crop[cy0:ch, cx0:cw]
        yield frame


def grade_shift(frames: Iterable[np.ndarray], cdl: CDL) -> Iterator[np.ndarray]:
    """Frames with a CDL applied (on their display-encoded values), as uint8."""
    for f in frames:
        yield np.clip(apply_cdl(as_rgb8(f) / 255.0, cdl) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def write_movie(frames: Iterable[np.ndarray], path: str | Path, fps: float = 24.0) -> int:
    """Write RGB frames to an MPEG-4 Part 2 ('mp4v') movie; returns the frame count."""
    import cv2

    writer = None
    n = 0
    try:
        for f in frames:
            f = as_rgb8(f)
            if writer is None:
                writer = cv2.VideoWriter(
                    str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (f.shape[1], f.shape[0])
                )
                if not writer.isOpened():
                    raise VisionError(
                        f"Cannot write a movie at '{path}': check the folder exists and is writable."
                    )
            writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
            n += 1
    finally:
        if writer is not None:
            writer.release()
    return n


def write_sequence(
    frames: Iterable[np.ndarray], pattern: str | Path, first: int = 1, quality: int = 95
) -> int:
    """Write RGB frames as an image sequence; `pattern` uses #### or %04d (e.g. shot.####.png)."""
    from PIL import Image

    from .frames import sequence_regex

    printf, _, _ = sequence_regex(str(pattern))
    n = 0
    for i, f in enumerate(frames):
        p = Path(printf % (first + i))
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(as_rgb8(f)).save(p, quality=quality)
        n += 1
    return n


# --- what a shot goes through on its way to us (for the evaluation) ---------------------------------

Transform = Callable[[np.ndarray], np.ndarray]


def t_scale(factor: float) -> Transform:
    import cv2

    return lambda im: cv2.resize(im, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


def t_crop(frac: float, anchor: tuple[float, float] = (0.5, 0.5)) -> Transform:
    """Keep `frac` of each side around `anchor` (a reframe)."""

    def f(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        ch, cw = int(h * frac), int(w * frac)
        y0 = int(np.clip(anchor[1] * h - ch / 2, 0, h - ch))
        x0 = int(np.clip(anchor[0] * w - cw / 2, 0, w - cw))
        return im[y0 : y0 + ch, x0 : x0 + cw]

    return f


def t_blur(sigma: float) -> Transform:
    import cv2

    return lambda im: cv2.GaussianBlur(im, (0, 0), sigma)


def t_noise(sigma: float, seed: int = 0) -> Transform:
    def f(im: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return np.clip(im + rng.normal(0, sigma, im.shape), 0, 255).astype(np.uint8)

    return f


def t_grade(cdl: CDL) -> Transform:
    return lambda im: next(grade_shift([im], cdl))


def t_jpeg(quality: int) -> Transform:
    from PIL import Image

    def f(im: np.ndarray) -> np.ndarray:
        buf = io.BytesIO()
        Image.fromarray(as_rgb8(im)).save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        return np.asarray(Image.open(buf).convert("RGB"))

    return f


def compose(*ts: Transform) -> Transform:
    def f(im: np.ndarray) -> np.ndarray:
        for t in ts:
            im = t(im)
        return im

    return f


def shot_transforms() -> dict[str, Transform]:
    """The degradations the evaluation applies: each alone, and all of them together."""
    warm = CDL(slope=(1.12, 1.0, 0.86), offset=(0.02, 0.0, -0.02), power=(0.95, 1.0, 1.08), saturation=0.85)
    return {
        "none": lambda im: im,
        "scale": t_scale(0.5),
        "crop": t_crop(0.7, (0.45, 0.4)),
        "blur": t_blur(1.5),
        "noise": t_noise(8.0),
        "grade": t_grade(warm),
        "jpeg": t_jpeg(30),
        "all": compose(t_scale(0.6), t_blur(1.0), t_grade(warm), t_noise(5.0), t_jpeg(40)),
    }


def frames_of(images: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
    yield from images


# --- the demo set -------------------------------------------------------------------------------------

DEMO_BIBLE = {
    "obama": ["obama/obama-720p.jpg", "obama/obama2.jpg"],
    "biden": ["biden/biden.jpg"],
    "kit_harington": ["kit_harington/john1.jpeg"],
    "rose_leslie": ["rose_leslie/img1.jpg"],
}
DEMO_GRADE = CDL(slope=(1.18, 1.02, 0.82), offset=(0.03, 0.0, -0.03), power=(0.9, 1.0, 1.15), saturation=0.75)


class DemoShot(NamedTuple):
    name: str
    media: str
    frames: int
    characters: list[str]
    drift: tuple[int, int, str, str] | None  # start, end (exclusive), expected, who is really there


def build_demo(
    out_dir: str | Path, faces_dir: str | Path, size: tuple[int, int] = (1280, 720), fps: float = 24.0
) -> dict:
    """Write the demo shots (mp4) and return what they contain: shots, bible image paths, the look pair.

    sh010 Obama push-in; sh020 Biden pan; sh030 Obama whose face is Kit Harington's for frames 30-47;
    sh040 sh010's plate with a warm, desaturated grade shift (the look-matching target).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    faces = Path(faces_dir)
    model = DlibFaceModel(detect_long_side=1600)
    from .frames import load_rgb

    obama, obama1 = load_rgb(faces / "obama/obama.jpg"), load_rgb(faces / "obama/obama1.jpg")
    biden, kit = load_rgb(faces / "biden/biden2.jpg"), load_rgb(faces / "kit_harington/john2.jpeg")
    n = 72
    shots = []

    def movie(name: str, frames: Iterable[np.ndarray]) -> str:
        path = out / f"{name}.mp4"
        write_movie(frames, path, fps)
        return str(path)

    f_obama = face_focus(obama, model)
    shots.append(
        DemoShot("sh010", movie("sh010", render_shot(obama, n, size, "push", f_obama)), n, ["obama"], None)
    )
    f_biden = face_focus(biden, model)
    shots.append(
        DemoShot(
            "sh020",
            movie("sh020", render_shot(biden, n, size, "pan_right", f_biden, 0.25)),
            n,
            ["biden"],
            None,
        )
    )
    swap = replaced_face_shot(obama1, kit, n, (30, 48), "paste", model, size=size, move="drift", amount=0.2)
    shots.append(DemoShot("sh030", movie("sh030", swap), n, ["obama"], (30, 48, "obama", "kit_harington")))
    graded = grade_shift(render_shot(obama, n, size, "push", f_obama), DEMO_GRADE)
    shots.append(DemoShot("sh040", movie("sh040", graded), n, ["obama"], None))
    return {
        "shots": [s._asdict() for s in shots],
        "bible": {k: [str(faces / p) for p in v] for k, v in DEMO_BIBLE.items()},
        "look": {"reference": "sh010", "targets": ["sh040", "sh020"], "grade": DEMO_GRADE.model_dump()},
    }

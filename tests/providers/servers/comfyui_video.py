"""The ComfyUI double's node classes for the video and edit models (Wan VACE, Qwen-Image-Edit) and ComfyUI's core
video nodes (LoadVideo, GetVideoComponents, CreateVideo, SaveVideo).

Their input specs are not written here: they are read from the real ComfyUI 0.3.64 /object_info record
(../shared/comfyui), so the double validates a posted graph against exactly what that server declares (names,
order, types, min/max, combos); only the combos that list files are filled from the double's own folders.
The stand-ins are cheap and deterministic but keep what the tests look at: a VACE video-to-video keeps the
control video's structure and takes the reference's look, an outpaint keeps the source where the mask is 0, a
reference frame is trimmed again by TrimVideoLatent, and movies are real MPEG-4 files.
"""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .comfyui import Ctx, NodeClass

RECORD = Path(__file__).resolve().parents[3].parent / "shared" / "comfyui" / "object_info-v0.3.64.json"
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mov", ".mkv", ".avi")
# combo inputs that list files: input name -> the double's model folder (or "input videos")
FILE_COMBOS = {"lora_name": "loras", "unet_name": "diffusion_models", "vae_name": "vae", "clip_name": "text_encoders",
               "clip_name1": "text_encoders", "clip_name2": "text_encoders", "file": "input videos"}
VIDEO_MODELS = {
    "diffusion_models": ["wan2.1_vace_14B_fp16.safetensors", "qwen_image_edit_2509_fp8_e4m3fn.safetensors",
                         "flux1-fill-dev.safetensors"],
    "text_encoders": ["umt5_xxl_fp16.safetensors", "qwen_2.5_vl_7b_fp8_scaled.safetensors", "clip_l.safetensors",
                      "t5xxl_fp16.safetensors"],
    "vae": ["qwen_image_vae.safetensors", "ae.safetensors"],
    "loras": ["Wan21_CausVid_14B_T2V_lora_rank32.safetensors",
              "Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"],
}


@cache
def record() -> dict[str, Any]:
    return json.loads(RECORD.read_text(encoding="utf-8"))


def _files(folder: str):
    if folder == "input videos":
        return lambda server: sorted(n for n in server.files["input"] if n.lower().endswith(VIDEO_EXTENSIONS))
    return lambda server: list(server.models.get(folder, []))


def recorded(name: str, run, **extra: Any) -> NodeClass:
    """A node class whose inputs, outputs and flags are those the real server recorded."""
    from .comfyui import NodeClass

    entry = record()[name]
    groups: dict[str, dict[str, list]] = {}
    for group in ("required", "optional"):
        specs = {}
        for input_name, spec in (entry["input"].get(group) or {}).items():
            kind, options = spec[0], dict(spec[1]) if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if kind == "COMBO":  # schema v3: the choices are in the options
                kind = options.pop("options", [])
            if isinstance(kind, list) and input_name in FILE_COMBOS:
                kind = _files(FILE_COMBOS[input_name])
            specs[input_name] = [kind, options] if options or len(spec) > 1 else [kind]
        groups[group] = specs
    return NodeClass(name, groups["required"], tuple(entry["output"]), run, optional=groups["optional"],
                     output_names=tuple(entry.get("output_name") or entry["output"]),
                     output_node=bool(entry.get("output_node")), category=entry.get("category", ""),
                     module=entry.get("python_module", "nodes"), **extra)


# -- stand-ins -----------------------------------------------------------------------------------------------


def _passthrough(key: str):
    def run(ctx: Ctx, **kwargs: Any) -> tuple:
        ctx.work()
        return (kwargs[key],)
    return run


def _lora(ctx: Ctx, model: dict, clip: dict, lora_name: str, strength_model: float, strength_clip: float) -> tuple:
    ctx.work()
    return {**model, "lora": lora_name}, clip


def _lora_model_only(ctx: Ctx, model: dict, lora_name: str, strength_model: float) -> tuple:
    ctx.work()
    return ({**model, "lora": lora_name},)


def _primitive_int(ctx: Ctx, value: int) -> tuple:
    return (int(value),)


def _load_video(ctx: Ctx, file: str) -> tuple:
    import cv2

    ctx.work()
    with tempfile.NamedTemporaryFile(suffix=Path(file).suffix) as tmp:
        tmp.write(ctx.server.files["input"][file])
        tmp.flush()
        capture = cv2.VideoCapture(tmp.name)
        fps = capture.get(cv2.CAP_PROP_FPS) or 24.0
        frames = []
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            frames.append(bgr[:, :, ::-1].astype(np.float32) / 255.0)
        capture.release()
    if not frames:
        raise ValueError(f"no frames could be decoded from {file}")
    return ({"frames": np.stack(frames), "fps": float(fps)},)


def _video_components(ctx: Ctx, video: dict) -> tuple:
    ctx.work()
    return video["frames"], None, video["fps"]


def _create_video(ctx: Ctx, images: np.ndarray, fps: float, audio: Any = None) -> tuple:
    ctx.work()
    return ({"frames": images, "fps": float(fps)},)


def _save_video(ctx: Ctx, video: dict, filename_prefix: str, format: str, codec: str) -> dict:
    import cv2

    ctx.work()
    subfolder, _, prefix = filename_prefix.rpartition("/")
    store = ctx.server.files["output"]
    counter = 1 + sum(1 for k in store if k.startswith(f"{subfolder}/{prefix}_" if subfolder else f"{prefix}_"))
    name = f"{prefix}_{counter:05}_.mp4"
    frames = np.clip(video["frames"] * 255.0, 0, 255).astype(np.uint8)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), video["fps"],
                                 (frames.shape[2], frames.shape[1]))
        for frame in frames:
            writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
        writer.release()
        store[f"{subfolder}/{name}" if subfolder else name] = path.read_bytes()
    return {"ui": {"images": [{"filename": name, "subfolder": subfolder, "type": "output"}], "animated": [True]},
            "result": ()}


def _fit(images: np.ndarray, w: int, h: int) -> np.ndarray:
    from .comfyui import _upscale_center

    return np.stack([_upscale_center(i, w, h) for i in images])


def _wan_vace(ctx: Ctx, positive: list, negative: list, vae: dict, width: int, height: int, length: int,
              batch_size: int, strength: float, control_video: np.ndarray | None = None,
              control_masks: np.ndarray | None = None, reference_image: np.ndarray | None = None) -> tuple:
    """comfy_extras/nodes_wan.WanVaceToVideo: control video and masks scaled to the size (centre crop) and padded
    to `length` (grey, mask 1); the reference becomes one extra latent frame in front, trimmed after sampling."""
    ctx.work()
    frames = ((length - 1) // 4) * 4 + 1
    h, w = height // 8 * 8, width // 8 * 8
    control = mask = None
    if control_video is not None:
        control = np.full((frames, h, w, 3), 0.5, np.float32)
        given = _fit(control_video[:frames, ..., :3], w, h)
        control[:len(given)] = given
    if control_masks is not None:
        masks = control_masks.reshape(-1, *control_masks.shape[-2:])[:frames]
        mask = np.ones((frames, h, w), np.float32)
        mask[:len(masks)] = _fit(masks[..., None], w, h)[..., 0]
    reference = None if reference_image is None else _fit(reference_image[:1, ..., :3], w, h)[0]
    trim = 1 if reference is not None else 0
    latent = {"samples": np.zeros((frames + trim, h, w, 3), np.float32), "video": True,
              "vace": {"control": control, "mask": mask, "reference": reference}}
    return positive, negative, latent, trim


def _trim_latent(ctx: Ctx, samples: dict, trim_amount: int) -> tuple:
    ctx.work()
    return ({**samples, "samples": samples["samples"][trim_amount:]},)


def sample(seed: int, text: str, positive: list, latent: dict) -> dict | None:
    """KSampler's stand-in for VACE latents and Qwen edits (None: not one of those)."""
    from .comfyui import _pattern

    vace = latent.get("vace")
    if vace is not None:
        count, h, w = latent["samples"].shape[:3]
        control, mask, reference = vace["control"], vace["mask"], vace["reference"]
        trim = 1 if reference is not None else 0
        out = [reference] if reference is not None else []
        for t in range(count - trim):
            noise = _pattern(seed, text, h, w, t)
            fill = noise if reference is None else 0.6 * reference + 0.4 * noise
            if control is None:
                frame = fill
            elif mask is None:  # video-to-video: the control's structure with the reference's look
                frame = 0.6 * control[t] + 0.4 * fill
            else:  # inpaint / outpaint: generate where the mask is 1, keep the control where it is 0
                frame = mask[t][..., None] * fill + (1 - mask[t][..., None]) * control[t]
            out.append(frame)
        return {**latent, "samples": np.stack(out).astype(np.float32)}
    edit = positive[0].get("edit") if positive else None
    if edit is not None:  # an instruction edit keeps most of the picture
        lat = latent["samples"]
        return {**latent, "samples": np.stack([0.7 * lat[b] + 0.3 * _pattern(seed, text, *lat.shape[1:3], b)
                                               for b in range(lat.shape[0])]).astype(np.float32)}
    return None


def _pad_for_outpaint(ctx: Ctx, image: np.ndarray, left: int, top: int, right: int, bottom: int,
                      feathering: int) -> tuple:
    ctx.work()
    b, h, w = image.shape[:3]
    out = np.full((b, h + top + bottom, w + left + right, 3), 0.5, np.float32)
    out[:, top:top + h, left:left + w] = image[..., :3]
    # nodes.ImagePadForOutpaint: 1 in the padding; inside the source, within `feathering` px of a padded side,
    # ((feathering - d) / feathering) ** 2, so the fill blends into the picture's edge
    inner = np.zeros((h, w), np.float32)
    if feathering > 0 and feathering * 2 < h and feathering * 2 < w:
        ys, xs = np.mgrid[0:h, 0:w]
        big = np.full((h, w), np.inf)
        d = np.minimum.reduce([ys if top else big, xs if left else big, (h - ys - 1) if bottom else big,
                               (w - xs - 1) if right else big])
        inner = np.where(d < feathering, ((feathering - d) / feathering) ** 2, 0.0).astype(np.float32)
    mask = np.ones((b, h + top + bottom, w + left + right), np.float32)
    mask[:, top:top + h, left:left + w] = inner
    return out, mask


def _repeat_images(ctx: Ctx, image: np.ndarray, amount: int) -> tuple:
    ctx.work()
    return (np.concatenate([image] * amount),)


def _image_batch(ctx: Ctx, image1: np.ndarray, image2: np.ndarray) -> tuple:
    ctx.work()
    if image2.shape[1:3] != image1.shape[1:3]:
        image2 = _fit(image2, image1.shape[2], image1.shape[1])
    return (np.concatenate([image1, image2]),)


def _solid_mask(ctx: Ctx, value: float, width: int, height: int) -> tuple:
    return (np.full((1, height, width), value, np.float32),)


def _image_size(ctx: Ctx, image: np.ndarray) -> tuple:
    return image.shape[2], image.shape[1], image.shape[0]


def _invert_mask(ctx: Ctx, mask: np.ndarray) -> tuple:
    return (1.0 - mask,)


def _rebatch(ctx: Ctx, images: np.ndarray, batch_size: int) -> tuple:
    return (images,)


def _qwen_edit_encode(ctx: Ctx, clip: dict, prompt: str, vae: dict | None = None, image1: np.ndarray | None = None,
                      image2: np.ndarray | None = None, image3: np.ndarray | None = None) -> tuple:
    ctx.work()
    return ([{"text": prompt, "edit": image1, "references": sum(i is not None for i in (image1, image2, image3))}],)


def _scale_to_pixels(ctx: Ctx, image: np.ndarray, upscale_method: str, megapixels: float) -> tuple:
    from .comfyui import _resize

    ctx.work()
    h, w = image.shape[1:3]
    scale = (megapixels * 1024 * 1024 / (w * h)) ** 0.5
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    return (np.stack([_resize(i, nw, nh) for i in image]),)


def _empty_sd3_latent(ctx: Ctx, width: int, height: int, batch_size: int) -> tuple:
    return ({"samples": np.zeros((batch_size, height // 8 * 8, width // 8 * 8, 3), np.float32)},)


def _dual_clip(ctx: Ctx, clip_name1: str, clip_name2: str, type: str, device: str = "default") -> tuple:
    ctx.work()
    return ({"name": f"{clip_name1}+{clip_name2}"},)


def _flux_guidance(ctx: Ctx, conditioning: list, guidance: float) -> tuple:
    return ([{**c, "guidance": guidance} for c in conditioning],)


def _differential_diffusion(ctx: Ctx, model: dict, strength: float = 1.0) -> tuple:
    return ({**model, "differential": strength},)


def _inpaint_conditioning(ctx: Ctx, positive: list, negative: list, vae: dict, pixels: np.ndarray, mask: np.ndarray,
                          noise_mask: bool) -> tuple:
    """nodes.InpaintModelConditioning: the picture (centre-cropped to 8 px) is the latent, the mask says where to
    generate (a fill model keeps the rest)."""
    from .comfyui import _crop8

    ctx.work()
    pixels = _crop8(pixels)[..., :3].copy()
    masks = _crop8(_fit(mask.reshape(-1, *mask.shape[-2:])[..., None], *pixels.shape[2:0:-1])[..., 0])
    return positive, negative, {"samples": pixels, "noise_mask": np.round(masks)}


def video_node_classes() -> list[NodeClass]:
    return [
        recorded("LoraLoader", _lora), recorded("LoraLoaderModelOnly", _lora_model_only),
        recorded("PrimitiveInt", _primitive_int),
        recorded("LoadVideo", _load_video), recorded("GetVideoComponents", _video_components),
        recorded("CreateVideo", _create_video), recorded("SaveVideo", _save_video),
        recorded("WanVaceToVideo", _wan_vace), recorded("TrimVideoLatent", _trim_latent),
        recorded("ImagePadForOutpaint", _pad_for_outpaint), recorded("RepeatImageBatch", _repeat_images),
        recorded("ImageBatch", _image_batch), recorded("SolidMask", _solid_mask),
        recorded("GetImageSize", _image_size), recorded("InvertMask", _invert_mask),
        recorded("RebatchImages", _rebatch),
        recorded("TextEncodeQwenImageEditPlus", _qwen_edit_encode), recorded("CFGNorm", _passthrough("model")),
        recorded("ModelSamplingAuraFlow", _passthrough("model")),
        recorded("ImageScaleToTotalPixels", _scale_to_pixels), recorded("EmptySD3LatentImage", _empty_sd3_latent),
        recorded("DualCLIPLoader", _dual_clip), recorded("FluxGuidance", _flux_guidance),
        recorded("DifferentialDiffusion", _differential_diffusion),
        recorded("InpaintModelConditioning", _inpaint_conditioning),
    ]

"""A ComfyUI 0.3.x server in process, for the comfyui adapter's tests (protocol: shared/PROVIDERS.md section 1).

It speaks ComfyUI's HTTP and WebSocket API as observed on a real server: /prompt with ComfyUI's own
validation (invalid_prompt, prompt_no_outputs, prompt_outputs_failed_validation with node_errors; `number` goes
up even on rejection), /object_info, /upload/image (same bytes reuse the name, different bytes get "name (1)"),
/history (200 {} for an unknown id), /view (404 empty, 400 on '..'), /queue (delete touches pending only),
/interrupt (cooperative: checked before each node and at each sampler step), and /ws with the observed
message order. It EXECUTES graphs with cheap deterministic stand-ins (numpy + PIL) for the model nodes, so
outputs are real PNGs that depend on the prompt, seed, inputs and size, and it caches node outputs the way
ComfyUI does (an identical resubmission runs nothing and names the old files).

Control from tests: `missing` node classes, model lists, `node_seconds` / `class_seconds` (time per node),
`fail_node(class, message)` (execution_error), `fail_next(path, n, status, retry_after)` (429/503 from a proxy),
`hang(path, seconds)`, `drop_ws_on = "<message type>"`, `refuse_ws`, `token` (an authenticating proxy), and
`requests` / `uploads` record everything received.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import heapq
import io
import json
import math
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from PIL import Image, ImageOps, PngImagePlugin
from starlette.websockets import WebSocketDisconnect

MAX_RESOLUTION = 16384
SAMPLERS = ["euler", "euler_cfg_pp", "euler_ancestral", "heun", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast",
            "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_3m_sde", "ddpm", "lcm", "ipndm",
            "deis", "res_multistep", "ddim", "uni_pc", "uni_pc_bh2"]
SCHEDULERS = ["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
              "linear_quadratic", "kl_optimal"]
CLIP_TYPES = ["stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi", "ltxv", "pixart", "cosmos",
              "lumina2", "wan", "hidream", "chroma", "ace", "omnigen2", "qwen_image", "hunyuan_image"]
REMBG_MODELS = ["u2net: general purpose", "u2netp: lightweight general purpose", "u2net_human_seg: human segmentation",
                "u2net_cloth_seg: cloths Parsing", "silueta: very small u2net", "isnet-general-use: general purpose",
                "isnet-anime: anime illustrations", "sam: general purpose"]
REMBG_PROVIDERS = ["CPU", "CUDA", "ROCM", "DirectML", "OpenVINO", "CoreML", "Tensorrt", "Azure"]
DEFAULT_MODELS = {
    "checkpoints": ["v1-5-pruned-emaonly-fp16.safetensors", "sd_xl_base_1.0.safetensors"],
    "diffusion_models": ["wan2.1_flf2v_720p_14B_fp16.safetensors", "qwen_image_edit_2509_fp8_e4m3fn.safetensors",
                         "flux1-dev-kontext_fp8_scaled.safetensors"],
    "text_encoders": ["umt5_xxl_fp8_e4m3fn_scaled.safetensors", "qwen_2.5_vl_7b_fp8_scaled.safetensors",
                      "clip_l.safetensors", "t5xxl_fp8_e4m3fn_scaled.safetensors"],
    "vae": ["wan_2.1_vae.safetensors", "qwen_image_vae.safetensors", "ae.safetensors"],
    "clip_vision": ["clip_vision_h.safetensors"],
    "loras": ["Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors"],
}
DUAL_CLIP_TYPES = ["sdxl", "sd3", "flux", "hunyuan_video", "hidream", "hunyuan_image"]


class Interrupted(Exception):
    """comfy.model_management.InterruptProcessingException."""


class InjectedFailure(Exception):
    def __init__(self, message: str, type_name: str):
        super().__init__(message)
        self.type_name = type_name


def INT(default: int, lo: int, hi: int, step: int = 1, **extra: Any) -> list:
    return ["INT", {"default": default, "min": lo, "max": hi, "step": step, **extra}]


def FLOAT(default: float, lo: float, hi: float, step: float = 0.01, **extra: Any) -> list:
    return ["FLOAT", {"default": default, "min": lo, "max": hi, "step": step, **extra}]


@dataclass
class NodeClass:
    name: str
    required: dict[str, Any]  # input -> [TYPE | [choices] | callable(server) -> [choices], {options}]
    outputs: tuple[str, ...]
    run: Callable[..., Any]
    optional: dict[str, Any] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)
    output_names: tuple[str, ...] | None = None
    output_node: bool = False
    category: str = ""
    module: str = "nodes"
    validate: Callable[..., Any] | None = None  # VALIDATE_INPUTS: True or a message; replaces the combo check

    def spec(self, server: FakeComfyUI, group: dict[str, Any]) -> dict[str, list]:
        out = {}
        for name, value in group.items():
            kind = value[0](server) if callable(value[0]) else value[0]
            out[name] = [kind, *value[1:]]
        return out

    def info(self, server: FakeComfyUI) -> dict[str, Any]:
        required, optional = self.spec(server, self.required), self.spec(server, self.optional)
        if server.combo_style == "v3":  # schema v3 nodes describe combos as ["COMBO", {"options": [...]}]
            for group in (required, optional):
                for name, value in group.items():
                    if isinstance(value[0], list):
                        group[name] = ["COMBO", {**(value[1] if len(value) > 1 else {}), "options": value[0]}]
        inputs: dict[str, Any] = {"required": required}
        if optional:
            inputs["optional"] = optional
        if self.hidden:
            inputs["hidden"] = dict(self.hidden)
        return {"input": inputs, "input_order": {"required": list(required), **({"optional": list(optional)}
                                                                                 if optional else {})},
                "output": list(self.outputs), "output_is_list": [False] * len(self.outputs),
                "output_name": list(self.output_names or self.outputs), "name": self.name,
                "display_name": self.name, "description": "", "python_module": self.module,
                "category": self.category, "output_node": self.output_node}


@dataclass
class Ctx:
    """What a running node sees: its server, prompt and id; `work` spends its configured time, `step` reports
    sampler progress and is where an interrupt lands inside a node."""

    server: FakeComfyUI
    prompt_id: str
    node_id: str
    class_type: str
    sid: str | None
    prompt: dict[str, Any]
    states: dict[str, dict[str, Any]]

    def seconds(self) -> float:
        return self.server.class_seconds.get(self.class_type, self.server.node_seconds)

    def work(self) -> None:
        if self.seconds():
            time.sleep(self.seconds())  # not interruptible: ComfyUI checks between nodes

    def step(self, value: int, total: int) -> None:
        if self.seconds():
            time.sleep(self.seconds() / total)
        if self.server.interrupt_flag.is_set():
            raise Interrupted()
        self.server.send("progress", {"value": value, "max": total, "prompt_id": self.prompt_id,
                                      "node": self.node_id}, self.sid)
        self.states[self.node_id].update(value=value, max=total)
        self.server.send_progress_state(self.prompt_id, self.states, self.sid)


# -- pixels ------------------------------------------------------------------------------------------------


def _pattern(seed: int, text: str, h: int, w: int, index: int = 0) -> np.ndarray:
    """A smooth image that depends on seed, text and index: the stand-in for a diffusion sample."""
    digest = hashlib.sha256(f"{seed}|{text}|{index}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    grid = (rng.random((4, 4, 3)) * 255).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(grid).resize((max(1, w), max(1, h)), Image.Resampling.BILINEAR),
                        np.float32) / 255.0
    return np.clip(smooth + rng.normal(0, 0.03, (h, w, 3)).astype(np.float32), 0, 1)


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """(H, W, C) or (H, W) float in 0..1 -> resized, bilinear."""
    if img.shape[1] == w and img.shape[0] == h:
        return img
    if img.ndim == 2:
        return np.asarray(Image.fromarray(img.astype(np.float32), "F").resize((w, h), Image.Resampling.BILINEAR))
    return np.stack([_resize(img[..., c], w, h) for c in range(img.shape[-1])], axis=-1)


def _upscale_center(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """comfy.utils.common_upscale(..., crop="center"): crop to the target aspect, then scale."""
    ih, iw = img.shape[:2]
    if iw / ih > w / h:
        cw = round(ih * w / h)
        x = (iw - cw) // 2
        img = img[:, x:x + cw]
    elif iw / ih < w / h:
        ch = round(iw * h / w)
        y = (ih - ch) // 2
        img = img[y:y + ch]
    return _resize(img, w, h)


def _crop8(arr: np.ndarray) -> np.ndarray:
    """VAEEncode.vae_encode_crop_pixels: centre crop (B, H, W, ...) to multiples of 8."""
    h, w = arr.shape[1] // 8 * 8, arr.shape[2] // 8 * 8
    y, x = (arr.shape[1] % 8) // 2, (arr.shape[2] % 8) // 2
    return arr[:, y:y + h, x:x + w]


def _to_png(img: np.ndarray, text: dict[str, str] | None = None) -> bytes:
    pixels = np.clip(255.0 * img, 0, 255).astype(np.uint8)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[pixels.shape[-1]] if pixels.ndim == 3 else "L"
    image = Image.fromarray(pixels[..., 0] if mode == "L" and pixels.ndim == 3 else pixels, mode)
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buf = io.BytesIO()
    image.save(buf, "PNG", pnginfo=info, compress_level=1)
    return buf.getvalue()


# -- nodes -------------------------------------------------------------------------------------------------


def _checkpoint(ctx: Ctx, ckpt_name: str) -> tuple:
    ctx.work()
    return {"name": ckpt_name}, {"name": ckpt_name}, {"name": ckpt_name}


def _loader(key: str) -> Callable[..., tuple]:
    def run(ctx: Ctx, **kwargs: Any) -> tuple:
        ctx.work()
        return ({"name": kwargs[key]},)
    return run


def _clip_text_encode(ctx: Ctx, text: str, clip: dict) -> tuple:
    ctx.work()
    return ([{"text": text}],)


def _empty_latent(ctx: Ctx, width: int, height: int, batch_size: int) -> tuple:
    ctx.work()
    return ({"samples": np.zeros((batch_size, height // 8 * 8, width // 8 * 8, 3), np.float32)},)


def _ksampler(ctx: Ctx, model: dict, seed: int, steps: int, cfg: float, sampler_name: str, scheduler: str,
              positive: list, negative: list, latent_image: dict, denoise: float = 1.0) -> tuple:
    for i in range(steps):
        ctx.step(i + 1, steps)
    text = f"{positive[0].get('text', '')}|{negative[0].get('text', '')}|{model.get('name')}"
    lat = latent_image["samples"]
    chosen = ctx.server.seed_images.get(seed)
    if chosen is not None:  # the test asked for this picture at this seed (a face for the identity gate)
        h, w = lat.shape[1:3]
        return ({**latent_image, "samples": np.stack([_upscale_center(chosen, w, h)] * lat.shape[0])},)
    from .comfyui_video import sample

    special = sample(seed, text, positive, latent_image)  # Wan VACE latents, Qwen-Image-Edit conditioning
    if special is not None:
        return (special,)
    if latent_image.get("video"):
        count, h, w = lat.shape[:3]
        start, end = positive[0].get("start"), positive[0].get("end")
        a_img = start if start is not None else _pattern(seed, text, h, w, 0)
        b_img = end if end is not None else _pattern(seed, text, h, w, 1)
        frames = []
        for t in range(count):
            a = t / (count - 1) if count > 1 else 0.0
            wiggle = 0.25 * math.sin(math.pi * a)  # zero at both ends: the conditioned frames come back as given
            base = (1 - a) * a_img + a * b_img
            frames.append((1 - wiggle) * base + wiggle * _pattern(seed, text, h, w, t + 2))
        return ({**latent_image, "samples": np.stack(frames).astype(np.float32)},)
    refs = positive[0].get("refs") or []
    out = []
    for b in range(lat.shape[0]):
        gen = _pattern(seed, text, lat.shape[1], lat.shape[2], b)
        if refs:  # an edit model (Qwen-Image-Edit, Kontext) keeps the subjects of its reference images
            gen = 0.85 * _edit_subject(refs, lat[b]) + 0.15 * gen
        mixed = (1 - denoise) * lat[b] + denoise * gen
        if "noise_mask" in latent_image:
            m = latent_image["noise_mask"][min(b, len(latent_image["noise_mask"]) - 1)][..., None]
            mixed = m * mixed + (1 - m) * lat[b]
        out.append(mixed)
    return ({**latent_image, "samples": np.stack(out).astype(np.float32)},)


def _edit_subject(refs: list[np.ndarray], latent: np.ndarray) -> np.ndarray:
    """What an edit model's sample shows: editing an image (a latent encoded from it), that image's subject;
    making a new one (an empty latent), its references side by side (a two-shot of two characters)."""
    h, w = latent.shape[:2]
    if latent.any():
        return _upscale_center(refs[0][..., :3], w, h)
    edges = [round(k * w / len(refs)) for k in range(len(refs) + 1)]
    strips = [_upscale_center(r[..., :3], max(1, edges[k + 1] - edges[k]), h) for k, r in enumerate(refs)]
    return np.concatenate(strips, axis=1)


def _vae_decode(ctx: Ctx, samples: dict, vae: dict) -> tuple:
    ctx.work()
    return (np.clip(samples["samples"], 0, 1),)


def _vae_encode(ctx: Ctx, pixels: np.ndarray, vae: dict) -> tuple:
    ctx.work()
    return ({"samples": _crop8(pixels)[..., :3].copy()},)


def _vae_encode_inpaint(ctx: Ctx, pixels: np.ndarray, vae: dict, mask: np.ndarray, grow_mask_by: int = 6) -> tuple:
    ctx.work()
    masks = np.stack([_resize(m, pixels.shape[2], pixels.shape[1]) for m in mask.reshape(-1, *mask.shape[-2:])])
    pixels, masks = _crop8(pixels.copy()), _crop8(masks)
    hard = np.round(masks)
    grown = hard
    if grow_mask_by:
        from PIL import ImageFilter

        size = grow_mask_by + (1 - grow_mask_by % 2)  # MaxFilter wants an odd size
        grown = np.stack([np.asarray(Image.fromarray((m * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(size)),
                                     np.float32) / 255 for m in hard])
    keep = (1.0 - hard)[..., None]
    pixels[..., :3] = (pixels[..., :3] - 0.5) * keep + 0.5
    return ({"samples": pixels[..., :3], "noise_mask": np.round(grown)},)


def _repeat_latent(ctx: Ctx, samples: dict, amount: int) -> tuple:
    ctx.work()
    out = dict(samples)
    out["samples"] = np.concatenate([samples["samples"]] * amount)
    if "noise_mask" in samples:
        out["noise_mask"] = np.concatenate([samples["noise_mask"]] * amount)
    return (out,)


def _load_image(ctx: Ctx, image: str) -> tuple:
    ctx.work()
    with Image.open(io.BytesIO(ctx.server.files["input"][image])) as img:
        img = ImageOps.exif_transpose(img)
        rgb = np.asarray(img.convert("RGB"), np.float32) / 255.0
        if "A" in img.getbands():
            mask = 1.0 - np.asarray(img.getchannel("A"), np.float32) / 255.0
        else:
            mask = np.zeros((64, 64), np.float32)
    return rgb[None], mask[None]


def _load_image_valid(server: FakeComfyUI, image: str) -> bool | str:
    if image not in server.files["input"]:
        return f"Invalid image file: {image}"
    return True


def _image_to_mask(ctx: Ctx, image: np.ndarray, channel: str) -> tuple:
    ctx.work()
    return (image[..., ["red", "green", "blue", "alpha"].index(channel)].copy(),)


def _mask_to_image(ctx: Ctx, mask: np.ndarray) -> tuple:
    ctx.work()
    return (np.repeat(mask.reshape(-1, *mask.shape[-2:])[..., None], 3, axis=-1),)


def _composite(ctx: Ctx, destination: np.ndarray, source: np.ndarray, x: int, y: int, resize_source: bool,
               mask: np.ndarray | None = None) -> tuple:
    """ImageCompositeMasked (comfy_extras/nodes_mask.composite)."""
    ctx.work()
    dest = destination.copy()
    if resize_source:
        source = np.stack([_resize(s, dest.shape[2], dest.shape[1]) for s in source])
    sh, sw = source.shape[1:3]
    if mask is None:
        m = np.ones((source.shape[0], sh, sw), np.float32)
    else:
        m = np.stack([_resize(mm, sw, sh) for mm in mask.reshape(-1, *mask.shape[-2:])])
    left, top = min(x, dest.shape[2]), min(y, dest.shape[1])
    vis_h, vis_w = min(sh, dest.shape[1] - top), min(sw, dest.shape[2] - left)
    for b in range(dest.shape[0]):
        mb = m[min(b, len(m) - 1), :vis_h, :vis_w, None]
        sb = source[min(b, len(source) - 1), :vis_h, :vis_w, :3]
        region = dest[b, top:top + vis_h, left:left + vis_w, :3]
        dest[b, top:top + vis_h, left:left + vis_w, :3] = mb * sb + (1 - mb) * region
    return (dest,)


def _image_scale(ctx: Ctx, image: np.ndarray, upscale_method: str, width: int, height: int, crop: str) -> tuple:
    ctx.work()
    if width == 0 and height == 0:
        return (image,)
    h, w = image.shape[1:3]
    width = width or max(1, round(w * height / h))
    height = height or max(1, round(h * width / w))
    scale = _upscale_center if crop == "center" else _resize
    return (np.stack([scale(img, width, height) for img in image]),)


def _image_invert(ctx: Ctx, image: np.ndarray) -> tuple:
    ctx.work()
    return (1.0 - image,)


def _model_sampling(ctx: Ctx, model: dict, shift: float) -> tuple:
    ctx.work()
    return ({**model, "shift": shift},)


def _clip_vision_encode(ctx: Ctx, clip_vision: dict, image: np.ndarray, crop: str = "center") -> tuple:
    ctx.work()
    return ({"mean": image.mean(axis=(0, 1, 2)).tolist()},)


def _wan_latent(width: int, height: int, length: int) -> dict:
    frames = ((length - 1) // 4) * 4 + 1  # latent frames ((length-1)//4)+1, decoded 4 per latent frame (+1)
    return {"samples": np.zeros((frames, height // 8 * 8, width // 8 * 8, 3), np.float32), "video": True}


def _wan_flf(ctx: Ctx, positive: list, negative: list, vae: dict, width: int, height: int, length: int,
             batch_size: int, start_image: np.ndarray | None = None, end_image: np.ndarray | None = None,
             clip_vision_start_image: Any = None, clip_vision_end_image: Any = None) -> tuple:
    ctx.work()
    latent = _wan_latent(width, height, length)
    h, w = latent["samples"].shape[1:3]
    extra = {"start": None if start_image is None else _upscale_center(start_image[0], w, h),
             "end": None if end_image is None else _upscale_center(end_image[-1], w, h)}
    return [{**c, **extra} for c in positive], [{**c, **extra} for c in negative], latent


def _wan_i2v(ctx: Ctx, positive: list, negative: list, vae: dict, width: int, height: int, length: int,
             batch_size: int, start_image: np.ndarray | None = None, clip_vision_output: Any = None) -> tuple:
    return _wan_flf(ctx, positive, negative, vae, width, height, length, batch_size, start_image=start_image)


def _empty_sd3_latent(ctx: Ctx, width: int, height: int, batch_size: int) -> tuple:
    return _empty_latent(ctx, width, height, batch_size)


def _scale_to_pixels(ctx: Ctx, image: np.ndarray, upscale_method: str, megapixels: float) -> tuple:
    """ImageScaleToTotalPixels: the same aspect at `megapixels` * 1024 * 1024 pixels."""
    ctx.work()
    h, w = image.shape[1:3]
    scale = math.sqrt(megapixels * 1024 * 1024 / (w * h))
    return (np.stack([_resize(img, max(1, round(w * scale)), max(1, round(h * scale))) for img in image]),)


def _kontext_scale(ctx: Ctx, image: np.ndarray) -> tuple:
    """FluxKontextImageScale: about one megapixel in the same aspect, sides a multiple of 16."""
    ctx.work()
    h, w = image.shape[1:3]
    scale = math.sqrt(1024 * 1024 / (w * h))
    size = (max(16, round(w * scale / 16) * 16), max(16, round(h * scale / 16) * 16))
    return (np.stack([_resize(img, *size) for img in image]),)


def _qwen_edit_encode(ctx: Ctx, clip: dict, prompt: str, vae: dict | None = None, image1: np.ndarray | None = None,
                      image2: np.ndarray | None = None, image3: np.ndarray | None = None) -> tuple:
    """TextEncodeQwenImageEditPlus: the instruction with up to three reference images (kept for the sampler)."""
    ctx.work()
    return ([{"text": prompt, "refs": [i[0] for i in (image1, image2, image3) if i is not None]}],)


def _reference_latent(ctx: Ctx, conditioning: list, latent: dict | None = None) -> tuple:
    """ReferenceLatent: the conditioning with one more reference (Flux Kontext, Qwen edit)."""
    ctx.work()
    extra = [] if latent is None else [latent["samples"][0]]
    return ([{**c, "refs": [*c.get("refs", []), *extra]} for c in conditioning],)


def _conditioning_set(key: str) -> Callable[..., tuple]:
    def run(ctx: Ctx, conditioning: list, **values: Any) -> tuple:
        ctx.work()
        return ([{**c, key: next(iter(values.values()), None)} for c in conditioning],)
    return run


def _zero_out(ctx: Ctx, conditioning: list) -> tuple:
    ctx.work()
    return ([{"text": ""} for _c in conditioning],)


def _model_patch(ctx: Ctx, model: dict, **values: Any) -> tuple:
    ctx.work()
    return ({**model, **{k: v for k, v in values.items()}},)


def _rembg_session(ctx: Ctx, model: str, providers: str) -> tuple:
    ctx.work()
    return ({"model": model, "providers": providers},)


def _remove_background(ctx: Ctx, rembg_session: dict, image: np.ndarray) -> tuple:
    """Foreground = pixels far from the border's median colour (a stand-in for rembg's u2net)."""
    ctx.work()
    out, masks = [], []
    for img in image:
        border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
        distance = np.abs(img[..., :3] - np.median(border, axis=0)).mean(axis=-1)
        alpha = (distance > 0.15).astype(np.float32)
        out.append(np.concatenate([img[..., :3], alpha[..., None]], axis=-1))
        masks.append(alpha)
    return np.stack(out), np.stack(masks)


def _save_image(ctx: Ctx, images: np.ndarray, filename_prefix: str = "ComfyUI", kind: str = "output",
                **hidden: Any) -> dict:
    ctx.work()
    subfolder, _, prefix = filename_prefix.rpartition("/")
    store = ctx.server.files[kind]
    taken = [k for k in store if k.startswith(f"{subfolder}/{prefix}_" if subfolder else f"{prefix}_")]
    counter = max((int(k.rsplit("_", 2)[-2]) for k in taken if k.rsplit("_", 2)[-2].isdigit()), default=0) + 1
    results = []
    for img in images:
        name = f"{prefix}_{counter:05}_.png"
        store[f"{subfolder}/{name}" if subfolder else name] = _to_png(img, {"prompt": json.dumps(ctx.prompt)})
        results.append({"filename": name, "subfolder": subfolder, "type": kind})
        counter += 1
    return {"ui": {"images": results}, "result": ()}


def _preview_image(ctx: Ctx, images: np.ndarray, **hidden: Any) -> dict:
    return _save_image(ctx, images, "ComfyUI_temp", kind="temp")


def _models(key: str) -> Callable[[FakeComfyUI], list[str]]:
    return lambda server: list(server.models.get(key, []))


def node_classes() -> dict[str, NodeClass]:
    """The node classes this double knows, with ComfyUI's input specs (nodes.py, comfy_extras, ComfyUI_essentials)."""
    image, mask = ["IMAGE"], ["MASK"]
    classes = [
        NodeClass("CheckpointLoaderSimple", {"ckpt_name": [_models("checkpoints"),
                                                           {"tooltip": "The name of the checkpoint (model) to load."}]},
                  ("MODEL", "CLIP", "VAE"), _checkpoint, category="loaders"),
        NodeClass("UNETLoader", {"unet_name": [_models("diffusion_models")],
                                 "weight_dtype": [["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]]},
                  ("MODEL",), _loader("unet_name"), category="advanced/loaders"),
        NodeClass("CLIPLoader", {"clip_name": [_models("text_encoders")], "type": [CLIP_TYPES]}, ("CLIP",),
                  _loader("clip_name"), optional={"device": [["default", "cpu"], {"advanced": True}]},
                  category="advanced/loaders"),
        NodeClass("VAELoader", {"vae_name": [_models("vae")]}, ("VAE",), _loader("vae_name"), category="loaders"),
        NodeClass("CLIPVisionLoader", {"clip_name": [_models("clip_vision")]}, ("CLIP_VISION",),
                  _loader("clip_name"), category="loaders"),
        NodeClass("CLIPVisionEncode", {"clip_vision": ["CLIP_VISION"], "image": image, "crop": [["center", "none"]]},
                  ("CLIP_VISION_OUTPUT",), _clip_vision_encode, category="conditioning"),
        NodeClass("CLIPTextEncode", {"text": ["STRING", {"multiline": True, "dynamicPrompts": True}],
                                     "clip": ["CLIP"]}, ("CONDITIONING",), _clip_text_encode, category="conditioning"),
        NodeClass("ModelSamplingSD3", {"model": ["MODEL"], "shift": FLOAT(3.0, 0.0, 100.0)}, ("MODEL",),
                  _model_sampling, category="advanced/model"),
        NodeClass("EmptyLatentImage", {"width": INT(512, 16, MAX_RESOLUTION, 8), "height": INT(512, 16, MAX_RESOLUTION, 8),
                                       "batch_size": INT(1, 1, 4096)}, ("LATENT",), _empty_latent, category="latent"),
        NodeClass("KSampler", {"model": ["MODEL"], "seed": INT(0, 0, 0xFFFFFFFFFFFFFFFF, control_after_generate=True),
                               "steps": INT(20, 1, 10000), "cfg": FLOAT(8.0, 0.0, 100.0, 0.1, round=0.01),
                               "sampler_name": [SAMPLERS], "scheduler": [SCHEDULERS], "positive": ["CONDITIONING"],
                               "negative": ["CONDITIONING"], "latent_image": ["LATENT"],
                               "denoise": FLOAT(1.0, 0.0, 1.0)}, ("LATENT",), _ksampler, category="sampling"),
        NodeClass("VAEDecode", {"samples": ["LATENT"], "vae": ["VAE"]}, ("IMAGE",), _vae_decode, category="latent"),
        NodeClass("VAEEncode", {"pixels": image, "vae": ["VAE"]}, ("LATENT",), _vae_encode, category="latent"),
        NodeClass("VAEEncodeForInpaint", {"pixels": image, "vae": ["VAE"], "mask": mask,
                                          "grow_mask_by": INT(6, 0, 64)}, ("LATENT",), _vae_encode_inpaint,
                  category="latent/inpaint"),
        NodeClass("RepeatLatentBatch", {"samples": ["LATENT"], "amount": INT(1, 1, 64)}, ("LATENT",), _repeat_latent,
                  category="latent/batch"),
        NodeClass("LoadImage", {"image": [lambda s: sorted(s.files["input"]), {"image_upload": True}]},
                  ("IMAGE", "MASK"), _load_image, category="image", validate=_load_image_valid),
        NodeClass("ImageToMask", {"image": image, "channel": [["red", "green", "blue", "alpha"]]}, ("MASK",),
                  _image_to_mask, category="mask", module="comfy_extras.nodes_mask"),
        NodeClass("MaskToImage", {"mask": mask}, ("IMAGE",), _mask_to_image, category="mask",
                  module="comfy_extras.nodes_mask"),
        NodeClass("ImageCompositeMasked", {"destination": image, "source": image, "x": INT(0, 0, MAX_RESOLUTION),
                                           "y": INT(0, 0, MAX_RESOLUTION), "resize_source": ["BOOLEAN", {"default": False}]},
                  ("IMAGE",), _composite, optional={"mask": mask}, category="image",
                  module="comfy_extras.nodes_mask"),
        NodeClass("ImageScale", {"image": image, "upscale_method": [["nearest-exact", "bilinear", "area", "bicubic",
                                                                     "lanczos"]],
                                 "width": INT(512, 0, MAX_RESOLUTION), "height": INT(512, 0, MAX_RESOLUTION),
                                 "crop": [["disabled", "center"]]}, ("IMAGE",), _image_scale, category="image/upscaling"),
        NodeClass("ImageInvert", {"image": image}, ("IMAGE",), _image_invert, category="image"),
        NodeClass("WanImageToVideo", {"positive": ["CONDITIONING"], "negative": ["CONDITIONING"], "vae": ["VAE"],
                                      "width": INT(832, 16, MAX_RESOLUTION, 16), "height": INT(480, 16, MAX_RESOLUTION, 16),
                                      "length": INT(81, 1, MAX_RESOLUTION, 4), "batch_size": INT(1, 1, 4096)},
                  ("CONDITIONING", "CONDITIONING", "LATENT"), _wan_i2v,
                  optional={"clip_vision_output": ["CLIP_VISION_OUTPUT"], "start_image": image},
                  output_names=("positive", "negative", "latent"), category="conditioning/video_models",
                  module="comfy_extras.nodes_wan"),
        NodeClass("WanFirstLastFrameToVideo", {"positive": ["CONDITIONING"], "negative": ["CONDITIONING"], "vae": ["VAE"],
                                               "width": INT(832, 16, MAX_RESOLUTION, 16),
                                               "height": INT(480, 16, MAX_RESOLUTION, 16),
                                               "length": INT(81, 1, MAX_RESOLUTION, 4), "batch_size": INT(1, 1, 4096)},
                  ("CONDITIONING", "CONDITIONING", "LATENT"), _wan_flf,
                  optional={"clip_vision_start_image": ["CLIP_VISION_OUTPUT"],
                            "clip_vision_end_image": ["CLIP_VISION_OUTPUT"], "start_image": image, "end_image": image},
                  output_names=("positive", "negative", "latent"), category="conditioning/video_models",
                  module="comfy_extras.nodes_wan"),
        NodeClass("SaveImage", {"images": image, "filename_prefix": ["STRING", {"default": "ComfyUI"}]}, (),
                  _save_image, hidden={"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}, output_node=True,
                  category="image"),
        NodeClass("PreviewImage", {"images": image}, (), _preview_image,
                  hidden={"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}, output_node=True, category="image"),
        # Qwen-Image-Edit 2509 and Flux.1 Kontext (specs as ComfyUI 0.3.64's /object_info gives them)
        NodeClass("EmptySD3LatentImage", {"width": INT(1024, 16, MAX_RESOLUTION, 16),
                                          "height": INT(1024, 16, MAX_RESOLUTION, 16), "batch_size": INT(1, 1, 4096)},
                  ("LATENT",), _empty_sd3_latent, category="latent/sd3", module="comfy_extras.nodes_sd3"),
        NodeClass("ImageScaleToTotalPixels", {"image": image, "upscale_method": [["nearest-exact", "bilinear", "area",
                                                                                  "bicubic", "lanczos"]],
                                              "megapixels": FLOAT(1.0, 0.01, 16.0)}, ("IMAGE",), _scale_to_pixels,
                  category="image/upscaling", module="comfy_extras.nodes_post_processing"),
        NodeClass("TextEncodeQwenImageEditPlus", {"clip": ["CLIP", {}], "prompt": ["STRING", {"multiline": True,
                                                                                              "dynamicPrompts": True}]},
                  ("CONDITIONING",), _qwen_edit_encode, optional={"vae": ["VAE", {}], "image1": ["IMAGE", {}],
                                                                  "image2": ["IMAGE", {}], "image3": ["IMAGE", {}]},
                  category="advanced/conditioning", module="comfy_extras.nodes_qwen"),
        NodeClass("ModelSamplingAuraFlow", {"model": ["MODEL"], "shift": FLOAT(1.73, 0.0, 100.0)}, ("MODEL",),
                  _model_patch, category="advanced/model", module="comfy_extras.nodes_model_advanced"),
        NodeClass("CFGNorm", {"model": ["MODEL", {}], "strength": FLOAT(1.0, 0.0, 100.0)}, ("MODEL",), _model_patch,
                  category="advanced/guidance", module="comfy_extras.nodes_cfg"),
        NodeClass("LoraLoaderModelOnly", {"model": ["MODEL"], "lora_name": [_models("loras")],
                                          "strength_model": FLOAT(1.0, -100.0, 100.0)}, ("MODEL",), _model_patch,
                  category="loaders"),
        NodeClass("DualCLIPLoader", {"clip_name1": [_models("text_encoders")], "clip_name2": [_models("text_encoders")],
                                     "type": [DUAL_CLIP_TYPES]}, ("CLIP",), _loader("clip_name1"),
                  optional={"device": [["default", "cpu"], {"advanced": True}]}, category="advanced/loaders"),
        NodeClass("FluxGuidance", {"conditioning": ["CONDITIONING", {}], "guidance": FLOAT(3.5, 0.0, 100.0, 0.1)},
                  ("CONDITIONING",), _conditioning_set("guidance"), category="advanced/conditioning/flux",
                  module="comfy_extras.nodes_flux"),
        NodeClass("FluxKontextImageScale", {"image": ["IMAGE", {}]}, ("IMAGE",), _kontext_scale,
                  category="advanced/conditioning/flux", module="comfy_extras.nodes_flux"),
        NodeClass("FluxKontextMultiReferenceLatentMethod",
                  {"conditioning": ["CONDITIONING", {}], "reference_latents_method": [["offset", "index", "uxo/uno"]]},
                  ("CONDITIONING",), _conditioning_set("reference_latents_method"),
                  category="advanced/conditioning/flux", module="comfy_extras.nodes_flux"),
        NodeClass("ReferenceLatent", {"conditioning": ["CONDITIONING", {}]}, ("CONDITIONING",), _reference_latent,
                  optional={"latent": ["LATENT", {}]}, category="advanced/conditioning/edit_models",
                  module="comfy_extras.nodes_edit_model"),
        NodeClass("ConditioningZeroOut", {"conditioning": ["CONDITIONING"]}, ("CONDITIONING",), _zero_out,
                  category="advanced/conditioning"),
        NodeClass("RemBGSession+", {"model": [REMBG_MODELS], "providers": [REMBG_PROVIDERS]}, ("REMBG_SESSION",),
                  _rembg_session, category="essentials/image manipulation",
                  module="custom_nodes.ComfyUI_essentials"),
        NodeClass("ImageRemoveBackground+", {"rembg_session": ["REMBG_SESSION"], "image": image}, ("IMAGE", "MASK"),
                  _remove_background, category="essentials/image manipulation",
                  module="custom_nodes.ComfyUI_essentials"),
    ]
    from .comfyui_video import video_node_classes

    known = {c.name for c in classes}  # a class defined above keeps its own stand-in
    classes += [c for c in video_node_classes() if c.name not in known]  # read from the 0.3.64 record
    return {c.name: c for c in classes}


# -- the server --------------------------------------------------------------------------------------------


class FakeComfyUI:
    def __init__(self, *, missing: tuple[str, ...] = (), models: dict[str, list[str]] | None = None,
                 node_seconds: float = 0.0, class_seconds: dict[str, float] | None = None, token: str | None = None,
                 combo_style: str = "classic"):
        self.classes = {k: v for k, v in node_classes().items() if k not in missing}
        if models is None:
            from .comfyui_video import VIDEO_MODELS

            models = {k: list(dict.fromkeys([*DEFAULT_MODELS.get(k, []), *VIDEO_MODELS.get(k, [])]))
                      for k in {*DEFAULT_MODELS, *VIDEO_MODELS}}
        self.models = copy.deepcopy(models)
        self.node_seconds = node_seconds
        self.class_seconds = dict(class_seconds or {})
        self.token = token
        self.combo_style = combo_style
        self.files: dict[str, dict[str, bytes]] = {"input": {}, "output": {}, "temp": {}}
        # seed -> an RGB float image (H, W, 3) in 0..1 that KSampler returns at that seed instead of its pattern
        self.seed_images: dict[int, np.ndarray] = {}
        self.requests: list[dict[str, Any]] = []  # everything received, in order
        self.uploads: list[dict[str, Any]] = []  # each /upload/image part as it arrived
        self.history: dict[str, dict[str, Any]] = {}
        self.executed: list[str] = []  # prompt ids in the order they started running
        self.number = 0
        self.faults: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        self.hangs: dict[str, float] = {}
        self.failures: dict[str, tuple[str, str]] = {}
        self.drop_ws_on: str | None = None
        self.refuse_ws = False
        self.interrupt_flag = threading.Event()
        self.running: tuple | None = None
        self._queue: list[tuple] = []
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._closing = False
        self._cache: dict[str, tuple[Any, Any]] = {}
        self._clients: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = {}
        self._worker = threading.Thread(target=self._work, name="fake-comfyui-worker", daemon=True)
        self._worker.start()
        self.app = self._build_app()

    # -- control ---------------------------------------------------------------------------------------

    def fail_next(self, path: str, count: int, status: int = 429, retry_after: str | None = "0",
                  body: bytes = b"") -> None:
        """The next `count` requests to `path` (or under it) get `status` (an overloaded proxy in front)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.faults.setdefault(path, []).extend([(status, headers, body)] * count)

    def hang(self, path: str, seconds: float) -> None:
        self.hangs[path] = seconds

    def fail_node(self, class_type: str, message: str, type_name: str = "RuntimeError") -> None:
        self.failures[class_type] = (message, type_name)

    def paths(self, method: str | None = None) -> list[str]:
        return [r["path"] for r in self.requests if method is None or r["method"] == method]

    def close(self) -> None:
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        self._worker.join(5)

    # -- messages --------------------------------------------------------------------------------------

    def send(self, kind: str, data: dict[str, Any], sid: str | None) -> None:
        """PromptServer.send_sync: to one client (sid) or to all (None)."""
        text = json.dumps({"type": kind, "data": data})
        with self._lock:
            targets = list(self._clients.get(sid, [])) if sid else [c for cs in self._clients.values() for c in cs]
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, text))
            except RuntimeError:  # that client's loop is gone
                pass

    def queue_remaining(self) -> int:
        with self._lock:
            return len(self._queue) + (1 if self.running else 0)

    def _status(self) -> None:
        self.send("status", {"status": {"exec_info": {"queue_remaining": self.queue_remaining()}}}, None)

    def send_progress_state(self, prompt_id: str, states: dict[str, dict[str, Any]], sid: str | None) -> None:
        self.send("progress_state", {"prompt_id": prompt_id, "nodes": copy.deepcopy(states)}, sid)

    # -- validation (execution.validate_prompt) --------------------------------------------------------

    def validate_prompt(self, prompt: dict[str, Any]) -> tuple[bool, dict | None, list[str], dict]:
        outputs = []
        for node_id, node in prompt.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return False, _error("invalid_prompt", "Cannot execute because a node is missing the class_type "
                                     "property.", f"Node ID '#{node_id}'"), [], {}
            cls = self.classes.get(node["class_type"])
            if cls is None:
                return False, _error("invalid_prompt", f"Cannot execute because node {node['class_type']} does not "
                                     "exist.", f"Node ID '#{node_id}'"), [], {}
            if cls.output_node:
                outputs.append(node_id)
        if not outputs:
            return False, _error("prompt_no_outputs", "Prompt has no outputs", ""), [], {}
        good, failed, node_errors, validated = [], [], {}, {}
        for out in outputs:
            try:
                ok, reasons = self._validate_inputs(prompt, out, validated)
            except Exception as exc:
                ok, reasons = False, [_error("exception_during_validation", "Exception when validating node",
                                             str(exc))]
                validated[out] = (False, reasons)
            if ok:
                good.append(out)
                continue
            failed.append((out, reasons))
            for node_id, (valid, node_reasons) in validated.items():
                if not valid and node_reasons:
                    entry = node_errors.setdefault(node_id, {"errors": node_reasons, "dependent_outputs": [],
                                                             "class_type": prompt[node_id]["class_type"]})
                    entry["dependent_outputs"].append(out)
        if not good:
            lines = [f"{e['message']}: {e['details']}" for _, reasons in failed for e in reasons]
            return False, _error("prompt_outputs_failed_validation", "Prompt outputs failed validation",
                                 "\n".join(lines)), [], node_errors
        return True, None, good, node_errors

    def _validate_inputs(self, prompt: dict, node_id: str, validated: dict) -> tuple[bool, list]:
        if node_id in validated:
            return validated[node_id]
        node = prompt[node_id]
        cls = self.classes[node["class_type"]]
        inputs = node.get("inputs", {})
        required = cls.spec(self, cls.required)
        declared = {**required, **cls.spec(self, cls.optional)}
        errors, valid = [], True
        for name in declared:
            if name not in inputs:
                if name in required:
                    errors.append(_error("required_input_missing", "Required input is missing", name,
                                         {"input_name": name}))
                continue
            value, info = inputs[name], declared[name]
            kind = info[0]
            if isinstance(value, list):
                if len(value) != 2:
                    errors.append(_error("bad_linked_input", "Bad linked input, must be a length-2 list of "
                                         "[node_id, slot_index]", name, {"input_name": name, "input_config": info,
                                                                         "received_value": value}))
                    continue
                source_id, slot = str(value[0]), value[1]
                try:
                    source = prompt[source_id]
                    produced = self.classes[source["class_type"]].outputs[slot]
                    if not isinstance(kind, list) and produced != kind:
                        errors.append(_error("return_type_mismatch", "Return type mismatch between linked nodes",
                                             f"{name}, received_type({produced}) mismatch input_type({kind})",
                                             {"input_name": name, "input_config": info, "received_type": produced,
                                              "linked_node": value}))
                        continue
                    ok, _ = self._validate_inputs(prompt, source_id, validated)
                    if not ok:
                        valid = False
                except Exception as exc:
                    valid = False
                    validated[source_id] = (False, [_error(
                        "exception_during_inner_validation", "Exception when validating inner node", str(exc),
                        {"input_name": name, "input_config": info, "exception_message": str(exc),
                         "exception_type": type(exc).__name__, "traceback": traceback.format_tb(exc.__traceback__),
                         "linked_node": value})])
                continue
            try:
                if kind == "INT":
                    value = int(value)
                elif kind == "FLOAT":
                    value = float(value)
                elif kind == "STRING":
                    value = str(value)
                elif kind == "BOOLEAN":
                    value = bool(value)
                inputs[name] = value
            except (TypeError, ValueError) as exc:
                errors.append(_error("invalid_input_type", f"Failed to convert an input value to a {kind} value",
                                     f"{name}, {value}, {exc}", {"input_name": name, "input_config": info,
                                                                 "received_value": value, "exception_message": str(exc)}))
                continue
            options = info[1] if len(info) > 1 and isinstance(info[1], dict) else {}
            if "min" in options and value < options["min"]:
                errors.append(_error("value_smaller_than_min", f"Value {value} smaller than min of {options['min']}",
                                     name, {"input_name": name, "input_config": info, "received_value": value}))
                continue
            if "max" in options and value > options["max"]:
                errors.append(_error("value_bigger_than_max", f"Value {value} bigger than max of {options['max']}",
                                     name, {"input_name": name, "input_config": info, "received_value": value}))
                continue
            if cls.validate is not None:
                result = cls.validate(self, value)
                if result is not True:
                    errors.append(_error("custom_validation_failed", "Custom validation failed for node",
                                         f"{name} - {result}", {"input_name": name, "input_config": info,
                                                                "received_value": value}))
                continue
            if isinstance(kind, list) and value not in kind:
                listed = f"(list of length {len(kind)})" if len(kind) > 20 else str(kind)
                errors.append(_error("value_not_in_list", "Value not in list", f"{name}: '{value}' not in {listed}",
                                     {"input_name": name, "input_config": None if len(kind) > 20 else info,
                                      "received_value": value}))
        result = (not errors and valid, errors)
        validated[node_id] = result
        return result

    # -- execution (main.prompt_worker + execution.PromptExecutor) -------------------------------------

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closing:
                    self._wake.wait(0.5)
                if self._closing:
                    return
                item = heapq.heappop(self._queue)
                self.running = item
            self._status()
            try:
                self._execute(*item[:5])
            except Exception:  # a bug in the double must not kill the worker silently
                traceback.print_exc()
            finally:
                with self._lock:
                    self.running = None
                self._status()
                self.send("executing", {"node": None, "display_node": None, "prompt_id": item[1]},
                          item[3].get("client_id"))

    def _execute(self, number: float, prompt_id: str, prompt: dict, extra: dict, to_execute: list[str]) -> None:
        self.interrupt_flag.clear()  # nodes.interrupt_processing(False) at the start of every run
        sid = extra.get("client_id")
        self.executed.append(prompt_id)
        messages: list[list[Any]] = []

        def event(kind: str, data: dict[str, Any]) -> None:
            data = {**data, "prompt_id": prompt_id, "timestamp": int(time.time() * 1000)}
            messages.append([kind, data])
            self.send(kind, data, sid)

        event("execution_start", {})
        order = _order(prompt, to_execute)
        keys = self._cache_keys(prompt, order)
        cached = [n for n in order if keys[n] in self._cache]
        event("execution_cached", {"nodes": cached})
        values: dict[str, Any] = {}
        ui_out: dict[str, Any] = {}
        states: dict[str, dict[str, Any]] = {}
        for node_id in cached:
            values[node_id], ui = self._cache[keys[node_id]]
            if ui:
                ui_out[node_id] = ui
                self.send("executed", {"node": node_id, "display_node": node_id, "output": ui,
                                       "prompt_id": prompt_id}, sid)
        done: list[str] = []
        status = "success"
        for node_id in order:
            if node_id in values:
                continue
            node = prompt[node_id]
            cls = self.classes[node["class_type"]]
            states[node_id] = {"value": 0, "max": 1, "state": "running", "node_id": node_id, "prompt_id": prompt_id,
                               "display_node_id": node_id, "parent_node_id": None, "real_node_id": node_id}
            self.send_progress_state(prompt_id, states, sid)
            self.send("executing", {"node": node_id, "display_node": node_id, "prompt_id": prompt_id}, sid)
            kwargs = {}
            declared = {**cls.required, **cls.optional}
            for name, value in node["inputs"].items():
                if name not in declared:
                    continue  # ComfyUI ignores inputs a class does not declare
                kwargs[name] = values[str(value[0])][value[1]] if isinstance(value, list) else value
            kwargs.update({k: prompt for k, v in cls.hidden.items() if v == "PROMPT"})
            ctx = Ctx(self, prompt_id, node_id, node["class_type"], sid, prompt, states)
            try:
                if self.interrupt_flag.is_set():  # before_node_execution()
                    raise Interrupted()
                if node["class_type"] in self.failures:
                    ctx.work()
                    message, type_name = self.failures[node["class_type"]]
                    raise InjectedFailure(message, type_name)
                result = cls.run(ctx, **kwargs)
            except Interrupted:
                event("execution_interrupted", {"node_id": node_id, "node_type": node["class_type"],
                                                "executed": list(done)})
                status = "error"
                break
            except Exception as exc:
                type_name = exc.type_name if isinstance(exc, InjectedFailure) else type(exc).__name__
                event("execution_error", {
                    "node_id": node_id, "node_type": node["class_type"], "executed": list(done),
                    "exception_message": str(exc), "exception_type": type_name,
                    "traceback": traceback.format_tb(exc.__traceback__),
                    # ComfyUI formats tensors with str(): megabytes for real images
                    "current_inputs": {k: [str(v) if not isinstance(v, np.ndarray) else "tensor(" + "0.5, " * 5000 + ")"]
                                       for k, v in kwargs.items()},
                    "current_outputs": list(values)})
                status = "error"
                break
            ui = None
            if isinstance(result, dict):
                ui, result = result.get("ui"), result.get("result", ())
            values[node_id] = result
            self._cache[keys[node_id]] = (result, ui)
            states[node_id].update(state="finished", value=states[node_id]["max"])
            done.append(node_id)
            if ui:
                ui_out[node_id] = ui
                self.send("executed", {"node": node_id, "display_node": node_id, "output": ui,
                                       "prompt_id": prompt_id}, sid)
        if status == "success":
            self.send_progress_state(prompt_id, states, sid)
            event("execution_success", {})
        with self._lock:
            self.history[prompt_id] = {
                "prompt": [number, prompt_id, prompt, extra, to_execute], "outputs": ui_out,
                "status": {"status_str": status, "completed": status == "success", "messages": messages},
                "meta": {n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n} for n in ui_out},
            }

    def _cache_keys(self, prompt: dict, order: list[str]) -> dict[str, str]:
        """A node's cache key: its class, literal inputs and its sources' keys (LoadImage: the file's hash, as
        its IS_CHANGED)."""
        keys: dict[str, str] = {}
        for node_id in order:
            node = prompt[node_id]
            parts: dict[str, Any] = {}
            for name, value in sorted(node["inputs"].items()):
                parts[name] = ["link", keys.get(str(value[0])), value[1]] if isinstance(value, list) else value
            if node["class_type"] == "LoadImage":
                parts["__file"] = hashlib.sha256(self.files["input"].get(node["inputs"].get("image"), b"")).hexdigest()
            keys[node_id] = hashlib.sha256(json.dumps([node_id, node["class_type"], parts], sort_keys=True,
                                                      default=str).encode()).hexdigest()
        return keys

    # -- HTTP ------------------------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        server = self

        async def receive(request: Request) -> tuple[bytes, Response | None]:
            body = await request.body()
            entry: dict[str, Any] = {"method": request.method, "path": request.url.path,
                                     "query": dict(request.query_params), "headers": dict(request.headers),
                                     "body": body, "time": time.monotonic()}
            try:
                entry["json"] = json.loads(body) if body and "json" in request.headers.get("content-type", "") else None
            except ValueError:
                entry["json"] = None
            server.requests.append(entry)
            return body, await server._fault(request.url.path, request.headers.get("authorization"))

        @app.get("/object_info")
        async def object_info(request: Request) -> Response:
            _, fault = await receive(request)
            return fault or JSONResponse({name: cls.info(server) for name, cls in server.classes.items()})

        @app.get("/object_info/{name}")
        async def object_info_one(name: str, request: Request) -> Response:
            _, fault = await receive(request)
            cls = server.classes.get(name)
            return fault or JSONResponse({name: cls.info(server)} if cls else {})

        @app.get("/features")
        async def features(request: Request) -> Response:
            _, fault = await receive(request)
            return fault or JSONResponse({"supports_preview_metadata": True, "max_upload_size": 104857600})

        @app.post("/prompt")
        async def post_prompt(request: Request) -> Response:
            body, fault = await receive(request)
            if fault:
                return fault
            try:
                doc = json.loads(body)
            except ValueError:  # aiohttp's request.json() raising: an unhandled 500
                return Response("500 Internal Server Error\n\nServer got itself in trouble", 500)
            with server._lock:
                if "number" in doc:
                    number = float(doc["number"])
                else:
                    number = server.number
                    if doc.get("front"):
                        number = -number
                    server.number += 1  # before validation: rejected prompts use up numbers too
            if "prompt" not in doc:
                return JSONResponse({"error": _error("no_prompt", "No prompt provided", "No prompt provided"),
                                     "node_errors": {}}, 400)
            prompt = doc["prompt"]
            prompt_id = str(doc.get("prompt_id") or uuid.uuid4())
            if not isinstance(prompt, dict):
                return JSONResponse({"error": _error("invalid_prompt", "Prompt is not an object", ""),
                                     "node_errors": {}}, 400)
            prompt = copy.deepcopy(prompt)
            ok, error, outputs, node_errors = server.validate_prompt(prompt)
            if not ok:
                return JSONResponse({"error": error, "node_errors": node_errors}, 400)
            extra = dict(doc.get("extra_data") or {})
            if "client_id" in doc:
                extra["client_id"] = doc["client_id"]
            with server._wake:
                heapq.heappush(server._queue, (number, prompt_id, prompt, extra, outputs))
                server._wake.notify_all()
            server._status()
            return JSONResponse({"prompt_id": prompt_id, "number": number, "node_errors": node_errors})

        @app.get("/prompt")
        async def get_prompt(request: Request) -> Response:
            _, fault = await receive(request)
            return fault or JSONResponse({"exec_info": {"queue_remaining": server.queue_remaining()}})

        @app.post("/upload/image")
        async def upload_image(request: Request) -> Response:
            body, fault = await receive(request)
            if fault:
                return fault
            parts = _multipart(body, request.headers.get("content-type", ""))
            server.requests[-1]["files"] = parts
            image = parts.get("image")
            if image is None or not image.get("filename"):
                return Response(status_code=400)
            server.uploads.append(image)
            kind = (parts.get("type") or {}).get("value", "input") or "input"
            if kind not in server.files:
                return Response(status_code=400)
            subfolder = (parts.get("subfolder") or {}).get("value", "")
            overwrite = (parts.get("overwrite") or {}).get("value") in ("true", "1")
            name = image["filename"].replace("\\", "/").rsplit("/", 1)[-1]
            stem, dot, ext = name.rpartition(".")
            stem, ext = (stem, dot + ext) if dot else (name, "")
            store = server.files[kind]

            def key(n: str) -> str:
                return f"{subfolder}/{n}" if subfolder else n

            if not overwrite:
                i = 1
                while key(name) in store and store[key(name)] != image["data"]:
                    name = f"{stem} ({i}){ext}"
                    i += 1
            store[key(name)] = image["data"]
            return JSONResponse({"name": name, "subfolder": subfolder, "type": kind})

        @app.get("/view")
        async def view(request: Request) -> Response:
            _, fault = await receive(request)
            if fault:
                return fault
            q = request.query_params
            filename = q.get("filename")
            if filename is None:
                return Response(status_code=404)
            if filename.startswith("/") or ".." in filename:
                return Response(status_code=400)
            kind = q.get("type", "output") or "output"
            subfolder = q.get("subfolder", "")
            if ".." in subfolder.split("/") or subfolder.startswith("/"):
                return Response(status_code=403)
            data = server.files.get(kind, {}).get(f"{subfolder}/{filename}" if subfolder else filename)
            if data is None:
                return Response(status_code=404)
            return Response(data, media_type="image/png",
                            headers={"Content-Disposition": f'filename="{filename}"'})

        @app.get("/history")
        async def history_all(request: Request) -> Response:
            _, fault = await receive(request)
            return fault or JSONResponse(copy.deepcopy(server.history))

        @app.get("/history/{prompt_id}")
        async def history_one(prompt_id: str, request: Request) -> Response:
            _, fault = await receive(request)
            if fault:
                return fault
            with server._lock:
                entry = server.history.get(prompt_id)
                return JSONResponse({prompt_id: copy.deepcopy(entry)} if entry else {})

        @app.post("/history")
        async def history_post(request: Request) -> Response:
            body, fault = await receive(request)
            if fault:
                return fault
            doc = json.loads(body or b"{}")
            with server._lock:
                if doc.get("clear"):
                    server.history.clear()
                for pid in doc.get("delete", []):
                    server.history.pop(pid, None)
            return Response(status_code=200)

        @app.get("/queue")
        async def get_queue(request: Request) -> Response:
            _, fault = await receive(request)
            if fault:
                return fault
            with server._lock:
                running = [list(server.running)] if server.running else []
                pending = [list(item) for item in sorted(server._queue)]
            return JSONResponse({"queue_running": running, "queue_pending": pending})

        @app.post("/queue")
        async def post_queue(request: Request) -> Response:
            body, fault = await receive(request)
            if fault:
                return fault
            doc = json.loads(body or b"{}")
            with server._lock:
                if doc.get("clear"):
                    server._queue.clear()
                if "delete" in doc:
                    ids = set(doc["delete"])
                    server._queue = [item for item in server._queue if item[1] not in ids]  # pending only
                    heapq.heapify(server._queue)
            server._status()
            return Response(status_code=200)

        @app.post("/interrupt")
        async def interrupt(request: Request) -> Response:
            body, fault = await receive(request)
            if fault:
                return fault
            doc = json.loads(body) if body else {}
            with server._lock:
                running = server.running[1] if server.running else None
            wanted = doc.get("prompt_id") if isinstance(doc, dict) else None
            if wanted is None or wanted == running:  # for a prompt that is not running: a no-op
                server.interrupt_flag.set()
            return Response(status_code=200)

        @app.websocket("/ws")
        async def ws(websocket: WebSocket) -> None:
            sid = websocket.query_params.get("clientId") or uuid.uuid4().hex
            server.requests.append({"method": "GET", "path": "/ws", "query": dict(websocket.query_params),
                                    "headers": dict(websocket.headers), "body": b"", "json": None,
                                    "websocket": True, "time": time.monotonic()})
            if server.refuse_ws or (server.token and websocket.headers.get("authorization") != f"Bearer {server.token}"):
                await websocket.close(code=1008)  # before accept: the handshake answers 403
                return
            await websocket.accept()
            loop, queue = asyncio.get_running_loop(), asyncio.Queue()
            with server._lock:
                server._clients.setdefault(sid, []).append((loop, queue))
            await websocket.send_text(json.dumps({"type": "status", "data": {
                "status": {"exec_info": {"queue_remaining": server.queue_remaining()}}, "sid": sid}}))

            async def reader() -> None:
                try:
                    while True:
                        message = await websocket.receive()
                        if message["type"] == "websocket.disconnect":
                            break
                except (WebSocketDisconnect, RuntimeError):
                    pass
                queue.put_nowait(None)

            task = asyncio.create_task(reader())
            try:
                while True:
                    item = await queue.get()
                    if item is None:
                        break
                    kind, text = item
                    await websocket.send_text(text)
                    if server.drop_ws_on and kind == server.drop_ws_on:
                        await websocket.close(code=1011)
                        break
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                task.cancel()
                with server._lock:
                    clients = server._clients.get(sid, [])
                    if (loop, queue) in clients:
                        clients.remove((loop, queue))

        return app

    async def _fault(self, path: str, authorization: str | None) -> Response | None:
        if self.token and authorization != f"Bearer {self.token}":
            return Response("401: Unauthorized", 401)
        for key, seconds in self.hangs.items():
            if path == key or path.startswith(key + "/"):
                end = time.monotonic() + seconds
                while time.monotonic() < end and not self._closing:
                    await asyncio.sleep(0.02)
        for key, plan in self.faults.items():
            if (path == key or path.startswith(key + "/")) and plan:
                status, headers, body = plan.pop(0)
                return Response(body, status, headers=headers)
        return None


def _error(kind: str, message: str, details: str, extra: dict | None = None) -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": extra or {}}


def _order(prompt: dict, outputs: list[str]) -> list[str]:
    """The nodes the outputs need, each after its inputs (ComfyUI executes the same set)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(node_id: str) -> None:
        if node_id in seen:
            return
        seen.add(node_id)
        for value in prompt[node_id]["inputs"].values():
            if isinstance(value, list) and len(value) == 2:
                visit(str(value[0]))
        order.append(node_id)

    for out in sorted(outputs):
        visit(out)
    return order


def _multipart(body: bytes, content_type: str) -> dict[str, dict[str, Any]]:
    """multipart/form-data -> {field: {"filename", "content_type", "data", "value"}}, byte-exact."""
    boundary = None
    for piece in content_type.split(";"):
        key, _, value = piece.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        return {}
    parts: dict[str, dict[str, Any]] = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = {}
        for piece in headers.get("content-disposition", "").split(";")[1:]:
            key, _, value = piece.strip().partition("=")
            disposition[key] = value.strip('"')
        if "name" not in disposition:
            continue
        parts[disposition["name"]] = {"filename": disposition.get("filename"), "data": data,
                                      "content_type": headers.get("content-type"),
                                      "value": data.decode("utf-8", "replace") if "filename" not in disposition else None}
    return parts

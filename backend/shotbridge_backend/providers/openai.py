"""`openai`: the OpenAI Images API (text to image, reference-conditioned generation, inpainting with a mask).

    [providers.openai]
    type = "openai"
    api_key = "env:OPENAI_API_KEY"      # resolved by the registry into self.secrets["api_key"]
    model = "gpt-image-1"               # gpt-image-1 | gpt-image-1-mini | gpt-image-1.5 | gpt-image-2 | dall-e-3 | dall-e-2
    quality = "medium"                  # gpt-image: low | medium | high | auto; dall-e-3: standard | hd

Protocol (PROVIDERS.md §3, the openai-python SDK's parameter docs, OpenAI's image generation guide):
- text to image: POST /v1/images/generations (JSON).
- with character references: POST /v1/images/edits (multipart), one `image[]` part per reference (GPT Image
  models take up to 16; DALL-E models none).
- inpaint: POST /v1/images/edits with `image` + `mask`. OpenAI's mask is a PNG of the image's size whose
  fully TRANSPARENT pixels mark where to edit; ShotBridge's grey mask (white = fill) is converted to that,
  and the plate is sent as a PNG of exactly the same size (letterboxed into a size the model accepts).
- GPT Image models always answer with b64_json; DALL-E may answer with a URL, which is downloaded through the
  session (without the API key: the URL is a signed blob on another host).
- Errors: {"error": {"message", "type", "param", "code"}}. 429 and 5xx are retried by the session (honouring
  Retry-After); a 400 (a safety rejection included) is never retried.

The API takes no seed, so results are not reproducible; `Generated.seed` stays None and `reproduce` says so.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import requests

from shotbridge.models import CostEstimate, DataKind, ProviderKind

from .base import (
    IMAGE,
    MASK,
    REFERENCE,
    Generated,
    GenerationRequest,
    InputImage,
    ProviderAdapter,
    ProviderError,
    ProviderFacts,
    ProviderUnavailable,
    Task,
)

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from .session import Outgoing, ProviderSession

log = logging.getLogger(__name__)

DEFAULT_URL = "https://api.openai.com"
DEFAULT_MODEL = "gpt-image-1"
DEFAULT_TIMEOUT = 300.0  # OpenAI: "complex prompts may take up to 2 minutes"; edits with references longer
HEALTH_TIMEOUT = 3.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DALLE2_MAX_BYTES = 4 * 1024 * 1024  # dall-e-2 edits: "a square png file less than 4MB"
SAFETY_CODES = {"moderation_blocked", "content_policy_violation"}
# /v1/images/edits requires a prompt; when the artist wrote none, this (ShotBridge's own text) is sent.
FILL_PROMPT = ("Fill the transparent area of the mask so that it continues the surrounding image seamlessly: "
               "same lighting, perspective, grain and colour. Change nothing else.")
PRICING_SOURCE = "https://developers.openai.com/api/docs/guides/image-generation#calculating-costs"
STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")
# gpt-image-2 accepts any WxH within these limits (image generation guide, "Size and quality options").
FREE_MAX_EDGE, FREE_MIN_PIXELS, FREE_MAX_PIXELS, FREE_MAX_RATIO = 3840, 655_360, 8_294_400, 3.0
KEY_PATTERN = re.compile(r"(sk-[A-Za-z0-9_*.\-]{4,}|Bearer\s+\S+)")


def _tiered(square: dict[str, float], other: dict[str, float]) -> dict[tuple[str, str], float]:
    """Per-image prices of a GPT Image model: one for 1024x1024, one for the two 3:2 sizes."""
    prices = {}
    for quality in square:
        prices[(quality, "1024x1024")] = square[quality]
        prices[(quality, "1536x1024")] = prices[(quality, "1024x1536")] = other[quality]
    return prices


@dataclass(frozen=True)
class ModelSpec:
    """What one Images API model accepts (openai-python's ImageGenerateParams / ImageEditParams docs)."""

    family: str  # "gpt-image" | "dall-e"
    sizes: tuple[str, ...]
    qualities: tuple[str, ...]
    max_n: int
    max_prompt: int
    edits: bool  # can inpaint through /v1/images/edits
    max_images: int  # images one edit request may carry (references go as image[] when > 1)
    input_fidelity: bool
    free_size: bool = False  # gpt-image-2: any size within the FREE_* limits
    transparent: bool = True
    prices: dict[tuple[str, str], float] = field(default_factory=dict)  # (quality, size) -> USD per image

    @property
    def gpt(self) -> bool:
        return self.family == "gpt-image"


GPT_QUALITIES = ("low", "medium", "high", "auto")
_GPT2 = ModelSpec("gpt-image", STANDARD_SIZES, GPT_QUALITIES, 10, 32000, True, 16, False, free_size=True,
                  transparent=False, prices=_tiered({"low": 0.006, "medium": 0.053, "high": 0.211},
                                                    {"low": 0.005, "medium": 0.041, "high": 0.165}))
MODELS: dict[str, ModelSpec] = {
    "gpt-image-1": ModelSpec("gpt-image", STANDARD_SIZES, GPT_QUALITIES, 10, 32000, True, 16, True,
                             prices=_tiered({"low": 0.011, "medium": 0.042, "high": 0.167},
                                            {"low": 0.016, "medium": 0.063, "high": 0.25})),
    "gpt-image-1-mini": ModelSpec("gpt-image", STANDARD_SIZES, GPT_QUALITIES, 10, 32000, True, 16, False,
                                  prices=_tiered({"low": 0.005, "medium": 0.011, "high": 0.036},
                                                 {"low": 0.006, "medium": 0.015, "high": 0.052})),
    "gpt-image-1.5": ModelSpec("gpt-image", STANDARD_SIZES, GPT_QUALITIES, 10, 32000, True, 16, True,
                               prices=_tiered({"low": 0.009, "medium": 0.034, "high": 0.133},
                                              {"low": 0.013, "medium": 0.05, "high": 0.2})),
    "gpt-image-2": _GPT2,
    "gpt-image-2-2026-04-21": _GPT2,
    "chatgpt-image-latest": ModelSpec("gpt-image", STANDARD_SIZES, GPT_QUALITIES, 10, 32000, True, 16, False),
    "dall-e-3": ModelSpec("dall-e", ("1024x1024", "1792x1024", "1024x1792"), ("standard", "hd"), 1, 4000,
                          False, 0, False,
                          prices={("standard", "1024x1024"): 0.04, ("standard", "1792x1024"): 0.08,
                                  ("standard", "1024x1792"): 0.08, ("hd", "1024x1024"): 0.08,
                                  ("hd", "1792x1024"): 0.12, ("hd", "1024x1792"): 0.12}),
    "dall-e-2": ModelSpec("dall-e", ("256x256", "512x512", "1024x1024"), ("standard",), 10, 1000, True, 1, False,
                          prices={("standard", "256x256"): 0.016, ("standard", "512x512"): 0.018,
                                  ("standard", "1024x1024"): 0.02}),
}
# A GPT Image model this file does not know yet still takes the standard sizes; its price is unknown.
GENERIC_GPT = ModelSpec("gpt-image", STANDARD_SIZES, GPT_QUALITIES, 10, 32000, True, 16, False)


def model_spec(model: str) -> ModelSpec | None:
    if model in MODELS:
        return MODELS[model]
    if model.startswith(("gpt-image", "chatgpt-image")):
        return GENERIC_GPT
    return None


def _dims(size: str) -> tuple[int, int]:
    w, _, h = size.partition("x")
    return int(w), int(h)


def nearest_size(spec: ModelSpec, width: int, height: int) -> str:
    """The size the model accepts that is closest to width x height: first by aspect ratio (a 16:9 plate
    must not come back 1:1), then by pixel count."""
    if width <= 0 or height <= 0:
        raise ValueError(f"width and height must be positive, got {width}x{height}")
    if spec.free_size:
        return "{}x{}".format(*free_size(width, height))

    def distance(size: str) -> tuple[float, float]:
        w, h = _dims(size)
        return abs(math.log((w / h) / (width / height))), abs(math.log((w * h) / (width * height)))

    return min(spec.sizes, key=distance)


def _round16(value: float) -> int:
    return max(16, int(value / 16 + 0.5) * 16)


def free_size(width: int, height: int) -> tuple[int, int]:
    """gpt-image-2: the valid size nearest width x height (edges multiples of 16, long:short <= 3:1,
    655,360..8,294,400 pixels, no edge over 3840)."""
    ratio = min(max(width / height, 1 / FREE_MAX_RATIO), FREE_MAX_RATIO)
    area = min(max(width * height, FREE_MIN_PIXELS), FREE_MAX_PIXELS)
    w = math.sqrt(area * ratio)
    h = w / ratio
    shrink = min(1.0, FREE_MAX_EDGE / max(w, h))
    w16, h16 = _round16(w * shrink), _round16(h * shrink)
    for _ in range(64):  # rounding to 16 can step over a limit by one notch: walk back inside
        if w16 * h16 > FREE_MAX_PIXELS or max(w16, h16) > FREE_MAX_EDGE:
            w16, h16 = (w16 - 16, h16) if w16 >= h16 else (w16, h16 - 16)
        elif w16 * h16 < FREE_MIN_PIXELS:
            w16, h16 = (w16 + 16, h16) if w16 <= h16 else (w16, h16 + 16)
        elif max(w16, h16) / min(w16, h16) > FREE_MAX_RATIO:
            w16, h16 = (w16 + 16, h16) if w16 < h16 else (w16, h16 + 16)
        else:
            break
    return w16, h16


def free_size_valid(width: int, height: int) -> bool:
    return (width % 16 == 0 and height % 16 == 0 and max(width, height) <= FREE_MAX_EDGE
            and max(width, height) / min(width, height) <= FREE_MAX_RATIO
            and FREE_MIN_PIXELS <= width * height <= FREE_MAX_PIXELS)


@dataclass(frozen=True)
class Fit:
    """Where a plate sits on the canvas sent to OpenAI: scaled to fit, centred, the rest padded."""

    canvas: tuple[int, int]
    box: tuple[int, int, int, int]  # left, top, right, bottom of the plate on the canvas

    @classmethod
    def of(cls, plate: tuple[int, int], canvas: tuple[int, int]) -> Fit:
        (w, h), (cw, ch) = plate, canvas
        scale = min(cw / w, ch / h)
        nw, nh = min(cw, max(1, round(w * scale))), min(ch, max(1, round(h * scale)))
        left, top = (cw - nw) // 2, (ch - nh) // 2
        return cls(canvas, (left, top, left + nw, top + nh))

    @property
    def inner(self) -> tuple[int, int]:
        return self.box[2] - self.box[0], self.box[3] - self.box[1]

    def describe(self) -> dict[str, Any]:
        return {"canvas": "{}x{}".format(*self.canvas), "box": list(self.box)}


class OpenAIProvider(ProviderAdapter):
    type = "openai"
    kind = ProviderKind.cloud
    title = "OpenAI Images API"
    # https://developers.openai.com/api/docs/guides/your-data: API data is not used for training (since
    # 2023-03-01, unless the customer opts in); abuse-monitoring logs, which may hold prompts and outputs,
    # are kept up to 30 days by default (Zero Data Retention needs OpenAI's approval: set retention_days).
    facts: ClassVar[ProviderFacts] = ProviderFacts(trains_on_inputs=False, retention_days=30, data_location="us")
    tasks = frozenset({Task.text_to_image, Task.inpaint})
    accepts_references = True
    secret_keys = ("api_key",)

    def __init__(self, name: str, config: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(name, config, **kwargs)
        self.model = str(self.config.get("model") or DEFAULT_MODEL)
        self.url = str(self.config.get("url") or DEFAULT_URL).rstrip("/")
        spec = model_spec(self.model)
        if spec is None:
            self.problem = (f"model '{self.model}' is not an OpenAI Images API model ShotBridge knows; use one "
                            f"of {', '.join(MODELS)} (or another gpt-image-* model)")
            spec = GENERIC_GPT
        elif (quality := self.config.get("quality")) and quality not in spec.qualities:
            self.problem = (f"quality '{quality}' is not one {self.model} accepts; use one of "
                            f"{', '.join(spec.qualities)}")
        # What this entry can do depends on its model: DALL-E 3 has no edits, DALL-E models take no references.
        # image_edit (an instruction edit of one image, with references) needs several images per request.
        self.tasks = frozenset({Task.text_to_image} | ({Task.inpaint} if spec.edits else set())
                               | ({Task.image_edit} if spec.edits and spec.max_images > 1 else set()))
        self.accepts_references = spec.max_images > 1

    # -- configuration -------------------------------------------------------------------------------------

    def session_options(self) -> dict[str, float]:
        options = super().session_options()
        if "timeout" not in self.config:
            options["timeout"] = DEFAULT_TIMEOUT
        return options

    def _key(self) -> str:
        key = self.secrets.get("api_key", "")
        if not key:
            raise ProviderUnavailable(f"{self.name}: {self._no_key()}")
        return key

    def _no_key(self) -> str:
        return (f"no OpenAI API key: set api_key = \"env:OPENAI_API_KEY\" (or \"keyring:SERVICE:USER\") in "
                f"[providers.{self.name}] of providers.toml and give the backend that secret")

    def _headers(self, key: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        if self.config.get("organization"):
            headers["OpenAI-Organization"] = str(self.config["organization"])
        if self.config.get("project"):
            headers["OpenAI-Project"] = str(self.config["project"])
        return headers

    def _option(self, request: GenerationRequest, key: str, default: Any = None) -> Any:
        """A per-request option, else this entry's configured default."""
        value = request.options.get(key)
        return value if value not in (None, "") else self.config.get(key, default)

    def _spec(self, request: GenerationRequest) -> tuple[str, ModelSpec]:
        model = str(request.options.get("model") or self.model)
        spec = model_spec(model)
        if spec is None:
            raise ProviderError(f"{self.name}: '{model}' is not an OpenAI Images API model ShotBridge knows; "
                                f"use one of {', '.join(MODELS)}")
        return model, spec

    def _quality(self, request: GenerationRequest, model: str, spec: ModelSpec) -> str | None:
        quality = self._option(request, "quality")
        if quality is None:
            return None  # the API's default (auto for GPT Image, standard for DALL-E)
        if quality not in spec.qualities:
            raise ProviderError(f"{self.name}: quality '{quality}' is not one {model} accepts; use one of "
                                f"{', '.join(spec.qualities)}")
        return str(quality)

    def _explicit_size(self, value: Any, model: str, spec: ModelSpec, *, allow_auto: bool) -> str:
        size = str(value)
        if size == "auto" and spec.gpt and allow_auto:
            return size
        match = re.fullmatch(r"(\d+)x(\d+)", size)
        if match and (size in spec.sizes or (spec.free_size and free_size_valid(*map(int, match.groups())))):
            return size
        allowed = list(spec.sizes) + (["auto"] if spec.gpt and allow_auto else [])
        rule = " (or any WxH with edges multiples of 16, up to 3840, 3:1 at most)" if spec.free_size else ""
        raise ProviderError(f"{self.name}: size '{size}' is not one {model} accepts; use one of "
                            f"{', '.join(allowed)}{rule}")

    def _size(self, request: GenerationRequest, model: str, spec: ModelSpec) -> tuple[str, str | None]:
        """(size to send, the size asked for when it had to be mapped)."""
        if request.options.get("size"):
            return self._explicit_size(request.options["size"], model, spec, allow_auto=True), None
        if request.width and request.height:
            asked = f"{request.width}x{request.height}"
            size = nearest_size(spec, request.width, request.height)
            return size, (asked if size != asked else None)
        if self.config.get("size"):
            return self._explicit_size(self.config["size"], model, spec, allow_auto=True), None
        return "1024x1024", None

    def _prompt(self, request: GenerationRequest, model: str, spec: ModelSpec, fallback: str = "") -> str:
        prompt = request.prompt.strip()
        negative = request.negative_prompt.strip()
        if negative:  # the Images API has no negative prompt: it is asked for in words
            prompt = f"{prompt}\n\nAvoid: {negative}" if prompt else f"Avoid: {negative}"
        prompt = prompt or fallback
        if not prompt:
            raise ProviderError(f"{self.name}: {request.task.value} needs a prompt (the OpenAI Images API "
                                "requires one)")
        if len(prompt) > spec.max_prompt:
            raise ProviderError(f"{self.name}: the prompt is {len(prompt)} characters; {model} takes at most "
                                f"{spec.max_prompt}")
        return prompt

    # -- health and cost -----------------------------------------------------------------------------------

    def health(self) -> str:
        """GET /v1/models/{model}: proves the key and the model's availability, sends no studio data. (There is
        no job and so no ProviderSession here; only the key and the model name leave.)"""
        if self.problem:
            return self.problem
        key = self.secrets.get("api_key", "")
        if not key:
            return self._no_key()
        options = self.session_options()
        timeout = (options["connect_timeout"], float(self.config.get("health_timeout", HEALTH_TIMEOUT)))
        try:
            response = requests.get(f"{self.url}/v1/models/{self.model}", headers=self._headers(key),
                                    timeout=timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return (f"OpenAI at {self._base()} cannot be reached ({type(exc).__name__}); check url in "
                    "providers.toml and the backend's network or proxy")
        with response:
            if response.status_code == 200:
                return ""
            error = self._error_fields(response)
            if response.status_code == 401:
                return (f"the API key was refused by OpenAI (401 {error['code'] or 'unauthorized'}); check that "
                        f"api_key in [providers.{self.name}] names a valid, active key")
            if response.status_code == 403:
                return (f"the API key has no access to {self.model} (403): {error['message']} "
                        "(GPT Image models need a verified OpenAI organization)")
            if response.status_code == 404:
                return (f"model {self.model} is not available to this API key (404 "
                        f"{error['code'] or 'not found'}): {error['message']}")
            if response.status_code == 429:
                return ""  # the key works; throttling is handled per request by the session
            return f"OpenAI answered {response.status_code} to a health check: {error['message']}; try again later"

    def estimate(self, request: GenerationRequest) -> CostEstimate:
        try:
            model, spec = self._spec(request)
            quality = self._quality(request, model, spec)
            if request.task == Task.inpaint:
                size = self._inpaint_size(request, model, spec)
                count = 1
            else:
                size = self._size(request, model, spec)[0]
                count = max(1, int(request.count))
        except (ProviderError, OSError, ValueError) as exc:
            return CostEstimate(provider=self.name, amount=0.0, unit="USD", note=f"no estimate: {exc}")
        notes = []
        priced_quality = quality or ("auto" if spec.gpt else "standard")
        if priced_quality == "auto":
            priced_quality = "high"
            notes.append("quality 'auto' priced as high (an upper bound)")
        if size == "auto":
            size = "1536x1024"
            notes.append("size 'auto' priced as 1536x1024")
        each = spec.prices.get((priced_quality, size))
        if each is None and spec.free_size and spec.prices:
            # OpenAI publishes gpt-image-2 prices for the three standard sizes only: scale the one of the same
            # shape by the pixel count.
            standard = nearest_size(GENERIC_GPT, *_dims(size))
            (sw, sh), (w, h) = _dims(standard), _dims(size)
            each = spec.prices[(priced_quality, standard)] * (w * h) / (sw * sh)
            notes.append(f"{size} priced from {standard} by pixel count (an approximation)")
        if each is None:
            return CostEstimate(provider=self.name, amount=0.0, unit="USD",
                                note=f"no published per-image price known for {model} at {size}, quality "
                                     f"{priced_quality}; see https://openai.com/api/pricing")
        inputs = len(request.by_role(REFERENCE)) + len(request.by_role(IMAGE))
        extra = f" plus input tokens for the prompt and {inputs} input image(s)" if inputs else \
            " plus the prompt's input tokens"
        note = (f"{count} x {size} at quality {priced_quality} on {model}: ${each:.3f} each (OpenAI's published "
                f"per-image output price, {PRICING_SOURCE}){extra}, not included")
        return CostEstimate(provider=self.name, amount=round(each * count, 4), unit="USD",
                            note="; ".join([note, *notes]))

    # -- generation ----------------------------------------------------------------------------------------

    def generate(self, request: GenerationRequest, session: ProviderSession) -> Generated:
        try:
            key = self._key()
            model, spec = self._spec(request)
            if request.task == Task.text_to_image:
                return self._text_to_image(request, session, key, model, spec)
            if request.task == Task.inpaint:
                return self._inpaint(request, session, key, model, spec)
            if request.task == Task.image_edit:
                return self._image_edit(request, session, key, model, spec)
            raise ProviderError(f"{self.name} (OpenAI Images API) cannot {request.task.value}; it offers "
                                f"{', '.join(sorted(t.value for t in self.tasks))}")
        except requests.RequestException as exc:  # what the session does not map (bad URL, broken stream)
            raise ProviderUnavailable(f"{self.name}: the request to OpenAI at {self._base()} failed "
                                      f"({type(exc).__name__}); check url in providers.toml") from None

    def _text_to_image(self, request: GenerationRequest, session: ProviderSession, key: str, model: str,
                       spec: ModelSpec) -> Generated:
        references = request.by_role(REFERENCE)
        if references and spec.max_images <= 1:
            raise ProviderError(f"{self.name}: {model} takes no reference images; use a GPT Image model "
                                "(gpt-image-1) for character-conditioned generation, or send no references")
        if len(references) > spec.max_images:
            raise ProviderError(f"{self.name}: {len(references)} reference images; {model} takes at most "
                                f"{spec.max_images} per request")
        prompt = self._prompt(request, model, spec)
        quality = self._quality(request, model, spec)
        size, asked = self._size(request, model, spec)
        count = max(1, int(request.count))
        ignored: list[str] = []
        reproduce: dict[str, Any] = {"model": model, "size": size, "quality": quality or "api default", "n": count}
        if asked:
            reproduce["size_requested"] = asked
            reproduce["size_note"] = f"{asked} is not a size {model} accepts; the nearest one was used"
        kinds = {DataKind.prompt} if request.prompt.strip() or request.negative_prompt.strip() else set()
        sent: list[Outgoing] = [session.outgoing(ref) for ref in references]
        if sent:
            endpoint = "edits"
            fidelity = self._fidelity(request, spec, ignored)
            fields: list[tuple[str, str]] = [("model", model), ("prompt", prompt), ("size", size)]
            fields += [("quality", quality)] if quality else []
            fields += [("input_fidelity", fidelity)] if fidelity else []
            fields += self._gpt_fields(request, spec, ignored, edits=True)
            files = [("image[]", (o.filename, o.data, o.media_type)) for o in sent]
            reproduce.update(references=[o.asset.sha256 for o in sent], input_fidelity=fidelity or "api default")
        else:
            endpoint = "generations"
            body: dict[str, Any] = {"model": model, "prompt": prompt, "size": size}
            body.update({"quality": quality} if quality else {})
            body.update(dict(self._gpt_fields(request, spec, ignored, edits=False)) if spec.gpt
                        else self._dalle_fields(request, model, ignored))
        reproduce["endpoint"] = f"/v1/images/{endpoint}"
        if request.negative_prompt.strip():
            reproduce["negative_prompt"] = "appended to the prompt as 'Avoid: ...' (the API has no negative prompt)"
        self._no_seed(request, reproduce)

        images: list[bytes] = []
        request_ids: list[str] = []
        usage: list[dict[str, Any]] = []
        revised: list[str] = []
        chunks = [min(spec.max_n, count - done) for done in range(0, count, spec.max_n)]
        for i, n in enumerate(chunks):
            session.progress(len(images) / count, f"OpenAI {model}: generating {n} image(s) at {size}"
                             + (f" from {len(sent)} reference(s)" if sent else ""))
            log.info("%s: %s %s, n=%d, size %s", self.name, model, endpoint, n, size)
            if sent:
                answer, rid = self._post(session, key, "edits", what=f"generating from references with {model}",
                                         data=[*fields, ("n", str(n))], files=files, sent=sent, kinds=kinds)
            else:
                answer, rid = self._post(session, key, "generations", what=f"generating with {model}",
                                         json={**body, "n": n}, kinds=kinds)
            request_ids.append(rid)
            usage += [answer["usage"]] if isinstance(answer.get("usage"), dict) else []
            revised += [d["revised_prompt"] for d in answer.get("data") or []
                        if isinstance(d, dict) and d.get("revised_prompt")]
            images += self._decode(session, answer, f"chunk {i + 1} of {len(chunks)}")
        reproduce.update(request_ids=request_ids)
        reproduce.update({"usage": usage} if usage else {})
        reproduce.update({"revised_prompts": revised} if revised else {})
        reproduce.update({"ignored_options": ignored} if ignored else {})
        files_out = [self._write_png(session, data, f"openai_{i:03d}.png") for i, data in enumerate(images)]
        session.progress(1.0, f"OpenAI {model}: received {len(files_out)} image(s)")
        return Generated(files=files_out, media_type="image/png", model=model, seed=None, reproduce=reproduce)

    def _image_edit(self, request: GenerationRequest, session: ProviderSession, key: str, model: str,
                    spec: ModelSpec) -> Generated:
        """An instruction edit of one image: /v1/images/edits with the image first in image[], then the
        references; the answer (at the nearest size the model takes) comes back at the image's own size."""
        from dataclasses import replace

        from PIL import Image, ImageOps

        images = request.by_role(IMAGE)
        if len(images) != 1:
            raise ProviderError(f"{self.name}: image_edit needs exactly one image (got {len(images)})")
        if not (spec.edits and spec.max_images > 1):
            raise ProviderError(f"{self.name}: {model} cannot edit an image by instruction; use a GPT Image model "
                                "(gpt-image-1)")
        with Image.open(images[0].path) as img:
            size = img.size
        edit = replace(request, task=Task.text_to_image, count=1, width=request.width or size[0],
                       height=request.height or size[1],
                       inputs=[replace(images[0], role=REFERENCE), *request.by_role(REFERENCE)])
        generated = self._text_to_image(edit, session, key, model, spec)
        wanted = (request.width or size[0], request.height or size[1])
        for path in generated.files:
            with Image.open(path) as out:
                if out.size != wanted:  # the same framing as the image edited: crop to its shape, then scale
                    ImageOps.fit(out.convert("RGBA" if "A" in out.getbands() else "RGB"), wanted,
                                 Image.Resampling.LANCZOS).save(path, "PNG")
        generated.reproduce["image_edit"] = (f"the image first in image[], then {len(request.by_role(REFERENCE))} "
                                             f"reference(s); the answer fitted back to {wanted[0]}x{wanted[1]}")
        return generated

    def _inpaint_size(self, request: GenerationRequest, model: str, spec: ModelSpec) -> str:
        if request.options.get("size"):
            return self._explicit_size(request.options["size"], model, spec, allow_auto=False)
        image = request.first(IMAGE)
        if image is None:
            raise ProviderError(f"{self.name}: inpaint needs an image")
        from PIL import Image

        with Image.open(image.path) as img:
            return nearest_size(spec, *img.size)

    def _inpaint(self, request: GenerationRequest, session: ProviderSession, key: str, model: str,
                 spec: ModelSpec) -> Generated:
        images, masks = request.by_role(IMAGE), request.by_role(MASK)
        if len(images) != 1 or len(masks) != 1:
            raise ProviderError(f"{self.name}: inpaint needs exactly one image and one mask (got {len(images)} "
                                f"image(s), {len(masks)} mask(s))")
        if not spec.edits:
            raise ProviderError(f"{self.name}: {model} cannot edit images; use gpt-image-1 (or dall-e-2) to "
                                "inpaint")
        plate, alpha = _load_plate(images[0].path, f"{self.name}: image")
        grey = _load_mask(masks[0].path, plate.size, f"{self.name}: mask")
        if not (grey >= 128).any():
            raise ProviderError(f"{self.name}: the mask has no white pixels, so there is nothing to fill")
        size = self._inpaint_size(request, model, spec)
        fit = Fit.of(plate.size, _dims(size))
        canvas, openai_mask = _canvas(plate, grey, fit, rgba=not spec.gpt)
        prompt = self._prompt(request, model, spec, fallback=FILL_PROMPT)
        quality = self._quality(request, model, spec)
        ignored: list[str] = []
        fidelity = self._fidelity(request, spec, ignored)
        keep = _truthy(self._option(request, "keep_unmasked", True))

        folder = session.work_dir / "openai-upload"
        folder.mkdir(exist_ok=True)
        image_path, mask_path = folder / "image.png", folder / "mask.png"
        image_path.write_bytes(canvas)
        mask_path.write_bytes(openai_mask)
        if not spec.gpt and max(len(canvas), len(openai_mask)) >= DALLE2_MAX_BYTES:
            raise ProviderError(f"{self.name}: the plate as a {size} PNG is {len(canvas) / 1e6:.1f} MB; dall-e-2 "
                                "takes less than 4 MB; use gpt-image-1")
        up_image = session.outgoing(InputImage(IMAGE, image_path, images[0].kind, images[0].source_sha256))
        up_mask = session.outgoing(InputImage(MASK, mask_path, masks[0].kind, masks[0].source_sha256))
        fields: list[tuple[str, str]] = [("model", model), ("prompt", prompt), ("n", "1"), ("size", size)]
        fields += [("quality", quality)] if quality else []
        fields += [("input_fidelity", fidelity)] if fidelity else []
        fields += self._gpt_fields(request, spec, ignored, edits=True) if spec.gpt \
            else [("response_format", self._response_format(request, ignored))]
        files = [("image", (up_image.filename, up_image.data, "image/png")),
                 ("mask", (up_mask.filename, up_mask.data, "image/png"))]
        kinds = {DataKind.prompt} if request.prompt.strip() or request.negative_prompt.strip() else set()
        session.progress(0.05, f"OpenAI {model}: inpainting at {size}")
        log.info("%s: %s edits with mask, size %s", self.name, model, size)
        answer, rid = self._post(session, key, "edits", what=f"inpainting with {model}", data=fields, files=files,
                                 sent=[up_image, up_mask], kinds=kinds)
        result = self._decode(session, answer, "the inpainted image")[0]
        out = _restore(result, fit, plate, grey, keep, f"{self.name}: the inpainted image")
        path = session.work_dir / "openai_inpaint.png"
        _save_png(out, alpha, path, plate.info.get("icc_profile"))
        reproduce: dict[str, Any] = {
            "endpoint": "/v1/images/edits", "model": model, "size": size, "quality": quality or "api default",
            "input_fidelity": fidelity or "api default", "fit": fit.describe(), "keep_unmasked": keep,
            "prompt": "artist's" if kinds else "ShotBridge's default fill prompt", "request_ids": [rid],
        }
        if fit.inner != plate.size or fit.canvas != plate.size:
            reproduce["size_note"] = (f"the {plate.size[0]}x{plate.size[1]} plate was scaled and padded onto "
                                      f"{size} (a size {model} accepts) and the result scaled back")
        reproduce.update({"usage": [answer["usage"]]} if isinstance(answer.get("usage"), dict) else {})
        reproduce.update({"ignored_options": ignored} if ignored else {})
        self._no_seed(request, reproduce)
        session.progress(1.0, f"OpenAI {model}: inpainted")
        return Generated(files=[path], media_type="image/png", model=model, seed=None, reproduce=reproduce)

    # -- request pieces ------------------------------------------------------------------------------------

    def _fidelity(self, request: GenerationRequest, spec: ModelSpec, ignored: list[str]) -> str | None:
        # High fidelity keeps faces and plate detail (what character references and plates are for); it costs
        # more input tokens. Models without the parameter reject it, so it is left out for them.
        value = self._option(request, "input_fidelity", "high")
        if not spec.input_fidelity:
            if "input_fidelity" in request.options:
                ignored.append("input_fidelity (this model does not take it)")
            return None
        if value not in ("high", "low"):
            raise ProviderError(f"{self.name}: input_fidelity must be high or low, not '{value}'")
        return str(value)

    def _gpt_fields(self, request: GenerationRequest, spec: ModelSpec, ignored: list[str], *,
                    edits: bool) -> list[tuple[str, str]]:
        """PNG out (ShotBridge stores PNG); background and moderation where the endpoint takes them."""
        pairs: list[tuple[str, str]] = [("output_format", "png")]
        background = self._option(request, "background")
        if background:
            if background not in ("transparent", "opaque", "auto") or (background == "transparent"
                                                                       and not spec.transparent):
                raise ProviderError(f"{self.name}: background '{background}' is not available for this model")
            pairs.append(("background", str(background)))
        moderation = self._option(request, "moderation")
        if moderation:
            if moderation not in ("low", "auto"):
                raise ProviderError(f"{self.name}: moderation must be low or auto, not '{moderation}'")
            if edits:  # /v1/images/edits has no moderation parameter
                ignored.append("moderation (the edits endpoint does not take it)")
            else:
                pairs.append(("moderation", str(moderation)))
        for key in ("style", "response_format"):
            if key in request.options:
                ignored.append(f"{key} (DALL-E only)")
        return pairs

    def _dalle_fields(self, request: GenerationRequest, model: str, ignored: list[str]) -> dict[str, Any]:
        fields: dict[str, Any] = {"response_format": self._response_format(request, ignored)}
        style = self._option(request, "style")
        if style:
            if model != "dall-e-3" or style not in ("vivid", "natural"):
                raise ProviderError(f"{self.name}: style '{style}' needs dall-e-3 and is vivid or natural")
            fields["style"] = style
        for key in ("background", "moderation", "input_fidelity"):
            if key in request.options:
                ignored.append(f"{key} (GPT Image only)")
        return fields

    def _response_format(self, request: GenerationRequest, ignored: list[str]) -> str:
        # b64_json by default: one request, and nothing to fetch from a second host. `url` is honoured.
        value = self._option(request, "response_format", "b64_json")
        if value not in ("b64_json", "url"):
            raise ProviderError(f"{self.name}: response_format must be b64_json or url, not '{value}'")
        return str(value)

    @staticmethod
    def _no_seed(request: GenerationRequest, reproduce: dict[str, Any]) -> None:
        reproduce["seed"] = None
        reproduce["seed_note"] = "the OpenAI Images API takes no seed; re-running gives a different image"
        if request.seed is not None:
            reproduce["seed_requested"] = request.seed

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")

    def _post(self, session: ProviderSession, key: str, endpoint: str, *, what: str,
              sent: list[Outgoing] | tuple[()] = (), kinds: set[DataKind], **kwargs: Any) -> tuple[dict, str]:
        # No cancel endpoint exists for the Images API: a cancel closes the socket (the session does that), the
        # request stops here at once, but OpenAI may finish (and bill) the image it had started.
        response = session.post(f"{self.url}/v1/images/{endpoint}", headers=self._headers(key), sent=sent,
                                kinds=kinds, **kwargs)
        with response:
            request_id = response.headers.get("x-request-id", "")
            if response.status_code >= 400:
                raise self._error(response, what, session.max_attempts)
            return self._json(response, what), request_id

    def _json(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise ProviderError(f"{self.name}: OpenAI answered {what} with a body that is not JSON "
                                f"({response.headers.get('Content-Type', 'no content type')})") from None
        if not isinstance(body, dict):
            raise ProviderError(f"{self.name}: OpenAI answered {what} with {type(body).__name__}, not an object")
        return body

    def _scrub(self, text: str) -> str:
        """Provider text without the key: OpenAI's 401 message echoes a masked fragment of it."""
        key = self.secrets.get("api_key")
        if key:
            text = text.replace(key, "[redacted]")
        return KEY_PATTERN.sub("[redacted]", text)

    def _error_fields(self, response: requests.Response) -> dict[str, str]:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        if not isinstance(error, dict):
            error = {"message": str(error)}
        message = str(error.get("message") or response.text[:300] or response.reason or "").strip()
        return {"message": self._scrub(message), "type": str(error.get("type") or ""),
                "code": str(error.get("code") or ""), "param": str(error.get("param") or "")}

    def _error(self, response: requests.Response, what: str, attempts: int) -> ProviderError:
        status = response.status_code
        error = self._error_fields(response)
        code = error["code"] or error["type"] or None
        labels = ", ".join(f"{k} {error[k]}" for k in ("type", "code", "param") if error[k])
        detail = f"{error['message']}" + (f" ({labels})" if labels else "")
        if status == 401:  # the message is left out: it quotes part of the key
            return ProviderUnavailable(f"{self.name}: OpenAI refused the API key while {what} (401 "
                                       f"{code or 'unauthorized'}); check that api_key in [providers.{self.name}] "
                                       "names a valid, active key", status=status, code=code)
        if status == 403:
            return ProviderUnavailable(f"{self.name}: the API key may not be used for {what} (403): {detail}. "
                                       "GPT Image models need a verified organization; check the key's project "
                                       "and model permissions", status=status, code=code)
        if status == 400 and (error["code"] in SAFETY_CODES or "safety system" in error["message"].lower()):
            return ProviderError(f"{self.name}: OpenAI's safety system rejected the request while {what}: "
                                 f"{detail}. It was not retried; rephrase the prompt or change the inputs",
                                 status=status, code=code)
        if status == 404:
            return ProviderError(f"{self.name}: OpenAI does not offer what was asked while {what} (404): {detail}; "
                                 "check the model name and url in providers.toml", status=status, code=code)
        if status == 429 and error["code"] == "insufficient_quota":
            return ProviderUnavailable(f"{self.name}: the OpenAI account is out of quota while {what}: {detail}; "
                                       "add credit or raise the project's limit", status=status, code=code)
        if status == 429:
            return ProviderUnavailable(f"{self.name}: OpenAI kept throttling while {what} ({attempts} attempts): "
                                       f"{detail}; try again later or lower the job rate", status=status, code=code)
        if status >= 500:
            return ProviderUnavailable(f"{self.name}: OpenAI failed while {what} ({status}, {attempts} attempts): "
                                       f"{detail}; try again later", status=status, code=code)
        return ProviderError(f"{self.name}: OpenAI rejected the request while {what} ({status}): {detail}",
                             status=status, code=code)

    def _decode(self, session: ProviderSession, answer: dict[str, Any], what: str) -> list[bytes]:
        items = answer.get("data")
        if not isinstance(items, list) or not items:
            raise ProviderError(f"{self.name}: OpenAI's answer for {what} holds no images")
        out = []
        for i, item in enumerate(items):
            if isinstance(item, dict) and item.get("b64_json"):
                try:
                    out.append(base64.b64decode(item["b64_json"], validate=True))
                except (binascii.Error, ValueError, TypeError):
                    raise ProviderError(f"{self.name}: image {i + 1} of {what} is not valid base64") from None
            elif isinstance(item, dict) and item.get("url"):
                out.append(self._download(session, str(item["url"]), f"image {i + 1} of {what}"))
            else:
                raise ProviderError(f"{self.name}: image {i + 1} of {what} has neither b64_json nor url")
        return out

    def _download(self, session: ProviderSession, url: str, what: str) -> bytes:
        # A signed URL on OpenAI's blob storage, valid 60 minutes: fetched without the API key (another host).
        if urlsplit(url).scheme not in ("https", "http"):
            raise ProviderError(f"{self.name}: {what} came as a URL ShotBridge will not fetch ({url[:40]}...)")
        response = session.get(url, kinds=())
        with response:
            if response.status_code != 200:
                raise ProviderError(f"{self.name}: downloading {what} from OpenAI's storage failed "
                                    f"({response.status_code}); the URL may have expired, re-run the job",
                                    status=response.status_code)
            return response.content

    def _write_png(self, session: ProviderSession, data: bytes, name: str) -> Path:
        from PIL import Image, UnidentifiedImageError

        path = session.work_dir / name
        if data.startswith(PNG_SIGNATURE):
            try:
                with Image.open(io.BytesIO(data)) as img:
                    img.verify()
            except (UnidentifiedImageError, OSError, SyntaxError) as exc:
                raise ProviderError(f"{self.name}: OpenAI sent a damaged PNG ({exc})") from None
            path.write_bytes(data)
            return path
        try:  # jpeg/webp (output_format set elsewhere): stored as PNG like every other result
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                img.save(path, "PNG")
        except (UnidentifiedImageError, OSError) as exc:
            raise ProviderError(f"{self.name}: OpenAI sent something that is not an image ({exc})") from None
        return path


# -- pixels --------------------------------------------------------------------------------------------------


def _truthy(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() not in ("0", "false", "no", "off", "")


def _to8(img: Image.Image) -> Image.Image:
    """8 bits per channel: 16-bit and float plates are scaled, not clipped."""
    import numpy as np
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        return Image.fromarray(np.clip(arr / 257.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        return Image.fromarray(np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    return img


def _open(path: Path, what: str) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return img.copy() if img.mode != "P" else img.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ProviderError(f"{what} '{path.name}' is not an image ShotBridge can read ({exc}); send PNG, JPEG "
                            "or TIFF") from None


def _load_plate(path: Path, what: str) -> tuple[Image.Image, np.ndarray | None]:
    """The plate as 8-bit RGB (its ICC profile kept in .info) and its alpha, if it has one."""
    import numpy as np

    img = _open(path, what)
    icc = img.info.get("icc_profile")
    alpha = np.asarray(img.getchannel("A")) if "A" in img.getbands() else None
    rgb = _to8(img).convert("RGB")
    if icc:
        rgb.info["icc_profile"] = icc
    return rgb, alpha


def _load_mask(path: Path, size: tuple[int, int], what: str) -> np.ndarray:
    """ShotBridge's grey mask (white = fill) at the plate's size, as uint8."""
    import numpy as np
    from PIL import Image

    grey = _to8(_open(path, what)).convert("L")
    if grey.size != size:
        grey = grey.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(grey, dtype=np.uint8)


def _png(img: Image.Image, icc: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    if icc:
        img.save(buf, "PNG", icc_profile=icc)
    else:
        img.save(buf, "PNG")
    return buf.getvalue()


def _canvas(plate: Image.Image, grey: np.ndarray, fit: Fit, *, rgba: bool) -> tuple[bytes, bytes]:
    """The plate on the canvas OpenAI is sent (edge-padded, so no black bars tempt the model) and OpenAI's
    mask for it: an RGBA PNG of the same size, alpha 0 where ShotBridge's mask is white (fill), 255 elsewhere
    (the padding included). Its colour channels are black: the mask carries no picture of the plate."""
    import numpy as np
    from PIL import Image

    (cw, ch), (left, top, right, bottom) = fit.canvas, fit.box
    inner = (right - left, bottom - top)
    pixels = plate if plate.size == inner else plate.resize(inner, Image.Resampling.LANCZOS)
    arr = np.asarray(pixels, dtype=np.uint8)
    arr = np.pad(arr, ((top, ch - bottom), (left, cw - right), (0, 0)), mode="edge")
    fill = grey if grey.shape[::-1] == inner else np.asarray(
        Image.fromarray(grey, "L").resize(inner, Image.Resampling.BILINEAR), dtype=np.uint8)
    fill = np.pad(fill >= 128, ((top, ch - bottom), (left, cw - right)), constant_values=False)
    mask = np.zeros((ch, cw, 4), dtype=np.uint8)
    mask[..., 3] = np.where(fill, 0, 255)
    image = Image.fromarray(arr, "RGB")
    if rgba:  # dall-e-2 edits expect RGBA images
        image = image.convert("RGBA")
    return _png(image, plate.info.get("icc_profile")), _png(Image.fromarray(mask, "RGBA"))


def _restore(data: bytes, fit: Fit, plate: Image.Image, grey: np.ndarray, keep_unmasked: bool,
             what: str) -> np.ndarray:
    """OpenAI's canvas back to the plate: cropped, scaled to the plate's size and, with keep_unmasked, the
    plate's own pixels outside the mask (GPT Image treats a mask as guidance and may repaint everything)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            result = img.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise ProviderError(f"{what} is not an image ({exc})") from None
    if result.size != fit.canvas:
        result = result.resize(fit.canvas, Image.Resampling.LANCZOS)
    result = result.crop(fit.box)
    if result.size != plate.size:
        result = result.resize(plate.size, Image.Resampling.LANCZOS)
    out = np.asarray(result, dtype=np.uint8)
    if not keep_unmasked:
        return out
    a = grey.astype(np.float32)[..., None] / 255.0
    mixed = np.asarray(plate, dtype=np.float32) * (1.0 - a) + out.astype(np.float32) * a
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def _save_png(rgb: np.ndarray, alpha: np.ndarray | None, path: Path, icc: bytes | None) -> None:
    import numpy as np
    from PIL import Image

    img = Image.fromarray(np.dstack([rgb, alpha]), "RGBA") if alpha is not None else Image.fromarray(rgb, "RGB")
    path.write_bytes(_png(img, icc))

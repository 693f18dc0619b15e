"""A local OpenAI Images API: /v1/images/generations, /v1/images/edits and /v1/models/{id}, validating requests
as the real service does (PROVIDERS.md §3; parameter rules from the openai-python SDK's ImageGenerateParams
and ImageEditParams docs; mask rules from OpenAI's image generation guide).

    double = OpenAIDouble(api_key="sk-test-...")
    with LiveServer(double.app) as server: ...
    double.throttle(2, retry_after="1")   # the next two image requests get 429 + Retry-After
    double.fail(3, status=500)            # server errors
    double.hang(10)                       # image requests wait 10 s (noticing a client that goes away)
    double.block("forbidden")             # prompts containing it get the safety rejection
    double.received                       # every request, with its headers and uploaded bytes

Outputs are real PNGs, deterministic in the request (model, prompt, size, input images). An edit with a mask
keeps the input's pixels where the mask is opaque and paints new ones where it is fully transparent, so a
test can tell whether the mask was sent the right way round.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import math
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image, UnidentifiedImageError

GPT_MODELS = ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2", "gpt-image-2-2026-04-21",
              "chatgpt-image-latest")
MODELS = (*GPT_MODELS, "dall-e-2", "dall-e-3")
STANDARD = ("1024x1024", "1536x1024", "1024x1536")
SIZES = {"dall-e-2": ("256x256", "512x512", "1024x1024"), "dall-e-3": ("1024x1024", "1792x1024", "1024x1792")}
QUALITIES = {"dall-e-2": ("standard",), "dall-e-3": ("standard", "hd")}
GPT_QUALITIES = ("low", "medium", "high", "auto")
MAX_PROMPT = {"dall-e-2": 1000, "dall-e-3": 4000}
FIDELITY_MODELS = ("gpt-image-1", "gpt-image-1.5")  # "unsupported for gpt-image-1-mini"; gpt-image-2: omit it
GENERATION_PARAMS = {"prompt", "background", "model", "moderation", "n", "output_compression", "output_format",
                     "partial_images", "quality", "response_format", "size", "stream", "style", "user"}
EDIT_PARAMS = {"image", "image[]", "mask", "prompt", "background", "input_fidelity", "model", "n",
               "output_compression", "output_format", "partial_images", "quality", "response_format", "size",
               "stream", "user"}
GPT_ONLY = ("background", "moderation", "output_compression", "output_format", "partial_images", "input_fidelity")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
# Output tokens per image (the guide's table for models before gpt-image-2): feeds the `usage` object.
OUTPUT_TOKENS = {"low": (272, 408), "medium": (1056, 1584), "high": (4160, 6240)}
KEY_HELP = "You can find your API key at https://platform.openai.com/account/api-keys."
NO_KEY = ("You didn't provide an API key. You need to provide your API key in an Authorization header using "
          "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
          "you're accessing the API from your browser and are prompted for a username. You can obtain an API key "
          "from https://platform.openai.com/account/api-keys.")


class Invalid(Exception):
    """A request the real API answers with an error body."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None, status: int = 400,
                 type_: str = "invalid_request_error", extra: dict | None = None):
        super().__init__(message)
        self.status, self.param, self.code, self.type, self.extra = status, param, code, type_, extra or {}

    def response(self, request_id: str) -> JSONResponse:
        error = {"message": str(self), "type": self.type, "param": self.param, "code": self.code, **self.extra}
        return JSONResponse({"error": error}, status_code=self.status, headers={"x-request-id": request_id})


@dataclass
class Upload:
    field: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    json: Any = None
    fields: dict[str, list[str]] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    status: int | None = None
    disconnected: bool = False
    request_id: str = ""
    served: list[bytes] = field(default_factory=list)  # the PNGs this request was answered with

    def value(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


@dataclass
class Fault:
    status: int
    error: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class OpenAIDouble:
    def __init__(self, api_key: str = "sk-test-0123456789abcdefXYZW"):
        self.api_key = api_key
        self.received: list[Received] = []
        self.faults: deque[Fault] = deque()
        self.hang_seconds = 0.0
        self.blocked: set[str] = set()
        self.denied: set[str] = set()
        self.downloads: dict[str, bytes] = {}
        self.disconnect_seen = threading.Event()
        self._released = threading.Event()
        self.app = self._build()

    # -- control -------------------------------------------------------------------------------------------

    def throttle(self, times: int, retry_after: str | None = "1", code: str = "rate_limit_exceeded") -> None:
        if code == "insufficient_quota":
            error = {"message": "You exceeded your current quota, please check your plan and billing details. For "
                                "more information on this error, read the docs: "
                                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                     "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}
        else:
            error = {"message": "Rate limit reached for images per minute (IPM): Limit 5, Used 5, Requested 1. "
                                "Please try again in 1s.", "type": "requests", "param": None, "code": code}
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.faults.extend(Fault(429, error, headers) for _ in range(times))

    def fail(self, times: int, status: int = 500) -> None:
        error = {"message": "The server had an error while processing your request. Sorry about that!",
                 "type": "server_error", "param": None, "code": None}
        self.faults.extend(Fault(status, error) for _ in range(times))

    def hang(self, seconds: float) -> None:
        self.hang_seconds = seconds

    def block(self, word: str) -> None:
        self.blocked.add(word.lower())

    def deny(self, model: str) -> None:
        self.denied.add(model)

    def release(self) -> None:
        """End every hang now (so the server can shut down)."""
        self._released.set()

    @property
    def image_requests(self) -> list[Received]:
        return [r for r in self.received if r.path.startswith("/v1/images/")]

    # -- the app -------------------------------------------------------------------------------------------

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/images/generations")
        async def generations(request: Request) -> Response:
            return await self._serve(request, self._generations)

        @app.post("/v1/images/edits")
        async def edits(request: Request) -> Response:
            return await self._serve(request, self._edits)

        @app.get("/v1/models/{model_id}")
        async def model(request: Request, model_id: str) -> Response:
            rec = await self._record(request)
            rid = _request_id()
            try:
                self._authorize(rec)
                if model_id in self.denied:
                    raise Invalid(f"Your organization must be verified to use the model `{model_id}`. Please go to: "
                                  "https://platform.openai.com/settings/organization/general and click on Verify "
                                  "Organization.", status=403)
                if model_id not in MODELS:
                    raise Invalid(f"The model `{model_id}` does not exist or you do not have access to it.",
                                  status=404, code="model_not_found")
            except Invalid as exc:
                rec.status = exc.status
                return exc.response(rid)
            rec.status = 200
            return JSONResponse({"id": model_id, "object": "model", "created": 1714000000, "owned_by": "system"},
                                headers={"x-request-id": rid})

        @app.get("/files/{image_id}")
        async def download(request: Request, image_id: str) -> Response:
            # A signed blob URL: no Authorization needed (and none should be sent).
            rec = await self._record(request)
            data = self.downloads.get(image_id)
            rec.status = 200 if data is not None else 404
            if data is None:
                return Response(status_code=404)
            return Response(data, media_type="image/png")

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
        async def unknown(request: Request, path: str) -> Response:
            rec = await self._record(request)
            rec.status = 404
            return Invalid(f"Invalid URL ({request.method} /{path})", status=404).response(_request_id())

        return app

    async def _record(self, request: Request) -> Received:
        body = await request.body()
        rec = Received(request.method, request.url.path, {k.lower(): v for k, v in request.headers.items()}, body,
                       time.monotonic())
        self.received.append(rec)
        return rec

    async def _serve(self, request: Request, handler) -> Response:
        rec = await self._record(request)
        rid = rec.request_id = _request_id()
        try:
            self._authorize(rec)
            if self.faults:
                fault = self.faults.popleft()
                rec.status = fault.status
                return JSONResponse({"error": fault.error}, status_code=fault.status,
                                    headers={"x-request-id": rid, **fault.headers})
            if self.hang_seconds and await self._wait(request, rec, self.hang_seconds):
                return Response(status_code=499)  # nobody is listening any more
            body = handler(rec, str(request.base_url).rstrip("/"))
        except Invalid as exc:
            rec.status = exc.status
            return exc.response(rid)
        rec.status = 200
        return JSONResponse(body, headers={"x-request-id": rid, "openai-processing-ms": "42"})

    async def _wait(self, request: Request, rec: Received, seconds: float) -> bool:
        """Sleep like a slow generation, noticing when the client closes the connection."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self._released.is_set():
            if await request.is_disconnected():
                rec.disconnected = True
                self.disconnect_seen.set()
                return True
            await asyncio.sleep(0.02)
        return False

    def _authorize(self, rec: Received) -> None:
        auth = rec.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise Invalid(NO_KEY, status=401)
        key = auth[7:].strip()
        if key != self.api_key:
            masked = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key
            raise Invalid(f"Incorrect API key provided: {masked}. {KEY_HELP}", status=401, code="invalid_api_key")

    # -- endpoints -----------------------------------------------------------------------------------------

    def _generations(self, rec: Received, base: str) -> dict[str, Any]:
        if "application/json" not in rec.headers.get("content-type", ""):
            raise Invalid("We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                          "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
                          "sent was not valid JSON.)")
        try:
            rec.json = body = json.loads(rec.body)
        except ValueError:
            raise Invalid("We could not parse the JSON body of your request.") from None
        if not isinstance(body, dict):
            raise Invalid("Invalid type for body: expected an object.")
        for key in body:
            if key not in GENERATION_PARAMS:
                raise Invalid(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")
        model = self._model(body.get("model"), edits=False)
        prompt = self._prompt(body.get("prompt"), model)
        n = self._n(body.get("n", 1), model)
        size = self._size(body.get("size"), model)
        quality = self._quality(body.get("quality"), model)
        self._model_params(body, model, edits=False)
        self._safety(prompt, model)
        w, h = _dims(size if size != "auto" else "1024x1024")
        images = [_render(f"{model}|{prompt}|{size}|{quality}|{i}", w, h) for i in range(n)]
        return self._answer(rec, images, model, body, size, quality, base, prompt=prompt, inputs=0)

    def _edits(self, rec: Received, base: str) -> dict[str, Any]:
        ctype = rec.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            raise Invalid(f"Invalid Content-Type header ({ctype or 'none'}), expected multipart/form-data.")
        rec.fields, rec.uploads = _multipart(ctype, rec.body)
        for key in [*rec.fields, *(u.field for u in rec.uploads)]:
            if key not in EDIT_PARAMS:
                raise Invalid(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")
        form = {k: v[0] for k, v in rec.fields.items()}
        model = self._model(form.get("model"), edits=True)
        prompt = self._prompt(form.get("prompt"), model)
        n = self._n(form.get("n", "1"), model)
        size = self._size(form.get("size"), model)
        quality = self._quality(form.get("quality"), model)
        self._model_params(form, model, edits=True)
        images = [u for u in rec.uploads if u.field in ("image", "image[]")]
        masks = [u for u in rec.uploads if u.field == "mask"]
        if not images:
            raise Invalid("Missing required parameter: 'image'.", param="image", code="missing_required_parameter")
        if any(u.field in ("prompt", "model", "n", "size", "quality") for u in rec.uploads):
            raise Invalid("Invalid type: expected a string field, got a file.", code="invalid_type")
        if len(masks) > 1:
            raise Invalid("Only one 'mask' may be given.", param="mask", code="invalid_value")
        decoded = [self._image(u, i, model) for i, u in enumerate(images)]
        mask = self._mask(masks[0], images[0], decoded[0], model) if masks else None
        self._safety(prompt, model)
        first = decoded[0]
        if size == "auto":
            size = _nearest_standard(*first.size) if model in GPT_MODELS else "1024x1024"
        w, h = _dims(size)
        digest = "|".join(hashlib.sha256(u.data).hexdigest() for u in images)
        out = []
        for i in range(n):
            painted = _render(f"{model}|{prompt}|{size}|{quality}|{digest}|{i}", w, h)
            if mask is not None:  # the mask applies to the first image: opaque = keep, alpha 0 = edit
                base_px = np.asarray(first.convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
                                     if first.size != (w, h) else first.convert("RGB"))
                alpha = np.asarray(mask.getchannel("A").resize((w, h), Image.Resampling.NEAREST))
                painted = np.where((alpha == 0)[..., None], painted, base_px).astype(np.uint8)
            out.append(painted)
        return self._answer(rec, out, model, form, size, quality, base, prompt=prompt, inputs=len(images))

    # -- validation ----------------------------------------------------------------------------------------

    def _model(self, value: Any, *, edits: bool) -> str:
        model = value if value not in (None, "") else "dall-e-2"  # the API's default model
        if not isinstance(model, str) or model not in MODELS:
            raise Invalid(f"The model `{model}` does not exist or you do not have access to it.", status=404,
                          code="model_not_found")
        if model in self.denied:
            raise Invalid(f"Your organization must be verified to use the model `{model}`.", status=403)
        if edits and model == "dall-e-3":
            raise Invalid("Invalid value: 'dall-e-3'. Image edits support 'dall-e-2' and GPT image models.",
                          param="model", code="invalid_value")
        return model

    @staticmethod
    def _prompt(value: Any, model: str) -> str:
        if value is None:
            raise Invalid("Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter")
        if not isinstance(value, str):
            raise Invalid("Invalid type for 'prompt': expected a string.", param="prompt", code="invalid_type")
        limit = MAX_PROMPT.get(model, 32000)
        if len(value) > limit:
            raise Invalid(f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, but "
                          f"got a string with length {len(value)} instead.", param="prompt",
                          code="string_above_max_length")
        return value

    @staticmethod
    def _n(value: Any, model: str) -> int:
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise Invalid("Invalid type for 'n': expected an integer.", param="n", code="invalid_type") from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid("Invalid type for 'n': expected an integer.", param="n", code="invalid_type")
        top = 1 if model == "dall-e-3" else 10
        if value < 1:
            raise Invalid(f"Invalid 'n': integer below minimum value. Expected a value >= 1, but got {value} "
                          "instead.", param="n", code="integer_below_min_value")
        if value > top:
            raise Invalid(f"Invalid 'n': integer above maximum value. Expected a value <= {top}, but got {value} "
                          "instead.", param="n", code="integer_above_max_value")
        return value

    @staticmethod
    def _size(value: Any, model: str) -> str:
        if value is None:
            return "auto" if model in GPT_MODELS else "1024x1024"
        allowed = (*STANDARD, "auto") if model in GPT_MODELS else SIZES[model]
        if value in allowed:
            return value
        if model.startswith("gpt-image-2") and isinstance(value, str):
            parts = value.split("x")
            if len(parts) == 2 and all(p.isdigit() for p in parts):
                w, h = int(parts[0]), int(parts[1])
                if (w % 16 == 0 and h % 16 == 0 and max(w, h) <= 3840 and max(w, h) / min(w, h) <= 3
                        and 655_360 <= w * h <= 8_294_400):
                    return value
        listed = ", ".join(f"'{s}'" for s in allowed[:-1]) + f", and '{allowed[-1]}'"
        raise Invalid(f"Invalid value: '{value}'. Supported values are: {listed}.", param="size",
                      code="invalid_value")

    @staticmethod
    def _quality(value: Any, model: str) -> str:
        allowed = GPT_QUALITIES if model in GPT_MODELS else QUALITIES[model]
        if value is None:
            return "auto" if model in GPT_MODELS else "standard"
        if value not in allowed:
            raise Invalid(f"Invalid value: '{value}'. Supported values are: "
                          + ", ".join(f"'{q}'" for q in allowed) + ".", param="quality", code="invalid_value")
        return value

    @staticmethod
    def _model_params(body: dict[str, Any], model: str, *, edits: bool) -> None:
        gpt = model in GPT_MODELS
        for key in GPT_ONLY:
            if key in body and not gpt:
                raise Invalid(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")
        if "response_format" in body:
            if gpt:
                raise Invalid("Unknown parameter: 'response_format'.", param="response_format",
                              code="unknown_parameter")
            if body["response_format"] not in ("url", "b64_json"):
                raise Invalid(f"Invalid value: '{body['response_format']}'. Supported values are: 'url' and "
                              "'b64_json'.", param="response_format", code="invalid_value")
        if "style" in body:
            if model != "dall-e-3":
                raise Invalid("Unknown parameter: 'style'.", param="style", code="unknown_parameter")
            if body["style"] not in ("vivid", "natural"):
                raise Invalid(f"Invalid value: '{body['style']}'. Supported values are: 'vivid' and 'natural'.",
                              param="style", code="invalid_value")
        if "input_fidelity" in body:
            if model not in FIDELITY_MODELS:
                raise Invalid(f"The 'input_fidelity' parameter is not supported for model '{model}'.",
                              param="input_fidelity", code="unsupported_parameter")
            if body["input_fidelity"] not in ("high", "low"):
                raise Invalid(f"Invalid value: '{body['input_fidelity']}'. Supported values are: 'high' and 'low'.",
                              param="input_fidelity", code="invalid_value")
        if "output_format" in body and body["output_format"] not in ("png", "jpeg", "webp"):
            raise Invalid(f"Invalid value: '{body['output_format']}'. Supported values are: 'png', 'jpeg', and "
                          "'webp'.", param="output_format", code="invalid_value")
        if "background" in body:
            allowed = ("opaque", "auto") if model.startswith("gpt-image-2") else ("transparent", "opaque", "auto")
            if body["background"] not in allowed:
                raise Invalid(f"Invalid value: '{body['background']}'. Supported values are: "
                              + ", ".join(f"'{a}'" for a in allowed) + ".", param="background", code="invalid_value")
        if "moderation" in body and body["moderation"] not in ("low", "auto"):
            raise Invalid(f"Invalid value: '{body['moderation']}'. Supported values are: 'low' and 'auto'.",
                          param="moderation", code="invalid_value")

    @staticmethod
    def _image(upload: Upload, index: int, model: str) -> Image.Image:
        name = "image" if upload.field == "image" else f"image[{index}]"
        if upload.content_type not in IMAGE_TYPES:
            raise Invalid(f"Invalid file '{name}': unsupported mimetype ('{upload.content_type}'). Supported file "
                          "formats are 'image/jpeg', 'image/png', and 'image/webp'.", param=name,
                          code="invalid_image_format")
        try:
            img = Image.open(io.BytesIO(upload.data))
            img.load()
        except (UnidentifiedImageError, OSError):
            raise Invalid(f"Invalid image file or mode for image {index + 1}, please check your image file.",
                          param=name, code="invalid_image_file") from None
        if model == "dall-e-2":
            if index > 0:
                raise Invalid("dall-e-2 takes a single image.", param="image", code="invalid_value")
            if img.format != "PNG" or len(upload.data) >= 4 * 1024 * 1024:
                raise Invalid("Invalid input image - format must be a PNG less than 4MB.", param="image",
                              code="invalid_image_format")
            if img.width != img.height:
                raise Invalid("Invalid input image - image must be square.", param="image",
                              code="invalid_image_format")
        elif index >= 16 or len(upload.data) >= 50 * 1024 * 1024:
            raise Invalid("Too many images or an image too large: at most 16 images, each under 50MB.",
                          param=name, code="invalid_value")
        return img

    @staticmethod
    def _mask(upload: Upload, first_upload: Upload, first: Image.Image, model: str) -> Image.Image:
        if upload.content_type != "image/png" or not upload.data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise Invalid("Invalid mask image format - mask must be a PNG file.", param="mask",
                          code="invalid_image_format")
        try:
            mask = Image.open(io.BytesIO(upload.data))
            mask.load()
        except (UnidentifiedImageError, OSError):
            raise Invalid("Invalid mask image file.", param="mask", code="invalid_image_file") from None
        if mask.mode == "P" and "transparency" in mask.info:
            mask = mask.convert("RGBA")
        if "A" not in mask.getbands():
            raise Invalid("Invalid mask image format - mask must contain an alpha channel.", param="mask",
                          code="invalid_image_file")
        if mask.size != first.size:
            raise Invalid(f"Invalid mask image format - mask size ({mask.width}x{mask.height}) does not match image "
                          f"size ({first.width}x{first.height}).", param="mask", code="invalid_image_format")
        if first.format != "PNG" or first_upload.content_type != "image/png":  # "same format and size"
            raise Invalid("The image to edit and the mask must be of the same format (PNG).", param="image",
                          code="invalid_image_format")
        return mask.convert("RGBA")

    def _safety(self, prompt: str, model: str) -> None:
        if not any(word in prompt.lower() for word in self.blocked):
            return
        if model in GPT_MODELS:
            raise Invalid("Your request was rejected by the safety system. If you believe this is an error, "
                          "contact us at help.openai.com and include the request ID.",
                          type_="image_generation_user_error", code="moderation_blocked",
                          extra={"moderation_details": {"moderation_stage": "input", "categories": ["other"]}})
        raise Invalid("Your request was rejected as a result of our safety system. Your prompt may contain text "
                      "that is not allowed by our safety system.", code="content_policy_violation")

    # -- answers -------------------------------------------------------------------------------------------

    def _answer(self, rec: Received, images: list[np.ndarray], model: str, params: dict[str, Any], size: str,
                quality: str, base: str, *, prompt: str, inputs: int) -> dict[str, Any]:
        gpt = model in GPT_MODELS
        pngs = rec.served = [_png(a) for a in images]
        data = []
        for png in pngs:
            if gpt or params.get("response_format", "url") == "b64_json":
                item: dict[str, Any] = {"b64_json": base64.b64encode(png).decode()}
            else:
                image_id = f"img-{uuid.uuid4().hex}.png"
                self.downloads[image_id] = png
                item = {"url": f"{base}/files/{image_id}?se=2026-01-01T00%3A00%3A00Z&sig=signed"}
            if model == "dall-e-3":
                item["revised_prompt"] = f"A detailed rendering: {prompt}"
            data.append(item)
        answer: dict[str, Any] = {"created": int(time.time()), "data": data}
        if gpt:
            w, h = _dims(size)
            tier = quality if quality in OUTPUT_TOKENS else "medium"
            out_tokens = OUTPUT_TOKENS[tier][0 if w == h else 1] * len(images)
            text_tokens = max(1, math.ceil(len(prompt) / 4))
            image_tokens = 194 * inputs
            answer.update(background=params.get("background", "opaque"), output_format=params.get("output_format",
                          "png"), quality=tier, size=size,
                          usage={"input_tokens": text_tokens + image_tokens,
                                 "input_tokens_details": {"image_tokens": image_tokens, "text_tokens": text_tokens},
                                 "output_tokens": out_tokens, "total_tokens": text_tokens + image_tokens + out_tokens})
        return answer


# -- helpers -------------------------------------------------------------------------------------------------


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


def _dims(size: str) -> tuple[int, int]:
    w, _, h = size.partition("x")
    return int(w), int(h)


def _nearest_standard(w: int, h: int) -> str:
    return min(STANDARD, key=lambda s: abs(math.log((_dims(s)[0] / _dims(s)[1]) / (w / h))))


def render(seed: str, width: int, height: int) -> np.ndarray:
    """The picture the double paints for a request: smooth colour ramps with fine stripes, decided by `seed`
    (so tests can recompute what a given request must return)."""
    return _render(seed, width, height)


def _render(seed: str, width: int, height: int) -> np.ndarray:
    digest = hashlib.sha256(seed.encode()).digest()
    p = np.frombuffer(digest, dtype=np.uint8).astype(np.float32)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for c in range(3):
        ramp = p[c] + (p[3 + c] / 255.0) * 255.0 * x / max(1, width) + (p[6 + c] / 255.0) * 255.0 * y / max(1, height)
        stripes = 40.0 * np.sin((x * (1 + p[9 + c] % 7) + y * (1 + p[12 + c] % 5)) / 3.0)
        channels.append(np.mod(ramp + stripes, 256.0))
    return np.stack(channels, axis=-1).astype(np.uint8)


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], list[Upload]]:
    """multipart/form-data, parsed strictly with the standard library's MIME parser."""
    if "boundary=" not in content_type:
        raise Invalid("Invalid multipart body: no boundary in the Content-Type header.")
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    if not message.is_multipart() or message.defects:
        raise Invalid("Invalid multipart body: it could not be parsed.")
    fields: dict[str, list[str]] = {}
    uploads: list[Upload] = []
    for part in message.iter_parts():
        if part.get_content_disposition() != "form-data" or not part.get_param("name", header="content-disposition"):
            raise Invalid("Invalid multipart body: every part needs Content-Disposition: form-data; name=...")
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            uploads.append(Upload(name, filename, part.get_content_type(), payload))
        else:
            fields.setdefault(name, []).append(payload.decode("utf-8"))
    return fields, uploads

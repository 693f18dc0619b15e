"""`bedrock`: Amazon Nova Canvas (images) and Nova Reel (video) on Amazon Bedrock, through boto3.

    [providers.aws]
    type = "bedrock"
    region = "us-east-1"                  # also the provider's data_location
    s3_output = "s3://studio-reel/shotbridge"   # Nova Reel writes its videos here (video only)
    profile = "vfx"                       # optional: a profile from ~/.aws/config

Credentials come from boto3's own chain (environment, `profile`, ~/.aws, SSO, container or instance role),
never from providers.toml: an entry holding keys is refused.

boto3 does its own HTTP, so every client made here has a `before-send` hook that hands botocore's signed
request to the job's ProviderSession and gives botocore the answer back. Each HTTP attempt therefore passes
the policy gate, is audited (with the sha256 and size of every image in its body), is retried with
cancel-aware backoff on 429/5xx (botocore's own retries are off: total_max_attempts = 1, because its
waits are plain time.sleep calls a cancel cannot interrupt), times out with the session's read timeout,
and is cut off when the job is canceled. botocore still signs (SigV4), serialises and parses errors.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import math
import random
import re
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from shotbridge.hashing import sha256_bytes, sha256_file
from shotbridge.models import CostEstimate, DataKind, ProviderKind
from shotbridge.safenames import safe_name

from ..operations.base import Canceled
from .base import (
    FIRST_FRAME,
    IMAGE,
    LAST_FRAME,
    MASK,
    REFERENCE,
    Generated,
    GenerationRequest,
    InputImage,
    ProviderAdapter,
    ProviderError,
    ProviderFacts,
    ProviderTimeout,
    ProviderUnavailable,
    Task,
)

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from .session import Outgoing, ProviderSession

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
CANVAS_MODEL = "amazon.nova-canvas-v1:0"
REEL_MODEL = "amazon.nova-reel-v1:1"

# Nova Canvas limits (Amazon Nova user guide, "Image generation access and usage"; the same bounds as AWS's
# own nova-canvas MCP server). Input images are held to the output rules too: a plate that meets them is
# certainly accepted.
SIDE_MIN, SIDE_MAX, SIDE_STEP = 320, 4096, 16
MAX_PIXELS = 4_194_304  # width * height must stay below this
MAX_ASPECT = 4.0
CANVAS_TEXT_MAX = 1024
CANVAS_SEED_MAX = 858_993_459
CANVAS_IMAGES_PER_CALL = 5
VARIATION_IMAGES_MAX = 5
QUALITIES = ("standard", "premium")
# Nova Reel single-shot TEXT_VIDEO: one 6 s clip, 1280x720 at 24 fps; a start keyframe must be 1280x720.
REEL_W, REEL_H, REEL_FPS, REEL_SECONDS = 1280, 720, 24, 6
REEL_TEXT_MAX = 512
REEL_SEED_MAX = 2_147_483_646
# On-demand list prices in us-east-1 (aws.amazon.com/bedrock/pricing), for estimates only.
CANVAS_PRICE = {("standard", False): 0.04, ("premium", False): 0.06, ("standard", True): 0.06, ("premium", True): 0.08}
REEL_PRICE_PER_SECOND = 0.08

S3_URI = re.compile(r"^s3://([a-z0-9][.\-a-z0-9]{1,61}[a-z0-9])(/.*)?$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# providers.toml keys that can only be credentials; boto3's chain is the one place they may come from.
CREDENTIAL_KEY = re.compile(r"secret|access_key|session_token|security_token|password|credential|bearer|api_key",
                            re.IGNORECASE)
CREDENTIAL_CODES = {"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException",
                    "InvalidClientTokenId", "MissingAuthenticationTokenException", "SignatureDoesNotMatch",
                    "InvalidAccessKeyId", "ExpiredToken", "InvalidToken"}
NO_CREDENTIALS = ("no AWS credentials were found. boto3 looks, in order, at the environment (AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE), this entry's `profile`, ~/.aws/credentials and "
                  "~/.aws/config (SSO: `aws sso login`), then the container or instance role. Never put keys "
                  "in providers.toml")


@dataclass
class _Prepared:
    """An input as Nova gets it: the original file when it already fits, else a converted copy."""

    image: InputImage
    original: tuple[int, int]
    size: tuple[int, int]
    note: str = ""


@dataclass
class _Run:
    """What one generate() call accumulates for `Generated.reproduce`."""

    request_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class BedrockProvider(ProviderAdapter):
    type = "bedrock"
    kind = ProviderKind.cloud
    title = "Amazon Bedrock (Nova Canvas, Nova Reel)"
    # PROVIDERS.md §2: "Amazon Bedrock doesn't store or log your prompts and completions. Amazon Bedrock
    # doesn't use your prompts and completions to train any AWS models" (docs.aws.amazon.com/bedrock/latest/
    # userguide/data-protection.html). data_location becomes the configured region.
    facts: ClassVar[ProviderFacts] = ProviderFacts(trains_on_inputs=False, retention_days=0,
                                                   data_location=DEFAULT_REGION)
    tasks: ClassVar[frozenset[Task]] = frozenset(Task)
    accepts_references = True  # character references go to Nova Canvas IMAGE_VARIATION

    def __init__(self, name: str, config: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(name, config, **kwargs)
        # Drop credential-looking keys at once so no later describe/log can carry them; refuse the entry.
        leaked = sorted(k for k in self.config if CREDENTIAL_KEY.search(k))
        for key in leaked:
            self.config.pop(key)
        self.region = str(self.config.get("region") or DEFAULT_REGION)
        if self.facts.data_location == DEFAULT_REGION and self.region != DEFAULT_REGION:
            self.facts = replace(self.facts, data_location=self.region)
        self.canvas_model = str(self.config.get("canvas_model") or CANVAS_MODEL)
        self.reel_model = str(self.config.get("reel_model") or REEL_MODEL)
        self.s3_output = str(self.config.get("s3_output") or "").rstrip("/")
        self.endpoint_url = str(self.config.get("endpoint_url") or "") or None
        self.s3_endpoint_url = str(self.config.get("s3_endpoint_url") or "") or None
        self.profile = str(self.config.get("profile") or "") or None
        # Tasks this entry cannot do, with the reason (the registry lists only the others' operations).
        self.unavailable: dict[Task, str] = {}
        if not self.s3_output:
            self.unavailable[Task.image_to_video] = (
                f"{name}: Nova Reel writes its videos to S3; set s3_output = 's3://BUCKET/PREFIX' for this "
                "entry in providers.toml (same region, Bedrock may s3:PutObject there, ShotBridge s3:GetObject)")
        self.tasks = frozenset(t for t in type(self).tasks if t not in self.unavailable)  # type: ignore[misc]
        if leaked:
            self.problem = (f"[providers.{name}] holds AWS credentials ({', '.join(leaked)}); remove them from "
                            "providers.toml. The bedrock provider takes credentials only from boto3's own "
                            "chain: the environment, `profile` (~/.aws/config, SSO), or the instance or "
                            "container role")
        else:
            self.problem = self._config_problem()

    # -- configuration ---------------------------------------------------------------------------------

    def _number(self, key: str, default: float) -> float:
        return float(self.config.get(key, default))

    def _config_problem(self) -> str:
        where = f"[providers.{self.name}]"
        if not REGION.match(self.region):
            return f"{where} region '{self.region}' is not an AWS region name (e.g. us-east-1)"
        if self.s3_output and not S3_URI.match(self.s3_output):
            return f"{where} s3_output must look like 's3://bucket/prefix', not '{self.s3_output}'"
        for key in ("endpoint_url", "s3_endpoint_url"):
            value = self.config.get(key)
            if value and not str(value).startswith(("http://", "https://")):
                return f"{where} {key} must be an http(s) URL, not '{value}'"
        for key in ("timeout", "connect_timeout", "max_attempts", "backoff", "poll_interval", "poll_max_interval",
                    "reel_timeout", "reel_expected_seconds"):
            if key in self.config:
                try:
                    if float(self.config[key]) < 0:
                        raise ValueError
                except (TypeError, ValueError):
                    return f"{where} {key} must be a non-negative number, not {self.config[key]!r}"
        return ""

    def _boto_session(self) -> boto3.session.Session:
        try:
            return boto3.session.Session(profile_name=self.profile, region_name=self.region)
        except ProfileNotFound:
            raise ProviderUnavailable(f"{self.name}: AWS profile '{self.profile}' is not in ~/.aws/config or "
                                      "~/.aws/credentials; fix `profile` in providers.toml") from None

    # -- the adapter interface -------------------------------------------------------------------------

    def health(self) -> str:
        """Local checks only (configuration, a credential found by boto3's chain): health has no session,
        so it sends nothing to AWS. Wrong permissions or model access show on the first job."""
        if self.problem:
            return self.problem
        try:
            credentials = self._boto_session().get_credentials()
        except ProviderUnavailable as exc:
            return str(exc)
        except BotoCoreError as exc:
            return f"{self.name}: boto3 cannot resolve AWS credentials ({type(exc).__name__}: {exc})"
        return "" if credentials is not None else f"{self.name}: {NO_CREDENTIALS}"

    def estimate(self, request: GenerationRequest) -> CostEstimate:
        if request.task == Task.image_to_video:
            return CostEstimate(provider=self.name, amount=REEL_PRICE_PER_SECOND * REEL_SECONDS, unit="USD",
                                note=f"Nova Reel: one {REEL_SECONDS} s clip at ${REEL_PRICE_PER_SECOND:.2f}/s "
                                     "(on-demand list price, us-east-1)")
        quality = str(request.options.get("quality", "standard"))
        if request.task == Task.text_to_image:
            pixels, count = (request.width or 1024) * (request.height or 1024), max(1, request.count)
        else:
            pixels, count = self._input_pixels(request), 1
        large = pixels > 1024 * 1024
        price = CANVAS_PRICE.get((quality, large), CANVAS_PRICE[("standard", large)])
        return CostEstimate(provider=self.name, amount=round(price * count, 4), unit="USD",
                            note=f"Nova Canvas: {count} image(s), {quality}, "
                                 f"{'up to 2048x2048' if large else 'up to 1024x1024'} "
                                 f"at ${price:.2f} each (on-demand list price, us-east-1)")

    def generate(self, request: GenerationRequest, session: ProviderSession) -> Generated:
        if self.problem:
            raise ProviderUnavailable(self.problem)
        if request.task in self.unavailable:
            raise ProviderUnavailable(self.unavailable[request.task])
        if request.task not in self.tasks:
            raise ProviderError(f"{self.name} cannot {request.task.value}")
        wire = _Wire(self, session)
        run = _Run()
        if request.task == Task.text_to_image:
            return self._text_to_image(request, session, wire, run)
        if request.task == Task.inpaint:
            return self._inpaint(request, session, wire, run)
        if request.task == Task.remove_background:
            return self._remove_background(request, session, wire, run)
        if request.task == Task.image_edit:
            return self._image_edit(request, session, wire, run)
        return self._image_to_video(request, session, wire, run)

    # -- Nova Canvas -----------------------------------------------------------------------------------

    def _text_to_image(self, request: GenerationRequest, session: ProviderSession, wire: _Wire,
                       run: _Run) -> Generated:
        prompt = self._text(request.prompt, CANVAS_TEXT_MAX, "prompt", required=True)
        negative = self._text(request.negative_prompt, CANVAS_TEXT_MAX, "negative prompt")
        options = request.options
        width, height = _fit_size(request.width or 1024, request.height or 1024, self.name, "the requested size")
        if (width, height) != (request.width or 1024, request.height or 1024):
            run.notes.append(f"size {request.width}x{request.height} snapped to {width}x{height} (Nova Canvas "
                             f"sides are multiples of {SIDE_STEP} in {SIDE_MIN}-{SIDE_MAX})")
        seed = _seed(request.seed, CANVAS_SEED_MAX)
        references = request.by_role(REFERENCE)
        colors = options.get("colors")
        # COLOR_GUIDED_GENERATION takes one reference image, IMAGE_VARIATION up to five: the rest stay here.
        keep = 1 if colors else VARIATION_IMAGES_MAX
        if len(references) > keep:
            run.notes.append(f"{len(references)} references given; Nova Canvas takes {keep} here, the first "
                             f"{keep} were sent")
        prepared = [self._prepare(ref, session) for ref in references[:keep]]
        sent = [session.outgoing(p.image) for p in prepared]
        run.notes += [p.note for p in prepared if p.note]
        if colors:
            task_type, key = "COLOR_GUIDED_GENERATION", "colorGuidedGenerationParams"
            params: dict[str, Any] = {"colors": [str(c) for c in colors], "text": prompt}
            if sent:
                params["referenceImage"] = _b64(sent[0].data)
        elif sent:
            task_type, key = "IMAGE_VARIATION", "imageVariationParams"
            params = {"images": [_b64(o.data) for o in sent], "text": prompt,
                      "similarityStrength": float(options.get("similarity_strength", 0.7))}
        else:
            task_type, key = "TEXT_IMAGE", "textToImageParams"
            params = {"text": prompt}
            if options.get("style"):
                params["style"] = str(options["style"])
        if negative:
            params["negativeText"] = negative
        config = self._generation_config(options, seed)
        config.update(width=width, height=height)
        files: list[Path] = []
        count = max(1, request.count)
        seeds: list[int] = []
        while len(files) < count:  # Nova Canvas makes at most 5 images per call; call k uses seed + k
            n = min(CANVAS_IMAGES_PER_CALL, count - len(files))
            seeds.append((seed + len(seeds)) % (CANVAS_SEED_MAX + 1))
            session.progress(len(files) / count, f"Nova Canvas {task_type}: image {len(files) + 1} of {count}")
            body = {"taskType": task_type, key: params,
                    "imageGenerationConfig": {**config, "numberOfImages": n, "seed": seeds[-1]}}
            for data in self._canvas(body, sent, request.prompt or request.negative_prompt, wire, run,
                                     f"Nova Canvas {task_type}"):
                path = session.work_dir / f"canvas_{len(files):03d}.png"
                path.write_bytes(_as_png(data, self.name, f"a {task_type} result"))
                files.append(path)
        extra = {"call_seeds": seeds} if len(seeds) > 1 else {}
        return Generated(files=files, media_type="image/png", model=self.canvas_model, seed=seed,
                         reproduce=self._reproduce(task_type, run, seed=seed, width=width, height=height,
                                                   references=len(sent), **_config_echo(config), **extra))

    def _image_edit(self, request: GenerationRequest, session: ProviderSession, wire: _Wire,
                    run: _Run) -> Generated:
        """An instruction edit of one image: Nova Canvas IMAGE_VARIATION of the image (first) and the references,
        guided by the prompt, at the image's size (snapped to Nova's grid, then fitted back)."""
        from dataclasses import replace

        from PIL import Image, ImageOps

        images = request.by_role(IMAGE)
        if len(images) != 1:
            raise ProviderError(f"{self.name}: image_edit needs exactly one image (got {len(images)})")
        with Image.open(images[0].path) as img:
            size = img.size
        wanted = (request.width or size[0], request.height or size[1])
        edit = replace(request, task=Task.text_to_image, count=1, width=wanted[0], height=wanted[1],
                       inputs=[replace(images[0], role=REFERENCE), *request.by_role(REFERENCE)])
        generated = self._text_to_image(edit, session, wire, run)
        for path in generated.files:
            with Image.open(path) as out:
                if out.size != wanted:
                    ImageOps.fit(out.convert("RGB"), wanted, Image.Resampling.LANCZOS).save(path, "PNG")
        generated.reproduce["image_edit"] = ("IMAGE_VARIATION of the image (first) and "
                                             f"{len(request.by_role(REFERENCE))} reference(s), fitted back to "
                                             f"{wanted[0]}x{wanted[1]}")
        return generated

    def _inpaint(self, request: GenerationRequest, session: ProviderSession, wire: _Wire, run: _Run) -> Generated:
        from PIL import Image

        images, masks = request.by_role(IMAGE), request.by_role(MASK)
        if len(images) != 1 or len(masks) != 1:
            raise ProviderError(f"{self.name}: inpainting takes exactly one image and one mask "
                                f"(got {len(images)} and {len(masks)})")
        mode = str(request.options.get("mode", "inpaint"))
        if mode not in ("inpaint", "outpaint"):
            raise ProviderError(f"{self.name}: option mode must be 'inpaint' or 'outpaint', not '{mode}'")
        outpaint = mode == "outpaint"
        prompt = self._text(request.prompt, CANVAS_TEXT_MAX, "prompt", required=outpaint)
        negative = self._text(request.negative_prompt, CANVAS_TEXT_MAX, "negative prompt")
        prepared = self._prepare(images[0], session)
        if prepared.note:
            run.notes.append(prepared.note)
        fill = _fill_mask(masks[0].path, prepared.size, self.name)  # ShotBridge: white = fill
        # Nova's maskImage is pure black and white. INPAINTING changes the black area; OUTPAINTING changes the
        # white area (Nova user guide, "Masking images"). So the fill area is black for one, white for the other.
        nova = Image.fromarray(((fill if outpaint else ~fill) * 255).astype("uint8")).convert("RGB")
        mask_path = session.work_dir / "mask_nova.png"
        nova.save(mask_path, "PNG")
        mask_image = InputImage(role=MASK, path=mask_path, kind=masks[0].kind,
                                source_sha256=masks[0].source_sha256 or sha256_file(masks[0].path))
        sent = [session.outgoing(prepared.image), session.outgoing(mask_image)]
        task_type, key = ("OUTPAINTING", "outPaintingParams") if outpaint else ("INPAINTING", "inPaintingParams")
        params: dict[str, Any] = {"image": _b64(sent[0].data), "maskImage": _b64(sent[1].data)}
        if prompt:
            params["text"] = prompt
        if negative:
            params["negativeText"] = negative
        if outpaint:
            params["outPaintingMode"] = str(request.options.get("outpainting_mode", "DEFAULT"))
        seed = _seed(request.seed, CANVAS_SEED_MAX)
        config = {**self._generation_config(request.options, seed), "numberOfImages": 1}
        session.progress(0.0, f"Nova Canvas {task_type}")
        data = self._canvas({"taskType": task_type, key: params, "imageGenerationConfig": config}, sent,
                            request.prompt or request.negative_prompt, wire, run, f"Nova Canvas {task_type}")[0]
        result = _open_image(data, self.name, f"the {task_type} result")
        path = session.work_dir / f"{mode}.png"
        if result.size == prepared.original:
            path.write_bytes(_as_png(data, self.name, f"the {task_type} result"))
        else:
            # Sized for Nova and back: the plate's own pixels outside the fill stay exactly as they were.
            original = _open_image(images[0].path.read_bytes(), self.name, "the image")
            back = result.convert("RGB").resize(prepared.original, Image.Resampling.LANCZOS)
            keep = ~_fill_mask(masks[0].path, prepared.original, self.name)
            back.paste(_to_rgb(original), (0, 0), Image.fromarray((keep * 255).astype("uint8")))
            back.save(path, "PNG")
            run.notes.append(f"result resized back to {prepared.original[0]}x{prepared.original[1]}; pixels "
                             "outside the mask are the original's")
        return Generated(files=[path], media_type="image/png", model=self.canvas_model, seed=seed,
                         reproduce=self._reproduce(task_type, run, seed=seed, **_config_echo(config)))

    def _remove_background(self, request: GenerationRequest, session: ProviderSession, wire: _Wire,
                           run: _Run) -> Generated:
        from PIL import Image

        images = request.by_role(IMAGE)
        if len(images) != 1:
            raise ProviderError(f"{self.name}: background removal takes exactly one image (got {len(images)})")
        prepared = self._prepare(images[0], session)
        if prepared.note:
            run.notes.append(prepared.note)
        sent = [session.outgoing(prepared.image)]
        session.progress(0.0, "Nova Canvas BACKGROUND_REMOVAL")
        body = {"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": _b64(sent[0].data)}}
        data = self._canvas(body, sent, "", wire, run, "Nova Canvas BACKGROUND_REMOVAL")[0]
        cutout = _open_image(data, self.name, "the background removal result")
        if "A" not in cutout.getbands() and "transparency" not in cutout.info:
            raise ProviderError(f"{self.name}: Nova Canvas BACKGROUND_REMOVAL returned an image without "
                                f"transparency ({cutout.mode}); cannot make a matte from it")
        matte = cutout.convert("RGBA").getchannel("A")  # the cut-out's alpha is the matte: white = foreground
        if matte.size != prepared.original:
            matte = matte.resize(prepared.original, Image.Resampling.BILINEAR)
            run.notes.append(f"matte resized back to {prepared.original[0]}x{prepared.original[1]}")
        path = session.work_dir / "matte.png"
        matte.save(path, "PNG")
        return Generated(files=[path], media_type="image/png", model=self.canvas_model, seed=None,
                         reproduce=self._reproduce("BACKGROUND_REMOVAL", run))

    def _canvas(self, body: dict[str, Any], sent: list[Outgoing], text: str, wire: _Wire, run: _Run,
                what: str) -> list[bytes]:
        """One InvokeModel call; the decoded images it returned."""
        kinds = {DataKind.prompt} if text else set()
        response = wire.call("bedrock-runtime", "invoke_model", what, sent=sent, kinds=kinds,
                             modelId=self.canvas_model, body=json.dumps(body).encode(),
                             contentType="application/json", accept="application/json")
        run.request_ids.append(response.get("ResponseMetadata", {}).get("RequestId", ""))
        try:
            payload = json.loads(response["body"].read())
        except (ValueError, BotoCoreError) as exc:
            raise ProviderError(f"{self.name}: {what} answered with a body that is not JSON ({exc})") from None
        if not isinstance(payload, dict):
            raise ProviderError(f"{self.name}: {what} answered with JSON that is not an object")
        if payload.get("error"):
            raise ProviderError(f"{self.name}: {what} returned no image: {payload['error']} (AWS's content "
                                "filters block some prompts and images; change the prompt or the input)",
                                code="ContentFiltered")
        images = payload.get("images") or []
        if not images:
            raise ProviderError(f"{self.name}: {what} answered without an image or an error; retry the job")
        try:
            return [base64.b64decode(i, validate=True) for i in images]
        except (binascii.Error, TypeError) as exc:
            raise ProviderError(f"{self.name}: {what} returned an image that is not base64 ({exc})") from None

    def _generation_config(self, options: dict[str, Any], seed: int) -> dict[str, Any]:
        quality = str(options.get("quality", "standard"))
        if quality not in QUALITIES:
            raise ProviderError(f"{self.name}: option quality must be one of {', '.join(QUALITIES)}, not "
                                f"'{quality}'")
        config: dict[str, Any] = {"quality": quality, "seed": seed}
        if "cfg_scale" in options:
            config["cfgScale"] = float(options["cfg_scale"])
        return config

    # -- Nova Reel -------------------------------------------------------------------------------------

    def _image_to_video(self, request: GenerationRequest, session: ProviderSession, wire: _Wire,
                        run: _Run) -> Generated:
        prompt = self._text(request.prompt, REEL_TEXT_MAX, "prompt", required=True)
        seed = _seed(request.seed, REEL_SEED_MAX)
        params: dict[str, Any] = {"text": prompt}
        sent: list[Outgoing] = []
        first = request.first(FIRST_FRAME)
        if first is not None:
            keyframe, note = self._keyframe(first, session)
            if note:
                run.notes.append(note)
            sent.append(session.outgoing(keyframe))
            params["images"] = [{"format": "png" if sent[0].media_type == "image/png" else "jpeg",
                                 "source": {"bytes": _b64(sent[0].data)}}]
        if request.first(LAST_FRAME) is not None:  # not sent: nothing of it leaves
            run.notes.append("Nova Reel takes only a start keyframe; the last frame was not sent")
        if request.fps and abs(request.fps - REEL_FPS) > 1e-6:
            run.notes.append(f"Nova Reel renders {REEL_FPS} fps; {request.fps:g} fps was asked for")
        if request.frames and request.frames != REEL_FPS * REEL_SECONDS:
            run.notes.append(f"Nova Reel renders {REEL_FPS * REEL_SECONDS} frames ({REEL_SECONDS} s); "
                             f"{request.frames} were asked for")
        model_input = {"taskType": "TEXT_VIDEO", "textToVideoParams": params,
                       "videoGenerationConfig": {"durationSeconds": REEL_SECONDS, "fps": REEL_FPS,
                                                 "dimension": f"{REEL_W}x{REEL_H}", "seed": seed}}
        output: dict[str, Any] = {"s3Uri": self.s3_output}
        if self.config.get("kms_key_id"):
            output["kmsKeyId"] = str(self.config["kms_key_id"])
        if self.config.get("bucket_owner"):
            output["bucketOwner"] = str(self.config["bucket_owner"])
        token = uuid.uuid4().hex  # the same token on every retry: AWS starts the job once
        session.progress(0.0, "starting Nova Reel")
        try:
            started = wire.call("bedrock-runtime", "start_async_invoke", "starting the Nova Reel job", sent=sent,
                                kinds={DataKind.prompt}, modelId=self.reel_model, modelInput=model_input,
                                outputDataConfig={"s3OutputDataConfig": output}, clientRequestToken=token)
        except Canceled:
            # Cut off mid-request: AWS may have started the job all the same, and nothing can stop it.
            message = (f"{self.name}: canceled while starting a Nova Reel job (client request token {token}); "
                       "if AWS received the request, the job runs on at AWS (list_async_invokes shows it) and "
                       f"writes under {self.s3_output}/")
            log.warning("%s", message)
            raise Canceled(message) from None
        arn = str(started.get("invocationArn", ""))
        run.request_ids.append(started.get("ResponseMetadata", {}).get("RequestId", ""))
        log.info("%s: Nova Reel job %s started (output under %s)", self.name, arn, self.s3_output)
        status = self._poll(arn, session, wire)
        uri = str(status.get("outputDataConfig", {}).get("s3OutputDataConfig", {}).get("s3Uri") or "")
        where = S3_URI.match(uri.rstrip("/") + "/output.mp4")
        if not where:
            raise ProviderError(f"{self.name}: Nova Reel job {arn} completed without a usable S3 location "
                                f"({uri!r})")
        bucket, key = where.group(1), (where.group(2) or "/output.mp4").lstrip("/")
        session.progress(0.97, f"downloading s3://{bucket}/{key}")
        obj = wire.call("s3", "get_object", f"downloading the Nova Reel video s3://{bucket}/{key}",
                        Bucket=bucket, Key=key)
        data = obj["Body"].read()
        if data[4:8] != b"ftyp":
            raise ProviderError(f"{self.name}: s3://{bucket}/{key} is not an MP4 file ({len(data)} bytes)")
        path = session.work_dir / safe_name(f"reel_{arn.rsplit('/', 1)[-1]}.mp4")  # the ARN is AWS's word
        path.write_bytes(data)
        return Generated(files=[path], media_type="video/mp4", model=self.reel_model, seed=seed,
                         reproduce=self._reproduce("TEXT_VIDEO", run, seed=seed, invocation_arn=arn,
                                                   client_request_token=token, output=f"s3://{bucket}/{key}",
                                                   duration_seconds=REEL_SECONDS, fps=REEL_FPS,
                                                   dimension=f"{REEL_W}x{REEL_H}", start_keyframe=bool(sent)))

    def _poll(self, arn: str, session: ProviderSession, wire: _Wire) -> dict[str, Any]:
        """GetAsyncInvoke until Completed or Failed, with growing waits. Bedrock has no call that stops an
        async invocation (bedrock-runtime offers Start/Get/ListAsyncInvokes only), so a cancel stops the
        waiting here and the job keeps running, and billing, at AWS."""
        interval = self._number("poll_interval", 5.0)
        longest = max(interval, self._number("poll_max_interval", 20.0))
        limit = self._number("reel_timeout", 1800.0)
        expected = max(1.0, self._number("reel_expected_seconds", 90.0))
        start = time.monotonic()
        try:
            session.progress(0.02, f"Nova Reel job {arn} started")
            while True:
                session.sleep(interval)
                try:
                    status = wire.call("bedrock-runtime", "get_async_invoke", "checking the Nova Reel job",
                                       invocationArn=arn)
                except ProviderError as exc:
                    raise type(exc)(f"{exc} (Nova Reel job {arn} may still be running at AWS)", status=exc.status,
                                    code=exc.code) from None
                state = status.get("status")
                if state == "Completed":
                    return status
                if state == "Failed":
                    raise ProviderError(f"{self.name}: Nova Reel job {arn} failed: "
                                        f"{status.get('failureMessage') or 'AWS gave no reason'}", code="Failed")
                elapsed = time.monotonic() - start
                if elapsed > limit:
                    raise ProviderTimeout(f"{self.name}: Nova Reel job {arn} did not finish within {limit:g} s "
                                          f"(still {state}); it keeps running at AWS and will write its video "
                                          f"under {self.s3_output}/. Raise reel_timeout for this entry if "
                                          "long waits are normal")
                session.progress(min(0.95, 0.05 + 0.9 * elapsed / expected),
                                 f"Nova Reel is generating ({state}, {elapsed:.0f} s so far; a {REEL_SECONDS} s "
                                 f"clip takes about {expected:.0f} s)")
                interval = min(longest, interval * 1.5)
        except Canceled:
            message = (f"{self.name}: canceled while Nova Reel job {arn} was running. Bedrock has no API to "
                       "stop an async invocation: it keeps running at AWS (and is billed) and will still write "
                       f"its video under {self.s3_output}/")
            log.warning("%s", message)
            raise Canceled(message) from None

    def _keyframe(self, image: InputImage, session: ProviderSession) -> tuple[InputImage, str]:
        """Nova Reel's start keyframe must be 1280x720, 8-bit RGB PNG or JPEG: anything else is scaled to fit
        and letterboxed (black bars), never cropped, so nothing of the frame is lost."""
        from PIL import Image

        data = image.path.read_bytes()
        picture = _open_image(data, self.name, "the first frame")
        if picture.size == (REEL_W, REEL_H) and _plain_rgb(data, picture):
            return image, ""
        w, h = picture.size
        scale = min(REEL_W / w, REEL_H / h)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        frame = Image.new("RGB", (REEL_W, REEL_H))
        scaled = _to_rgb(picture).resize(size, Image.Resampling.LANCZOS)
        frame.paste(scaled, ((REEL_W - size[0]) // 2, (REEL_H - size[1]) // 2))
        path = session.work_dir / "first_frame_nova.png"
        frame.save(path, "PNG")
        if size != (REEL_W, REEL_H):
            note = (f"first frame {w}x{h} letterboxed to {REEL_W}x{REEL_H} (scaled to {size[0]}x{size[1]}, "
                    "black bars)")
        else:
            note = f"first frame converted to 8-bit RGB ({picture.mode})"
        return InputImage(role=image.role, path=path, kind=image.kind,
                          source_sha256=image.source_sha256 or sha256_bytes(data)), note

    # -- helpers ---------------------------------------------------------------------------------------

    def _prepare(self, image: InputImage, session: ProviderSession) -> _Prepared:
        """Nova Canvas takes 8-bit RGB PNG or JPEG within its size rules; other inputs get a converted copy
        (the audit then names the copy's bytes, with the original as source)."""
        data = image.path.read_bytes()
        picture = _open_image(data, self.name, f"input '{image.role}'")
        size = picture.size
        target = _fit_size(*size, self.name, f"input '{image.role}' ({size[0]}x{size[1]})")
        if target == size and _plain_rgb(data, picture):
            return _Prepared(image, size, size)
        converted = _to_rgb(picture)
        note = f"{image.role} converted to 8-bit RGB" if target == size else \
            f"{image.role} resized {size[0]}x{size[1]} -> {target[0]}x{target[1]} for Nova Canvas"
        if target != size:
            from PIL import Image

            converted = converted.resize(target, Image.Resampling.LANCZOS)
        path = session.work_dir / f"{image.role}_{sha256_bytes(data)[:12]}_nova.png"
        converted.save(path, "PNG")
        return _Prepared(InputImage(role=image.role, path=path, kind=image.kind,
                                    source_sha256=image.source_sha256 or sha256_bytes(data)),
                         size, target, note)

    def _input_pixels(self, request: GenerationRequest) -> int:
        image = request.first(IMAGE)
        if image is None:
            return 1024
        try:
            from PIL import Image

            with Image.open(image.path) as picture:
                return picture.size[0] * picture.size[1]
        except OSError:
            return 1024 * 1024

    def _text(self, text: str, limit: int, what: str, *, required: bool = False) -> str:
        text = (text or "").strip()
        if required and not text:
            raise ProviderError(f"{self.name}: this task needs a {what}")
        if len(text) > limit:
            raise ProviderError(f"{self.name}: the {what} has {len(text)} characters; Nova takes at most {limit}")
        return text

    def _reproduce(self, task_type: str, run: _Run, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"provider_type": self.type, "region": self.region, "task_type": task_type,
                               "model": self.reel_model if task_type == "TEXT_VIDEO" else self.canvas_model}
        out.update(extra)
        out["request_ids"] = [r for r in run.request_ids if r]
        if run.notes:
            out["notes"] = list(run.notes)
        return out

    def _client_error(self, exc: ClientError, what: str, scrub: Any) -> ProviderError:
        """A botocore ClientError as a ProviderError that names the provider, the AWS code and message,
        and what to do."""
        error = exc.response.get("Error", {}) or {}
        meta = exc.response.get("ResponseMetadata", {}) or {}
        code = str(error.get("Code") or "Unknown")
        status = meta.get("HTTPStatusCode")
        message = scrub(str(error.get("Message") or "").strip()) or "no message"
        rid = meta.get("RequestId") or ""
        said = f"{self.name}: {what} failed: AWS answered {code} (HTTP {status}): {message}" + \
            (f" [request id {rid}]" if rid else "")
        attempts = f"after {self._number('max_attempts', 4):g} attempt(s)"
        model = self.reel_model if "Reel" in what else self.canvas_model
        if code in CREDENTIAL_CODES:
            return ProviderUnavailable(f"{said}. AWS rejected the credentials boto3 found: refresh them (new keys, "
                                       "`aws sso login`) or check `profile`", status=status, code=code)
        kind, advice = {
            "ValidationException": (ProviderError, "AWS's content filters blocked the request: change the prompt "
                                    "or the input" if "content filter" in message.lower() else "Bedrock found "
                                    "the request invalid; check the options passed to this provider"),
            "ServiceQuotaExceededException": (ProviderError, "an account quota is used up: retry later or ask "
                                              "for more in the Service Quotas console"),
            "ConflictException": (ProviderError, "it conflicts with an earlier request; retry the job"),
            "AccessDeniedException": (ProviderUnavailable, "the AWS identity may not do this: allow "
                                      "bedrock:InvokeModel (Nova Reel: also bedrock:GetAsyncInvoke, s3:PutObject "
                                      "for Bedrock and s3:GetObject for ShotBridge on the bucket) and enable "
                                      f"access to {model} in the Bedrock console in {self.region}"),
            "AccessDenied": (ProviderUnavailable, "ShotBridge needs s3:GetObject on the output bucket"),
            "ResourceNotFoundException": (ProviderUnavailable, f"check the model id ({model}) and that it is "
                                          f"offered in {self.region}"),
            "ModelTimeoutException": (ProviderTimeout, "the model took too long on this request; retry the job"),
            "ModelErrorException": (ProviderError, "the model failed on this input; retry, or change the prompt "
                                    "or the inputs"),
            "ModelNotReadyException": (ProviderUnavailable, f"the model is not ready yet {attempts}; retry in a "
                                       "few minutes"),
            "ThrottlingException": (ProviderError, f"still throttled {attempts}; retry later or ask AWS for a "
                                    "higher quota"),
            "InternalServerException": (ProviderError, f"AWS failed {attempts}; retry the job later"),
            "ServiceUnavailableException": (ProviderUnavailable, f"Bedrock is unavailable {attempts}; retry "
                                            "later"),
            "NoSuchKey": (ProviderError, "the video is not where Bedrock said it wrote it"),
            "NoSuchBucket": (ProviderError, "check s3_output"),
        }.get(code, (ProviderUnavailable if isinstance(status, int) and status >= 500 else ProviderError, ""))
        return kind(f"{said}" + (f". {advice}" if advice else ""), status=status, code=code)


class _Body(io.BytesIO):
    """A finished response body in the shape botocore reads (urllib3's `stream`)."""

    def stream(self, amt: int = 1 << 16, decode_content: bool | None = None):
        while chunk := self.read(amt):
            yield chunk


class _Wire:
    """boto3 clients for one generate() call whose every HTTP attempt goes through the job's session."""

    def __init__(self, adapter: BedrockProvider, session: ProviderSession):
        self.adapter = adapter
        self.session = session
        self._clients: dict[str, Any] = {}
        self._boto: boto3.session.Session | None = None
        self._sent: tuple[Outgoing, ...] = ()
        self._kinds: frozenset[DataKind] = frozenset()
        self._secrets: list[str] = []

    def client(self, service: str) -> Any:
        if service not in self._clients:
            if self._boto is None:
                self._boto = self.adapter._boto_session()
            s3 = service == "s3"
            endpoint = self.adapter.s3_endpoint_url if s3 else self.adapter.endpoint_url
            # botocore never opens a socket here (the hook sends), so its timeouts are the session's too.
            config = Config(retries={"mode": "standard", "total_max_attempts": 1},
                            connect_timeout=self.session.connect_timeout, read_timeout=self.session.timeout,
                            s3={"addressing_style": "path"} if s3 and endpoint else None)
            client = self._boto.client(service, region_name=self.adapter.region, endpoint_url=endpoint,
                                       config=config)
            client.meta.events.register("before-send", self._send)
            self._clients[service] = client
            credentials = self._boto.get_credentials()
            if credentials is not None:
                frozen = credentials.get_frozen_credentials()
                self._secrets = [s for s in (frozen.access_key, frozen.secret_key, frozen.token) if s]
        return self._clients[service]

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def call(self, service: str, operation: str, what: str, *, sent: list[Outgoing] | tuple = (),
             kinds: set[DataKind] | frozenset = frozenset(), **params: Any) -> dict[str, Any]:
        """One boto3 call. `sent` and `kinds` are what its requests carry, for the gate and the audit."""
        name = self.adapter.name
        try:
            client = self.client(service)
            if not hasattr(client, operation):  # StartAsyncInvoke came to boto3 late in 2024
                raise ProviderUnavailable(f"{name}: boto3 {boto3.__version__} has no {service} {operation}; "
                                          "upgrade it (pip install -U boto3)")
            self._sent, self._kinds = tuple(sent), frozenset(kinds)
            return getattr(client, operation)(**params)
        except ClientError as exc:
            raise self.adapter._client_error(exc, what, self.scrub) from None
        except NoCredentialsError:
            raise ProviderUnavailable(f"{name}: {NO_CREDENTIALS}") from None
        except BotoCoreError as exc:  # parameter validation, unparsable answers: never a raw library error
            raise ProviderError(f"{name}: {what} failed in boto3 ({type(exc).__name__}: {self.scrub(str(exc))})") \
                from None
        finally:
            self._sent, self._kinds = (), frozenset()

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        """botocore's `before-send`: the signed request leaves through the session (policy gate, audit,
        retries with Retry-After, read timeout, cancel closes the socket); botocore parses the answer."""
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        elif isinstance(body, str):
            body = body.encode()
        headers = dict(request.headers.items())
        try:
            response = self.session.request(request.method, request.url, data=body or None, headers=headers,
                                            sent=self._sent, kinds=self._kinds)
        except ProviderUnavailable as exc:
            host = urlsplit(request.url).netloc
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "unreachable"
            raise ProviderUnavailable(f"{self.adapter.name}: {host} cannot be reached ({cause}); "
                                      "check the region, endpoint_url / s3_endpoint_url, and the network or proxy "
                                      "to AWS") from None
        content = response.content
        # requests already decoded any gzip: the headers must describe the bytes botocore gets.
        skip = {"content-encoding", "transfer-encoding", "content-length"}
        answer = {k: v for k, v in response.headers.items() if k.lower() not in skip}
        answer["content-length"] = str(len(content))
        return AWSResponse(request.url, response.status_code, answer, _Body(content))


# -- images ------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _seed(seed: int | None, top: int) -> int:
    """The request's seed folded into the model's range (so it stays reproducible), or a new one."""
    return random.randint(0, top) if seed is None else int(seed) % (top + 1)


def _config_echo(config: dict[str, Any]) -> dict[str, Any]:
    return {"quality": config.get("quality"), **({"cfg_scale": config["cfgScale"]} if "cfgScale" in config else {})}


def _open_image(data: bytes, provider: str, what: str) -> PILImage.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
        return picture
    except (UnidentifiedImageError, OSError) as exc:
        raise ProviderError(f"{provider}: {what} is not an image Pillow can read ({exc})") from None


def _as_png(data: bytes, provider: str, what: str) -> bytes:
    """Nova answers PNG; anything else is re-encoded so the file is what its media type says."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data
    out = io.BytesIO()
    _open_image(data, provider, what).save(out, "PNG")
    return out.getvalue()


def _plain_rgb(data: bytes, picture: PILImage.Image) -> bool:
    """8 bits per channel RGB, PNG or JPEG, no alpha: what Nova takes as it is."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return len(data) > 26 and data[24] == 8 and data[25] == 2  # IHDR bit depth 8, colour type 2 (RGB)
    return picture.format == "JPEG" and picture.mode == "RGB"


def _to_rgb(picture: PILImage.Image) -> PILImage.Image:
    """8-bit RGB: 16-bit and float greys scaled down (Pillow's own convert would clip them), alpha dropped."""
    import numpy as np
    from PIL import Image

    if picture.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        grey = np.asarray(picture).astype("float64")
        top = 65535.0 if picture.mode != "I" or grey.max() > 255 else 255.0
        return Image.fromarray(np.clip(grey / top * 255.0 + 0.5, 0, 255).astype("uint8")).convert("RGB")
    if picture.mode == "F":
        grey = np.clip(np.asarray(picture) * 255.0 + 0.5, 0, 255).astype("uint8")
        return Image.fromarray(grey).convert("RGB")
    return picture.convert("RGBA").convert("RGB") if picture.mode in ("P", "PA", "LA") else picture.convert("RGB")


def _fill_mask(path: Path, size: tuple[int, int], provider: str):
    """ShotBridge's grey mask (white = fill) as a boolean array of `size` (width, height)."""
    import numpy as np
    from PIL import Image

    picture = _open_image(path.read_bytes(), provider, "the mask")
    grey = picture.convert("L") if picture.mode not in ("I;16", "I;16L", "I;16B", "I", "F") else \
        _to_rgb(picture).convert("L")
    if grey.size != size:
        grey = grey.resize(size, Image.Resampling.NEAREST)
    fill = np.asarray(grey) > 127
    if not fill.any():
        raise ProviderError(f"{provider}: the mask has no white pixels, so there is nothing to fill")
    return fill


def _snap(value: float) -> int:
    return min(SIDE_MAX, max(SIDE_MIN, int(round(value / SIDE_STEP)) * SIDE_STEP))


def _fit_size(width: int, height: int, provider: str, what: str) -> tuple[int, int]:
    """The nearest size Nova Canvas takes: sides multiples of 16 in 320-4096, fewer than 4,194,304 pixels,
    aspect between 1:4 and 4:1 (scaled uniformly; the aspect ratio cannot be fixed by scaling)."""
    if width <= 0 or height <= 0:
        raise ProviderError(f"{provider}: {what} has no pixels")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise ProviderError(f"{provider}: {what} is {width}x{height}; Nova Canvas takes aspect ratios between "
                            "1:4 and 4:1 (crop or pad it first)")
    scale = 1.0
    if min(width, height) < SIDE_MIN:
        scale = SIDE_MIN / min(width, height)
    if max(width, height) * scale > SIDE_MAX:
        scale = SIDE_MAX / max(width, height)
    if width * height * scale * scale >= MAX_PIXELS:
        scale = math.sqrt((MAX_PIXELS - 1) / (width * height))
    w, h = _snap(width * scale), _snap(height * scale)
    while w * h >= MAX_PIXELS:
        if w >= h:
            w -= SIDE_STEP
        else:
            h -= SIDE_STEP
    return w, h

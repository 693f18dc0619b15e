"""A local Amazon Bedrock Runtime (Nova Canvas, Nova Reel) and the S3 GetObject the adapter needs.

Two ASGI apps over one state, served on two ports like the two real endpoints:
- `runtime_app`: bedrock-runtime's REST-JSON protocol as botocore sends it. POST /model/{modelId}/invoke
  (InvokeModel), POST /async-invoke (StartAsyncInvoke), GET /async-invoke/{invocationArn} (GetAsyncInvoke;
  the ARN arrives percent-encoded). Errors as the service sends them: the status of the botocore model, an
  `x-amzn-ErrorType: <Code>:http://internal.amazon.com/coral/com.amazon.bedrock/` header and a JSON body
  `{"message": ...}`.
- `s3_app`: path-style GET /{bucket}/{key}, with S3's XML error bodies (NoSuchKey, NoSuchBucket, ...).

Every request must be SigV4-signed with the test's fake key: the signature is recomputed here with botocore's
own signer over what arrived (method, raw path, signed headers, body), so a transport that alters a signed
header or the body is caught, as AWS would catch it. Request bodies are validated like the real service does
(task types, required and extraneous keys, text lengths, base64 images that decode to 8-bit RGB PNG/JPEG of a
size Nova takes, masks of pure black and white, Reel keyframes of exactly 1280x720). Answers are real images
(inpainting keeps the unmasked pixels, background removal returns an RGBA cut-out) and a real MP4 written
into the S3 store under `<prefix>/<invocation id>/output.mp4`.

Tests steer it: `fail(operation, kind, times)` for throttling, 5xx, hangs, model errors, content-filter
bodies; `reel_polls`/`reel_seconds` for how long a Reel job stays InProgress; `reel_failure` for a Failed job.
`requests` records everything that arrived, bodies and decoded images included.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import io
import itertools
import json
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CORAL = "http://internal.amazon.com/coral/com.amazon.bedrock/"
CANVAS_MODELS = {"amazon.nova-canvas-v1:0"}
REEL_MODELS = {"amazon.nova-reel-v1:0", "amazon.nova-reel-v1:1"}
CANVAS_TASKS = {"TEXT_IMAGE": "textToImageParams", "COLOR_GUIDED_GENERATION": "colorGuidedGenerationParams",
                "IMAGE_VARIATION": "imageVariationParams", "INPAINTING": "inPaintingParams",
                "OUTPAINTING": "outPaintingParams", "BACKGROUND_REMOVAL": "backgroundRemovalParams"}
CANVAS_PARAMS = {
    "TEXT_IMAGE": ({"text"}, {"negativeText", "style", "conditionImage", "controlMode", "controlStrength"}),
    "COLOR_GUIDED_GENERATION": ({"colors", "text"}, {"negativeText", "referenceImage"}),
    "IMAGE_VARIATION": ({"images"}, {"text", "negativeText", "similarityStrength"}),
    "INPAINTING": ({"image"}, {"maskPrompt", "maskImage", "text", "negativeText", "returnMask"}),
    "OUTPAINTING": ({"image", "text"}, {"maskPrompt", "maskImage", "outPaintingMode", "negativeText", "returnMask"}),
    "BACKGROUND_REMOVAL": ({"image"}, set()),
}
STYLES = {"3D_ANIMATED_FAMILY_FILM", "DESIGN_SKETCH", "FLAT_VECTOR_ILLUSTRATION", "GRAPHIC_NOVEL_ILLUSTRATION",
          "MAXIMALISM", "MIDCENTURY_RETRO", "PHOTOREALISM", "SOFT_DIGITAL_PAINTING"}
CONFIG_KEYS = {"width", "height", "quality", "cfgScale", "seed", "numberOfImages"}
S3_URI = re.compile(r"^s3://([a-z0-9][.\-a-z0-9]{1,61}[a-z0-9])(/.*)?$")
HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
# Failure kinds: HTTP status, error code and the message AWS sends with it.
FAILURES = {
    "throttle": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "500": (500, "InternalServerException", "The system encountered an unexpected error during processing. "
                                            "Try your request again."),
    "503": (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    "model_error": (424, "ModelErrorException", "The model failed to process the request."),
    "model_timeout": (408, "ModelTimeoutException", "Model has timed out in processing the request. Try your "
                                                    "request again."),
    "not_ready": (429, "ModelNotReadyException", "Model is not ready to serve inference requests."),
    "access_denied": (403, "AccessDeniedException", "You don't have access to the model with the specified "
                                                    "model ID."),
    "quota": (400, "ServiceQuotaExceededException", "Your request exceeded the quota for this account."),
    "filtered": (400, "ValidationException", "This request has been blocked by our content filters."),
    "s3_denied": (403, "AccessDenied", "Access Denied"),
}


class Invalid(Exception):
    """A request the real service would reject with ValidationException; the message is what it says."""


def malformed(path: str, problem: str) -> Invalid:
    return Invalid(f"Malformed input request: #{path}: {problem}, please reformat your input and try again.")


@dataclass
class Received:
    service: str  # "bedrock" or "s3"
    operation: str  # InvokeModel, StartAsyncInvoke, GetAsyncInvoke, GetObject, or "unknown"
    method: str
    path: str  # raw, as it arrived (percent-encoding kept)
    headers: dict[str, str]
    body: bytes
    json: Any = None
    images: list[bytes] = field(default_factory=list)  # every base64 image in the body, decoded
    status: int | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    operation: str
    kind: str
    times: int
    retry_after: float | None = None
    hang: float = 0.0
    message: str = ""


@dataclass
class Invocation:
    arn: str
    id: str
    model_id: str
    token: str
    s3_uri: str
    seed: int
    keyframe: bytes | None
    polls_left: int
    ready_at: float
    failure: str | None
    submitted: dt.datetime
    status: str = "InProgress"
    ended: dt.datetime | None = None


class FakeBedrock:
    def __init__(self, *, access_key: str, secret_key: str, region: str = "us-east-1",
                 account: str = "123456789012", buckets: tuple[str, ...] = ("shots",)):
        self.access_key, self.secret_key, self.region, self.account = access_key, secret_key, region, account
        self.buckets = set(buckets)
        self.lock = threading.Lock()
        self._released = threading.Event()
        self._ids = itertools.count(1)
        self.reset()
        routes = [Route("/{path:path}", self._runtime, methods=["GET", "POST", "PUT", "DELETE", "HEAD"])]
        self.runtime_app = Starlette(routes=routes)
        self.s3_app = Starlette(routes=[Route("/{path:path}", self._s3, methods=["GET", "HEAD", "PUT"])])

    def reset(self) -> None:
        with self.lock:
            self.requests: list[Received] = []
            self.failures: list[Failure] = []
            self.invocations: dict[str, Invocation] = {}
            self.objects: dict[tuple[str, str], bytes] = {}
            self.reel_polls = 2  # GetAsyncInvoke answers InProgress this many times...
            self.reel_seconds = 0.0  # ...and for at least this long, then Completed
            self.reel_failure: str | None = None  # or Failed with this failureMessage
            self.video_frames = 24 * 6  # Nova Reel: 6 s at 24 fps
        self._released.clear()

    # -- steering ----------------------------------------------------------------------------------------

    def fail(self, operation: str, kind: str, times: int = 1, *, retry_after: float | None = None,
             hang: float = 0.0, message: str = "") -> None:
        """The next `times` requests for `operation` fail with `kind` (a key of FAILURES, "hang" to answer
        only after `hang` seconds, or "content_filter" for a 200 whose body carries an error)."""
        if kind not in FAILURES and kind not in ("hang", "content_filter"):
            raise ValueError(f"unknown failure kind {kind}")
        with self.lock:
            self.failures.append(Failure(operation, kind, times, retry_after, hang, message))

    def release(self) -> None:
        """End every hang at once (before the server stops)."""
        self._released.set()

    def of(self, operation: str) -> list[Received]:
        return [r for r in self.requests if r.operation == operation]

    def _take_failure(self, operation: str) -> Failure | None:
        with self.lock:
            for failure in self.failures:
                if failure.operation == operation and failure.times > 0:
                    failure.times -= 1
                    return failure
        return None

    # -- SigV4 -------------------------------------------------------------------------------------------

    def _check_signature(self, service: str, request: Request, body: bytes) -> tuple[int, str, str] | None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        auth = headers.get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return 403, "MissingAuthenticationTokenException", "Missing Authentication Token"
        fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(",")
                      if "=" in part)
        try:
            key, date, region, scope_service, terminator = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            signature = fields["Signature"]
        except (KeyError, ValueError):
            return 403, "IncompleteSignatureException", "Authorization header requires Credential, " \
                                                        "SignedHeaders and Signature."
        if key != self.access_key:
            if service == "s3":
                return 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            return 403, "UnrecognizedClientException", "The security token included in the request is invalid."
        if scope_service != service or region != self.region or terminator != "aws4_request":
            return 403, "InvalidSignatureException", f"Credential should be scoped to a valid region and service " \
                                                     f"({self.region}/{service})."
        amz_date = headers.get("x-amz-date", "")
        try:
            when = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        except ValueError:
            return 403, "IncompleteSignatureException", "X-Amz-Date is missing or malformed."
        if date != amz_date[:8] or abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) > 900:
            return 403, "InvalidSignatureException", "Signature expired or not yet current."
        if "host" not in signed or any(h not in headers for h in signed):
            return 403, "InvalidSignatureException", "A signed header is missing from the request."
        if service == "s3":
            declared = headers.get("x-amz-content-sha256", "")
            if declared not in ("UNSIGNED-PAYLOAD", hashlib.sha256(body).hexdigest()):
                return 400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not " \
                                                         "match what was computed."
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        query = request.scope.get("query_string", b"").decode("latin-1")
        url = f"http://{headers['host']}{raw_path}" + (f"?{query}" if query else "")
        rebuilt = AWSRequest(method=request.method, url=url, headers={h: headers[h] for h in signed}, data=body)
        rebuilt.context["timestamp"] = amz_date
        signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(
            Credentials(self.access_key, self.secret_key), service, self.region)
        expected = signer.signature(signer.string_to_sign(rebuilt, signer.canonical_request(rebuilt)), rebuilt)
        if not hmac.compare_digest(expected, signature):
            if service == "s3":
                return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the " \
                                                     "signature you provided. Check your key and signing method."
            return 403, "InvalidSignatureException", "The request signature we calculated does not match the " \
                                                     "signature you provided. Check your AWS Secret Access Key " \
                                                     "and signing method. Consult the service documentation " \
                                                     "for details."
        return None

    # -- bedrock-runtime ---------------------------------------------------------------------------------

    async def _runtime(self, request: Request) -> Response:
        body = await request.body()
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        operation, target = "unknown", ""
        if request.method == "POST" and (m := re.fullmatch(r"/model/([^/]+)/invoke", raw)):
            operation, target = "InvokeModel", unquote(m.group(1))
        elif request.method == "POST" and raw == "/async-invoke":
            operation = "StartAsyncInvoke"
        elif request.method == "GET" and (m := re.fullmatch(r"/async-invoke/([^/]+)", raw)):
            operation, target = "GetAsyncInvoke", unquote(m.group(1))
        received = Received("bedrock", operation, request.method, raw, dict(request.headers.items()), body)
        with self.lock:
            self.requests.append(received)
        try:
            received.json = json.loads(body) if body else None
        except ValueError:
            received.json = None
        received.images = _embedded_images(received.json)
        response = await self._runtime_answer(request, received, operation, target)
        received.status = response.status_code
        return response

    async def _runtime_answer(self, request: Request, received: Received, operation: str,
                              target: str) -> Response:
        denied = self._check_signature("bedrock", request, received.body)
        if denied:
            return _error(*denied)
        if operation == "unknown":
            return _error(404, "UnknownOperationException", "Unknown operation")
        failure = self._take_failure(operation)
        if failure is not None:
            if failure.kind == "hang":
                end = time.monotonic() + failure.hang
                while time.monotonic() < end and not self._released.is_set():
                    await asyncio.sleep(0.02)
            elif failure.kind == "content_filter":
                return JSONResponse({"images": [], "error": failure.message or
                                     "This request has been blocked by our content filters."},
                                    headers={"x-amzn-RequestId": str(uuid.uuid4())})
            else:
                status, code, message = FAILURES[failure.kind]
                extra = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
                return _error(status, code, failure.message or message, extra)
        try:
            if operation == "InvokeModel":
                return await self._invoke(request, received, target)
            if operation == "StartAsyncInvoke":
                return self._start(received)
            return await self._get_async(target)
        except Invalid as exc:
            return _error(400, "ValidationException", str(exc))

    async def _invoke(self, request: Request, received: Received, model_id: str) -> Response:
        if model_id not in CANVAS_MODELS:
            raise Invalid("The provided model identifier is invalid.")
        content_type = request.headers.get("content-type", "application/json")
        if content_type.split(";")[0].strip() != "application/json":
            raise Invalid(f"Content type {content_type} is not supported; use application/json.")
        if not isinstance(received.json, dict):
            raise Invalid("Malformed input request, please reformat your input and try again.")
        images = await asyncio.to_thread(canvas, received.json)
        return JSONResponse({"images": [base64.b64encode(i).decode() for i in images], "error": None},
                            headers={"x-amzn-RequestId": str(uuid.uuid4())})

    def _start(self, received: Received) -> Response:
        doc = received.json
        if not isinstance(doc, dict):
            raise Invalid("Malformed request body.")
        unknown = set(doc) - {"modelId", "modelInput", "outputDataConfig", "clientRequestToken", "tags"}
        if unknown:
            raise Invalid(f"Unknown field(s) {sorted(unknown)}.")
        model_id = doc.get("modelId")
        if model_id not in REEL_MODELS:
            raise Invalid("The provided model identifier is invalid.")
        config = (doc.get("outputDataConfig") or {}).get("s3OutputDataConfig")
        if not isinstance(config, dict) or not isinstance(config.get("s3Uri"), str):
            raise Invalid("1 validation error detected: Value at 'outputDataConfig' failed to satisfy "
                          "constraint: Member must not be null")
        where = S3_URI.match(config["s3Uri"])
        if not where:
            raise Invalid(f"1 validation error detected: Value '{config['s3Uri']}' at "
                          "'outputDataConfig.s3OutputDataConfig.s3Uri' failed to satisfy constraint: Member must "
                          "satisfy regular expression pattern: s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?")
        if where.group(1) not in self.buckets:
            raise Invalid("Invalid Output Config/Credentials")
        seed, keyframe = reel_input(doc.get("modelInput"))
        token = str(doc.get("clientRequestToken") or uuid.uuid4())
        with self.lock:
            for known in self.invocations.values():
                if known.token == token:  # idempotent: a retried start is the same job
                    return JSONResponse({"invocationArn": known.arn})
            invocation_id = hashlib.sha256(f"{next(self._ids)}-{token}".encode()).hexdigest()[:12]
            arn = f"arn:aws:bedrock:{self.region}:{self.account}:async-invoke/{invocation_id}"
            self.invocations[arn] = Invocation(
                arn=arn, id=invocation_id, model_id=model_id, token=token, s3_uri=config["s3Uri"].rstrip("/"),
                seed=seed, keyframe=keyframe, polls_left=self.reel_polls,
                ready_at=time.monotonic() + self.reel_seconds, failure=self.reel_failure,
                submitted=dt.datetime.now(dt.timezone.utc))
        return JSONResponse({"invocationArn": arn}, headers={"x-amzn-RequestId": str(uuid.uuid4())})

    async def _get_async(self, arn: str) -> Response:
        with self.lock:
            job = self.invocations.get(arn)
        if job is None:
            raise Invalid(f"Invocation {arn} not found.")
        if job.status == "InProgress":
            if job.polls_left > 0 or time.monotonic() < job.ready_at:
                job.polls_left -= 1
            elif job.failure:
                job.status, job.ended = "Failed", dt.datetime.now(dt.timezone.utc)
            else:
                bucket, prefix = _split(f"{job.s3_uri}/{job.id}")
                video = await asyncio.to_thread(reel_video, job.keyframe, job.seed, self.video_frames)
                with self.lock:
                    self.objects[(bucket, f"{prefix}/output.mp4")] = video
                    self.objects[(bucket, f"{prefix}/manifest.json")] = json.dumps(
                        {"schemaVersion": "1.0", "invocationArn": job.arn}).encode()
                    self.objects[(bucket, f"{prefix}/generation-status.json")] = json.dumps(
                        {"schemaVersion": "1.0", "status": "Completed"}).encode()
                job.status, job.ended = "Completed", dt.datetime.now(dt.timezone.utc)
        answer: dict[str, Any] = {
            "invocationArn": job.arn, "clientRequestToken": job.token, "status": job.status,
            "modelArn": f"arn:aws:bedrock:{self.region}::foundation-model/{job.model_id}",
            "submitTime": _iso(job.submitted), "lastModifiedTime": _iso(job.ended or job.submitted),
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"{job.s3_uri}/{job.id}"}}}
        if job.ended:
            answer["endTime"] = _iso(job.ended)
        if job.status == "Failed":
            answer["failureMessage"] = job.failure
        return JSONResponse(answer, headers={"x-amzn-RequestId": str(uuid.uuid4())})

    # -- S3 ----------------------------------------------------------------------------------------------

    async def _s3(self, request: Request) -> Response:
        body = await request.body()
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        operation = "GetObject" if request.method in ("GET", "HEAD") else "unknown"
        received = Received("s3", operation, request.method, raw, dict(request.headers.items()), body)
        with self.lock:
            self.requests.append(received)
        response = self._s3_answer(request, received, raw)
        received.status = response.status_code
        return response

    def _s3_answer(self, request: Request, received: Received, raw: str) -> Response:
        denied = self._check_signature("s3", request, received.body)
        if denied:
            return _s3_error(*denied)
        if received.operation != "GetObject":
            return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
        failure = self._take_failure("GetObject")
        if failure is not None and failure.kind in FAILURES:
            status, code, message = FAILURES[failure.kind]
            return _s3_error(status, code if failure.kind == "s3_denied" else "InternalError", message)
        bucket, _, key = unquote(raw.lstrip("/")).partition("/")
        if bucket not in self.buckets:
            return _s3_error(404, "NoSuchBucket", "The specified bucket does not exist")
        data = self.objects.get((bucket, key))
        if data is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        headers = {"ETag": f'"{hashlib.md5(data).hexdigest()}"', "Last-Modified": "Mon, 01 Dec 2025 00:00:00 GMT",
                   "x-amz-request-id": uuid.uuid4().hex[:16].upper(), "Accept-Ranges": "bytes"}
        media = "video/mp4" if key.endswith(".mp4") else "application/json"
        return Response(b"" if request.method == "HEAD" else data, media_type=media, headers=headers)


# -- answers -----------------------------------------------------------------------------------------------


def _error(status: int, code: str, message: str, extra: dict[str, str] | None = None) -> Response:
    headers = {"x-amzn-ErrorType": f"{code}:{CORAL}", "x-amzn-RequestId": str(uuid.uuid4()), **(extra or {})}
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _s3_error(status: int, code: str, message: str) -> Response:
    rid = uuid.uuid4().hex[:16].upper()
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
           f"<RequestId>{rid}</RequestId></Error>")
    return Response(xml, status_code=status, media_type="application/xml", headers={"x-amz-request-id": rid})


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _split(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    return bucket, prefix.strip("/")


def _embedded_images(doc: Any) -> list[bytes]:
    """Every base64 image in a request body (Canvas image fields, Reel `source.bytes`), decoded."""
    found: list[bytes] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("image", "maskImage", "referenceImage", "conditionImage",
                                               "images", "bytes") and len(node) > 16:
            try:
                found.append(base64.b64decode(node, validate=True))
            except (binascii.Error, ValueError):
                pass

    walk(doc)
    return found


# -- validation --------------------------------------------------------------------------------------------


def _text(params: dict, key: str, path: str, limit: int, required: bool) -> str | None:
    if key not in params:
        if required:
            raise malformed(path, f"required key [{key}] not found")
        return None
    value = params[key]
    if not isinstance(value, str):
        raise malformed(f"{path}/{key}", f"expected type: String, found: {type(value).__name__}")
    if not 1 <= len(value) <= limit:
        raise malformed(f"{path}/{key}", f"expected length between 1 and {limit}, actual: {len(value)}")
    return value


def _number(config: dict, key: str, low: float, high: float, *, integer: bool) -> float | None:
    if key not in config:
        return None
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise malformed(f"/imageGenerationConfig/{key}", f"expected type: {'Integer' if integer else 'Number'}, "
                                                         f"found: {type(value).__name__}")
    if not low <= value <= high:
        raise malformed(f"/imageGenerationConfig/{key}", f"{value} is not between {low} and {high}")
    return value


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _extraneous(keys: set, path: str) -> None:
    if keys:
        raise malformed(path, f"extraneous key [{sorted(keys)[0]}] is not permitted")


def check_size(width: int, height: int, what: str) -> None:
    """Nova Canvas sizes: sides multiples of 16 in 320-4096, fewer than 4,194,304 pixels, 1:4 to 4:1."""
    if not (320 <= width <= 4096 and 320 <= height <= 4096):
        raise Invalid(f"{what}: each side must be between 320 and 4096 pixels, got {width}x{height}.")
    if width % 16 or height % 16:
        raise Invalid(f"{what}: width and height must be divisible by 16, got {width}x{height}.")
    if width * height >= 4_194_304:
        raise Invalid(f"{what}: the total pixel count must be less than 4,194,304, got {width * height}.")
    if max(width, height) > 4 * min(width, height):
        raise Invalid(f"{what}: the aspect ratio must be between 1:4 and 4:1, got {width}x{height}.")


def decode_image(value: Any, path: str, *, exact: tuple[int, int] | None = None,
                 fmt: str | None = None) -> Image.Image:
    """A base64 input image as Nova takes it: PNG or JPEG, 8 bits per channel RGB (PNG alpha only if fully
    opaque), of a size Nova takes (or exactly `exact`)."""
    if not isinstance(value, str):
        raise malformed(path, "expected type: String")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(f"{path}: the image is not valid base64.") from None
    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
    except Exception:
        raise Invalid(f"{path}: unable to decode the image; use PNG or JPEG.") from None
    if picture.format not in ("PNG", "JPEG") or (fmt and picture.format != fmt.upper().replace("JPG", "JPEG")):
        raise Invalid(f"{path}: the image format {picture.format} is not supported here.")
    if picture.format == "PNG":
        depth, colour = data[24], data[25]
        if depth != 8 or colour not in (2, 6):
            raise Invalid(f"{path}: images must be 8 bits per channel RGB (PNG bit depth {depth}, colour type "
                          f"{colour}).")
        if colour == 6 and np.asarray(picture.getchannel("A")).min() < 255:
            raise Invalid(f"{path}: the image's alpha channel must not hold transparent or translucent pixels.")
    elif picture.mode != "RGB":
        raise Invalid(f"{path}: images must be 8 bits per channel RGB (JPEG mode {picture.mode}).")
    if exact is not None:
        if picture.size != exact:
            raise Invalid(f"{path}: the image must be {exact[0]}x{exact[1]}, got {picture.size[0]}x"
                          f"{picture.size[1]}.")
    else:
        check_size(*picture.size, path)
    return picture.convert("RGB")


def canvas(body: dict) -> list[bytes]:
    """Validate a Nova Canvas InvokeModel body like the service, then make its PNGs."""
    task = body.get("taskType")
    if task is None:
        raise malformed("", "required key [taskType] not found")
    if task not in CANVAS_TASKS:
        raise malformed("/taskType", f"{task} is not a valid enum value")
    key = CANVAS_TASKS[task]
    allowed = {"taskType", key} | (set() if task == "BACKGROUND_REMOVAL" else {"imageGenerationConfig"})
    _extraneous(set(body) - allowed, "")
    params = body.get(key)
    if not isinstance(params, dict):
        raise malformed("", f"required key [{key}] not found")
    required, optional = CANVAS_PARAMS[task]
    _extraneous(set(params) - required - optional, f"/{key}")
    config = body.get("imageGenerationConfig") or {}
    if not isinstance(config, dict):
        raise malformed("/imageGenerationConfig", "expected type: JSONObject")
    _extraneous(set(config) - CONFIG_KEYS, "/imageGenerationConfig")
    count = int(_or(_number(config, "numberOfImages", 1, 5, integer=True), 1))
    seed = int(_or(_number(config, "seed", 0, 858_993_459, integer=True), 12))  # 12: Nova's default seed
    _number(config, "cfgScale", 1.1, 10.0, integer=False)
    if config.get("quality", "standard") not in ("standard", "premium"):
        raise malformed("/imageGenerationConfig/quality", f"{config['quality']} is not a valid enum value")
    if ("width" in config) != ("height" in config):
        raise Invalid("imageGenerationConfig: width and height must be given together.")
    width = int(_or(_number(config, "width", 0, 1 << 20, integer=True), 1024))
    height = int(_or(_number(config, "height", 0, 1 << 20, integer=True), 1024))
    text = _text(params, "text", f"/{key}", 1024, required="text" in required) or ""
    _text(params, "negativeText", f"/{key}", 1024, required=False)
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(f"{task}|{text}|{seed}".encode()).digest()[:8],
                                               "little"))
    if task in ("TEXT_IMAGE", "COLOR_GUIDED_GENERATION", "IMAGE_VARIATION"):
        check_size(width, height, "imageGenerationConfig")
        base = None
        if task == "TEXT_IMAGE":
            if "style" in params and params["style"] not in STYLES:
                raise malformed(f"/{key}/style", f"{params['style']} is not a valid enum value")
            if "conditionImage" in params:
                decode_image(params["conditionImage"], f"/{key}/conditionImage")
        elif task == "COLOR_GUIDED_GENERATION":
            colors = params["colors"]
            if not isinstance(colors, list) or not 1 <= len(colors) <= 10 or \
                    not all(isinstance(c, str) and HEX.match(c) for c in colors):
                raise malformed(f"/{key}/colors", "expected 1 to 10 colours as '#RRGGBB'")
            base = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=float).mean(0)
            if "referenceImage" in params:
                decode_image(params["referenceImage"], f"/{key}/referenceImage")
        else:
            refs = params["images"]
            if not isinstance(refs, list) or not 1 <= len(refs) <= 5:
                raise malformed(f"/{key}/images", "expected between 1 and 5 items")
            if "similarityStrength" in params:
                strength = params["similarityStrength"]
                if not isinstance(strength, (int, float)) or not 0.2 <= strength <= 1.0:
                    raise malformed(f"/{key}/similarityStrength", f"{strength} is not between 0.2 and 1")
            pictures = [decode_image(r, f"/{key}/images/{i}") for i, r in enumerate(refs)]
            base = np.mean([np.asarray(p, dtype=float).reshape(-1, 3).mean(0) for p in pictures], axis=0)
        return [_png(_pattern(width, height, rng, base)) for _ in range(count)]
    image = decode_image(params.get("image"), f"/{key}/image")
    pixels = np.asarray(image).copy()
    if task == "BACKGROUND_REMOVAL":
        border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]).astype(int)
        distance = np.abs(pixels.astype(int) - np.median(border, axis=0)).sum(axis=2)
        alpha = np.where(distance > 60, 255, 0).astype(np.uint8)
        return [_png(Image.fromarray(np.dstack([pixels, alpha]), "RGBA"))]
    if ("maskImage" in params) == ("maskPrompt" in params):
        raise Invalid(f"{key}: exactly one of maskImage and maskPrompt is required.")
    if "maskPrompt" in params:
        _text(params, "maskPrompt", f"/{key}", 1024, required=True)
        change = np.zeros(pixels.shape[:2], bool)
        change[pixels.shape[0] // 4: 3 * pixels.shape[0] // 4, pixels.shape[1] // 4: 3 * pixels.shape[1] // 4] = True
    else:
        mask = np.asarray(decode_image(params["maskImage"], f"/{key}/maskImage"))
        if mask.shape != pixels.shape:
            raise Invalid(f"{key}: the mask image must have the same size as the image.")
        black, white = (mask == 0).all(axis=2), (mask == 255).all(axis=2)
        if not (black | white).all():
            raise Invalid(f"{key}: the mask image must contain only pure black and pure white pixels.")
        # INPAINTING changes the black area; OUTPAINTING changes the white one.
        change = black if task == "INPAINTING" else white
    if task == "OUTPAINTING" and params.get("outPaintingMode", "DEFAULT") not in ("DEFAULT", "PRECISE"):
        raise malformed(f"/{key}/outPaintingMode", f"{params['outPaintingMode']} is not a valid enum value")
    fill = np.asarray(_pattern(image.size[0], image.size[1], rng, None))
    pixels[change] = fill[change]
    return [_png(Image.fromarray(pixels, "RGB"))]


def reel_input(model_input: Any) -> tuple[int, bytes | None]:
    """Validate a Nova Reel TEXT_VIDEO modelInput; its seed and start keyframe (PNG/JPEG bytes)."""
    if not isinstance(model_input, dict):
        raise malformed("", "modelInput must be a JSON object")
    task = model_input.get("taskType")
    if task != "TEXT_VIDEO":
        raise malformed("/taskType", f"{task} is not a valid enum value (this double speaks TEXT_VIDEO)")
    _extraneous(set(model_input) - {"taskType", "textToVideoParams", "videoGenerationConfig"}, "")
    params = model_input.get("textToVideoParams")
    if not isinstance(params, dict):
        raise malformed("", "required key [textToVideoParams] not found")
    _extraneous(set(params) - {"text", "images"}, "/textToVideoParams")
    _text(params, "text", "/textToVideoParams", 512, required=True)
    keyframe = None
    if "images" in params:
        images = params["images"]
        if not isinstance(images, list) or len(images) != 1:
            raise malformed("/textToVideoParams/images", "expected exactly 1 item")
        source = images[0]
        if not isinstance(source, dict) or source.get("format") not in ("png", "jpeg"):
            raise malformed("/textToVideoParams/images/0/format", "expected png or jpeg")
        if set(source) - {"format", "source"} or not isinstance(source.get("source"), dict) or \
                set(source["source"]) != {"bytes"}:
            raise malformed("/textToVideoParams/images/0/source", "expected {\"bytes\": base64}")
        decode_image(source["source"]["bytes"], "/textToVideoParams/images/0/source/bytes", exact=(1280, 720),
                     fmt=source["format"])
        keyframe = base64.b64decode(source["source"]["bytes"])
    config = model_input.get("videoGenerationConfig")
    if not isinstance(config, dict):
        raise malformed("", "required key [videoGenerationConfig] not found")
    _extraneous(set(config) - {"durationSeconds", "fps", "dimension", "seed"}, "/videoGenerationConfig")
    if config.get("durationSeconds") != 6:
        raise Invalid("durationSeconds must be 6 for TEXT_VIDEO.")
    if config.get("fps") != 24:
        raise Invalid("fps must be 24.")
    if config.get("dimension") != "1280x720":
        raise Invalid("dimension must be 1280x720.")
    seed = config.get("seed", 42)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2_147_483_646:
        raise malformed("/videoGenerationConfig/seed", f"{seed} is not between 0 and 2147483646")
    return seed, keyframe


# -- pictures ----------------------------------------------------------------------------------------------


def _pattern(width: int, height: int, rng: np.random.Generator, base: np.ndarray | None) -> Image.Image:
    """A deterministic picture: a two-colour gradient (around `base` when given)."""
    a = rng.integers(0, 256, 3).astype(float) if base is None else np.clip(base + rng.normal(0, 20, 3), 0, 255)
    b = rng.integers(0, 256, 3).astype(float)
    ramp = np.linspace(0.0, 1.0, width)[None, :, None] * np.ones((height, 1, 1))
    return Image.fromarray((a * (1 - ramp) + b * ramp).astype(np.uint8), "RGB")


def _png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


def reel_video(keyframe: bytes | None, seed: int, frames: int) -> bytes:
    """A real 1280x720 24 fps MP4: the start keyframe (or a seeded colour) drifting frame by frame."""
    import cv2

    if keyframe is not None:
        first = cv2.cvtColor(np.asarray(Image.open(io.BytesIO(keyframe)).convert("RGB")), cv2.COLOR_RGB2BGR)
    else:
        colour = np.random.default_rng(seed).integers(0, 256, 3).astype(np.uint8)
        first = np.broadcast_to(colour, (720, 1280, 3)).copy()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "output.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24, (1280, 720))
        try:
            for i in range(frames):
                writer.write(np.roll(first, i * 4, axis=1))
        finally:
            writer.release()
        return path.read_bytes()

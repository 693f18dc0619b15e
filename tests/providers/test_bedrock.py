"""The bedrock adapter (Nova Canvas, Nova Reel through boto3) against a local Bedrock Runtime + S3 that speaks
the real protocols and checks SigV4 signatures (servers/bedrock.py)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import threading
import time

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from live import LiveServer, free_port
from PIL import Image
from servers.bedrock import FakeBedrock

from shotbridge.models import DataKind, PolicyDecision
from shotbridge_backend.operations.base import Canceled
from shotbridge_backend.providers import registry
from shotbridge_backend.providers.base import (
    GenerationRequest,
    InputImage,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    Task,
)
from shotbridge_backend.providers.session import PolicyRefused

ACCESS_KEY = "AKIAFAKE0TEST0KEY042"
SECRET_KEY = "fakeSecret/0123456789+abcdefghijABCDEFGHIJ"
CANVAS_PATH = "/model/amazon.nova-canvas-v1%3A0/invoke"


@pytest.fixture(scope="module")
def servers():
    double = FakeBedrock(access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    with LiveServer(double.runtime_app) as runtime, LiveServer(double.s3_app) as s3:
        yield double, runtime.url, s3.url
        double.release()


@pytest.fixture
def double(servers):
    fake = servers[0]
    fake.reset()
    yield fake
    fake.release()  # a test that left a hang behind does not hold the server


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials through boto3's own chain (the environment), nothing of the real machine's."""
    import os

    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return monkeypatch


@pytest.fixture
def provider(servers, aws_env):
    def make(**overrides):
        entry = {"type": "bedrock", "region": "us-east-1", "endpoint_url": servers[1],
                 "s3_endpoint_url": servers[2], "s3_output": "s3://shots/reel", "timeout": 5, "connect_timeout": 2,
                 "max_attempts": 3, "backoff": 0.01, "poll_interval": 0.01, "poll_max_interval": 0.02}
        entry.update(overrides)
        return registry.build("aws", {k: v for k, v in entry.items() if v is not None})

    return make


# -- pictures --------------------------------------------------------------------------------------------


def plate(path, size=(320, 320), fmt="PNG", exif=None):
    """A deterministic noisy plate (every pixel distinct enough to compare exactly)."""
    rng = np.random.default_rng(size[0] * 7 + size[1])
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    picture = Image.fromarray(pixels, "RGB")
    if exif is not None:
        picture.save(path, fmt, exif=exif, quality=95)
    else:
        picture.save(path, fmt)
    return path


def square(path, size=(320, 320), box=(100, 100, 220, 220)):
    """A red square on a green ground."""
    pixels = np.zeros((size[1], size[0], 3), np.uint8)
    pixels[:] = (20, 160, 40)
    pixels[box[1]:box[3], box[0]:box[2]] = (220, 30, 30)
    Image.fromarray(pixels, "RGB").save(path, "PNG")
    return path


def grey_mask(path, size=(320, 320), box=(80, 80, 240, 240)):
    """ShotBridge's convention: white = fill. Greys around the box test the threshold (200 fills, 100 keeps)."""
    pixels = np.zeros((size[1], size[0]), np.uint8)
    pixels[box[1] - 10:box[3] + 10, box[0] - 10:box[2] + 10] = 100
    pixels[box[1]:box[3], box[0]:box[2]] = 200
    pixels[box[1] + 10:box[3] - 10, box[0] + 10:box[2] - 10] = 255
    Image.fromarray(pixels, "L").save(path, "PNG")
    return path, pixels > 127


def gps_exif():
    exif = Image.Exif()
    exif[0x010F] = "StudioCam"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}  # GPS IFD
    return exif


def decoded(b64: str) -> Image.Image:
    picture = Image.open(io.BytesIO(base64.b64decode(b64)))
    picture.load()
    return picture


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cancel_once(condition) -> threading.Event:
    """An event set as soon as `condition()` holds (e.g. the double has the request), polled from a thread."""
    flag = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)
        flag.set()

    threading.Thread(target=watch, daemon=True).start()
    return flag


def refuse(kinds):
    raise PolicyRefused(PolicyDecision(provider="aws", allowed=False, rule="no-grant", detail="no grant for aws"))


# -- Nova Canvas -----------------------------------------------------------------------------------------


def test_text_to_image_sends_text_image_and_audits_the_call(provider, double, make_session):
    adapter = provider()
    session, audit = make_session(adapter)
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="a lighthouse at dusk",
                                             negative_prompt="people", width=512, height=320, seed=7, count=2,
                                             options={"quality": "premium", "cfg_scale": 7.5}), session)
    assert [(r.operation, r.path, r.status) for r in double.requests] == [("InvokeModel", CANVAS_PATH, 200)]
    sent = double.requests[0]
    assert sent.json == {"taskType": "TEXT_IMAGE",
                         "textToImageParams": {"text": "a lighthouse at dusk", "negativeText": "people"},
                         "imageGenerationConfig": {"width": 512, "height": 320, "numberOfImages": 2, "seed": 7,
                                                   "quality": "premium", "cfgScale": 7.5}}
    assert sent.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    pictures = [Image.open(f) for f in out.files]
    assert [p.size for p in pictures] == [(512, 320), (512, 320)]
    assert np.asarray(pictures[0]).tobytes() != np.asarray(pictures[1]).tobytes()
    assert (out.media_type, out.model, out.seed) == ("image/png", "amazon.nova-canvas-v1:0", 7)
    assert out.reproduce["task_type"] == "TEXT_IMAGE" and len(out.reproduce["request_ids"]) == 1
    [record] = audit.records
    assert (record["method"], record["url"]) == ("POST", double_url(adapter) + CANVAS_PATH)
    assert record["bytes_sent"] == len(sent.body)
    assert record["data"] == [DataKind.prompt] and record["assets"] == []
    assert (record["status"], record["outcome"]) == (200, "ok")


def double_url(adapter) -> str:
    return adapter.endpoint_url


def test_references_make_an_image_variation_with_the_audited_bytes(provider, double, make_session, tmp_path):
    adapter = provider()
    session, audit = make_session(adapter)
    refs = [plate(tmp_path / "hero_front_secret_project.png", (330, 330)),
            plate(tmp_path / "hero_side.jpg", (480, 640), fmt="JPEG")]
    inputs = [InputImage("reference", p, DataKind.reference, source_sha256=f"{i}" * 64) for i, p in enumerate(refs)]
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="the hero on a rooftop", inputs=inputs,
                                             width=320, height=320, seed=3), session)
    sent = double.requests[0]
    assert sent.json["taskType"] == "IMAGE_VARIATION"
    params = sent.json["imageVariationParams"]
    assert params["text"] == "the hero on a rooftop" and params["similarityStrength"] == 0.7
    assert [decoded(i).size for i in params["images"]] == [(336, 336), (480, 640)]  # 330 is no multiple of 16
    assets = audit.records[0]["assets"]
    assert [(a.role, a.kind, a.sha256, a.size) for a in assets] == [
        ("reference", DataKind.reference, sha(img), len(img)) for img in sent.images]
    assert [a.source_sha256 for a in assets] == ["0" * 64, "1" * 64]
    assert b"hero_front" not in sent.body and b"secret_project" not in sent.body
    assert out.reproduce["task_type"] == "IMAGE_VARIATION" and out.reproduce["references"] == 2
    assert any("330x330 -> 336x336" in n for n in out.reproduce["notes"])


def test_colors_make_a_color_guided_generation_with_one_reference(provider, double, make_session, tmp_path):
    adapter = provider()
    session, audit = make_session(adapter)
    refs = [InputImage("reference", plate(tmp_path / f"r{i}.png", (320, 320 + 16 * i)), DataKind.reference)
            for i in range(2)]
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="a market", inputs=refs, width=320,
                                             height=320, options={"colors": ["#FF9800", "#203040"]}), session)
    sent = double.requests[0]
    params = sent.json["colorGuidedGenerationParams"]
    assert sent.json["taskType"] == "COLOR_GUIDED_GENERATION" and params["colors"] == ["#FF9800", "#203040"]
    assert decoded(params["referenceImage"]).size == (320, 320) and len(sent.images) == 1
    assert [a.sha256 for a in audit.records[0]["assets"]] == [sha(sent.images[0])]  # the second stayed here
    assert out.reproduce["task_type"] == "COLOR_GUIDED_GENERATION"
    assert any("the first 1 were sent" in n for n in out.reproduce["notes"])


def test_style_option_reaches_text_image(provider, double, make_session):
    adapter = provider()
    session, _ = make_session(adapter)
    adapter.generate(GenerationRequest(Task.text_to_image, prompt="a market", width=320, height=320,
                                       options={"style": "GRAPHIC_NOVEL_ILLUSTRATION"}), session)
    assert double.requests[0].json["textToImageParams"]["style"] == "GRAPHIC_NOVEL_ILLUSTRATION"
    with pytest.raises(ProviderError, match="ValidationException.*style"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="a market", width=320, height=320,
                                           options={"style": "WATERCOLOUR"}), session)


def test_sizes_snap_to_nova_canvas_rules_and_counts_above_five_take_two_calls(provider, double, make_session):
    adapter = provider()
    session, _ = make_session(adapter)
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="rain", width=1000, height=562, seed=858993459,
                                             count=6), session)
    configs = [r.json["imageGenerationConfig"] for r in double.of("InvokeModel")]
    assert [(c["width"], c["height"], c["numberOfImages"], c["seed"]) for c in configs] == [
        (992, 560, 5, 858993459), (992, 560, 1, 0)]
    assert len(out.files) == 6 and Image.open(out.files[5]).size == (992, 560)
    assert any("1000x562 snapped to 992x560" in n for n in out.reproduce["notes"])
    assert out.reproduce["call_seeds"] == [858993459, 0]


def test_inpaint_inverts_the_mask_for_nova_and_keeps_unmasked_pixels(provider, double, make_session, tmp_path):
    adapter = provider()
    session, audit = make_session(adapter)
    image = plate(tmp_path / "plate.png")
    mask_path, fill = grey_mask(tmp_path / "mask.png")
    out = adapter.generate(GenerationRequest(Task.inpaint, prompt="a street lamp", seed=11, inputs=[
        InputImage("image", image, DataKind.plate), InputImage("mask", mask_path, DataKind.mask)]), session)
    sent = double.requests[0].json
    assert sent["taskType"] == "INPAINTING" and sent["inPaintingParams"]["text"] == "a street lamp"
    assert sent["imageGenerationConfig"] == {"quality": "standard", "seed": 11, "numberOfImages": 1}
    assert np.array_equal(np.asarray(decoded(sent["inPaintingParams"]["image"])), np.asarray(Image.open(image)))
    nova_mask = np.asarray(decoded(sent["inPaintingParams"]["maskImage"]).convert("RGB"))
    expected = np.where(fill[..., None], 0, 255).repeat(3, axis=2)  # Nova: black = change
    assert np.array_equal(nova_mask, expected)
    result, original = np.asarray(Image.open(out.files[0]).convert("RGB")), np.asarray(Image.open(image))
    assert result.shape == original.shape
    assert np.array_equal(result[~fill], original[~fill])
    assert not np.array_equal(result[fill], original[fill])
    assert out.reproduce["task_type"] == "INPAINTING" and out.seed == 11
    [record] = audit.records
    assert [(a.role, a.kind, a.sha256) for a in record["assets"]] == [
        ("image", DataKind.plate, sha(double.requests[0].images[0])),
        ("mask", DataKind.mask, sha(double.requests[0].images[1]))]
    assert set(record["data"]) == {DataKind.prompt, DataKind.plate, DataKind.mask}


def test_inpaint_of_an_off_size_plate_is_sized_for_nova_and_back(provider, double, make_session, tmp_path):
    adapter = provider()
    session, _ = make_session(adapter)
    image = plate(tmp_path / "small.png", (250, 180))
    mask_path, fill = grey_mask(tmp_path / "mask.png", (250, 180), box=(60, 50, 180, 130))
    out = adapter.generate(GenerationRequest(Task.inpaint, inputs=[
        InputImage("image", image, DataKind.plate), InputImage("mask", mask_path, DataKind.mask)]), session)
    params = double.requests[0].json["inPaintingParams"]
    assert "text" not in params  # no prompt: Nova removes what is masked
    assert decoded(params["image"]).size == decoded(params["maskImage"]).size == (448, 320)
    result, original = np.asarray(Image.open(out.files[0]).convert("RGB")), np.asarray(Image.open(image))
    assert result.shape == (180, 250, 3)
    assert np.array_equal(result[~fill], original[~fill])
    assert any("resized back to 250x180" in n for n in out.reproduce["notes"])


def test_outpaint_option_keeps_the_mask_white_where_nova_paints(provider, double, make_session, tmp_path):
    adapter = provider()
    session, _ = make_session(adapter)
    image = plate(tmp_path / "plate.png")
    mask_path, fill = grey_mask(tmp_path / "mask.png")
    inputs = [InputImage("image", image, DataKind.plate), InputImage("mask", mask_path, DataKind.mask)]
    with pytest.raises(ProviderError, match="needs a prompt"):
        adapter.generate(GenerationRequest(Task.inpaint, inputs=inputs, options={"mode": "outpaint"}), session)
    assert double.requests == []
    out = adapter.generate(GenerationRequest(Task.inpaint, prompt="a harbour", inputs=inputs, options={
        "mode": "outpaint", "outpainting_mode": "PRECISE"}), session)
    sent = double.requests[0].json
    assert sent["taskType"] == "OUTPAINTING" and sent["outPaintingParams"]["outPaintingMode"] == "PRECISE"
    nova_mask = np.asarray(decoded(sent["outPaintingParams"]["maskImage"]).convert("L"))
    assert np.array_equal(nova_mask, np.where(fill, 255, 0))  # Nova: OUTPAINTING changes the white area
    result, original = np.asarray(Image.open(out.files[0]).convert("RGB")), np.asarray(Image.open(image))
    assert np.array_equal(result[~fill], original[~fill])
    assert out.reproduce["task_type"] == "OUTPAINTING"


@pytest.mark.parametrize("size", [(320, 320), (200, 150)])
def test_remove_background_turns_the_cutout_alpha_into_a_matte(provider, double, make_session, tmp_path, size):
    adapter = provider()
    session, audit = make_session(adapter)
    box = (size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4)
    image = square(tmp_path / "shot.png", size, box)
    out = adapter.generate(GenerationRequest(Task.remove_background, inputs=[
        InputImage("image", image, DataKind.plate)]), session)
    sent = double.requests[0].json
    assert set(sent) == {"taskType", "backgroundRemovalParams"} and sent["taskType"] == "BACKGROUND_REMOVAL"
    matte = Image.open(out.files[0])
    assert (matte.mode, matte.size) == ("L", size)
    values = np.asarray(matte)
    assert values[size[1] // 2, size[0] // 2] == 255 and values[2, 2] == 0
    assert out.seed is None and out.reproduce["task_type"] == "BACKGROUND_REMOVAL"
    assert audit.records[0]["data"] == [DataKind.plate]  # no prompt was sent


def test_uploads_carry_no_exif_gps_nor_file_names(provider, double, make_session, tmp_path):
    adapter = provider()
    session, audit = make_session(adapter)
    image = plate(tmp_path / "A001_C003_geotagged.jpg", fmt="JPEG", exif=gps_exif())
    assert b"Exif\x00\x00" in image.read_bytes()
    mask_path, _ = grey_mask(tmp_path / "mask.png")
    adapter.generate(GenerationRequest(Task.inpaint, prompt="sky", inputs=[
        InputImage("image", image, DataKind.plate), InputImage("mask", mask_path, DataKind.mask)]), session)
    uploaded = double.requests[0].images[0]
    assert uploaded[:3] == b"\xff\xd8\xff" and b"Exif\x00\x00" not in uploaded and b"StudioCam" not in uploaded
    assert len(Image.open(io.BytesIO(uploaded)).getexif()) == 0
    assert "EXIF+GPS" in audit.records[0]["assets"][0].stripped
    assert b"A001_C003" not in double.requests[0].body and b"geotagged" not in double.requests[0].body


# -- retries, errors, timeouts, cancel --------------------------------------------------------------------


def test_throttled_twice_then_served_is_three_audited_attempts(provider, double, make_session, tmp_path):
    adapter = provider()
    session, audit = make_session(adapter)
    double.fail("InvokeModel", "throttle", times=2)
    image = square(tmp_path / "shot.png")
    out = adapter.generate(GenerationRequest(Task.remove_background, inputs=[
        InputImage("image", image, DataKind.plate)]), session)
    assert [r.status for r in double.of("InvokeModel")] == [429, 429, 200]
    assert [(r["status"], r["outcome"]) for r in audit.records] == [(429, "error"), (429, "error"), (200, "ok")]
    shas = {sha(r.images[0]) for r in double.requests}
    assert len(shas) == 1 and all([a.sha256 for a in r["assets"]] == list(shas) for r in audit.records)
    assert all(r["bytes_sent"] == len(double.requests[0].body) for r in audit.records)
    assert Image.open(out.files[0]).mode == "L"


def test_server_errors_are_retried_and_retry_after_is_honoured(provider, double, make_session):
    adapter = provider()
    session, audit = make_session(adapter)
    double.fail("InvokeModel", "500")
    double.fail("InvokeModel", "503", retry_after=0.5)
    adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    calls = double.of("InvokeModel")
    assert [r.status for r in calls] == [500, 503, 200]
    assert calls[2].at - calls[1].at >= 0.45  # Retry-After: 0.5 (AWS seldom sends it; the session obeys it)
    assert calls[1].at - calls[0].at < 0.4  # backoff=0.01 otherwise
    assert [r["status"] for r in audit.records] == [500, 503, 200]


def test_throttling_beyond_max_attempts_names_the_aws_code(provider, double, make_session):
    adapter = provider()
    session, audit = make_session(adapter)
    double.fail("InvokeModel", "throttle", times=10)
    with pytest.raises(ProviderError) as caught:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    assert type(caught.value) is ProviderError
    assert (caught.value.code, caught.value.status) == ("ThrottlingException", 429)
    message = str(caught.value)
    assert "aws:" in message and "ThrottlingException (HTTP 429)" in message and "Too many requests" in message
    assert "after 3 attempt(s)" in message
    assert len(double.of("InvokeModel")) == 3 and len(audit.records) == 3


@pytest.mark.parametrize(("kind", "times", "cls", "code", "status", "advice"), [
    ("access_denied", 1, ProviderUnavailable, "AccessDeniedException", 403, "bedrock:InvokeModel"),
    ("model_timeout", 1, ProviderTimeout, "ModelTimeoutException", 408, "retry the job"),
    ("model_error", 1, ProviderError, "ModelErrorException", 424, "change the prompt"),
    ("quota", 1, ProviderError, "ServiceQuotaExceededException", 400, "Service Quotas"),
    ("filtered", 1, ProviderError, "ValidationException", 400, "content filters"),
    ("not_ready", 5, ProviderUnavailable, "ModelNotReadyException", 429, "not ready"),
])
def test_client_errors_map_to_provider_errors(provider, double, make_session, kind, times, cls, code, status,
                                              advice):
    adapter = provider()
    session, _ = make_session(adapter)
    double.fail("InvokeModel", kind, times=times)
    with pytest.raises(ProviderError) as caught:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    assert type(caught.value) is cls
    assert (caught.value.code, caught.value.status) == (code, status)
    message = str(caught.value)
    assert message.startswith("aws: Nova Canvas TEXT_IMAGE failed: AWS answered")
    assert code in message and advice in message


def test_a_model_the_service_does_not_know_is_its_validation_error(provider, double, make_session):
    adapter = provider(canvas_model="amazon.nova-canvas-v9:9")
    session, _ = make_session(adapter)
    with pytest.raises(ProviderError, match="The provided model identifier is invalid") as caught:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    assert caught.value.code == "ValidationException"
    assert double.requests[0].path == "/model/amazon.nova-canvas-v9%3A9/invoke"


def test_an_error_in_the_body_is_raised_with_its_text(provider, double, make_session):
    adapter = provider()
    session, _ = make_session(adapter)
    double.fail("InvokeModel", "content_filter", message="The generated image has been blocked by our filters.")
    with pytest.raises(ProviderError, match="blocked by our filters") as caught:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    assert caught.value.code == "ContentFiltered"


def test_a_hung_invoke_times_out_with_a_clear_error(provider, double, make_session):
    adapter = provider(timeout=0.5)
    session, audit = make_session(adapter)
    double.fail("InvokeModel", "hang", hang=10)
    start = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"did not answer POST /model/amazon.nova-canvas-v1%3A0/invoke within 0.5 s"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    assert time.monotonic() - start < 3
    assert [r["outcome"] for r in audit.records] == ["timeout"]


def test_cancel_stops_waiting_on_invoke_model(provider, double, make_session):
    adapter = provider()
    double.fail("InvokeModel", "hang", hang=10)
    flag = cancel_once(lambda: len(double.of("InvokeModel")) == 1)  # canceled while the provider hangs
    session, audit = make_session(adapter, canceled=flag.is_set)
    start = time.monotonic()
    with pytest.raises(Canceled):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    assert time.monotonic() - start < 3  # the provider would have hung for 10 s
    assert len(double.of("InvokeModel")) == 1 and [r["outcome"] for r in audit.records] == ["canceled"]


def test_an_unreachable_endpoint_is_unavailable(provider, make_session):
    adapter = provider(endpoint_url=f"http://127.0.0.1:{free_port()}")
    session, _ = make_session(adapter)
    with pytest.raises(ProviderUnavailable, match="cannot be reached.*endpoint_url"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)


# -- Nova Reel --------------------------------------------------------------------------------------------


def test_reel_letterboxes_the_first_frame_polls_and_downloads_the_mp4(provider, double, make_session, tmp_path):
    import cv2

    adapter = provider()
    session, audit = make_session(adapter)
    double.reel_polls = 3
    first = square(tmp_path / "first.png", (640, 480), box=(300, 220, 340, 260))
    out = adapter.generate(GenerationRequest(Task.image_to_video, prompt="the camera pushes in", seed=1234,
                                             frames=144, fps=24, inputs=[
                                                 InputImage("first_frame", first, DataKind.plate)]), session)
    start = double.of("StartAsyncInvoke")[0].json
    keyframe = start["modelInput"]["textToVideoParams"].pop("images")
    assert start["modelId"] == "amazon.nova-reel-v1:1"
    assert start["modelInput"] == {"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "the camera pushes in"},
                                   "videoGenerationConfig": {"durationSeconds": 6, "fps": 24,
                                                             "dimension": "1280x720", "seed": 1234}}
    assert start["outputDataConfig"] == {"s3OutputDataConfig": {"s3Uri": "s3://shots/reel"}}
    assert start["clientRequestToken"] == out.reproduce["client_request_token"]
    sent = np.asarray(decoded(keyframe[0]["source"]["bytes"]).convert("RGB"))
    assert keyframe[0]["format"] == "png" and sent.shape == (720, 1280, 3)
    assert sent[360, 10].tolist() == [0, 0, 0]  # letterboxed: a 4:3 frame in 16:9 gets black bars
    assert sent[360, 640].tolist() == [220, 30, 30] and sent[100, 640].tolist() == [20, 160, 40]
    arn = out.reproduce["invocation_arn"]
    polls = double.of("GetAsyncInvoke")
    assert len(polls) == 4 and polls[0].path == "/async-invoke/" + arn.replace(":", "%3A").replace("/", "%2F")
    invocation_id = arn.rsplit("/", 1)[1]
    assert [r.path for r in double.of("GetObject")] == [f"/shots/reel/{invocation_id}/output.mp4"]
    video = cv2.VideoCapture(str(out.files[0]))
    assert (video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (1280, 720)
    assert (video.get(cv2.CAP_PROP_FRAME_COUNT), video.get(cv2.CAP_PROP_FPS)) == (144, 24)
    video.release()
    assert (out.media_type, out.model, out.seed) == ("video/mp4", "amazon.nova-reel-v1:1", 1234)
    assert out.reproduce["task_type"] == "TEXT_VIDEO"
    assert any("640x480 letterboxed to 1280x720" in n for n in out.reproduce["notes"])
    fractions = [f for f, _ in session.events]
    assert fractions == sorted(fractions) and all(0 <= f <= 1 for f in fractions)
    assert sum("InProgress" in m for _, m in session.events) == 3
    assert [(r["method"], r["status"]) for r in audit.records] == [("POST", 200)] + [("GET", 200)] * 5
    assert [a.role for a in audit.records[0]["assets"]] == ["first_frame"]
    assert audit.records[0]["assets"][0].sha256 == sha(double.of("StartAsyncInvoke")[0].images[0])
    assert set(audit.records[0]["data"]) == {DataKind.prompt, DataKind.plate}
    assert all(r["assets"] == [] and r["data"] == [] for r in audit.records[1:])


def test_reel_text_only_sends_no_image_and_never_the_last_frame(provider, double, make_session, tmp_path):
    adapter = provider()
    session, audit = make_session(adapter)
    double.reel_polls = 0
    double.video_frames = 4
    last = plate(tmp_path / "last.png", (1280, 720))
    out = adapter.generate(GenerationRequest(Task.image_to_video, prompt="waves", inputs=[
        InputImage("last_frame", last, DataKind.plate)]), session)
    start = double.of("StartAsyncInvoke")[0]
    assert "images" not in start.json["modelInput"]["textToVideoParams"] and start.images == []
    assert all(r["assets"] == [] for r in audit.records)
    assert any("last frame was not sent" in n for n in out.reproduce["notes"])
    assert 0 <= out.seed <= 2_147_483_646 and start.json["modelInput"]["videoGenerationConfig"]["seed"] == out.seed


def test_a_geotagged_keyframe_of_the_right_size_leaves_without_exif(provider, double, make_session, tmp_path):
    adapter = provider()
    session, audit = make_session(adapter)
    double.reel_polls, double.video_frames = 0, 2
    first = plate(tmp_path / "first.jpg", (1280, 720), fmt="JPEG", exif=gps_exif())
    adapter.generate(GenerationRequest(Task.image_to_video, prompt="dolly", inputs=[
        InputImage("first_frame", first, DataKind.plate)]), session)
    start = double.of("StartAsyncInvoke")[0]
    assert start.json["modelInput"]["textToVideoParams"]["images"][0]["format"] == "jpeg"
    assert b"Exif\x00\x00" not in start.images[0] and start.images[0][:3] == b"\xff\xd8\xff"
    assert "EXIF+GPS" in audit.records[0]["assets"][0].stripped


def test_reel_failed_surfaces_the_failure_message(provider, double, make_session):
    adapter = provider()
    session, _ = make_session(adapter)
    double.reel_polls, double.reel_failure = 1, "The output video was blocked by our content filters."
    with pytest.raises(ProviderError, match="blocked by our content filters") as caught:
        adapter.generate(GenerationRequest(Task.image_to_video, prompt="waves"), session)
    arn = next(iter(double.invocations))
    assert arn in str(caught.value) and caught.value.code == "Failed"
    assert double.of("GetObject") == []


def test_cancel_while_polling_stops_at_once_and_says_the_job_runs_on(provider, double, make_session, caplog):
    adapter = provider()
    session, _ = make_session(adapter, canceled=lambda: len(double.of("GetAsyncInvoke")) >= 1)
    double.reel_polls = 10_000
    caplog.set_level(logging.WARNING, logger="shotbridge_backend.providers.bedrock")
    start = time.monotonic()
    with pytest.raises(Canceled) as caught:
        adapter.generate(GenerationRequest(Task.image_to_video, prompt="waves"), session)
    assert time.monotonic() - start < 3  # polling would have gone on for 10,000 polls
    [arn] = double.invocations
    assert arn in str(caught.value) and "keeps running at AWS" in str(caught.value)
    assert arn in caplog.text and "no API to stop" in caplog.text
    assert double.invocations[arn].status == "InProgress"
    assert len(double.of("GetAsyncInvoke")) == 1 and double.of("GetObject") == []


def test_cancel_during_the_start_call_names_the_client_token(provider, double, make_session, caplog):
    adapter = provider()
    double.fail("StartAsyncInvoke", "hang", hang=10)
    flag = cancel_once(lambda: len(double.of("StartAsyncInvoke")) == 1)
    session, audit = make_session(adapter, canceled=flag.is_set)
    caplog.set_level(logging.WARNING, logger="shotbridge_backend.providers.bedrock")
    with pytest.raises(Canceled, match="client request token [0-9a-f]{32}.*runs on at AWS"):
        adapter.generate(GenerationRequest(Task.image_to_video, prompt="waves"), session)
    token = double.of("StartAsyncInvoke")[0].json["clientRequestToken"]
    assert token in caplog.text and [r["outcome"] for r in audit.records] == ["canceled"]


def test_a_reel_job_past_reel_timeout_fails_and_names_its_arn(provider, double, make_session):
    adapter = provider(reel_timeout=0.2)
    session, _ = make_session(adapter)
    double.reel_polls = 10_000
    with pytest.raises(ProviderTimeout, match="keeps running at AWS") as caught:
        adapter.generate(GenerationRequest(Task.image_to_video, prompt="waves"), session)
    assert next(iter(double.invocations)) in str(caught.value)


def test_without_s3_output_video_is_not_offered(provider, double, make_session):
    adapter = provider(s3_output=None)
    assert not adapter.supports(Task.image_to_video) and adapter.supports(Task.text_to_image)
    assert adapter.health() == ""
    session, audit = make_session(adapter)
    with pytest.raises(ProviderUnavailable, match="set s3_output"):
        adapter.generate(GenerationRequest(Task.image_to_video, prompt="waves"), session)
    assert double.requests == [] and audit.records == []


# -- policy, credentials ----------------------------------------------------------------------------------


@pytest.mark.parametrize("task", [Task.text_to_image, Task.inpaint, Task.image_to_video])
def test_a_refusing_policy_means_no_request_at_all(provider, double, make_session, tmp_path, task):
    adapter = provider()
    session, audit = make_session(adapter, gate=refuse)
    mask_path, _ = grey_mask(tmp_path / "mask.png")
    inputs = {Task.text_to_image: [], Task.image_to_video: [
        InputImage("first_frame", plate(tmp_path / "f.png", (1280, 720)), DataKind.plate)],
        Task.inpaint: [InputImage("image", plate(tmp_path / "p.png"), DataKind.plate),
                       InputImage("mask", mask_path, DataKind.mask)]}[task]
    with pytest.raises(PolicyRefused):
        adapter.generate(GenerationRequest(task, prompt="waves", inputs=inputs, width=320, height=320), session)
    assert double.requests == [] and audit.records == []


def test_credentials_in_providers_toml_are_refused(aws_env):
    adapter = registry.build("aws", {"type": "bedrock", "aws_access_key_id": "AKIALEAKED000000",
                                     "aws_secret_access_key": "leaked/Secret/Value"})
    assert "aws_access_key_id, aws_secret_access_key" in adapter.problem and "boto3" in adapter.problem
    assert adapter.health() == adapter.problem
    described = adapter.describe(["generate"])
    assert not described.available and described.reason == adapter.problem
    text = described.model_dump_json() + adapter.problem + json.dumps(adapter.config)
    assert "leaked/Secret/Value" not in text and "AKIALEAKED000000" not in text


def test_no_credential_reaches_the_audit_describe_errors_or_log(provider, double, make_session, caplog):
    caplog.set_level(logging.INFO)
    adapter = provider()
    session, audit = make_session(adapter)
    adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    double.fail("InvokeModel", "access_denied", message=f"User {ACCESS_KEY} is not authorized")
    with pytest.raises(ProviderUnavailable) as caught:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    assert "is not authorized" in str(caught.value)
    seen = json.dumps([{k: str(v) for k, v in r.items()} for r in audit.records]) + str(caught.value) + \
        adapter.describe(["generate"]).model_dump_json() + json.dumps(adapter.config) + caplog.text
    assert ACCESS_KEY not in seen and SECRET_KEY not in seen


def test_a_wrong_secret_fails_the_signature_check_and_says_so(provider, double, make_session, aws_env):
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "not-the-right-secret")
    adapter = provider()
    session, _ = make_session(adapter)
    with pytest.raises(ProviderUnavailable, match="InvalidSignatureException.*rejected the credentials"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    assert [r.status for r in double.requests] == [403]  # refused, and not retried


def test_without_credentials_health_says_where_boto3_looks_and_nothing_is_sent(provider, double, make_session,
                                                                                aws_env):
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    adapter = provider()
    assert "no AWS credentials" in adapter.health() and "AWS_PROFILE" in adapter.health()
    session, _ = make_session(adapter)
    with pytest.raises(ProviderUnavailable, match="no AWS credentials"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=320, height=320), session)
    assert double.requests == []


def test_facts_place_the_data_in_the_configured_region(aws_env):
    adapter = registry.build("aws", {"type": "bedrock", "region": "eu-west-1"})
    described = adapter.describe([])
    assert (described.kind.value, described.trains_on_inputs, described.retention_days,
            described.data_location, described.accepts_references) == ("cloud", False, 0, "eu-west-1", True)
    assert registry.build("aws", {"type": "bedrock"}).facts.data_location == "us-east-1"
    assert "region" in registry.build("aws", {"type": "bedrock", "region": "mars"}).problem


def test_estimates_follow_the_list_prices(aws_env):
    adapter = registry.build("aws", {"type": "bedrock", "s3_output": "s3://shots/reel"})
    assert adapter.estimate(GenerationRequest(Task.image_to_video)).amount == pytest.approx(0.48)
    assert adapter.estimate(GenerationRequest(Task.text_to_image, count=3)).amount == pytest.approx(0.12)
    assert adapter.estimate(GenerationRequest(Task.text_to_image, width=2048, height=2032,
                                              options={"quality": "premium"})).amount == pytest.approx(0.08)


# -- the double is as strict as the service ---------------------------------------------------------------


def _png_b64(size, mode="RGB", colour=(10, 20, 30)):
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


@pytest.mark.parametrize(("body", "message"), [
    ({"textToImageParams": {"text": "x"}}, "required key [taskType] not found"),
    ({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": ""}}, "expected length between 1 and 1024"),
    ({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x", "prompt": "y"}}, "extraneous key [prompt]"),
    ({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x"},
      "imageGenerationConfig": {"width": 1000, "height": 1000}}, "divisible by 16"),
    ({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x"}, "imageGenerationConfig": {"seed": -1}},
     "is not between 0 and 858993459"),
    ({"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": "not base64!"}}, "not valid base64"),
    ({"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": _png_b64((320, 320), "RGBA", (1, 2, 3, 0))}},
     "transparent"),
    ({"taskType": "INPAINTING", "inPaintingParams": {"image": _png_b64((320, 320)),
                                                     "maskImage": _png_b64((320, 320), "RGB", (128, 128, 128))}},
     "only pure black and pure white"),
    ({"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": _png_b64((320, 320))},
      "imageGenerationConfig": {"seed": 1}}, "extraneous key [imageGenerationConfig]"),
])
def test_the_double_rejects_canvas_bodies_the_service_rejects(servers, aws_env, body, message):
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=servers[1],
                          config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId="amazon.nova-canvas-v1:0", body=json.dumps(body), contentType="application/json")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert message in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize(("model_input", "message"), [
    ({"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "x", "images": [
        {"format": "png", "source": {"bytes": _png_b64((640, 480))}}]},
      "videoGenerationConfig": {"durationSeconds": 6, "fps": 24, "dimension": "1280x720"}}, "must be 1280x720"),
    ({"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "x"},
      "videoGenerationConfig": {"durationSeconds": 12, "fps": 24, "dimension": "1280x720"}}, "durationSeconds"),
    ({"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "x" * 513},
      "videoGenerationConfig": {"durationSeconds": 6, "fps": 24, "dimension": "1280x720"}}, "between 1 and 512"),
])
def test_the_double_rejects_reel_inputs_the_service_rejects(servers, aws_env, model_input, message):
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=servers[1],
                          config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        client.start_async_invoke(modelId="amazon.nova-reel-v1:1", modelInput=model_input,
                                  outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://shots/reel"}})
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert message in caught.value.response["Error"]["Message"]


def test_image_edit_is_an_image_variation_of_the_image_then_the_references(provider, double, make_session, tmp_path):
    adapter = provider()
    assert adapter.supports(Task.image_edit)
    session, audit = make_session(adapter)
    image = plate(tmp_path / "plate.png", (250, 180))
    hero = plate(tmp_path / "hero.png", (320, 320))
    out = adapter.generate(GenerationRequest(Task.image_edit, prompt="night, wet street", seed=4, inputs=[
        InputImage("image", image, DataKind.plate, source_sha256="9" * 64),
        InputImage("reference", hero, DataKind.reference)]), session)
    sent = double.requests[0]
    assert sent.json["taskType"] == "IMAGE_VARIATION"
    params = sent.json["imageVariationParams"]
    assert params["text"] == "night, wet street" and len(params["images"]) == 2
    assert decoded(params["images"][1]).size == (320, 320)  # the reference second
    assert [a.kind for a in audit.records[0]["assets"]] == [DataKind.plate, DataKind.reference]
    assert audit.records[0]["assets"][0].source_sha256 == "9" * 64
    with Image.open(out.files[0]) as result:
        assert result.size == (250, 180)  # the size of the image edited
    assert "IMAGE_VARIATION of the image (first) and 1 reference(s)" in out.reproduce["image_edit"]

"""The `openai` adapter against a local OpenAI Images API (servers/openai.py) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from live import LiveServer, free_port
from PIL import Image, PngImagePlugin
from servers.openai import NO_KEY, OpenAIDouble

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
from shotbridge_backend.providers.openai import (
    FILL_PROMPT,
    OpenAIProvider,
    free_size,
    free_size_valid,
    model_spec,
    nearest_size,
)
from shotbridge_backend.providers.session import PolicyRefused

KEY = "sk-test-SECRETkey0123456789Zq9X"
WRONG = "sk-wrong-NOTTHEKEY98765432Wv7T"


@pytest.fixture
def double():
    d = OpenAIDouble(api_key=KEY)
    with LiveServer(d.app) as server:
        d.url = server.url
        yield d
        d.release()  # end any hang so the server can stop


def adapter_for(double: OpenAIDouble, key: str | None = KEY, **config) -> OpenAIProvider:
    adapter = OpenAIProvider("openai-test", {"url": double.url, "backoff": 0.01, "timeout": 10, **config})
    adapter.secrets = {"api_key": key} if key else {}
    return adapter


# -- inputs ----------------------------------------------------------------------------------------------------


def gradient(w: int, h: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 255 // max(1, w - 1)), (y * 255 // max(1, h - 1)), (x + y) % 256], axis=-1).astype(np.uint8)


def write_png(path: Path, pixels: np.ndarray, text: dict[str, str] | None = None) -> Path:
    info = PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    Image.fromarray(pixels).save(path, "PNG", pnginfo=info)
    return path


def write_mask(path: Path, w: int, h: int, box: tuple[int, int, int, int]) -> tuple[Path, np.ndarray]:
    """ShotBridge's convention: white = fill. box = left, top, right, bottom."""
    grey = np.zeros((h, w), dtype=np.uint8)
    left, top, right, bottom = box
    grey[top:bottom, left:right] = 255
    Image.fromarray(grey, "L").save(path)
    return path, grey


def write_jpeg_with_gps(path: Path, pixels: np.ndarray) -> Path:
    exif = Image.Exif()
    exif[0x010F] = "SecretStudioCam"  # Make
    exif[0x013B] = "Jane Artist"  # Artist
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0)})
    Image.fromarray(pixels).save(path, "JPEG", quality=95, exif=exif.tobytes())
    assert b"SecretStudioCam" in path.read_bytes()  # the test input really carries EXIF
    assert Image.open(path).getexif().get_ifd(0x8825)
    return path


def pixels_of(data: bytes, mode: str = "RGB") -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert(mode))


def assert_clean_upload(upload, forbidden_names: list[str]) -> None:
    assert b"Exif" not in upload.data and b"SecretStudioCam" not in upload.data and b"Jane Artist" not in upload.data
    img = Image.open(io.BytesIO(upload.data))
    assert not img.getexif(), "EXIF survived the upload"
    assert not img.getexif().get_ifd(0x8825), "GPS survived the upload"
    assert not {k for k in img.info if k not in ("dpi", "jfif", "jfif_version", "jfif_unit", "jfif_density")}
    for name in forbidden_names:
        assert name not in (upload.filename or "")


# -- text to image ---------------------------------------------------------------------------------------------


def test_text_to_image_goes_to_generations_and_returns_the_served_pngs(double, make_session):
    adapter = adapter_for(double, quality="low", moderation="low")
    session, recorder = make_session(adapter)
    gen = adapter.generate(GenerationRequest(Task.text_to_image, prompt="a lighthouse at dusk", width=1024,
                                             height=1024, count=2), session)

    [req] = double.image_requests
    assert req.path == "/v1/images/generations" and req.status == 200
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["content-type"] == "application/json"
    assert req.json == {"model": "gpt-image-1", "prompt": "a lighthouse at dusk", "size": "1024x1024",
                        "quality": "low", "output_format": "png", "moderation": "low", "n": 2}
    assert [p.read_bytes() for p in gen.files] == req.served and len(req.served) == 2
    assert [Image.open(p).size for p in gen.files] == [(1024, 1024)] * 2
    assert gen.media_type == "image/png" and gen.model == "gpt-image-1" and gen.seed is None
    assert gen.reproduce["request_ids"] == [req.request_id]
    assert gen.reproduce["usage"][0]["output_tokens"] == 2 * 272  # low quality, square
    assert "size_requested" not in gen.reproduce and "seed" in gen.reproduce["seed_note"]

    [record] = recorder.records
    assert (record["method"], record["url"], record["status"], record["outcome"]) == (
        "POST", f"{double.url}/v1/images/generations", 200, "ok")
    assert record["data"] == [DataKind.prompt] and record["assets"] == []
    assert record["bytes_sent"] == len(req.body)
    assert session.events[-1][0] == 1.0


@pytest.mark.parametrize(("model", "w", "h", "sent"), [
    ("gpt-image-1", 1920, 1080, "1536x1024"),
    ("gpt-image-1", 1080, 1920, "1024x1536"),
    ("dall-e-3", 1920, 1080, "1792x1024"),
    ("dall-e-2", 300, 200, "256x256"),
    ("gpt-image-2", 1920, 1080, "1920x1088"),
])
def test_sizes_are_mapped_to_ones_the_model_accepts_and_reproduce_says_so(double, make_session, model, w, h, sent):
    adapter = adapter_for(double, model=model)
    session, _ = make_session(adapter)
    gen = adapter.generate(GenerationRequest(Task.text_to_image, prompt="a quiet harbour", width=w, height=h), session)
    [req] = double.image_requests
    assert req.status == 200 and req.json["size"] == sent  # the double accepted it, as the real API would
    assert Image.open(gen.files[0]).size == tuple(map(int, sent.split("x")))
    assert gen.reproduce["size"] == sent and gen.reproduce["size_requested"] == f"{w}x{h}"
    assert "nearest" in gen.reproduce["size_note"]


def test_gpt_image_2_free_sizes_always_satisfy_the_published_limits():
    for w in (16, 100, 320, 1000, 1920, 2048, 4096, 8000, 12000):
        for h in (16, 90, 180, 1080, 2160, 5000, 12000):
            size = free_size(w, h)
            assert free_size_valid(*size), (w, h, size)
    assert free_size(1536, 864) == (1536, 864)  # an already valid size is kept
    assert nearest_size(model_spec("gpt-image-1"), 2000, 2000) == "1024x1024"


def test_dalle_url_answers_are_downloaded_through_the_session_without_the_key(double, make_session):
    adapter = adapter_for(double, model="dall-e-3", response_format="url", style="natural", quality="hd")
    session, recorder = make_session(adapter)
    gen = adapter.generate(GenerationRequest(Task.text_to_image, prompt="a red kite"), session)

    post, get = double.received
    assert post.json == {"model": "dall-e-3", "prompt": "a red kite", "size": "1024x1024", "quality": "hd",
                         "response_format": "url", "style": "natural", "n": 1}
    assert get.method == "GET" and get.path.startswith("/files/") and get.status == 200
    assert "authorization" not in get.headers  # the key never goes to the storage host
    assert gen.files[0].read_bytes() == post.served[0]
    assert gen.reproduce["revised_prompts"] == ["A detailed rendering: a red kite"]
    assert [(r["method"], r["status"], r["data"], r["assets"]) for r in recorder.records] == [
        ("POST", 200, [DataKind.prompt], []), ("GET", 200, [], [])]


def test_dalle_3_count_is_split_into_single_image_requests(double, make_session):
    adapter = adapter_for(double, model="dall-e-3")
    session, recorder = make_session(adapter)
    gen = adapter.generate(GenerationRequest(Task.text_to_image, prompt="three birds", count=3), session)
    assert [r.json["n"] for r in double.image_requests] == [1, 1, 1]
    assert [r.json["response_format"] for r in double.image_requests] == ["b64_json"] * 3
    assert [p.read_bytes() for p in gen.files] == [r.served[0] for r in double.image_requests]
    assert len(recorder.records) == 3


def test_references_are_sent_as_image_array_cleaned_and_audited(double, make_session, tmp_path):
    adapter = adapter_for(double)
    assert adapter.accepts_references and adapter.describe(["generate"]).accepts_references
    hero = write_jpeg_with_gps(tmp_path / "hero_closeup_secret_project.jpg", gradient(96, 128))
    side = write_png(tmp_path / "hero_profile_secret_project.png", gradient(64, 64)[::-1].copy(),
                     text={"Author": "Jane Artist", "Comment": "SecretStudioCam"})
    refs = [InputImage("reference", hero, DataKind.reference, "a" * 64),
            InputImage("reference", side, DataKind.reference, "b" * 64)]
    session, recorder = make_session(adapter)
    gen = adapter.generate(GenerationRequest(Task.text_to_image, prompt="Mara walks through rain", inputs=refs,
                                             width=1024, height=1536, options={"moderation": "low"}), session)

    [req] = double.image_requests
    assert req.path == "/v1/images/edits" and req.status == 200
    assert [u.field for u in req.uploads] == ["image[]", "image[]"]  # no `image`, no `mask`
    assert [u.content_type for u in req.uploads] == ["image/jpeg", "image/png"]
    assert req.value("model") == "gpt-image-1" and req.value("size") == "1024x1536" and req.value("n") == "1"
    assert req.value("prompt") == "Mara walks through rain" and req.value("input_fidelity") == "high"
    assert "moderation" not in req.fields  # the edits endpoint has no such parameter: left out, and said so
    assert gen.reproduce["ignored_options"] == ["moderation (the edits endpoint does not take it)"]
    for upload in req.uploads:
        assert_clean_upload(upload, ["hero", "secret", "profile"])
        assert upload.filename.startswith("reference_")
    # the pixels themselves arrive untouched
    assert np.array_equal(pixels_of(req.uploads[1].data), gradient(64, 64)[::-1])

    [record] = recorder.records
    assert set(record["data"]) == {DataKind.prompt, DataKind.reference}
    assert [(a.sha256, a.size, a.role, a.kind) for a in record["assets"]] == [
        (hashlib.sha256(u.data).hexdigest(), len(u.data), "reference", DataKind.reference) for u in req.uploads]
    assert "EXIF+GPS" in record["assets"][0].stripped and record["assets"][0].source_sha256 == "a" * 64
    assert record["bytes_sent"] == len(req.body)
    assert gen.files[0].read_bytes() == req.served[0]
    assert gen.reproduce["references"] == [a.sha256 for a in record["assets"]]


def test_models_without_references_or_edits_say_so_and_send_nothing(double, make_session, tmp_path):
    adapter = adapter_for(double, model="dall-e-3")
    assert not adapter.accepts_references and not adapter.supports(Task.inpaint)
    assert adapter.supports(Task.text_to_image) and not adapter.supports(Task.remove_background)
    ref = write_png(tmp_path / "ref.png", gradient(32, 32))
    session, recorder = make_session(adapter)
    with pytest.raises(ProviderError, match="takes no reference images"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x",
                                           inputs=[InputImage("reference", ref, DataKind.reference)]), session)
    with pytest.raises(ProviderError, match="cannot edit images"):
        adapter.generate(GenerationRequest(Task.inpaint, inputs=[InputImage("image", ref, DataKind.plate),
                                                                 InputImage("mask", ref, DataKind.mask)]), session)
    with pytest.raises(ProviderError, match="cannot image_to_video"):
        adapter.generate(GenerationRequest(Task.image_to_video, prompt="x"), session)
    assert double.received == [] and recorder.records == []


# -- inpainting ------------------------------------------------------------------------------------------------


def test_inpaint_mask_is_transparent_where_shotbridge_mask_is_white(double, make_session, tmp_path):
    adapter = adapter_for(double, keep_unmasked=False)  # look at OpenAI's own result, not ShotBridge's composite
    plate = gradient(1024, 1024)
    plate_path = write_png(tmp_path / "plate.png", plate)
    mask_path, grey = write_mask(tmp_path / "mask.png", 1024, 1024, (300, 200, 700, 400))
    session, recorder = make_session(adapter)
    gen = adapter.generate(GenerationRequest(Task.inpaint, prompt="a red door", inputs=[
        InputImage("image", plate_path, DataKind.plate), InputImage("mask", mask_path, DataKind.mask)]), session)

    [req] = double.image_requests
    assert req.path == "/v1/images/edits" and req.status == 200
    assert [(u.field, u.content_type) for u in req.uploads] == [("image", "image/png"), ("mask", "image/png")]
    sent_image, sent_mask = (Image.open(io.BytesIO(u.data)) for u in req.uploads)
    assert sent_image.size == sent_mask.size == (1024, 1024) and sent_mask.mode == "RGBA"
    assert np.array_equal(np.asarray(sent_image.convert("RGB")), plate)  # native size: no resampling
    alpha = np.asarray(sent_mask)[..., 3]
    assert np.array_equal(alpha, np.where(grey == 255, 0, 255))  # transparent = fill, opaque = keep
    assert not np.asarray(sent_mask)[..., :3].any()  # the mask carries no picture of the plate
    assert req.value("prompt") == "a red door" and req.value("size") == "1024x1024" and req.value("n") == "1"

    out = np.asarray(Image.open(gen.files[0]).convert("RGB"))
    inside = grey == 255
    assert out.shape == plate.shape
    assert np.array_equal(out[~inside], plate[~inside])  # outside the mask: unchanged
    changed = np.abs(out[inside].astype(int) - plate[inside].astype(int)).sum(axis=-1) > 0
    assert changed.mean() > 0.9  # inside: painted anew

    [record] = recorder.records
    assert [(a.role, a.kind) for a in record["assets"]] == [("image", DataKind.plate), ("mask", DataKind.mask)]
    assert [a.sha256 for a in record["assets"]] == [hashlib.sha256(u.data).hexdigest() for u in req.uploads]
    assert set(record["data"]) == {DataKind.prompt, DataKind.plate, DataKind.mask}


def test_inpaint_letterboxes_an_odd_plate_and_returns_it_at_its_own_size(double, make_session, tmp_path):
    adapter = adapter_for(double)
    plate_path = write_jpeg_with_gps(tmp_path / "secret_show_plate_0042.jpg", gradient(320, 180))
    plate = np.asarray(Image.open(plate_path).convert("RGB"))  # the decoded JPEG is the reference
    mask_path, grey = write_mask(tmp_path / "secret_show_mask_0042.png", 320, 180, (100, 50, 200, 100))
    session, recorder = make_session(adapter)
    gen = adapter.generate(GenerationRequest(Task.inpaint, inputs=[
        InputImage("image", plate_path, DataKind.plate), InputImage("mask", mask_path, DataKind.mask)]), session)

    [req] = double.image_requests
    assert req.value("size") == "1536x1024" and req.value("prompt") == FILL_PROMPT
    sent_image, sent_mask = (Image.open(io.BytesIO(u.data)) for u in req.uploads)
    assert sent_image.format == sent_mask.format == "PNG" and sent_image.size == sent_mask.size == (1536, 1024)
    alpha = np.asarray(sent_mask)[..., 3]
    assert (alpha[:80] == 255).all() and (alpha[944:] == 255).all()  # the padding is kept, not filled
    assert (alpha[80 + 50 * 48 // 10 + 5, 100 * 48 // 10 + 5] == 0)  # inside the scaled fill area
    for upload in req.uploads:
        assert_clean_upload(upload, ["secret", "plate", "0042"])
    assert set(recorder.records[0]["data"]) == {DataKind.plate, DataKind.mask}  # no artist prompt was sent

    out = np.asarray(Image.open(gen.files[0]).convert("RGB"))
    inside = grey == 255
    assert out.shape == (180, 320, 3)
    assert np.array_equal(out[~inside], plate[~inside])  # keep_unmasked: the plate's own pixels
    assert np.abs(out[inside].astype(int) - plate[inside].astype(int)).mean() > 10
    assert gen.reproduce["fit"] == {"canvas": "1536x1024", "box": [0, 80, 1536, 944]}
    assert "scaled and padded" in gen.reproduce["size_note"]


def test_inpaint_with_dall_e_2_sends_a_square_rgba_png(double, make_session, tmp_path):
    adapter = adapter_for(double, model="dall-e-2")
    plate_path = write_png(tmp_path / "plate.png", gradient(200, 120))
    mask_path, grey = write_mask(tmp_path / "mask.png", 200, 120, (20, 20, 80, 60))
    session, _ = make_session(adapter)
    gen = adapter.generate(GenerationRequest(Task.inpaint, prompt="a window", inputs=[
        InputImage("image", plate_path, DataKind.plate), InputImage("mask", mask_path, DataKind.mask)]), session)
    [req] = double.image_requests
    assert req.status == 200 and req.value("size") == "256x256" and req.value("response_format") == "b64_json"
    assert "input_fidelity" not in req.fields and "output_format" not in req.fields
    assert Image.open(io.BytesIO(req.uploads[0].data)).mode == "RGBA"
    out = np.asarray(Image.open(gen.files[0]).convert("RGB"))
    assert out.shape == (120, 200, 3)
    assert np.array_equal(out[grey == 0], gradient(200, 120)[grey == 0])


# -- retries, timeouts, cancel ---------------------------------------------------------------------------------


def test_throttling_is_retried_honouring_retry_after(double, make_session):
    double.throttle(2, retry_after="1")
    adapter = adapter_for(double, model="dall-e-2")
    session, recorder = make_session(adapter)
    gen = adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=256, height=256), session)
    reqs = double.image_requests
    assert [r.status for r in reqs] == [429, 429, 200]
    gaps = [b.at - a.at for a, b in zip(reqs, reqs[1:], strict=False)]
    assert all(gap >= 0.95 for gap in gaps), gaps  # backoff alone (0.01 s) would not wait this long
    assert [r["status"] for r in recorder.records] == [429, 429, 200]
    assert gen.files[0].read_bytes() == reqs[-1].served[0]


def test_server_errors_are_retried_with_growing_backoff(double, make_session):
    double.fail(2, status=500)
    adapter = adapter_for(double, model="dall-e-2", backoff=0.05)
    session, _ = make_session(adapter)
    adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog", width=256, height=256), session)
    reqs = double.image_requests
    assert [r.status for r in reqs] == [500, 500, 200]
    first, second = (b.at - a.at for a, b in zip(reqs, reqs[1:], strict=False))
    assert 0.03 <= first < second and second >= 0.07, (first, second)


def test_server_errors_that_persist_fail_with_the_providers_words(double, make_session):
    double.fail(5, status=503)
    adapter = adapter_for(double, model="dall-e-2", max_attempts=3)
    session, _ = make_session(adapter)
    with pytest.raises(ProviderUnavailable) as info:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog"), session)
    message = str(info.value)
    assert "openai-test" in message and "503" in message and "3 attempts" in message
    assert "The server had an error" in message and "server_error" in message
    assert len(double.image_requests) == 3 and len(double.faults) == 2


def test_exhausted_quota_is_reported_as_such(double, make_session):
    double.throttle(5, retry_after="0", code="insufficient_quota")
    adapter = adapter_for(double, model="dall-e-2", max_attempts=2)
    session, _ = make_session(adapter)
    with pytest.raises(ProviderUnavailable, match="out of quota") as info:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog"), session)
    assert info.value.status == 429 and info.value.code == "insufficient_quota"


def test_a_hung_provider_times_out_with_a_clear_error(double, make_session):
    double.hang(10)
    adapter = adapter_for(double, model="dall-e-2", timeout=0.5)
    session, recorder = make_session(adapter)
    start = time.monotonic()
    with pytest.raises(ProviderTimeout) as info:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog"), session)
    assert time.monotonic() - start < 3
    assert "openai-test" in str(info.value) and "did not answer" in str(info.value) and "0.5 s" in str(info.value)
    assert len(double.image_requests) == 1  # a read timeout is not retried (the image may be on its way)
    assert recorder.records[0]["outcome"] == "timeout"


def test_cancel_during_a_slow_request_closes_the_connection(double, make_session):
    double.hang(10)
    adapter = adapter_for(double, model="dall-e-2")
    cancel = threading.Event()
    session, recorder = make_session(adapter, canceled=cancel.is_set)
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(Canceled):
            adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog"), session)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 2
    assert double.disconnect_seen.wait(3), "the double never saw the client go away"
    assert double.image_requests[0].disconnected
    assert recorder.records[0]["outcome"] == "canceled"


@pytest.mark.parametrize(("model", "code"), [("gpt-image-1", "moderation_blocked"),
                                             ("dall-e-2", "content_policy_violation")])
def test_a_safety_rejection_is_one_request_and_carries_the_providers_message(double, make_session, model, code):
    double.block("forbidden")
    adapter = adapter_for(double, model=model)
    session, _ = make_session(adapter)
    with pytest.raises(ProviderError) as info:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="something forbidden"), session)
    assert not isinstance(info.value, ProviderUnavailable)
    assert info.value.status == 400 and info.value.code == code
    assert "safety system" in str(info.value) and "openai-test" in str(info.value) and code in str(info.value)
    assert "not retried" in str(info.value)
    assert len(double.image_requests) == 1


# -- validation on both sides ----------------------------------------------------------------------------------


def test_the_double_rejects_malformed_requests_like_the_real_api(double):
    auth = {"Authorization": f"Bearer {KEY}"}
    url = double.url

    def error(response: requests.Response) -> tuple[int, dict]:
        return response.status_code, response.json()["error"]

    status, err = error(requests.post(f"{url}/v1/images/generations", json={"prompt": "x"}))
    assert status == 401 and err["message"] == NO_KEY
    status, err = error(requests.post(f"{url}/v1/images/generations", headers=auth, json={"prompt": "x", "seed": 1}))
    assert (status, err["type"], err["param"], err["code"]) == (400, "invalid_request_error", "seed",
                                                               "unknown_parameter")
    status, err = error(requests.post(f"{url}/v1/images/generations", headers=auth, json={"model": "gpt-image-1"}))
    assert (status, err["param"], err["code"]) == (400, "prompt", "missing_required_parameter")
    status, err = error(requests.post(f"{url}/v1/images/generations", headers=auth,
                                      json={"model": "gpt-image-1", "prompt": "x", "size": "512x512"}))
    assert (status, err["param"], err["code"]) == (400, "size", "invalid_value") and "'1536x1024'" in err["message"]
    status, err = error(requests.post(f"{url}/v1/images/generations", headers=auth,
                                      json={"model": "dall-e-3", "prompt": "x", "n": 2}))
    assert (status, err["param"], err["code"]) == (400, "n", "integer_above_max_value")
    status, err = error(requests.post(f"{url}/v1/images/generations", headers=auth,
                                      json={"model": "gpt-image-1", "prompt": "x", "response_format": "url"}))
    assert (status, err["param"]) == (400, "response_format")

    png = io.BytesIO()
    Image.fromarray(gradient(64, 64)).save(png, "PNG")
    rgb_mask, small_mask = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (64, 64)).save(rgb_mask, "PNG")
    Image.new("RGBA", (32, 32)).save(small_mask, "PNG")
    base = [("model", "gpt-image-1"), ("prompt", "x")]
    for mask, why in ((rgb_mask, "alpha channel"), (small_mask, "does not match image size")):
        status, err = error(requests.post(f"{url}/v1/images/edits", headers=auth, data=base, files=[
            ("image", ("a.png", png.getvalue(), "image/png")), ("mask", ("m.png", mask.getvalue(), "image/png"))]))
        assert (status, err["param"]) == (400, "mask") and why in err["message"]
    status, err = error(requests.post(f"{url}/v1/images/edits", headers=auth, data=[*base, ("moderation", "low")],
                                      files=[("image", ("a.png", png.getvalue(), "image/png"))]))
    assert (status, err["param"], err["code"]) == (400, "moderation", "unknown_parameter")
    status, err = error(requests.post(f"{url}/v1/images/edits", headers=auth, data=base,
                                      files=[("image", ("a.png", png.getvalue(), "application/octet-stream"))]))
    assert status == 400 and "unsupported mimetype" in err["message"]
    assert all(r.status >= 400 for r in double.received)


def test_the_adapter_refuses_values_the_model_does_not_take_before_sending(double, make_session):
    adapter = adapter_for(double)
    session, recorder = make_session(adapter)
    with pytest.raises(ProviderError, match="quality 'hd' is not one gpt-image-1 accepts; use one of low"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", options={"quality": "hd"}), session)
    with pytest.raises(ProviderError, match="size '999x999' is not one gpt-image-1 accepts"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", options={"size": "999x999"}), session)
    with pytest.raises(ProviderError, match="needs a prompt"):
        adapter.generate(GenerationRequest(Task.text_to_image), session)
    with pytest.raises(ProviderError, match="at most 1000"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="y" * 1001, options={"model": "dall-e-2"}),
                         session)
    assert double.received == [] and recorder.records == []
    broken = adapter_for(double, quality="ultra")
    assert "quality 'ultra'" in broken.problem and broken.health() == broken.problem
    assert not broken.describe(["generate"]).available


def test_organization_and_project_headers_are_sent(double, make_session):
    adapter = adapter_for(double, model="dall-e-2", organization="org-abc123", project="proj_xyz")
    session, _ = make_session(adapter)
    adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog"), session)
    [req] = double.image_requests
    assert req.headers["openai-organization"] == "org-abc123" and req.headers["openai-project"] == "proj_xyz"


def test_access_errors_name_the_cause(double, make_session):
    double.deny("gpt-image-1")
    adapter = adapter_for(double)
    session, _ = make_session(adapter)
    with pytest.raises(ProviderUnavailable, match="403") as info:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x"), session)
    assert "organization must be verified" in str(info.value)
    unknown = adapter_for(double, model="gpt-image-9")
    session, _ = make_session(unknown)
    with pytest.raises(ProviderError, match="404") as info:
        unknown.generate(GenerationRequest(Task.text_to_image, prompt="x"), session)
    assert "model_not_found" in str(info.value) and "gpt-image-9" in str(info.value)


# -- secrets, health, policy -----------------------------------------------------------------------------------


def test_the_api_key_never_appears_in_audit_describe_errors_or_logs(double, make_session, caplog):
    caplog.set_level(logging.DEBUG)
    double.throttle(1, retry_after="0")
    adapter = adapter_for(double, model="dall-e-2")
    session, recorder = make_session(adapter)
    adapter.generate(GenerationRequest(Task.text_to_image, prompt="fog"), session)
    assert adapter.health() == ""

    wrong = adapter_for(double, key=WRONG, model="dall-e-2")
    wrong_session, wrong_recorder = make_session(wrong)
    with pytest.raises(ProviderUnavailable, match="refused the API key") as info:
        wrong.generate(GenerationRequest(Task.text_to_image, prompt="fog"), wrong_session)
    health = wrong.health()
    assert "API key was refused" in health
    # the double did quote the key back (masked), as OpenAI does; none of it may come through
    assert double.image_requests[-1].status == 401 and double.image_requests[-1].headers["authorization"].endswith(WRONG)

    everything = "\n".join([caplog.text, repr(recorder.records), repr(wrong_recorder.records), str(info.value),
                            health, adapter.describe(["generate"]).model_dump_json(),
                            wrong.describe(["generate"]).model_dump_json(), json.dumps(adapter.config)])
    for secret in (KEY, WRONG, KEY[-4:] + ".", WRONG[:8] + "*", "Zq9X", "Wv7T"):
        assert secret not in everything, secret
    assert "retrying" in caplog.text  # the logs were captured (the retry was logged)


def test_a_missing_key_makes_the_provider_unavailable_with_a_reason(double, make_session, monkeypatch):
    adapter = adapter_for(double, key=None)
    assert "api_key" in adapter.health() and "providers.toml" in adapter.health()
    session, recorder = make_session(adapter)
    with pytest.raises(ProviderUnavailable, match="no OpenAI API key"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x"), session)
    assert double.received == [] and recorder.records == []

    monkeypatch.delenv("SB_TEST_OPENAI_KEY", raising=False)
    entry = {"type": "openai", "api_key": "env:SB_TEST_OPENAI_KEY", "url": double.url}
    missing = registry.build("studio-openai", entry)
    assert "SB_TEST_OPENAI_KEY" in missing.problem and not missing.describe(["generate"]).available
    monkeypatch.setenv("SB_TEST_OPENAI_KEY", KEY)
    built = registry.build("studio-openai", {**entry, "retention_days": 0})
    assert built.secrets == {"api_key": KEY} and built.config["api_key"] == "env:SB_TEST_OPENAI_KEY"
    assert built.problem == "" and built.health() == ""
    described = built.describe(["generate"])
    assert (described.type, described.kind.value, described.trains_on_inputs, described.retention_days,
            described.data_location) == ("openai", "cloud", False, 0, "us")
    assert OpenAIProvider.facts.retention_days == 30
    assert KEY not in described.model_dump_json()


def test_health_checks_the_key_and_model_without_sending_studio_data(double):
    assert adapter_for(double).health() == ""
    [req] = double.received
    assert (req.method, req.path, req.body) == ("GET", "/v1/models/gpt-image-1", b"")
    assert "model gpt-image-9 is not available" in adapter_for(double, model="gpt-image-9").health()
    double.deny("gpt-image-1.5")
    assert "no access to gpt-image-1.5 (403)" in adapter_for(double, model="gpt-image-1.5").health()
    unreachable = OpenAIProvider("x", {"url": f"http://127.0.0.1:{free_port()}", "health_timeout": 1})
    unreachable.secrets = {"api_key": KEY}
    assert "cannot be reached" in unreachable.health()


def test_a_refusing_policy_gate_means_no_request_at_all(double, make_session, tmp_path):
    def refuse(kinds):
        raise PolicyRefused(PolicyDecision(provider="openai-test", allowed=False, rule="no-grant",
                                           detail="project 'x' does not let openai-test receive plates"))

    plate = write_png(tmp_path / "plate.png", gradient(64, 64))
    mask, _ = write_mask(tmp_path / "mask.png", 64, 64, (10, 10, 20, 20))
    requests_ = [
        GenerationRequest(Task.text_to_image, prompt="x"),
        GenerationRequest(Task.text_to_image, prompt="x", inputs=[InputImage("reference", plate, DataKind.reference)]),
        GenerationRequest(Task.inpaint, inputs=[InputImage("image", plate, DataKind.plate),
                                                InputImage("mask", mask, DataKind.mask)]),
    ]
    adapter = adapter_for(double)
    for request in requests_:
        session, recorder = make_session(adapter, gate=refuse)
        with pytest.raises(PolicyRefused):
            adapter.generate(request, session)
        assert recorder.records == []
    assert double.received == []


# -- estimate --------------------------------------------------------------------------------------------------


def test_estimates_use_the_published_per_image_prices(tmp_path):
    def estimate(model: str, request: GenerationRequest, **config):
        return OpenAIProvider("o", {"model": model, **config}).estimate(request)

    t2i = Task.text_to_image
    high = estimate("gpt-image-1", GenerationRequest(t2i, prompt="x", count=2), quality="high")
    assert (high.amount, high.unit) == (0.334, "USD") and "developers.openai.com" in high.note
    auto = estimate("gpt-image-1", GenerationRequest(t2i, prompt="x", width=1920, height=1080))
    assert auto.amount == 0.25 and "upper bound" in auto.note
    assert estimate("gpt-image-1-mini", GenerationRequest(t2i, prompt="x", width=1024, height=1536, count=3),
                    quality="low").amount == 0.018
    assert estimate("dall-e-3", GenerationRequest(t2i, prompt="x", width=1920, height=1080),
                    quality="hd").amount == 0.12
    assert estimate("dall-e-2", GenerationRequest(t2i, prompt="x", width=200, height=200)).amount == 0.016
    plate = write_png(tmp_path / "plate.png", gradient(320, 180))
    inpaint = estimate("gpt-image-1", GenerationRequest(Task.inpaint, inputs=[
        InputImage("image", plate, DataKind.plate), InputImage("mask", plate, DataKind.mask)]), quality="medium")
    assert inpaint.amount == 0.063 and "1536x1024" in inpaint.note and "1 input image" in inpaint.note
    free = estimate("gpt-image-2", GenerationRequest(t2i, prompt="x", width=2048, height=2048), quality="medium")
    assert free.amount == round(0.053 * 4, 4) and "approximation" in free.note
    unknown = estimate("chatgpt-image-latest", GenerationRequest(t2i, prompt="x"))
    assert unknown.amount == 0.0 and "no published per-image price" in unknown.note


# -- image_edit ------------------------------------------------------------------------------------------------


def test_image_edit_sends_the_image_then_the_references_and_returns_the_image_size(double, make_session, tmp_path):
    adapter = adapter_for(double)
    assert adapter.supports(Task.image_edit) and not adapter_for(double, model="dall-e-2").supports(Task.image_edit)
    plate = write_png(tmp_path / "plate.png", gradient(200, 90))
    hero = write_png(tmp_path / "hero.png", gradient(64, 64)[::-1].copy())
    session, recorder = make_session(adapter)
    gen = adapter.generate(GenerationRequest(Task.image_edit, prompt="night, wet street", inputs=[
        InputImage("image", plate, DataKind.plate, "c" * 64), InputImage("reference", hero, DataKind.reference)]),
        session)

    [req] = double.image_requests
    assert req.path == "/v1/images/edits" and req.status == 200
    assert [u.field for u in req.uploads] == ["image[]", "image[]"] and "mask" not in req.fields
    assert np.array_equal(pixels_of(req.uploads[0].data), gradient(200, 90))  # the image first, untouched
    assert req.value("prompt") == "night, wet street" and req.value("size") == "1536x1024" and req.value("n") == "1"
    with Image.open(gen.files[0]) as out:
        assert out.size == (200, 90)  # the size of the image edited, not the model's
    assert "the image first in image[], then 1 reference(s)" in gen.reproduce["image_edit"]
    [record] = recorder.records
    assert {a.kind for a in record["assets"]} == {DataKind.plate, DataKind.reference}
    assert set(record["data"]) == {DataKind.prompt, DataKind.plate, DataKind.reference}
    with pytest.raises(ProviderError, match="needs exactly one image"):
        adapter.generate(GenerationRequest(Task.image_edit, prompt="x", inputs=[
            InputImage("reference", hero, DataKind.reference)]), make_session(adapter)[0])

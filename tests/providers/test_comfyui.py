"""The comfyui adapter against a faithful ComfyUI double (tests/providers/servers/comfyui.py) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
from PIL import Image, PngImagePlugin
from servers.comfyui import FakeComfyUI

from shotbridge.models import DataKind, PolicyDecision
from shotbridge_backend.operations.base import Canceled
from shotbridge_backend.providers import registry
from shotbridge_backend.providers.base import (
    FIRST_FRAME,
    IMAGE,
    LAST_FRAME,
    MASK,
    REFERENCE,
    GenerationRequest,
    InputImage,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    Task,
)
from shotbridge_backend.providers.comfyui import WORKFLOWS, ComfyUIProvider, workflow_hash
from shotbridge_backend.providers.session import PolicyRefused


def provider(fake: FakeComfyUI, **config) -> ComfyUIProvider:
    return ComfyUIProvider("gpu", {"url": fake.url, "backoff": 0.01, "timeout": 5, "poll_interval": 0.05, **config})


def picture(path: Path, pixels: np.ndarray, **save) -> Path:
    Image.fromarray(pixels).save(path, **save)
    return path


def smooth(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = (rng.random((3, 3, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.BILINEAR))


def solid(w: int, h: int, rgb: tuple[int, int, int]) -> np.ndarray:
    return np.full((h, w, 3), rgb, np.uint8)


def pixels(path: Path, mode: str = "RGB") -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert(mode)).astype(np.int32)


def posted_prompts(fake: FakeComfyUI) -> list[dict]:
    return [r["json"] for r in fake.requests if r["path"] == "/prompt" and r["method"] == "POST"]


# -- every task, end to end ----------------------------------------------------------------------------------


def test_text_to_image_injects_the_request_and_returns_its_images(comfy, make_session):
    fake = comfy()
    adapter = provider(fake)
    session, recorder = make_session(adapter)
    request = GenerationRequest(Task.text_to_image, prompt="a lighthouse at dusk", negative_prompt="blurry",
                                width=60, height=44, seed=1234, count=2)
    out = adapter.generate(request, session)

    (body,) = posted_prompts(fake)
    graph = body["prompt"]
    assert graph["6"]["inputs"]["text"] == "a lighthouse at dusk"
    assert graph["7"]["inputs"]["text"] == "blurry"
    assert graph["3"]["inputs"]["seed"] == 1234
    assert graph["5"]["inputs"] == {"width": 64, "height": 48, "batch_size": 2}  # rounded up to the latent grid
    assert graph["4"]["inputs"]["ckpt_name"] == "v1-5-pruned-emaonly-fp16.safetensors"
    # the WebSocket was opened (with the same client id) before the prompt was queued
    ws = next(i for i, r in enumerate(fake.requests) if r["path"] == "/ws")
    queued = next(i for i, r in enumerate(fake.requests) if r["path"] == "/prompt")
    assert ws < queued and fake.requests[ws]["query"]["clientId"] == body["client_id"]

    assert len(out.files) == 2 and out.media_type == "image/png"
    assert [Image.open(f).size for f in out.files] == [(60, 44), (60, 44)]  # cropped back to the request
    first, second = pixels(out.files[0]), pixels(out.files[1])
    assert np.abs(first - second).mean() > 5  # two samples, not one image twice
    assert out.seed == 1234 and out.model == "v1-5-pruned-emaonly-fp16.safetensors"
    assert out.reproduce["template"] == "text_to_image"
    assert out.reproduce["workflow_hash"] == workflow_hash(graph)
    assert out.reproduce["prompt_id"] == body["prompt_id"] and body["prompt_id"] in fake.history
    assert out.reproduce["workflow"] == graph
    fractions = [f for f, _ in session.events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 3

    other = adapter.generate(GenerationRequest(Task.text_to_image, prompt="a forest at noon", width=60, height=44,
                                               seed=1234), make_session(adapter)[0])
    assert np.abs(pixels(other.files[0]) - first).mean() > 5  # the prompt reached the sampler


def test_a_seed_is_chosen_and_reported_when_none_is_given(comfy, make_session):
    fake = comfy()
    adapter = provider(fake)
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32),
                           make_session(adapter)[0])
    (body,) = posted_prompts(fake)
    assert isinstance(out.seed, int) and body["prompt"]["3"]["inputs"]["seed"] == out.seed


def test_count_without_a_batch_point_runs_one_prompt_per_image(comfy, make_session, tmp_path):
    fake = comfy()
    folder = tmp_path / "wf"
    folder.mkdir()
    doc = json.loads((WORKFLOWS / "text_to_image.json").read_text())
    del doc["inputs"]["count"]
    (folder / "text_to_image.json").write_text(json.dumps(doc))
    adapter = provider(fake, workflows=str(folder))
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32, seed=7, count=3),
                           make_session(adapter)[0])
    seeds = [b["prompt"]["3"]["inputs"]["seed"] for b in posted_prompts(fake)]
    assert seeds == [7, 8, 9] and len(out.files) == 3
    assert [r["seed"] for r in out.reproduce["runs"]] == [7, 8, 9]


def test_character_references_never_fall_back_to_img2img_or_to_no_references(comfy, make_session, tmp_path):
    """Identity comes from a reference-editing model (Qwen-Image-Edit, Flux Kontext), never from an img2img of
    the first reference: a server that can run neither refuses the request, naming what is missing."""
    fake = comfy(missing=("TextEncodeQwenImageEditPlus", "FluxKontextMultiReferenceLatentMethod"))
    adapter = provider(fake)
    red = picture(tmp_path / "bible.png", solid(40, 40, (250, 10, 10)))
    request = GenerationRequest(Task.text_to_image, prompt="the hero", width=32, height=32, seed=5,
                                inputs=[InputImage(REFERENCE, red, DataKind.reference)])
    with pytest.raises(ProviderUnavailable) as err:
        adapter.generate(request, make_session(adapter)[0])
    assert "TextEncodeQwenImageEditPlus" in str(err.value) and "FluxKontextMultiReferenceLatentMethod" in str(err.value)
    assert not fake.uploads and not posted_prompts(fake)  # nothing was sent
    # a prompt alone still runs on the plain text_to_image template
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="a street", width=32, height=32, seed=5),
                           make_session(adapter)[0])
    assert out.reproduce["template"] == "text_to_image"

def test_inpaint_fills_the_mask_and_keeps_every_other_pixel(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    plate = picture(tmp_path / "plate.png", smooth(52, 36, 1))  # not a multiple of 8: ComfyUI crops latents
    m = np.zeros((36, 52), np.uint8)
    m[10:24, 16:34] = 255
    mask = picture(tmp_path / "mask.png", m)
    request = GenerationRequest(Task.inpaint, prompt="remove the boom mic", seed=3,
                                inputs=[InputImage(IMAGE, plate, DataKind.plate), InputImage(MASK, mask, DataKind.mask)])
    out = adapter.generate(request, make_session(adapter)[0])

    (result,) = out.files
    got, original = pixels(result), pixels(plate)
    assert got.shape == original.shape
    outside = m == 0
    assert np.array_equal(got[outside], original[outside])
    assert np.abs(got[~outside] - original[~outside]).mean() > 10
    graph = posted_prompts(fake)[0]["prompt"]
    assert graph["6"]["inputs"]["text"] == "remove the boom mic"
    assert {graph["10"]["inputs"]["image"], graph["11"]["inputs"]["image"]} == {u["filename"] for u in fake.uploads}


def test_remove_background_returns_a_grey_matte_the_size_of_the_input(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    img = solid(45, 33, (40, 90, 40))
    yy, xx = np.mgrid[:33, :45]
    disc = (yy - 16) ** 2 + (xx - 22) ** 2 < 81
    img[disc] = (240, 220, 200)
    source = picture(tmp_path / "actor.png", img)
    out = adapter.generate(GenerationRequest(Task.remove_background, inputs=[InputImage(IMAGE, source, DataKind.plate)]),
                           make_session(adapter)[0])

    (matte,) = out.files
    with Image.open(matte) as m:
        assert m.mode == "L" and m.size == (45, 33)
        values = np.asarray(m)
    assert (values[disc] == 255).all() and (values[~disc] == 0).all()
    assert out.model == "u2net: general purpose"
    graph = posted_prompts(fake)[0]["prompt"]
    assert graph["20"]["inputs"] == {"model": "u2net: general purpose", "providers": "CUDA"}


def test_image_to_video_between_a_first_and_a_last_frame(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    first = picture(tmp_path / "a.png", solid(64, 36, (230, 20, 20)))
    last = picture(tmp_path / "b.png", solid(64, 36, (20, 20, 230)))
    # the WanFirstLastFrameToVideo template by name: unnamed, both frames go to Wan VACE's (test_shot_edits.py)
    request = GenerationRequest(Task.image_to_video, prompt="she turns", frames=10, fps=24, width=40, height=24,
                                seed=9, inputs=[InputImage(FIRST_FRAME, first, DataKind.plate),
                                                InputImage(LAST_FRAME, last, DataKind.plate)],
                                options={"template": "image_to_video"})
    out = adapter.generate(request, make_session(adapter)[0])

    graph = posted_prompts(fake)[0]["prompt"]
    assert {k: graph["50"]["inputs"][k] for k in ("width", "height", "length")} == \
        {"width": 48, "height": 32, "length": 13}  # 16-px grid, Wan's 4k+1 frames
    assert out.reproduce["frames_generated"] == 13 and out.media_type == "image/png"
    assert out.model == "wan2.1_flf2v_720p_14B_fp16.safetensors"
    assert len(out.files) == 10 and {Image.open(f).size for f in out.files} == {(40, 24)}
    frames = [pixels(f).mean(axis=(0, 1)) for f in out.files]
    assert np.abs(frames[0] - (230, 20, 20)).max() < 3  # both ends as given
    assert np.abs(frames[-1] - (20, 20, 230)).max() < 3
    reds = [f[0] for f in frames]
    assert reds[0] > reds[5] > reds[-1]  # and a move from one to the other between them


def test_image_to_video_from_a_first_frame_prunes_the_last_frame_branch(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    first = picture(tmp_path / "a.png", smooth(48, 32, 4))
    out = adapter.generate(GenerationRequest(Task.image_to_video, prompt="push in", frames=5, width=48, height=32,
                                             seed=2, inputs=[InputImage(FIRST_FRAME, first, DataKind.plate)]),
                           make_session(adapter)[0])
    graph = posted_prompts(fake)[0]["prompt"]
    assert "53" not in graph and "55" not in graph  # LoadImage(last) and its CLIPVisionEncode
    assert "end_image" not in graph["50"]["inputs"] and "clip_vision_end_image" not in graph["50"]["inputs"]
    assert graph["50"]["inputs"]["start_image"] == ["52", 0]
    assert len(out.files) == 5
    assert np.abs(pixels(out.files[0]) - pixels(first)).mean() < 3


def test_a_request_with_inputs_no_template_takes_is_refused_before_sending(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    image = picture(tmp_path / "a.png", smooth(16, 16, 1))
    with pytest.raises(ProviderError, match="no remove_background template for inputs image, mask"):
        adapter.generate(GenerationRequest(Task.remove_background, inputs=[
            InputImage(IMAGE, image, DataKind.plate), InputImage(MASK, image, DataKind.mask)]),
            make_session(adapter)[0])
    assert fake.requests == []


# -- connect-time checks and templates ---------------------------------------------------------------------


def test_missing_nodes_are_named_at_connect_time_and_before_any_upload(comfy, make_session, tmp_path):
    assert provider(comfy()).health() == ""
    fake = comfy(missing=("RemBGSession+", "ImageRemoveBackground+"))
    adapter = provider(fake)
    expected = ("template remove_background needs ImageRemoveBackground+, RemBGSession+, which this ComfyUI does "
                "not have: install the custom node or register another template")
    # one template that cannot run does not make the provider unavailable: its task says why
    assert adapter.health() == ""
    assert adapter.template_problems["remove_background"] == expected
    assert adapter.task_health(Task.remove_background) == f"no remove_background template of gpu can run: {expected}"
    assert adapter.task_health(Task.inpaint) == ""
    image = picture(tmp_path / "a.png", smooth(16, 16, 1))
    with pytest.raises(ProviderUnavailable) as info:
        adapter.generate(GenerationRequest(Task.remove_background, inputs=[InputImage(IMAGE, image, DataKind.plate)]),
                         make_session(adapter)[0])
    assert expected in str(info.value)
    assert fake.paths() == ["/object_info", "/object_info"]  # health (cached), then refreshed once: no upload


@pytest.mark.parametrize("combo_style", ["classic", "v3"])
def test_models_that_are_not_installed_are_named(comfy, combo_style):
    fake = comfy(models={"checkpoints": ["juggernaut.safetensors"], "diffusion_models": [], "text_encoders": [],
                         "vae": [], "clip_vision": []}, combo_style=combo_style)
    reason = provider(fake, tasks=["text_to_image"]).health()
    assert ("ckpt_name 'v1-5-pruned-emaonly-fp16.safetensors' is not on this ComfyUI (it has: "
            "juggernaut.safetensors); set checkpoint in providers.toml") in reason
    assert provider(fake, tasks=["text_to_image", "inpaint"], checkpoint="juggernaut.safetensors").health() == ""
    video = provider(fake, tasks=["image_to_video"]).health()
    assert "unet_name 'wan2.1_flf2v_720p_14B_fp16.safetensors' is not on this ComfyUI (it has: none)" in video


def test_tasks_can_be_limited_to_what_the_server_has(comfy):
    fake = comfy(missing=("RemBGSession+", "ImageRemoveBackground+"))
    adapter = provider(fake, tasks=["text_to_image", "inpaint"])
    assert adapter.health() == ""
    assert adapter.supports(Task.inpaint) and not adapter.supports(Task.remove_background)


def test_user_templates_replace_and_add_by_name(comfy, make_session, tmp_path):
    fake = comfy(missing=("RemBGSession+", "ImageRemoveBackground+"))
    folder = tmp_path / "studio-workflows"
    folder.mkdir()
    (folder / "luma_matte.json").write_text(json.dumps({
        "name": "remove_background", "task": "remove_background", "description": "luma key",
        "inputs": {"image": {"node": "1", "input": "image", "type": "image"}},
        "outputs": ["4"],
        "prompt": {"1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
                   "2": {"class_type": "ImageToMask", "inputs": {"image": ["1", 0], "channel": "red"}},
                   "3": {"class_type": "MaskToImage", "inputs": {"mask": ["2", 0]}},
                   "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "luma"}}}}))
    sdxl = json.loads((WORKFLOWS / "text_to_image.json").read_text())
    sdxl["name"] = "text_to_image_sdxl"
    sdxl["model"] = "sdxl_checkpoint"
    sdxl["config"] = {"sdxl_checkpoint": {"node": "4", "input": "ckpt_name", "default": "sd_xl_base_1.0.safetensors"}}
    (folder / "sdxl.json").write_text(json.dumps(sdxl))
    adapter = provider(fake, workflows=str(folder))

    assert not adapter.templates["remove_background"].builtin
    assert adapter.templates["text_to_image"].builtin  # untouched built-ins stay
    assert adapter.health() == ""  # the replacement needs no custom node
    img = smooth(20, 12, 3)
    out = adapter.generate(GenerationRequest(Task.remove_background, inputs=[
        InputImage(IMAGE, picture(tmp_path / "a.png", img), DataKind.plate)]), make_session(adapter)[0])
    assert np.array_equal(pixels(out.files[0], "L"), img[..., 0])
    assert out.reproduce["template_source"] == str(folder / "luma_matte.json")

    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32, seed=1,
                                             options={"template": "text_to_image_sdxl"}), make_session(adapter)[0])
    assert posted_prompts(fake)[-1]["prompt"]["4"]["inputs"]["ckpt_name"] == "sd_xl_base_1.0.safetensors"
    assert out.model == "sd_xl_base_1.0.safetensors" and out.reproduce["template"] == "text_to_image_sdxl"


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["inputs"]["seed"].update(node="99"), "injection point 'seed' names node '99', which is not in the prompt"),
    (lambda d: d["inputs"]["width"].update(input="w"), "injection point 'width' names input 'w' of node '5'"),
    (lambda d: d["inputs"].update(colour={"node": "5", "input": "width", "type": "int"}),
     "unknown injection point 'colour'"),
    (lambda d: d["inputs"]["prompt"].update(type="int"), "injection point 'prompt' has type 'int'; it must be text"),
    (lambda d: d.update(outputs=["42"]), "output '42' is not a node in the prompt"),
    (lambda d: d["prompt"]["8"]["inputs"].update(vae=["77", 2]), "node '8' input 'vae' links to node '77'"),
])
def test_a_broken_user_template_is_reported_with_its_file_and_point(comfy, make_session, tmp_path, change, message):
    fake = comfy()
    folder = tmp_path / "wf"
    folder.mkdir()
    doc = json.loads((WORKFLOWS / "text_to_image.json").read_text())
    change(doc)
    (folder / "broken.json").write_text(json.dumps(doc))
    adapter = provider(fake, workflows=str(folder))
    assert str(folder / "broken.json") in adapter.problem and message in adapter.problem
    assert adapter.health() == adapter.problem and not adapter.describe([]).available
    with pytest.raises(ProviderUnavailable, match="broken.json"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x"), make_session(adapter)[0])
    assert fake.requests == []


def test_a_missing_url_is_a_clear_problem():
    adapter = registry.build("gpu", {"type": "comfyui"})
    assert isinstance(adapter, ComfyUIProvider)
    assert 'needs url = "http://<gpu-host>:8188"' in adapter.problem
    assert adapter.kind.value == "onprem" and adapter.facts.data_location == "studio"
    assert not adapter.facts.trains_on_inputs and adapter.facts.retention_days == 0


# -- failures ------------------------------------------------------------------------------------------------


def test_a_prompt_rejected_with_node_errors_names_the_node_input_and_message(comfy, make_session):
    fake = comfy()
    adapter = provider(fake)
    with pytest.raises(ProviderError) as info:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=20000, height=64, seed=1),
                         make_session(adapter)[0])
    assert info.value.status == 400 and info.value.code == "prompt_outputs_failed_validation"
    text = str(info.value)
    assert "gpu (ComfyUI) rejected workflow template text_to_image: Prompt outputs failed validation" in text
    assert "node 5 (EmptyLatentImage) input 'width': Value 20000 bigger than max of 16384" in text


def test_a_node_removed_after_connecting_is_rejected_then_found_at_connect_time(comfy, make_session):
    fake = comfy()
    adapter = provider(fake)
    assert adapter.health() == ""  # caches /object_info
    del fake.classes["VAEDecode"]
    with pytest.raises(ProviderError, match=r"Cannot execute because node VAEDecode does not exist\. \(Node ID '#8'\)"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32),
                         make_session(adapter)[0])
    with pytest.raises(ProviderUnavailable, match="template text_to_image needs VAEDecode"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32),
                         make_session(adapter)[0])
    assert fake.paths().count("/prompt") == 1  # the second job stopped at connect time


def test_an_execution_error_names_the_node_and_the_exception_briefly(comfy, make_session):
    fake = comfy()
    fake.fail_node("KSampler", "CUDA out of memory. Tried to allocate 2.00 GiB", "torch.OutOfMemoryError")
    adapter = provider(fake)
    with pytest.raises(ProviderError) as info:
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32),
                         make_session(adapter)[0])
    text = str(info.value)
    assert text == ("gpu (ComfyUI) failed in node 3 (KSampler) of template text_to_image: OutOfMemoryError: CUDA out "
                    "of memory. Tried to allocate 2.00 GiB")
    assert info.value.code == "execution_error"


def test_an_interrupt_from_someone_else_is_an_error_not_a_cancel(comfy, make_session):
    fake = comfy(class_seconds={"KSampler": 1.0})
    adapter = provider(fake)
    threading.Timer(0.3, lambda: requests.post(fake.url + "/interrupt", timeout=5)).start()
    with pytest.raises(ProviderError, match="interrupted on the ComfyUI server .* not by this job"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32),
                         make_session(adapter)[0])


@pytest.mark.parametrize("how", ["flag", "progress raises"])
def test_cancel_interrupts_the_running_prompt_and_deletes_it_from_the_queue(comfy, make_session, how):
    fake = comfy(class_seconds={"KSampler": 2.0})  # 20 steps of 0.1 s: the interrupt lands at the next step
    adapter = provider(fake)
    stop = threading.Event()

    def progress(fraction: float, message: str) -> None:
        if "step" in message:
            stop.set()
            if how == "progress raises":
                raise Canceled()

    session, recorder = make_session(adapter, canceled=stop.is_set, progress=progress)
    started = time.monotonic()
    with pytest.raises(Canceled):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32), session)
    assert time.monotonic() - started < 1.5
    pid = posted_prompts(fake)[0]["prompt_id"]
    posts = [(r["path"], r["json"]) for r in fake.requests if r["method"] == "POST" and r["path"] != "/prompt"]
    assert posts == [("/interrupt", {"prompt_id": pid}), ("/queue", {"delete": [pid]})]
    deadline = time.monotonic() + 3
    while pid not in fake.history and time.monotonic() < deadline:
        time.sleep(0.02)
    status = fake.history[pid]["status"]
    assert status["status_str"] == "error" and status["messages"][-1][0] == "execution_interrupted"
    assert [urlsplit(r["url"]).path for r in recorder.records][-2:] == ["/interrupt", "/queue"]


def test_cancel_of_a_pending_prompt_takes_it_out_of_the_queue(comfy, make_session):
    fake = comfy(class_seconds={"ImageInvert": 1.0})
    # someone else's job keeps the server busy
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    name = requests.post(fake.url + "/upload/image", files={"image": ("other.png", png.getvalue())}, timeout=5).json()
    blocker = {"1": {"class_type": "LoadImage", "inputs": {"image": name["name"]}},
               "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
               "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "other"}}}
    other = requests.post(fake.url + "/prompt", json={"prompt": blocker}, timeout=5).json()["prompt_id"]
    adapter = provider(fake)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(Canceled):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32),
                         make_session(adapter, canceled=stop.is_set)[0])
    pid = posted_prompts(fake)[1]["prompt_id"]
    assert {"path": "/queue", "json": {"delete": [pid]}} in [{"path": r["path"], "json": r["json"]}
                                                              for r in fake.requests]
    deadline = time.monotonic() + 3
    while other not in fake.history and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    assert fake.executed == [other] and pid not in fake.history  # ours never ran


def test_a_dropped_websocket_falls_back_to_polling_history(comfy, make_session):
    fake = comfy(class_seconds={"KSampler": 0.3})
    fake.drop_ws_on = "execution_start"
    adapter = provider(fake)
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32, seed=1),
                           make_session(adapter)[0])
    pid = posted_prompts(fake)[0]["prompt_id"]
    after_drop = fake.paths("GET")[fake.paths("GET").index("/queue") + 1:]
    assert after_drop.count("/queue") >= 3, after_drop  # polled while it ran: where it is in the queue
    assert after_drop.count(f"/history/{pid}") == 1  # and its outputs once it had left the queue
    assert Image.open(out.files[0]).size == (32, 32)


def test_a_refused_websocket_is_audited_and_the_job_polls(comfy, make_session):
    fake = comfy()
    fake.refuse_ws = True
    adapter = provider(fake)
    session, recorder = make_session(adapter)
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32), session)
    assert len(out.files) == 1
    ws = next(r for r in recorder.records if r["url"].startswith("ws://"))
    assert ws["outcome"] == "error" and ws["status"] == 403


def test_a_prompt_deleted_on_the_server_is_reported_while_polling(comfy, make_session):
    fake = comfy(class_seconds={"ImageInvert": 1.0})
    fake.refuse_ws = True
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    name = requests.post(fake.url + "/upload/image", files={"image": ("o.png", png.getvalue())}, timeout=5).json()
    requests.post(fake.url + "/prompt", timeout=5, json={"prompt": {
        "1": {"class_type": "LoadImage", "inputs": {"image": name["name"]}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "other"}}}})

    def clear() -> None:
        requests.post(fake.url + "/queue", json={"clear": True}, timeout=5)  # someone empties the queue

    threading.Timer(0.3, clear).start()
    adapter = provider(fake)
    with pytest.raises(ProviderError, match="is neither queued, running nor in the history"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32),
                         make_session(adapter)[0])


def test_an_identical_resubmission_is_cached_and_fetches_the_old_file(comfy, make_session):
    fake = comfy()
    adapter = provider(fake)
    request = GenerationRequest(Task.text_to_image, prompt="same", width=32, height=32, seed=11)
    first = adapter.generate(request, make_session(adapter)[0])
    written = dict(fake.files["output"])
    second = adapter.generate(request, make_session(adapter)[0])
    assert fake.files["output"] == written  # ComfyUI ran nothing and wrote nothing
    pid = posted_prompts(fake)[1]["prompt_id"]
    cached = dict(fake.history[pid]["status"]["messages"])["execution_cached"]["nodes"]
    assert sorted(cached) == sorted(posted_prompts(fake)[1]["prompt"])
    assert first.files[0].read_bytes() == second.files[0].read_bytes()
    assert first.reproduce["workflow_hash"] == second.reproduce["workflow_hash"]


# -- what leaves the building ----------------------------------------------------------------------------------


def test_uploads_arrive_without_metadata_or_the_original_file_name(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    img = Image.fromarray(smooth(48, 32, 8))
    exif = img.getexif()
    exif[0x010F] = "StudioCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 0.0)
    plate = tmp_path / "HERO_secret_location_v003.jpg"
    img.save(plate, "JPEG", exif=exif.tobytes(), quality=95)
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Doe, Studio X")
    m = np.zeros((32, 48), np.uint8)
    m[8:20, 10:30] = 255
    mask = tmp_path / "HERO_secret_mask.png"
    Image.fromarray(m).save(mask, pnginfo=info)
    session, recorder = make_session(adapter)
    adapter.generate(GenerationRequest(Task.inpaint, prompt="x", inputs=[
        InputImage(IMAGE, plate, DataKind.plate), InputImage(MASK, mask, DataKind.mask)]), session)

    assert len(fake.uploads) == 2
    for upload in fake.uploads:
        assert "HERO" not in upload["filename"] and "secret" not in upload["filename"]
        assert b"Exif" not in upload["data"] and b"StudioCam" not in upload["data"] and b"Jane" not in upload["data"]
        with Image.open(io.BytesIO(upload["data"])) as got:
            assert not got.getexif() and "Author" not in got.info
    everything = b"".join(r["body"] for r in fake.requests)
    assert b"HERO" not in everything and b"secret" not in everything
    uploads = [r for r in recorder.records if r["url"].endswith("/upload/image")]
    for record, upload in zip(uploads, fake.uploads, strict=True):
        (asset,) = record["assets"]
        assert asset.sha256 == hashlib.sha256(upload["data"]).hexdigest() and asset.size == len(upload["data"])
    assert {a.role: a.stripped for r in uploads for a in r["assets"]} == {"image": ["EXIF+GPS"],
                                                                          "mask": ["text:Author"]}


def test_the_audit_lists_every_request_the_server_received(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    ref = picture(tmp_path / "r.png", smooth(24, 24, 2))
    session, recorder = make_session(adapter)
    adapter.generate(GenerationRequest(Task.text_to_image, prompt="hero", width=32, height=32, count=2,
                                       inputs=[InputImage(REFERENCE, ref, DataKind.reference)]), session)
    received = [(r["method"], r["path"]) for r in fake.requests]
    audited = [(r["method"], urlsplit(r["url"]).path) for r in recorder.records]
    assert audited == received
    assert {p for _, p in received} == {"/object_info", "/upload/image", "/ws", "/prompt", "/queue",
                                        f"/history/{posted_prompts(fake)[0]['prompt_id']}", "/view"}
    by_path = {urlsplit(r["url"]).path: r for r in recorder.records}
    assert by_path["/prompt"]["data"] == [DataKind.prompt] and by_path["/prompt"]["bytes_sent"] > 100
    assert by_path["/upload/image"]["data"] == [DataKind.reference]
    assert by_path["/upload/image"]["assets"][0].size == len(fake.uploads[0]["data"])
    assert by_path["/object_info"]["data"] == [] and by_path["/object_info"]["assets"] == []
    assert all(r["outcome"] == "ok" for r in recorder.records)


def test_throttling_is_retried_honouring_retry_after(comfy, make_session):
    fake = comfy()
    fake.fail_next("/prompt", 2, status=429, retry_after="0.2")
    fake.fail_next("/view", 1, status=503, retry_after=None)
    adapter = provider(fake)
    session, recorder = make_session(adapter)
    started = time.monotonic()
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32), session)
    assert time.monotonic() - started >= 0.4
    assert len(out.files) == 1
    assert fake.paths("POST").count("/prompt") == 3 and fake.paths("GET").count("/view") == 2
    assert [r["status"] for r in recorder.records if r["url"].endswith("/prompt")] == [429, 429, 200]


def test_a_hung_server_times_out_with_a_clear_error(comfy, make_session):
    fake = comfy()
    fake.hang("/object_info", 3.0)
    adapter = provider(fake, timeout=0.3, health_timeout=0.3)
    started = time.monotonic()
    # It took the connection: up but slow, which health does not hold against it; the job's own read times out.
    assert adapter.health() == ""
    assert "did not answer /object_info within 0.3 s" in adapter.describe([]).note
    with pytest.raises(ProviderTimeout, match=r"gpu did not answer GET /object_info within 0\.3 s"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x"), make_session(adapter)[0])
    assert time.monotonic() - started < 2.0


def test_a_job_that_runs_too_long_times_out_and_is_stopped(comfy, make_session):
    fake = comfy(class_seconds={"KSampler": 2.0})
    adapter = provider(fake, job_timeout=0.4)
    with pytest.raises(ProviderTimeout, match="gpu did not finish the workflow within 0.4 s"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32),
                         make_session(adapter)[0])
    pid = posted_prompts(fake)[0]["prompt_id"]
    assert [r["json"] for r in fake.requests if r["path"] in ("/interrupt", "/queue") and r["method"] == "POST"] == \
        [{"prompt_id": pid}, {"delete": [pid]}]


def test_a_refusing_policy_means_the_server_receives_nothing(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)

    def gate(kinds):  # plates may not go to this provider; a request carrying none would pass
        if DataKind.plate in kinds:
            raise PolicyRefused(PolicyDecision(provider="gpu", allowed=False, rule="no-grant", detail="no plates"))

    session, recorder = make_session(adapter, gate=gate)
    plate = picture(tmp_path / "p.png", smooth(16, 16, 1))
    with pytest.raises(PolicyRefused):
        adapter.generate(GenerationRequest(Task.remove_background, inputs=[InputImage(IMAGE, plate, DataKind.plate)]),
                         session)
    assert fake.requests == [] and recorder.records == []


def test_the_token_reaches_the_server_and_nowhere_else(comfy, make_session, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    token = "s3cr3t-comfy-token-0042"
    fake = comfy(token=token)
    monkeypatch.setenv("COMFY_TOKEN", token)
    assert "refused the request (401)" in provider(fake).health()
    before = len(fake.requests)
    adapter = registry.build("gpu", {"type": "comfyui", "url": fake.url, "token": "env:COMFY_TOKEN", "backoff": 0.01})
    assert adapter.secrets == {"token": token} and adapter.health() == ""
    session, recorder = make_session(adapter)
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32), session)
    assert all(r["headers"].get("authorization") == f"Bearer {token}" for r in fake.requests[before:])
    assert any(r.get("websocket") for r in fake.requests[before:])
    leaks = [repr(recorder.records), adapter.describe(["generate_image"]).model_dump_json(), caplog.text,
             json.dumps(out.reproduce), repr(adapter.config)]
    assert not [t for t in leaks if token in t]


# -- the double behaves like ComfyUI ---------------------------------------------------------------------------


def test_the_double_validates_and_answers_like_comfyui(comfy):
    fake = comfy()
    post = lambda body: requests.post(fake.url + "/prompt", json=body, timeout=5)  # noqa: E731
    assert post({}).json()["error"]["type"] == "no_prompt"
    bad = post({"prompt": {"1": {"class_type": "NoSuchNode", "inputs": {}}}})
    assert bad.status_code == 400 and bad.json()["error"] == {
        "type": "invalid_prompt", "message": "Cannot execute because node NoSuchNode does not exist.",
        "details": "Node ID '#1'", "extra_info": {}}
    assert post({"prompt": {"1": {"class_type": "EmptyLatentImage", "inputs": {}}}}).json()["error"]["type"] \
        == "prompt_no_outputs"
    missing = post({"prompt": {"1": {"class_type": "EmptyLatentImage", "inputs": {"width": 8, "batch_size": 1}},
                               "2": {"class_type": "VAEDecode", "inputs": {"samples": ["1", 0], "vae": ["1", 0]}},
                               "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "a"}},
                               "4": {"class_type": "LoadImage", "inputs": {"image": "nope.png"}},
                               "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 1], "filename_prefix": "b"}},
                               "6": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}}}}).json()
    assert missing["error"]["type"] == "prompt_outputs_failed_validation"
    errors = {n: [(e["type"], e["details"]) for e in v["errors"]] for n, v in missing["node_errors"].items()}
    assert errors["1"] == [("value_smaller_than_min", "width"), ("required_input_missing", "height")]
    assert errors["2"] == [("return_type_mismatch", "vae, received_type(LATENT) mismatch input_type(VAE)")]
    assert errors["5"] == [("return_type_mismatch", "images, received_type(MASK) mismatch input_type(IMAGE)")]
    assert errors["4"] == [("custom_validation_failed", "image - Invalid image file: nope.png")]
    assert "3" not in errors  # downstream of a bad node, without errors of its own
    ok = post({"prompt": {"1": {"class_type": "EmptyLatentImage", "inputs": {"width": 16, "height": 16,
                                                                            "batch_size": 1}},
                          "2": {"class_type": "CheckpointLoaderSimple",
                                "inputs": {"ckpt_name": "v1-5-pruned-emaonly-fp16.safetensors"}},
                          "3": {"class_type": "VAEDecode", "inputs": {"samples": ["1", 0], "vae": ["2", 2]}},
                          "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "c"}}}}).json()
    assert ok["number"] == 4 and ok["node_errors"] == {}  # four rejections used up numbers 0-3

    up = lambda data, **form: requests.post(fake.url + "/upload/image", files={"image": ("a.png", data)},  # noqa: E731
                                            data=form, timeout=5)
    assert up(b"one").json() == {"name": "a.png", "subfolder": "", "type": "input"}
    assert up(b"one").json()["name"] == "a.png"  # same bytes: same name
    assert up(b"two").json()["name"] == "a (1).png"
    assert up(b"three", overwrite="true").json()["name"] == "a.png"
    no_file = requests.post(fake.url + "/upload/image", files={"other": ("x", b"1")}, timeout=5)
    assert no_file.status_code == 400 and no_file.content == b""
    assert requests.get(fake.url + "/view", params={"filename": "../x.png"}, timeout=5).status_code == 400
    gone = requests.get(fake.url + "/view", params={"filename": "nope.png"}, timeout=5)
    assert gone.status_code == 404 and gone.content == b""
    assert requests.get(fake.url + "/history/unknown", timeout=5).json() == {}
    assert requests.post(fake.url + "/queue", json={"delete": ["unknown"]}, timeout=5).content == b""


def test_the_double_sends_the_observed_websocket_order(comfy):
    from websockets.sync.client import connect

    fake = comfy()
    adapter = provider(fake)
    graph = adapter.build_graph(adapter.templates["text_to_image"],
                                GenerationRequest(Task.text_to_image, prompt="x", width=16, height=16), 1, {},
                                adapter.setting_values(adapter.templates["text_to_image"]), {})
    with connect(fake.url.replace("http", "ws") + "/ws?clientId=abc", proxy=None) as ws:
        requests.post(fake.url + "/prompt", json={"prompt": graph, "client_id": "abc"}, timeout=5)
        kinds = []
        while True:
            message = json.loads(ws.recv(timeout=5))
            kinds.append(message["type"])
            if message["type"] == "executing" and message["data"]["node"] is None:
                break
    assert kinds[:4] == ["status", "status", "status", "execution_start"] or \
        kinds[:3] == ["status", "status", "execution_start"]
    body = kinds[kinds.index("execution_start"):]
    assert body[1] == "execution_cached" and body[2:4] == ["progress_state", "executing"]
    assert body[-4:] == ["progress_state", "execution_success", "status", "executing"]
    assert "executed" in body and "progress" in body


def test_the_builtin_templates_all_load_and_match_the_double(comfy):
    adapter = provider(comfy())
    assert set(adapter.templates) == {p.stem for p in WORKFLOWS.glob("*.json")}
    assert adapter.tasks == frozenset(Task) and adapter.health() == ""


# -- a busy server, the queue, one job's requests ---------------------------------------------------------------


def _other_prompt(fake: FakeComfyUI, text: str) -> None:
    """Someone else's prompt on the same server (a text-to-image graph the double runs)."""
    template = json.loads((WORKFLOWS / "text_to_image.json").read_text())["prompt"]
    graph = json.loads(json.dumps(template))
    graph["6"]["inputs"]["text"] = text
    resp = requests.post(fake.url + "/prompt", json={"prompt": graph, "client_id": "someone-else"}, timeout=5)
    assert resp.status_code == 200, resp.text


def test_a_busy_server_is_not_refused_and_one_it_knows_gets_longer(comfy):
    from shotbridge.models import ProjectPolicy
    from shotbridge_backend import routing
    from shotbridge_backend.operations import CATALOGUE

    fake = comfy()
    known = provider(fake, health_timeout=0.3, known_health_timeout=3.0)
    assert known.health() == ""  # it answered: from now on it is known to be ComfyUI
    fresh = provider(fake, health_timeout=0.3, known_health_timeout=3.0)
    fake.hang("/object_info", 0.8)  # busy with a large graph: answers, slowly
    assert known.health() == "" and known.describe([]).note == ""  # answered within the longer timeout
    assert fresh.health() == ""  # up but slow: not held against it ...
    assert "busy: did not answer /object_info within 0.3 s" in fresh.describe([]).note  # ... but it is said
    op = CATALOGUE["remove_background"]
    params = op.params.model_validate({"timeline": "0" * 64})
    chosen = routing.choose(registry.Registry([fresh]), ProjectPolicy(), op, params, "gpu", "show")
    assert chosen is fresh, "a job for a busy server is queued, not refused"

    fake.hang("/object_info", 0)
    down = provider(fake, url="http://127.0.0.1:9", health_timeout=0.3)  # nothing listens there
    assert "cannot be reached" in down.health() and down.describe([]).note == ""


def test_a_job_behind_other_prompts_says_where_it_waits(comfy, make_session):
    fake = comfy(class_seconds={"KSampler": 0.4})
    _other_prompt(fake, "first")
    _other_prompt(fake, "second")
    adapter = provider(fake)
    session, _ = make_session(adapter)
    adapter.generate(GenerationRequest(Task.text_to_image, prompt="ours", width=32, height=32, seed=3), session)
    messages = [m for _, m in session.events]
    waiting = [m for m in messages if "queue" in m]
    assert waiting[0] == "waiting in gpu's queue: 2 prompts ahead", messages
    assert "waiting in gpu's queue: 1 prompt ahead" in waiting
    assert messages.index("running on gpu") > messages.index(waiting[-1])
    assert messages.index(waiting[0]) > max(i for i, m in enumerate(messages) if m.startswith("uploading"))


def test_polling_writes_one_audit_row_per_interval(comfy, make_session):
    fake = comfy(class_seconds={"KSampler": 0.5})
    fake.refuse_ws = True
    _other_prompt(fake, "ahead of ours")
    adapter = provider(fake, poll_interval=0.05)
    session, recorder = make_session(adapter)
    adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32, seed=5), session)
    paths = [urlsplit(r["url"]).path for r in recorder.records]
    polled = paths[paths.index("/prompt") + 1:paths.index("/view")]
    assert polled.count("/queue") >= 10, polled  # it waited about a second: a row per 0.05 s interval
    assert polled[:-1] == ["/queue"] * (len(polled) - 1) and polled[-1].startswith("/history/"), polled
    assert [m for _, m in session.events if "queue" in m][0] == "waiting in gpu's queue: 1 prompt ahead"


def test_one_job_uploads_an_input_once_and_keeps_one_websocket(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    session, recorder = make_session(adapter)  # one session: one job, as the runner keeps it
    mask = picture(tmp_path / "m.png", np.pad(np.full((16, 16), 255, np.uint8), 8))
    for n in range(3):
        plate = picture(tmp_path / f"p{n}.png", smooth(32, 32, n))
        adapter.generate(GenerationRequest(Task.inpaint, prompt="x", seed=1, inputs=[
            InputImage(IMAGE, plate, DataKind.plate), InputImage(MASK, mask, DataKind.mask)]), session)
    uploads = [a.kind for r in recorder.records if r["url"].endswith("/upload/image") for a in r["assets"]]
    assert uploads.count(DataKind.mask) == 1 and uploads.count(DataKind.plate) == 3
    assert fake.paths("GET").count("/ws") == 1
    masks = {json.dumps(b["prompt"], sort_keys=True).count(fake.uploads[1]["filename"]) for b in posted_prompts(fake)}
    assert len(posted_prompts(fake)) == 3 and masks == {1}, "every prompt names the one uploaded mask"
    session.close()
    assert "comfyui.socket" not in session.state


def test_requests_arriving_while_a_busy_server_is_checked_share_one_check(comfy):
    fake = comfy()
    fake.hang("/object_info", 0.5)
    adapter = provider(fake, health_timeout=2.0)
    reg = registry.Registry([adapter])
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(reg.health(adapter))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert answers == [""] * 6
    assert fake.paths("GET").count("/object_info") == 1

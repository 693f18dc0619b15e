"""Several reference images, each into its own node (Qwen-Image-Edit 2509, Flux Kontext as the alternative),
the image_edit task, and per-template health: the comfyui adapter against the ComfyUI double on 127.0.0.1,
which validates every posted graph the way ComfyUI does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from servers.comfyui import FakeComfyUI

from shotbridge.models import DataKind
from shotbridge_backend.providers.base import (
    IMAGE,
    REFERENCE,
    GenerationRequest,
    InputImage,
    ProviderError,
    ProviderUnavailable,
    Task,
)
from shotbridge_backend.providers.comfyui import WORKFLOWS, ComfyUIProvider, TemplateError, load_template

QWEN = "text_to_image_qwen_edit"
KONTEXT = "text_to_image_flux_kontext"


def provider(fake: FakeComfyUI, **config) -> ComfyUIProvider:
    return ComfyUIProvider("gpu", {"url": fake.url, "backoff": 0.01, "timeout": 5, "poll_interval": 0.05, **config})


def solid(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (48, 40)) -> Path:
    Image.fromarray(np.full((size[1], size[0], 3), rgb, np.uint8)).save(path)
    return path


def refs(tmp_path: Path, *colours: tuple[int, int, int]) -> list[InputImage]:
    return [InputImage(REFERENCE, solid(tmp_path / f"ref{n}.png", c), DataKind.reference)
            for n, c in enumerate(colours)]


def posted(fake: FakeComfyUI) -> list[dict]:
    return [r["json"]["prompt"] for r in fake.requests if r["path"] == "/prompt" and r["method"] == "POST"]


def mean_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), np.float32).mean(axis=(0, 1))


RED, GREEN, BLUE, GREY = (240, 20, 20), (20, 240, 20), (20, 20, 240), (128, 128, 128)


def test_three_references_each_go_into_their_own_qwen_image_input(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    request = GenerationRequest(Task.text_to_image, prompt="the hero at dusk", width=64, height=48, seed=3,
                                inputs=refs(tmp_path, RED, GREEN, BLUE))
    session, recorder = make_session(adapter)
    out = adapter.generate(request, session)

    assert out.reproduce["template"] == QWEN and out.reproduce["references_used"] == 3
    assert out.reproduce["derived_from"].startswith("official image_qwen_image_edit_2509")
    assert out.model == "qwen_image_edit_2509_fp8_e4m3fn.safetensors"
    names = [u["filename"] for u in fake.uploads]
    assert len(set(names)) == 3  # every reference uploaded, not only the first
    (graph,) = posted(fake)
    assert [graph[n]["inputs"]["image"] for n in ("78", "120", "122")] == names
    for encoder in ("110", "111"):  # positive and negative both see the three references
        assert graph[encoder]["class_type"] == "TextEncodeQwenImageEditPlus"
        assert [graph[encoder]["inputs"][f"image{k}"] for k in (1, 2, 3)] == [["93", 0], ["121", 0], ["123", 0]]
    assert graph["111"]["inputs"]["prompt"] == "the hero at dusk"
    assert graph["112"]["inputs"]["width"] == 64 and graph["112"]["inputs"]["height"] == 48
    # the double's edit model shows its references' subjects side by side, in order: red, green, blue
    with Image.open(out.files[0]) as img:
        thirds = [np.asarray(img.convert("RGB"), np.float32)[:, k * 64 // 3:(k + 1) * 64 // 3].mean(axis=(0, 1))
                  for k in range(3)]
    assert [int(np.argmax(t)) for t in thirds] == [0, 1, 2] and all(t.max() > 180 for t in thirds)
    uploads = [x for x in recorder.records if x["url"].endswith("/upload/image")]
    assert len(uploads) == 3 and all(x["data"] == [DataKind.reference] for x in uploads)


def test_one_reference_prunes_the_unused_reference_inputs(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32, seed=1,
                                             inputs=refs(tmp_path, GREEN)), make_session(adapter)[0])
    assert out.reproduce["template"] == QWEN and out.reproduce["references_used"] == 1
    (graph,) = posted(fake)
    assert not {"120", "121", "122", "123"} & set(graph)
    assert "image2" not in graph["111"]["inputs"] and "image3" not in graph["111"]["inputs"]
    assert graph["111"]["inputs"]["image1"] == ["93", 0]


def test_more_references_than_inputs_uses_the_first_three(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32, seed=1,
                                             inputs=refs(tmp_path, RED, GREEN, BLUE, GREY)), make_session(adapter)[0])
    assert out.reproduce["references_used"] == 3 and len(fake.uploads) == 3


def test_a_server_without_the_qwen_node_runs_flux_kontext_and_everything_else(comfy, make_session, tmp_path):
    fake = comfy(missing=("TextEncodeQwenImageEditPlus",))
    adapter = provider(fake)
    assert adapter.health() == ""  # one template that cannot run does not take the provider down
    assert "TextEncodeQwenImageEditPlus" in adapter.template_problems[QWEN]
    assert adapter.template_problems[KONTEXT] == "" and adapter.template_problems["text_to_image"] == ""
    assert "TextEncodeQwenImageEditPlus" in adapter.task_health(Task.image_edit)  # its only template
    assert adapter.task_health(Task.text_to_image) == ""
    report = {t.name: t for t in adapter.template_report()}
    assert not report[QWEN].available and "TextEncodeQwenImageEditPlus" in report[QWEN].reason
    assert report[KONTEXT].available and report["inpaint"].available
    assert report[QWEN].source == "built-in, derived from official image_qwen_image_edit_2509"
    unet = next(m for m in report[QWEN].models if m.name == "qwen_image_edit_2509_fp8_e4m3fn.safetensors")
    assert unet.folder == "diffusion_models" and unet.present and unet.url.startswith("https://")
    lora = next(m for m in report[QWEN].models if m.folder == "loras")
    assert lora.name == "Qwen-Image-Edit-2509-Lightning-4steps-V1.0-bf16.safetensors" and lora.url

    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32, seed=2,
                                             inputs=refs(tmp_path, BLUE, RED)), make_session(adapter)[0])
    assert out.reproduce["template"] == KONTEXT and out.reproduce["references_used"] == 2
    assert out.reproduce["derived_from"].startswith("official flux_kontext_dev_basic")
    (graph,) = posted(fake)
    assert graph["153"]["inputs"]["latent"] == ["124", 0] and graph["154"]["inputs"]["latent"] == ["152", 0]
    with Image.open(out.files[0]) as img:
        left, right = np.asarray(img.convert("RGB"), np.float32)[:, :16], np.asarray(img.convert("RGB"))[:, 16:]
    assert left.mean(axis=(0, 1))[2] > 180 and right.mean(axis=(0, 1))[0] > 180  # both references' subjects
    # asking for the template the server cannot run by name says why
    with pytest.raises(ProviderUnavailable, match="TextEncodeQwenImageEditPlus"):
        adapter.generate(GenerationRequest(Task.text_to_image, prompt="x", width=32, height=32, seed=2,
                                           inputs=refs(tmp_path, BLUE), options={"template": QWEN}),
                         make_session(adapter)[0])
    with pytest.raises(ProviderUnavailable, match="no image_edit template for these inputs can run"):
        adapter.generate(GenerationRequest(Task.image_edit, prompt="x", seed=2, inputs=[
            InputImage(IMAGE, solid(tmp_path / "plate.png", GREY), DataKind.plate)]), make_session(adapter)[0])


def test_image_edit_edits_the_image_with_optional_references(comfy, make_session, tmp_path):
    fake = comfy()
    adapter = provider(fake)
    plate = solid(tmp_path / "plate.png", GREEN, (80, 60))
    out = adapter.generate(GenerationRequest(Task.image_edit, prompt="night, wet street", seed=9, inputs=[
        InputImage(IMAGE, plate, DataKind.plate), *refs(tmp_path, RED)]), make_session(adapter)[0])
    assert out.reproduce["template"] == "image_edit" and out.reproduce["references_used"] == 1
    (graph,) = posted(fake)
    assert graph["111"]["inputs"]["prompt"] == "night, wet street"
    assert graph["111"]["inputs"]["image1"] == ["93", 0] and graph["111"]["inputs"]["image2"] == ["121", 0]
    assert "image3" not in graph["111"]["inputs"] and "122" not in graph
    assert graph["3"]["inputs"]["latent_image"] == ["88", 0]  # sampled from the image itself
    r, g, b = mean_rgb(out.files[0])
    assert g > r + 100  # the edited image's subject (the plate), not the reference's
    with Image.open(out.files[0]) as img:
        assert img.size == (80, 60)  # sampled near one megapixel, handed back at the size of the image edited
    with pytest.raises(ProviderError, match="no image_edit template for inputs reference"):
        adapter.generate(GenerationRequest(Task.image_edit, prompt="x", inputs=refs(tmp_path, RED)),
                         make_session(adapter)[0])


def test_reference_points_must_be_numbered_without_gaps_and_not_mixed(tmp_path):
    doc = json.loads((WORKFLOWS / f"{QWEN}.json").read_text())
    gap = {**doc, "inputs": {k: v for k, v in doc["inputs"].items() if k != "reference_2"}}
    (tmp_path / "gap.json").write_text(json.dumps(gap))
    with pytest.raises(TemplateError, match="numbered from reference_1 without gaps"):
        load_template(tmp_path / "gap.json")
    mixed = {**doc, "inputs": {**doc["inputs"], "reference": doc["inputs"]["reference_1"]}}
    (tmp_path / "mixed.json").write_text(json.dumps(mixed))
    with pytest.raises(TemplateError, match="either 'reference' or 'reference_1'"):
        load_template(tmp_path / "mixed.json")


OBJECT_INFO = Path(__file__).resolve().parents[2].parent / "shared" / "comfyui" / "object_info-v0.3.64.json"
EDIT_CLASSES = ("TextEncodeQwenImageEditPlus", "EmptySD3LatentImage", "ImageScaleToTotalPixels", "CFGNorm",
                "ModelSamplingAuraFlow", "LoraLoaderModelOnly", "DualCLIPLoader", "FluxGuidance",
                "FluxKontextImageScale", "FluxKontextMultiReferenceLatentMethod", "ReferenceLatent",
                "ConditioningZeroOut")


def _shape(spec) -> object:
    """An input spec without its combo choices (model lists are the server's own) or a v3 'COMBO' wrapper."""
    kind = spec[0]
    if isinstance(kind, list) or kind == "COMBO":
        options = kind if isinstance(kind, list) else spec[1].get("options", [])
        return ("combo", tuple(options) if options and not str(options[0]).endswith(".safetensors") else ())
    return (kind, {k: v for k, v in (spec[1] if len(spec) > 1 else {}).items() if k in ("default", "min", "max")})


@pytest.mark.skipif(not OBJECT_INFO.exists(), reason="../shared/comfyui is not beside the checkout")
def test_the_doubles_edit_model_nodes_declare_what_comfyui_0_3_64_does(comfy):
    """The double validates posted graphs against its own node specs: those of the Qwen and Kontext nodes must
    be the real server's (inputs, required or optional, types, defaults and ranges, outputs)."""
    import requests

    real = json.loads(OBJECT_INFO.read_text())
    served = requests.get(f"{comfy().url}/object_info", timeout=5).json()
    for name in EDIT_CLASSES:
        for group in ("required", "optional"):
            mine = {k: _shape(v) for k, v in (served[name]["input"].get(group) or {}).items()}
            theirs = {k: _shape(v) for k, v in (real[name]["input"].get(group) or {}).items()}
            assert mine == theirs, (name, group)
        assert served[name]["output"] == real[name]["output"], name

"""Templates whose graph is a UI-format workflow or an official ComfyUI template: loaded with their injection
map, converted per server, run end to end against the ComfyUI double (tests/providers/servers/comfyui.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shotbridge_backend.providers.base import GenerationRequest, Task
from shotbridge_backend.providers.comfyui import ComfyUIProvider, TemplateError, check_template, load_template
from shotbridge_backend.providers.comfyui_templates import bind_template, official_models

DATA = Path(__file__).with_name("data") / "comfyui_ui"
OBJECT_INFO = Path(__file__).resolve().parents[2].parent / "shared" / "comfyui" / "object_info-v0.3.64.json"
NESTED_MAP = {
    "name": "nested_t2i", "task": "text_to_image", "model": "checkpoint",
    "config": {"checkpoint": {"node": "4", "input": "ckpt_name"}},
    "inputs": {
        "prompt": {"node": "10:1:1", "input": "text", "type": "text"},
        "negative_prompt": {"node": "10:1:2", "input": "text", "type": "text"},
        "seed": {"node": "10:2", "input": "seed", "type": "seed"},
        "width": {"node": "5", "input": "width", "type": "int", "step": 8},
        "height": {"node": "5", "input": "height", "type": "int", "step": 8},
    },
    "outputs": ["9"],
}


def folder_with(tmp_path: Path, **doc) -> Path:
    folder = tmp_path / "workflows"
    (folder / "ui").mkdir(parents=True, exist_ok=True)
    (folder / "ui" / "nested_subgraphs.json").write_text((DATA / "nested_subgraphs.json").read_text())
    (folder / f"{doc['name']}.json").write_text(json.dumps(doc))
    return folder


def test_a_ui_workflow_with_nested_subgraphs_runs_with_the_request_injected(comfy, make_session, tmp_path):
    fake = comfy()
    folder = folder_with(tmp_path, **NESTED_MAP, workflow="ui/nested_subgraphs.json")
    adapter = ComfyUIProvider("gpu", {"url": fake.url, "workflows": str(folder), "poll_interval": 0.05})
    assert adapter.problem == "" and adapter.health() == ""
    session, _ = make_session(adapter)
    out = adapter.generate(GenerationRequest(Task.text_to_image, prompt="a ferry in fog", negative_prompt="noise",
                                             width=60, height=44, seed=77, options={"template": "nested_t2i"}),
                           session)
    (body,) = [r["json"] for r in fake.requests if r["path"] == "/prompt" and r["method"] == "POST"]
    graph = body["prompt"]
    assert sorted(graph) == ["10:1:1", "10:1:2", "10:2", "10:3", "4", "5", "9"]  # bypassed, muted, virtual: gone
    assert graph["10:1:1"]["inputs"]["text"] == "a ferry in fog"
    assert graph["10:1:2"]["inputs"]["text"] == "noise"
    assert graph["10:2"]["inputs"]["seed"] == 77 and graph["10:2"]["inputs"]["steps"] == 25
    assert graph["5"]["inputs"]["width"] == 64 and graph["9"]["inputs"]["images"] == ["10:3", 0]
    assert graph["4"]["inputs"]["ckpt_name"] == "v1-5-pruned-emaonly-fp16.safetensors"  # the workflow's own
    assert out.model == "v1-5-pruned-emaonly-fp16.safetensors" and len(out.files) == 1
    assert out.reproduce["workflow"] == graph


def test_an_injection_point_the_converted_graph_lacks_is_named_in_health(comfy, tmp_path):
    fake = comfy()
    doc = {**NESTED_MAP, "inputs": {**NESTED_MAP["inputs"], "seed": {"node": "10:9", "input": "seed", "type": "seed"}}}
    adapter = ComfyUIProvider("gpu", {"url": fake.url, "workflows": str(folder_with(tmp_path, **doc,
                                                                                   workflow="ui/nested_subgraphs.json"))})
    assert adapter.health() == ""  # other templates run: the provider stays available, this one says why
    health = adapter.template_problems["nested_t2i"]
    assert "injection point 'seed' names node '10:9', which is not in the prompt" in health
    assert "nested_t2i.json" in health


def test_a_workflow_node_the_server_lacks_is_named_with_its_template(comfy, tmp_path):
    fake = comfy(missing=("EmptyLatentImage",))
    adapter = ComfyUIProvider("gpu", {"url": fake.url, "workflows": str(folder_with(tmp_path, **NESTED_MAP,
                                                                                   workflow="ui/nested_subgraphs.json"))})
    assert adapter.health() == ""  # other templates run: the provider stays available, this one says why
    health = adapter.template_problems["nested_t2i"]
    assert "nested_t2i.json" in health and "node 5 (EmptyLatentImage)" in health
    assert "no node class 'EmptyLatentImage'" in health


def test_an_official_template_by_name_binds_to_the_recorded_server(tmp_path):
    info = json.loads(OBJECT_INFO.read_text())
    doc = {"name": "ref2v", "task": "image_to_video", "official": "video_wan_vace_14B_ref2v",
           "config": {"unet": {"node": "113", "input": "unet_name"}},
           "inputs": {"prompt": {"node": "105", "input": "text", "type": "text"},
                      "reference": {"node": "73", "input": "image", "type": "image"},
                      "frames": {"node": "109", "input": "length", "type": "int", "step": 4, "base": 1}},
           "outputs": ["69"]}
    path = tmp_path / "ref2v.json"
    path.write_text(json.dumps(doc))
    template = load_template(path)
    assert template.prompt == {} and template.image_points() == {"reference"}
    bound, values = bind_template(template, info, {"unet": "<from the workflow>"})
    assert bound.prompt["109"]["class_type"] == "WanVaceToVideo" and bound.prompt["109"]["inputs"]["width"] == 768
    assert values == {"unet": "wan2.1_vace_14B_fp16.safetensors"}
    # no model files on the recorded server: the check names the missing model and how to set it
    problem = check_template(template, info, {"unet": "wan2.1_vace_14B_fp16.safetensors"})
    assert "unet_name 'wan2.1_vace_14B_fp16.safetensors' is not on this ComfyUI" in problem
    names = {m["name"] for m in official_models(template.ui.workflow)}
    assert "wan2.1_vace_14B_fp16.safetensors" in names and "wan_2.1_vae.safetensors" in names


def test_a_bare_ui_workflow_in_the_templates_folder_says_what_to_do(tmp_path):
    path = tmp_path / "saved.json"
    path.write_text((DATA / "nested_subgraphs.json").read_text())
    with pytest.raises(TemplateError, match="is a ComfyUI workflow, not a template: keep it in a subfolder"):
        load_template(path)


def test_an_unknown_official_name_suggests_close_ones(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"name": "t", "task": "image_to_video", "official": "video_wan_vace_14B_ref2", "inputs": {},
                                "outputs": ["1"]}))
    with pytest.raises(TemplateError, match="did you mean video_wan_vace_14B_ref2v"):
        load_template(path)


def test_each_template_reports_its_health_and_model_files(comfy, tmp_path):
    from shotbridge.doctor import template_checks

    fake = comfy(missing=("WanVaceToVideo",))  # a server without Wan VACE, nor its model
    fake.models["diffusion_models"].remove("wan2.1_vace_14B_fp16.safetensors")
    folder = folder_with(tmp_path, **NESTED_MAP, workflow="ui/nested_subgraphs.json")
    (folder / "ref2v.json").write_text(json.dumps({
        "name": "ref2v", "task": "image_to_video", "official": "video_wan_vace_14B_ref2v",
        "inputs": {"first_frame": {"node": "73", "input": "image", "type": "image"}}, "outputs": ["69"]}))
    adapter = ComfyUIProvider("gpu", {"url": fake.url, "workflows": str(folder)})
    assert adapter.health() == "" and "WanVaceToVideo" in adapter.template_problems["ref2v"]  # not on the double
    described = adapter.describe(["generate_image"], "")
    report = {t.name: t for t in described.templates}
    assert set(report) >= {"text_to_image", "image_to_video", "nested_t2i", "ref2v"}
    assert report["text_to_image"].available and report["text_to_image"].source == "built-in"
    assert [(m.folder, m.name, m.present) for m in report["text_to_image"].models] == [
        ("checkpoints", "v1-5-pruned-emaonly-fp16.safetensors", True)]
    assert report["nested_t2i"].available  # one template that cannot run leaves the others alone
    assert [m.name for m in report["nested_t2i"].models] == ["v1-5-pruned-emaonly-fp16.safetensors"]
    ref2v = report["ref2v"]
    assert not ref2v.available and "WanVaceToVideo" in ref2v.reason
    assert ref2v.source == "official video_wan_vace_14B_ref2v"
    assert ref2v.size_gb and ref2v.size_gb > 1
    vae = next(m for m in ref2v.models if m.name == "wan_2.1_vae.safetensors")
    assert vae.folder == "vae" and vae.present is True and vae.url.startswith("https://")  # the double has it
    unet = next(m for m in ref2v.models if m.name == "wan2.1_vace_14B_fp16.safetensors")
    assert unet.folder == "diffusion_models" and unet.present is False

    checks = {c.name: c for c in template_checks(described)}
    assert checks["template gpu/text_to_image"].level == "ok"
    assert "checkpoints/v1-5-pruned-emaonly-fp16.safetensors (have)" in checks["template gpu/text_to_image"].detail
    assert checks["template gpu/ref2v"].level == "warn"
    assert "diffusion_models/wan2.1_vace_14B_fp16.safetensors (MISSING: download https://" in \
        checks["template gpu/ref2v"].detail

"""UI-format ComfyUI workflows (File > Save) converted to the API format against a real server's /object_info
(shared/comfyui: ComfyUI 0.3.64) and checked against ComfyUI's official templates (comfyui-workflow-templates
0.1.95, the release that server pins)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import comfyui_workflow_templates  # the dev extra pins the release that matches shared/comfyui
import pytest

from shotbridge_backend.providers.comfyui_ui import (
    WorkflowError,
    dynamic_prompt,
    node_classes,
    to_api,
    widgets_for,
)

DATA = Path(__file__).with_name("data") / "comfyui_ui"
OBJECT_INFO = Path(__file__).resolve().parents[2].parent / "shared" / "comfyui" / "object_info-v0.3.64.json"
TEMPLATES = Path(comfyui_workflow_templates.get_templates_path())
# Three cloud-API templates were saved with node versions whose widgets differ from 0.3.64's: the 1.27.10
# frontend would send shifted values ('randomize' or a seed as steps, 'PBR' as Seed), which this server
# rejects. The converter names the node and the widget instead.
MISFIT = {"api_moonvalley_video_to_video_motion_transfer": ("node 38", "steps"),
          "api_moonvalley_video_to_video_pose_control": ("node 36", "steps"),
          "api_rodin_gen2": ("node 67", "Seed")}


# The one required input the converted templates leave unset: the template feeds it from a bypassed loader
# (ImagePadForOutpaint 202 <- LoadImage 193, both bypassed), so the frontend drops that link too.
UNWIRED = {"image_qwen_image_instantx_inpainting_controlnet": ["194 ImageScaleToMaxDimension: no image"]}


def server_would_accept(graph: dict, info: dict) -> list[str]:
    """What ComfyUI's validation would object to, model and input files aside: an input the class does not
    declare, a required input not set, a link from an output of another type or to a node not sent, a
    literal where a socket is declared."""
    problems = []
    for node_id, node in graph.items():
        spec = info[node["class_type"]]["input"]
        declared = {n: (g, v) for g in ("required", "optional") for n, v in (spec.get(g) or {}).items()}
        for name, (group, _) in declared.items():
            if group == "required" and name not in node["inputs"]:
                problems.append(f"{node_id} {node['class_type']}: no {name}")
        for name, value in node["inputs"].items():
            assert name in declared, (node_id, name)  # never a control, upload or refresh widget
            kind = declared[name][1][0]
            if isinstance(value, list):
                assert value[0] in graph, (node_id, name)  # links only to nodes that are sent
                outputs = info[graph[value[0]]["class_type"]]["output"]
                given = outputs[value[1]]
                wanted = "COMBO" if isinstance(kind, list) else kind
                ok = "*" in (given, wanted) or wanted == given or isinstance(given, list) and wanted == "COMBO" \
                    or bool(set(str(given).split(",")) & set(str(wanted).split(",")))
                if not ok:
                    problems.append(f"{node_id} {node['class_type']}: {name} ({wanted}) linked from {given}")
            elif not isinstance(kind, list) and kind not in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"):
                problems.append(f"{node_id} {node['class_type']}: a literal for socket {name} ({kind})")
    return problems


@pytest.fixture(scope="module")
def info() -> dict:
    if not OBJECT_INFO.exists():
        pytest.fail(f"{OBJECT_INFO} is missing: the repo's sibling 'shared' folder holds ComfyUI's /object_info")
    return json.loads(OBJECT_INFO.read_text())


def official(name: str) -> dict:
    return json.loads((TEMPLATES / f"{name}.json").read_text())


def runnable(info: dict) -> list[str]:
    names = []
    for path in sorted(TEMPLATES.glob("*.json")):
        if path.stem.startswith("index"):
            continue
        if not node_classes(json.loads(path.read_text())) - set(info):
            names.append(path.stem)
    return names


def test_every_official_template_this_server_can_run_converts(info):
    names = runnable(info)
    assert len(names) == 159  # shared/comfyui/MANIFEST.md: 159 of the 172 use only this server's classes
    converted = 0
    for name in names:
        if name in MISFIT:
            node, widget = MISFIT[name]
            with pytest.raises(WorkflowError, match=rf"{node} .*widget '{widget}'"):
                to_api(official(name), info, where=name)
            continue
        graph = to_api(official(name), info, rng=random.Random(0), where=name)
        assert graph, name
        assert server_would_accept(graph, info) == UNWIRED.get(name, []), name
        converted += 1
    assert converted == 156


# The expected graphs were checked node by node against the UI file and the rules of the 1.27.10 frontend
# (graphToPrompt / ExecutableNodeDTO in comfyui-frontend-package 1.27.10's bundle): for each node, its
# widgets_values paired with the server's input_order (seed followed by its control widget, LoadImage by
# its upload button, neither sent); each link followed through bypassed nodes (same slot if its type fits,
# else the first input of that exact type, else nothing) and primitives (their value). In detail:
# - nested_subgraphs: a root with a reroute and a note,
#   a subgraph instance (10) whose definition holds a KSampler whose steps come from a promoted widget (25,
#   not the KSampler's own 20), a bypassed ImageInvert (SaveImage gets VAEDecode 10:3 directly), a muted
#   ImageBlur (dropped), and a nested instance (10:1) whose CLIPTextEncode text comes from its promoted
#   widget; the negative's dynamic-prompt comment is stripped ("blurry // ..." -> "blurry ").
# The official ones were drafted by the converter and then checked by hand, node by node, against the
# UI file (every sent node's widgets against its widgets_values and the server's input order, every link
# followed by hand); the nested one was written by hand before the converter ran on it.
# - video_wan_vace_14B_ref2v (video, primitives): 14 of 39 nodes are sent; WanVaceToVideo takes width and
#   height 768 from primitives 158/159, loses control_video (bypassed ImageBatch -> bypassed LoadImage:
#   nothing) and control_masks (bypassed ImageToMask has no MASK input); the bypassed 1.3B loaders, WEBP
#   saver and previews are not sent; KSampler's 'randomize' is not sent.
# - image_qwen_image_edit_2509 (subgraphs): the bypassed second group, including bypassed subgraph
#   instance 383 and its bypassed ReferenceLatent nodes, sends nothing; image2/image3 of both text
#   encoders come from bypassed LoadImage nodes and are dropped; the unused EmptySD3LatentImage is sent.
# - flux1_dev_uso_reference_image_gen (active subgraphs, promoted widgets): instance 55 sends 55:52
#   CLIPVisionEncode with crop 'center' from the instance's widget and 55:54 USOStyleReference; instance 57
#   sends 57:44, 57:41 and 57:35 FluxGuidance whose guidance 3.5 is the instance's widget; KSampler's positive
#   is 57:35; EasyCache 95 takes its model through bypassed instance 56 (its first MODEL input, slot 2, which
#   55 feeds) from 55:54; the bypassed second group (72-92, instances 83 and 89) sends nothing.
@pytest.mark.parametrize("name", ["nested_subgraphs", "video_wan_vace_14B_ref2v", "image_qwen_image_edit_2509",
                                  "flux1_dev_uso_reference_image_gen"])
def test_converted_graph_equals_the_hand_checked_one(info, name):
    source = DATA / f"{name}.json"
    workflow = json.loads(source.read_text()) if source.exists() else official(name)
    expected = json.loads((DATA / f"{name}.api.json").read_text())
    got = to_api(workflow, info, rng=random.Random(0))
    assert sorted(got) == sorted(expected)
    for node_id in expected:
        assert got[node_id] == expected[node_id], node_id


def test_seed_widgets_carry_a_control_widget_that_is_never_sent(info):
    names = [w.name for w in widgets_for("KSampler", info["KSampler"])]
    assert names == ["seed", "control_after_generate", "steps", "cfg", "sampler_name", "scheduler", "denoise"]
    assert [w.name for w in widgets_for("RandomNoise", info["RandomNoise"])] == ["noise_seed",
                                                                                 "control_after_generate"]
    assert [w.name for w in widgets_for("LoadImage", info["LoadImage"])] == ["image", "upload"]


def test_unknown_node_class_is_named(info):
    workflow = json.loads((DATA / "nested_subgraphs.json").read_text())
    workflow["definitions"]["subgraphs"][1]["nodes"][1]["type"] = "MagicPromptNode"
    with pytest.raises(WorkflowError) as caught:
        to_api(workflow, info)
    message = str(caught.value)
    assert "node 10:1:2 (MagicPromptNode, titled 'Negative')" in message
    assert "no node class 'MagicPromptNode'" in message


def test_a_shifted_widget_list_names_the_node_and_widget(info):
    workflow = json.loads((DATA / "nested_subgraphs.json").read_text())
    sampler = workflow["definitions"]["subgraphs"][0]["nodes"][1]
    sampler["widgets_values"] = [42, 20, 7.5, "euler", "normal", 1.0]  # saved without the control widget
    with pytest.raises(WorkflowError) as caught:
        to_api(workflow, info)
    message = str(caught.value)
    assert "node 10:2 (KSampler)" in message and "widget 'control_after_generate' gets 20" in message


def test_values_outside_a_widgets_limits_or_choices_name_it(info):
    workflow = json.loads((DATA / "nested_subgraphs.json").read_text())
    sampler = workflow["definitions"]["subgraphs"][0]["nodes"][1]
    sampler["widgets_values"] = [42, "fixed", 20, 7.5, "euler_turbo_9000", "normal", 1.0]
    with pytest.raises(WorkflowError, match=r"node 10:2 \(KSampler\).*widget 'sampler_name' gets "
                                            r"'euler_turbo_9000', which is not one of its choices \(euler, "):
        to_api(workflow, info)
    sampler["widgets_values"] = [42, "fixed", 20000, 7.5, "euler", "normal", 1.0]
    with pytest.raises(WorkflowError, match=r"widget 'steps' gets 20000, above its maximum 10000"):
        to_api(workflow, info)
    workflow = json.loads((DATA / "nested_subgraphs.json").read_text())
    workflow["nodes"][0]["widgets_values"] = ["not_installed_here.safetensors"]  # files: the server's to judge
    assert to_api(workflow, info)["4"]["inputs"]["ckpt_name"] == "not_installed_here.safetensors"


def test_missing_values_without_a_default_and_extra_values_are_handled(info):
    workflow = official("default")
    for node in workflow["nodes"]:
        if node["type"] == "EmptyLatentImage":
            node["widgets_values"] = [512]  # height and batch_size missing: the server's defaults
        if node["type"] == "VAEDecode":
            node["widgets_values"] = ["left over"]  # a value past the last widget: ignored, as the UI does
    notes: list[str] = []
    graph = to_api(workflow, info, notes=notes)
    latent = next(n for n in graph.values() if n["class_type"] == "EmptyLatentImage")
    assert latent["inputs"] == {"width": 512, "height": 512, "batch_size": 1}
    assert sorted(notes) == [
        "node 5 (EmptyLatentImage): saved without widget(s) this server's EmptyLatentImage has; using its "
        "defaults height=512, batch_size=1",
        "node 8 (VAEDecode): value(s) 'left over' past this server's last VAEDecode widget are ignored, as the "
        "ComfyUI frontend does",
        "node 9 (SaveImage): saved without widget(s) this server's SaveImage has; using its defaults "
        "filename_prefix='ComfyUI'"]  # the official default.json saves SaveImage with no values
    broken = copy.deepcopy(info)
    del broken["EmptyLatentImage"]["input"]["required"]["height"][1]["default"]
    with pytest.raises(WorkflowError, match=r"node 5 \(EmptyLatentImage\).*no value for widget\(s\) height"):
        to_api(workflow, broken)


def test_dynamic_prompts_follow_the_frontend():
    rng = random.Random(3)
    assert dynamic_prompt("a cat // a comment\n/* gone */on a mat", rng) == "a cat \non a mat"
    assert dynamic_prompt(r"literal \{x\|y\}", rng) == "literal {x|y}"
    seen = {dynamic_prompt("{red|green|{blue|teal}} car", random.Random(i)) for i in range(60)}
    assert seen == {"red car", "green car", "blue car", "teal car"}


def test_a_link_loop_through_reroutes_is_an_error(info):
    workflow = {"nodes": [{"id": 1, "type": "Reroute", "inputs": [{"name": "", "type": "*", "link": 2}],
                           "outputs": [{"name": "", "type": "*", "links": [1]}]},
                          {"id": 2, "type": "Reroute", "inputs": [{"name": "", "type": "*", "link": 1}],
                           "outputs": [{"name": "", "type": "*", "links": [2, 3]}]},
                          {"id": 3, "type": "PreviewImage", "inputs": [{"name": "images", "type": "IMAGE", "link": 3}],
                           "widgets_values": []}],
                "links": [[1, 1, 0, 2, 0, "*"], [2, 2, 0, 1, 0, "*"], [3, 2, 0, 3, 0, "IMAGE"]]}
    with pytest.raises(WorkflowError, match="loops back"):
        to_api(workflow, info)


def test_a_legacy_group_node_says_how_to_convert_it(info):
    workflow = official("default")
    workflow["nodes"][0]["type"] = "workflow>sampler"
    with pytest.raises(WorkflowError, match=r"is a legacy group node: .*convert the group node to a subgraph"):
        to_api(workflow, info)

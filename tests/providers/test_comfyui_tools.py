"""tools/record_object_info.py and tools/check_templates_live.py, run as a user runs them, against the ComfyUI
double (tests/providers/servers/comfyui.py) serving on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests
from servers.comfyui import FakeComfyUI

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).with_name("data") / "comfyui_ui"


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "core"), str(REPO / "backend")])}
    return subprocess.run([sys.executable, str(REPO / "tools" / name), *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_record_object_info_writes_the_servers_catalogue(comfy, tmp_path):
    fake = comfy()
    out = tmp_path / "rec" / "object_info.json"
    done = tool("record_object_info.py", fake.url, str(out))
    assert done.returncode == 0, done.stderr
    served = requests.get(f"{fake.url}/object_info", timeout=5).json()
    recorded = json.loads(out.read_text())
    assert recorded == served and list(recorded) == list(served)  # order kept: input order matters
    assert f"{len(served)} node classes" in done.stdout


def test_record_object_info_says_when_nothing_answers(tmp_path):
    done = tool("record_object_info.py", "http://127.0.0.1:9", str(tmp_path / "x.json"))
    assert done.returncode != 0 and "cannot be reached" in done.stderr
    assert not (tmp_path / "x.json").exists()


def test_check_templates_live_accepts_the_builtins_and_cleans_up(comfy):
    fake = comfy()
    done = tool("check_templates_live.py", fake.url)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    names = sorted(p.stem for p in (REPO / "backend/shotbridge_backend/providers/workflows").glob("*.json"))
    assert sorted(line.split(":")[0] for line in lines[:-1]) == names
    assert all(line.endswith(": accepted") for line in lines[:-1])
    assert lines[-1] == f"{len(names)} of {len(names)} templates accepted by {fake.url}"
    queued = [r for r in fake.requests if r["path"] == "/prompt" and r["method"] == "POST"]
    deleted = [r for r in fake.requests if r["path"] == "/queue" and r["method"] == "POST"]
    assert len(queued) == len(names) == len(deleted)  # every accepted prompt was taken off the queue


def test_check_templates_live_separates_missing_models_from_real_rejections(comfy, tmp_path):
    fake = comfy(models={}, missing=("VAEEncodeForInpaint",))
    folder = tmp_path / "workflows"
    (folder / "ui").mkdir(parents=True)
    (folder / "ui" / "nested.json").write_text((DATA / "nested_subgraphs.json").read_text())
    (folder / "nested_t2i.json").write_text(json.dumps({
        "name": "nested_t2i", "task": "text_to_image", "workflow": "ui/nested.json",
        "inputs": {"prompt": {"node": "10:1:1", "input": "text", "type": "text"}}, "outputs": ["9"]}))
    done = tool("check_templates_live.py", fake.url, "--workflows", str(folder))
    assert done.returncode == 1
    lines = {line.split(":")[0]: line for line in done.stdout.splitlines()[:-1]}
    assert lines["text_to_image"].startswith("text_to_image: accepted apart from missing models: ckpt_name "
                                            "'v1-5-pruned-emaonly-fp16.safetensors' (node 4, CheckpointLoaderSimple)")
    assert lines["nested_t2i"].startswith("nested_t2i: accepted apart from missing models: ckpt_name")
    assert "REJECTED" in lines["inpaint"] and "VAEEncodeForInpaint" in lines["inpaint"]


def test_providers_and_doctor_list_each_template_with_its_models(comfy, tmp_path):
    from shotbridge_backend.demo import EmbeddedBackend

    fake = comfy(models={**FakeComfyUI().models, "checkpoints": []})  # no SD checkpoint on this GPU
    folder = tmp_path / "workflows"
    (folder / "ui").mkdir(parents=True)
    (folder / "ui" / "nested.json").write_text((DATA / "nested_subgraphs.json").read_text())
    (folder / "nested_t2i.json").write_text(json.dumps({
        "name": "nested_t2i", "task": "text_to_image", "workflow": "ui/nested.json",
        "config": {"checkpoint": {"node": "4", "input": "ckpt_name"}},
        "inputs": {"prompt": {"node": "10:1:1", "input": "text", "type": "text"}}, "outputs": ["9"]}))
    toml = tmp_path / "providers.toml"
    toml.write_text(f'[providers.gpu]\ntype = "comfyui"\nurl = "{fake.url}"\nworkflows = "{folder}"\n')
    backend = EmbeddedBackend(tmp_path / "backend", env={"SHOTBRIDGE_PROVIDERS": str(toml)})
    backend.start().close()
    env = {**os.environ, "SHOTBRIDGE_URL": backend.url, "SHOTBRIDGE_CONFIG_DIR": str(backend.root / "config"),
           "SHOTBRIDGE_CACHE_DIR": str(tmp_path / "cache")}
    try:
        listing = subprocess.run([sys.executable, "-m", "shotbridge.cli", "providers"], env=env,
                                 capture_output=True, text=True, timeout=120)
        doctor = subprocess.run([sys.executable, "-m", "shotbridge.cli", "doctor"], env=env,
                                capture_output=True, text=True, timeout=120)
        operations = subprocess.run([sys.executable, "-m", "shotbridge.cli", "operations"], env=env,
                                    capture_output=True, text=True, timeout=120)
    finally:
        backend.stop()
    assert listing.returncode == 0, listing.stderr
    out = listing.stdout
    assert f"template nested_t2i (text_to_image, {folder / 'nested_t2i.json'}) [cannot run: " in out
    assert "template image_to_video (image_to_video, built-in) [ok]" in out
    assert "needs checkpoints/v1-5-pruned-emaonly-fp16.safetensors (MISSING)" in out
    assert "vae/wan_2.1_vae.safetensors (have)" in out
    nested = out.split("template nested_t2i (")[1].splitlines()[1]
    assert nested.strip() == "needs checkpoints/v1-5-pruned-emaonly-fp16.safetensors (MISSING)"
    assert "template text_to_image (text_to_image, built-in) [cannot run: " in out
    lines = doctor.stdout.splitlines()
    t2v = next(line for line in lines if "template gpu/image_to_video" in line)
    t2i = next(line for line in lines if "template gpu/nested_t2i" in line)
    assert "image_to_video: runs" in t2v
    gen = next(line for line in lines if "operation generate_image" in line)
    assert "via gpu (text_to_image_flux_kontext, text_to_image_qwen_edit)" in gen
    inpaint = next(line for line in lines if "operation inpaint" in line)
    assert "via local" in inpaint and "cannot: gpu: no inpaint template of gpu can run" in inpaint
    assert "text_to_image: ckpt_name 'v1-5-pruned-emaonly-fp16.safetensors' is not on this ComfyUI" in t2i
    # per operation, the templates that can run it: the Qwen and Kontext models are there, the SD checkpoint not
    assert operations.returncode == 0, operations.stderr
    ops = operations.stdout.split("\n")
    generate = ops[ops.index(next(line for line in ops if line.startswith("generate_image"))) + 1]
    assert generate.split() == ["gpu", "templates", "text_to_image_flux_kontext,", "text_to_image_qwen_edit", "[ok]"]
    assert any(line.split()[:1] == ["inpaint"] for line in ops)
    inpaint = ops[ops.index(next(line for line in ops if line.startswith("inpaint"))) + 1:][:2]
    assert any(line.split()[0] == "gpu" and "cannot run it now" in line and "ckpt_name" in line for line in inpaint)

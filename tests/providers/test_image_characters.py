"""generate_image with bible characters on the studio's ComfyUI, end to end: a real backend routed to the ComfyUI
double on 127.0.0.1 (which validates each graph as ComfyUI does and whose edit models keep the subjects of their
reference images). The references reach Qwen-Image-Edit, spread across the characters, and the identity gate
scores the real faces that come back; a server without the Qwen node runs Flux Kontext and every other
template; the operations listing and the routing say which provider and templates can run what."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from live import backend_on_comfyui
from PIL import Image

from shotbridge.errors import ApiError
from shotbridge.models import JobStatus

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
pytestmark = pytest.mark.skipif(not FACES.exists(), reason="../shared/faces is not beside the checkout")


def posted(fake) -> list[dict]:
    return [r["json"]["prompt"] for r in fake.requests if r["path"] == "/prompt" and r["method"] == "POST"]


def bible(client, name: str) -> str:
    project = client.create_project(name)
    client.add_character(project.id, "Obama", [FACES / "obama" / "obama.jpg", FACES / "obama" / "obama2.jpg"])
    client.add_character(project.id, "Rose", [FACES / "rose_leslie" / "img1.jpg", FACES / "rose_leslie" / "img2.jpg"])
    return project.id


def test_two_characters_reach_qwen_edit_spread_across_its_three_inputs_and_pass_the_gate(tmp_path):
    with backend_on_comfyui(tmp_path) as (_backend, client, fake):
        project = bible(client, "two-shot")
        job = client.run(project, "generate_image", {"prompt": "two-shot, rain", "characters": ["Obama", "Rose"],
                                                     "seed": 11, "width": 512, "height": 256})
        assert job.status == JobStatus.succeeded, job.error
        (graph,) = posted(fake)
        assert {n["class_type"] for n in graph.values()} >= {"TextEncodeQwenImageEditPlus", "EmptySD3LatentImage"}
        # three uploads, one per input, in turn from each character: Obama's best, Rose's best, Obama's second
        sent = [graph[n]["inputs"]["image"] for n in ("78", "120", "122")]
        by_name = {u["filename"]: u["data"] for u in fake.uploads}
        assert len(set(sent)) == 3
        originals = [(FACES / p).read_bytes() for p in ("obama/obama.jpg", "rose_leslie/img1.jpg", "obama/obama2.jpg")]
        def size(data: bytes) -> tuple[int, int]:
            return Image.open(io.BytesIO(data)).size

        assert [size(by_name[n]) for n in sent] == [size(o) for o in originals]
        identity = job.result["identity"]
        assert identity["passed"] is True and identity["attempts"] == 1  # both faces found in the two-shot
        assert job.result["warnings"] == []

        operations = {o.name: o for o in client.operations()}
        (route,) = operations["generate_image"].routes
        assert route.provider == "gpu" and route.available
        assert {"text_to_image_qwen_edit", "text_to_image_flux_kontext"} <= set(route.templates)


def test_a_server_without_the_qwen_node_runs_flux_kontext_and_routing_says_who_can(tmp_path):
    with backend_on_comfyui(tmp_path, missing=("TextEncodeQwenImageEditPlus", "VAEEncodeForInpaint")) as (
            _backend, client, fake):
        providers = {p.name: p for p in client.providers()}
        gpu = providers["gpu"]
        assert gpu.available  # two templates cannot run; the provider and its other templates can
        templates = {t.name: t for t in gpu.templates}
        assert not templates["text_to_image_qwen_edit"].available
        assert "TextEncodeQwenImageEditPlus" in templates["text_to_image_qwen_edit"].reason
        assert not templates["inpaint"].available and templates["text_to_image_flux_kontext"].available

        operations = {o.name: o for o in client.operations()}
        (route,) = operations["generate_image"].routes
        assert "text_to_image_qwen_edit" not in route.templates and "text_to_image_flux_kontext" in route.templates
        inpaint = {r.provider: r for r in operations["inpaint"].routes}
        assert inpaint["local"].available and not inpaint["gpu"].available
        assert "VAEEncodeForInpaint" in inpaint["gpu"].reason

        project = bible(client, "kontext")
        job = client.run(project, "generate_image", {"prompt": "portrait", "characters": ["Obama"], "seed": 5,
                                                     "width": 256, "height": 256})
        assert job.status == JobStatus.succeeded, job.error
        (graph,) = posted(fake)
        assert "FluxKontextMultiReferenceLatentMethod" in {n["class_type"] for n in graph.values()}
        assert job.result["identity"]["passed"] is True

        # a job sent to a provider that cannot run it now is refused naming the one that can
        mask = client.upload(project, FACES / "obama" / "obama.jpg").sha256  # any image: routing comes first
        with pytest.raises(ApiError) as refused:
            client.submit(project, "inpaint", {"timeline": mask, "mask": mask}, provider="gpu")
        text = json.dumps(refused.value.__dict__, default=str)
        assert "VAEEncodeForInpaint" in text and "local can run 'inpaint' now" in text


def test_generate_image_with_characters_on_openai_sends_the_references_under_the_policy(tmp_path):
    from live import LiveServer
    from servers.openai import OpenAIDouble

    from shotbridge.models import DataKind, ProjectPolicy, ProviderGrant
    from shotbridge_backend.demo import EmbeddedBackend

    key = "sk-test-characters0123456789abcdWXYZ"
    double = OpenAIDouble(api_key=key)
    with LiveServer(double.app) as server:
        (tmp_path / "providers.toml").write_text(f'[providers.openai]\ntype = "openai"\napi_key = "env:T_KEY"\n'
                                                 f'url = "{server.url}"\nretention_days = 0\nbackoff = 0.01\n')
        backend = EmbeddedBackend(tmp_path / "backend", env={"SHOTBRIDGE_PROVIDERS": str(tmp_path / "providers.toml"),
                                                             "T_KEY": key})
        client = backend.start()
        try:
            project = bible(client, "cloud")
            # prompts only: the references may not leave, so nothing is sent at all
            client.set_policy(project, ProjectPolicy(grants=[ProviderGrant(provider="openai",
                                                                           data=[DataKind.prompt])]))
            with pytest.raises(ApiError) as refused:
                client.submit(project, "generate_image", {"prompt": "two-shot", "characters": ["Obama", "Rose"]},
                              provider="openai")
            assert refused.value.status == 403 and double.image_requests == []
            client.set_policy(project, ProjectPolicy(grants=[ProviderGrant(provider="openai")], identity_attempts=1))
            job = client.run(project, "generate_image", {"prompt": "two-shot", "characters": ["Obama", "Rose"],
                                                         "width": 1024, "height": 1024}, provider="openai")
        finally:
            client.close()
            backend.stop()
    assert job.status == JobStatus.succeeded, job.error
    (req,) = double.image_requests
    assert req.path == "/v1/images/edits" and [u.field for u in req.uploads] == ["image[]"] * 4
    sizes = [Image.open(io.BytesIO(u.data)).size for u in req.uploads]
    bible_order = ("obama/obama.jpg", "rose_leslie/img1.jpg", "obama/obama2.jpg", "rose_leslie/img2.jpg")
    assert sizes == [Image.open(FACES / p).size for p in bible_order]  # in turn from each character
    # the double paints no faces: the gate says so and the image is delivered marked as failing
    assert job.result["identity"]["passed"] is False and job.result["identity"]["attempts"] == 1
    assert any(o.name == "report.html" for o in job.outputs)

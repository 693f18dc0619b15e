"""Post each ShotBridge ComfyUI template to a real ComfyUI and report, per template, whether the server's own
validation accepts it apart from missing model files (run by hand, against the studio's server).

    python tools/check_templates_live.py http://gpu-host:8188 [--workflows FOLDER] [--token-env COMFY_TOKEN]

For each template (the built-in ones, then those of --workflows, as providers.toml's `workflows` adds them):
UI-format and official templates are converted against the server's /object_info; the request values are
injected (a short prompt, 64x64, 5 frames, a grey 64x64 PNG uploaded for every image input, five grey frames
as MPEG-4 for every video input); the graph is posted to /prompt. ComfyUI validates a prompt before queueing it: a rejection is reported with the server's
node errors, and a rejection whose every error is a model file the server does not have counts as accepted
apart from those models (listed, so a pipeline TD knows what to download). An accepted prompt is taken off
the queue and interrupted at once, so nothing runs for long. Exit status 0 when every template is accepted
(apart from models), 1 otherwise.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / d) for d in ("backend", "core")]

from shotbridge_backend.providers.base import GenerationRequest, Task  # noqa: E402
from shotbridge_backend.providers.comfyui import ComfyUIProvider, Template, TemplateError, load_templates  # noqa: E402

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx", ".pt2")


@dataclass
class Verdict:
    template: str
    accepted: bool
    detail: str = ""
    missing_models: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.accepted and self.missing_models:
            return f"{self.template}: accepted apart from missing models: {', '.join(self.missing_models)}"
        return f"{self.template}: {'accepted' if self.accepted else 'REJECTED'}{': ' + self.detail if self.detail else ''}"


class Server:
    def __init__(self, url: str, token: str | None, timeout: float):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, headers=self.headers, timeout=self.timeout)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, headers=self.headers, timeout=self.timeout, **kwargs)


def grey_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(buf, "PNG")
    return buf.getvalue()


def grey_movie() -> bytes:
    """Five grey 64x64 frames as MPEG-4, for templates that load a video (LoadVideo)."""
    import tempfile

    import cv2
    import numpy as np

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grey.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 16.0, (64, 64))
        for _ in range(5):
            writer.write(np.full((64, 64, 3), 128, np.uint8))
        writer.release()
        return path.read_bytes()


def model_error(error: dict[str, Any], template: Template) -> str | None:
    """'input value (node N)' when a node error is a model file the server lacks, else None."""
    if error.get("type") != "value_not_in_list":
        return None
    extra = error.get("extra_info") or {}
    value, name = str(extra.get("received_value", "")), str(extra.get("input_name", ""))
    is_setting = any(s.input == name for s in template.settings.values())
    if is_setting or value.lower().endswith(MODEL_SUFFIXES):
        return f"{name} {value!r}"
    return None


def check(server: Server, adapter: ComfyUIProvider, template: Template, info: dict[str, Any],
          upload: dict[str, str]) -> Verdict:
    values = adapter.setting_values(template)
    if template.ui is not None:
        from shotbridge_backend.providers.comfyui_templates import bind_template

        try:
            template, values = bind_template(template, info, values)
        except TemplateError as exc:
            return Verdict(template.name, False, f"cannot be converted for this server: {exc}")
    video = template.task in (Task.image_to_video, Task.video_edit, Task.outpaint_video, Task.video_inpaint)
    request = GenerationRequest(template.task, prompt="a grey test card", negative_prompt="", width=64, height=64,
                                seed=1, frames=5 if video else 0, fps=16.0)
    uploads = {p.name: upload[p.type] for p in template.points.values() if p.name in template.image_points()}
    graph = adapter.build_graph(template, request, 1, uploads, values, info)
    response = server.post("/prompt", json={"prompt": graph, "client_id": uuid.uuid4().hex})
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict) and body.get("prompt_id"):
        prompt_id = body["prompt_id"]
        server.post("/queue", json={"delete": [prompt_id]})
        server.post("/interrupt", json={"prompt_id": prompt_id})
        if body.get("node_errors"):
            return Verdict(template.name, False, f"some outputs failed validation: {body['node_errors']}")
        return Verdict(template.name, True)
    error = body.get("error") if isinstance(body, dict) else None
    node_errors = body.get("node_errors") if isinstance(body, dict) else None
    models, others = [], []
    for node_id, node in (node_errors or {}).items():
        for err in node.get("errors") or []:
            found = model_error(err, template)
            if found:
                models.append(f"{found} (node {node_id}, {node.get('class_type')})")
            else:
                extra = err.get("extra_info") or {}
                others.append(f"node {node_id} ({node.get('class_type')}) {extra.get('input_name', '')}: "
                              f"{err.get('message')}: {err.get('details')}")
    if models and not others:
        return Verdict(template.name, True, missing_models=models)
    head = error.get("message") if isinstance(error, dict) else str(error or response.status_code)
    detail = "; ".join(others) or (error.get("details") if isinstance(error, dict) else "") or ""
    return Verdict(template.name, False, f"{head}{': ' + detail if detail else ''}", models)


def run(url: str, *, workflows: str | None = None, token: str | None = None, timeout: float = 60.0) -> list[Verdict]:
    server = Server(url, token, timeout)
    try:
        response = server.get("/object_info")
    except requests.RequestException as exc:
        raise SystemExit(f"{url} cannot be reached ({type(exc).__name__}): is ComfyUI running there?") from exc
    if response.status_code != 200:
        raise SystemExit(f"{url} answered /object_info with {response.status_code}")
    info = response.json()
    try:
        templates = load_templates(workflows)
    except TemplateError as exc:
        raise SystemExit(f"templates: {exc}") from exc
    adapter = ComfyUIProvider("live-check", {"url": url})
    names = {}
    for kind, filename, data, media in (("image", "shotbridge_check.png", grey_png(), "image/png"),
                                        ("video", "shotbridge_check.mp4", grey_movie(), "video/mp4")):
        answer = server.post("/upload/image", files={"image": (filename, data, media)}, data={"overwrite": "true"})
        if answer.status_code != 200:
            raise SystemExit(f"{url} refused the test {kind} upload ({answer.status_code}): {answer.text[:200]}")
        uploaded = answer.json()
        names[kind] = f"{uploaded['subfolder']}/{uploaded['name']}" if uploaded.get("subfolder") else uploaded["name"]
    return [check(server, adapter, t, info, names) for t in templates.values()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the ComfyUI server, e.g. http://gpu-host:8188")
    parser.add_argument("--workflows", help="a folder of the studio's own templates (as in providers.toml)")
    parser.add_argument("--token-env", help="environment variable holding a bearer token for a proxy in front")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    # notes on UI-format templates read leniently (a server default for a widget the workflow predates)
    logging.basicConfig(level=logging.WARNING, format="note: %(message)s")
    token = os.environ.get(args.token_env) if args.token_env else None
    verdicts = run(args.url, workflows=args.workflows, token=token, timeout=args.timeout)
    for verdict in verdicts:
        print(verdict.line())
    accepted = sum(v.accepted for v in verdicts)
    print(f"{accepted} of {len(verdicts)} templates accepted by {args.url}")
    return 0 if accepted == len(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())

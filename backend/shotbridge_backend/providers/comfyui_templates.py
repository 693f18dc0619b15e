"""Workflow templates whose graph is a UI-format workflow (File > Save) or an official ComfyUI template.

A template file may replace its API-format "prompt" with one of:
  "workflow": "my_workflow.json"     a UI-format workflow, relative to the template file (or absolute)
  "official": "video_wan_vace_14B_ref2v"   a template of the `comfyui-workflow-templates` package installed
                                      here (pick the release the server pins in its requirements)
plus the same injection map as always ("inputs", "config", "outputs", "model"). Keep UI workflow files in a
subfolder: every .json at the top of the workflows folder is read as a template. Node ids in the map are those
of the converted graph: a node inside subgraph instance 75 is "75:12" (nested: "75:3:12").

The graph depends on the server (widget order comes from its /object_info), so it is made when a server is
known: `bind_template` converts it (cached per /object_info answer) and checks the injection map against
the result with the same rules as an API-format template. Until then the template carries its injection
map (checked for form only) and an empty prompt.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shotbridge.models import ProviderTemplate, TemplateModel

from .comfyui import Template, TemplateError, check_template, template_from_doc
from .comfyui_ui import WorkflowError, is_ui_workflow, load_workflow, to_api

log = logging.getLogger(__name__)
UI_KEYS = ("workflow", "official")
UNBOUND = "<from the workflow>"  # a setting's default before the workflow is converted for a server
_CACHE_SIZE = 64


@dataclass(frozen=True)
class UiSource:
    doc: dict[str, Any]  # the template file as read
    workflow: dict[str, Any]  # the UI-format workflow
    origin: str  # what it came from: a file path or "official template NAME (comfyui-workflow-templates X)"


_bound: dict[tuple[int, int], tuple[Template, dict[str, Any]]] = {}
_lock = threading.Lock()
_noted: set[tuple[str, str]] = set()


def is_ui_template(doc: Any) -> bool:
    """A template with a UI-format source, or a bare UI workflow (which `ui_template` refuses, saying why)."""
    return isinstance(doc, dict) and "prompt" not in doc and (any(k in doc for k in UI_KEYS) or is_ui_workflow(doc))


def templates_package() -> Any:
    """The installed `comfyui_workflow_templates` module; TemplateError says how to install it."""
    try:
        import comfyui_workflow_templates
    except ImportError:
        raise TemplateError("official ComfyUI templates need the 'comfyui-workflow-templates' package: pip install "
                            "the release your ComfyUI pins in its requirements.txt") from None
    return comfyui_workflow_templates


def official_folder() -> Path:
    return Path(templates_package().get_templates_path())


def official_names() -> list[str]:
    """The official templates' names (index files left out)."""
    return sorted(p.stem for p in official_folder().glob("*.json") if not p.stem.startswith("index"))


def official_workflow(name: str) -> tuple[dict[str, Any], str]:
    """(UI workflow, origin) of an official template by name; TemplateError suggests close names."""
    folder = official_folder()
    path = folder / f"{name}.json"
    if not name or "/" in name or "\\" in name or not path.is_file():
        close = difflib.get_close_matches(name, official_names(), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise TemplateError(f"there is no official ComfyUI template '{name}' in the installed "
                            f"comfyui-workflow-templates {_version()}{hint}")
    try:
        return load_workflow(path), f"official template {name} (comfyui-workflow-templates {_version()})"
    except WorkflowError as exc:
        raise TemplateError(str(exc)) from exc


def official_models(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """The model files an official template lists (node properties "models": name, url, directory), once each,
    from the root graph and every subgraph."""
    subgraphs = (workflow.get("definitions") or {}).get("subgraphs") or []
    nodes = [*(workflow.get("nodes") or []), *(n for s in subgraphs for n in s.get("nodes") or [])]
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for node in nodes:
        for model in (node.get("properties") or {}).get("models") or []:
            if isinstance(model, dict) and model.get("name"):
                seen.setdefault((str(model.get("directory", "")), str(model["name"])), model)
    return list(seen.values())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("comfyui-workflow-templates")
    except PackageNotFoundError:
        return "(version unknown)"


def ui_template(path: Path, doc: dict[str, Any], *, builtin: bool = False) -> Template:
    """A template whose graph is made per server. Its injection map is checked for form now (against a stand-in
    graph that has every node and input it names) and against the real graph by `bind_template`."""
    where = str(path)
    if is_ui_workflow(doc):
        raise TemplateError(f"{where} is a ComfyUI workflow, not a template: keep it in a subfolder (every .json at "
                            "the top of the workflows folder is a template) and add a template file with "
                            "\"workflow\": \"<subfolder>/<file>\" and its injection map (docs/comfyui.md)")
    if "workflow" in doc and "official" in doc:
        raise TemplateError(f"{where}: give either 'workflow' (a UI-format file) or 'official' (a template name), "
                            "not both")
    if "official" in doc:
        name = doc["official"]
        if not isinstance(name, str):
            raise TemplateError(f"{where}: 'official' must be the name of an official ComfyUI template")
        workflow, origin = official_workflow(name)
    else:
        file = doc["workflow"]
        if not isinstance(file, str) or not file:
            raise TemplateError(f"{where}: 'workflow' must name a UI-format workflow file (File > Save in ComfyUI)")
        source = (path.parent / file).expanduser()
        try:
            workflow = load_workflow(source)
        except WorkflowError as exc:
            raise TemplateError(f"{where}: {exc}") from exc
        origin = str(source)
    if not is_ui_workflow(workflow):
        raise TemplateError(f"{where}: {origin} is not a UI-format workflow")
    standin: dict[str, dict[str, Any]] = {}
    named = [*(doc.get("inputs") or {}).values(), *(doc.get("config") or {}).values()]
    for spec in named:
        if isinstance(spec, dict) and isinstance(spec.get("input"), str):
            node = standin.setdefault(str(spec.get("node", "")), {"class_type": "?", "inputs": {}})
            node["inputs"][spec["input"]] = spec.get("default", UNBOUND)
    for out in doc.get("outputs") or []:
        standin.setdefault(str(out), {"class_type": "?", "inputs": {}})
    for spec in (doc.get("inputs") or {}).values():  # nodes an optional image bypasses: a linked input each
        bypass = spec.get("bypass") if isinstance(spec, dict) else None
        for node_id, input_name in (bypass or {}).items() if isinstance(bypass, dict) else ():
            if isinstance(input_name, str):
                node = standin.setdefault(str(node_id), {"class_type": "?", "inputs": {}})
                node["inputs"][input_name] = [str(node_id), 0]
    template = template_from_doc({**doc, "prompt": standin or {"-": {"class_type": "?", "inputs": {}}}}, where,
                                 builtin=builtin)
    return replace(template, prompt={}, ui=UiSource(doc, workflow, origin))


def bind_template(template: Template, info: dict[str, Any],
                  values: dict[str, Any] | None = None) -> tuple[Template, dict[str, Any]]:
    """The template with its graph converted for a server with this /object_info, and `values` (setting
    values) with the workflow's own value for every setting that providers.toml leaves at its default.
    TemplateError names the template file, the node and the widget when the workflow does not fit."""
    source: UiSource = template.ui
    key = (id(source), id(info))
    with _lock:
        hit = _bound.get(key)
    if hit is None or hit[1] is not info:
        notes: list[str] = []
        try:
            prompt = to_api(source.workflow, info, where=f"{template.source}: {source.origin}", notes=notes)
        except WorkflowError as exc:
            raise TemplateError(str(exc)) from exc
        for note in notes:  # read as the ComfyUI frontend would, but worth a look (once, not per health check)
            if (template.source, note) not in _noted:
                _noted.add((template.source, note))
                log.warning("template %s: %s", template.name, note)
        bound = template_from_doc({**source.doc, "prompt": prompt}, template.source, builtin=template.builtin)
        bound = replace(bound, ui=source)
        with _lock:
            if len(_bound) >= _CACHE_SIZE:
                _bound.clear()
            _bound[key] = (bound, info)
    else:
        bound = hit[0]
    fixed = {name: (bound.settings[name].default if value == UNBOUND and name in bound.settings else value)
             for name, value in (values or {}).items()}
    return bound, fixed


# -- what a template needs, and what the server has ------------------------------------------------------------

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")
# (loader class, input) -> the ComfyUI models folder its file goes in; other inputs are shown by input name
FOLDERS = {("CheckpointLoaderSimple", "ckpt_name"): "checkpoints", ("ImageOnlyCheckpointLoader", "ckpt_name"):
           "checkpoints", ("UNETLoader", "unet_name"): "diffusion_models", ("VAELoader", "vae_name"): "vae",
           ("CLIPLoader", "clip_name"): "text_encoders", ("DualCLIPLoader", "clip_name1"): "text_encoders",
           ("DualCLIPLoader", "clip_name2"): "text_encoders", ("CLIPVisionLoader", "clip_name"): "clip_vision",
           ("LoraLoader", "lora_name"): "loras", ("LoraLoaderModelOnly", "lora_name"): "loras",
           ("ControlNetLoader", "control_net_name"): "controlnet", ("UpscaleModelLoader", "model_name"):
           "upscale_models", ("StyleModelLoader", "style_model_name"): "style_models"}


def official_sizes() -> dict[str, float]:
    """Template name -> its total model download in GB, from the official package's index.json (0.1.95 gives
    no per-file sizes)."""
    try:
        index = json.loads((official_folder() / "index.json").read_text(encoding="utf-8"))
    except (TemplateError, OSError, ValueError):
        return {}
    sizes = {}
    for group in index if isinstance(index, list) else []:
        for entry in group.get("templates") or [] if isinstance(group, dict) else []:
            if isinstance(entry, dict) and isinstance(entry.get("size"), int | float):
                sizes[str(entry.get("name"))] = float(entry["size"])
    return sizes


def server_files(info: dict[str, Any]) -> set[str]:
    """Every value of every combo input the server lists: its model files (and input files) by name."""
    found: set[str] = set()
    for entry in info.values():
        for group in ("required", "optional"):
            for spec in ((entry.get("input") or {}).get(group) or {}).values():
                if isinstance(spec, list | tuple) and spec:
                    choices = spec[0] if isinstance(spec[0], list) else (
                        (spec[1].get("options") or []) if spec[0] == "COMBO" and len(spec) > 1
                        and isinstance(spec[1], dict) else [])
                    found.update(str(c) for c in choices)
    return found


def model_needs(template: Template, values: dict[str, Any], info: dict[str, Any] | None) -> list[TemplateModel]:
    """The model files a template needs: those its workflow lists (official templates name each with its
    folder and download address), then the model settings providers.toml or the template sets."""
    have = server_files(info) if info is not None else None
    needs: dict[str, TemplateModel] = {}
    if template.ui is not None:
        for model in official_models(template.ui.workflow):
            name = str(model["name"])
            needs[name] = TemplateModel(name=name, folder=str(model.get("directory") or ""),
                                        url=str(model.get("url") or ""), present=None if have is None else name in have)
    for setting in template.settings.values():
        value = values.get(setting.name)
        if isinstance(value, str) and value.lower().endswith(MODEL_SUFFIXES) and value not in needs:
            cls = (template.prompt.get(setting.node) or {}).get("class_type", "")
            needs[value] = TemplateModel(name=value, folder=FOLDERS.get((cls, setting.input), setting.input),
                                         present=None if have is None else value in have)
    return list(needs.values())


def template_report(templates: list[Template], info: dict[str, Any] | None,
                    setting_values: Any) -> list[ProviderTemplate]:
    """Per template: whether it can run on a server with this /object_info (None: not reached), and the model
    files it needs with whether the server has each. One template's problem never hides another's state."""
    sizes = official_sizes() if any(t.ui is not None and "official" in t.ui.doc for t in templates) else {}
    report = []
    for template in sorted(templates, key=lambda t: (t.task.value, t.name)):
        values = setting_values(template)
        reason = "not checked: the server did not answer" if info is None else \
            check_template(template, info, values)
        reason = reason.removeprefix(f"template {template.name}: ")  # the report is per template already
        shown = template
        if info is not None and template.ui is not None:
            with contextlib.suppress(TemplateError):  # a workflow that does not convert lists its own models
                shown, values = bind_template(template, info, values)
        official = template.ui.doc.get("official") if template.ui is not None else None
        source = f"official {official}" if official else ("built-in" if template.builtin else template.source)
        models = model_needs(shown, values, info)
        derived = _derived_name(template)
        if derived:  # an API graph derived from an official template: its model list says where to download
            source += f", derived from official {derived}"
            _add_urls(models, derived)
        report.append(ProviderTemplate(name=template.name, task=template.task.value, source=source,
                                       available=not reason, reason=reason,
                                       size_gb=sizes.get(official) if official else None, models=models))
    return report


def _derived_name(template: Template) -> str:
    """The official template a graph was derived from ("official NAME (package X)" -> NAME), or ""."""
    words = template.derived_from.split()
    return words[1] if len(words) > 1 and words[0] == "official" else ""


def _add_urls(models: list[TemplateModel], official: str) -> None:
    """Download addresses from the official template's model list (when the package is installed here)."""
    try:
        listed = {str(m["name"]): m for m in official_models(official_workflow(official)[0])}
    except TemplateError:
        return
    for model in models:
        known = listed.get(model.name)
        if known and not model.url:
            model.url = str(known.get("url") or "")


__all__ = ["UNBOUND", "UiSource", "bind_template", "is_ui_template", "model_needs", "official_models",
           "official_names", "official_workflow", "server_files", "template_report", "templates_package",
           "ui_template"]

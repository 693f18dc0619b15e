"""ComfyUI workflows as the UI saves them (File > Save), turned into the API format a server runs.

A UI workflow holds nodes with `widgets_values` (values by position, not by name), links as lists, virtual
nodes (notes, reroutes, primitive nodes), bypassed and muted nodes, and subgraphs (`definitions.subgraphs`,
nested to any depth) whose instances appear as nodes of the subgraph's id. `to_api()` flattens all that into
`{id: {"class_type", "inputs", "_meta"}}` against a server's `/object_info`, following the rules of the ComfyUI
frontend that matches ComfyUI 0.3.64 (comfyui-frontend-package 1.27.10: graphToPrompt and ExecutableNodeDTO):

- widgets are built per input in the server's declared order (`input_order`: required, optional, then any
  input the frontend adds, such as the `upload` button of image inputs); an INT input named seed or
  noise_seed, or any input with control_after_generate, is followed by a "control_after_generate" widget, and a
  combo with control also by a "control_filter_list" widget. Control and upload widgets take a slot in
  `widgets_values` but are never sent. List values go as {"__value__": [...]}; a text input with dynamicPrompts
  has its comments stripped and each {a|b} choice resolved.
- a linked input replaces the widget value; the link is followed through reroutes, bypassed nodes (mode 4:
  the input of the same slot if its type fits, else the first input of exactly the wanted type, else the
  first that fits), subgraph boundaries and primitive nodes (their value).
- muted (mode 2) and bypassed nodes, notes, reroutes, primitives and subgraph instances are not sent; an
  input that leads to no sent node is dropped. Nodes inside a subgraph get the id "<instance id>:<inner id>"
  (one segment per level of nesting), the ids the server reports progress and errors under.

`WorkflowError` names the node (id, type, title) and the widget when a workflow cannot be read.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUBGRAPH_INPUT = -10  # origin id of links that start at a subgraph's input node
SUBGRAPH_OUTPUT = -20  # target id of links that end at a subgraph's output node
MUTED, BYPASSED = 2, 4  # LGraphEventMode.NEVER, LGraphEventMode.BYPASS
# Frontend-only node types: never sent to the server.
VIRTUAL = frozenset({"Note", "MarkdownNote", "Reroute", "PrimitiveNode"})
# Input types the frontend draws as widgets (everything else is a socket); a list spec is a combo.
WIDGET_TYPES = frozenset({"INT", "FLOAT", "BOOLEAN", "STRING", "COMBO", "MARKDOWN"})
UPLOAD_OPTIONS = ("image_upload", "video_upload", "animated_image_upload")
CONTROL_WIDGET = "control_after_generate"
FILTER_WIDGET = "control_filter_list"


class WorkflowError(ValueError):
    """A UI workflow cannot be converted; the message names the node (id, type, title) and the widget."""


CONTROL_VALUES = ("fixed", "increment", "decrement", "randomize", "increment-wrap")
# Node definitions the frontend's own extensions change (Comfy.Preview3D, Comfy.SaveGLB): an extra widget.
FRONTEND_WIDGETS = {"Preview3D": "image", "Preview3DAnimation": "image", "SaveGLB": "image"}
NO_DEFAULT = object()


@dataclass(frozen=True)
class Widget:
    name: str
    kind: str = ""  # INT, FLOAT, BOOLEAN, STRING, COMBO, or "" for the frontend's own widgets
    sent: bool = True  # control, filter, upload and refresh widgets hold a value but are never sent
    dynamic_prompts: bool = False
    default: Any = NO_DEFAULT
    low: float | None = None  # INT / FLOAT limits the server declares
    high: float | None = None
    choices: tuple[Any, ...] = ()  # COMBO choices, when they are a fixed list (not files the server has)

    def misfit(self, value: Any) -> str:
        """Why a saved value cannot belong to this widget ("" when it can): a shifted widgets_values list puts
        values of the wrong kind, outside the limits or outside the choices on the widgets after the shift.
        Such a value would also fail the server's own validation."""
        if self.name == CONTROL_WIDGET and not self.sent:
            ok = value in CONTROL_VALUES or isinstance(value, bool)  # old saves: a "randomize" toggle
            return "" if ok else f"which is not a control value ({', '.join(CONTROL_VALUES)})"
        if self.kind in ("INT", "FLOAT"):
            if not isinstance(value, int | float) or isinstance(value, bool):
                return f"which is not a number ({self.kind})"
            if self.low is not None and value < self.low:
                return f"below its minimum {self.low:g}"
            if self.high is not None and value > self.high:
                return f"above its maximum {self.high:g}"
            return ""
        if self.kind == "BOOLEAN":
            return "" if isinstance(value, bool) or value in (0, 1) else "which is not a BOOLEAN value"
        if self.kind == "STRING":
            return "" if value is None or isinstance(value, str) else "which is not a STRING value"
        if self.kind == "COMBO":
            if value is not None and not isinstance(value, str | int | float):
                return "which is not a COMBO value"
            if self.choices and value not in self.choices and not _file_like(value):
                shown = ", ".join(map(str, self.choices[:6])) + (", ..." if len(self.choices) > 6 else "")
                return f"which is not one of its choices ({shown})"
        return ""


FILE_RE = re.compile(r"[/\\]|\.[A-Za-z][A-Za-z0-9]{1,11}(\s*\[\w+\])?$")  # a folder, or an extension


def _file_like(value: Any) -> bool:
    """A file name (model, image, video): lists of those depend on what the server has, so they are not
    checked here (the server says which it lacks)."""
    return isinstance(value, str) and bool(FILE_RE.search(value))


def widgets_for(class_type: str, entry: dict[str, Any], *, keep_forced: bool = False) -> list[Widget]:
    """The widgets the frontend gives a node of this class, in `widgets_values` order (`keep_forced`: with
    a slot for each forceInput input, as workflows saved before those inputs lost their widget have)."""
    spec = entry.get("input") or {}
    required, optional = dict(spec.get("required") or {}), dict(spec.get("optional") or {})
    # Comfy.UploadImage: a combo with an upload option gets an extra `upload` input (a button widget).
    if any(_options(v).get(o) is True for v in required.values() for o in UPLOAD_OPTIONS if _is_combo(v)):
        required["upload"] = ["IMAGEUPLOAD", {}]
    if class_type in FRONTEND_WIDGETS:
        required[FRONTEND_WIDGETS[class_type]] = ["PREVIEW_3D", {}]
    order = entry.get("input_order") or {}
    names = [n for n in order.get("required") or [] if n in required]
    names += [n for n in order.get("optional") or [] if n in optional and n not in names]
    names += [n for n in [*required, *optional] if n not in names]
    widgets: list[Widget] = []
    for name in names:
        value = required.get(name, optional.get(name))
        options = _options(value)
        if options.get("forceInput"):
            if keep_forced:
                widgets.append(Widget(name, sent=False))
            continue
        kind = options.get("widgetType") or ("COMBO" if _is_combo(value) else _type(value))
        if kind in ("IMAGEUPLOAD", "PREVIEW_3D"):
            widgets.append(Widget(name, sent=False))
            continue
        if kind not in WIDGET_TYPES:
            continue
        default = options.get("default", NO_DEFAULT)
        if default is NO_DEFAULT and kind == "COMBO":
            choices = value[0] if isinstance(value[0], list) else options.get("options") or []
            default = choices[0] if choices else NO_DEFAULT
        choices: tuple[Any, ...] = ()
        if kind == "COMBO":
            listed = value[0] if isinstance(value[0], list) else options.get("options") or []
            if listed and not any(_file_like(c) for c in listed) and not options.get("remote"):
                choices = tuple(listed)
        widgets.append(Widget(name, kind, dynamic_prompts=kind == "STRING" and options.get("dynamicPrompts") is True,
                              default=default, choices=choices,
                              low=options.get("min") if kind in ("INT", "FLOAT") else None,
                              high=options.get("max") if kind in ("INT", "FLOAT") else None))
        remote = options.get("remote")
        if kind == "COMBO" and isinstance(remote, dict) and remote.get("refresh_button"):
            # useRemoteWidget: an "Auto-refresh after generation" toggle, then the refresh button
            widgets += [Widget("auto_refresh", sent=False), Widget("refresh", sent=False)]
        control = options.get("control_after_generate")
        if kind == "INT" and control is None:
            control = name in ("seed", "noise_seed")  # the frontend's legacy rule for seeds
        if control:
            widgets.append(Widget(CONTROL_WIDGET, sent=False))
            if kind == "COMBO":
                widgets.append(Widget(FILTER_WIDGET, sent=False))
    return widgets


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _type(spec: Any) -> str:
    return spec[0] if isinstance(spec, list | tuple) and spec and isinstance(spec[0], str) else ""


def _is_combo(spec: Any) -> bool:
    return isinstance(spec, list | tuple) and bool(spec) and (isinstance(spec[0], list) or spec[0] == "COMBO")


def _options(spec: Any) -> dict[str, Any]:
    return spec[1] if isinstance(spec, list | tuple) and len(spec) > 1 and isinstance(spec[1], dict) else {}


def _valid_connection(a: Any, b: Any) -> bool:
    """LiteGraph.isValidConnection: equal, either side any ('*' or empty), or a shared comma-separated type."""
    a, b = str(a or "").upper(), str(b or "").upper()
    if not a or not b or a == b or a == "*" or b == "*":
        return True
    return bool(set(a.split(",")) & set(b.split(",")))


def dynamic_prompt(text: str, rng: random.Random) -> str:
    """The frontend's dynamicPrompts: /* */ and // comments removed, each {a|b|c} replaced by one choice
    (nested choices too); \\{ \\} \\| stay literal."""
    text = re.sub(r"/\*[\s\S]*?\*/|//.*", "", text)
    out, _ = _expand(text, 0, rng, top=True)
    return re.sub(r"\\([{}|])", r"\1", out)


def _expand(text: str, i: int, rng: random.Random, *, top: bool) -> tuple[str, int]:
    out, options = "", []
    while i < len(text):
        char = text[i]
        i += 1
        if char == "\\" and i < len(text):
            out += "\\" + text[i]
            i += 1
        elif char == "{":
            chosen, i = _expand(text, i, rng, top=False)
            out += chosen
        elif char == "}" and not top:
            break
        elif char == "|" and not top:
            options.append(out)
            out = ""
        else:
            out += char
    if top:
        return out, i
    options.append(out)
    return options[rng.randrange(len(options))], i


# -- the graph as the UI stored it -------------------------------------------------------------------------


@dataclass
class _Link:
    origin: int
    origin_slot: int
    target: int
    target_slot: int
    type: str


@dataclass
class _Graph:
    """The root workflow or one subgraph definition."""

    nodes: dict[int, dict[str, Any]]
    links: dict[int, _Link]
    definition: dict[str, Any] | None = None  # the subgraph definition; None for the root


@dataclass
class _Exec:
    """One node as executed: a node of a graph, reached through a path of subgraph instances."""

    node: dict[str, Any]
    graph: _Graph
    path: tuple[str, ...]  # execution ids of the enclosing subgraph instances, outermost first
    instance: _Exec | None  # the subgraph instance this node sits in
    inputs: list[dict[str, Any]] = field(default_factory=list)  # {"name", "type", "link", "widget"?}

    @property
    def id(self) -> str:
        return ":".join([*self.path[-1:], str(self.node["id"])]) if self.path else str(self.node["id"])

    @property
    def mode(self) -> int:
        return int(self.node.get("mode") or 0)


def _links(raw: Any, where: str) -> dict[int, _Link]:
    found: dict[int, _Link] = {}
    for item in raw or []:
        try:
            if isinstance(item, list):
                link_id, origin, origin_slot, target, target_slot = (int(x) for x in item[:5])
                kind = str(item[5]) if len(item) > 5 else ""
            else:
                link_id, origin, origin_slot = int(item["id"]), int(item["origin_id"]), int(item["origin_slot"])
                target, target_slot, kind = int(item["target_id"]), int(item["target_slot"]), str(item.get("type", ""))
        except (KeyError, TypeError, ValueError, IndexError):
            raise WorkflowError(f"{where}: link {item!r} is not [id, origin, slot, target, slot, type]") from None
        found[link_id] = _Link(origin, origin_slot, target, target_slot, kind)
    return found


def _graph(doc: dict[str, Any], where: str, definition: dict[str, Any] | None = None) -> _Graph:
    nodes: dict[int, dict[str, Any]] = {}
    for node in doc.get("nodes") or []:
        if not isinstance(node, dict) or "id" not in node or not isinstance(node.get("type"), str):
            raise WorkflowError(f"{where}: a node without id or type ({str(node)[:80]})")
        nodes[int(node["id"])] = node
    return _Graph(nodes, _links(doc.get("links"), where), definition)


def is_ui_workflow(doc: Any) -> bool:
    """A UI-format workflow (File > Save), as opposed to an API-format prompt."""
    return isinstance(doc, dict) and isinstance(doc.get("nodes"), list) and "links" in doc


def describe(node: dict[str, Any], path: tuple[str, ...] = ()) -> str:
    """How errors name a node: its execution id, type and title."""
    node_id = ":".join([*path[-1:], str(node.get("id"))]) if path else str(node.get("id"))
    title = node.get("title")
    return f"node {node_id} ({node.get('type')}{f', titled {title!r}' if title else ''})"


class _Converter:
    def __init__(self, workflow: dict[str, Any], info: dict[str, Any], rng: random.Random, where: str):
        self.info, self.rng, self.where = info, rng, where
        self.notes: list[str] = []  # what was read leniently (defaults filled in, extra values ignored)
        self.definitions: dict[str, dict[str, Any]] = {}
        for sub in (workflow.get("definitions") or {}).get("subgraphs") or []:
            if isinstance(sub, dict) and isinstance(sub.get("id"), str):
                self.definitions[sub["id"]] = sub
        self.subgraphs = {sid: _graph(sub, f"{where}: subgraph {sub.get('name') or sid}", sub)
                          for sid, sub in self.definitions.items()}
        self.root = _graph(workflow, where)
        self.by_id: dict[str, _Exec] = {}
        self.order: list[_Exec] = []

    # -- flattening ------------------------------------------------------------------------------------

    def flatten(self, graph: _Graph, path: tuple[str, ...], instance: _Exec | None, depth: int = 0) -> None:
        if depth > 32:
            raise WorkflowError(f"{self.where}: subgraphs nest more than 32 deep (a subgraph contains itself?)")
        for node in graph.nodes.values():
            dto = _Exec(node, graph, path, instance)
            definition = self.definitions.get(node["type"])
            dto.inputs = self._instance_inputs(dto, definition) if definition else [
                {"name": i.get("name"), "type": i.get("type"), "link": i.get("link"), "widget": i.get("widget")}
                for i in node.get("inputs") or [] if isinstance(i, dict)]
            self.by_id[dto.id] = dto
            self.order.append(dto)
            if definition:
                self.flatten(self.subgraphs[node["type"]], (*path, dto.id), dto, depth + 1)

    def _instance_inputs(self, dto: _Exec, definition: dict[str, Any]) -> list[dict[str, Any]]:
        """A subgraph instance's inputs are its definition's; the saved instance may be stale, so each input's
        link is found by name (or by the link that targets that slot)."""
        saved = {i.get("name"): i for i in dto.node.get("inputs") or [] if isinstance(i, dict)}
        node_id = int(dto.node["id"])
        inputs = []
        for slot, spec in enumerate(definition.get("inputs") or []):
            link = (saved.get(spec.get("name")) or {}).get("link")
            if link is None:
                link = next((lid for lid, ln in dto.graph.links.items()
                             if ln.target == node_id and ln.target_slot == slot), None)
            inputs.append({"name": spec.get("name"), "type": spec.get("type"), "link": link})
        return inputs

    def promoted_widgets(self, dto: _Exec) -> dict[int, Any]:
        """Subgraph instance input slot -> its promoted widget's value: the inputs wired inside to a widget
        input hold, in order, the instance's widgets_values."""
        graph = self.subgraphs[dto.node["type"]]
        values = dto.node.get("widgets_values") or []
        slots = []
        for slot, spec in enumerate(graph.definition.get("inputs") or []):
            for link_id in spec.get("linkIds") or []:
                link = graph.links.get(int(link_id))
                target = graph.nodes.get(link.target) if link else None
                if target is None or link.target_slot >= len(target.get("inputs") or []):
                    continue
                if (target.get("inputs") or [])[link.target_slot].get("widget"):
                    slots.append(slot)
                    break
        if isinstance(values, list) and len(values) == len(slots):
            return dict(zip(slots, values, strict=True))
        return {}

    # -- link resolution -------------------------------------------------------------------------------

    def resolve_input(self, dto: _Exec, slot: int, seen: set[str], kind: str | None = None) -> tuple | None:
        """("link", origin id, slot) or ("value", v) for what feeds input `slot`, or None (nothing)."""
        key = f"{dto.id}[I]{slot}"
        if key in seen:
            raise WorkflowError(f"{self.where}: {describe(dto.node, dto.path)}: its input {slot} loops back to "
                                "itself through reroutes, bypassed nodes or subgraphs")
        seen.add(key)
        if slot >= len(dto.inputs):
            return None
        spec = dto.inputs[slot]
        if spec.get("link") is None:
            return None
        link = dto.graph.links.get(int(spec["link"]))
        if link is None:
            raise WorkflowError(f"{self.where}: {describe(dto.node, dto.path)} input '{spec.get('name')}' uses link "
                                f"{spec['link']}, which the workflow does not have")
        if dto.instance is not None and link.origin == SUBGRAPH_INPUT:
            outer = dto.instance
            if link.origin_slot >= len(outer.inputs):
                raise WorkflowError(f"{self.where}: {describe(outer.node, outer.path)} has no subgraph input "
                                    f"{link.origin_slot}")
            if outer.inputs[link.origin_slot].get("link") is None:
                promoted = self.promoted_widgets(outer)
                return ("value", promoted[link.origin_slot]) if link.origin_slot in promoted else None
            return self.resolve_input(outer, link.origin_slot, seen)
        origin_path = dto.path
        origin = self.by_id.get(":".join([*origin_path[-1:], str(link.origin)]) if origin_path else str(link.origin))
        if origin is None:
            raise WorkflowError(f"{self.where}: {describe(dto.node, dto.path)} input '{spec.get('name')}' is linked "
                                f"from node {link.origin}, which the workflow does not have")
        return self.resolve_output(origin, link.origin_slot, kind or str(spec.get("type") or ""), seen)

    def resolve_output(self, dto: _Exec, slot: int, kind: str, seen: set[str]) -> tuple | None:
        key = f"{dto.id}[O]{slot}"
        if key in seen:
            raise WorkflowError(f"{self.where}: {describe(dto.node, dto.path)}: output {slot} loops back to itself")
        seen.add(key)
        if dto.node["type"] == "PrimitiveNode":  # its applyToGraph sets the targets' widgets, whatever its mode
            values = dto.node.get("widgets_values") or []
            return ("value", values[0]) if values else None
        if dto.mode == BYPASSED:
            index = self._bypass_slot(dto, slot, kind)
            return None if index < 0 else self.resolve_input(dto, index, seen)
        if dto.node["type"] in self.definitions:
            return self._subgraph_output(dto, slot, kind, seen)
        if dto.node["type"] in VIRTUAL:
            return self.resolve_input(dto, slot, seen, kind) if slot < len(dto.inputs) else None
        return ("link", dto.id, slot)

    def _bypass_slot(self, dto: _Exec, slot: int, kind: str) -> int:
        """Which input a bypassed node passes to output `slot` for a target of type `kind`."""
        inputs = dto.inputs
        if kind in ("*", ""):
            return slot if len(inputs) > slot else 0
        outputs = dto.node.get("outputs") or []
        out_type = outputs[slot].get("type") if slot < len(outputs) else kind
        if slot < len(inputs) and _valid_connection(inputs[slot].get("type"), out_type) \
                and _valid_connection(inputs[slot].get("type"), kind):
            return slot
        for i, spec in enumerate(inputs):
            if spec.get("type") == kind:
                return i
        for i, spec in enumerate(inputs):
            if _valid_connection(spec.get("type"), out_type) and _valid_connection(spec.get("type"), kind):
                return i
        return -1

    def _subgraph_output(self, dto: _Exec, slot: int, kind: str, seen: set[str]) -> tuple | None:
        graph = self.subgraphs[dto.node["type"]]
        outputs = graph.definition.get("outputs") or []
        if slot >= len(outputs):
            raise WorkflowError(f"{self.where}: {describe(dto.node, dto.path)} has no output {slot}")
        link_ids = outputs[slot].get("linkIds") or []
        link = graph.links.get(int(link_ids[0])) if link_ids else None
        if link is None:
            return None
        if link.origin == SUBGRAPH_INPUT:  # an input wired straight through to an output
            return self.resolve_input(dto, link.origin_slot, seen)
        inner = self.by_id.get(f"{dto.id}:{link.origin}")
        if inner is None:
            raise WorkflowError(f"{self.where}: {describe(dto.node, dto.path)}: output {slot} comes from inner node "
                                f"{link.origin}, which its subgraph does not have")
        return self.resolve_output(inner, link.origin_slot, kind, seen)

    # -- nodes -----------------------------------------------------------------------------------------

    def node_inputs(self, dto: _Exec) -> dict[str, Any]:
        node, class_type = dto.node, dto.node["type"]
        widgets = widgets_for(class_type, self.info[class_type])
        values = node.get("widgets_values")
        inputs: dict[str, Any] = {}
        if isinstance(values, dict):  # some nodes save widgets by name
            known = {w.name for w in widgets if w.sent}
            for name, value in values.items():
                if name in known:
                    inputs[name] = value
        else:
            values = list(values or [])
            widgets, values = self._align(dto, widgets, values)
            for widget, value in zip(widgets, values, strict=True):
                if not widget.sent:
                    continue
                if widget.dynamic_prompts and isinstance(value, str):
                    value = dynamic_prompt(value, self.rng)
                inputs[widget.name] = {"__value__": value} if isinstance(value, list) else value
        for slot, spec in enumerate(dto.inputs):
            resolved = self.resolve_input(dto, slot, set())
            if resolved is None:
                continue
            if resolved[0] == "value":
                value = resolved[1]
                inputs[spec["name"]] = {"__value__": value} if isinstance(value, list) else value
            else:
                inputs[spec["name"]] = [resolved[1], resolved[2]]
        return inputs

    def _align(self, dto: _Exec, widgets: list[Widget], values: list[Any]) -> tuple[list[Widget], list[Any]]:
        """Pair saved values with this server's widgets as the frontend does: by position; a workflow saved when
        forceInput inputs still had a widget slot is migrated; widgets the workflow predates (trailing) keep the
        server's default; trailing values past the last widget (display-only widgets some nodes add after a
        run) are ignored. A value that does not fit its widget means the list is shifted: an error that names
        the node and the widget."""
        if len(values) != len(widgets):
            widgets = self._with_forced(dto, widgets, len(values))
        for widget, value in zip(widgets, values, strict=False):
            problem = widget.misfit(value)
            if problem:
                raise WorkflowError(self._mismatch(dto, widgets, values, f"widget '{widget.name}' gets "
                                                   f"{_short(value)}, {problem}"))
        if len(values) < len(widgets):
            missing = widgets[len(values):]
            lacking = [w.name for w in missing if w.sent and w.default is NO_DEFAULT]
            if lacking:
                raise WorkflowError(self._mismatch(dto, widgets, values, f"no value for widget(s) {', '.join(lacking)}"
                                                   ", which have no default"))
            values = [*values, *(w.default if w.sent else None for w in missing)]
            shown = ", ".join(f"{w.name}={w.default!r}" for w in missing if w.sent)
            if shown:
                self.notes.append(f"{describe(dto.node, dto.path)}: saved without widget(s) this server's "
                                  f"{dto.node['type']} has; using its defaults {shown}")
        elif len(values) > len(widgets):
            extra = ", ".join(repr(v)[:60] for v in values[len(widgets):])
            self.notes.append(f"{describe(dto.node, dto.path)}: value(s) {extra} past this server's last "
                              f"{dto.node['type']} widget are ignored, as the ComfyUI frontend does")
        return widgets, values[:len(widgets)]

    def _with_forced(self, dto: _Exec, widgets: list[Widget], count: int) -> list[Widget]:
        """migrateWidgetsValues: saves from before an input became forceInput kept a value slot for it."""
        migrated = widgets_for(dto.node["type"], self.info[dto.node["type"]], keep_forced=True)
        return migrated if len(migrated) == count and len(migrated) != len(widgets) else widgets

    def _mismatch(self, dto: _Exec, widgets: list[Widget], values: list[Any], detail: str) -> str:
        shown = ", ".join(w.name for w in widgets) or "none"
        return (f"{self.where}: {describe(dto.node, dto.path)} does not fit this server's {dto.node['type']}: "
                f"{detail} ({len(values)} saved value(s) for {len(widgets)} widget(s): {shown}). The workflow was "
                "saved with another version of this node: open it in this server's ComfyUI and save it again")

    def convert(self) -> dict[str, dict[str, Any]]:
        self.flatten(self.root, (), None)
        unknown = [dto for dto in self.order if dto.node["type"] not in VIRTUAL
                   and dto.node["type"] not in self.definitions and dto.node["type"] not in self.info
                   and dto.mode not in (MUTED, BYPASSED)]
        if unknown:
            dto = unknown[0]
            others = sorted({d.node["type"] for d in unknown} - {dto.node["type"]})
            more = f" (nor {', '.join(others)})" if others else ""
            if dto.node["type"].startswith(("workflow>", "workflow/")):
                raise WorkflowError(f"{self.where}: {describe(dto.node, dto.path)} is a legacy group node: open the "
                                    "workflow in ComfyUI, convert the group node to a subgraph, and save it again")
            raise WorkflowError(f"{self.where}: {describe(dto.node, dto.path)}: this ComfyUI has no node class "
                                f"'{dto.node['type']}'{more}; install the custom node that provides it, or "
                                "replace the node")
        output: dict[str, dict[str, Any]] = {}
        for dto in self.order:
            class_type = dto.node["type"]
            if class_type in VIRTUAL or class_type in self.definitions or dto.mode in (MUTED, BYPASSED):
                continue
            title = dto.node.get("title") or self.info[class_type].get("display_name") or class_type
            output[dto.id] = {"inputs": self.node_inputs(dto), "class_type": class_type, "_meta": {"title": title}}
        for node in output.values():  # inputs that lead to a node that is not sent
            for name, value in list(node["inputs"].items()):
                if isinstance(value, list) and len(value) == 2 and value[0] not in output:
                    del node["inputs"][name]
        return output


def to_api(workflow: dict[str, Any], info: dict[str, Any], *, rng: random.Random | None = None,
           where: str = "workflow", notes: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """The API-format prompt for a UI-format workflow on a server with this `/object_info`.

    `rng` resolves {a|b} choices in dynamic-prompt texts (a fresh one when not given, as the UI does per
    queue). `notes`, when given, receives what was read leniently, as the frontend reads it (a server default
    for a widget the workflow predates, values past the last widget ignored). Raises WorkflowError naming the
    node and widget when the workflow does not fit the server."""
    if not is_ui_workflow(workflow):
        raise WorkflowError(f"{where}: not a ComfyUI UI workflow (File > Save): it needs 'nodes' and 'links'")
    converter = _Converter(workflow, info, rng or random.Random(), where)
    graph = converter.convert()
    if notes is not None:
        notes.extend(converter.notes)
    return graph


def read_json(path: str | Path, error: type[Exception]) -> Any:
    """A JSON file's content; `error` names the file and what is wrong (unreadable, or not JSON, where)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc


def load_workflow(path: str | Path) -> dict[str, Any]:
    """Read a UI-format workflow file; WorkflowError says what is wrong with it."""
    doc = read_json(path, WorkflowError)
    if not is_ui_workflow(doc):
        raise WorkflowError(f"{path}: not a ComfyUI UI workflow (File > Save): it needs 'nodes' and 'links'")
    return doc


def node_classes(workflow: dict[str, Any]) -> set[str]:
    """The server node classes a UI workflow uses (virtual nodes and subgraph instances left out)."""
    subgraphs = (workflow.get("definitions") or {}).get("subgraphs") or []
    ids = {s.get("id") for s in subgraphs if isinstance(s, dict)}
    nodes = [*(workflow.get("nodes") or []), *(n for s in subgraphs if isinstance(s, dict) for n in s.get("nodes") or [])]
    return {n["type"] for n in nodes if isinstance(n, dict) and isinstance(n.get("type"), str)} - VIRTUAL - ids


__all__ = ["WorkflowError", "describe", "dynamic_prompt", "is_ui_workflow", "load_workflow", "node_classes",
           "to_api", "widgets_for"]

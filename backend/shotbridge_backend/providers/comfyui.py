"""`comfyui`: a ComfyUI server the studio runs on its own GPUs.

Each task runs a workflow template: a ComfyUI API-format graph with named injection points (prompt, seed,
width, image, mask, first_frame, ...) that say which node input receives which request value. Templates ship in
`workflows/`; a studio adds or replaces them by name with `workflows = "/path/to/folder"` in providers.toml.
See docs/comfyui.md for the format.

One run, on the wire (PROVIDERS.md section 1):
  GET /object_info (cached)   every class a template uses exists, with the inputs and models it sets
  POST /upload/image          each input, cleaned by the session, under a content-derived neutral name; once per
                              job (the same mask for every frame goes up once)
  WS /ws?clientId=C           opened BEFORE the first prompt is queued, so no message of ours is missed; one per
                              job, shared by its prompts
  POST /prompt                {"prompt": graph, "client_id": C, "prompt_id": P}
  GET /queue                  where P waits: the job says how many prompts are ahead of it (again at each
                              `status` message, until P starts)
  WS messages                 progress / progress_state -> session.progress; `executing` with node null and
                              our prompt_id = finished; execution_error / execution_interrupted = failed
  GET /queue, /history/P      without the WebSocket: one GET /queue per poll interval (position, or gone from
                              the queue), then /history/P for the outputs
  GET /view?filename=...      each output file
On cancel: POST /interrupt {"prompt_id": P} (stops it if running; interrupts land between nodes or sampler
steps) and POST /queue {"delete": [P]} (a pending prompt is not touched by /interrupt).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import logging
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import requests

from shotbridge.models import CostEstimate, DataKind, Provider, ProviderKind, ProviderTemplate
from shotbridge.safenames import safe_name

from ..operations.base import Canceled
from .base import (
    FIRST_FRAME,
    IMAGE,
    LAST_FRAME,
    MASK,
    REFERENCE,
    VIDEO,
    Generated,
    GenerationRequest,
    ProviderAdapter,
    ProviderError,
    ProviderFacts,
    ProviderTimeout,
    ProviderUnavailable,
    Task,
)
from .comfyui_ui import read_json

if TYPE_CHECKING:
    from .comfyui_pool import ServerPool
    from .session import ProviderSession

log = logging.getLogger(__name__)
# websockets logs the handshake headers at DEBUG, the Authorization header included: its logger for our
# connections never goes below INFO, whatever the application's logging configuration.
_ws_log = logging.getLogger(f"{__name__}.websocket")
_ws_log.setLevel(logging.INFO)

WORKFLOWS = Path(__file__).with_name("workflows")
IMAGE_POINTS = (IMAGE, MASK, REFERENCE, FIRST_FRAME, LAST_FRAME, VIDEO)
FILE_TYPES = ("image", "video")  # points that receive an uploaded file's name (LoadImage, LoadVideo)
PADS = ("pad_left", "pad_top", "pad_right", "pad_bottom")  # outpaint_video: pixels added on each side
MAX_REFERENCE_POINTS = 4
# Several references, each into its own node: reference_1..reference_4 take the request's references in order
# ("reference" alone is the first one, as before).
REFERENCE_POINTS = tuple(f"{REFERENCE}_{n}" for n in range(1, MAX_REFERENCE_POINTS + 1))
# frames_between: the frames between a first and a last frame (Wan VACE first/last frame: the grey run between them)
# Injection point -> the value types it may declare.
POINTS: dict[str, tuple[str, ...]] = {
    "prompt": ("text",), "negative_prompt": ("text",), "seed": ("seed", "int"), "width": ("int",),
    "height": ("int",), "frames": ("int",), "fps": ("int", "float"), "count": ("int",),
    **{role: ("image",) for role in (*IMAGE_POINTS, *REFERENCE_POINTS) if role != VIDEO}, VIDEO: ("video",),
    **{pad: ("int",) for pad in PADS}, "frames_between": ("int",),
}
TYPES = ("image", "video", "text", "int", "float", "seed")
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
MAX_SEED = 2**31 - 1  # ComfyUI takes up to 2**64-1; this range also suits the other providers' seeds
WS_POLL = 0.2  # seconds between cancel checks while waiting for a WebSocket message
HEALTH_TIMEOUT = 3.0  # seconds for /object_info from a server that has not answered it yet
KNOWN_HEALTH_TIMEOUT = 20.0  # once it has: a GPU server busy with a large graph can be slow to answer
UPLOADED = "comfyui.uploaded"  # session.state: sha256 of the bytes sent -> the name ComfyUI gave them
FINISHED = "comfyui.finished"  # session.state: called once the server has run a prompt (a pool frees the server)
SOCKET = "comfyui.socket"  # session.state: the job's progress WebSocket (client id, connection or None)
ERROR_CHARS = 600  # how much of a ComfyUI exception message goes into our error (tracebacks can be huge)
SECONDS_PER_UNIT = {Task.text_to_image: 6.0, Task.inpaint: 6.0, Task.remove_background: 1.0,
                    Task.image_to_video: 8.0, Task.image_edit: 8.0, Task.video_edit: 10.0,
                    Task.outpaint_video: 10.0, Task.video_inpaint: 10.0, Task.outpaint: 8.0}  # rough GPU-seconds per image / frame, for estimate()


class TemplateError(ValueError):
    """A workflow template file is wrong; the message names the file and the point or node."""


@dataclass(frozen=True)
class Point:
    """An injection point: which node input receives a request value."""

    name: str
    node: str
    input: str
    type: str
    optional: bool = False  # image points only: when the request lacks it, the nodes that need it are pruned
    step: int = 1  # numbers are rounded up to base + k * step (Wan wants length = 4k + 1, latents 8 px)
    base: int = 0
    # optional images only: (node, input) pairs bypassed when it is not given, as ComfyUI bypasses a node: what
    # linked to the node links to that input's source instead (an ImageBatch that loses one end of its batch)
    bypass: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Setting:
    """A node input filled from providers.toml (model file names): the first of `keys` set there, else default."""

    name: str
    node: str
    input: str
    keys: tuple[str, ...]
    default: Any


@dataclass(frozen=True)
class Template:
    name: str
    task: Task
    description: str
    points: dict[str, Point]
    settings: dict[str, Setting]
    outputs: tuple[str, ...]
    prompt: dict[str, Any]
    source: str  # the file it came from
    builtin: bool
    model: str | None = None  # the setting whose value is reported as Generated.model
    ui: Any = None  # a UI-format or official source (comfyui_templates.UiSource): prompt is made per server
    derived_from: str = ""  # the official template (and package release) a built-in graph was derived from

    def classes(self) -> set[str]:
        return {node["class_type"] for node in self.prompt.values()}

    def image_points(self) -> set[str]:
        return {p.name for p in self.points.values() if p.type in FILE_TYPES}

    def required_images(self) -> set[str]:
        return {p.name for p in self.points.values() if p.type in FILE_TYPES and not p.optional}

    def image_roles(self) -> set[str]:
        """The request roles its image points take (reference_1..N all take references)."""
        return {point_role(name) for name in self.image_points()}

    def required_roles(self) -> set[str]:
        return {point_role(name) for name in self.required_images()}

    def reference_slots(self) -> int:
        """How many reference images it takes, each into its own node."""
        return sum(1 for name in self.image_points() if point_role(name) == REFERENCE)


def point_role(point: str) -> str:
    """The request role an image point takes: reference_2 takes the second reference, other points their name."""
    return REFERENCE if point in REFERENCE_POINTS else point


def point_index(point: str) -> int:
    """Which of the role's inputs a point takes: reference_2 -> 1; every other point the first."""
    return int(point.rsplit("_", 1)[1]) - 1 if point in REFERENCE_POINTS else 0


# -- templates ---------------------------------------------------------------------------------------------


def load_template(path: Path, *, builtin: bool = False) -> Template:
    """Read and check one template file; TemplateError names the file and what is wrong in it."""
    where = str(path)
    doc = read_json(path, TemplateError)
    if not isinstance(doc, dict):
        raise TemplateError(f"{where}: must be a JSON object with name, task, inputs, outputs and prompt")
    from .comfyui_templates import is_ui_template, ui_template  # "workflow" / "official" instead of "prompt"

    if is_ui_template(doc):
        return ui_template(path, doc, builtin=builtin)
    return template_from_doc(doc, where, builtin=builtin)


def template_from_doc(doc: dict[str, Any], where: str, *, builtin: bool = False) -> Template:
    """A template from its parsed JSON (API-format prompt); TemplateError names `where` and what is wrong."""
    name = doc.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise TemplateError(f"{where}: 'name' must be a word of letters, digits, '_', '-' or '.'")
    try:
        task = Task(doc.get("task"))
    except ValueError:
        raise TemplateError(f"{where}: 'task' must be one of {', '.join(t.value for t in Task)}") from None
    prompt = doc.get("prompt")
    if not isinstance(prompt, dict) or not prompt:
        raise TemplateError(f"{where}: 'prompt' must be a ComfyUI API-format graph "
                            "({\"<id>\": {\"class_type\": ..., \"inputs\": {...}}}); export it with 'Save (API)'")
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) \
                or not isinstance(node.get("inputs"), dict):
            raise TemplateError(f"{where}: node '{node_id}' needs a class_type (string) and inputs (object)")
        for input_name, value in node["inputs"].items():
            if _is_link(value) and str(value[0]) not in prompt:
                raise TemplateError(f"{where}: node '{node_id}' input '{input_name}' links to node '{value[0]}', "
                                    "which is not in the prompt")
    points: dict[str, Point] = {}
    inputs = doc.get("inputs", {})
    if not isinstance(inputs, dict):
        raise TemplateError(f"{where}: 'inputs' must map injection point names to {{node, input, type}}")
    for point_name, spec in inputs.items():
        points[point_name] = _point(where, prompt, point_name, spec)
    numbered = sorted(point_index(n) + 1 for n in points if n in REFERENCE_POINTS)
    if numbered and REFERENCE in points:
        raise TemplateError(f"{where}: give either 'reference' or 'reference_1'..'reference_{MAX_REFERENCE_POINTS}', "
                            "not both ('reference' is the first reference)")
    if numbered != list(range(1, len(numbered) + 1)):
        raise TemplateError(f"{where}: reference points must be numbered from reference_1 without gaps (has "
                            f"{', '.join(f'reference_{n}' for n in numbered)})")
    settings: dict[str, Setting] = {}
    config = doc.get("config", {})
    if not isinstance(config, dict):
        raise TemplateError(f"{where}: 'config' must map setting names to {{node, input, default}}")
    for setting_name, spec in config.items():
        settings[setting_name] = _setting(where, prompt, setting_name, spec)
    outputs = doc.get("outputs")
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs):
        raise TemplateError(f"{where}: 'outputs' must list the ids of the nodes that save the results")
    for out in outputs:
        if out not in prompt:
            raise TemplateError(f"{where}: output '{out}' is not a node in the prompt")
    model = doc.get("model")
    if model is not None and model not in settings:
        raise TemplateError(f"{where}: 'model' names '{model}', which is not one of its config entries")
    derived = doc.get("derived_from", "")
    if not isinstance(derived, str):
        raise TemplateError(f"{where}: 'derived_from' must name the official template the graph comes from")
    return Template(name=name, task=task, description=str(doc.get("description", "")), points=points,
                    settings=settings, outputs=tuple(outputs), prompt=prompt, source=where, builtin=builtin,
                    model=model, derived_from=derived)


def _point(where: str, prompt: dict[str, Any], name: str, spec: Any) -> Point:
    if name not in POINTS:
        raise TemplateError(f"{where}: unknown injection point '{name}' (known: {', '.join(POINTS)})")
    if not isinstance(spec, dict):
        raise TemplateError(f"{where}: injection point '{name}' must be {{\"node\", \"input\", \"type\"}}")
    node, input_name, kind = str(spec.get("node", "")), spec.get("input"), spec.get("type")
    if node not in prompt:
        raise TemplateError(f"{where}: injection point '{name}' names node '{node}', which is not in the prompt")
    if input_name not in prompt[node]["inputs"]:
        raise TemplateError(f"{where}: injection point '{name}' names input '{input_name}' of node '{node}' "
                            f"({prompt[node]['class_type']}), which that node does not set; put a placeholder "
                            "value there")
    if _is_link(prompt[node]["inputs"][input_name]):
        raise TemplateError(f"{where}: injection point '{name}' targets node '{node}' input '{input_name}', "
                            "which is a link; point it at a literal input")
    if kind not in POINTS[name]:
        raise TemplateError(f"{where}: injection point '{name}' has type '{kind}'; it must be "
                            f"{' or '.join(POINTS[name])}")
    optional = bool(spec.get("optional", False))
    if optional and kind not in FILE_TYPES:
        raise TemplateError(f"{where}: injection point '{name}': only image inputs can be optional")
    step, base = spec.get("step", 1), spec.get("base", 0)
    if not isinstance(step, int) or step < 1 or not isinstance(base, int) or base < 0:
        raise TemplateError(f"{where}: injection point '{name}': step must be a positive integer, base >= 0")
    return Point(name, node, input_name, kind, optional, step, base, _bypass(where, prompt, name, spec, optional))


def _bypass(where: str, prompt: dict[str, Any], name: str, spec: dict[str, Any],
            optional: bool) -> tuple[tuple[str, str], ...]:
    bypass = spec.get("bypass", {})
    if not isinstance(bypass, dict) or not all(isinstance(v, str) for v in bypass.values()):
        raise TemplateError(f"{where}: injection point '{name}': 'bypass' must map node ids to the input each "
                            "passes on ({\"145\": \"image1\"})")
    if bypass and not optional:
        raise TemplateError(f"{where}: injection point '{name}': only an optional image can bypass nodes")
    for node_id, input_name in bypass.items():
        if not _is_link((prompt.get(str(node_id)) or {}).get("inputs", {}).get(input_name)):
            raise TemplateError(f"{where}: injection point '{name}' bypasses node '{node_id}' to its input "
                                f"'{input_name}', which is not a linked input of a node in the prompt")
    return tuple((str(k), v) for k, v in bypass.items())


def _setting(where: str, prompt: dict[str, Any], name: str, spec: Any) -> Setting:
    if not isinstance(spec, dict):
        raise TemplateError(f"{where}: config '{name}' must be {{\"node\", \"input\", \"default\"}}")
    node, input_name = str(spec.get("node", "")), spec.get("input")
    if node not in prompt or input_name not in prompt[node]["inputs"]:
        raise TemplateError(f"{where}: config '{name}' names node '{node}' input '{input_name}', which is not "
                            "in the prompt")
    keys = spec.get("keys", [name])
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise TemplateError(f"{where}: config '{name}': 'keys' must list providers.toml keys")
    return Setting(name, node, input_name, tuple(keys), spec.get("default", prompt[node]["inputs"][input_name]))


def load_templates(folder: str | Path | None = None) -> dict[str, Template]:
    """The built-in templates, then the user's folder: a user template replaces a built-in of the same name."""
    templates = {t.name: t for t in (load_template(p, builtin=True) for p in sorted(WORKFLOWS.glob("*.json")))}
    if folder:
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise TemplateError(f"workflows = '{folder}' is not a folder; point it at a folder of template .json "
                                "files")
        seen: dict[str, str] = {}
        for file in sorted(path.glob("*.json")):
            template = load_template(file)
            if template.name in seen:
                raise TemplateError(f"{file}: template name '{template.name}' is also used by {seen[template.name]}")
            seen[template.name] = str(file)
            templates[template.name] = template
    return templates


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int) \
        and isinstance(value[1], int) and not isinstance(value[1], bool)


def workflow_hash(graph: dict[str, Any]) -> str:
    """sha256 of the graph as sent (canonical JSON): the same hash means the same run."""
    return hashlib.sha256(json.dumps(graph, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# -- /object_info ------------------------------------------------------------------------------------------


def _class_inputs(entry: dict[str, Any]) -> dict[str, tuple[bool, Any]]:
    """input name -> (required?, spec) from an /object_info entry."""
    found: dict[str, tuple[bool, Any]] = {}
    spec = entry.get("input") or {}
    for group, required in (("required", True), ("optional", False)):
        for name, value in (spec.get(group) or {}).items():
            found[name] = (required, value)
    return found


def _choices(spec: Any) -> list[Any] | None:
    """The allowed values of a combo input: `[[a, b], {...}]` (classic nodes) or `["COMBO", {"options": [...]}]`
    (schema v3 nodes); None for other inputs."""
    if not isinstance(spec, list | tuple) or not spec:
        return None
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        return list(spec[1].get("options") or [])
    return None


def check_template(template: Template, info: dict[str, Any], values: dict[str, Any]) -> str:
    """Why this template cannot run on a ComfyUI with this /object_info ("" if it can): missing classes, inputs
    a class no longer takes, required inputs the graph does not set, models that are not installed."""
    if template.ui is not None:  # UI-format: converted against this server first (comfyui_templates)
        from .comfyui_templates import bind_template

        try:
            template, values = bind_template(template, info, values)
        except TemplateError as exc:
            return str(exc)
    missing = sorted(template.classes() - set(info))
    if missing:
        return (f"template {template.name} needs {', '.join(missing)}, which this ComfyUI does not have: install "
                "the custom node or register another template")
    problems = []
    for node_id, node in template.prompt.items():
        inputs = _class_inputs(info[node["class_type"]])
        for name, (required, _) in inputs.items():
            if required and name not in node["inputs"]:
                problems.append(f"node {node_id} ({node['class_type']}) needs input '{name}', which the template "
                                "does not set (a newer node version?)")
    for point in [*template.points.values(), *template.settings.values()]:
        cls = template.prompt[point.node]["class_type"]
        if point.input not in _class_inputs(info[cls]):
            problems.append(f"{cls} on this ComfyUI has no input '{point.input}' (used for '{point.name}')")
    for setting in template.settings.values():
        cls = template.prompt[setting.node]["class_type"]
        spec = _class_inputs(info[cls]).get(setting.input)
        choices = _choices(spec[1]) if spec else None
        value = values.get(setting.name)
        if choices is not None and value not in choices:
            have = ", ".join(map(str, choices[:8])) + (", ..." if len(choices) > 8 else "") or "none"
            problems.append(f"{setting.input} '{value}' is not on this ComfyUI (it has: {have}); set "
                            f"{setting.keys[0]} in providers.toml or install it")
    if problems:
        return f"template {template.name}: " + "; ".join(problems)
    return ""


# -- the adapter -------------------------------------------------------------------------------------------


@dataclass
class _Run:
    prompt_id: str
    graph: dict[str, Any]
    hash: str
    seed: int
    files: list[tuple[str, bytes]] = field(default_factory=list)  # (server filename, bytes)


class ComfyUIProvider(ProviderAdapter):
    type = "comfyui"
    kind = ProviderKind.onprem
    title = "ComfyUI (the studio's GPUs)"
    facts: ClassVar[ProviderFacts] = ProviderFacts(trains_on_inputs=False, retention_days=0, data_location="studio")
    tasks = frozenset(Task)
    accepts_references = True  # per instance: whether a reference-capable text_to_image template is loaded
    secret_keys = ("token",)  # optional: a bearer token for an authenticating proxy in front of ComfyUI

    def __init__(self, name: str, config: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(name, config, **kwargs)
        # A pool: `urls = [...]` (or `url` given a list); one url is one server, as before.
        urls = self.config.get("urls", self.config.get("url"))
        urls = [str(u) for u in urls] if isinstance(urls, list) else [str(urls or "")]
        self.url = urls[0].strip().rstrip("/")
        self.pool: ServerPool | None = None
        parts = urlsplit(self.url)
        # what messages show: never a user:password written into the url
        self.shown_url = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}" \
            if parts.hostname else self.url
        self.templates: dict[str, Template] = {}
        self._info: dict[str, Any] | None = None
        self._info_lock = threading.Lock()
        self._answered = False  # /object_info has been answered once: the server is known to be ComfyUI
        self.busy = ""  # set while the server is up but too busy to answer the health check in time
        # template name -> why it cannot run on the server (last health check or job); "" when it can. One
        # template that cannot run never makes the others, or the provider, unavailable.
        self.template_problems: dict[str, str] = {}
        problems = []
        if not self.url:
            problems.append(f"[providers.{name}] needs url = \"http://<gpu-host>:8188\" (where its ComfyUI listens)")
        elif urlsplit(self.url).scheme not in ("http", "https") or not urlsplit(self.url).hostname:
            problems.append(f"[providers.{name}] url '{self.shown_url}' must be an http:// or https:// address")
        try:
            self.templates = load_templates(self.config.get("workflows"))
        except TemplateError as exc:
            problems.append(f"[providers.{name}] workflows: {exc}")
        wanted = self.config.get("tasks")
        tasks = {t.task for t in self.templates.values()}
        if wanted is not None:
            try:
                tasks &= {Task(t) for t in wanted}
            except (TypeError, ValueError):
                problems.append(f"[providers.{name}] tasks must list some of: {', '.join(t.value for t in Task)}")
        self.tasks = frozenset(tasks)
        self.accepts_references = any(t.task == Task.text_to_image and REFERENCE in t.image_roles()
                                      for t in self.templates.values())
        if len(urls) > 1 and not problems:
            from .comfyui_pool import ServerPool

            single = {k: v for k, v in self.config.items() if k != "urls"}
            members = [ComfyUIProvider(name, {**single, "url": u}, facts=self.facts, kind=self.kind,
                                       title=self.title) for u in urls]
            problems += [m.problem for m in members if m.problem]
            self.pool = ServerPool(self, members)
        self.problem = "; ".join(problems)

    def share_claims(self, broker_url: str) -> None:
        """Studio mode: the pool's claims on its servers live on the broker's Redis (comfyui_pool)."""
        if self.pool is not None:
            self.pool.share_claims(broker_url)

    # -- configuration -----------------------------------------------------------------------------------

    def _float(self, key: str, default: float) -> float:
        try:
            return float(self.config.get(key, default))
        except (TypeError, ValueError):
            return default

    def _headers(self) -> dict[str, str]:
        token = self.secrets.get("token")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def setting_values(self, template: Template) -> dict[str, Any]:
        values = {}
        for setting in template.settings.values():
            values[setting.name] = next((self.config[k] for k in setting.keys if k in self.config), setting.default)
        return values

    def _in_use(self) -> list[Template]:
        return [t for t in self.templates.values() if t.task in self.tasks]

    # -- health ------------------------------------------------------------------------------------------

    def health(self) -> str:
        """"" while the server answers and at least one template in use can run on it; each template's own
        state is in `template_problems` (and `template_report`), and `task_health` says it per task."""
        if self.problem:
            return self.problem
        if self.pool is not None:
            reason = self.pool.health()
            known = [m for m in self.pool.members if m._info is not None and not m.busy]
            if known:  # as the first server that answered sees them
                self.template_problems = dict(known[0].template_problems)
            return reason
        # No job session exists here: a health check is a bare GET that carries no studio data, so it goes out
        # directly and is not an egress audit entry. A server that answered before gets longer: ComfyUI busy
        # with a large graph can take seconds over /object_info, and being busy is what a GPU server is for.
        timeout = self._float("known_health_timeout", KNOWN_HEALTH_TIMEOUT) if self._answered else \
            self._float("health_timeout", HEALTH_TIMEOUT)
        try:
            response = requests.get(f"{self.url}/object_info", headers=self._headers(),
                                    timeout=(self._float("connect_timeout", 5.0), timeout))
        except requests.exceptions.ReadTimeout:
            # It took the connection and is working: up but slow. Jobs are queued for it, not refused; each
            # job reads /object_info itself (with the job's timeout) before it sends anything.
            self.busy = (f"busy: did not answer /object_info within {timeout:g} s; jobs wait for it in its "
                         "queue")
            log.info("%s: %s", self.name, self.busy)
            return ""
        except requests.exceptions.RequestException as exc:
            self.busy = ""
            return (f"{self.name} at {self.shown_url} cannot be reached ({type(exc).__name__}); check its url in "
                    "providers.toml and that ComfyUI is running")
        self.busy = ""
        info = self._parse_info(response)
        if isinstance(info, str):
            return info
        self._remember_info(info)
        self.template_problems = self._check_templates(info)
        if self.template_problems and not any(not p for p in self.template_problems.values()):
            return "no template can run: " + "; ".join(self.template_problems.values())
        return ""

    def _check_templates(self, info: dict[str, Any]) -> dict[str, str]:
        return {t.name: check_template(t, info, self.setting_values(t)) for t in self._in_use()}

    def templates_for(self, task: Task | None) -> list[str]:
        return sorted(t.name for t in self._in_use() if t.task == task and not self.template_problems.get(t.name))

    def task_health(self, task: Task | None) -> str:
        """"" when a template for the task can run (or the server was not checked yet), else why none can."""
        if task is None:
            return ""
        mine = {t.name for t in self._in_use() if t.task == task}
        known = {n: p for n, p in self.template_problems.items() if n in mine}
        if not mine:
            return f"{self.name} has no workflow template for {task.value}"
        if len(known) < len(mine) or any(not p for p in known.values()):
            return ""
        return f"no {task.value} template of {self.name} can run: " + "; ".join(known.values())

    def describe(self, operations: list[str], reason: str = "") -> Provider:
        described = super().describe(operations, reason)
        if described.available and self.busy:
            described.note = self.busy
        if self.pool is not None and not self.problem:
            described.servers = self.pool.report()
        return described

    def _remember_info(self, info: dict[str, Any]) -> None:
        with self._info_lock:
            self._info = info
            self._answered = True

    def _parse_info(self, response: requests.Response) -> dict[str, Any] | str:
        if response.status_code in (401, 403):
            return (f"{self.name} at {self.shown_url} refused the request ({response.status_code}); set token = "
                    "\"env:...\" for it in providers.toml if a proxy in front of ComfyUI wants one")
        if response.status_code != 200:
            return f"{self.name} at {self.shown_url} answered /object_info with {response.status_code}"
        try:
            info = response.json()
        except ValueError:
            info = None
        if not isinstance(info, dict) or not all(isinstance(v, dict) for v in info.values()):
            return f"{self.name} at {self.shown_url} does not look like ComfyUI (/object_info is not a node list)"
        return info

    def _object_info(self, session: ProviderSession, *, refresh: bool = False) -> dict[str, Any]:
        with self._info_lock:
            if self._info is not None and not refresh:
                return self._info
        response = session.get(f"{self.url}/object_info", headers=self._headers())
        info = self._parse_info(response)
        if isinstance(info, str):
            raise ProviderUnavailable(info, status=response.status_code)
        self._remember_info(info)
        return info

    def _forget_info(self) -> None:
        with self._info_lock:
            self._info = None

    def template_report(self) -> list[ProviderTemplate]:
        """Each template in use: can it run on the server last checked, which model files it needs and has
        (comfyui_templates.template_report)."""
        from .comfyui_templates import template_report

        if self.pool is not None:  # as the first server that has answered sees them
            known = [m for m in self.pool.members if m._info is not None]
            return known[0].template_report() if known else self.pool.members[0].template_report()
        with self._info_lock:
            info = self._info
        return template_report(self._in_use(), info, self.setting_values)

    # -- estimate ----------------------------------------------------------------------------------------

    def estimate(self, request: GenerationRequest) -> CostEstimate:
        frames = max(1, request.frames)
        units = {Task.text_to_image: max(1, request.count), Task.image_to_video: frames, Task.video_edit: frames,
                 Task.outpaint_video: frames, Task.video_inpaint: frames}
        seconds = SECONDS_PER_UNIT.get(request.task, 5.0) * units.get(request.task, 1)
        return CostEstimate(provider=self.name, amount=seconds, unit="GPU-seconds",
                            note="rough; the studio's own GPUs, no charge per job")

    # -- generate ----------------------------------------------------------------------------------------

    def generate(self, request: GenerationRequest, session: ProviderSession) -> Generated:
        if self.problem:
            raise ProviderUnavailable(self.problem)
        if request.task not in self.tasks:
            raise ProviderError(f"{self.name} has no workflow template for {request.task.value}; register one "
                                f"(docs/comfyui.md) or pick another provider")
        # Refuse before anything at all is sent when the policy does not allow this data here.
        session.gate(request.data_kinds())
        if self.pool is not None:
            return self.pool.generate(request, session)
        self.choose_template(request, healthy=False)  # inputs no template takes are refused before any request
        info = self._object_info(session)
        self.template_problems = self._check_templates(info)
        try:
            template = self.choose_template(request)
        except ProviderUnavailable:  # the cached list may be stale (a node installed since): ask again once
            info = self._object_info(session, refresh=True)
            self.template_problems = self._check_templates(info)
            template = self.choose_template(request)
        values = self.setting_values(template)
        problem = self.template_problems.get(template.name)
        if problem:  # the cached list may be stale (a node installed since): ask again once
            info = self._object_info(session, refresh=True)
            problem = check_template(template, info, values)
            self.template_problems[template.name] = problem
            if problem:
                raise ProviderUnavailable(f"{self.name}: {problem}")
        if template.ui is not None:  # the UI-format template as converted for this server (checked above)
            from .comfyui_templates import bind_template

            template, values = bind_template(template, info, values)
        seed = request.seed if request.seed is not None else random.SystemRandom().randint(0, MAX_SEED)
        session.progress(0.02, f"uploading inputs to {self.name}")
        uploads, references = self._upload(request, template, session)

        batched = "count" in template.points or request.task != Task.text_to_image
        runs_wanted = 1 if batched else max(1, request.count)
        runs: list[_Run] = []
        for i in range(runs_wanted):
            graph = self.build_graph(template, request, seed + i, uploads, values, info)
            lo, hi = 0.05 + 0.9 * i / runs_wanted, 0.05 + 0.9 * (i + 1) / runs_wanted
            runs.append(self._run(template, graph, seed + i, session, lo, hi))
        files = self._finish(request, template, runs, session)
        reproduce: dict[str, Any] = {
            "template": template.name,
            "template_source": "built-in" if template.builtin else template.source,
            # the official or UI-format workflow it was converted or derived from (with the package version)
            **({"template_origin": template.ui.origin} if template.ui is not None
               else {"template_origin": template.derived_from} if template.derived_from else {}),
            "workflow_hash": runs[0].hash,
            "prompt_id": runs[0].prompt_id,
            "settings": values,
            "workflow": runs[0].graph,
        }
        if template.derived_from:
            reproduce["derived_from"] = template.derived_from
        if len(runs) > 1:
            reproduce["runs"] = [{"prompt_id": r.prompt_id, "workflow_hash": r.hash, "seed": r.seed} for r in runs]
        if references:
            reproduce["references_used"] = references
        elif request.by_role(REFERENCE):
            reproduce["references_left_out"] = len(request.by_role(REFERENCE))  # the template takes none
        if request.task == Task.image_to_video:
            reproduce["frames_generated"] = sum(len(r.files) for r in runs)
            reproduce["fps"] = request.fps
        media = _media_type(files[0]) if files else "image/png"
        model = str(values.get(template.model, template.name)) if template.model else template.name
        session.progress(1.0, "done")
        return Generated(files=files, media_type=media, model=model, seed=seed, reproduce=reproduce)

    def choose_template(self, request: GenerationRequest, *, healthy: bool = True) -> Template:
        """The named template (options["template"]), else the one for the task that takes exactly the
        request's inputs (a reference-capable template when references come, a first/last-frame one...)."""
        provided = {i.role for i in request.inputs}
        unknown = provided - set(IMAGE_POINTS)
        if unknown:
            raise ProviderError(f"{self.name} does not know input role(s) {', '.join(sorted(unknown))}")
        name = request.options.get("template")
        if name:
            template = self.templates.get(str(name))
            if template is None:
                raise ProviderError(f"{self.name} has no workflow template '{name}' (it has: "
                                    f"{', '.join(sorted(self.templates))})")
            if template.task != request.task:
                raise ProviderError(f"{self.name}: template '{name}' is for {template.task.value}, not "
                                    f"{request.task.value}")
            candidates = [template]
        else:
            candidates = [t for t in self.templates.values() if t.task == request.task]
        fits = [t for t in candidates if t.required_roles() <= provided <= t.image_roles()]
        checked = healthy and not name
        if REFERENCE in provided and provided - {REFERENCE} and not any(
                not (checked and self.template_problems.get(t.name)) for t in fits):
            # References condition; the frames and mattes are the request. When no template that takes both can
            # run here (image_to_video_vace_flf2v_reference needs Wan VACE), run without the references (the
            # identity gate still holds the result to the bible; reproduce says they were left out). A request of
            # references alone (a character's new image) never runs without them.
            fits += [t for t in candidates if t.required_roles() <= provided - {REFERENCE} <= t.image_roles()
                     and t not in fits]
        if not fits:
            shown = "; ".join(f"{t.name} takes {', '.join(sorted(t.image_points())) or 'no images'}"
                              for t in candidates)
            raise ProviderError(f"{self.name} has no {request.task.value} template for inputs "
                                f"{', '.join(sorted(provided)) or '(none)'} ({shown}); register one that takes them")
        if checked:  # a template this server cannot run is passed over while another one fits
            healthy = [t for t in fits if not self.template_problems.get(t.name)]
            if not healthy:
                raise ProviderUnavailable(f"{self.name}: no {request.task.value} template for these inputs can "
                                          "run on this ComfyUI: " + "; ".join(self.template_problems[t.name]
                                                                              for t in fits))
            fits = healthy
        # Prefer the template that uses the most of what was given and leaves the fewest optional images out;
        # with references, the one that takes the most of them (each into its own node); then one derived from
        # an official workflow over a hand-made one, then the task's own name.
        references = len(request.by_role(REFERENCE))
        fits.sort(key=lambda t: (-len(provided & t.image_roles()), len(t.image_roles() - provided),
                                 -min(references, t.reference_slots()), -t.reference_slots(),
                                 t.ui is None and not t.derived_from, t.name != request.task.value, t.name))
        return fits[0]

    def _upload(self, request: GenerationRequest, template: Template,
                session: ProviderSession) -> tuple[dict[str, str], int]:
        """POST /upload/image for each image the template takes; returns point -> the name ComfyUI gave it, and
        how many references were used (one per reference point: reference_1..N take them in order)."""
        names: dict[str, str] = {}
        references = 0
        for point in sorted(template.image_points()):
            role, index = point_role(point), point_index(point)
            given = request.by_role(role)
            if len(given) <= index:
                continue
            if role == REFERENCE:
                references += 1
            out = session.outgoing(given[index])
            uploaded = session.state.setdefault(UPLOADED, {})
            if out.asset.sha256 in uploaded:  # the same bytes earlier in this job (one mask for every frame)
                names[point] = uploaded[out.asset.sha256]
                continue
            response = session.post(f"{self.url}/upload/image", sent=[out], headers=self._headers(),
                                    files={"image": (out.filename, out.data, out.media_type)},
                                    data={"overwrite": "true"})
            body = _json(response)
            if response.status_code != 200 or not isinstance(body, dict) or not body.get("name"):
                raise ProviderError(f"{self.name} refused the {point} upload ({response.status_code}"
                                    f"{': ' + response.text[:200] if response.text else ''})",
                                    status=response.status_code)
            subfolder = body.get("subfolder") or ""
            names[point] = uploaded[out.asset.sha256] = f"{subfolder}/{body['name']}" if subfolder else \
                str(body["name"])
        given = len(request.by_role(REFERENCE))
        if given > references:
            log.info("%s: template %s takes %d reference(s); using the first %d of %d", self.name, template.name,
                     references, references, given)
        return names, references

    def build_graph(self, template: Template, request: GenerationRequest, seed: int, uploads: dict[str, str],
                    values: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
        """The template with the request injected: settings, values, uploaded file names; optional images that
        were not given are pruned with every node that needed them."""
        graph = copy.deepcopy(template.prompt)
        for setting in template.settings.values():
            graph[setting.node]["inputs"][setting.input] = values[setting.name]
        wanted: dict[str, Any] = {
            "prompt": request.prompt, "negative_prompt": request.negative_prompt, "seed": seed,
            "width": request.width, "height": request.height, "frames": request.frames or None,
            "fps": request.fps, "count": max(1, request.count), **request.values, **uploads,
        }
        frames_point = template.points.get("frames")
        if request.frames and frames_point is not None:  # the run of frames beside the ends given, at least one
            ends = sum(1 for end in (FIRST_FRAME, LAST_FRAME) if end in uploads) if any(
                p.bypass for p in template.points.values()) else 2  # without bypasses both ends are in the graph
            wanted["frames_between"] = max(1, _round_up(request.frames, frames_point.step, frames_point.base) - ends)
        for point in template.points.values():
            value = wanted.get(point.name)
            if value is None:
                continue  # not given: the template's own value stays (or an optional image is pruned below)
            if point.type in ("int", "seed"):
                value = _round_up(int(value), point.step, point.base)
            elif point.type == "float":
                value = float(value)
            elif point.type == "text":
                value = str(value)
            graph[point.node]["inputs"][point.input] = value
        for point in template.points.values():
            if point.type in FILE_TYPES and point.name not in uploads:
                if not point.optional:
                    raise ProviderError(f"{self.name}: template {template.name} needs a {point.name} input")
                for node_id, input_name in point.bypass:
                    _bypass_node(graph, node_id, input_name)
                _prune(graph, point.node, info, template)
        return graph

    # -- one run -----------------------------------------------------------------------------------------

    def _run(self, template: Template, graph: dict[str, Any], seed: int, session: ProviderSession,
             lo: float, hi: float) -> _Run:
        prompt_id = str(uuid.uuid4())
        run = _Run(prompt_id=prompt_id, graph=graph, hash=workflow_hash(graph), seed=seed)
        deadline = time.monotonic() + self._float("job_timeout", 1800.0)
        client_id, ws = self._socket(session)
        try:
            run.prompt_id = self._submit(template, graph, client_id, prompt_id, session)
            tracker = _Progress(session, graph, lo, hi)
            waiting = _Waiting(self, run.prompt_id, session, lo)
            queued = waiting.check()  # behind other prompts? say so (one GET /queue)
            finished = False
            if ws is not None:
                finished = self._follow_ws(ws, run.prompt_id, template, tracker, waiting, session, deadline)
                if not finished:  # dropped: the next prompt of this job opens a new one
                    self._drop_socket(session)
            entry = self._poll_history(run.prompt_id, waiting, session, deadline, finished, queued)
            if FINISHED in session.state:  # the GPU is idle while we fetch the outputs: let the next job have it
                session.state.pop(FINISHED)()
        except (Canceled, ProviderTimeout):
            # Stop it under the id we chose, even when the answer to /prompt never came (it may have been
            # queued); for an id ComfyUI never saw both calls are no-ops.
            self._stop(run.prompt_id, session)
            raise
        self._check_status(entry, template)
        run.files = self._fetch_outputs(entry, template, session)
        return run

    def _socket(self, session: ProviderSession) -> tuple[str, Any]:
        """The job's progress WebSocket and its client id: opened before the job's first prompt is queued and
        kept for the rest of the job (closed with the session). None when it cannot be opened: the job then
        polls, and does not try again for every frame."""
        if SOCKET not in session.state:
            client_id = uuid.uuid4().hex
            stack = contextlib.ExitStack()
            ws = self._open_ws(session, client_id, stack)
            session.state[SOCKET] = (client_id, ws, stack)
            if ws is not None:
                session.on_close(lambda: self._drop_socket(session))
        client_id, ws, _stack = session.state[SOCKET]
        return client_id, ws

    def _drop_socket(self, session: ProviderSession) -> None:
        """Close the job's WebSocket; the next prompt opens a new one."""
        _client_id, ws, stack = session.state.pop(SOCKET, (None, None, None))
        if stack is not None:
            with contextlib.suppress(Exception):
                stack.close()

    def _open_ws(self, session: ProviderSession, client_id: str, stack: contextlib.ExitStack) -> Any:
        """The progress WebSocket, entered on `stack`; None (and we poll /history) if it cannot be opened."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        parts = urlsplit(self.url)
        ws_url = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}{parts.path}/ws?clientId={client_id}"
        rid = session.record("GET", ws_url)
        try:
            ws = stack.enter_context(connect(
                ws_url, open_timeout=self._float("connect_timeout", 5.0), additional_headers=self._headers(),
                user_agent_header="ShotBridge", max_size=2**26, close_timeout=1, logger=_ws_log))
        except (OSError, TimeoutError, WebSocketException) as exc:
            session.finish(rid, getattr(getattr(exc, "response", None), "status_code", None), "error")
            log.warning("%s: progress WebSocket failed (%s); following the job by polling /history", self.name, exc)
            return None
        session.finish(rid, 101, "ok")
        return ws

    def _submit(self, template: Template, graph: dict[str, Any], client_id: str, prompt_id: str,
                session: ProviderSession) -> str:
        kinds = {DataKind.prompt} if _has_text(template, graph) else set()
        # Retried only on answers that mean "not queued" (429, 503): after a 500 the prompt may be queued already.
        response = session.post(f"{self.url}/prompt", kinds=kinds, headers=self._headers(),
                                json={"prompt": graph, "client_id": client_id, "prompt_id": prompt_id},
                                retryable=lambda r: r.status_code in (429, 503))
        body = _json(response)
        if response.status_code == 400 and isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict) and error.get("type") in ("invalid_prompt", "prompt_outputs_failed_validation"):
                self._forget_info()  # the server's nodes or models changed under us: re-read them next time
            raise ProviderError(self._rejection(template, body), status=400,
                                code=error.get("type") if isinstance(error, dict) else None)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("prompt_id"):
            raise ProviderError(f"{self.name} did not queue the workflow ({response.status_code}"
                                f"{': ' + response.text[:200] if response.text else ''})", status=response.status_code)
        pid = str(body["prompt_id"])
        if body.get("node_errors"):
            # Accepted with some outputs invalid: ComfyUI would run only the rest, so drop it and say why.
            self._stop(pid, session)
            raise ProviderError(self._rejection(template, {"error": {"message": "some outputs failed validation"},
                                                           "node_errors": body["node_errors"]}), status=200)
        return pid

    def _rejection(self, template: Template, body: dict[str, Any]) -> str:
        error = body.get("error")
        if isinstance(error, dict):
            head = str(error.get("message") or error.get("type") or "rejected")
            if error.get("details") and error.get("type") != "prompt_outputs_failed_validation":
                head += f" ({error['details']})"
        else:
            head = str(error or "rejected")
        parts = []
        for node_id, node in (body.get("node_errors") or {}).items():
            for err in (node.get("errors") or []) if isinstance(node, dict) else []:
                extra = err.get("extra_info") or {}
                where = f"node {node_id} ({node.get('class_type', '?')})"
                if extra.get("input_name"):
                    where += f" input '{extra['input_name']}'"
                detail = str(err.get("details") or "")
                text = str(err.get("message") or err.get("type") or "invalid")
                if detail and detail != extra.get("input_name"):
                    text += f": {detail}"
                parts.append(f"{where}: {_trim(text, 300)}")
        message = f"{self.name} (ComfyUI) rejected workflow template {template.name}: {head}"
        if parts:
            message += "; " + "; ".join(parts[:6]) + ("; ..." if len(parts) > 6 else "")
        return message + ". Fix the template or providers.toml (see the provider's health for what this ComfyUI has)"

    def _follow_ws(self, ws: Any, prompt_id: str, template: Template, tracker: _Progress, waiting: _Waiting,
                   session: ProviderSession, deadline: float) -> bool:
        """Read progress until `executing` with node null for our prompt (True), or until the socket drops
        (False: the caller polls /history instead)."""
        from websockets.exceptions import WebSocketException

        while True:
            session.check_canceled()
            if time.monotonic() > deadline:
                raise self._timeout()
            try:
                raw = ws.recv(timeout=WS_POLL)
            except TimeoutError:
                continue
            except (WebSocketException, OSError) as exc:
                log.warning("%s: progress WebSocket dropped (%s); polling /history", self.name, exc)
                return False
            if not isinstance(raw, str):
                continue  # binary frames are previews
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            kind = message.get("type") if isinstance(message, dict) else None
            data = message.get("data") if isinstance(message, dict) else None
            if kind == "status":  # the server's queue changed: ours may have moved up
                if not waiting.running and time.monotonic() - waiting.checked >= self._float("poll_interval", 1.0):
                    waiting.check()  # at most once per poll interval, however busy the server's queue is
                continue
            if not isinstance(data, dict) or data.get("prompt_id", prompt_id) != prompt_id:
                continue
            if kind == "execution_start":
                waiting.started()
            if kind == "executing" and data.get("node") is None and data.get("prompt_id") == prompt_id:
                return True
            if kind == "execution_error":
                raise ProviderError(self._execution_error(template, data), code="execution_error")
            if kind == "execution_interrupted":
                raise ProviderError(self._interrupted(template, data), code="execution_interrupted")
            tracker.update(kind, data)

    def _poll_history(self, prompt_id: str, waiting: _Waiting, session: ProviderSession, deadline: float,
                      finished: bool, queued: bool) -> dict[str, Any]:
        """The /history entry. When the WebSocket did not see the prompt to its end, one GET /queue per poll
        interval (one audit row) says whether it still waits or runs; once it has left the queue (finished, or
        deleted on the server), its history holds the outputs."""
        interval = self._float("poll_interval", 1.0)
        misses = 0
        while not finished and queued:
            if time.monotonic() > deadline:
                raise self._timeout()
            session.sleep(interval)
            queued = waiting.check()
        while True:
            entry = self._history(prompt_id, session)
            if entry is not None:
                return entry
            if not finished:
                raise ProviderError(f"{self.name}: prompt {prompt_id} is neither queued, running nor in the history "
                                    "(deleted on the server, or ComfyUI restarted); run the job again",
                                    code="prompt_lost")
            misses += 1  # the entry is written before `executing: null`; allow a moment anyway
            if misses > 5:
                raise ProviderError(f"{self.name} finished prompt {prompt_id} but has no history for it")
            session.sleep(0.1)

    def _history(self, prompt_id: str, session: ProviderSession) -> dict[str, Any] | None:
        response = session.get(f"{self.url}/history/{prompt_id}", headers=self._headers())
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise ProviderError(f"{self.name} answered /history with {response.status_code}",
                                status=response.status_code)
        entry = body.get(prompt_id)  # an unknown id (not finished yet) is 200 {}
        return entry if isinstance(entry, dict) else None

    def _position(self, prompt_id: str, session: ProviderSession) -> int | None:
        """Prompts ahead of ours on the server: 0 when it runs, None when it is in neither queue; -1 when the
        server cannot say (keep waiting rather than fail a running job)."""
        response = session.get(f"{self.url}/queue", headers=self._headers())
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            return -1
        running = [i for i in body.get("queue_running") or [] if isinstance(i, list) and len(i) > 1]
        pending = [i for i in body.get("queue_pending") or [] if isinstance(i, list) and len(i) > 1]
        if any(i[1] == prompt_id for i in running):
            return 0
        ours = next((i for i in pending if i[1] == prompt_id), None)
        if ours is None:
            return None
        # /queue lists the pending prompts in heap order: ahead means a lower number (ComfyUI runs lowest first).
        return len(running) + sum(1 for i in pending if _number(i) < _number(ours))

    def _check_status(self, entry: dict[str, Any], template: Template) -> None:
        status = entry.get("status") or {}
        if status.get("status_str") != "error":
            return
        for message in status.get("messages") or []:
            if isinstance(message, list) and len(message) == 2 and isinstance(message[1], dict):
                if message[0] == "execution_error":
                    raise ProviderError(self._execution_error(template, message[1]), code="execution_error")
                if message[0] == "execution_interrupted":
                    raise ProviderError(self._interrupted(template, message[1]), code="execution_interrupted")
        raise ProviderError(f"{self.name}: ComfyUI reports template {template.name} failed (no detail given)")

    def _execution_error(self, template: Template, data: dict[str, Any]) -> str:
        # current_inputs / traceback can hold megabytes of tensor reprs: name the node and the exception only.
        kind = str(data.get("exception_type") or "error").rsplit(".", 1)[-1]
        return (f"{self.name} (ComfyUI) failed in node {data.get('node_id')} ({data.get('node_type')}) of template "
                f"{template.name}: {kind}: {_trim(str(data.get('exception_message') or '').strip(), ERROR_CHARS)}")

    def _interrupted(self, template: Template, data: dict[str, Any]) -> str:
        return (f"{self.name}: the run of template {template.name} was interrupted on the ComfyUI server (at node "
                f"{data.get('node_id')}, {data.get('node_type')}), not by this job; run it again")

    def _timeout(self) -> ProviderTimeout:
        return ProviderTimeout(f"{self.name} did not finish the workflow within {self._float('job_timeout', 1800):g} s "
                               "(raise job_timeout in providers.toml for long video jobs); it was stopped")

    def _stop(self, prompt_id: str, session: ProviderSession) -> None:
        """Interrupt our prompt if it runs and take it out of the queue if it waits (cleanup requests: they go
        out even though the job is canceled). Failures are logged, never raised: the job is ending anyway."""
        for path, body in (("/interrupt", {"prompt_id": prompt_id}), ("/queue", {"delete": [prompt_id]})):
            try:
                session.post(f"{self.url}{path}", json=body, headers=self._headers(), timeout=5.0, cleanup=True)
            except ProviderError as exc:
                log.warning("%s: could not send %s for prompt %s (%s)", self.name, path, prompt_id, exc)

    def _fetch_outputs(self, entry: dict[str, Any], template: Template,
                       session: ProviderSession) -> list[tuple[str, bytes]]:
        """GET /view for each file the template's output nodes wrote, in order. A fully cached rerun names the
        files of the earlier run (ComfyUI writes none); those are fetched the same way."""
        outputs = entry.get("outputs") or {}
        found: list[tuple[str, bytes]] = []
        for node_id in template.outputs:
            for key, items in (outputs.get(node_id) or {}).items():
                if not isinstance(items, list):
                    continue
                for item in items:
                    if not isinstance(item, dict) or not item.get("filename") or key == "text":
                        continue
                    params = {"filename": item["filename"], "subfolder": item.get("subfolder", ""),
                              "type": item.get("type", "output")}
                    response = session.get(f"{self.url}/view", params=params, headers=self._headers())
                    if response.status_code != 200:
                        raise ProviderError(f"{self.name} could not hand back output {item['filename']} "
                                            f"({response.status_code}); was the output folder cleaned?",
                                            status=response.status_code)
                    found.append((str(item["filename"]), response.content))
        if not found:
            raise ProviderError(f"{self.name}: template {template.name} produced no files in its output nodes "
                                f"({', '.join(template.outputs)}); check that they save images")
        return found

    # -- results -----------------------------------------------------------------------------------------

    def _finish(self, request: GenerationRequest, template: Template, runs: list[_Run],
                session: ProviderSession) -> list[Path]:
        """Files as the task's convention wants them: one PNG for inpaint, a grey matte the size of the input for
        remove_background, frames trimmed to the requested count, images cropped to the requested size."""
        from PIL import Image

        items = [item for run in runs for item in run.files]
        if request.task == Task.inpaint:
            items = items[:1]
        if request.task == Task.image_to_video and request.frames and len(items) > request.frames:
            items = _pick_frames(items, request.frames, request.first(FIRST_FRAME) is not None,
                                 request.first(LAST_FRAME) is not None)
        size = (request.width, request.height) if request.width and request.height else None
        paths = []
        for k, (server_name, data) in enumerate(items):
            ext = Path(safe_name(server_name, default="output.png")).suffix.lower() or ".png"  # the server's word
            path = session.work_dir / f"{template.name}_{k:04d}{ext}"
            if ext == ".png":
                try:
                    with Image.open(io.BytesIO(data)) as img:
                        img.load()
                        if request.task == Task.remove_background:
                            data = _matte(img, request)
                        elif request.task == Task.image_edit:
                            data = _as_edited(img, request) or data
                        elif size and request.task in (Task.text_to_image, Task.image_to_video) \
                                and img.size != size and img.width >= size[0] and img.height >= size[1]:
                            data = _png(_center_crop(img, size))  # sizes were rounded up to the latent grid
                except (OSError, ValueError) as exc:
                    raise ProviderError(f"{self.name} returned {server_name}, which is not a readable PNG "
                                        f"({exc})") from exc
            path.write_bytes(data)
            paths.append(path)
        return paths


# -- helpers -----------------------------------------------------------------------------------------------


class _Progress:
    """Turns ComfyUI's per-node messages into one fraction: nodes done (cached or executed) plus the running
    node's sampler steps, over the nodes in the graph."""

    def __init__(self, session: ProviderSession, graph: dict[str, Any], lo: float, hi: float):
        self.session, self.lo, self.hi = session, lo, hi
        self.total = max(1, len(graph))
        self.done: set[str] = set()
        self.current: str | None = None
        self.partial = 0.0
        self.last = -1.0

    def update(self, kind: str | None, data: dict[str, Any]) -> None:
        message = ""
        if kind == "execution_cached":
            self.done.update(str(n) for n in data.get("nodes") or [])
        elif kind == "executing" and data.get("node") is not None:
            if self.current:
                self.done.add(self.current)
            self.current, self.partial = str(data["node"]), 0.0
            message = f"ComfyUI: node {self.current}"
        elif kind == "progress" and data.get("max"):
            self.partial = min(1.0, float(data.get("value", 0)) / float(data["max"]))
            message = f"ComfyUI: step {data.get('value')} of {data.get('max')}"
        elif kind == "progress_state":
            for node_id, state in (data.get("nodes") or {}).items():
                if isinstance(state, dict) and state.get("state") == "finished":
                    self.done.add(str(node_id))
                elif isinstance(state, dict) and state.get("max") and str(node_id) == self.current:
                    self.partial = min(1.0, float(state.get("value", 0)) / float(state["max"]))
        elif kind == "executed" and data.get("node") is not None:
            self.done.add(str(data["node"]))
        else:
            return
        running = 0.0 if self.current in self.done else self.partial
        fraction = self.lo + (self.hi - self.lo) * min(1.0, (len(self.done) + running) / self.total)
        if fraction - self.last >= 0.01 or message:
            self.last = fraction
            self.session.progress(fraction, message or "ComfyUI: running")


class _Waiting:
    """Until our prompt starts, the job says where it waits in the server's queue (instead of the last thing it
    did, "uploading inputs"); `check` costs one GET /queue and says whether the prompt is still queued."""

    def __init__(self, provider: ComfyUIProvider, prompt_id: str, session: ProviderSession, fraction: float):
        self.provider, self.prompt_id, self.session, self.fraction = provider, prompt_id, session, fraction
        self.running = False
        self.last: int | None = None
        self.checked = 0.0  # time.monotonic() of the last GET /queue

    def started(self) -> None:
        if not self.running:
            self.running = True
            self.session.progress(self.fraction, f"running on {self.provider.name}")

    def check(self) -> bool:
        self.checked = time.monotonic()
        position = self.provider._position(self.prompt_id, self.session)
        if position is None:
            return False
        if position == 0:
            self.started()
        elif position > 0 and not self.running and position != self.last:
            self.last = position
            self.session.progress(self.fraction, f"waiting in {self.provider.name}'s queue: {position} "
                                                 f"prompt{'s' if position != 1 else ''} ahead")
        return True


def _number(item: list[Any]) -> float:
    try:
        return float(item[0])
    except (TypeError, ValueError):
        return 0.0


def _prune(graph: dict[str, Any], start: str, info: dict[str, Any], template: Template) -> None:
    """Remove a node, every node that needs it through a required input, and the optional inputs that linked
    to a removed node (what ComfyUI would do if the user deleted the LoadImage in the editor)."""
    removed = {start}
    changed = True
    while changed:
        changed = False
        for node_id, node in list(graph.items()):
            if node_id in removed:
                continue
            inputs = _class_inputs(info.get(node["class_type"], {}))
            for name, value in list(node["inputs"].items()):
                if _is_link(value) and str(value[0]) in removed:
                    if inputs.get(name, (True, None))[0]:
                        removed.add(node_id)
                        changed = True
                        break
                    del node["inputs"][name]
    lost = removed & set(template.outputs)
    if lost:
        raise ProviderError(f"template {template.name}: output node(s) {', '.join(sorted(lost))} need the missing "
                            "image input; mark fewer images optional or give the input")
    for node_id in removed:
        graph.pop(node_id, None)


def _bypass_node(graph: dict[str, Any], node_id: str, input_name: str) -> None:
    """Take a node out of the graph as ComfyUI's bypass does: its consumers read its input's source instead."""
    node = graph.pop(node_id, None)
    if node is None or not _is_link(node["inputs"].get(input_name)):  # already pruned with another missing image
        return
    source = node["inputs"][input_name]
    for consumer in graph.values():
        for name, value in consumer["inputs"].items():
            if _is_link(value) and str(value[0]) == node_id:
                consumer["inputs"][name] = list(source)


def _pick_frames(items: list[Any], n: int, first: bool, last: bool) -> list[Any]:
    """Keep n of the generated frames: both ends when both were conditioned on (even spacing), the start when
    extending from a first frame, the end when leading up to a last frame."""
    if first and last:
        if n == 1:
            return items[:1]
        step = (len(items) - 1) / (n - 1)
        return [items[round(i * step)] for i in range(n)]
    if last:
        return items[-n:]
    return items[:n]


def _matte(img: Any, request: GenerationRequest) -> bytes:
    """A grey matte (white = foreground) the size of the input, from a mask image or an RGBA cut-out."""
    from PIL import Image

    if img.mode in ("RGBA", "LA") and img.getchannel("A").getextrema() != (255, 255):
        matte = img.getchannel("A")
    else:
        matte = img.convert("L")
    source = request.first(IMAGE)
    if source is not None:
        with Image.open(source.path) as original:
            if original.size != matte.size:
                matte = matte.resize(original.size, Image.Resampling.BILINEAR)
    return _png(matte)


def _as_edited(img: Any, request: GenerationRequest) -> bytes | None:
    """An edit at the size of the image edited (edit models work near one megapixel); None when it is already."""
    from PIL import Image, ImageOps

    source = request.first(IMAGE)
    if source is None:
        return None
    with Image.open(source.path) as original:
        size = (request.width or original.width, request.height or original.height)
    if img.size == size:
        return None
    return _png(ImageOps.fit(img.convert("RGBA" if "A" in img.getbands() else "RGB"), size, Image.Resampling.LANCZOS))


def _center_crop(img: Any, size: tuple[int, int]) -> Any:
    left, top = (img.width - size[0]) // 2, (img.height - size[1]) // 2
    return img.crop((left, top, left + size[0], top + size[1]))


def _png(img: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _round_up(value: int, step: int, base: int) -> int:
    if step <= 1 or value <= base:
        return max(value, base)
    return base + -(-(value - base) // step) * step


def _has_text(template: Template, graph: dict[str, Any]) -> bool:
    return any(p.type == "text" and graph.get(p.node, {}).get("inputs", {}).get(p.input)
               for p in template.points.values())


def _media_type(path: Path) -> str:
    return {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
            ".mp4": "video/mp4", ".webm": "video/webm", ".gif": "image/gif"}.get(path.suffix.lower(),
                                                                                 "application/octet-stream")


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " ..."


__all__ = ["ComfyUIProvider", "Template", "TemplateError", "check_template", "load_template",
                          "load_templates", "workflow_hash"]

"""What a provider is to ShotBridge: the tasks it can do, what it promises about data, and how a job uses it.

An adapter (`ProviderAdapter` subclass, one per provider type) turns a `GenerationRequest` into the
provider's own protocol and its answer into files. It never opens a connection of its own: every byte goes
through the job's `ProviderSession` (session.py), which checks the project's policy, strips metadata,
records the egress audit, retries, times out and cancels. That is what makes "nothing leaves without a
record, and nothing leaves for a provider the policy refuses" hold for every adapter at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from shotbridge.models import CostEstimate, DataKind, Provider, ProviderKind, ProviderTemplate

if TYPE_CHECKING:
    from .session import ProviderSession

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ALGORITHMIC = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"


class Task(str, Enum):
    """What a provider is asked to do; operations map onto these."""

    text_to_image = "text_to_image"  # prompt (+ optional references) -> images
    inpaint = "inpaint"  # image + mask (+ prompt) -> image
    remove_background = "remove_background"  # image -> matte (white = keep)
    image_to_video = "image_to_video"  # prompt + first frame (+ last frame) -> frames or a movie
    image_edit = "image_edit"  # image + instruction (+ references) -> the edited image
    video_edit = "video_edit"  # control video + reference image (the edited key frame) + prompt -> a movie
    outpaint_video = "outpaint_video"  # video + padding on each side (+ prompt) -> a movie of the larger frame
    outpaint = "outpaint"  # image + padding on each side (+ prompt) -> the larger image
    video_inpaint = "video_inpaint"  # video + one matte (white = regenerate) + reference image + prompt -> a movie


# Roles an input plays in a request; adapters look inputs up by role.
IMAGE, MASK, REFERENCE, FIRST_FRAME, LAST_FRAME = "image", "mask", "reference", "first_frame", "last_frame"
VIDEO = "video"  # a movie ShotBridge wrote from decoded frames (operations/video_io.py), never a user's file


@dataclass(frozen=True)
class ProviderFacts:
    """The provider's promises about data sent to it (from its published terms; a studio's contract may
    override them in providers.toml)."""

    trains_on_inputs: bool
    retention_days: int
    data_location: str


@dataclass
class InputImage:
    role: str
    path: Path
    kind: DataKind
    source_sha256: str | None = None  # the project asset it came from (frames pulled from a movie have one)


@dataclass
class GenerationRequest:
    task: Task
    prompt: str = ""
    negative_prompt: str = ""
    inputs: list[InputImage] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    seed: int | None = None
    frames: int = 0  # image_to_video: how many frames are wanted
    fps: float = 24.0
    count: int = 1  # text_to_image: how many images
    values: dict[str, int] = field(default_factory=dict)  # further named numbers (outpaint: pad_left, ...)
    options: dict[str, Any] = field(default_factory=dict)  # provider specific (model, template, quality)

    def by_role(self, role: str) -> list[InputImage]:
        return [i for i in self.inputs if i.role == role]

    def first(self, role: str) -> InputImage | None:
        found = self.by_role(role)
        return found[0] if found else None

    def data_kinds(self) -> set[DataKind]:
        kinds = {i.kind for i in self.inputs}
        if self.prompt or self.negative_prompt:
            kinds.add(DataKind.prompt)
        return kinds


@dataclass
class Generated:
    """What came back: files in order (images, frames, or one movie) and what re-running would need."""

    files: list[Path]
    media_type: str  # image/png, video/mp4, ...
    model: str
    seed: int | None = None
    reproduce: dict[str, Any] = field(default_factory=dict)  # workflow hash, template, request ids
    digital_source_type: str = TRAINED


class ProviderError(Exception):
    """The provider failed in a way the user should read (its message names the provider and the cause)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class ProviderUnavailable(ProviderError):
    """The provider cannot be reached or is not configured; nothing was generated."""


class ProviderTimeout(ProviderError):
    """The provider did not answer in time."""


class ProviderAdapter:
    """One configured provider. Subclasses set the class attributes and implement the three methods."""

    type: ClassVar[str]
    kind: ClassVar[ProviderKind]
    facts: ClassVar[ProviderFacts]
    tasks: ClassVar[frozenset[Task]]
    accepts_references: ClassVar[bool] = False
    title: ClassVar[str] = ""
    secret_keys: ClassVar[tuple[str, ...]] = ()  # config keys holding `env:`/`keyring:` secret references

    def __init__(self, name: str, config: dict[str, Any] | None = None, *, facts: ProviderFacts | None = None,
                 kind: ProviderKind | None = None, title: str | None = None):
        self.name = name
        self.config = dict(config or {})
        # A studio's contract may differ from the published terms: the registry passes its overrides here.
        if facts is not None:
            self.facts = facts
        if kind is not None:
            self.kind = kind
        if title:
            self.title = title
        self.problem = ""  # set by the registry when the entry is unusable (missing secret, bad value)
        self.secrets: dict[str, str] = {}  # resolved by the registry; never in config, describe() or logs

    # -- to implement --------------------------------------------------------------------------------------

    def health(self) -> str:
        """Empty when the provider answers and can work, else why not (a sentence the user can act on)."""
        return ""

    def task_health(self, task: Task | None) -> str:
        """Empty when the provider (already healthy) can run this task now, else why not: a ComfyUI whose
        every template for the task lacks a node class or a model file."""
        return ""

    def templates_for(self, task: Task | None) -> list[str]:
        """The workflow templates for this task that can run (ComfyUI); none elsewhere."""
        return []

    def estimate(self, request: GenerationRequest) -> CostEstimate:
        return CostEstimate(provider=self.name, amount=0.0, unit="USD", note="no charge")

    def generate(self, request: GenerationRequest, session: ProviderSession) -> Generated:
        # Every adapter in this package implements it; an adapter added without one fails its first job loudly.
        raise NotImplementedError(f"{type(self).__name__} declares tasks but implements no generate()")

    # -- shared --------------------------------------------------------------------------------------------

    def session_options(self) -> dict[str, float]:
        """Timeouts and retries for this provider's session (providers.toml may set each)."""
        keys = {"timeout": 120.0, "connect_timeout": 5.0, "max_attempts": 4, "backoff": 0.5}
        return {k: type(v)(self.config.get(k, v)) for k, v in keys.items()}

    def supports(self, task: Task | None) -> bool:
        return task is not None and task in self.tasks

    def describe(self, operations: list[str], reason: str = "") -> Provider:
        reason = self.problem or reason
        return Provider(name=self.name, title=self.title or self.name, kind=self.kind, type=self.type,
                        operations=operations, accepts_references=self.accepts_references,
                        trains_on_inputs=self.facts.trains_on_inputs, retention_days=self.facts.retention_days,
                        data_location=self.facts.data_location, available=not reason, reason=reason,
                        templates=self.template_report())

    def template_report(self) -> list[ProviderTemplate]:
        """Per workflow template: task, health and the model files it needs (ComfyUI); none elsewhere."""
        return []

"""What an operation is, and what it may ask of the job that runs it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from shotbridge.models import DataKind, OutputRef, ProjectPolicy
from shotbridge.safenames import safe_name, unique_name

if TYPE_CHECKING:
    from ..providers.base import Generated, GenerationRequest, ProviderAdapter, Task


class Canceled(Exception):
    """Raised at a checkpoint when the job was asked to stop."""


class OperationError(Exception):
    """A failure the user can act on (bad media, impossible parameters); its message is shown as is."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class JobContext:
    """The runner's side of a job, handed to `Operation.run`."""

    def __init__(
        self,
        *,
        job_id: str,
        project_id: str,
        work_dir: Path,
        asset_path: Callable[[str], Path],
        asset_filename: Callable[[str], str],
        report: Callable[[float, str], None],
        canceled: Callable[[], bool],
        add_output: Callable[[Path, str, str], OutputRef],
        bible: Callable[[], dict[str, list[list[float]]]] = dict,
        provider: ProviderAdapter | None = None,
        generate: Callable[[GenerationRequest, tuple[float, float]], Generated] | None = None,
        references: Callable[[list[str]], list[tuple[str, str]]] | None = None,
        add_generated: Callable[..., OutputRef] | None = None,
        check_policy: Callable[[set[DataKind]], None] | None = None,
        policy: Callable[[], ProjectPolicy] = ProjectPolicy,
    ):
        self.job_id = job_id
        self.project_id = project_id
        self.work_dir = work_dir
        self._asset_path = asset_path
        self._asset_filename = asset_filename
        self._report = report
        self._canceled = canceled
        self._add_output = add_output
        self._bible = bible
        self.provider = provider  # the adapter the job was routed to (generative operations)
        self._generate = generate
        self._references = references
        self._add_generated = add_generated
        self._check_policy = check_policy
        self._policy = policy
        self._output_names: dict[str, str] = {}  # casefolded -> as given

    def asset_path(self, sha256: str) -> Path:
        return self._asset_path(sha256)

    def asset_filename(self, sha256: str) -> str:
        """The name the asset was uploaded under; empty when the job's project has no such asset."""
        return self._asset_filename(sha256)

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress; also the checkpoint where a cancel takes effect."""
        self.check_canceled()
        self._report(min(1.0, max(0.0, fraction)), message)

    def check_canceled(self) -> None:
        if self._canceled():
            raise Canceled()

    def add_output(self, path: Path, name: str, media_type: str) -> OutputRef:
        """Store a file as a job output under `name`, made a safe file name and distinct (ignoring case) from
        the job's other outputs: clients write outputs into one folder under these names."""
        return self._add_output(Path(path), self._output_name(name), media_type)

    def _output_name(self, name: str) -> str:
        """The same name again replaces that output (a job writes each file once); a name that differs from
        another only in case gets '-2': the two would be one file on macOS and Windows."""
        name = safe_name(name, "output name", default="output")
        if self._output_names.get(name.casefold(), name) != name:
            name = unique_name(name, set(self._output_names))
        self._output_names[name.casefold()] = name
        return name

    def bible(self) -> dict[str, list[list[float]]]:
        """The project's character bible: {name: [identity embedding, ...]}."""
        return self._bible()

    def policy(self) -> ProjectPolicy:
        """The project's policy, which also holds its identity-gate settings."""
        return self._policy()

    def generate(self, request: GenerationRequest, span: tuple[float, float] = (0.0, 1.0)) -> Generated:
        """Send a request to the job's provider: policy-checked, audited, retried, cancelable. The provider's
        own progress (0..1) is shown as the part `span` of the job's."""
        if self._generate is None:
            raise OperationError(f"this job has no generative provider (operation for provider "
                                 f"'{getattr(self.provider, 'name', 'local')}')")
        return self._generate(request, span)

    def check_policy(self, kinds: set[DataKind]) -> None:
        """Raise (refused by policy, naming the rule) unless the job's provider may receive all these kinds:
        called before the first request, so a refusal leaves nothing half sent."""
        if self._check_policy is not None and kinds:
            self._check_policy(kinds)

    def references(self, names: list[str]) -> list[tuple[str, str]]:
        """Reference images of bible characters as (character name, asset sha256), in the bible's order."""
        return self._references(names) if self._references else []

    def add_generated(self, path: Path, name: str, media_type: str, *, generation: dict[str, Any],
                      ingredients: list[tuple[Path, str, str]]) -> OutputRef:
        """Store a generated file with signed Content Credentials (C2PA): `generation` holds provider, model,
        operation and parameters; `ingredients` the inputs as (path, title, media type)."""
        if self._add_generated is None:
            raise OperationError("this backend cannot sign generated files")
        return self._add_generated(Path(path), self._output_name(name), media_type, generation, ingredients)


class Operation:
    """Subclasses set the class attributes and implement `run`."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    params: ClassVar[type[BaseModel]]
    result: ClassVar[type[BaseModel]]
    requires: ClassVar[tuple[str, ...]] = ()  # importable modules the operation needs
    task: ClassVar[Task | None] = None  # generative operations: what they ask a provider to do

    def data_kinds(self, params: Any, accepts_references: bool) -> set[DataKind]:
        """What the job would send to a provider, for the policy check at submit (before anything leaves)."""
        return set()

    def after_run(self, ctx: JobContext, params: Any, result: Any) -> None:
        """Called with the result of `run`, before the job succeeds: add outputs that describe it (a report)."""

    def unavailable_reason(self) -> str:
        """Empty when the operation can run here, else what is missing and how to get it."""
        import importlib.util

        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if missing:
            return f"missing Python module(s) {', '.join(missing)}: pip install 'shotbridge[backend]'"
        return ""

    def run(self, ctx: JobContext, params: Any) -> BaseModel:
        raise NotImplementedError  # every concrete operation overrides this

    @classmethod
    @functools.cache  # per operation class: building the JSON schema costs ~1 ms, on every submit
    def asset_fields(cls) -> tuple[str, ...]:
        """Parameter fields that name uploaded assets (single refs or lists of refs)."""
        names = []
        for name, prop in cls.params.model_json_schema().get("properties", {}).items():
            items = prop.get("items", {}) if prop.get("type") == "array" else prop
            candidates = [items, *items.get("anyOf", [])]
            if any(c.get("format") == "asset" for c in candidates):
                names.append(name)
        return tuple(names)

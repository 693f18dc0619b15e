"""The data model shared by the backend, the client and every host adapter.

The backend's OpenAPI document is generated from these same classes, so a field changed here changes the
API on both sides at once.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

# A reference to uploaded media, by content hash. Operation parameter models use it for every field that
# names an input file, so the backend can check that the asset belongs to the job's project and the CLI
# knows which parameter a `--input FILE` fills.
AssetRef = Annotated[
    str,
    Field(pattern=r"^[0-9a-f]{64}$", json_schema_extra={"format": "asset"}),
]

# An uploaded file the artist picks (a mask, a reference image) rather than the media of the selected shots:
# the panel shows a file chooser for it and uploads the file when the job is submitted.
PickedAssetRef = Annotated[
    str,
    Field(pattern=r"^[0-9a-f]{64}$", json_schema_extra={"format": "asset", "x-shotbridge-pick": "file"}),
]

OTIO_MEDIA_TYPE = "application/vnd.opentimelineio+json"

# An uploaded OTIO timeline. The CLI and the panel upload the media it references along with it and list
# them in the operation's `media` parameter.
TimelineRef = Annotated[
    str,
    Field(pattern=r"^[0-9a-f]{64}$", json_schema_extra={"format": "asset", "contentMediaType": OTIO_MEDIA_TYPE}),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class JobStatus(str, Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed, JobStatus.canceled)


class Problem(_Model):
    """An error as RFC 9457 problem details; `errors` names each offending field."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class FieldError(_Model):
    field: str = Field(description="Dotted path of the offending field, e.g. 'params.threshold'")
    message: str


class ProjectCreate(_Model):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*$")
    description: str = ""


class Project(_Model):
    id: str
    name: str
    description: str = ""
    created_at: datetime


class ProjectWithToken(Project):
    token: str = Field(description="A token scoped to this project; shown once")


class AssetOrigin(str, Enum):
    uploaded = "uploaded"
    generated = "generated"


class Asset(_Model):
    sha256: str
    size: int
    media_type: str
    filename: str = ""
    origin: AssetOrigin = AssetOrigin.uploaded
    created_at: datetime | None = None


class CredentialStatus(str, Enum):
    verified = "verified"  # signed, every hash checks out, the signer chains to the studio's trust anchor
    not_signed = "not_signed"  # the file carries no Content Credentials
    invalid = "invalid"  # credentials present but tampered with, damaged, or from an untrusted signer
    unchecked = "unchecked"  # the backend has no trust anchor to check against (no studio keys yet)


class Credentials(_Model):
    """Whether an asset's Content Credentials (C2PA) verify against the studio's trust anchor."""

    status: CredentialStatus
    signer: str = ""
    issues: list[str] = Field(default_factory=list, description="What failed, in words; empty when verified")
    provider: str | None = None
    model: str | None = None
    digital_source_type: str | None = None
    training_mining: dict[str, str] = Field(default_factory=dict)


class OutputRef(_Model):
    """A file a job produced, stored as an asset of the job's project."""

    name: str
    sha256: str
    size: int
    media_type: str


class JobSubmit(_Model):
    operation: str
    params: dict[str, Any] = Field(default_factory=dict)
    provider: str | None = Field(default=None, description="Provider name; the backend picks one if omitted")


class Job(_Model):
    id: str
    project_id: str
    operation: str
    params: dict[str, Any]
    provider: str
    status: JobStatus
    progress: float = Field(ge=0.0, le=1.0, default=0.0)
    message: str = ""
    result: dict[str, Any] | None = None
    outputs: list[OutputRef] = Field(default_factory=list)
    error: Problem | None = None
    attempts: int = 0
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class OperationRoute(_Model):
    """One provider that implements an operation: whether it can run it now, and with which templates."""

    provider: str
    available: bool = True
    reason: str = Field(default="", description="Why it cannot run the operation now, if it cannot")
    templates: list[str] = Field(default_factory=list,
                                 description="ComfyUI: the workflow templates for the operation's task that can run")


class Operation(_Model):
    name: str
    title: str
    description: str
    params_schema: dict[str, Any]
    result_schema: dict[str, Any]
    providers: list[str]
    available: bool = True
    reason: str = Field(default="", description="Why the operation cannot run here, if it cannot")
    routes: list[OperationRoute] = Field(default_factory=list,
                                         description="Per provider that implements it: can it run it now, with "
                                                     "which templates")


class ProviderKind(str, Enum):
    local = "local"  # this machine: nothing leaves it
    onprem = "onprem"  # the studio's own servers (ComfyUI on its GPUs)
    cloud = "cloud"  # someone else's servers: only where the project's policy allows


class TemplateModel(_Model):
    """A model file a workflow template needs, and whether the provider's server has it."""

    name: str
    folder: str = Field(default="", description="The ComfyUI models folder it goes in (checkpoints, vae, ...)")
    present: bool | None = Field(default=None, description="Whether the server lists it; null = not checked")
    url: str = Field(default="", description="Where the official template says to download it")


class ProviderTemplate(_Model):
    """One workflow template of a provider (ComfyUI): its task, whether it can run there, the models it needs."""

    name: str
    task: str
    source: str = Field(default="", description="built-in, a file, or an official ComfyUI template's name")
    available: bool = True
    reason: str = Field(default="", description="Why it cannot run on the server, if it cannot")
    size_gb: float | None = Field(default=None, description="The official template's total model download (GB)")
    models: list[TemplateModel] = Field(default_factory=list)


class ProviderServer(_Model):
    """One server of a provider's GPU pool (ComfyUI): whether it takes work now and how much it has."""

    url: str
    state: str = Field(description="free | busy | down | unfit (its /object_info lacks the templates' nodes "
                                   "or models)")
    queue: int = Field(default=0, description="Prompts running or waiting on it")
    reason: str = Field(default="", description="Why it is down or unfit")


class Provider(_Model):
    name: str
    title: str
    kind: ProviderKind
    type: str = Field(default="local", description="The adapter: local | comfyui | openai | bedrock")
    operations: list[str]
    accepts_references: bool = Field(default=False,
                                     description="Takes reference images (character conditioning)")
    trains_on_inputs: bool
    retention_days: int = Field(description="How long the provider keeps inputs; 0 = not kept")
    data_location: str = Field(description="Where data sent to the provider is processed (a region)")
    available: bool = True
    reason: str = Field(default="", description="Why the provider is unavailable, if it is")
    note: str = Field(default="", description="What to know about an available provider (a busy server: jobs "
                                              "wait in its queue)")
    templates: list[ProviderTemplate] = Field(default_factory=list,
                                              description="Its workflow templates (ComfyUI), each with its health")
    servers: list[ProviderServer] = Field(default_factory=list,
                                          description="Its servers when it is a pool of several (ComfyUI), each "
                                                      "with its state and queue")


class DataKind(str, Enum):
    """What a byte sent to a provider is, to the studio: the unit a project's policy grants."""

    prompt = "prompt"  # text an artist wrote
    plate = "plate"  # frames of the studio's footage
    reference = "reference"  # character bible images
    mask = "mask"  # mattes and masks drawn on plates


class ProviderGrant(_Model):
    provider: str = Field(description="A provider name from the backend's registry")
    data: list[DataKind] = Field(default_factory=lambda: list(DataKind),
                                 description="What this provider may receive (default: everything)")

    model_config = ConfigDict(extra="forbid")  # a misspelt key must not widen a grant


class ProjectPolicy(_Model):
    """Who may receive the project's data. The default keeps everything on this machine and the studio's own
    servers; a cloud provider needs a grant, and must also promise not to train on inputs, keep them no longer
    than `max_retention_days`, and process them in one of `regions`."""

    schema_: int = Field(default=1, alias="schema")
    onprem: bool = Field(default=True, description="The studio's own servers (ComfyUI) may receive data")
    grants: list[ProviderGrant] = Field(default_factory=list, description="Cloud providers this project allows")
    max_retention_days: int = Field(default=0, ge=0, description="Longest retention a cloud provider may have")
    regions: list[str] = Field(default_factory=list,
                               description="Data locations a cloud provider may use; empty: any")
    # The identity gate's settings live here because the policy is the project's one settings record.
    identity_threshold: float | None = Field(
        default=None, gt=0, le=2,
        description="Identity gate: the largest face distance a generated image may have from the bible "
                    "(default: the face model's own, 0.6 for dlib)")
    identity_attempts: int = Field(default=3, ge=1, le=10,
                                   description="Identity gate: generations (new seed each) before a take is "
                                               "delivered marked as failing")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PolicyDecision(_Model):
    provider: str
    allowed: bool
    rule: str = Field(default="", description="The rule that refused it (e.g. 'no-grant'), empty if allowed")
    detail: str = ""


class CostEstimate(_Model):
    provider: str
    amount: float = Field(description="Estimated cost of the job on this provider")
    unit: str = Field(description="USD, GPU-seconds, CPU-seconds")
    note: str = ""


class Estimate(_Model):
    """For one job: each provider that implements its operation, whether the policy allows it, the cost."""

    operation: str
    decisions: list[PolicyDecision]
    costs: list[CostEstimate]


class EgressAsset(_Model):
    sha256: str = Field(description="sha256 of the bytes that left")
    size: int
    role: str = Field(description="What the provider used it for: image, mask, reference, first_frame, ...")
    kind: DataKind
    source_sha256: str | None = Field(default=None, description="The project asset it was made from")
    stripped: list[str] = Field(default_factory=list, description="Metadata removed before sending")


class EgressRecord(_Model):
    """One request to a provider: written before the request is sent, completed when it returns."""

    id: str
    time: datetime
    project_id: str
    token_id: str = Field(description="Which token submitted the job (a digest prefix, never the token)")
    job_id: str
    provider: str
    operation: str
    method: str
    url: str
    bytes_sent: int
    data: list[DataKind] = Field(default_factory=list)
    assets: list[EgressAsset] = Field(default_factory=list)
    status: int | None = Field(default=None, description="The provider's HTTP status; None if no answer")
    outcome: str = Field(default="sent", description="sent | ok | error | timeout | canceled")


class ReferenceAdd(_Model):
    asset: AssetRef = Field(description="An uploaded image of the character")
    face_index: int | None = Field(
        default=None, ge=0, description="Which face is the character when the image has several (left to right)"
    )


class CharacterReference(_Model):
    id: str
    asset: str
    face_index: int | None = None
    model: str = Field(description="The face model that computed the identity embedding")


class CharacterCreate(_Model):
    name: str = Field(min_length=1, max_length=200)
    notes: str = Field(default="", max_length=20_000, description="Look notes: wardrobe, hair, make-up, age")
    hints: dict[str, Any] = Field(default_factory=dict,
                                  description="Conditioning hints for providers that accept reference images")
    references: list[ReferenceAdd] = Field(default_factory=list)


class CharacterUpdate(_Model):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=20_000)
    hints: dict[str, Any] | None = None


class Character(_Model):
    id: str
    project_id: str
    name: str
    notes: str = ""
    hints: dict[str, Any] = Field(default_factory=dict)
    references: list[CharacterReference] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = Field(default=1, description="Goes up with every change; send it back as If-Match to "
                                                "refuse an edit made from an outdated copy")


class TimelinePost(_Model):
    name: str = Field(min_length=1, max_length=200, description="The cut's name; each post adds a version")
    asset: TimelineRef = Field(description="The uploaded OTIO timeline")
    note: str = Field(default="", max_length=2000)


class TimelineVersion(_Model):
    id: str
    project_id: str
    name: str
    version: int
    asset: str
    clips: int
    tracks: int
    note: str = ""
    created_at: datetime


class Health(_Model):
    status: str = "ok"
    version: str
    operations: int
    providers: int


Problem.model_rebuild()

"""Timeline versions per project: the editor's cut as the hub that Nuke and Blender artists pull from.

Each post of a cut under a name adds a version (1, 2, ...); any two versions can be diffed.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import opentimelineio as otio
from fastapi import APIRouter, Query
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shotbridge.exchange.errors import ExchangeError
from shotbridge.exchange.untrusted import read_otio_json
from shotbridge.models import TimelinePost, TimelineVersion

from .db import AssetRow, TimelineRow
from .deps import ApiProblem, BackendDep, PrincipalDep, field_problem, problems, project_row

router = APIRouter(prefix="/v1/projects/{project}/timelines", tags=["timelines"])


def _model(row: TimelineRow) -> TimelineVersion:
    return TimelineVersion(id=row.id, project_id=row.project_id, name=row.name, version=row.version,
                           asset=row.asset, clips=row.clips, tracks=row.tracks, note=row.note,
                           created_at=row.created_at)


def _read(backend, sha: str) -> otio.schema.Timeline:
    """A stored cut, read only once a child process got through it (exchange/untrusted.py)."""
    try:
        obj = read_otio_json(backend.store.path(sha), sha[:12])
    except ExchangeError as exc:
        raise field_problem(422, "Not a usable timeline", "asset", str(exc)) from None
    if not isinstance(obj, otio.schema.Timeline):
        raise field_problem(422, "Not a timeline", "asset", f"The asset holds a {obj.schema_name()}.")
    return obj


def _version(backend, pid: str, name: str, version: str) -> TimelineRow:
    with backend.db.session() as s:
        query = select(TimelineRow).where(TimelineRow.project_id == pid, TimelineRow.name == name)
        if version == "latest":
            row = s.scalars(query.order_by(TimelineRow.version.desc())).first()
        elif version.isdigit():
            row = s.scalars(query.where(TimelineRow.version == int(version))).first()
        else:
            raise field_problem(422, "Invalid version", "version", f"'{version}' is not a version number or 'latest'.")
    if row is None:
        raise ApiProblem(404, "Timeline version not found",
                         f"No version {version} of timeline '{name}' in this project.")
    return row


@router.post("", response_model=TimelineVersion, status_code=201, responses=problems(401, 404, 409, 413, 422))
def post_timeline(project: str, body: TimelinePost, backend: BackendDep, principal: PrincipalDep) -> TimelineVersion:
    pid = project_row(backend, principal, project).id
    with backend.db.session() as s:
        if s.get(AssetRow, (pid, body.asset)) is None:
            raise field_problem(422, "Unknown asset", "asset", f"Asset {body.asset} is not in this project; upload it.")
    timeline = _read(backend, body.asset)
    clips = sum(1 for _ in timeline.find_clips())
    for _attempt in range(3):  # two posts racing for the same next version: the loser takes the next
        try:
            with backend.db.session() as s:
                latest = s.scalar(select(func.max(TimelineRow.version)).where(
                    TimelineRow.project_id == pid, TimelineRow.name == body.name)) or 0
                row = TimelineRow(id=uuid.uuid4().hex[:12], project_id=pid, name=body.name, version=latest + 1,
                                  asset=body.asset, clips=clips, tracks=len(timeline.tracks), note=body.note)
                s.add(row)
            return _model(row)
        except IntegrityError:
            continue
    raise ApiProblem(409, "Concurrent posts", f"Timeline '{body.name}' is being posted concurrently; try again.")


@router.get("", response_model=list[TimelineVersion], responses=problems(401, 404))
def list_timelines(project: str, backend: BackendDep, principal: PrincipalDep,
                   name: str | None = None) -> list[TimelineVersion]:
    pid = project_row(backend, principal, project).id
    query = select(TimelineRow).where(TimelineRow.project_id == pid)
    if name is not None:
        query = query.where(TimelineRow.name == name)
    with backend.db.session() as s:
        return [_model(r) for r in s.scalars(query.order_by(TimelineRow.name, TimelineRow.version))]


@router.get("/{name}/versions/{version}", response_model=TimelineVersion, responses=problems(401, 404, 422))
def get_version(project: str, name: str, version: str, backend: BackendDep,
                principal: PrincipalDep) -> TimelineVersion:
    pid = project_row(backend, principal, project).id
    return _model(_version(backend, pid, name, version))


@router.get("/{name}/diff", responses=problems(401, 404, 422))
def diff_versions(
    project: str, name: str, backend: BackendDep, principal: PrincipalDep,
    old: Annotated[str, Query(alias="from", description="Version number")],
    new: Annotated[str, Query(alias="to", description="Version number or 'latest'")] = "latest",
) -> dict[str, Any]:
    """What changed between two versions of a cut (shape: docs/exchange.md, `timeline diff --json`)."""
    from shotbridge.exchange.diff import diff_timelines

    pid = project_row(backend, principal, project).id
    a, b = _version(backend, pid, name, old), _version(backend, pid, name, new)
    result = diff_timelines(_read(backend, a.asset), _read(backend, b.asset))
    doc = result.to_json() if hasattr(result, "to_json") else result.model_dump(mode="json")
    return {"name": name, "from": a.version, "to": b.version, **doc}

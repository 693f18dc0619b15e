"""The character bible: per project, characters with reference images and identity embeddings.

Embeddings are computed here, when a reference is added, by the same face model the consistency check
uses; a reference with no face, or several faces and no choice, is refused with the reason.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from shotbridge.models import Character, CharacterCreate, CharacterReference, CharacterUpdate, ReferenceAdd

from .db import AssetRow, CharacterRow, ReferenceRow, utcnow
from .deps import ApiProblem, BackendDep, PrincipalDep, field_problem, project_row

router = APIRouter(prefix="/v1/projects/{project}/characters", tags=["characters"])
CharacterRef = Annotated[str, Path(description="Character id or name")]


def face_model():
    """The embedded face model, loaded once per process (loading takes about a second)."""
    from .vision.faces import DlibFaceModel

    global _MODEL
    if _MODEL is None:
        _MODEL = DlibFaceModel()
    return _MODEL


_MODEL = None


def _model(row: CharacterRow, refs: list[ReferenceRow]) -> Character:
    return Character(
        id=row.id, project_id=row.project_id, name=row.name, notes=row.notes, hints=row.hints or {},
        references=[CharacterReference(id=r.id, asset=r.asset, face_index=r.face_index, model=r.model)
                    for r in refs],
        created_at=row.created_at, updated_at=row.updated_at,
    )


def _load(s, project_id: str, ref: str) -> tuple[CharacterRow, list[ReferenceRow]]:
    row = s.get(CharacterRow, ref)
    if row is None or row.project_id != project_id:
        row = s.scalars(select(CharacterRow).where(CharacterRow.project_id == project_id,
                                                   CharacterRow.name == ref)).first()
    if row is None:
        raise ApiProblem(404, "Character not found",
                         f"No character '{ref}' in this project. List them with `shotbridge character list`.")
    refs = list(s.scalars(select(ReferenceRow).where(ReferenceRow.character_id == row.id)
                          .order_by(ReferenceRow.created_at)))
    return row, refs


def _embed(backend, project_id: str, refs: list[ReferenceAdd], field: str) -> list[ReferenceRow]:
    """Identity embeddings for new references; refuses images without exactly one chosen face."""
    from .vision.errors import VisionError
    from .vision.faces import reference_embedding

    rows = []
    for i, ref in enumerate(refs):
        where = f"{field}.{i}.asset" if field == "references" else "asset"
        with backend.db.session() as s:
            asset = s.get(AssetRow, (project_id, ref.asset))
        if asset is None:
            raise field_problem(422, "Unknown asset", where,
                                f"Asset {ref.asset} is not in this project; upload the image first.")
        label = asset.filename or ref.asset[:12]
        model = face_model()
        try:
            embedding = reference_embedding([backend.store.path(ref.asset)], model, ref.face_index,
                                            labels=[label])[0]
        except VisionError as exc:
            raise field_problem(422, "Unusable reference image", where, str(exc)) from None
        rows.append(ReferenceRow(id=uuid.uuid4().hex[:12], asset=ref.asset, face_index=ref.face_index,
                                 model=model.name, embedding=[float(x) for x in embedding]))
    return rows


@router.get("", response_model=list[Character])
def list_characters(project: str, backend: BackendDep, principal: PrincipalDep) -> list[Character]:
    pid = project_row(backend, principal, project).id
    with backend.db.session() as s:
        rows = s.scalars(select(CharacterRow).where(CharacterRow.project_id == pid).order_by(CharacterRow.name))
        return [_model(*_load(s, pid, r.id)) for r in rows]


@router.post("", response_model=Character, status_code=201)
def create_character(project: str, body: CharacterCreate, backend: BackendDep, principal: PrincipalDep) -> Character:
    pid = project_row(backend, principal, project).id
    refs = _embed(backend, pid, body.references, "references")
    try:
        with backend.db.session() as s:
            row = CharacterRow(id=uuid.uuid4().hex[:12], project_id=pid, name=body.name, notes=body.notes,
                               hints=body.hints)
            s.add(row)
            s.flush()
            for ref in refs:
                ref.character_id = row.id
                s.add(ref)
    except IntegrityError:
        raise field_problem(409, "Character exists", "name",
                            f"A character named '{body.name}' already exists; add references to it instead.") from None
    with backend.db.session() as s:
        return _model(*_load(s, pid, row.id))


@router.get("/{character}", response_model=Character)
def get_character(project: str, character: CharacterRef, backend: BackendDep, principal: PrincipalDep) -> Character:
    pid = project_row(backend, principal, project).id
    with backend.db.session() as s:
        return _model(*_load(s, pid, character))


@router.patch("/{character}", response_model=Character)
def update_character(project: str, character: CharacterRef, body: CharacterUpdate, backend: BackendDep,
                     principal: PrincipalDep) -> Character:
    pid = project_row(backend, principal, project).id
    try:
        with backend.db.session() as s:
            row, _ = _load(s, pid, character)
            for key, value in body.model_dump(exclude_none=True).items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            cid = row.id
    except IntegrityError:
        raise field_problem(409, "Character exists", "name", f"Another character is called '{body.name}'.") from None
    with backend.db.session() as s:
        return _model(*_load(s, pid, cid))


@router.delete("/{character}", status_code=204)
def delete_character(project: str, character: CharacterRef, backend: BackendDep, principal: PrincipalDep) -> Response:
    pid = project_row(backend, principal, project).id
    with backend.db.session() as s:
        row, refs = _load(s, pid, character)
        for ref in refs:
            s.delete(ref)
        s.delete(row)
    return Response(status_code=204)


@router.post("/{character}/references", response_model=Character, status_code=201)
def add_reference(project: str, character: CharacterRef, body: ReferenceAdd, backend: BackendDep,
                  principal: PrincipalDep) -> Character:
    pid = project_row(backend, principal, project).id
    with backend.db.session() as s:
        cid = _load(s, pid, character)[0].id
    (ref,) = _embed(backend, pid, [body], "asset")
    with backend.db.session() as s:
        ref.character_id = cid
        s.add(ref)
        s.get(CharacterRow, cid).updated_at = utcnow()
    with backend.db.session() as s:
        return _model(*_load(s, pid, cid))


@router.delete("/{character}/references/{reference}", response_model=Character)
def remove_reference(project: str, character: CharacterRef, reference: str, backend: BackendDep,
                     principal: PrincipalDep) -> Character:
    pid = project_row(backend, principal, project).id
    with backend.db.session() as s:
        row, refs = _load(s, pid, character)
        match = [r for r in refs if r.id == reference]
        if not match:
            raise ApiProblem(404, "Reference not found", f"Character '{row.name}' has no reference '{reference}'.")
        s.delete(match[0])
        cid = row.id
    with backend.db.session() as s:
        return _model(*_load(s, pid, cid))

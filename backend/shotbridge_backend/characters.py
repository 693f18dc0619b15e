"""The character bible: per project, characters with reference images and identity embeddings.

Embeddings are computed here, when a reference is added, by the same face model the consistency check
uses; a reference with no face, or several faces and no choice, is refused with the reason.

Requests on one character may race (two edits, an edit and a delete). Every write checks the character's
version (db.CharacterRow): a change that lost the race is applied again on top of the winner's (a PATCH says
what to set, so neither change is lost), answers 404 when the character was deleted meanwhile, and 412 when
the client sent `If-Match: <version>` and the character is no longer at that version.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Header, Path
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import Response

from shotbridge.models import Character, CharacterCreate, CharacterReference, CharacterUpdate, ReferenceAdd

from .db import AssetRow, CharacterRow, ReferenceRow, utcnow
from .deps import ApiProblem, BackendDep, PrincipalDep, field_problem, problems, project_row

router = APIRouter(prefix="/v1/projects/{project}/characters", tags=["characters"])
CharacterRef = Annotated[str, Path(description="Character id or name")]
IfMatch = Annotated[str | None, Header(description="The character's version as last read: the change is "
                                                   "refused (412) if another request changed it since")]
WRITE_ATTEMPTS = 8  # a write that keeps losing races to other writes on the same character gives up (409)


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
        created_at=row.created_at, updated_at=row.updated_at, version=row.version,
    )


def _load(s, project_id: str, ref: str) -> tuple[CharacterRow, list[ReferenceRow]]:
    row = s.get(CharacterRow, ref)
    if row is None or row.project_id != project_id:
        row = s.scalars(select(CharacterRow).where(CharacterRow.project_id == project_id,
                                                   CharacterRow.name == ref)).first()
    if row is None:
        raise ApiProblem(404, "Character not found",
                         f"No character '{ref}' in this project. List them with `shotbridge character list`.")
    return row, _references(s, row.id)


def _references(s: Session, character_id: str) -> list[ReferenceRow]:
    return list(s.scalars(select(ReferenceRow).where(ReferenceRow.character_id == character_id)
                          .order_by(ReferenceRow.created_at)))


def _version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise field_problem(422, "Invalid If-Match", "If-Match",
                            f"If-Match must be the character's version (a number, as GET answers); got {if_match!r}.")
    return int(value)


def _write(backend, pid: str, ref: str, change: Callable[[Session, CharacterRow], None],
           if_match: str | None = None, new_name: str | None = None) -> Character | None:
    """Apply `change` to the character in one transaction, again on top of any change that won a race with it;
    returns the character as it is after the change (None once deleted)."""
    wanted = _version(if_match)
    for _ in range(WRITE_ATTEMPTS):
        try:
            with backend.db.session() as s:
                row, _refs = _load(s, pid, ref)
                ref = row.id  # a rename that won the race must not make the next attempt miss the character
                if wanted is not None and row.version != wanted:
                    raise ApiProblem(412, "Character changed",
                                     f"Character '{row.name}' is at version {row.version}, not {wanted} as sent "
                                     "in If-Match: another request changed it. Read it again and re-apply your "
                                     "change to what it holds now.")
                change(s, row)
                s.flush()
                if inspect(row).deleted:
                    return None
                return _model(row, _references(s, row.id))
        except StaleDataError:
            continue  # another request changed or deleted the character first: load it again
        except IntegrityError as exc:
            with backend.db.session() as s:
                if s.get(CharacterRow, ref) is None:
                    continue  # deleted meanwhile (a reference's character is gone): the next load says 404
            if new_name and "UNIQUE" in str(exc.orig).upper():
                raise field_problem(409, "Character exists", "name",
                                    f"Another character is called '{new_name}'; pick another name.") from None
            raise
    raise ApiProblem(409, "Character busy", f"Character '{ref}' kept changing while this request tried to apply "
                     f"its change ({WRITE_ATTEMPTS} attempts); send it again.")


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


@router.get("", response_model=list[Character], responses=problems(401, 404))
def list_characters(project: str, backend: BackendDep, principal: PrincipalDep) -> list[Character]:
    pid = project_row(backend, principal, project).id
    with backend.db.session() as s:
        # One read for the references of all: a character deleted meanwhile is simply not listed.
        rows = list(s.scalars(select(CharacterRow).where(CharacterRow.project_id == pid)
                              .order_by(CharacterRow.name)))
        refs: dict[str, list[ReferenceRow]] = {r.id: [] for r in rows}
        for ref in s.scalars(select(ReferenceRow).where(ReferenceRow.character_id.in_(list(refs)))
                             .order_by(ReferenceRow.created_at)):
            refs[ref.character_id].append(ref)
        return [_model(r, refs[r.id]) for r in rows]


@router.post("", response_model=Character, status_code=201, responses=problems(401, 404, 409, 413, 422))
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
            s.flush()
            return _model(row, _references(s, row.id))
    except IntegrityError:
        raise field_problem(409, "Character exists", "name",
                            f"A character named '{body.name}' already exists; add references to it instead.") from None


@router.get("/{character}", response_model=Character, responses=problems(401, 404))
def get_character(project: str, character: CharacterRef, backend: BackendDep, principal: PrincipalDep) -> Character:
    pid = project_row(backend, principal, project).id
    with backend.db.session() as s:
        return _model(*_load(s, pid, character))


@router.patch("/{character}", response_model=Character, responses=problems(401, 404, 409, 412, 413, 422))
def update_character(project: str, character: CharacterRef, body: CharacterUpdate, backend: BackendDep,
                     principal: PrincipalDep, if_match: IfMatch = None) -> Character:
    pid = project_row(backend, principal, project).id
    fields = body.model_dump(exclude_none=True)

    def change(s: Session, row: CharacterRow) -> None:
        for key, value in fields.items():
            setattr(row, key, value)
        row.updated_at = utcnow()

    return _write(backend, pid, character, change, if_match, new_name=body.name)


@router.delete("/{character}", status_code=204, responses=problems(401, 404, 409, 412, 422))
def delete_character(project: str, character: CharacterRef, backend: BackendDep, principal: PrincipalDep,
                     if_match: IfMatch = None) -> Response:
    pid = project_row(backend, principal, project).id
    _write(backend, pid, character, lambda s, row: s.delete(row), if_match)  # references go by ON DELETE CASCADE
    return Response(status_code=204)


@router.post("/{character}/references", response_model=Character, status_code=201,
             responses=problems(401, 404, 409, 413, 422))
def add_reference(project: str, character: CharacterRef, body: ReferenceAdd, backend: BackendDep,
                  principal: PrincipalDep) -> Character:
    pid = project_row(backend, principal, project).id
    with backend.db.session() as s:
        cid = _load(s, pid, character)[0].id
    (ref,) = _embed(backend, pid, [body], "asset")

    def change(s: Session, row: CharacterRow) -> None:
        if ref not in s:
            ref.character_id = row.id
            s.add(ref)
        row.updated_at = utcnow()

    return _write(backend, pid, cid, change)


@router.delete("/{character}/references/{reference}", response_model=Character, responses=problems(401, 404, 409))
def remove_reference(project: str, character: CharacterRef, reference: str, backend: BackendDep,
                     principal: PrincipalDep) -> Character:
    pid = project_row(backend, principal, project).id

    def change(s: Session, row: CharacterRow) -> None:
        match = s.get(ReferenceRow, reference)
        if match is None or match.character_id != row.id:
            raise ApiProblem(404, "Reference not found", f"Character '{row.name}' has no reference '{reference}'.")
        s.delete(match)
        row.updated_at = utcnow()

    return _write(backend, pid, character, change)

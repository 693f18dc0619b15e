"""The egress audit: every request to a provider, who caused it, and the sha256 and size of every asset in it."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from shotbridge.models import DataKind, EgressAsset, EgressRecord

from .db import Database, EgressRow


class JobEgress:
    """The recorder a job's provider sessions write to (see providers.session.EgressRecorder)."""

    def __init__(self, db: Database, *, project_id: str, token_id: str, job_id: str, operation: str):
        self.db = db
        self.project_id, self.token_id, self.job_id, self.operation = project_id, token_id, job_id, operation

    def begin(self, *, provider: str, method: str, url: str, bytes_sent: int, data: list[DataKind],
              assets: list[EgressAsset]) -> str:
        rid = uuid.uuid4().hex
        with self.db.session() as s:
            s.add(EgressRow(id=rid, project_id=self.project_id, token_id=self.token_id, job_id=self.job_id,
                            provider=provider, operation=self.operation, method=method, url=url[:4000],
                            bytes_sent=bytes_sent, data=[d.value for d in data],
                            assets=[a.model_dump(mode="json") for a in assets]))
        return rid

    def finish(self, record_id: str, status: int | None, outcome: str) -> None:
        with self.db.session() as s:
            row = s.get(EgressRow, record_id)
            if row is not None:
                row.status, row.outcome = status, outcome


def to_record(row: EgressRow) -> EgressRecord:
    return EgressRecord(id=row.id, time=row.time, project_id=row.project_id, token_id=row.token_id,
                        job_id=row.job_id, provider=row.provider, operation=row.operation, method=row.method,
                        url=row.url, bytes_sent=row.bytes_sent, data=row.data or [],
                        assets=[EgressAsset.model_validate(a) for a in row.assets or []], status=row.status,
                        outcome=row.outcome)


def records(db: Database, project_id: str, *, job_id: str | None = None, provider: str | None = None,
            limit: int = 1000) -> list[EgressRecord]:
    query = select(EgressRow).where(EgressRow.project_id == project_id)
    if job_id:
        query = query.where(EgressRow.job_id == job_id)
    if provider:
        query = query.where(EgressRow.provider == provider)
    with db.session() as s:
        return [to_record(r) for r in s.scalars(query.order_by(EgressRow.time.desc()).limit(limit))]

"""What the job list shows for one job, and what the artist is told when a job finishes (no toolkit here).

Views draw `JobRow`s; a row is rebuilt from the job on each event, and a view only touches its widgets
when the row differs from the one it drew (`JobRow` compares by value).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from ..models import Job, JobStatus

STATUS_COLOURS = {
    "queued": "#b0b0b0", "running": "#f0a030", "succeeded": "#7fcf80", "failed": "#ff6b5e",
    "canceled": "#8f8f8f", "lost": "#ff9f43",
}
CANCELABLE = {JobStatus.queued, JobStatus.running}
RETRYABLE = {JobStatus.failed, JobStatus.canceled}


@dataclass(frozen=True)
class JobRow:
    id: str
    operation: str
    shots: str
    status: str  # a JobStatus value, or "lost" when the panel can no longer follow the job
    colour: str
    progress: float  # 0..1
    message: str
    elapsed: str
    can_cancel: bool
    can_retry: bool
    error: str  # the failure in full ("" when none)
    shot_list: tuple[str, ...] = ()  # every shot (the `shots` text names the first few)


def shots_text(shots: list[str], limit: int = 3) -> str:
    if not shots:
        return "-"
    more = f" +{len(shots) - limit}" if len(shots) > limit else ""
    return ", ".join(shots[:limit]) + more


def elapsed_seconds(job: Job, now: datetime | None = None) -> float | None:
    """Running time so far (or in total, once finished); None before the job started."""
    start = job.started_at
    if start is None:
        return None
    end = job.finished_at or now or datetime.now(timezone.utc)
    if start.tzinfo is None:  # the backend stores UTC; an older one sent naive times
        start = start.replace(tzinfo=timezone.utc)
    if end.tzinfo is None:
        end = end.replace(tzinfo=timezone.utc)
    return max(0.0, (end - start).total_seconds())


def elapsed_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def error_text(job: Job) -> str:
    """The failure as the backend described it: title, detail and each offending field."""
    if job.error is None:
        return job.message if job.status == JobStatus.failed else ""
    p = job.error
    lines = [p.title]
    if p.detail and p.detail != p.title:
        lines.append(p.detail)
    # a field's message often repeats the detail word for word: say each thing once
    lines += [f"{e.field}: {e.message}" for e in p.errors if e.message.strip() not in (p.detail or "")]
    return "\n".join(lines)


def row_for(job: Job, shots: list[str] | None = None, lost: str = "", now: datetime | None = None) -> JobRow:
    """The row for `job`; `lost` is why the panel stopped hearing from it (the backend went away)."""
    status = "lost" if lost and not job.status.terminal else job.status.value
    message = lost if status == "lost" else job.message
    error = error_text(job)
    if error and not message:
        message = error.splitlines()[0]
    message = " ".join(message.split())  # one line in the table; the full text is in the tooltip and detail
    return JobRow(
        id=job.id, operation=job.operation, shots=shots_text(shots or []), status=status,
        colour=STATUS_COLOURS[status], progress=job.progress, message=message,
        elapsed=elapsed_text(elapsed_seconds(job, now)),
        can_cancel=job.status in CANCELABLE and status != "lost",
        can_retry=job.status in RETRYABLE or status == "lost",
        error=error or (lost if status == "lost" else ""), shot_list=tuple(shots or ()),
    )


def finished_notice(job: Job, shots: list[str] | None = None) -> tuple[str, str]:
    """What to tell the artist when `job` ends: (text, level) with level info | warning | error."""
    where = f" ({shots_text(shots or [])})" if shots else ""
    if job.status == JobStatus.succeeded:
        outputs = f", {len(job.outputs)} output(s)" if job.outputs else ""
        return f"ShotBridge: {job.operation}{where} finished{outputs}.", "info"
    if job.status == JobStatus.canceled:
        return f"ShotBridge: {job.operation}{where} was canceled.", "warning"
    first = (error_text(job) or "no reason given").splitlines()[0]
    return f"ShotBridge: {job.operation}{where} failed: {first}", "error"

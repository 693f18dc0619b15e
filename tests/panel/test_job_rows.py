"""What a job's row and its finishing notice say (panel/jobs.py, no toolkit)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shotbridge.models import FieldError, Job, JobStatus, Problem
from shotbridge.panel.jobs import elapsed_text, error_text, finished_notice, row_for, shots_text

T0 = datetime(2026, 12, 4, 19, 0, tzinfo=timezone.utc)


def job(status: JobStatus, **extra) -> Job:
    return Job(id="j", project_id="p", operation="generate", params={}, provider="local", status=status,
               created_at=T0, **extra)


def test_cancel_and_retry_follow_the_status():
    flags = {s: (row_for(job(s)).can_cancel, row_for(job(s)).can_retry) for s in JobStatus}
    assert flags == {JobStatus.queued: (True, False), JobStatus.running: (True, False),
                     JobStatus.succeeded: (False, False), JobStatus.failed: (False, True),
                     JobStatus.canceled: (False, True)}


def test_a_lost_job_can_be_followed_again_but_not_canceled():
    row = row_for(job(JobStatus.running, progress=0.4), ["sh010"], lost="Lost contact: backend gone")
    assert (row.status, row.can_cancel, row.can_retry) == ("lost", False, True)
    assert row.message == row.error == "Lost contact: backend gone"
    finished = row_for(job(JobStatus.succeeded), lost="Lost contact")  # a final state outranks a lost stream
    assert finished.status == "succeeded" and not finished.error


def test_elapsed_counts_from_the_start_to_the_end_or_now():
    running = job(JobStatus.running, started_at=T0)
    assert row_for(running, now=T0 + timedelta(seconds=42)).elapsed == "42 s"
    done = job(JobStatus.succeeded, started_at=T0, finished_at=T0 + timedelta(minutes=3, seconds=5))
    assert row_for(done, now=T0 + timedelta(hours=9)).elapsed == "3:05"
    assert row_for(job(JobStatus.queued)).elapsed == "-"
    assert elapsed_text(3723) == "1:02:03"


def test_a_failure_is_said_in_full_once_and_in_one_line_in_the_table():
    problem = Problem(title="Invalid parameters", status=422, detail="strength: must be at most 1\nsee the form",
                      errors=[FieldError(field="params.strength", message="must be at most 1"),
                              FieldError(field="params.seed", message="must be a whole number")])
    failed = job(JobStatus.failed, error=problem)
    assert error_text(failed) == ("Invalid parameters\nstrength: must be at most 1\nsee the form\n"
                                  "params.seed: must be a whole number")
    row = row_for(failed, ["sh010", "sh020", "sh030", "sh040"])
    assert row.message == "Invalid parameters" and row.shots == "sh010, sh020, sh030 +1"
    assert row.shot_list == ("sh010", "sh020", "sh030", "sh040")
    assert row_for(job(JobStatus.running, message="step 1\nstep 2")).message == "step 1 step 2"


def test_finishing_notices_name_the_job_its_shots_and_the_outcome():
    assert finished_notice(job(JobStatus.succeeded), ["sh010"]) == ("ShotBridge: generate (sh010) finished.", "info")
    assert finished_notice(job(JobStatus.canceled))[1] == "warning"
    text, level = finished_notice(job(JobStatus.failed, message="no provider allowed\nby policy"))
    assert (text, level) == ("ShotBridge: generate failed: no provider allowed", "error")
    assert shots_text([]) == "-"

"""kill -9 mid-job: the re-run's outputs hold exactly one attempt's files.

A real backend process on 127.0.0.1 routes a per-frame job to the studio's ComfyUI (a test server in this
process), dies with SIGKILL once the job has stored some frames, and starts again on the same data. The job is
re-run from a clean outputs list: one file per frame name, no frame of the killed attempt left in the job, the
project's assets or the store.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import opentimelineio as otio
import pytest
from live import LiveServer
from servers.comfyui import FakeComfyUI

from shotbridge.client import Client
from shotbridge.models import AssetOrigin, JobStatus
from shotbridge.timeline_upload import upload_timeline
from shotbridge_backend.demo import EmbeddedBackend, sample_movie

RATE = 24
FRAMES = 10
T = otio.opentime.RationalTime


@pytest.fixture
def world(tmp_path):
    fake = FakeComfyUI(node_seconds=0.05)  # a few tenths of a second per frame: time to kill mid-job
    with LiveServer(fake.app) as live:
        (tmp_path / "providers.toml").write_text(f'[providers.gpu]\ntype = "comfyui"\nurl = "{live.url}"\n'
                                                 'backoff = 0.01\npoll_interval = 0.05\n')
        backend = EmbeddedBackend(tmp_path / "backend",
                                  env={"SHOTBRIDGE_PROVIDERS": str(tmp_path / "providers.toml")})
        try:
            yield backend, fake, tmp_path
        finally:
            backend.stop()
            fake.close()


def _cut(movie) -> otio.schema.Timeline:
    timeline = otio.schema.Timeline(name="cut")
    track = otio.schema.Track(name="V1")
    track.append(otio.schema.Clip(
        name="sh010", source_range=otio.opentime.TimeRange(T(0, RATE), T(FRAMES, RATE)),
        media_reference=otio.schema.ExternalReference(
            str(movie), available_range=otio.opentime.TimeRange(T(0, RATE), T(48, RATE)))))
    timeline.tracks.append(track)
    return timeline


def _admin(backend: EmbeddedBackend) -> Client:
    return Client(backend.url, (backend.root / "config" / "token").read_text().strip())


def test_a_job_rerun_after_kill_9_holds_exactly_one_attempt_s_files(world):
    backend, fake, root = world
    backend.start()
    client = _admin(backend)
    project = client.create_project("rerun")
    sent = upload_timeline(client, project.id, _cut(sample_movie(root / "plate.mp4", seconds_per_shot=2.0,
                                                                 size=(96, 64))))
    job = client.submit(project.id, "remove_background", {"timeline": sent.sha256, "media": sent.media})
    deadline = time.monotonic() + 60
    while len(client.job(job.id).outputs) < 3:
        assert time.monotonic() < deadline, f"the job stored no frames in time: {client.job(job.id)}"
        assert not client.job(job.id).status.terminal, client.job(job.id)
        time.sleep(0.05)
    backend.kill()
    client.close()

    store = root / "backend" / "data" / "assets"
    first_attempt = _outputs_on_disk(root / "backend" / "data" / "shotbridge.db", job.id)
    assert 3 <= len(first_attempt) < FRAMES, "killed mid-job"
    assert all((store / sha[:2] / sha).is_file() for sha in first_attempt.values())

    backend.start()
    client = _admin(backend)
    final = client.wait(job.id)
    assert final.status == JobStatus.succeeded, final.error
    assert final.attempts == 2

    names = [o.name for o in final.outputs]
    frames = sorted(n for n in names if n.endswith(".png"))
    assert len(names) == len(set(names)) == FRAMES + 1, names  # every frame once, and the timeline
    assert frames == [f"sh010_matte_v001.{f:04d}.png" for f in range(FRAMES)]
    kept = {o.sha256 for o in final.outputs}
    generated = {a.sha256 for a in client.assets(project.id) if a.origin == AssetOrigin.generated}
    assert generated == kept, "the project holds only the re-run's files"
    dropped = set(first_attempt.values()) - kept
    assert not [sha for sha in dropped if (store / sha[:2] / sha).exists()], "killed attempt's files left"
    take = client.download(project.id, final.result["timeline"]["sha256"])
    (clip,) = otio.adapters.read_from_string(take.read_text(), "otio_json").find_clips()
    assert list(clip.media_references()) == ["DEFAULT_MEDIA", "matte_v001"], "one take, written once"
    by_name = {o.name: o.sha256 for o in final.outputs}
    assert list(clip.media_references()["matte_v001"].metadata["shotbridge"]["frames"]) == \
        [by_name[n] for n in frames]
    client.close()


def _outputs_on_disk(db: Path, job_id: str) -> dict[str, str]:
    """The killed backend's record of the job's outputs, read from its SQLite file: {name: sha256}."""
    con = sqlite3.connect(db)
    try:
        (outputs,) = con.execute("SELECT outputs FROM jobs WHERE id = ?", (job_id,)).fetchone()
    finally:
        con.close()
    return {o["name"]: o["sha256"] for o in json.loads(outputs)}

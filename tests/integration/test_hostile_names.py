"""Names from a request or a timeline never become paths: hostile names through a real backend and the CLI.

Every hostile name carries a marker; after the jobs, no file or link with the marker in its name may exist
anywhere but the folder the client was told to write into.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import opentimelineio as otio
import pytest
from PIL import Image

from shotbridge.errors import ShotBridgeError
from shotbridge.models import Job, JobStatus, OutputRef
from shotbridge.safenames import is_plain
from shotbridge.timeline_upload import upload_timeline

SERVER_MODES = ("sqlite", "postgresql", "studio")  # studio: jobs run on a Celery worker process

RATE = 24


@pytest.fixture
def mark() -> str:
    """A marker no file has yet: every hostile name carries it (fresh per test, and per server mode)."""
    return "EVIL" + os.urandom(4).hex()


def clip_names(mark: str) -> list[str]:
    return [f"../../{mark}", f"/tmp/{mark}", f"..\\..\\{mark}", f"{mark}\x00.png", f"．．／{mark}",
            f"..\u2215{mark}", f"CON.{mark}", f"{mark}\u202egnp", mark * 30, f"{mark}a", f"{mark}A"]


def _escaped(roots: list[Path], mark: str, allowed: Path | None = None) -> list[str]:
    found = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in [*dirs, *files]:
                path = Path(folder) / name
                if mark.casefold() in name.casefold() and (allowed is None or path.parent != allowed):
                    found.append(str(path))
    return found


def _roots(server) -> list[Path]:
    return [server.root.parent.parent, Path("/tmp")]  # the whole pytest tree, and /tmp for absolute names


def _cli(server, *args):
    env = {**os.environ, "SHOTBRIDGE_URL": server.url, "SHOTBRIDGE_CONFIG_DIR": str(server.root / "config")}
    return subprocess.run([sys.executable, "-m", "shotbridge.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def hostile_cut(tmp_path_factory, movie, mark):
    """One 2-frame clip per hostile name, all on the sample movie, and a mask."""
    root = tmp_path_factory.mktemp("hostile")
    track = otio.schema.Track(name="V1")
    for i, name in enumerate(clip_names(mark)):
        track.append(otio.schema.Clip(
            name=name, source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(i, RATE),
                                                            otio.opentime.RationalTime(2, RATE)),
            media_reference=otio.schema.ExternalReference(target_url=str(movie))))
    timeline = otio.schema.Timeline(name=f"../{mark}")
    timeline.tracks.append(track)
    path = root / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))
    mask = np.zeros((180, 320), np.uint8)
    mask[60:120, 130:190] = 255
    Image.fromarray(mask).save(root / "mask.png")
    return path, root / "mask.png"


def test_upload_names_are_stored_as_safe_file_names(server, admin, project, tmp_path, mark):
    source = tmp_path / "plate.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(source)
    for header in [f"../../{mark}.png", f"/etc/{mark}", f"..%2F..%2F{mark}.png", f"{mark}%00.png", "..", ""]:
        data = source.read_bytes() + header.encode()  # a new asset for every name
        sha = hashlib.sha256(data).hexdigest()
        resp = admin._request("PUT", f"/v1/projects/{project.id}/assets/{sha}", data=data,
                              headers={"X-ShotBridge-Filename": header, "Content-Type": "application/octet-stream"})
        stored = resp.json()["filename"]
        assert stored == "" or is_plain(stored), (header, stored)
        assert "/" not in stored and stored not in (".", "..")


def test_hostile_clip_names_write_nothing_outside_the_job_or_the_out_folder(server, project, hostile_cut, tmp_path,
                                                                            mark):
    cut, mask = hostile_cut
    out = tmp_path / "out"
    done = _cli(server, "run", "inpaint", "-p", project.name, "--input", str(cut), "--input", f"mask={mask}",
                "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    names = [o["name"] for o in job["outputs"]]
    assert all(is_plain(n) for n in names), names
    assert len({n.casefold() for n in names}) == len(names)  # one file each on macOS and Windows too
    assert len(job["result"]["shots"]) == len(clip_names(mark))
    assert len([n for n in names if n.endswith(".png")]) == 2 * len(clip_names(mark))  # every frame, none lost
    assert _escaped(_roots(server), mark, allowed=out) == []
    # each take points at its own frames, and they were downloaded where it says
    timeline = otio.adapters.read_from_file(str(out / "cut.inpaint.otio"))
    for clip in timeline.find_clips():
        take = clip.media_references()["inpaint_v001"]
        first = Path(unquote(urlparse(take.target_url_for_image_number(0)).path))
        assert first.parent == out.resolve() and first.is_file(), (clip.name, first)


def test_a_sequence_prefix_with_a_path_reaches_no_file_outside(server, admin, project, tmp_path, mark):
    frames = tmp_path / "frames"
    frames.mkdir()
    for n in range(1001, 1004):
        Image.fromarray(np.full((36, 64, 3), n % 255, np.uint8)).save(frames / f"{mark}.{n}.png")
    for n in range(1001, 1004):  # the same frames, announced under a name that climbs out
        path = frames / f"{mark}.{n}.png"
        data = path.read_bytes()
        sha = hashlib.sha256(data + b"x").hexdigest()
        admin._request("PUT", f"/v1/projects/{project.id}/assets/{sha}", data=data + b"x",
                       headers={"X-ShotBridge-Filename": f"../../{mark}.{n}.png"})
    ref = otio.schema.ImageSequenceReference(
        target_url_base=str(frames) + "/", name_prefix=f"../../{mark}.", name_suffix=".png", start_frame=1001,
        frame_zero_padding=4, rate=RATE)
    clip = otio.schema.Clip(name="seq", media_reference=ref, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(1001, RATE), otio.opentime.RationalTime(3, RATE)))
    timeline = otio.schema.Timeline(name="seq")
    timeline.tracks.append(otio.schema.Track(children=[clip]))
    sent = upload_timeline(admin, project.id, timeline, base_dir=tmp_path)
    Image.fromarray(np.full((36, 64), 255, np.uint8)).save(tmp_path / "mask.png")
    mask = admin.upload(project.id, tmp_path / "mask.png").sha256
    assets = [a.sha256 for a in admin.assets(project.id)]
    job = admin.submit(project.id, "inpaint", {"timeline": sent.sha256, "media": assets, "mask": mask})
    job = admin.wait(job.id)
    assert job.status == JobStatus.failed
    assert "none of its frames were uploaded" in job.error.detail
    assert _escaped(_roots(server), mark, allowed=frames) == []


def test_the_client_refuses_output_names_that_are_not_plain_or_differ_only_in_case(admin, project, tmp_path, mark):
    def job(*names: str) -> Job:
        return Job(id="x" * 32, project_id=project.id, operation="echo", params={}, provider="local",
                   status=JobStatus.succeeded, created_at="2026-01-01T00:00:00Z",
                   outputs=[OutputRef(name=n, sha256="0" * 64, size=1, media_type="image/png") for n in names])

    for bad in [f"../{mark}.png", f"/tmp/{mark}.png", f"..\\{mark}.png", f"{mark}\x00.png", "..", ""]:
        with pytest.raises(ShotBridgeError, match="outputs"):
            admin.download_outputs(job("fine.png", bad), tmp_path / "out")
    with pytest.raises(ShotBridgeError, match="only in case"):
        admin.download_outputs(job(f"{mark}.png", f"{mark.lower()}.png"), tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # checked before writing
    assert _escaped([tmp_path, Path("/tmp")], mark) == []


def test_a_nul_in_a_url_is_refused_alike_on_every_database(server, admin, project):
    """PostgreSQL text cannot hold a NUL (found by the OpenAPI fuzz test as a 500 on ?name=%00): every backend
    answers 400 naming it, before any route or query runs."""
    import requests

    headers = {"Authorization": f"Bearer {admin.token}"}
    for url, where in ((f"{server.url}/v1/projects/{project.id}/timelines?name=%00", "query"),
                       (f"{server.url}/v1/projects/{project.id}/characters/a%00b", "path")):
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 400, (url, response.text)
        assert f"request's {where} holds a NUL character" in response.json()["detail"]
    for path, body in ((f"/v1/projects/{project.id}/characters", {"name": "Mara\x00", "notes": ""}),
                       (f"/v1/projects/{project.id}/jobs", {"operation": "echo", "params": {"message": "a\x00b"}})):
        response = requests.post(server.url + path, json=body, headers=headers, timeout=10)
        assert response.status_code == 400, (path, response.text)
        assert "request's body holds a NUL character" in response.json()["detail"]
    assert admin.timelines(project.id) == [] and admin.characters(project.id) == []  # nothing stored, all well

"""check_consistency and match_look as users run them: a cut of real-photo shots, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from shotbridge.models import JobStatus
from shotbridge.timeline_upload import upload_timeline
from shotbridge_backend.demo import demo_timeline

SERVER_MODES = ("sqlite", "postgresql", "studio")  # studio: jobs run on a Celery worker process

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
pytestmark = pytest.mark.skipif(not FACES.exists(), reason="../shared/faces is not beside the checkout")


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    from shotbridge_backend.vision.synth import build_demo

    root = tmp_path_factory.mktemp("cut")
    demo = build_demo(root / "shots", FACES)
    path = root / "cut.otio"
    otio.adapters.write_to_file(demo_timeline(demo["shots"]), str(path))
    return path, demo


@pytest.fixture
def cast(admin, project, cut):
    for name, images in cut[1]["bible"].items():
        admin.add_character(project.id, name, images)
    return project


def _cli(server, *args):
    env = {**os.environ, "SHOTBRIDGE_URL": server.url, "SHOTBRIDGE_CONFIG_DIR": str(server.root / "config")}
    return subprocess.run([sys.executable, "-m", "shotbridge.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_check_consistency_flags_the_swapped_face(server, admin, cast, cut, tmp_path):
    done = _cli(server, "run", "check_consistency", "-p", cast.name, "--input", str(cut[0]),
                "--out", str(tmp_path / "out"), "--json")
    assert done.returncode == 4, done.stderr  # drift: the run fails so a script notices
    assert "1 shot(s) drift, 0 shot(s) unchecked" in done.stderr
    job = json.loads(done.stdout)
    assert job["result"]["drifting_shots"] == ["sh030"] and job["result"]["unchecked_shots"] == []
    assert job["result"]["summary"] == {"consistent": 3, "drift": 1, "unchecked": 0}
    shots = {s["name"]: s for s in job["result"]["consistency"]["shots"]}
    (finding,) = shots["sh030"]["findings"]
    assert (finding["start_frame"], finding["end_frame"], finding["expected"], finding["found"]) == (
        30, 48, "obama", "kit_harington")
    assert all(f["faces"] for f in shots["sh010"]["frames"]), "every reported frame of sh010 shows a face"
    assert shots["sh010"]["state"] == "consistent" and shots["sh010"]["frames_read"] == 72
    timeline = otio.adapters.read_from_file(next(o["path"] for o in job["outputs"] if o["name"].endswith(".otio")))
    clip = next(c for c in timeline.find_clips() if c.name == "sh030")
    (marker,) = clip.markers
    assert marker.color == otio.schema.MarkerColor.RED
    assert marker.marked_range.start_time.to_frames() == 30 and marker.marked_range.duration.to_frames() == 18
    assert marker.metadata["shotbridge"]["expected"] == "obama"
    for other in (c for c in timeline.find_clips() if c.name != "sh030"):  # the others say they were checked
        (marker,) = other.markers
        assert marker.color == otio.schema.MarkerColor.GREEN and marker.metadata["shotbridge"]["kind"] == "consistent"

    report_dir = tmp_path / "report"
    done = _cli(server, "report", job["id"], "--out", str(report_dir))
    assert done.returncode == 0, done.stderr
    html = (report_dir / "report.html").read_text()
    assert "sh030" in html and "kit_harington" in html and "data:image/jpeg;base64," in html


def test_match_look_corrects_the_grade(admin, cast, cut):
    sent = upload_timeline(admin, cast.id, cut[0])
    job = admin.run(cast.id, "match_look", {"timeline": sent.sha256, "media": sent.media,
                                            "reference": "sh010", "targets": ["sh040"]})
    (target,) = job.result["look"]["targets"]
    assert target["delta_e_before"] > 5 and target["delta_e_after"] < target["delta_e_before"] / 2
    path = admin.download(cast.id, job.result["timeline"]["sha256"])
    timeline = otio.adapters.read_from_string(path.read_text(), "otio_json")
    clip = next(c for c in timeline.find_clips() if c.name == "sh040")
    sop = clip.metadata["cdl"]["asc_sop"]
    assert set(sop) == {"slope", "offset", "power"} and 0 < clip.metadata["cdl"]["asc_sat"] < 2


def test_bad_inputs_fail_with_reasons(admin, project, cut, tmp_path):
    sent = upload_timeline(admin, project.id, cut[0])
    empty_bible = admin.submit(project.id, "check_consistency",
                                            {"timeline": sent.sha256, "media": sent.media})
    job = admin.wait(empty_bible.id)
    assert job.status == JobStatus.failed and "bible is empty" in job.error.detail
    # A timeline whose media was not sent along.
    bare = admin.upload(project.id, cut[0]).sha256
    job = admin.wait(admin.submit(project.id, "match_look", {"timeline": bare, "reference": "sh010"}).id)
    assert job.status == JobStatus.failed
    assert "sh010" in job.error.detail and "not uploaded" in job.error.detail
    assert job.error.errors[0].field == "params.media"
    job = admin.wait(admin.submit(project.id, "match_look", {"timeline": sent.sha256, "media": sent.media,
                                                             "reference": "sh999"}).id)
    assert "sh999" in job.error.detail
    # Hashes stamped in a timeline reach only the job's own project's media.
    other = admin.create_project(f"thief-{project.name}")
    stolen = admin.upload(other.id, admin.download(project.id, sent.sha256, tmp_path / "stamped.otio")).sha256
    job = admin.wait(admin.submit(other.id, "match_look", {"timeline": stolen, "reference": "sh010"}).id)
    assert job.status == JobStatus.failed and "not uploaded" in job.error.detail


def test_image_sequence_shot(admin, cast, tmp_path):
    """A plate delivered as an EXR-style numbered sequence: frames uploaded by content, linked by name."""
    from shotbridge_backend.vision.frames import load_rgb
    from shotbridge_backend.vision.synth import render_shot, write_sequence

    photo = load_rgb(FACES / "biden" / "biden2.jpg")
    write_sequence(render_shot(photo, 24, (960, 540), "push", (0.5, 0.35)), tmp_path / "plates" / "sh050.####.jpg",
                   first=1001)
    rate = 24.0
    ref = otio.schema.ImageSequenceReference(
        target_url_base=str(tmp_path / "plates") + "/", name_prefix="sh050.", name_suffix=".jpg",
        start_frame=1001, frame_zero_padding=4, rate=rate,
        available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                otio.opentime.RationalTime(24, rate)))
    clip = otio.schema.Clip(name="sh050", media_reference=ref, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(4, rate), otio.opentime.RationalTime(16, rate)))
    clip.metadata["shotbridge"] = {"schema": 1, "characters": ["obama"]}  # the cast list says Obama
    timeline = otio.schema.Timeline(name="seq")
    timeline.tracks.append(otio.schema.Track(name="V1"))
    timeline.tracks[0].append(clip)
    sent = upload_timeline(admin, cast.id, timeline)
    assert len(sent.media) == 24 and not sent.missing
    job = admin.run(cast.id, "check_consistency", {"timeline": sent.sha256, "media": sent.media, "stride": 8})
    (shot,) = job.result["consistency"]["shots"]
    assert (shot["start_frame"], shot["end_frame"]) == (1005, 1021)
    assert shot["drift"] and shot["findings"][0]["found"] == "biden"

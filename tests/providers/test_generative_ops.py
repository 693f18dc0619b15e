"""The generative operations end to end: a real backend routing to the studio's ComfyUI (a test server on
127.0.0.1), results as AI-track clips and matte takes in the returned OTIO, every frame signed, every request
audited, and a cancel that reaches the GPU."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import opentimelineio as otio
import pytest
from live import backend_on_comfyui
from PIL import Image

from shotbridge.models import JobStatus
from shotbridge.timeline_upload import upload_timeline
from shotbridge_backend.demo import sample_movie

RATE = 24
T = otio.opentime.RationalTime


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    with backend_on_comfyui(root) as (backend, client, fake):
        movie = sample_movie(root / "plates.mp4", seconds_per_shot=1.0, size=(160, 96))
        yield backend, client, fake, movie, root


def cut(movie, *items) -> otio.schema.Timeline:
    """Clips (name, first source frame, frames) and gaps (None, 0, frames) on V1."""
    timeline = otio.schema.Timeline(name="cut")
    track = otio.schema.Track(name="V1")
    for name, start, frames in items:
        rng = otio.opentime.TimeRange(T(start, RATE), T(frames, RATE))
        track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(T(0, RATE), T(frames, RATE)))
                     if name is None else
                     otio.schema.Clip(name=name, source_range=rng, media_reference=otio.schema.ExternalReference(
                         str(movie), available_range=otio.opentime.TimeRange(T(0, RATE), T(96, RATE)))))
    timeline.tracks.append(track)
    return timeline


def result_timeline(client, project, job) -> otio.schema.Timeline:
    path = client.download(project, job.result["timeline"]["sha256"])
    return otio.adapters.read_from_string(path.read_text(), "otio_json")


def movie_frame(movie, n: int) -> np.ndarray:
    from shotbridge_backend.vision import open_media

    source = open_media(str(movie))
    try:
        return source.read(n)
    finally:
        source.close()


def test_extend_shot_lands_on_the_ai_track_conditioned_on_the_shot_s_edge_frames(world):
    backend, client, fake, movie, root = world
    from shotbridge_backend.provenance import verify_file
    from shotbridge_backend.provenance.keys import trust_anchors_path

    project = client.create_project("gen-extend")
    sent = upload_timeline(client, project.id, cut(movie, ("sh010", 0, 24), ("sh020", 30, 18)))
    uploads_before = len(fake.uploads)
    job = client.run(project.id, "extend_shot", {"timeline": sent.sha256, "media": sent.media, "shots": ["sh020"],
                                                 "frames_before": 4, "frames_after": 6, "prompt": "slow push in",
                                                 "seed": 7})
    assert job.provider == "gpu" and job.status == JobStatus.succeeded
    outcomes = {o["clip"]: o for o in job.result["shots"]}
    assert set(outcomes) == {"sh020_ext_before", "sh020_ext_after"}
    timeline = result_timeline(client, project.id, job)
    (ai,) = [t for t in timeline.video_tracks() if t.name == "ShotBridge AI"]
    placed = {c.name: c for c in ai.find_clips()}
    assert placed["sh020_ext_before"].range_in_parent() == otio.opentime.TimeRange(T(20, RATE), T(4, RATE))
    assert placed["sh020_ext_after"].range_in_parent() == otio.opentime.TimeRange(T(42, RATE), T(6, RATE))
    after = placed["sh020_ext_after"]
    assert after.source_range.start_time == T(1001, RATE) and after.media_reference.start_frame == 1001
    facts = after.metadata["shotbridge"]
    assert (facts["operation"], facts["provider"], facts["extends"], facts["side"]) == (
        "extend_shot", "gpu", "sh020", "after")
    assert facts["reproduce"]["template"] == "image_to_video" and facts["reproduce"]["workflow_hash"]
    # conditioned on sh020's last frame (source frame 47) and first frame (30): what ComfyUI received
    firsts = [np.asarray(Image.open(io.BytesIO(u["data"])).convert("RGB")).astype(int)
              for u in fake.uploads[uploads_before:]]
    for n in (30, 47):
        assert any(np.abs(f - movie_frame(movie, n)).mean() < 1.0 for f in firsts), f"frame {n} not sent"
    frames = after.media_reference.metadata["shotbridge"]["frames"]
    assert len(frames) == 6
    path = client.download(project.id, frames[0], root / "ext_after.1001.png")
    check = verify_file(path, trust_anchors_path(backend.root / "config" / "keys"))
    assert check.valid and check.provider == "gpu" and check.ingredients
    audit = client.audit(project.id, job=job.id)
    uploads = [r for r in audit if r.url.endswith("/upload/image")]
    assert len(uploads) == 2 and all(a.kind.value == "plate" for r in uploads for a in r.assets)
    assert all(r.provider == "gpu" for r in audit) and any(r.url.endswith("/prompt") for r in audit)


def test_fill_gap_bridges_the_last_frame_before_and_the_first_after(world):
    backend, client, fake, movie, root = world
    project = client.create_project("gen-fill")
    sent = upload_timeline(client, project.id, cut(movie, ("sh010", 0, 24), (None, 0, 12), ("sh020", 48, 24)))
    before = len(fake.uploads)
    job = client.run(project.id, "fill_gap", {"timeline": sent.sha256, "media": sent.media, "prompt": "a bridge"})
    assert job.status == JobStatus.succeeded, job.error
    (outcome,) = job.result["shots"]
    timeline = result_timeline(client, project.id, job)
    (fill,) = [c for t in timeline.video_tracks() if t.name == "ShotBridge AI" for c in t.find_clips()]
    assert fill.name == outcome["clip"] == "fill_V1_01"
    assert fill.range_in_parent() == otio.opentime.TimeRange(T(24, RATE), T(12, RATE))
    sent_frames = [np.asarray(Image.open(io.BytesIO(u["data"])).convert("RGB")).astype(int)
                   for u in fake.uploads[before:]]
    assert len(sent_frames) == 2
    assert np.abs(sent_frames[0] - movie_frame(movie, 23)).mean() < 1.0  # sh010's last
    assert np.abs(sent_frames[1] - movie_frame(movie, 48)).mean() < 1.0  # sh020's first


def test_remove_background_adds_a_matte_take_nuke_reads_as_alpha(world):
    backend, client, fake, movie, root = world
    project = client.create_project("gen-matte")
    sent = upload_timeline(client, project.id, cut(movie, ("sh010", 5, 3)))
    job = client.run(project.id, "remove_background", {"timeline": sent.sha256, "media": sent.media})
    assert job.status == JobStatus.succeeded, job.error
    (clip,) = result_timeline(client, project.id, job).find_clips()
    matte = clip.media_references()["matte_v001"]
    assert clip.active_media_reference_key == "DEFAULT_MEDIA"
    assert (matte.metadata["shotbridge"]["kind"], matte.metadata["shotbridge"]["channel"]) == ("matte", "rgba.red")
    assert matte.start_frame == 5 and len(matte.metadata["shotbridge"]["frames"]) == 3
    first = client.download(project.id, matte.metadata["shotbridge"]["frames"][0], root / "matte.png")
    with Image.open(first) as img:
        assert img.size == (160, 96)


def test_cancel_reaches_the_gpu(world):
    backend, client, fake, movie, root = world
    project = client.create_project("gen-cancel")
    sent = upload_timeline(client, project.id, cut(movie, ("sh010", 0, 24)))
    fake.node_seconds = 1.0  # every node takes a second: the job is mid-graph when canceled
    try:
        job = client.submit(project.id, "extend_shot", {"timeline": sent.sha256, "media": sent.media,
                                                        "frames_after": 8})
        deadline = time.monotonic() + 30
        while not any(p == "/prompt" for p in fake.paths("POST")[-3:]) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        client.cancel(job.id)
        done = client.wait(job.id)
    finally:
        fake.node_seconds = 0.0
    assert done.status == JobStatus.canceled
    posts = fake.paths("POST")
    assert "/interrupt" in posts and "/queue" in posts
    interrupt = next(r for r in reversed(fake.requests) if r["path"] == "/interrupt")
    assert json.loads(interrupt["body"])["prompt_id"]
    assert any(r.url.endswith("/interrupt") for r in client.audit(project.id, job=job.id))


def test_a_clip_of_a_still_image_gets_a_still_take(world):
    backend, client, fake, movie, root = world
    still = root / "card.png"
    Image.fromarray(movie_frame(movie, 30)).save(still)
    timeline = otio.schema.Timeline(name="cut")
    timeline.tracks.append(otio.schema.Track(name="V1", children=[otio.schema.Clip(
        name="card", source_range=otio.opentime.TimeRange(T(0, RATE), T(48, RATE)),
        media_reference=otio.schema.ExternalReference(str(still)))]))
    project = client.create_project("gen-still")
    sent = upload_timeline(client, project.id, timeline)
    prompts = fake.paths("POST").count("/prompt")
    job = client.run(project.id, "remove_background", {"timeline": sent.sha256, "media": sent.media})
    assert job.status == JobStatus.succeeded, job.error
    assert fake.paths("POST").count("/prompt") == prompts + 1, "one request for a still, not one per frame"
    (clip,) = result_timeline(client, project.id, job).find_clips()
    take = clip.media_references()["matte_v001"]
    assert isinstance(take, otio.schema.ExternalReference) and take.target_url == "./card_matte_v001.png"
    assert take.metadata["shotbridge"]["kind"] == "matte"
    (sha,) = take.metadata["shotbridge"]["frames"]
    assert {o.name: o.sha256 for o in job.outputs}["card_matte_v001.png"] == sha
    with Image.open(client.download(project.id, sha, root / "card_matte.png")) as matte:
        assert matte.size == (160, 96)


def test_a_per_frame_job_sends_its_mask_once_over_one_websocket(world):
    backend, client, fake, movie, root = world
    mask = root / "mask.png"
    Image.fromarray(np.pad(np.full((32, 48), 255, np.uint8), ((32, 32), (56, 56)))).save(mask)
    project = client.create_project("gen-inpaint")
    sent = upload_timeline(client, project.id, cut(movie, ("sh010", 10, 4)))
    mask_sha = client.upload(project.id, mask).sha256
    sockets = fake.paths("GET").count("/ws")
    job = client.run(project.id, "inpaint", {"timeline": sent.sha256, "media": sent.media, "mask": mask_sha,
                                             "prompt": "clean plate"}, provider="gpu")
    assert job.status == JobStatus.succeeded, job.error
    assert job.result["shots"][0]["frames"] == 4
    audit = client.audit(project.id, job=job.id)
    uploads = [a.kind.value for r in audit if r.url.endswith("/upload/image") for a in r.assets]
    assert sorted(uploads) == ["mask"] + ["plate"] * 4, "the mask went up once for the four frames"
    assert fake.paths("GET").count("/ws") == sockets + 1
    assert sum(r.url.startswith("ws://") for r in audit) == 1


def test_policy_allow_calls_a_studio_server_what_it_is(world):
    import os
    import subprocess
    import sys

    backend, client, fake, movie, root = world
    project = client.create_project("gen-policy")
    env = {**os.environ, "SHOTBRIDGE_URL": backend.url, "SHOTBRIDGE_CONFIG_DIR": str(backend.root / "config")}
    client.set_policy(project.id, client.policy(project.id).model_copy(update={"onprem": False}))
    done = subprocess.run([sys.executable, "-m", "shotbridge.cli", "policy", "allow", "gpu", "-p", project.name],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "cloud: gpu" not in done.stdout and "on-premises, not cloud" in done.stdout
    assert "studio servers (onprem): yes" in done.stdout
    policy = client.policy(project.id)
    assert policy.onprem and policy.grants == []

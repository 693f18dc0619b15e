"""The identity gate end to end: a real backend routing generate_image and extend_shot to the studio's ComfyUI
(a test server on 127.0.0.1) that returns real photographs at chosen seeds; the gate scores them with the
same face engine as check_consistency, generates again with a new seed under the threshold, and delivers a
take that never passes marked as failing."""

from __future__ import annotations

import numpy as np
import opentimelineio as otio
import pytest
from live import backend_on_comfyui
from PIL import Image
from sample_media import FACES, gap_cut, one_shot_cut, photo

from shotbridge.errors import JobFailed, ValidationFailed
from shotbridge.models import JobStatus, ProjectPolicy
from shotbridge.timeline_upload import upload_timeline
from shotbridge_backend.demo import sample_movie

pytestmark = pytest.mark.skipif(not FACES.exists(), reason="../shared/faces is not beside the checkout")
RATE = 24
T = otio.opentime.RationalTime


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("gate")
    with backend_on_comfyui(root) as (backend, client, fake):
        yield backend, client, fake, root


@pytest.fixture(scope="module")
def project(world):
    _backend, client, _fake, _root = world
    project = client.create_project("gate")
    # the references differ from the photos the "model" returns: identity, not the same pixels
    client.add_character(project.id, "Obama", [FACES / "obama" / "obama.jpg", FACES / "obama" / "obama2.jpg"])
    client.add_character(project.id, "Nobody")
    return project


def test_the_wrong_person_is_generated_again_and_the_right_one_kept(world, project):
    _backend, client, fake, _root = world
    fake.seed_images.update({1000: photo("biden/biden2.jpg"), 1001: photo("obama/obama-720p.jpg")})
    job = client.run(project.id, "generate_image", {"prompt": "portrait, rain", "characters": ["Obama"],
                                                    "seed": 1000, "width": 512, "height": 512})
    assert job.status == JobStatus.succeeded, job.error
    identity = job.result["identity"]
    assert identity["passed"] is True and identity["attempts"] == 2
    assert identity["distance"] <= identity["threshold"] == 0.6 and identity["face_model"].startswith("dlib")
    assert job.result["warnings"] == []
    (image,) = job.result["images"]
    kept = np.asarray(Image.open(client.download(project.id, image["sha256"])).convert("RGB"), np.float32) / 255
    wanted = photo("obama/obama-720p.jpg")
    assert kept.shape[:2] == (512, 512)
    # the kept image is the second seed's (Obama), not the first's (Biden)
    from servers.comfyui import _upscale_center
    assert np.abs(kept - _upscale_center(wanted, 512, 512)).mean() < 0.02
    assert any("seeds 1000, 1001" in n and "kept seed 1001" in n for n in job.result["notes"])


def test_always_the_wrong_person_is_delivered_marked_as_failing(world, project):
    _backend, client, fake, _root = world
    client.set_policy(project.id, ProjectPolicy(identity_attempts=2))
    try:
        fake.seed_images.update({2000: photo("biden/biden2.jpg"), 2001: photo("kit_harington/john1.jpeg")})
        job = client.run(project.id, "generate_image", {"prompt": "portrait, dusk", "characters": ["Obama"],
                                                        "seed": 2000, "width": 512, "height": 512})
    finally:
        client.set_policy(project.id, ProjectPolicy())
    assert job.status == JobStatus.succeeded, job.error
    identity = job.result["identity"]
    assert identity["passed"] is False and identity["attempts"] == 2
    assert identity["distance"] > identity["threshold"]
    assert len(job.result["images"]) == 1
    (warning,) = job.result["warnings"]
    assert "identity gate FAILED" in warning and "Obama" in warning and "2 attempt" in warning


def test_a_character_with_no_reference_is_refused_before_anything_is_sent(world, project):
    _backend, client, fake, _root = world
    before = len(fake.paths("POST"))
    with pytest.raises(JobFailed) as failed:
        client.run(project.id, "generate_image", {"prompt": "portrait", "characters": ["Nobody"], "seed": 3})
    job = failed.value.job
    assert job.status == JobStatus.failed and job.error.errors[0].field == "params.characters"
    assert "Nobody" in job.error.detail and "no reference photo" in job.error.detail
    assert [p for p in fake.paths("POST")[before:] if p in ("/prompt", "/upload/image")] == []


def test_a_character_the_bible_does_not_know_is_refused_naming_those_it_has(world, project):
    _backend, client, fake, _root = world
    before = len(fake.paths("POST"))
    with pytest.raises(JobFailed, match=r"No character 'Obamma'.*Nobody, Obama"):
        client.run(project.id, "generate_image", {"prompt": "portrait", "characters": ["Obamma"], "use_bible": False})
    assert [p for p in fake.paths("POST")[before:] if p in ("/prompt", "/upload/image")] == []


def test_a_reference_photo_with_no_face_never_enters_the_bible(world, project):
    _backend, client, _fake, root = world
    from skimage import data

    coffee = root / "coffee.png"
    Image.fromarray(data.coffee()).save(coffee)
    with pytest.raises(ValidationFailed, match="No face"):
        client.add_reference(project.id, "Nobody", coffee)


def test_extend_shot_with_a_character_is_gated_and_the_take_carries_the_verdict(world, project):
    _backend, client, fake, root = world
    movie = sample_movie(root / "plates.mp4", seconds_per_shot=1.0, size=(320, 240))
    timeline = one_shot_cut(movie, "sh010", 24)
    sent = upload_timeline(client, project.id, timeline)
    fake.seed_images.update({4000: photo("rose_leslie/img1.jpg"), 4001: photo("obama/obama1.jpg")})
    job = client.run(project.id, "extend_shot", {"timeline": sent.sha256, "media": sent.media, "frames_after": 3,
                                                 "prompt": "he turns", "characters": ["Obama"], "seed": 4000,
                                                 # the built-in image_to_video takes no references: gated all the same
                                                 "use_bible": False})
    assert job.status == JobStatus.succeeded, job.error
    (outcome,) = job.result["shots"]
    assert outcome["identity"]["passed"] is True and outcome["identity"]["attempts"] == 2
    assert outcome["identity"]["frames"] == 3 and outcome["seed"] == 4001
    result = otio.adapters.read_from_string(client.download(project.id, job.result["timeline"]["sha256"])
                                            .read_text(), "otio_json")
    (ai,) = [t for t in result.video_tracks() if t.name == "ShotBridge AI"]
    (clip,) = ai.find_clips()
    facts = clip.metadata["shotbridge"]
    assert facts["identity"]["passed"] is True and facts["identity"]["attempts"] == 2
    assert facts["identity"]["score"] > 0.9 and facts["model"]


def test_inpaint_naming_a_character_gates_every_frame_and_marks_a_take_that_fails(world, project):
    _backend, client, fake, root = world
    movie = sample_movie(root / "inpaint.mp4", seconds_per_shot=1.0, size=(320, 240))
    timeline = one_shot_cut(movie, "sh030", 2)
    sent = upload_timeline(client, project.id, timeline)
    mask = root / "mask.png"
    Image.fromarray(np.full((240, 320), 255, np.uint8)).save(mask)
    mask_sha = client.upload(project.id, mask).sha256
    client.set_policy(project.id, ProjectPolicy(identity_attempts=2))
    try:
        fake.seed_images.update({6000: photo("alex_lacamoire/img1.jpg"), 6001: photo("biden/biden.jpg")})
        job = client.run(project.id, "inpaint", {"timeline": sent.sha256, "media": sent.media, "mask": mask_sha,
                                                 "prompt": "clean plate", "characters": ["Obama"], "seed": 6000,
                                                 "use_bible": False})
    finally:
        client.set_policy(project.id, ProjectPolicy())
    assert job.status == JobStatus.succeeded, job.error
    (outcome,) = job.result["shots"]
    assert outcome["frames"] == 2
    identity = outcome["identity"]
    assert identity["passed"] is False and identity["attempts"] == 2 and identity["frames"] == 2
    (warning,) = job.result["warnings"]
    assert "sh030" in warning and "identity gate FAILED" in warning
    result = otio.adapters.read_from_string(client.download(project.id, job.result["timeline"]["sha256"])
                                            .read_text(), "otio_json")
    (clip,) = result.find_clips()
    take = clip.media_references()[outcome["take"]]
    assert take.metadata["shotbridge"]["identity"]["passed"] is False


def test_fill_gap_with_a_character_keeps_the_best_of_its_attempts(world, project):
    _backend, client, fake, root = world
    movie = sample_movie(root / "fill.mp4", seconds_per_shot=1.0, size=(320, 240))
    timeline = gap_cut(movie, 4)
    sent = upload_timeline(client, project.id, timeline)
    # three attempts: a stranger, nobody (no face), the character
    fake.seed_images.update({7000: photo("lin_manuel_miranda/lin-manuel-miranda.png"),
                             7001: np.full((240, 320, 3), 0.5, np.float32), 7002: photo("obama/obama-1080p.jpg")})
    job = client.run(project.id, "fill_gap", {"timeline": sent.sha256, "media": sent.media, "prompt": "bridge",
                                              "characters": ["Obama"], "seed": 7000, "use_bible": False})
    assert job.status == JobStatus.succeeded, job.error
    (outcome,) = job.result["shots"]
    assert outcome["seed"] == 7002 and outcome["identity"]["passed"] is True
    assert outcome["identity"]["attempts"] == 3 and job.result["warnings"] == []

"""The identity gate's verdict in the job's HTML report: a real backend on the ComfyUI double (real faces at chosen
seeds), the report downloaded and read as HTML (no screenshot): one section per generated image or take with its
score, threshold, attempts and face model, a failing one marked."""

from __future__ import annotations

from html.parser import HTMLParser

import opentimelineio as otio
import pytest
from live import backend_on_comfyui
from sample_media import FACES, one_shot_cut, photo

from shotbridge.models import JobStatus, ProjectPolicy
from shotbridge.timeline_upload import upload_timeline
from shotbridge_backend.demo import sample_movie

pytestmark = pytest.mark.skipif(not FACES.exists(), reason="../shared/faces is not beside the checkout")
RATE = 24
T = otio.opentime.RationalTime


class Sections(HTMLParser):
    """The report's take sections: their state attribute, whether they show an image, and their text."""

    def __init__(self):
        super().__init__()
        self.sections: list[dict] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "take" in (attrs.get("class") or "").split():
            self.sections.append({"state": attrs.get("data-identity"), "classes": attrs["class"], "text": "",
                                  "images": 0})
            self.depth = 1
        elif self.depth:
            if tag == "section":
                self.depth += 1
            if tag == "img" and (attrs.get("src") or "").startswith("data:image/jpeg;base64,"):
                self.sections[-1]["images"] += 1

    def handle_endtag(self, tag):
        if self.depth and tag == "section":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.sections[-1]["text"] += data + " "


def report_of(client, project: str, job) -> Sections:
    (ref,) = [o for o in job.outputs if o.name == "report.html"]
    parser = Sections()
    parser.feed(client.download(project, ref.sha256).read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("gate-report")
    with backend_on_comfyui(root) as (_backend, client, fake):
        project = client.create_project("report")
        client.add_character(project.id, "Obama", [FACES / "obama" / "obama.jpg", FACES / "obama" / "obama2.jpg"])
        yield client, fake, project.id, root


def test_a_failing_image_is_marked_in_the_report_with_its_verdict(world):
    client, fake, project, _root = world
    client.set_policy(project, ProjectPolicy(identity_attempts=2))
    try:
        fake.seed_images.update({8000: photo("biden/biden2.jpg"), 8001: photo("kit_harington/john1.jpeg")})
        job = client.run(project, "generate_image", {"prompt": "portrait", "characters": ["Obama"], "seed": 8000,
                                                     "width": 256, "height": 256})
    finally:
        client.set_policy(project, ProjectPolicy())
    assert job.status == JobStatus.succeeded, job.error
    identity = job.result["identity"]
    (section,) = report_of(client, project, job).sections
    assert section["state"] == "failing" and "failing" in section["classes"].split()
    text = " ".join(section["text"].split())
    assert "FAILING IDENTITY GATE" in text and "Delivered marked as failing" in text
    assert f"score {identity['score']:.3f}" in text
    assert f"distance {identity['distance']:.3f} (threshold {identity['threshold']:.3f})" in text
    assert "attempts 2" in text and f"face model {identity['face_model']}" in text and "Obama" in text
    assert section["images"] == 1  # the image itself, inline


def test_a_passing_extension_take_is_in_the_report_with_its_template(world):
    client, fake, project, root = world
    movie = sample_movie(root / "plates.mp4", seconds_per_shot=1.0, size=(320, 240))
    timeline = one_shot_cut(movie, "sh010", 24)
    sent = upload_timeline(client, project, timeline)
    fake.seed_images.update({8100: photo("obama/obama1.jpg")})
    job = client.run(project, "extend_shot", {"timeline": sent.sha256, "media": sent.media, "frames_after": 2,
                                              "prompt": "he turns", "characters": ["Obama"], "seed": 8100,
                                              "use_bible": False})
    assert job.status == JobStatus.succeeded, job.error
    (section,) = report_of(client, project, job).sections
    text = " ".join(section["text"].split())
    assert section["state"] == "passed" and "PASSED" in text and "FAILING" not in text
    assert "sh010_ext_after" in text and "template image_to_video" in text and "frames scored 2" in text
    assert section["images"] == 1


def test_a_job_without_characters_has_no_report(world):
    client, _fake, project, _root = world
    job = client.run(project, "generate_image", {"prompt": "an empty street", "width": 64, "height": 64})
    assert job.status == JobStatus.succeeded and not any(o.name == "report.html" for o in job.outputs)

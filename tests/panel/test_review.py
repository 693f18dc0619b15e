"""Reviewing a take: its facts as the generative ops write them, Content Credentials checked by a real backend
against its studio trust anchor, and a take whose files are missing refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import opentimelineio as otio
import pytest
from waiting import wait_for

from shotbridge.exchange.facts import Facts, IdentityFacts, set_facts
from shotbridge.models import CredentialStatus
from shotbridge.panel.host import FileHost
from shotbridge.panel.review import media_of, review_for
from shotbridge.panel.viewmodel import PanelViewModel, Take

RATE = 24


def connected(client_factory, project_name, host=None) -> PanelViewModel:
    vm = PanelViewModel(client_factory, host=host, project=project_name)
    vm.connect()
    wait_for(lambda: vm.state.connection == "connected" and vm._watcher is not None)
    return vm


@pytest.fixture(scope="module")
def inpainted(backend, tmp_path_factory):
    """A real inpaint job on the embedded backend's local provider: a signed 3-frame take of a movie's clip."""
    import numpy as np
    from PIL import Image

    from shotbridge.client import Client
    from shotbridge_backend.demo import sample_movie

    root = tmp_path_factory.mktemp("review")
    movie = sample_movie(root / "plate.mp4", seconds_per_shot=0.25, size=(160, 96))
    cut = otio.schema.Timeline(name="cut")
    cut.tracks.append(otio.schema.Track(name="V1", children=[otio.schema.Clip(
        name="sh010", media_reference=otio.schema.ExternalReference(str(movie)),
        source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(1, RATE),
                                             otio.opentime.RationalTime(3, RATE)))]))
    mask = np.zeros((96, 160), np.uint8)
    mask[30:60, 60:100] = 255
    Image.fromarray(mask).save(root / "mask.png")
    token = (backend.root / "config" / "token").read_text().strip()
    vm = PanelViewModel(lambda: Client(backend.url, token, cache_dir=root / "cache"), host=FileHost(cut),
                        project="review-inpaint")
    vm.connect()
    wait_for(lambda: vm.state.connection == "connected" and vm._watcher is not None)
    vm.take_selection_from_host()
    vm.select_operation("inpaint")
    vm.set_value("mask", str(root / "mask.png"))
    assert vm.run(), vm.state.errors
    wait_for(lambda: vm.state.takes, timeout=90)
    yield vm, root
    vm.close()


def test_a_generated_take_shows_its_facts_and_verified_credentials(inpainted):
    vm, _root = inpainted
    (take,) = vm.state.takes
    review = vm.open_review(take)
    assert (review.clip, review.key, review.first, review.last) == ("sh010", "inpaint_v001", 1, 3)
    assert review.source.kind == "movie" and review.take.kind == "sequence"
    assert all(p.is_file() for p in review.take.files()) and review.missing is None and review.can_accept
    assert (review.facts.operation, review.facts.provider, review.facts.model) == ("inpaint", "local",
                                                                                  review.facts.model)
    assert review.facts.model and review.facts.signed and len(review.facts.frames) == 3
    assert review.credential.status == "checking"
    wait_for(lambda: review.credential.status != "checking", timeout=30)
    assert review.credential.status == "verified", review.credential.text
    assert "3 frame(s)" in review.credential.text and "signed by" in review.credential.text
    # frame n of the clip is frame n of the take's sequence, and the movie's frame n
    path, index = review.take.locate(2)
    assert path.name.endswith(".0002.png") and index == 0
    assert review.source.locate(2) == (review.source.path, 2)


def test_a_take_changed_on_disk_after_signing_is_invalid(inpainted, tmp_path):
    vm, _root = inpainted
    (take,) = vm.state.takes
    frame = media_of(take.reference).files()[1]
    kept = tmp_path / "kept.png"
    shutil.copyfile(frame, kept)
    try:
        frame.unlink()  # a hard link to the cache: write a changed copy in its place
        data = bytearray(kept.read_bytes())
        data[-20] ^= 0xFF
        frame.write_bytes(bytes(data))
        review = vm.open_review(take)
        wait_for(lambda: review.credential.status != "checking", timeout=30)
        assert review.credential.status == "invalid"
        assert frame.name in review.credential.detail and "differs from the signed file" in review.credential.detail
    finally:
        frame.unlink()
        shutil.copyfile(kept, frame)


def test_the_backend_tells_signed_unsigned_and_tampered_assets_apart(inpainted, client_factory, tmp_path):
    vm, _root = inpainted
    client, project = vm.client, vm._project_id
    (take,) = vm.state.takes
    first = media_of(take.reference).files()[0]
    signed = client.credentials(project, take.reference.metadata["shotbridge"]["frames"][0])
    assert signed.status == CredentialStatus.verified and signed.provider == "local"
    assert set(signed.training_mining.values()) == {"notAllowed"}

    plain = tmp_path / "plain.png"
    from PIL import Image

    Image.new("RGB", (8, 8), (90, 20, 20)).save(plain)
    unsigned = client.credentials(project, client.upload(project, plain).sha256)
    assert unsigned.status == CredentialStatus.not_signed and "no Content Credentials" in unsigned.issues[0]

    data = bytearray(first.read_bytes())
    data[-20] ^= 0xFF  # inside the image data, after the manifest: the signed hash no longer matches
    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(bytes(data))
    bad = client.credentials(project, client.upload(project, tampered).sha256)
    assert bad.status == CredentialStatus.invalid and bad.issues

    from shotbridge.errors import ShotBridgeError

    with pytest.raises(ShotBridgeError) as err:
        client.credentials(project, "0" * 64)
    assert err.value.status == 404


def test_a_take_whose_files_are_missing_cannot_be_accepted(tmp_path):
    plate = tmp_path / "plate.png"
    plate.write_bytes(b"plate")
    clip = otio.schema.Clip(name="sh020", media_reference=otio.schema.ExternalReference(str(plate)),
                            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(10, RATE),
                                                                 otio.opentime.RationalTime(5, RATE)))
    cut = otio.schema.Timeline(name="cut", tracks=[otio.schema.Track(name="V1", children=[clip])])
    gone = otio.schema.ImageSequenceReference(target_url_base=(tmp_path / "gone").as_uri() + "/", name_prefix="sh020.",
                                              name_suffix=".png", start_frame=10, frame_zero_padding=4, rate=RATE)
    gone.available_range = clip.source_range
    host = FileHost(cut)
    vm = PanelViewModel(lambda: None, host=host)
    vm.take_selection_from_host()
    take = Take("sh020", "gen_v001", "gone", reference=gone)
    vm.state.takes.append(take)
    review = vm.open_review(take)
    assert not review.can_accept and "5 of its 5 frame files are not on disk" in review.missing
    assert not vm.accept_take(take)
    assert "cannot be accepted" in vm.state.message and "sh020.0010.png" in vm.state.message
    assert host.timeline.find_clips()[0].active_media_reference_key == otio.schema.Clip.DEFAULT_MEDIA_KEY
    assert take.state == "pending"


def test_review_state_clamps_and_reads_the_identity_verdict(tmp_path):
    take = otio.schema.ExternalReference(target_url=str(tmp_path / "t.png"))
    set_facts(take, Facts(operation="generate_image", provider="comfyui", model="sdxl", seed=7, provenance="c2pa",
                          asset_sha256="a" * 64, identity=IdentityFacts(
                              passed=False, score=0.71, distance=1.077, threshold=0.6, attempts=3,
                              face_model="dlib_face_recognition_resnet_model_v1")))
    clip = otio.schema.Clip(name="sh030", media_reference=otio.schema.ExternalReference(str(tmp_path / "p.png")),
                            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, RATE),
                                                                 otio.opentime.RationalTime(48, RATE)))
    clip.set_media_references({**clip.media_references(), "gen_v001": take}, clip.DEFAULT_MEDIA_KEY)
    review = review_for(clip, "gen_v001", None)
    assert review.facts.seed == 7 and review.facts.frames == ["a" * 64] and review.credential.status == "checking"
    line = review.identity_line()
    assert line.startswith("FAILED: score 0.710 (needs >= 0.910), 3 attempt(s)"), line
    assert review.set_frame(99) == 47 and review.set_frame(-3) == 0 and review.timecode(24) == "00:00:01:00"
    review.set_divider(1.7)
    assert review.divider == 1.0
    assert review.flip() == "source" and review.flip() == "take"
    with pytest.raises(ValueError, match="wipe, flip, side"):
        review.set_mode("overlay")
    assert Path(review.missing.split("file ")[1].split(" is")[0]).name == "t.png"


def test_standalone_accept_on_picked_shots_changes_the_timeline_that_is_saved(tmp_path):
    clips = [otio.schema.Clip(name=f"sh0{n}0", media_reference=otio.schema.ExternalReference(f"/p/sh0{n}0.mov"),
                              source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, RATE),
                                                                   otio.opentime.RationalTime(24, RATE)))
             for n in (1, 2)]
    cut = otio.schema.Timeline(name="cut", tracks=[otio.schema.Track(name="V1", children=clips)])
    host = FileHost(cut)
    vm = PanelViewModel(lambda: None, host=host)
    picked = otio.schema.Timeline(name="cut", tracks=[otio.schema.Track(name="V1", children=[clips[1].deepcopy()])])
    vm.set_selection(picked)  # as the standalone window hands over the shots picked in its list
    movie = tmp_path / "sh020_v001.mov"
    movie.write_bytes(b"take")
    take = Take("sh020", "gen_v001", str(movie), reference=otio.schema.ExternalReference(movie.as_uri()))
    assert vm.accept_take(take)
    saved = host.timeline.find_clips()[1]
    assert saved.active_media_reference_key == "gen_v001" and saved.media_reference.target_url == movie.as_uri()
    assert host.timeline.find_clips()[0].active_media_reference_key == otio.schema.Clip.DEFAULT_MEDIA_KEY
    assert "save the timeline" in vm.state.message
    vm.reject_take(take)
    assert saved.active_media_reference_key == otio.schema.Clip.DEFAULT_MEDIA_KEY and "original media" in vm.state.message


def test_the_shot_tables_ai_badge_carries_the_backends_verdict(inpainted):
    """A signed take is checked as it arrives; once it is the shot's active media, its row says so."""
    vm, _root = inpainted
    (take,) = vm.state.takes
    wait_for(lambda: ("sh010", take.key) in vm.state.credentials, timeout=30)
    review = vm.open_review(take)  # checked again (an earlier test changed a frame on disk for a while)
    wait_for(lambda: review.credential.status != "checking", timeout=30)
    assert vm.state.credentials[("sh010", take.key)].status == "verified", review.credential.text
    vm.show_shots(vm.host.timeline)
    (row,) = vm.state.shots
    assert not any(b.kind == "ai" for b in row.badges)  # the plate is still the shot's media
    assert vm.accept_take(take)
    try:
        vm.show_shots(vm.host.timeline)
        (row,) = vm.state.shots
        (ai,) = [b for b in row.badges if b.kind == "ai"]
        assert ai.text == "AI · verified" and "inpaint" in ai.tooltip
    finally:
        vm.reject_take(take)

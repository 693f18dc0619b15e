"""edit_shot and reframe end to end: a real backend routing to the studio's ComfyUI (the double on 127.0.0.1,
whose Wan VACE and Qwen-Image-Edit nodes are declared as the real 0.3.64 /object_info declares them). The graphs
posted are the official templates converted, with the request at the nodes the built-in templates name; the
takes land on the shots' clips with model, provider, source template and framing; characters pass the identity
gate with real faces from ../shared/faces; bad input is refused before anything is sent."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import cv2
import numpy as np
import opentimelineio as otio
import pytest
from live import backend_on_comfyui
from PIL import Image
from sample_media import FACES, gap_cut, photo

from shotbridge.errors import JobFailed, ValidationFailed
from shotbridge.models import DataKind, JobStatus
from shotbridge.timeline_upload import upload_timeline
from shotbridge_backend.demo import sample_movie
from shotbridge_backend.providers.comfyui_templates import official_workflow
from shotbridge_backend.providers.comfyui_ui import to_api

RATE = 24
T = otio.opentime.RationalTime
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
RECORD = SHARED / "comfyui" / "object_info-v0.3.64.json"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("edits")
    with backend_on_comfyui(root) as (backend, client, fake):
        wide = sample_movie(root / "wide.mp4", seconds_per_shot=1.0, size=(240, 100))  # 2.4:1
        yield client, fake, wide, root


def cut(movie: Path, name: str = "sh010", start: int = 0, frames: int = 9) -> otio.schema.Timeline:
    timeline = otio.schema.Timeline(name="cut")
    track = otio.schema.Track(name="V1")
    track.append(otio.schema.Clip(name=name, source_range=otio.opentime.TimeRange(T(start, RATE), T(frames, RATE)),
                                  media_reference=otio.schema.ExternalReference(
                                      str(movie), available_range=otio.opentime.TimeRange(T(0, RATE), T(48, RATE)))))
    timeline.tracks.append(track)
    return timeline


def posted(fake, since: int) -> list[dict]:
    return [r["json"]["prompt"] for r in fake.requests[since:] if r["path"] == "/prompt" and r["method"] == "POST"]


def official_nodes(name: str) -> dict[str, str]:
    """node id -> class of the official template as converted against the real server's record."""
    workflow, _ = official_workflow(name)
    return {k: v["class_type"] for k, v in to_api(workflow, json.loads(RECORD.read_text()), where=name).items()}


def take_of(client, project, job, shot: str, key: str) -> otio.core.MediaReference:
    path = client.download(project, job.result["timeline"]["sha256"])
    timeline = otio.adapters.read_from_string(path.read_text(), "otio_json")
    (clip,) = [c for c in timeline.find_clips() if c.name == shot]
    assert clip.active_media_reference_key == "DEFAULT_MEDIA"  # a take, never made active by ShotBridge
    return clip.media_references()[key]


def frames_of(client, project, take) -> list[np.ndarray]:
    return [np.asarray(Image.open(client.download(project, sha)).convert("RGB"), np.float32) / 255
            for sha in take.metadata["shotbridge"]["frames"]]


def plate(movie: Path, n: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(movie))
    capture.set(cv2.CAP_PROP_POS_FRAMES, n)
    ok, bgr = capture.read()
    capture.release()
    assert ok
    return bgr[:, :, ::-1].astype(np.float32) / 255


def test_edit_shot_edits_a_key_frame_then_carries_it_through_the_shot_with_wan_vace(world):
    client, fake, movie, _root = world
    project = client.create_project("edit")
    sent = upload_timeline(client, project.id, cut(movie, frames=9))
    since, uploads = len(fake.requests), len(fake.uploads)
    job = client.run(project.id, "edit_shot", {"timeline": sent.sha256, "media": sent.media,
                                               "prompt": "night, wet street", "seed": 31, "key_frame": 2})
    assert job.status == JobStatus.succeeded and job.provider == "gpu"
    edit_graph, video_graph = posted(fake, since)
    # the image edit: the official Qwen-Image-Edit 2509 graph, the key frame in its LoadImage, the instruction;
    # the edit starts from the key frame's latent, so the official empty latent is left out
    official = official_nodes("image_qwen_image_edit_2509")
    assert official.pop("112") == "EmptySD3LatentImage"
    assert {k: v["class_type"] for k, v in edit_graph.items()} == official
    assert edit_graph["111"]["inputs"]["prompt"] == "night, wet street" and edit_graph["3"]["inputs"]["seed"] == 31
    key_name = edit_graph["78"]["inputs"]["image"]
    # the video: the official Wan VACE v2v graph; the shot is the control video, the edited frame the reference
    assert {k: v["class_type"] for k, v in video_graph.items()} == official_nodes("video_wan_vace_14B_v2v")
    vace = video_graph["49"]["inputs"]
    assert (vace["width"], vace["height"], vace["length"]) == (240, 112, 9)  # 100 px up to Wan's 16-px grid
    assert video_graph["6"]["inputs"]["text"] == "night, wet street" and video_graph["68"]["inputs"]["fps"] == 24.0
    control, reference = video_graph["145"]["inputs"]["file"], video_graph["134"]["inputs"]["image"]
    sent_files = {u["filename"]: u for u in fake.uploads[uploads:]}
    assert sent_files[control]["content_type"] == "video/mp4" and control.endswith(".mp4")
    assert reference != key_name and reference in sent_files  # the edited key frame, not the plate's
    capture_frames = _movie_frames(fake.files["input"][control])
    assert len(capture_frames) == 9  # the whole shot went as the control video

    (outcome,) = job.result["shots"]
    assert outcome["take"] == "edit_v001" and outcome["frames"] == 9 and outcome["identity"] is None
    take = take_of(client, project.id, job, "sh010", "edit_v001")
    facts = take.metadata["shotbridge"]
    assert facts["operation"] == "edit_shot" and facts["provider"] == "gpu"
    assert facts["model"] == "wan2.1_vace_14B_fp16.safetensors"
    assert facts["edit_model"] == "qwen_image_edit_2509_fp8_e4m3fn.safetensors" and facts["key_frame"] == 2
    assert "video_wan_vace_14B_v2v" in facts["source_template"] and "0.1.95" in facts["source_template"]
    assert "image_qwen_image_edit_2509" in facts["edit_template"]
    assert take.start_frame == 0 and len(facts["frames"]) == 9
    frames = frames_of(client, project.id, take)
    assert frames[0].shape == (112, 240, 3)
    # video-to-video keeps the shot's structure: each take frame is nearer its own plate frame than another's
    near = np.abs(frames[0][:100] - plate(movie, 0)).mean()
    far = np.abs(frames[0][:100] - plate(movie, 30)).mean()
    assert near < far


def _movie_frames(data: bytes) -> list[np.ndarray]:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
        tmp.write(data)
        tmp.flush()
        capture = cv2.VideoCapture(tmp.name)
        frames = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
        capture.release()
    return frames


@pytest.mark.skipif(not FACES.exists(), reason="../shared/faces is not beside the checkout")
def test_edit_shot_with_a_character_regenerates_the_wrong_face_and_keeps_the_right_one(world):
    client, fake, _wide, root = world
    movie = sample_movie(root / "portrait.mp4", seconds_per_shot=1.0, size=(320, 240))  # room for a face
    project = client.create_project("edit-gate")
    client.add_character(project.id, "Obama", [FACES / "obama" / "obama.jpg", FACES / "obama" / "obama2.jpg"])
    sent = upload_timeline(client, project.id, cut(movie, frames=5))
    fake.seed_images.update({8000: photo("biden/biden2.jpg"), 8001: photo("obama/obama-720p.jpg")})
    since = len(fake.requests)
    job = client.run(project.id, "edit_shot", {"timeline": sent.sha256, "media": sent.media, "prompt": "relight "
                                               "from the left", "characters": ["Obama"], "seed": 8000})
    assert job.status == JobStatus.succeeded
    assert [g["3"]["inputs"]["seed"] for g in posted(fake, since)] == [8000, 8000, 8001, 8001]  # edit, video, x2
    (outcome,) = job.result["shots"]
    assert outcome["seed"] == 8001 and outcome["identity"]["passed"] is True and outcome["identity"]["attempts"] == 2
    assert job.result["warnings"] == []
    take = take_of(client, project.id, job, "sh010", outcome["take"])
    assert take.metadata["shotbridge"]["identity"]["passed"] is True


def test_reframe_outpaints_2_39_to_16_9_keeping_the_source_where_the_framing_says(world):
    client, fake, movie, _root = world
    project = client.create_project("reframe")
    sent = upload_timeline(client, project.id, cut(movie, frames=9))
    since = len(fake.requests)
    job = client.run(project.id, "reframe", {"timeline": sent.sha256, "media": sent.media, "aspect": "16:9",
                                             "prompt": "more of the street", "seed": 4})
    assert job.status == JobStatus.succeeded
    (graph,) = posted(fake, since)
    assert {k: v["class_type"] for k, v in graph.items()} == official_nodes("video_wan_vace_outpainting")
    pad = graph["110"]["inputs"]
    # 240x100 (2.4:1) -> 240x144 on the 16-px grid (1.67:1 .. the nearest 16:9 that holds it), centred
    assert (pad["left"], pad["top"], pad["right"], pad["bottom"]) == (0, 22, 0, 22)
    assert (graph["137"]["inputs"]["value"], graph["139"]["inputs"]["value"], graph["131"]["inputs"]["value"]) == \
        (240, 144, 9)
    assert graph["71"]["inputs"]["file"].endswith(".mp4") and graph["6"]["inputs"]["text"] == "more of the street"
    take = take_of(client, project.id, job, "sh010", "reframe_v001")
    facts = take.metadata["shotbridge"]
    assert {k: list(v) if k != "anchor" and not isinstance(v, float) else v for k, v in facts["framing"].items()} \
        == {"source_size": [240, 100], "target_size": [240, 144], "offset": [0, 22],
                                "anchor": "center", "aspect": round(16 / 9, 4)}
    assert "video_wan_vace_outpainting" in facts["source_template"] and facts["operation"] == "reframe"
    frames = frames_of(client, project.id, take)
    assert len(frames) == 9 and frames[0].shape == (144, 240, 3)
    # outpainting keeps the source where the mask is 0: the plate sits at the recorded offset, new picture around
    inside = np.abs(frames[4][22:122] - plate(movie, 4)).mean()
    assert inside < 0.05, inside


def test_reframe_to_9_16_anchored_at_the_top(world):
    client, fake, movie, _root = world
    project = client.create_project("reframe-916")
    sent = upload_timeline(client, project.id, cut(movie, frames=5))
    since = len(fake.requests)
    job = client.run(project.id, "reframe", {"timeline": sent.sha256, "media": sent.media, "aspect": "9:16",
                                             "anchor": "top", "seed": 2})
    (graph,) = posted(fake, since)
    pad = graph["110"]["inputs"]
    assert (pad["left"], pad["top"], pad["right"], pad["bottom"]) == (0, 0, 0, 332)  # 240x100 -> 240x432
    (outcome,) = job.result["shots"]
    assert outcome["frames"] == 5 and "source at x=0, y=0" in outcome["notes"][0]


@pytest.mark.parametrize("params, message", [
    ({"aspect": "5:1"}, "outside 1:4 to 4:1"),
    ({"aspect": "wide"}, "is not a ratio"),
    ({"aspect": "16:9", "width": 1920, "height": 1080}, "not both"),
    ({"width": 1920}, "or both width and height"),
])
def test_reframe_refuses_an_unsupported_aspect_at_submit(world, params, message):
    client, fake, movie, _root = world
    project = client.create_project(f"reframe-bad-{len(message)}-{len(params)}")
    sent = upload_timeline(client, project.id, cut(movie))
    since = len(fake.requests)
    with pytest.raises(ValidationFailed, match=message):
        client.run(project.id, "reframe", {"timeline": sent.sha256, "media": sent.media, **params})
    assert [r["path"] for r in fake.requests[since:] if r["method"] == "POST"] == []


def test_reframe_to_the_shot_s_own_aspect_is_refused_before_sending(world):
    client, fake, movie, _root = world
    project = client.create_project("reframe-same")
    sent = upload_timeline(client, project.id, cut(movie))
    since = len(fake.requests)
    with pytest.raises(JobFailed, match="already 240x100"):
        client.run(project.id, "reframe", {"timeline": sent.sha256, "media": sent.media, "aspect": "2.4:1"})
    assert [r["path"] for r in fake.requests[since:] if r["method"] == "POST"] == []


def test_a_key_frame_outside_the_shot_is_refused_before_sending(world):
    client, fake, movie, _root = world
    project = client.create_project("edit-bad")
    sent = upload_timeline(client, project.id, cut(movie, frames=5))
    since = len(fake.requests)
    with pytest.raises(JobFailed, match=r"key_frame 7 is outside shot\(s\) sh010 \(5\)"):
        client.run(project.id, "edit_shot", {"timeline": sent.sha256, "media": sent.media, "prompt": "night",
                                             "key_frame": 7})
    assert [r["path"] for r in fake.requests[since:] if r["method"] == "POST"] == []


def test_the_new_operations_are_listed_with_their_parameters(world):
    client, _fake, _movie, _root = world
    ops = {op.name: op for op in client.operations()}
    reframe, edit = ops["reframe"], ops["edit_shot"]
    assert reframe.providers == ["gpu"] and edit.providers == ["gpu"]
    props = reframe.params_schema["properties"]
    assert {"aspect", "width", "height", "anchor", "timeline"} <= set(props)
    assert set(props["anchor"]["enum"]) == {"center", "top", "bottom", "left", "right"}
    assert {"prompt", "key_frame", "characters"} <= set(edit.params_schema["properties"])
    assert "prompt" in edit.params_schema["required"]


# -- replace_character ---------------------------------------------------------------------------------------


def face_plate(path: Path, face: str, frames: int = 5, size: tuple[int, int] = (320, 240)) -> Path:
    """A live-action stand-in: a performer's photograph as a short movie."""
    from servers.comfyui import _upscale_center

    still = (_upscale_center(photo(face), *size) * 255).astype(np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), RATE, size)
    for _ in range(frames):
        writer.write(np.ascontiguousarray(still[:, :, ::-1]))
    writer.release()
    return path


@pytest.fixture(scope="module")
def casting(world):
    client, _fake, _movie, root = world
    if not FACES.exists():
        pytest.skip("../shared/faces is not beside the checkout")
    project = client.create_project("replace")
    client.add_character(project.id, "Obama", [FACES / "obama" / "obama.jpg", FACES / "obama" / "obama2.jpg"])
    client.add_character(project.id, "Nobody")
    plate_movie = face_plate(root / "performer.mp4", "alex_lacamoire/alex_lacamoire1.jpg")
    sent = upload_timeline(client, project.id, cut(plate_movie, frames=5))
    return project, sent


def test_replace_character_regenerates_the_performer_s_matte_with_the_bible_character(world, casting):
    client, fake, _movie, _root = world
    project, sent = casting
    fake.seed_images.update({9100: photo("biden/biden2.jpg"), 9101: photo("obama/obama-720p.jpg")})
    since, uploads = len(fake.requests), len(fake.uploads)
    job = client.run(project.id, "replace_character", {"timeline": sent.sha256, "media": sent.media,
                                                       "character": "Obama", "prompt": "he looks up",
                                                       "seed": 9100})
    assert job.status == JobStatus.succeeded
    first, second = posted(fake, since)  # the wrong face, then the right one
    assert (first["3"]["inputs"]["seed"], second["3"]["inputs"]["seed"]) == (9100, 9101)
    assert {k: v["class_type"] for k, v in second.items()} == official_nodes("video_wan_vace_inpainting")
    vace = second["49"]["inputs"]
    assert (vace["width"], vace["height"], vace["length"]) == (320, 240, 5)
    assert second["209"]["inputs"]["file"].endswith(".mp4") and second["6"]["inputs"]["text"] == "he looks up"
    # the matte the face engine made, as the alpha of the mask image: transparent over the performer
    with Image.open(io.BytesIO(fake.files["input"][second["215"]["inputs"]["image"]])) as img:
        alpha = np.asarray(img.getchannel("A"))
    assert alpha.shape == (240, 320) and 0.05 < (alpha == 0).mean() < 0.9
    assert alpha[-1, 160] == 0 and alpha[0, 0] == 255  # down to the bottom edge under the face; not the corner
    uploaded = {u["filename"] for u in fake.uploads[uploads:]}
    assert second["162"]["inputs"]["image"] in uploaded  # the bible's reference photo

    (outcome,) = job.result["shots"]
    assert outcome["take"] == "replace_v001" and outcome["seed"] == 9101
    assert outcome["identity"]["passed"] is True and outcome["identity"]["attempts"] == 2
    take = take_of(client, project.id, job, "sh010", "replace_v001")
    facts = take.metadata["shotbridge"]
    assert facts["replaced_by"] == "Obama" and facts["matte"] == "the face engine's boxes"
    assert list(facts["characters"]) == ["Obama"] and facts["identity"]["passed"] is True
    assert "video_wan_vace_inpainting" in facts["source_template"] and facts["provider"] == "gpu"


def test_replace_character_in_a_plate_with_no_performer_and_no_mask_is_refused_before_sending(world, casting):
    client, fake, movie, _root = world
    project, _sent = casting
    sent = upload_timeline(client, project.id, cut(movie, name="empty_street", frames=5))
    since = len(fake.requests)
    with pytest.raises(JobFailed, match="No performer found in shot 'empty_street'.*give params.mask"):
        client.run(project.id, "replace_character", {"timeline": sent.sha256, "media": sent.media,
                                                     "character": "Obama"})
    assert [r["path"] for r in fake.requests[since:] if r["method"] == "POST"] == []


def test_replace_character_with_a_character_without_reference_is_refused_before_sending(world, casting):
    client, fake, _movie, _root = world
    project, sent = casting
    since = len(fake.requests)
    with pytest.raises(JobFailed, match="'Nobody' have no reference photo"):
        client.run(project.id, "replace_character", {"timeline": sent.sha256, "media": sent.media,
                                                     "character": "Nobody"})
    assert [r["path"] for r in fake.requests[since:] if r["method"] == "POST"] == []


# -- extend_shot and fill_gap on Wan VACE ----------------------------------------------------------------------


def ai_clip(client, project, job) -> tuple[otio.schema.Timeline, otio.schema.Clip]:
    """(the result timeline, its one clip on the AI track): the clip lives as long as its timeline."""
    path = client.download(project, job.result["timeline"]["sha256"])
    timeline = otio.adapters.read_from_string(path.read_text(), "otio_json")
    (clip,) = [c for t in timeline.video_tracks() if t.name == "ShotBridge AI" for c in t.find_clips()]
    return timeline, clip


def test_fill_gap_between_two_shots_runs_wan_vace_first_last_frame(world):
    client, fake, movie, _root = world
    project = client.create_project("fill-vace")
    timeline = gap_cut(movie, 12)
    sent = upload_timeline(client, project.id, timeline)
    since, uploads = len(fake.requests), len(fake.uploads)
    job = client.run(project.id, "fill_gap", {"timeline": sent.sha256, "media": sent.media, "prompt": "a bridge",
                                              "seed": 12})
    assert job.status == JobStatus.succeeded
    (graph,) = posted(fake, since)
    assert {k: v["class_type"] for k, v in graph.items()} == official_nodes("video_wan_vace_flf2v")
    assert (graph["131"]["inputs"]["value"], graph["171"]["inputs"]["value"]) == (13, 11)  # 4k+1, the run between
    assert (graph["49"]["inputs"]["width"], graph["49"]["inputs"]["height"]) == (240, 112)
    sent_frames = {u["filename"]: np.asarray(Image.open(io.BytesIO(u["data"])).convert("RGB"), np.float32) / 255
                   for u in fake.uploads[uploads:]}
    assert np.abs(sent_frames[graph["144"]["inputs"]["image"]] - plate(movie, 11)).mean() < 0.01  # sh010's last
    assert np.abs(sent_frames[graph["147"]["inputs"]["image"]] - plate(movie, 24)).mean() < 0.01  # sh020's first
    _timeline, clip = ai_clip(client, project.id, job)
    facts = clip.metadata["shotbridge"]
    assert facts["reproduce"]["template"] == "image_to_video_vace_flf2v"
    assert "video_wan_vace_flf2v" in facts["reproduce"]["template_origin"]
    assert facts["model"] == "wan2.1_vace_14B_fp16.safetensors" and clip.source_range.duration.value == 12
    from servers.comfyui import _upscale_center

    first = frames_of(client, project.id, clip.media_reference)[0]
    # the gap starts from the frame before it (scaled to the model's frame as WanVaceToVideo does: centre crop)
    assert np.abs(first - _upscale_center(plate(movie, 11), 240, 112)).mean() < 0.05


def test_fill_gap_with_a_character_and_no_neighbour_runs_wan_vace_reference_to_video(world, casting):
    client, fake, _movie, _root = world
    project, _sent = casting
    timeline = otio.schema.Timeline(name="cut")
    track = otio.schema.Track(name="V1")
    track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(T(0, RATE), T(6, RATE))))
    timeline.tracks.append(track)
    sent = upload_timeline(client, project.id, timeline)
    fake.seed_images.update({9300: photo("kit_harington/john1.jpeg"), 9301: photo("obama/obama1.jpg")})
    since = len(fake.requests)
    job = client.run(project.id, "fill_gap", {"timeline": sent.sha256, "media": sent.media, "characters": ["Obama"],
                                              "prompt": "he walks in", "seed": 9300})
    assert job.status == JobStatus.succeeded
    graphs = posted(fake, since)
    assert [g["108"]["inputs"]["seed"] for g in graphs] == [9300, 9301]
    assert {k: v["class_type"] for k, v in graphs[1].items()} == official_nodes("video_wan_vace_14B_ref2v")
    assert graphs[1]["109"]["inputs"]["length"] == 9 and graphs[1]["105"]["inputs"]["text"] == "he walks in"
    (outcome,) = job.result["shots"]
    assert outcome["identity"]["passed"] is True and outcome["identity"]["attempts"] == 2
    _timeline, clip = ai_clip(client, project.id, job)
    facts = clip.metadata["shotbridge"]
    assert facts["reproduce"]["template"] == "image_to_video_vace_ref2v" and facts["reproduce"]["references_used"]


VACE_REF = "image_to_video_vace_flf2v_reference"
# the derived template's graph: the official first/last-frame one plus the reference and the frame size
ADDED = {"200": "LoadImage", "201": "PrimitiveInt", "202": "PrimitiveInt"}


def same_picture(data: bytes, path: Path) -> bool:
    with Image.open(io.BytesIO(data)) as sent, Image.open(path) as photo:
        a = np.asarray(sent.convert("RGB"), np.float32) / 255
        b = np.asarray(photo.convert("RGB"), np.float32) / 255
    return a.shape == b.shape and float(np.abs(a - b).mean()) < 0.01


def test_extend_shot_with_a_character_runs_wan_vace_from_the_shot_s_frame_with_the_bible_reference(world, casting):
    client, fake, _movie, root = world
    project, sent = casting
    fake.seed_images.update({9400: photo("biden/biden2.jpg"), 9401: photo("obama/obama-720p.jpg")})
    since, uploads = len(fake.requests), len(fake.uploads)
    job = client.run(project.id, "extend_shot", {"timeline": sent.sha256, "media": sent.media, "frames_after": 3,
                                                 "characters": ["Obama"], "seed": 9400, "prompt": "he turns"})
    assert job.status == JobStatus.succeeded
    first, second = posted(fake, since)  # the wrong face, then the right one
    assert (first["3"]["inputs"]["seed"], second["3"]["inputs"]["seed"]) == (9400, 9401)
    # no last frame: its ImageBatch nodes 145 and 155 are bypassed and its LoadImage 147 pruned
    expected = {k: v for k, v in official_nodes("video_wan_vace_flf2v").items() if k not in {"145", "155", "147"}}
    assert {k: v["class_type"] for k, v in second.items()} == {**expected, **ADDED}
    vace = second["49"]["inputs"]
    assert vace["control_video"] == ["150", 0] and second["156"]["inputs"]["image"] == ["153", 0]
    assert vace["reference_image"] == ["200", 0] and second["58"]["inputs"]["trim_amount"] == ["49", 3]
    assert second["151"]["inputs"]["images"] == ["150", 0]  # the official preview shows what is sent
    assert (second["131"]["inputs"]["value"], second["171"]["inputs"]["value"]) == (5, 4)  # the frame, then 4
    assert (second["201"]["inputs"]["value"], second["202"]["inputs"]["value"]) == (320, 240)
    assert second["6"]["inputs"]["text"] == "he turns"
    files = {u["filename"]: u["data"] for u in fake.uploads[uploads:]}
    shot_last = np.asarray(Image.open(io.BytesIO(files[second["144"]["inputs"]["image"]])).convert("RGB"),
                           np.float32) / 255
    assert np.abs(shot_last - plate(root / "performer.mp4", 4)).mean() < 0.02  # the shot's last frame
    bible = [FACES / "obama" / "obama.jpg", FACES / "obama" / "obama2.jpg"]
    assert any(same_picture(files[second["200"]["inputs"]["image"]], photo) for photo in bible)
    (outcome,) = job.result["shots"]
    assert outcome["identity"]["passed"] is True and outcome["identity"]["attempts"] == 2
    _timeline, clip = ai_clip(client, project.id, job)
    facts = clip.metadata["shotbridge"]
    reproduce = facts["reproduce"]
    assert reproduce["template"] == VACE_REF and reproduce["references_used"] == 1
    assert "references_left_out" not in reproduce
    assert "video_wan_vace_flf2v" in reproduce["derived_from"] and facts["identity"]["passed"] is True
    assert facts["model"] == "wan2.1_vace_14B_fp16.safetensors" and clip.source_range.duration.value == 3


def test_fill_gap_between_two_shots_with_a_character_runs_wan_vace_from_both_frames_and_the_reference(world,
                                                                                                     casting):
    client, fake, movie, _root = world
    project, _sent = casting
    timeline = gap_cut(movie, 12)
    sent = upload_timeline(client, project.id, timeline)
    fake.seed_images.update({9500: photo("kit_harington/john1.jpeg"), 9501: photo("obama/obama1.jpg")})
    since, uploads = len(fake.requests), len(fake.uploads)
    job = client.run(project.id, "fill_gap", {"timeline": sent.sha256, "media": sent.media, "characters": ["Obama"],
                                              "prompt": "he crosses the bridge", "seed": 9500})
    assert job.status == JobStatus.succeeded
    graphs = posted(fake, since)
    assert [g["3"]["inputs"]["seed"] for g in graphs] == [9500, 9501]
    graph = graphs[1]
    assert {k: v["class_type"] for k, v in graph.items()} == {**official_nodes("video_wan_vace_flf2v"), **ADDED}
    assert graph["49"]["inputs"]["control_video"] == ["145", 0] and graph["49"]["inputs"]["reference_image"] == \
        ["200", 0]
    assert (graph["131"]["inputs"]["value"], graph["171"]["inputs"]["value"]) == (13, 11)  # 4k+1, the run between
    files = {u["filename"]: u["data"] for u in fake.uploads[uploads:]}
    frame = {k: np.asarray(Image.open(io.BytesIO(files[graph[k]["inputs"]["image"]])).convert("RGB"), np.float32)
             / 255 for k in ("144", "147")}
    assert np.abs(frame["144"] - plate(movie, 11)).mean() < 0.01  # sh010's last
    assert np.abs(frame["147"] - plate(movie, 24)).mean() < 0.01  # sh020's first
    bible = [FACES / "obama" / "obama.jpg", FACES / "obama" / "obama2.jpg"]
    assert any(same_picture(files[graph["200"]["inputs"]["image"]], photo) for photo in bible)
    (outcome,) = job.result["shots"]
    assert outcome["identity"]["passed"] is True and outcome["identity"]["attempts"] == 2
    _timeline, clip = ai_clip(client, project.id, job)
    reproduce = clip.metadata["shotbridge"]["reproduce"]
    assert reproduce["template"] == VACE_REF and reproduce["references_used"] == 1
    assert "references_left_out" not in reproduce and clip.source_range.duration.value == 12


def test_a_lone_last_frame_leads_the_grey_run_into_it_and_the_reference_rides_along(comfy, make_session,
                                                                                       tmp_path):
    """fill_gap with only the shot after the gap: the first frame's ImageBatch nodes pass the grey run on, so the
    control video is the run then the frame, and the masks keep only that frame; run on the double."""
    from shotbridge_backend.providers.base import GenerationRequest, InputImage, Task
    from shotbridge_backend.providers.comfyui import ComfyUIProvider

    fake = comfy()
    adapter = ComfyUIProvider("gpu", {"url": fake.url})
    assert adapter.health() == ""
    report = {t.name: t for t in adapter.template_report()}[VACE_REF]
    assert report.available and report.source == "built-in, derived from official video_wan_vace_flf2v"
    models = {m.name: m for m in report.models}
    assert set(models) == {"wan2.1_vace_14B_fp16.safetensors", "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
                           "wan_2.1_vae.safetensors", "Wan21_CausVid_14B_T2V_lora_rank32.safetensors"}
    assert models["wan2.1_vace_14B_fp16.safetensors"].folder == "diffusion_models"
    assert all(m.present and m.url.startswith("https://huggingface.co/") for m in models.values())
    last = photo("biden/biden2.jpg")
    for name, picture in (("last.png", last), ("ref.png", photo("obama/obama.jpg"))):
        Image.fromarray((picture * 255).astype(np.uint8)).save(tmp_path / name)
    request = GenerationRequest(Task.image_to_video, prompt="x", frames=9, width=240, height=112, seed=3,
                                inputs=[InputImage("last_frame", tmp_path / "last.png", DataKind.plate),
                                        InputImage("reference", tmp_path / "ref.png", DataKind.reference)])
    template = adapter.choose_template(request)
    assert template.name == VACE_REF
    info = json.loads(RECORD.read_text())
    graph = adapter.build_graph(template, request, 3, {"last_frame": "last.png", "reference": "ref.png"},
                                adapter.setting_values(template), info)
    assert not {"144", "150", "153"} & set(graph)  # the first frame and the batches that needed it
    assert graph["145"]["inputs"]["image1"] == ["149", 0] and graph["155"]["inputs"]["image1"] == ["149", 0]
    assert (graph["131"]["inputs"]["value"], graph["171"]["inputs"]["value"]) == (9, 8)  # 8 grey, then the frame
    assert graph["146"]["inputs"]["width"] == ["201", 0] and graph["201"]["inputs"]["value"] == 240

    since = len(fake.requests)
    out = adapter.generate(request, make_session(adapter)[0])
    (sent,) = posted(fake, since)
    assert sent["145"]["inputs"]["image1"] == ["149", 0] and "144" not in sent
    (movie,) = out.files  # SaveVideo's MPEG-4
    capture, frames = cv2.VideoCapture(str(movie)), []
    while (read := capture.read())[0]:
        frames.append(read[1][:, :, ::-1].astype(np.float32) / 255)
    capture.release()
    assert len(frames) == 9 and out.reproduce["references_used"] == 1
    from servers.comfyui import _upscale_center

    end = _upscale_center(last, 240, 112)
    assert np.abs(frames[-1] - end).mean() < 0.05  # it ends on the frame given
    assert np.abs(frames[0] - end).mean() > 0.05  # and starts generated


@pytest.mark.parametrize(("bypass", "optional", "error"), [
    ({"145": "image9"}, True, "bypasses node '145' to its input 'image9', which is not a linked input"),
    ({"999": "image1"}, True, "bypasses node '999'"),
    ({"145": "image1"}, False, "only an optional image can bypass nodes"),
])
def test_a_bypass_that_does_not_fit_the_graph_is_named(tmp_path, bypass, optional, error):
    from shotbridge_backend.providers.comfyui import WORKFLOWS, TemplateError, load_template

    doc = json.loads((WORKFLOWS / f"{VACE_REF}.json").read_text())
    doc["inputs"]["last_frame"].update(bypass=bypass, optional=optional)
    (tmp_path / "t.json").write_text(json.dumps(doc))
    with pytest.raises(TemplateError, match=f"injection point 'last_frame'.*{re.escape(error)}"):
        load_template(tmp_path / "t.json")


def test_without_wan_vace_a_character_s_extension_runs_without_the_references_and_says_so(comfy, make_session,
                                                                                           tmp_path):
    """A server that cannot run the reference template falls back to the Wan 2.1 first/last-frame template."""
    from shotbridge_backend.providers.base import GenerationRequest, InputImage, Task
    from shotbridge_backend.providers.comfyui import ComfyUIProvider

    fake = comfy(missing=("WanVaceToVideo",))
    adapter = ComfyUIProvider("gpu", {"url": fake.url})
    assert adapter.health() == ""
    assert "WanVaceToVideo" in adapter.template_problems[VACE_REF]
    Image.new("RGB", (64, 32), (90, 120, 30)).save(tmp_path / "f.png")
    Image.fromarray((photo("obama/obama.jpg") * 255).astype(np.uint8)).save(tmp_path / "r.png")
    request = GenerationRequest(Task.image_to_video, frames=5, width=64, height=32, seed=1,
                                inputs=[InputImage("first_frame", tmp_path / "f.png", DataKind.plate),
                                        InputImage("reference", tmp_path / "r.png", DataKind.reference)])
    assert adapter.choose_template(request, healthy=False).name == VACE_REF  # what it would run with VACE
    out = adapter.generate(request, make_session(adapter)[0])
    assert out.reproduce["template"] == "image_to_video" and out.reproduce["references_left_out"] == 1


# -- stills, and a template without the injection point an operation needs --------------------------------------


def still_cut(path: Path, movie: Path) -> otio.schema.Timeline:
    Image.fromarray((plate(movie, 30) * 255).astype(np.uint8)).save(path)
    timeline = otio.schema.Timeline(name="cut")
    timeline.tracks.append(otio.schema.Track(name="V1", children=[otio.schema.Clip(
        name="card", source_range=otio.opentime.TimeRange(T(0, RATE), T(48, RATE)),
        media_reference=otio.schema.ExternalReference(str(path)))]))
    return timeline


def test_edit_shot_on_a_still_is_one_image_edit_and_a_still_take(world):
    client, fake, movie, root = world
    project = client.create_project("edit-still")
    sent = upload_timeline(client, project.id, still_cut(root / "card.png", movie))
    since = len(fake.requests)
    job = client.run(project.id, "edit_shot", {"timeline": sent.sha256, "media": sent.media, "prompt": "snow",
                                               "seed": 3})
    (graph,) = posted(fake, since)  # no video model for a still
    assert graph["111"]["inputs"]["prompt"] == "snow" and graph["78"]["class_type"] == "LoadImage"
    take = take_of(client, project.id, job, "card", "edit_v001")
    assert isinstance(take, otio.schema.ExternalReference) and take.target_url == "./card_edit_v001.png"
    assert take.metadata["shotbridge"]["model"] == "qwen_image_edit_2509_fp8_e4m3fn.safetensors"
    edited = frames_of(client, project.id, take)[0]
    assert edited.shape == (100, 240, 3)  # Qwen worked at about a megapixel; the take fits the plate
    # an instruction edit keeps most of the picture: nearer this plate than another shot's
    assert np.abs(edited - plate(movie, 30)).mean() < np.abs(edited - plate(movie, 0)).mean()


def test_reframe_of_a_still_runs_flux_fill_outpainting_and_makes_a_still_take(world):
    client, fake, movie, root = world
    project = client.create_project("reframe-still")
    sent = upload_timeline(client, project.id, still_cut(root / "card2.png", movie))
    since = len(fake.requests)
    job = client.run(project.id, "reframe", {"timeline": sent.sha256, "media": sent.media, "aspect": "1:1",
                                             "anchor": "bottom", "prompt": "sky", "seed": 5})
    (graph,) = posted(fake, since)  # one image request, no video model
    assert {k: v["class_type"] for k, v in graph.items()} == official_nodes("flux_fill_outpaint_example")
    pad = graph["44"]["inputs"]
    assert (pad["left"], pad["top"], pad["right"], pad["bottom"]) == (0, 140, 0, 0)  # 240x100 -> 240x240
    assert graph["23"]["inputs"]["text"] == "sky" and graph["3"]["inputs"]["seed"] == 5
    take = take_of(client, project.id, job, "card", "reframe_v001")
    assert isinstance(take, otio.schema.ExternalReference) and take.target_url == "./card_reframe_v001.png"
    facts = take.metadata["shotbridge"]
    assert list(facts["framing"]["offset"]) == [0, 140] and facts["model"] == "flux1-fill-dev.safetensors"
    assert "flux_fill_outpaint_example" in facts["source_template"]
    (image,) = frames_of(client, project.id, take)
    assert image.shape == (240, 240, 3)
    # the still sits at the bottom, kept but for the official workflow's 24-px feathered edge at its top
    assert np.abs(image[140 + 24:] - plate(movie, 30)[24:]).mean() < 0.02


def test_a_studio_template_without_the_injection_point_is_named_and_nothing_is_sent(comfy, tmp_path):
    from shotbridge_backend.providers.comfyui import ComfyUIProvider

    fake = comfy()
    folder = tmp_path / "workflows"
    folder.mkdir()
    doc = json.loads((Path(__file__).resolve().parents[2] / "backend/shotbridge_backend/providers/workflows"
                      / "video_edit.json").read_text())
    doc["inputs"]["video"] = {"node": "999", "input": "file", "type": "video"}  # not a node of the v2v graph
    (folder / "video_edit.json").write_text(json.dumps(doc))
    adapter = ComfyUIProvider("gpu", {"url": fake.url, "workflows": str(folder)})
    assert adapter.health() == ""  # one template that cannot run leaves the provider up
    assert "injection point 'video' names node '999', which is not in the prompt" in adapter.template_problems[
        "video_edit"]
    report = {t.name: t for t in adapter.template_report()}
    assert not report["video_edit"].available and report["outpaint_video"].available  # the others unaffected
    assert [r for r in fake.requests if r["method"] == "POST"] == []


@pytest.mark.parametrize("name", ["image_edit", "video_edit", "outpaint_video", "outpaint", "video_inpaint",
                                  "image_to_video_vace_flf2v", "image_to_video_vace_ref2v",
                                  "image_to_video_vace_flf2v_reference"])
def test_each_new_built_in_template_fits_the_real_comfyui_0_3_64_apart_from_model_files(name):
    """Against the recorded /object_info of a real ComfyUI 0.3.64 (no model files installed there): every node
    class, input and injection point exists; what is left is only the model files to download."""
    from shotbridge_backend.providers.comfyui import ComfyUIProvider, check_template, load_templates

    template = load_templates()[name]
    values = ComfyUIProvider("gpu", {"url": "http://127.0.0.1:9"}).setting_values(template)
    problem = check_template(template, json.loads(RECORD.read_text()), values)
    model = r"\w+ '[^']+' is not on this ComfyUI \(it has: [^)]*\); set \w+ in providers.toml or install it"
    assert re.fullmatch(f"template {name}: {model}(; {model})*", problem), problem


def test_the_documented_phantom_recipe_fits_the_real_0_3_64_and_bypasses_its_batch_for_one_reference(tmp_path):
    """docs/recipes/image_to_video_phantom.json: a studio template, not a built-in (no official Phantom workflow in
    0.1.95); every class and input exists on the recorded server, only model files are left to set."""
    from shotbridge_backend.providers.base import GenerationRequest, InputImage, Task
    from shotbridge_backend.providers.comfyui import ComfyUIProvider, check_template, load_template

    template = load_template(Path(__file__).resolve().parents[2] / "docs/recipes/image_to_video_phantom.json")
    adapter = ComfyUIProvider("gpu", {"url": "http://127.0.0.1:9"})
    info = json.loads(RECORD.read_text())
    problem = check_template(template, info, adapter.setting_values(template))
    assert "unet_name 'set video_model in providers.toml' is not on this ComfyUI" in problem
    model = r"\w+ '[^']+' is not on this ComfyUI \(it has: [^)]*\); set \w+ in providers.toml or install it"
    assert re.fullmatch(f"template image_to_video_phantom: {model}(; {model})*", problem), problem
    Image.new("RGB", (8, 8)).save(tmp_path / "r.png")
    refs = [InputImage("reference", tmp_path / "r.png", DataKind.reference)]
    one = adapter.build_graph(template, GenerationRequest(Task.image_to_video, frames=9, inputs=refs), 1,
                              {"reference_1": "a.png"}, adapter.setting_values(template), info)
    assert "12" not in one and "11" not in one and one["20"]["inputs"]["images"] == ["10", 0]
    two = adapter.build_graph(template, GenerationRequest(Task.image_to_video, frames=9, inputs=refs * 2), 1,
                              {"reference_1": "a.png", "reference_2": "b.png"}, adapter.setting_values(template), info)
    assert two["20"]["inputs"]["images"] == ["12", 0] and two["11"]["inputs"]["image"] == "b.png"

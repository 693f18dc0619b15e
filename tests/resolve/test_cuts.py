"""Scene cut detection: a flattened movie in the media pool becomes a Resolve timeline cut at the shots the
backend's detect_shots found (its OTIO result), once."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from shotbridge.exchange.facts import Facts, set_facts
from shotbridge_resolve.cuts import SUFFIX, is_cut_list
from shotbridge_resolve.host import ResolveHost
from shotbridge_resolve.session import ResolveStateError


def cut_list(filename: str, cuts: list[tuple[int, int]], rate: float = 24.0, total: int = 192) -> otio.schema.Timeline:
    """The shape detect_shots returns (backend/shotbridge_backend/operations/detect_shots.py: build_timeline)."""
    timeline = otio.schema.Timeline(name="reel")
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for i, (start, end) in enumerate(cuts, 1):
        media = otio.schema.ExternalReference(target_url=filename, available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(total, rate)))
        set_facts(media, Facts(asset_sha256="ab" * 32, width=640, height=360))
        clip = otio.schema.Clip(name=f"shot_{i:03d}", media_reference=media, source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(end - start, rate)))
        set_facts(clip, Facts(id=f"abababababab-{start}", operation="detect_shots"))
        track.append(clip)
    return timeline


@pytest.fixture
def reel(fake, tmp_path):
    resolve = fake.new_resolve()
    project = resolve.GetProjectManager().GetCurrentProject()
    movie = tmp_path / "reel.mp4"
    movie.write_bytes(b"\0")
    fake.register_media(str(movie), 192)
    pool = project.GetMediaPool()
    (mpi,) = pool.ImportMedia([str(movie)])
    return resolve, project, mpi


def test_a_cut_list_becomes_a_timeline_cut_at_the_shots(reel):
    resolve, project, mpi = reel
    done = ResolveHost(resolve).apply(cut_list("reel.mp4", [(0, 48), (48, 96), (96, 150), (150, 192)]))
    timeline = project.GetCurrentTimeline()
    assert timeline.GetName() == "reel" + SUFFIX, "the new timeline is opened"
    items = timeline.GetItemListInTrack("video", 1)
    assert [(i.GetStart(False), i.GetEnd(False), i.GetLeftOffset(False)) for i in items] == [
        (86400, 86448, 0), (86448, 86496, 48), (86496, 86550, 96), (86550, 86592, 150)]
    assert all(i.GetMediaPoolItem() is mpi for i in items)
    assert done[0] == "Timeline 'reel (ShotBridge cuts)': 4 of 4 shot(s) of reel.mp4 on video track 1"


def test_applying_the_cut_list_again_changes_nothing(reel):
    resolve, project, _ = reel
    result = cut_list("reel.mp4", [(0, 100), (100, 192)])
    host = ResolveHost(resolve)
    host.apply(result)
    count = project.GetTimelineCount()
    assert "is there already" in host.apply(result)[0]
    assert project.GetTimelineCount() == count


def test_a_movie_missing_from_the_media_pool_is_explained(fake):
    host = ResolveHost(fake.new_resolve())
    done = host.apply(cut_list("flattened_reel.mov", [(0, 10)]))
    assert done == ["The movie 'flattened_reel.mov' that the cuts were found in is not in this project's media pool: "
                    "import it (File > Import > Media) and apply the result again."]


def test_shots_taken_from_a_timeline_are_not_a_cut_list(edit):
    from shotbridge_resolve.selection import Selection

    selection = ResolveHost(edit.resolve, Selection("track", track=1)).selection()
    for clip in selection.find_clips():
        set_facts(clip, Facts(id="x", operation="detect_shots"))  # even so: it has Resolve items to go back to
    assert not is_cut_list(selection)
    assert is_cut_list(cut_list("a.mov", [(0, 1)]))


def test_the_session_refuses_a_cut_list_with_two_movies(reel):
    from shotbridge_resolve.cuts import build

    resolve, _, _ = reel
    two = cut_list("reel.mp4", [(0, 10)])
    two.tracks[0].append(cut_list("other.mp4", [(0, 10)]).tracks[0][0].deepcopy())
    with pytest.raises(ResolveStateError, match="names 2 movies"):
        build(ResolveHost(resolve).session, two)


def test_detect_shots_on_the_real_backend_cuts_the_resolve_timeline(fake, tmp_path):
    """The backend's own detect_shots result, end to end: upload, job, download, build the timeline."""
    pytest.importorskip("shotbridge_backend")
    pytest.importorskip("cv2")
    from shotbridge_backend.demo import EmbeddedBackend, sample_movie

    movie = sample_movie(tmp_path / "flattened_reel.mp4", seconds_per_shot=1.0, size=(320, 180))
    backend = EmbeddedBackend(tmp_path / "backend")
    client = backend.start()
    try:
        project = client.ensure_project("resolve-cuts")
        asset = client.upload(project.id, movie)
        job = client.run(project.id, "detect_shots", {"media": asset.sha256})
        path = client.download(project.id, job.result["timeline"]["sha256"], tmp_path / "cuts.otio")
    finally:
        backend.stop()
    result = otio.adapters.read_from_file(str(path))
    resolve = fake.new_resolve()
    fake.register_media(str(movie), job.result["frame_count"])
    rproject = resolve.GetProjectManager().GetCurrentProject()
    rproject.GetMediaPool().ImportMedia([str(movie)])
    done = ResolveHost(resolve).apply(result)
    items = rproject.GetCurrentTimeline().GetItemListInTrack("video", 1)
    shots = job.result["shots"]
    assert len(shots) == 4 and len(items) == 4, done
    assert [(i.GetLeftOffset(False), i.GetDuration(False)) for i in items] == [
        (s["start_frame"], s["duration_frames"]) for s in shots]
    assert items[-1].GetEnd(False) == 86400 + job.result["frame_count"]

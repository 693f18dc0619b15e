"""The editor's cut as versions on the backend: post, list, get, fetch."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from shotbridge.errors import NotFound, ValidationFailed


def _cut(names: list[str], rate: float = 24.0) -> otio.schema.Timeline:
    timeline = otio.schema.Timeline(name="reel1")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for name in names:
        ref = otio.schema.ExternalReference(target_url=f"/nonexistent/{name}.mov")
        track.append(otio.schema.Clip(name=name, media_reference=ref, source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(ord(name[0]) * 100, rate), otio.opentime.RationalTime(48, rate))))
    return timeline


def test_post_list_get_fetch(admin, project):
    v1 = admin.post_timeline(project.id, "reel1", _cut(["a", "b", "c"]), note="editor's first cut")
    v2 = admin.post_timeline(project.id, "reel1", _cut(["c", "a", "b", "d"]))
    assert (v1.version, v2.version, v2.clips, v2.tracks) == (1, 2, 4, 1)
    assert [v.version for v in admin.timelines(project.id, name="reel1")] == [1, 2]
    assert admin.timeline_version(project.id, "reel1").version == 2
    assert admin.timeline_version(project.id, "reel1", 1).note == "editor's first cut"
    fetched = admin.fetch_timeline(project.id, "reel1", 1)
    assert [c.name for c in fetched.find_clips()] == ["a", "b", "c"]
    with pytest.raises(NotFound):
        admin.timeline_version(project.id, "reel1", 9)


def test_post_refuses_what_is_not_a_timeline(admin, project, tmp_path):
    junk = tmp_path / "notes.otio"
    junk.write_text("{not json")
    sha = admin.upload(project.id, junk).sha256
    with pytest.raises(ValidationFailed) as exc:
        admin._request("POST", f"/v1/projects/{project.id}/timelines", json={"name": "x", "asset": sha})
    assert exc.value.problem.errors[0].field == "asset"


def test_diff_of_two_versions(admin, project):
    admin.post_timeline(project.id, "reel2", _cut(["a", "b", "c"]))
    admin.post_timeline(project.id, "reel2", _cut(["a", "c", "b", "d"]))
    diff = admin.timeline_diff(project.id, "reel2", 1, "latest")
    assert (diff["from"], diff["to"]) == (1, 2)
    assert diff["summary"]["added"] == 1 and diff["summary"]["moved"] == 1

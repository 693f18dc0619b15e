"""The sidebar's Shots box in real bpy: the sequencer's strips as shot rows with thumbnails, timecodes and badges;
drift buttons move the playhead; clicking a row selects the strip; takes show their verdicts and a missing take
cannot be accepted.

Module-mode bpy has no UI, so the panel draws into test_results.Layout (every operator, property and icon checked
against the registered RNA) and the timers' queue is drained by hand, as Blender's loop would."""

from __future__ import annotations

import time

import bpy
import opentimelineio as otio
import pytest
from conftest import write_png
from test_results import Layout

import shotbridge_blender
from shotbridge.exchange.facts import Facts, IdentityFacts, set_facts
from shotbridge.exchange.markers import add_finding
from shotbridge.panel.review import Credential
from shotbridge.panel.viewmodel import PanelViewModel, Take
from shotbridge_blender import apply, shots_ui, timers, ui
from shotbridge_blender.host import BlenderHost
from shotbridge_blender.timing import strips, strips_all
from shotbridge_blender.vse_otio import scene_to_timeline

RT = otio.opentime.RationalTime


@pytest.fixture
def sidebar(scene, movie, sequence, tmp_path):
    """Two movie strips and an image strip, the add-on registered, a view model with no backend."""
    sed = scene.sequence_editor_create()
    a = strips(sed).new_movie(name="sh010", filepath=str(movie), channel=1, frame_start=1)
    a.frame_final_duration = 20
    b = strips(sed).new_movie(name="sh020", filepath=str(movie), channel=1, frame_start=21)
    b.frame_offset_start, b.frame_final_duration = 5, 12
    c = strips(sed).new_image(name="sh030", filepath=str(sequence / "sh010.1001.png"), channel=1, frame_start=33)
    for n in range(1002, 1011):
        c.elements.append(f"sh010.{n:04d}.png")
    shotbridge_blender.register()
    vm = ui._VM = PanelViewModel(lambda: None, dispatch=timers.dispatch, host=BlenderHost(),
                                 cache_dir=tmp_path / "cache")
    try:
        yield vm
    finally:
        vm.close()
        ui._VM = None
        shotbridge_blender.unregister()


def drain_until(done, seconds: float = 20.0) -> None:
    """Blender's timer loop, by hand, until `done()` (thumbnails decode on a worker)."""
    end = time.monotonic() + seconds
    while not done():
        timers.drain()
        assert time.monotonic() < end, "nothing arrived through the timers' queue"
        time.sleep(0.02)


def with_drift(scene) -> None:
    """check_consistency's answer for sh020 (a RED drift marker, frames 6-11) applied as Blender applies it."""
    result = scene_to_timeline(scene)
    clip = next(c for c in result.find_clips() if c.name == "sh020")
    first = clip.trimmed_range().start_time
    add_finding(clip, otio.opentime.TimeRange(first + RT(6, first.rate), RT(6, first.rate)),
                {"kind": "drift", "expected": "obama", "found": "kit_harington", "similarity": 0.41})
    apply.apply_timeline(result, scene)


def test_refresh_fills_the_shots_box_with_rows_badges_and_drift_buttons(sidebar, scene):
    with_drift(scene)
    assert bpy.ops.shotbridge.shots_refresh() == {"FINISHED"}
    assert [r.name for r in sidebar.state.shots] == ["sh010", "sh020", "sh030"]
    layout = Layout()
    ui.draw_panel(layout)
    rows = [i for i in layout.items if i.get("operator") == "shotbridge.select_shot"]
    assert [r["props"]["name"] for r in rows] == ["sh010", "sh020", "sh030"]
    assert "Shots (3)" in layout.labels
    sh020 = sidebar.state.shots[1]
    assert f"{sh020.record_tc[0]} - {sh020.record_tc[1]}" in layout.labels
    drift = next(i for i in layout.items if i.get("label", "").startswith("drift"))
    assert drift["label"] == "drift 6-11" and drift["alert"] and drift["icon"] == "ERROR"
    seek = next(i for i in layout.items if i.get("operator") == "shotbridge.seek")
    assert seek["text"] == "frames 6-11: expected obama, found kit_harington (similarity 0.41)"
    assert seek["props"] == {"clip": "sh020", "frame": 6} and seek["alert"]


def test_a_drift_button_moves_the_playhead_and_a_row_click_selects_the_strip(sidebar, scene):
    with_drift(scene)
    bpy.ops.shotbridge.shots_refresh()
    start = int(strips(scene.sequence_editor)["sh020"].frame_final_start)
    assert bpy.ops.shotbridge.seek(clip="sh020", frame=6) == {"FINISHED"}
    assert scene.frame_current == start + 6 and sidebar.state.message == f"sh020: frame {start + 6}"
    assert bpy.ops.shotbridge.seek(clip="gone", frame=1) == {"CANCELLED"}  # with a WARNING report
    assert "No strip named 'gone'" in sidebar.state.message
    assert scene.frame_current == start + 6

    assert bpy.ops.shotbridge.select_shot(name="sh030") == {"FINISHED"}
    assert {s.name for s in strips_all(scene.sequence_editor) if s.select} == {"sh030"}
    assert sidebar.state.selected_shots == ["sh030"]
    assert [c.name for c in sidebar.state.selection.find_clips()] == ["sh030"], "what Run would send"
    assert bpy.ops.shotbridge.select_shot(name="sh010", extend=True) == {"FINISHED"}
    assert {s.name for s in strips_all(scene.sequence_editor) if s.select} == {"sh010", "sh030"}
    layout = Layout()
    ui.draw_panel(layout)
    pressed = [i["props"]["name"] for i in layout.items if i.get("operator") == "shotbridge.select_shot"
               and i["depress"]]
    assert pressed == ["sh010", "sh030"]
    assert bpy.ops.shotbridge.select_shot(name="sh030", extend=True) == {"FINISHED"}  # Shift-click again: off
    assert {s.name for s in strips_all(scene.sequence_editor) if s.select} == {"sh010"}

    for strip in strips_all(scene.sequence_editor):  # selected in the sequencer itself: the rows follow
        strip.select = strip.name == "sh020"
    layout = Layout()
    ui.draw_panel(layout)
    pressed = [i["props"]["name"] for i in layout.items if i.get("operator") == "shotbridge.select_shot"
               and i["depress"]]
    assert pressed == ["sh020"]


def test_thumbnails_arrive_off_the_main_thread_into_the_preview_collection(sidebar, scene, movie):
    bpy.ops.shotbridge.shots_refresh()
    gone = movie.with_name("deleted.mp4")
    sidebar.state.shots[2].media, sidebar.state.shots[2].media_frame = gone, 0  # a file that is not there
    ui.draw_panel(Layout())  # the first draw asks for each row's picture; nothing is decoded here
    assert set(shots_ui._thumbs.values()) == {("", "")}
    drain_until(lambda: all(name or reason for name, reason in shots_ui._thumbs.values()))
    pcoll = shots_ui.previews()
    sh010, sh020, _ = sidebar.state.shots
    for row in (sh010, sh020):
        name, reason = shots_ui._thumbs[shots_ui._key(row)]
        assert name in pcoll and not reason, (name, reason)
        w, h = pcoll[name].image_size[:]  # decoded: the movie's 32x18 frame (Blender's) or 160 wide (PyAV's)
        assert w and abs(w / h - 32 / 18) < 0.1, (w, h)
    layout = Layout()
    ui.draw_panel(layout)
    assert "no thumbnail: file not found: deleted.mp4" in layout.labels, "a placeholder with the reason"
    assert not any(label.startswith("no thumbnail") and "deleted" not in label for label in layout.labels)

    shots_ui.release()
    assert shots_ui._previews is None and not shots_ui._thumbs


def test_a_cached_thumbnail_png_becomes_the_rows_icon(sidebar, scene, sequence):
    """The Thumbnailer's own cached PNG (what a panel with a decoder made earlier) is what the icon shows."""
    bpy.ops.shotbridge.shots_refresh()
    row = sidebar.state.shots[2]
    thumbnailer = sidebar.thumbnailer()
    cached = thumbnailer.folder / f"{thumbnailer.key(row.media, row.media_frame)}.png"
    cached.parent.mkdir(parents=True)
    write_png(cached, grey=90, size=6)
    ui.draw_panel(Layout())
    key = shots_ui._key(row)
    drain_until(lambda: shots_ui._thumbs[key] != ("", ""))
    name, _ = shots_ui._thumbs[key]
    assert name == cached.stem and shots_ui.previews()[name].image_size[:] == (6, 6)


def test_the_box_draws_thirty_rows_and_counts_the_rest(sidebar):
    timeline = otio.schema.Timeline(name="long cut")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for n in range(35):
        track.append(otio.schema.Clip(name=f"sh{n:03d}", source_range=otio.opentime.TimeRange(RT(0, 24), RT(10, 24))))
    sidebar.show_shots(timeline)
    layout = Layout()
    ui.draw_panel(layout)
    assert sum(i.get("operator") == "shotbridge.select_shot" for i in layout.items) == shots_ui.MAX_ROWS
    assert any(label.startswith("5 more shots") for label in layout.labels)


def test_takes_show_identity_and_credentials_and_a_missing_take_cannot_be_accepted(sidebar, movie):
    sidebar.state.connection = "connected"
    kept = otio.schema.ExternalReference(target_url=str(movie))
    set_facts(kept, Facts(operation="replace_character", provider="comfyui", provenance="c2pa",
                          asset_sha256="ab" * 32, identity=IdentityFacts(
                              passed=True, score=0.912, distance=0.42, threshold=0.6, attempts=2,
                              face_model="dlib_resnet")))
    lost = otio.schema.ExternalReference(target_url=str(movie.with_name("lost_v002.mp4")))
    set_facts(lost, Facts(operation="replace_character", identity=IdentityFacts(
        passed=False, score=0.61, distance=0.88, threshold=0.6, attempts=3, face_model="dlib_resnet")))
    sidebar.state.takes += [Take("sh010", "gen_v001", str(movie), reference=kept),
                            Take("sh010", "gen_v002", "lost", reference=lost)]
    sidebar.state.credentials[("sh010", "gen_v001")] = Credential("verified", "1 file, signed by ShotBridge")
    layout = Layout()
    ui.draw_panel(layout)
    assert "identity passed: score 0.912" in layout.labels
    assert "credentials verified: 1 file, signed by ShotBridge" in layout.labels
    failed = next(i for i in layout.items if i.get("label") == "identity FAILED: score 0.610")
    assert failed["alert"]
    assert "sh010: gen_v002 [pending] MISSING" in layout.labels
    assert any(label.startswith("missing: its file") and "lost_v002.mp4" in label for label in layout.labels)
    accepts = {i["props"]["index"]: i["enabled"] for i in layout.items
               if i.get("operator") == "shotbridge.take" and i["props"].get("accept")}
    assert accepts == {0: True, 1: False}


def test_a_later_check_replaces_the_drift_kept_on_the_strip(sidebar, scene):
    with_drift(scene)
    result = scene_to_timeline(scene)
    clip = next(c for c in result.find_clips() if c.name == "sh020")
    assert len(clip.markers) == 1, "the first check's marker came back from the scene"
    for marker in list(clip.markers):
        clip.markers.remove(marker)
    first = clip.trimmed_range().start_time
    add_finding(clip, otio.opentime.TimeRange(first + RT(2, first.rate), RT(2, first.rate)),
                {"kind": "drift", "expected": "obama", "found": ""})
    apply.apply_timeline(result, scene)
    bpy.ops.shotbridge.shots_refresh()
    assert [d.describe() for d in sidebar.state.shots[1].drift] == ["frames 2-3: expected obama, found someone else"]
    assert not sidebar.state.shots[0].drift and not sidebar.state.shots[2].drift

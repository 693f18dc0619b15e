from __future__ import annotations

from pathlib import Path

import bpy
import opentimelineio as otio
import pytest

from shotbridge_blender.vse_otio import scene_to_timeline, timeline_to_scene

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "otio"


def strips_of(scene):
    return sorted((s.name, s.type, s.channel, s.frame_final_start, s.frame_final_end, s.frame_offset_start)
                  for s in scene.sequence_editor.strips)


def test_round_trip_keeps_every_strip(scene, sequence, movie, sound):
    sed = scene.sequence_editor_create()
    mov = sed.strips.new_movie(name="plate", filepath=str(movie), channel=3, frame_start=20)
    mov.frame_offset_start, mov.frame_final_duration = 5, 20
    snd = sed.strips.new_sound(name="tone", filepath=str(sound), channel=5, frame_start=1)
    snd.frame_final_duration = 30
    other = bpy.data.scenes.new("layout")
    scn = sed.strips.new_scene(name="layout_shot", scene=other, channel=4, frame_start=60)
    scn.frame_final_duration = 10
    img = sed.strips.new_image(name="sh010", filepath=str(sequence / "sh010.1001.png"), channel=1, frame_start=1)
    for n in range(1002, 1049):
        img.elements.append(f"sh010.{n:04d}.png")
    img.frame_offset_start = 6
    img.frame_final_duration = 30
    img["vendor"] = "inhouse"
    col = sed.strips.new_effect(name="slate", type="COLOR", channel=2, frame_start=40, length=12)
    col.color = (0.2, 0.4, 0.6)
    scene.timeline_markers.new("vfx", frame=12)
    before = strips_of(scene)
    timeline = scene_to_timeline(scene)
    assert [t.kind for t in timeline.tracks] == ["Video", "Video", "Video", "Video", "Audio"]
    clip = timeline.video_tracks()[0].find_clips()[0]
    assert isinstance(clip.media_reference, otio.schema.ImageSequenceReference)
    assert clip.media_reference.start_frame == 1001 and clip.source_range.start_time.value == 6
    assert clip.metadata["blender"]["props"] == {"vendor": "inhouse"}
    text = otio.adapters.write_to_string(timeline, "otio_json")
    fresh = bpy.data.scenes.new("imported")  # same file: the "layout" scene a strip shows still exists
    timeline_to_scene(otio.adapters.read_from_string(text, "otio_json"), fresh)
    assert strips_of(fresh) == before
    assert [(m.name, m.frame) for m in fresh.timeline_markers] == [("vfx", 12)]
    assert fresh.sequence_editor.strips["sh010"]["vendor"] == "inhouse"
    assert tuple(round(c, 3) for c in fresh.sequence_editor.strips["slate"].color) == (0.2, 0.4, 0.6)


@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is not beside the checkout")
@pytest.mark.parametrize("name", ["ococ_SolLevante_Animatics_ver1_H264.otio", "ococ_Chimera_3840x2160_2997fps_10bit_422.otio",
                                  "otio_transition_test.otio", "fcp_img_seq_media_reference.otio"])
def test_corpus_timelines_import_with_the_same_ranges(scene, name):
    original = otio.adapters.read_from_file(str(CORPUS / name))
    timeline_to_scene(original, scene)
    rate = original.find_clips()[0].trimmed_range().duration.rate
    assert abs(scene.render.fps / scene.render.fps_base - rate) < 1e-3
    back = scene_to_timeline(scene)
    a, b = original.find_clips(), back.find_clips()
    assert [c.name for c in b] == [c.name for c in a]
    for x, y in zip(a, b, strict=True):
        assert y.source_range.start_time.value == pytest.approx(x.trimmed_range().start_time.value)
        assert y.source_range.duration.value == pytest.approx(x.trimmed_range().duration.value)
        assert y.range_in_parent().start_time.value == pytest.approx(x.range_in_parent().start_time.value)

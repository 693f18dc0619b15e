"""Blender's sequencer (VSE) to OTIO and back.

Channels become tracks (a channel of sound strips an audio track), strips clips at their record frames with
their source offsets, timeline markers markers, strip custom properties metadata. Media that is not on this
machine comes in as a grey placeholder strip that keeps the clip's ranges and reference, so nothing is lost
and a round trip gives the same OTIO back.
"""

from __future__ import annotations

import os

import bpy
import opentimelineio as otio

from . import timing

KEY = "blender"
OFFLINE = "shotbridge_offline"  # placeholder strip: the OTIO clip it stands for, as JSON


def scene_rate(scene) -> float:
    return scene.render.fps / scene.render.fps_base


def set_scene_rate(scene, rate: float) -> None:
    for base in (1.0, 1.001):  # 23.976 is 24 / 1.001 in Blender
        fps = rate * base
        if abs(fps - round(fps)) < 1e-3:
            scene.render.fps, scene.render.fps_base = round(fps), base
            return
    scene.render.fps, scene.render.fps_base = round(rate * 1000), 1000.0


def editor(scene):
    return scene.sequence_editor or scene.sequence_editor_create()


def _rt(frames: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, rate)


def _range(start: float, duration: float, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_rt(start, rate), _rt(duration, rate))


def _props(strip) -> dict:
    return {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in strip.items()
            if k != OFFLINE and (isinstance(v, (int, float, str, bool)) or hasattr(v, "to_dict"))}


# -- VSE -> OTIO -------------------------------------------------------------------------------------------


def strip_to_clip(strip, rate: float) -> otio.schema.Clip:
    if OFFLINE in strip:
        clip = otio.adapters.read_from_string(strip[OFFLINE], "otio_json")
        duration = timing.get(strip, "frame_final_duration")
        clip.source_range = _range(clip.source_range.start_time.value, duration, rate)
        return clip
    offset, duration = timing.get(strip, "frame_offset_start"), timing.get(strip, "frame_final_duration")
    kind = strip.type
    if kind == "MOVIE":
        length = timing.get(strip, "frame_duration")
        ref = otio.schema.ExternalReference(target_url=bpy.path.abspath(strip.filepath),
                                            available_range=_range(0, length, rate))
    elif kind == "IMAGE":
        names = [e.filename for e in strip.elements]
        folder = bpy.path.abspath(strip.directory)
        ref = _image_reference(folder, names, rate)
    elif kind == "SOUND":
        ref = otio.schema.ExternalReference(target_url=bpy.path.abspath(strip.sound.filepath) if strip.sound else "")
    elif kind == "COLOR":
        ref = otio.schema.GeneratorReference(generator_kind="SolidColor", parameters={"color": list(strip.color)})
    elif kind == "SCENE":
        ref = otio.schema.GeneratorReference(generator_kind="BlenderScene",
                                             parameters={"scene": strip.scene.name if strip.scene else ""})
    else:
        ref = otio.schema.MissingReference()
    clip = otio.schema.Clip(name=strip.name, media_reference=ref, source_range=_range(offset, duration, rate))
    clip.metadata[KEY] = {"type": kind, "channel": strip.channel, "props": _props(strip)}
    return clip


def _image_reference(folder: str, names: list[str], rate: float):
    """Several numbered files are a sequence (the trailing digits are the frame number)."""
    if len(names) > 1:
        stem, ext = os.path.splitext(names[0])
        n = len(stem) - len(stem.rstrip("0123456789"))
        if n:
            return otio.schema.ImageSequenceReference(
                target_url_base=folder if folder.endswith("/") else folder + "/", name_prefix=stem[:-n],
                name_suffix=ext, start_frame=int(stem[-n:]), frame_zero_padding=n, rate=rate,
                available_range=_range(0, len(names), rate))
    return otio.schema.ExternalReference(target_url=os.path.join(folder, names[0]) if names else "")


def scene_to_timeline(scene, only: set[str] | None = None) -> otio.schema.Timeline:
    """The scene's cut; with `only`, other strips become gaps (the cut keeps its timing)."""
    rate = scene_rate(scene)
    timeline = otio.schema.Timeline(name=scene.name, global_start_time=_rt(scene.frame_start, rate))
    strips = [s for s in editor(scene).strips_all if s.parent_meta() is None] if hasattr(
        editor(scene), "strips_all") else list(editor(scene).strips)
    for channel in sorted({s.channel for s in strips}):
        in_channel = sorted((s for s in strips if s.channel == channel),
                            key=lambda s: timing.get(s, "frame_final_start"))
        audio = all(s.type == "SOUND" for s in in_channel)
        track = otio.schema.Track(name=f"Channel {channel}",
                                  kind=otio.schema.TrackKind.Audio if audio else otio.schema.TrackKind.Video)
        track.metadata[KEY] = {"channel": channel}
        cursor = scene.frame_start
        for strip in in_channel:
            start = timing.get(strip, "frame_final_start")
            if start > cursor:
                track.append(otio.schema.Gap(source_range=_range(0, start - cursor, rate)))
            end = timing.get(strip, "frame_final_end")
            if only is None or strip.name in only:
                track.append(strip_to_clip(strip, rate))
            else:
                track.append(otio.schema.Gap(source_range=_range(0, end - start, rate)))
            cursor = end
        timeline.tracks.append(track)
    for marker in scene.timeline_markers:
        timeline.tracks.markers.append(otio.schema.Marker(
            name=marker.name, marked_range=_range(marker.frame - scene.frame_start, 0, rate),
            metadata={KEY: {"frame": marker.frame}}))
    return timeline


# -- OTIO -> VSE -------------------------------------------------------------------------------------------


def _placeholder(sed, clip, channel: int, start: int, duration: int):
    strip = sed.strips.new_effect(name=clip.name, type="COLOR", channel=channel, frame_start=start,
                                  length=duration)
    strip.color = (0.25, 0.25, 0.25)
    strip[OFFLINE] = otio.adapters.write_to_string(clip, "otio_json")
    return strip


def clip_to_strip(sed, clip: otio.schema.Clip, channel: int, start: int):
    """A strip for the clip at record frame `start`; offline media becomes a placeholder."""
    rng = clip.trimmed_range()
    duration = round(rng.duration.value)
    ref = clip.media_reference
    info = clip.metadata.get(KEY) or {}
    strip = None
    avail = ref.available_range.start_time.value if getattr(ref, "available_range", None) else 0
    offset = round(rng.start_time.value - avail)
    if isinstance(ref, otio.schema.ImageSequenceReference) and os.path.isdir(ref.target_url_base):
        count = round(ref.available_range.duration.value) if ref.available_range else offset + duration
        names = [f"{ref.name_prefix}{n:0{ref.frame_zero_padding}d}{ref.name_suffix}"
                 for n in range(ref.start_frame, ref.start_frame + count)]
        if all(os.path.exists(os.path.join(ref.target_url_base, n)) for n in names):
            strip = sed.strips.new_image(name=clip.name, filepath=os.path.join(ref.target_url_base, names[0]),
                                         channel=channel, frame_start=start - offset)
            for name in names[1:]:
                strip.elements.append(name)
            timing.put(strip, "frame_offset_start", offset)
            timing.put(strip, "frame_final_duration", duration)
    elif isinstance(ref, otio.schema.ExternalReference) and os.path.isfile(ref.target_url):
        new = sed.strips.new_sound if info.get("type") == "SOUND" or ref.target_url.lower().endswith(
            (".wav", ".mp3", ".flac", ".aif", ".ogg")) else sed.strips.new_movie
        strip = new(name=clip.name, filepath=ref.target_url, channel=channel, frame_start=start - offset)
        timing.put(strip, "frame_offset_start", offset)
        timing.put(strip, "frame_final_duration", duration)
    elif isinstance(ref, otio.schema.GeneratorReference) and ref.generator_kind == "SolidColor":
        strip = sed.strips.new_effect(name=clip.name, type="COLOR", channel=channel, frame_start=start,
                                      length=duration)
        strip.color = tuple(ref.parameters.get("color", (0.5, 0.5, 0.5)))[:3]
    elif isinstance(ref, otio.schema.GeneratorReference) and ref.generator_kind == "BlenderScene" and \
            ref.parameters.get("scene") in bpy.data.scenes:
        strip = sed.strips.new_scene(name=clip.name, scene=bpy.data.scenes[ref.parameters["scene"]],
                                     channel=channel, frame_start=start)
        timing.put(strip, "frame_final_duration", duration)
    if strip is None:
        return _placeholder(sed, clip, channel, start, duration)
    for key, value in (info.get("props") or {}).items():
        strip[key] = value
    return strip


def timeline_to_scene(timeline, scene, clear: bool = True) -> list:
    """Lay the timeline into the scene's sequencer; returns the strips made."""
    timeline = timeline if isinstance(timeline, otio.schema.Timeline) else _wrap(timeline)
    rate = next((c.trimmed_range().duration.rate for c in timeline.find_clips()), scene_rate(scene))
    set_scene_rate(scene, rate)
    sed = editor(scene)
    if clear:
        for strip in list(sed.strips):
            sed.strips.remove(strip)
        scene.timeline_markers.clear()
    start = round(timeline.global_start_time.value) if timeline.global_start_time else 1
    scene.frame_start = start
    made = []
    tracks = list(timeline.video_tracks()) + list(timeline.audio_tracks())
    for index, track in enumerate(tracks, 1):
        channel = (track.metadata.get(KEY) or {}).get("channel", index)
        ranges = track.range_of_all_children()
        for item in track:
            if isinstance(item, otio.schema.Clip):
                made.append(clip_to_strip(sed, item, channel, start + round(ranges[item].start_time.value)))
    scene.frame_end = max([start, *(timing.get(s, "frame_final_end") - 1 for s in made)])
    for marker in timeline.tracks.markers:
        scene.timeline_markers.new(marker.name, frame=start + round(marker.marked_range.start_time.value))
    return made


def _wrap(obj) -> otio.schema.Timeline:
    from shotbridge.exchange.shots import as_timeline

    return as_timeline(obj)

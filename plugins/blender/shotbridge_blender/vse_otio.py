"""Blender's sequencer (VSE) to OTIO and back.

Channels become tracks (a channel of sound strips an audio track), strips clips at their record frames with
their source offsets, timeline markers markers, strip custom properties `metadata["blender"]["props"]`, a
muted strip a disabled clip, the CDL modifier `metadata["cdl"]`. Each strip made from OTIO keeps the item
it stands for (JSON in a custom property), so what Blender cannot hold (other metadata, clip markers, takes,
timecode-based available ranges) comes back out unchanged. Media not on this machine, and nested stacks,
come in as grey placeholder strips that keep their ranges.
"""

from __future__ import annotations

import json
import os

import bpy
import opentimelineio as otio

from shotbridge.exchange.cdl import get_cdl as clip_cdl
from shotbridge.exchange.cdl import set_cdl as set_clip_cdl
from shotbridge.exchange.markers import list_findings

from . import grade, timing

KEY = "blender"
CLIP = "shotbridge_clip"  # the OTIO item the strip stands for, as JSON
OFFLINE = "shotbridge_offline"  # set on placeholder strips
TAKE_OF, TAKE_KEY = "shotbridge_take_of", "shotbridge_take_key"  # on take strips (see apply.py)
DRIFT = "shotbridge_drift"  # the last consistency check's drift markers (JSON list of OTIO markers)
SOUND_EXT = (".wav", ".mp3", ".flac", ".aif", ".aiff", ".ogg", ".m4a")
DEFAULT = otio.schema.Clip.DEFAULT_MEDIA_KEY
RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


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


def _range(start: float, duration: float, rate: float) -> otio.opentime.TimeRange:
    return TR(RT(start, rate), RT(duration, rate))


def _frames(t: otio.opentime.RationalTime, rate: float) -> int:
    return round(t.rescaled_to(rate).value)


def _path(url: str) -> str:
    return otio.url_utils.filepath_from_url(url) if url.startswith("file:") else url


def _props(strip) -> dict:
    return {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in strip.items()
            if not k.startswith("shotbridge_") and (isinstance(v, (int, float, str, bool)) or hasattr(v, "to_dict"))}


def load_shell(strip):
    text = strip.get(CLIP)
    return otio.adapters.read_from_string(text, "otio_json") if text else None


def save_shell(strip, item) -> None:
    strip[CLIP] = otio.adapters.write_to_string(item, "otio_json")


def keep_drift(strip, markers: list) -> None:
    """The drift markers a check found on the strip's clip (in its source time), kept on the strip so the
    cut read back from the scene (the sidebar's shot table) still shows them; a later check replaces them."""
    strip[DRIFT] = json.dumps([otio.adapters.write_to_string(m, "otio_json") for m in markers])


def _restore_drift(strip, clip) -> None:
    text = strip.get(DRIFT)
    if not text:
        return
    for marker, _ in list_findings(clip, "drift"):  # the kept ones are the newer check's
        clip.markers.remove(marker)
    for item in json.loads(text):
        clip.markers.append(otio.adapters.read_from_string(item, "otio_json"))


# -- VSE -> OTIO -------------------------------------------------------------------------------------------


def live_reference(strip, rate: float) -> otio.core.MediaReference:
    """What the strip plays now, as a media reference."""
    kind = strip.type
    if kind == "MOVIE":
        return otio.schema.ExternalReference(target_url=bpy.path.abspath(strip.filepath),
                                             available_range=_range(0, timing.get(strip, "frame_duration"), rate))
    if kind == "IMAGE":
        return _image_reference(bpy.path.abspath(strip.directory), [e.filename for e in strip.elements], rate)
    if kind == "SOUND":
        return otio.schema.ExternalReference(target_url=bpy.path.abspath(strip.sound.filepath) if strip.sound else "",
                                             available_range=_range(0, timing.get(strip, "frame_duration"), rate))
    if kind == "COLOR":
        return otio.schema.GeneratorReference(generator_kind="SolidColor", parameters={"color": list(strip.color)})
    if kind == "SCENE":
        return otio.schema.GeneratorReference(generator_kind="BlenderScene",
                                              parameters={"scene": strip.scene.name if strip.scene else ""})
    return otio.schema.MissingReference()


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


def _media_key(ref) -> tuple | None:
    if isinstance(ref, otio.schema.ExternalReference):
        return ("file", os.path.normpath(_path(ref.target_url)))
    if isinstance(ref, otio.schema.ImageSequenceReference):
        return ("seq", os.path.normpath(_path(ref.target_url_base)), ref.name_prefix, ref.name_suffix)
    return None


def _base(ref, rate: float) -> otio.opentime.RationalTime:
    avail = getattr(ref, "available_range", None)
    return avail.start_time if avail is not None else RT(0, rate)


def strip_to_clip(strip, rate: float, takes=()) -> otio.core.Composable:
    """The strip as a clip (or the placeholder's item); `takes` are its take strips, folded back in."""
    shell = load_shell(strip)
    offset, duration = timing.get(strip, "frame_offset_start"), timing.get(strip, "frame_final_duration")
    info = dict((shell.metadata.get(KEY) or {}) if shell is not None else {})
    if strip.get(OFFLINE) and shell is not None:
        item = shell
        old = item.trimmed_range()
        if (offset, duration) != (0, _frames(old.duration, rate)):  # trimmed in Blender
            item.source_range = TR(old.start_time + RT(offset, rate).rescaled_to(old.start_time.rate),
                                   RT(duration, rate).rescaled_to(old.duration.rate))
    else:
        live = live_reference(strip, rate)
        item = shell if isinstance(shell, otio.schema.Clip) else otio.schema.Clip()
        key = _media_key(live)
        if shell is None or key is None or _media_key(item.media_reference) != key:  # media changed
            item.media_reference = live
        base = _base(item.media_reference, rate)
        old = item.source_range
        if old is None or (_frames(old.start_time - base, rate), _frames(old.duration, rate)) != (offset, duration):
            item.source_range = TR(base + RT(offset, rate).rescaled_to(base.rate), RT(duration, rate).rescaled_to(base.rate))
        info["type"] = strip.type
    if strip.name != info.get("strip"):  # Blender renames duplicates (.001) and cuts long names: keep the clip's
        item.name = strip.name
    item.enabled = not strip.mute
    cdl = grade.get_cdl(strip)
    if cdl is not None:
        set_clip_cdl(item, cdl)
    info.update(channel=strip.channel, props=_props(strip), strip=strip.name)
    item.metadata[KEY] = info
    if isinstance(item, otio.schema.Clip):
        _restore_drift(strip, item)
    if takes and isinstance(item, otio.schema.Clip):
        _fold_takes(item, strip, takes, rate)
    return item


def _fold_takes(clip, strip, takes, rate: float) -> None:
    """Take strips are versions of the clip: the one playing becomes the active media reference."""
    refs = clip.media_references()
    for take in takes:
        refs.setdefault(take[TAKE_KEY], live_reference(take, rate))
    playing = next((t for t in takes if not t.mute), None)
    active = playing[TAKE_KEY] if strip.mute and playing is not None else clip.active_media_reference_key
    clip.set_media_references(refs, active)
    clip.enabled = not (strip.mute and playing is None)


def scene_to_timeline(scene, only: set[str] | None = None) -> otio.schema.Timeline:
    """The scene's cut; with `only`, other strips become gaps (the cut keeps its timing)."""
    rate = scene_rate(scene)
    timeline = otio.schema.Timeline(name=scene.name, global_start_time=RT(scene.frame_start, rate))
    everything = [s for s in timing.strips_all(editor(scene)) if s.parent_meta() is None]
    names = {s.name for s in everything}
    takes: dict[str, list] = {}
    for s in everything:
        if s.get(TAKE_OF) in names:
            takes.setdefault(s[TAKE_OF], []).append(s)
    strips = [s for s in everything if s.get(TAKE_OF) not in names]
    # a clip and its takes live on the lowest channel of the group (accepting a take swaps channels)
    home = {s.name: min([s.channel, *(t.channel for t in takes.get(s.name, []))]) for s in strips}
    for channel in sorted(set(home.values())):
        in_channel = sorted((s for s in strips if home[s.name] == channel),
                            key=lambda s: timing.get(s, "frame_final_start"))
        came_from = {_track_of(s) for s in in_channel}  # the OTIO track the strips were laid in from, if one
        audio = all(s.type == "SOUND" or _track_of(s)[1] == otio.schema.TrackKind.Audio for s in in_channel)
        name = came_from.pop()[0] if len(came_from) == 1 else None
        track = otio.schema.Track(name=name or f"Channel {channel}",
                                  kind=otio.schema.TrackKind.Audio if audio else otio.schema.TrackKind.Video)
        track.metadata[KEY] = {"channel": channel}
        cursor = scene.frame_start
        for strip in in_channel:
            start, end = timing.get(strip, "frame_final_start"), timing.get(strip, "frame_final_end")
            if start > cursor:
                track.append(otio.schema.Gap(source_range=_range(0, start - cursor, rate)))
            if only is None or strip.name in only:
                track.append(strip_to_clip(strip, rate, takes.get(strip.name, ())))
            else:
                track.append(otio.schema.Gap(source_range=_range(0, end - start, rate)))
            cursor = end
        timeline.tracks.append(track)
    for marker in scene.timeline_markers:
        timeline.tracks.markers.append(otio.schema.Marker(
            name=marker.name, marked_range=_range(marker.frame - scene.frame_start, 0, rate),
            metadata={KEY: {"frame": marker.frame}}))
    return timeline


def _track_of(strip) -> tuple[str | None, str | None]:
    shell = load_shell(strip)
    track = (shell.metadata.get(KEY) or {}).get("track") if shell is not None else None
    return (track["name"], track["kind"]) if track else (None, None)


# -- OTIO -> VSE -------------------------------------------------------------------------------------------


def _placeholder(sed, item, channel: int, start: int, duration: int):
    strip = timing.new_color(sed, item.name or type(item).__name__, channel, start, duration, (0.25, 0.25, 0.25))
    strip[OFFLINE] = True
    return strip


def _new_media_strip(sed, clip, channel: int, start: int, offset: int, duration: int):
    """A movie, sound or image (sequence) strip when the media is on this machine, else None."""
    ref, new = clip.media_reference, timing.strips(sed)
    if isinstance(ref, otio.schema.ImageSequenceReference):
        folder = _path(ref.target_url_base)
        count = round(ref.available_range.duration.value) if ref.available_range else offset + duration
        names = [f"{ref.name_prefix}{n:0{ref.frame_zero_padding}d}{ref.name_suffix}"
                 for n in range(ref.start_frame, ref.start_frame + count)]
        if not names or not all(os.path.exists(os.path.join(folder, n)) for n in names):
            return None
        strip = new.new_image(name=clip.name, filepath=os.path.join(folder, names[0]), channel=channel,
                              frame_start=start - offset)
        for name in names[1:]:
            strip.elements.append(name)
    elif isinstance(ref, otio.schema.ExternalReference) and os.path.isfile(_path(ref.target_url)):
        path = _path(ref.target_url)
        sound = (clip.metadata.get(KEY) or {}).get("type") == "SOUND" or path.lower().endswith(SOUND_EXT)
        strip = (new.new_sound if sound else new.new_movie)(name=clip.name, filepath=path, channel=channel,
                                                             frame_start=start - offset)
    else:
        return None
    timing.put(strip, "frame_offset_start", offset)
    timing.put(strip, "frame_final_duration", duration)
    return strip


def clip_to_strip(sed, item, channel: int, start: int, rate: float | None = None, track=None):
    """A strip for the item at record frame `start`; offline media and nested stacks become placeholders."""
    rate = rate or scene_rate(sed.id_data)
    rng = item.trimmed_range()
    duration = _frames(rng.duration, rate)
    strip = None
    if isinstance(item, otio.schema.Clip):
        ref = item.media_reference
        offset = _frames(rng.start_time - _base(ref, rate), rate)
        strip = _new_media_strip(sed, item, channel, start, offset, duration)
        if strip is None and isinstance(ref, otio.schema.GeneratorReference):
            if ref.generator_kind == "SolidColor":
                strip = timing.new_color(sed, item.name, channel, start, duration,
                                         ref.parameters.get("color", (0.5, 0.5, 0.5)))
            elif ref.generator_kind == "BlenderScene" and ref.parameters.get("scene") in bpy.data.scenes:
                strip = timing.strips(sed).new_scene(name=item.name, scene=bpy.data.scenes[ref.parameters["scene"]],
                                                     channel=channel, frame_start=start)
                timing.put(strip, "frame_final_duration", duration)
    if strip is None:
        strip = _placeholder(sed, item, channel, start, duration)
    info = dict(item.metadata.get(KEY) or {})
    info["strip"] = strip.name
    if track is not None:
        info["track"] = {"name": track.name, "kind": track.kind}
    shell = item.deepcopy()  # the caller's timeline stays as it was
    shell.metadata[KEY] = info
    save_shell(strip, shell)
    for key, value in ((item.metadata.get(KEY) or {}).get("props") or {}).items():
        strip[key] = value
    strip.mute = not item.enabled
    cdl = clip_cdl(item) if isinstance(item, otio.schema.Clip) else None
    if cdl is not None and not strip.get(OFFLINE) and strip.type != "SOUND":
        grade.set_cdl(strip, cdl)
    return strip


def timeline_to_scene(timeline, scene, clear: bool = True) -> list:
    """Lay the timeline into the scene's sequencer; returns the strips made."""
    timeline = timeline if isinstance(timeline, otio.schema.Timeline) else _wrap(timeline)
    rate = next((c.trimmed_range().duration.rate for c in timeline.find_clips()), scene_rate(scene))
    set_scene_rate(scene, rate)
    rate = scene_rate(scene)
    sed = editor(scene)
    if clear:
        for strip in list(timing.strips(sed)):
            timing.strips(sed).remove(strip)
        scene.timeline_markers.clear()
    start = _frames(timeline.global_start_time, rate) if timeline.global_start_time else 1
    scene.frame_start = start
    made = []
    tracks = list(timeline.video_tracks()) + list(timeline.audio_tracks())
    for index, track in enumerate(tracks, 1):
        channel = (track.metadata.get(KEY) or {}).get("channel", index)
        ranges = track.range_of_all_children()
        for item in track:
            if isinstance(item, (otio.schema.Gap, otio.schema.Transition)):
                continue  # gaps are empty frames; transitions take no time in OTIO and have no VSE twin here
            made.append(clip_to_strip(sed, item, channel, start + _frames(ranges[item].start_time, rate), rate,
                                      track))
    scene.frame_end = max([start, *(timing.get(s, "frame_final_end") - 1 for s in made)])
    for marker in timeline.tracks.markers:
        scene.timeline_markers.new(marker.name, frame=start + _frames(marker.marked_range.start_time, rate))
    return made


def _wrap(obj) -> otio.schema.Timeline:
    from shotbridge.exchange.shots import as_timeline

    return as_timeline(obj)

"""ShotBridge results in Blender: takes as strips above their source, CDLs as colour balance modifiers,
drift findings as timeline markers. Call on Blender's main thread (see timers.py)."""

from __future__ import annotations

import bpy
import opentimelineio as otio

from shotbridge.exchange.cdl import get_cdl
from shotbridge.exchange.markers import list_findings

from . import grade, timing
from .grade import MODIFIER, sequencer_scene  # noqa: F401  (kept importable from here)
from .vse_otio import (
    DEFAULT,
    TAKE_KEY,
    TAKE_OF,
    clip_to_strip,
    editor,
    keep_drift,
    load_shell,
    save_shell,
    scene_rate,
)


def set_cdl(strip, cdl, scene=None):
    """The CDL as an Offset/Power/Slope colour balance modifier (see grade.py); returns the modifier."""
    grade.set_cdl(strip, cdl)
    return strip.modifiers[MODIFIER]


def apply_timeline(timeline, scene=None) -> list[str]:
    """Apply every clip's CDL, findings and takes to the strip of the same name; returns what was done."""
    scene = scene or bpy.context.scene
    sed = editor(scene)
    done = []
    for clip in timeline.find_clips():
        strip = timing.strips(sed).get(clip.name)
        if strip is None:
            done.append(f"{clip.name}: no strip of that name; skipped")
            continue
        cdl = get_cdl(clip)
        if cdl is not None:
            done += [f"{clip.name}: CDL"] + [f"{clip.name}: {w}" for w in grade.set_cdl(strip, cdl)]
        done += _findings(scene, clip, strip)
        done += _takes(sed, clip, strip)
        done += _active_take(sed, clip, strip)
    return done


def _findings(scene, clip, strip) -> list[str]:
    """A timeline marker per drift, named for the character, at the record frame where the drift starts."""
    done = []
    rate = scene_rate(scene)
    source_start = clip.trimmed_range().start_time
    found = list_findings(clip, "drift")
    if found:
        keep_drift(strip, [marker for marker, _ in found])
    for marker, finding in found:
        # markers on a clip are in its source time; the strip shows source_start at its first frame
        into = round((marker.marked_range.start_time - source_start).rescaled_to(rate).value)
        frame = timing.get(strip, "frame_final_start") + into
        name = f"drift: {finding.get('expected')} ({finding.get('found') or 'unknown'})"
        if not any(m.name == name and m.frame == frame for m in scene.timeline_markers):
            scene.timeline_markers.new(name, frame=frame)
        done.append(f"{clip.name}: {name} at frame {frame}")
    return done


def _own_key(strip) -> str:
    """The media key the source strip itself plays (the clip's active key when it was laid in)."""
    shell = load_shell(strip)
    return shell.active_media_reference_key if isinstance(shell, otio.schema.Clip) else DEFAULT


def take_strips(sed, strip) -> dict[str, object]:
    return {s[TAKE_KEY]: s for s in timing.strips(sed) if s.get(TAKE_OF) == strip.name and TAKE_KEY in s}


def _takes(sed, clip, strip) -> list[str]:
    """A muted strip per new take, on the first free channel above its source, at the same record frames."""
    done = []
    own, existing = _own_key(strip), take_strips(sed, strip)
    shell = load_shell(strip)
    for key, ref in clip.media_references().items():
        if key == own or key in existing:
            continue
        take = otio.schema.Clip(name=f"{strip.name} {key}", media_reference=ref.deepcopy(),
                                source_range=clip.trimmed_range())
        start = timing.get(strip, "frame_final_start")
        made = clip_to_strip(sed, take, _free_channel(sed, strip, start), start)
        made[TAKE_OF], made[TAKE_KEY] = strip.name, key
        made.mute = True  # a take waits above its source until accepted
        existing[key] = made
        if isinstance(shell, otio.schema.Clip) and key not in shell.media_references():
            refs = shell.media_references()  # the source's OTIO clip knows its takes too
            refs[key] = ref.deepcopy()
            shell.set_media_references(refs, shell.active_media_reference_key)
            save_shell(strip, shell)
        done.append(f"{clip.name}: take {key} on channel {made.channel}")
    return done


def _free_channel(sed, strip, start: int) -> int:
    end = start + timing.get(strip, "frame_final_duration")
    busy = {s.channel for s in timing.strips(sed)
            if timing.get(s, "frame_final_start") < end and timing.get(s, "frame_final_end") > start}
    return next(c for c in range(strip.channel + 1, 129) if c not in busy)


def _active_take(sed, clip, strip) -> list[str]:
    """The clip's active media reference decides what plays: the source strip or one of its take strips."""
    return set_playing(sed, strip, clip.active_media_reference_key)


def set_playing(sed, strip, key: str) -> list[str]:
    """Play `key` (the source's own key or a take's): it takes the group's lowest channel, the rest muted
    above it; the original is kept for switching back."""
    takes = take_strips(sed, strip)
    group = {_own_key(strip): strip, **takes}
    playing = group.get(key)
    if playing is None:
        return [f"{strip.name}: no take {key}; nothing changed"]
    for member in group.values():
        member.mute = member is not playing
    home = min(m.channel for m in group.values())
    if playing.channel != home:
        holder = next(m for m in group.values() if m.channel == home)
        _swap_channels(sed, playing, holder)
    return [f"{strip.name}: playing {key}"] if playing is not strip else []


def _swap_channels(sed, a, b) -> None:
    """Swap two strips' channels through a free one (Blender moves a strip that lands on another)."""
    spare = max(s.channel for s in timing.strips(sed)) + 1
    ca, cb = a.channel, b.channel
    a.channel = spare
    b.channel = ca
    a.channel = cb


def accept_take(scene, strip_name: str, take_name: str) -> None:
    """The take plays in its source's place; the source is kept, muted, above it."""
    sed = editor(scene)
    take = timing.strips(sed)[take_name]
    set_playing(sed, timing.strips(sed)[strip_name], take[TAKE_KEY])

"""ShotBridge results in Blender: takes as strips above their source, CDLs as colour balance modifiers,
drift findings as timeline markers. Call on Blender's main thread (see timers.py)."""

from __future__ import annotations

import bpy
import opentimelineio as otio

from shotbridge.exchange.cdl import CDL, get_cdl
from shotbridge.exchange.markers import list_findings

from . import timing
from .vse_otio import clip_to_strip, editor

MODIFIER = "ShotBridge CDL"


def ensure_sequencer_scene(scene) -> None:
    """bpy 5.0.1 as a module crashes in `strip.modifiers.new` unless each workspace names a sequencer scene."""
    for workspace in bpy.data.workspaces:
        if hasattr(workspace, "sequencer_scene") and workspace.sequencer_scene is None:
            workspace.sequencer_scene = scene


def set_cdl(strip, cdl: CDL, scene=None):
    """The CDL as an Offset/Power/Slope colour balance modifier; Blender's offset is the CDL offset + 1."""
    ensure_sequencer_scene(scene or bpy.context.scene)
    modifier = strip.modifiers.get(MODIFIER) or strip.modifiers.new(name=MODIFIER, type="COLOR_BALANCE")
    balance = modifier.color_balance
    balance.correction_method = "OFFSET_POWER_SLOPE"
    balance.slope = cdl.slope
    balance.offset = tuple(v + 1.0 for v in cdl.offset)
    balance.power = cdl.power
    if hasattr(modifier, "saturation"):  # not every build has it on the modifier
        modifier.saturation = cdl.saturation
    return modifier


def apply_timeline(timeline, scene=None) -> list[str]:
    """Apply every clip's CDL, findings and takes to the strip of the same name; returns what was done."""
    scene = scene or bpy.context.scene
    sed = editor(scene)
    done = []
    for clip in timeline.find_clips():
        strip = sed.strips.get(clip.name)
        if strip is None:
            done.append(f"{clip.name}: no strip of that name; skipped")
            continue
        cdl = get_cdl(clip)
        if cdl is not None:
            set_cdl(strip, cdl, scene)
            done.append(f"{clip.name}: CDL")
        for _marker, finding in list_findings(clip, "drift"):
            first = finding.get("frames", [0])[0]
            # finding frames count from the media's first frame; the strip shows it from its offset on
            offset = timing.get(strip, "frame_offset_start")
            frame = round(timing.get(strip, "frame_final_start") + first - offset)
            name = f"drift: {finding.get('expected')} ({finding.get('found') or 'unknown'})"
            if not any(m.name == name and m.frame == frame for m in scene.timeline_markers):
                scene.timeline_markers.new(name, frame=frame)
            done.append(f"{clip.name}: {name} at frame {frame}")
        done += _takes(sed, clip, strip)
        done += _active_take(sed, clip, strip)
    return done


def _active_take(sed, clip, strip) -> list[str]:
    """The clip's active media reference decides what plays: the source strip or one of its take strips."""
    active = clip.active_media_reference_key
    takes = [sed.strips.get(f"{strip.name} {key}") for key in clip.media_references()
             if key != otio.schema.Clip.DEFAULT_MEDIA_KEY]
    for take in filter(None, takes):
        take.mute = take.name != f"{strip.name} {active}"
    strip.mute = active != otio.schema.Clip.DEFAULT_MEDIA_KEY
    return [f"{clip.name}: playing {active}"] if strip.mute else []


def _takes(sed, clip, strip) -> list[str]:
    done = []
    for i, (key, ref) in enumerate(item for item in clip.media_references().items()
                                    if item[0] != otio.schema.Clip.DEFAULT_MEDIA_KEY):
        name = f"{strip.name} {key}"
        if sed.strips.get(name) is not None:
            continue
        take = otio.schema.Clip(name=name, media_reference=ref.deepcopy(), source_range=clip.trimmed_range())
        made = clip_to_strip(sed, take, strip.channel + 1 + i, timing.get(strip, "frame_final_start"))
        made.mute = True  # a take waits above its source until accepted
        done.append(f"{clip.name}: take {key} on channel {made.channel}")
    return done


def accept_take(scene, strip_name: str, take_name: str) -> None:
    """The take plays instead of its source: unmute it, mute the source (kept for rejecting later)."""
    sed = editor(scene)
    sed.strips[take_name].mute = False
    sed.strips[strip_name].mute = True

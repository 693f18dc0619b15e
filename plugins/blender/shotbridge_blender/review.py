"""Accept and reject takes in Blender's sequencer: the take's strip plays in its source's place (the source
kept, muted, above it), then one step goes on Blender's undo stack, so Edit > Undo switches back.

Call on Blender's main thread (see timers.py).
"""

from __future__ import annotations

import bpy

from . import timing
from .apply import _own_key, _takes, set_playing, take_strips
from .vse_otio import DEFAULT, editor, scene_to_timeline


def _undo_step(message: str) -> None:
    bpy.ops.ed.undo_push(message=message)


def accept_take(clip_name: str, key: str, reference, scene=None) -> str:
    scene = scene or bpy.context.scene
    sed = editor(scene)
    strip = timing.strips(sed).get(clip_name)
    if strip is None:
        return f"{clip_name}: no strip of that name in {scene.name}; the take is accepted in the panel only"
    if key not in take_strips(sed, strip) and key != _own_key(strip):
        if reference is None:
            return f"{clip_name}: take {key} has no media to lay in; nothing changed"
        clip = next((c for c in scene_to_timeline(scene).find_clips() if c.name == clip_name), None)
        if clip is None:
            return f"{clip_name}: the strip is not in the scene's cut; nothing changed"
        refs = clip.media_references()
        refs[key] = reference.deepcopy()
        clip.set_media_references(refs, clip.active_media_reference_key)
        _takes(sed, clip, strip)  # the take's strip, muted above its source, as results arrive
    done = set_playing(sed, strip, key)
    _undo_step(f"ShotBridge: accept {key} on {clip_name}")
    said = "; ".join(done) or f"{clip_name}: playing {key}"
    return f"{said} (Edit > Undo switches back)"


def reject_take(clip_name: str, key: str, was_active: bool, scene=None) -> str:
    scene = scene or bpy.context.scene
    sed = editor(scene)
    strip = timing.strips(sed).get(clip_name)
    take = take_strips(sed, strip).get(key) if strip is not None else None
    if take is None:
        return f"{clip_name}: take {key} hidden (no strip of it in the sequencer)"
    playing = not take.mute
    if playing:
        set_playing(sed, strip, _own_key(strip) if _own_key(strip) != key else DEFAULT)
    take.mute = True  # a rejected take stays on its channel, muted, so it can be brought back
    _undo_step(f"ShotBridge: reject {key} on {clip_name}")
    return (f"{clip_name}: take {key} rejected; " + ("the source plays again" if playing else "it stays muted")
            + " (Edit > Undo takes this back)")

"""Accept and reject takes in Resolve: the take's item on its "ShotBridge takes" track is enabled (accepted:
it plays over the plate) or disabled again (rejected: the plate plays), through the same apply as results.

Resolve's scripting API has no undo, so Reject is the way back. Call on the panel's thread (session.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import opentimelineio as otio

from shotbridge.exchange.takes import DEFAULT

from .apply import apply_result

if TYPE_CHECKING:
    from .host import ResolveHost


def _the_clip(host: ResolveHost, clip_name: str, clip: otio.schema.Clip | None) -> otio.schema.Clip | str:
    """The selection's clip (the panel's, else read from Resolve now), or why there is none."""
    if clip is not None:
        return clip
    timeline = host.selection()
    named = [c for c in timeline.find_clips() if c.name == clip_name] if timeline is not None else []
    if len(named) != 1:
        return (f"{clip_name}: {'no' if not named else len(named)} clip(s) of that name in the selection; choose the "
                "clip in Resolve and take the selection again")
    return named[0]


def _one_clip(clip: otio.schema.Clip, key: str, reference, active: str) -> otio.schema.Timeline:
    one = clip.deepcopy()
    refs = one.media_references()
    if key not in refs and reference is not None:
        refs[key] = reference.deepcopy()
    one.set_media_references(refs, active if active in refs else DEFAULT)
    return otio.schema.Timeline(name="take", tracks=[otio.schema.Track(name="V1", children=[one])])


def accept_take(host: ResolveHost, clip_name: str, key: str, reference, clip: otio.schema.Clip | None) -> list[str]:
    found = _the_clip(host, clip_name, clip)
    if isinstance(found, str):
        return [found]
    return apply_result(host.session, _one_clip(found, key, reference, key))


def reject_take(host: ResolveHost, clip_name: str, key: str, was_active: bool,
                clip: otio.schema.Clip | None) -> list[str]:
    if not was_active:
        return [f"{clip_name}: take {key} hidden (it was not playing in Resolve)"]
    found = _the_clip(host, clip_name, clip)
    if isinstance(found, str):
        return [found]
    return apply_result(host.session, _one_clip(found, key, None, DEFAULT))

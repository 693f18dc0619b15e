"""ASC CDL <-> the sequencer's colour balance modifier (Offset/Power/Slope).

Measured by rendering a grey colour strip on bpy 5.0.1 and 5.2.3 (tests/blender/test_results.py):
out = max(in * slope + (offset - 1), 0) ** (1 / power) in the sequencer's colour space (sRGB by default).
So Blender's offset is the CDL offset + 1, and its power is the reciprocal of the CDL power unless
`invert_power` is set: we set it, so the numbers in Blender's UI are the CDL's own. The modifier has no
saturation; the CDL's saturation is kept on the strip (exported back unchanged) but not shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import bpy

from shotbridge.exchange.cdl import CDL

MODIFIER = "ShotBridge CDL"
SATURATION = "shotbridge_cdl_saturation"  # strip custom property: the modifier has nowhere to keep it


@contextmanager
def sequencer_scene(scene) -> Iterator[None]:
    """Lend the context workspace a sequencer scene for the duration of a modifier call.

    bpy 5.0.1 as a module segfaults in `strip.modifiers.new/remove/clear` when the context workspace's
    `sequencer_scene` is None or a scene without a sequence editor (found in subprocesses; only the
    context workspace matters). 5.2.3 and 4.x do not need this; the user's setting is restored after.
    """
    workspace = getattr(bpy.context, "workspace", None)
    current = getattr(workspace, "sequencer_scene", False)
    if current is False or (current is not None and current.sequence_editor is not None):
        yield
        return
    workspace.sequencer_scene = scene
    try:
        yield
    finally:
        workspace.sequencer_scene = current


def _modifier(strip):
    found = strip.modifiers.get(MODIFIER)
    if found is None:  # a colour balance the artist added in Offset/Power/Slope mode counts too
        found = next((m for m in strip.modifiers if m.type == "COLOR_BALANCE"
                      and m.color_balance.correction_method == "OFFSET_POWER_SLOPE"), None)
    return found


def set_cdl(strip, cdl: CDL) -> list[str]:
    """Grade the strip with the CDL (re-using its modifier); returns warnings for what cannot be shown."""
    modifier = strip.modifiers.get(MODIFIER)
    if modifier is None:
        with sequencer_scene(strip.id_data):
            modifier = strip.modifiers.new(name=MODIFIER, type="COLOR_BALANCE")
    balance = modifier.color_balance
    balance.correction_method = "OFFSET_POWER_SLOPE"
    balance.invert_slope, balance.invert_offset, balance.invert_power = False, False, True
    balance.slope = cdl.slope
    balance.offset = tuple(max(v + 1.0, 0.0) for v in cdl.offset)  # Blender's offset cannot go below 0
    balance.power = cdl.power
    warnings = []
    if min(cdl.offset) < -1.0:
        warnings.append(f"offset {min(cdl.offset)} is below -1, which Blender cannot show; clamped")
    if abs(cdl.saturation - 1.0) > 1e-6:
        strip[SATURATION] = cdl.saturation
        warnings.append(f"saturation {cdl.saturation} kept but not shown (the VSE colour balance has none)")
    elif SATURATION in strip:
        del strip[SATURATION]
    return warnings


def get_cdl(strip) -> CDL | None:
    """The strip's grade as a CDL, or None when it has no (unmuted) Offset/Power/Slope colour balance."""
    modifier = _modifier(strip)
    if modifier is None or modifier.mute:
        return None
    b = modifier.color_balance
    power = tuple(b.power) if b.invert_power else tuple(1.0 / p if p else 0.0 for p in b.power)
    cdl = CDL(slope=tuple(b.slope), offset=tuple(v - 1.0 for v in b.offset), power=power,
              saturation=float(strip.get(SATURATION, 1.0)))
    return cdl.rounded(6)  # Blender keeps float32: 0.1 comes back as 0.10000000149


def remove_cdl(strip) -> bool:
    modifier = strip.modifiers.get(MODIFIER)
    if modifier is None:
        return False
    with sequencer_scene(strip.id_data):
        strip.modifiers.remove(modifier)
    if SATURATION in strip:
        del strip[SATURATION]
    return True

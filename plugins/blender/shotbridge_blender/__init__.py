"""ShotBridge for Blender: the sequencer and 3D viewport sidebars, OTIO exchange, results via timers."""

from __future__ import annotations

import bpy

from . import notify, shots_ui, timers, ui


class ShotBridgePreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    url: bpy.props.StringProperty(name="Backend URL", default="http://127.0.0.1:8765")
    # Preferences live in Blender's user preferences, never in a .blend; empty: use ~/.config/shotbridge/token.
    token: bpy.props.StringProperty(name="Token", subtype="PASSWORD", default="")

    def draw(self, context):
        self.layout.prop(self, "url")
        self.layout.prop(self, "token")


CLASSES = (ShotBridgePreferences, *ui.CLASSES, *notify.CLASSES)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    timers.register()


def unregister() -> None:
    timers.unregister()
    shots_ui.release()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)

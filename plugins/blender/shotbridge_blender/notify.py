"""A finished job told the Blender way: an operator report, which shows in the status bar and the Info
editor (and on stdout in background mode). Call on Blender's main thread (the panel's timer dispatch)."""

from __future__ import annotations

import bpy

LEVELS = {"info": "INFO", "warning": "WARNING", "error": "ERROR"}


class SHOTBRIDGE_OT_notify(bpy.types.Operator):
    """Report a ShotBridge notice in the status bar and the Info editor"""

    bl_idname = "shotbridge.notify"
    bl_label = "ShotBridge notice"
    bl_options = {"INTERNAL"}

    message: bpy.props.StringProperty()
    level: bpy.props.EnumProperty(items=[(v, v.title(), "") for v in LEVELS.values()], default="INFO")

    def execute(self, context):
        self.report({self.level}, self.message)
        return {"FINISHED"}


def notify(text: str, level: str = "info") -> None:
    try:
        bpy.ops.shotbridge.notify(message=text, level=LEVELS.get(level, "INFO"))
    except RuntimeError:
        # bpy.ops raises an ERROR report back at its Python caller after Blender has shown it: it was told.
        if level != "error":
            raise


CLASSES = (SHOTBRIDGE_OT_notify,)

"""The sidebar's Shots box: the sequencer's strips as the shared shot table's rows (panel/shots.py), each with
a thumbnail icon, record timecodes and badges, and under a drifting shot one button per drifting range that
moves the playhead there.

Thumbnails come from the panel's Thumbnailer (decoded off the main thread, cached as PNGs); its delivery
arrives through the timers' queue on the main thread, where the PNG goes into a `bpy.utils.previews`
collection and the sidebar redraws. Blender bundles no PyAV or OpenCV, so when the Thumbnailer has no decoder
the media file itself goes to Blender's own preview maker (`previews.load(..., "MOVIE")`), which decodes it
in Blender's preview job, also off the main thread.
"""

from __future__ import annotations

from pathlib import Path

import bpy

from shotbridge.panel.frames import NO_DECODER

MAX_ROWS = 30  # rows drawn; a sidebar redraws often and each row is several widgets
MOVIES = {".mov", ".mp4", ".m4v", ".mkv", ".avi", ".mxf", ".webm"}
BADGE_ICONS = {"drift": "ERROR", "cdl": "COLOR", "takes": "DUPLICATE", "stale": "TIME", "ai": "LOCKED"}

_previews = None  # the bpy.utils.previews collection, made on first use and removed by release()
_thumbs: dict[str, tuple[str, str]] = {}  # media|frame -> (preview name, "") or ("", why there is no picture)


def _key(row) -> str:
    return f"{row.media}|{row.media_frame}" if row.media is not None else f"none|{row.name}"


def previews():
    global _previews
    if _previews is None:
        import bpy.utils.previews

        _previews = bpy.utils.previews.new()
    return _previews


def release() -> None:
    """Free the preview icons (the add-on's unregister)."""
    global _previews
    if _previews is not None:
        import bpy.utils.previews

        bpy.utils.previews.remove(_previews)
        _previews = None
    _thumbs.clear()


def forget_thumbnails() -> None:
    """Ask again on the next draw (the shots were refreshed: a file may have changed since)."""
    _thumbs.clear()


def thumbnail(vm, row) -> tuple[int, str]:
    """(icon id, placeholder reason) for `row`; the first call asks the Thumbnailer and returns (0, "")."""
    key = _key(row)
    found = _thumbs.get(key)
    if found is None:
        _thumbs[key] = ("", "")  # asked: one request per media and frame
        vm.thumbnailer().request(row.media, row.media_frame, lambda t, key=key: _arrived(key, t),
                                 reason=row.media_note)
        return 0, ""
    name, reason = found
    if name and _previews is not None and name in _previews:
        return _previews[name].icon_id, ""
    return 0, reason


def _arrived(key: str, thumb) -> None:
    """On the main thread (the timers' queue): the picture becomes a preview icon, and the sidebar redraws."""
    if key not in _thumbs:  # released or refreshed since it was asked for
        return
    pcoll = previews()
    media = Path(thumb.media) if thumb.media else None
    if thumb.ok:
        name, path, kind = thumb.key, thumb.path, "IMAGE"
    elif thumb.reason.startswith(NO_DECODER) and media is not None and media.is_file():
        name, path = f"blender|{thumb.key}", media  # Blender decodes it in its own preview job
        kind = "MOVIE" if media.suffix.lower() in MOVIES else "IMAGE"
    else:
        _thumbs[key] = ("", thumb.reason or "no picture")
        _redraw()
        return
    if name not in pcoll:
        pcoll.load(name, str(path), kind)
    _thumbs[key] = (name, "")
    _redraw()


def _redraw() -> None:
    from .ui import _redraw as redraw

    redraw()


def fill_from_sequencer(vm, scene=None) -> None:
    """Every strip of the scene's cut as a shot row (the adapter's own OTIO timeline)."""
    from .vse_otio import scene_to_timeline

    scene = scene or bpy.context.scene
    forget_thumbnails()
    vm.show_shots(scene_to_timeline(scene) if scene.sequence_editor is not None else None)


def selected_strips(scene=None) -> set[str]:
    """The sequencer's selection is the truth (Run sends it): rows show it pressed, whoever selected them."""
    from .timing import strips_all

    scene = scene or bpy.context.scene
    sed = scene.sequence_editor
    return {s.name for s in strips_all(sed) if s.select} if sed is not None else set()


def draw_shots(layout, vm) -> None:
    s = vm.state
    box = layout.box()
    head = box.row()
    head.label(text=f"Shots ({len(s.shots)})", icon="SEQUENCE")
    head.operator("shotbridge.shots_refresh", text="", icon="FILE_REFRESH")
    if not s.shots:
        box.label(text="No shots yet: press refresh to read the sequencer's strips")
        return
    selected = selected_strips()
    for row in s.shots[:MAX_ROWS]:
        icon, reason = thumbnail(vm, row)
        line = box.row(align=True)
        pressed = row.name in selected
        pick = (line.operator("shotbridge.select_shot", text=row.name, icon_value=icon, depress=pressed) if icon
                else line.operator("shotbridge.select_shot", text=row.name, icon="SEQUENCE", depress=pressed))
        pick.name = row.name
        rec_in, rec_out = row.record_tc
        line.label(text=f"{rec_in} - {rec_out}")
        if reason:  # a placeholder says why there is no picture, never a blank
            box.label(text=f"no thumbnail: {reason}"[:120], icon="IMAGE_DATA")
        badges = row.badges
        if badges:
            pills = box.row(align=True)
            for badge in badges:
                pill = pills.row(align=True)
                pill.alert = badge.kind == "drift" or "INVALID" in badge.text
                pill.label(text=badge.text, icon=BADGE_ICONS.get(badge.kind, "DOT"))
        for drift in row.drift:  # the drift strip's red ranges, as buttons that move the playhead
            jump = box.row()
            jump.alert = True
            seek = jump.operator("shotbridge.seek", text=drift.describe()[:120], icon="PLAY")
            seek.clip, seek.frame = row.name, drift.start
    if len(s.shots) > MAX_ROWS:
        box.label(text=f"{len(s.shots) - MAX_ROWS} more shots (select strips and refresh to narrow the list)")


class SHOTBRIDGE_OT_shots_refresh(bpy.types.Operator):
    """Read the sequencer's strips into the Shots box"""

    bl_idname = "shotbridge.shots_refresh"
    bl_label = "Shots from the sequencer"

    def execute(self, context):
        from .ui import view_model

        fill_from_sequencer(view_model(), context.scene)
        return {"FINISHED"}


class SHOTBRIDGE_OT_select_shot(bpy.types.Operator):
    """Select this shot's strip (Shift: add it to the selection)"""

    bl_idname = "shotbridge.select_shot"
    bl_label = "Select shot"
    name: bpy.props.StringProperty()
    extend: bpy.props.BoolProperty(default=False)

    def invoke(self, context, event):
        self.extend = event.shift
        return self.execute(context)

    def execute(self, context):
        from .ui import view_model

        vm = view_model()
        shown = [r.name for r in vm.state.shots]
        chosen = [n for n in shown if n in selected_strips(context.scene)] if self.extend else []
        if self.name in chosen:
            chosen.remove(self.name)
        else:
            chosen.append(self.name)
        vm.select_shots(chosen)
        return {"FINISHED"}


class SHOTBRIDGE_OT_seek(bpy.types.Operator):
    """Move the playhead to this frame of the shot"""

    bl_idname = "shotbridge.seek"
    bl_label = "Go to frame"
    clip: bpy.props.StringProperty()
    frame: bpy.props.IntProperty()

    def execute(self, context):
        from .ui import view_model

        vm = view_model()
        vm.seek(self.clip, self.frame)
        if vm.state.message.startswith("No strip named"):
            self.report({"WARNING"}, vm.state.message)
            return {"CANCELLED"}
        return {"FINISHED"}


CLASSES = (SHOTBRIDGE_OT_shots_refresh, SHOTBRIDGE_OT_select_shot, SHOTBRIDGE_OT_seek)

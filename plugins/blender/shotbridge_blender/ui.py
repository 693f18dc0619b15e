"""Sidebar panels in the sequencer and the 3D viewport, drawing the shared panel view model."""

from __future__ import annotations

import bpy

from . import shots_ui, timers

_VM = None  # the PanelViewModel, made on first connect


def make_client():
    """A client from the add-on preferences; an empty token means the one in ShotBridge's config dir
    (~/.config/shotbridge/token), which is how the embedded backend hands it over."""
    from shotbridge.client import Client

    addon = bpy.context.preferences.addons.get(__package__)
    prefs = addon.preferences if addon is not None else None
    return Client((prefs.url or None) if prefs else None, (prefs.token or None) if prefs else None)


def view_model():
    global _VM
    if _VM is None:
        from shotbridge.panel.viewmodel import PanelViewModel

        from .host import BlenderHost

        _VM = PanelViewModel(make_client, dispatch=timers.dispatch, host=BlenderHost(), project="default")
        _VM.subscribe(lambda _topic: _redraw())
    return _VM


def _redraw() -> None:
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            area.tag_redraw()


class SHOTBRIDGE_OT_connect(bpy.types.Operator):
    bl_idname = "shotbridge.connect"
    bl_label = "Connect"

    def execute(self, context):
        from .shots_ui import fill_from_sequencer

        vm = view_model()
        if not vm.state.shots:
            fill_from_sequencer(vm, context.scene)
        vm.connect()
        return {"FINISHED"}


class SHOTBRIDGE_OT_run(bpy.types.Operator):
    bl_idname = "shotbridge.run"
    bl_label = "Run on selected strips"

    def execute(self, context):
        vm = view_model()
        vm.take_selection_from_host()
        if not vm.run():
            self.report({"WARNING"}, "; ".join(vm.state.errors.values()) or vm.state.message)
        return {"FINISHED"}


class SHOTBRIDGE_OT_cancel(bpy.types.Operator):
    bl_idname = "shotbridge.cancel"
    bl_label = "Cancel"
    job_id: bpy.props.StringProperty()

    def execute(self, context):
        view_model().cancel(self.job_id)
        return {"FINISHED"}


class SHOTBRIDGE_OT_retry(bpy.types.Operator):
    """Run a failed or canceled job again on the same shots (or follow a job the panel lost again)"""

    bl_idname = "shotbridge.retry"
    bl_label = "Retry"
    job_id: bpy.props.StringProperty()

    def execute(self, context):
        view_model().retry(self.job_id)
        return {"FINISHED"}


def _operation_items(self, context):
    vm = _VM
    return [(op.name, op.title, op.description) for op in (vm.state.operations if vm else [])] or [
        ("", "(connect first)", "")]


class SHOTBRIDGE_OT_pick_operation(bpy.types.Operator):
    bl_idname = "shotbridge.pick_operation"
    bl_label = "Operation"
    bl_property = "operation"
    operation: bpy.props.EnumProperty(items=_operation_items)

    def execute(self, context):
        if self.operation:
            view_model().select_operation(self.operation)
        return {"FINISHED"}


class SHOTBRIDGE_OT_set_param(bpy.types.Operator):
    """Set one parameter of the selected operation (typed as text, checked by the form's rules)."""

    bl_idname = "shotbridge.set_param"
    bl_label = "Set parameter"
    name: bpy.props.StringProperty()
    value: bpy.props.StringProperty(name="Value")

    def invoke(self, context, event):
        current = view_model().state.values.get(self.name)
        self.value = "" if current is None else str(current)
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        from shotbridge.panel.form import coerce

        vm = view_model()
        field = next((f for f in vm.state.fields if f.name == self.name), None)
        if field is None:
            self.report({"ERROR"}, f"No parameter {self.name}")
            return {"CANCELLED"}
        value, error = coerce(field, self.value)
        if error:
            self.report({"ERROR"}, error)
            return {"CANCELLED"}
        vm.set_value(self.name, value)
        return {"FINISHED"}


class SHOTBRIDGE_OT_mask_from_strip(bpy.types.Operator):
    """The selected strip's Mask (a Mask modifier, or a Mask strip over it) rendered as the operation's mask."""

    bl_idname = "shotbridge.mask_from_strip"
    bl_label = "Mask from strip"
    name: bpy.props.StringProperty(default="mask")

    def execute(self, context):
        vm = view_model()
        vm.take_selection_from_host()
        vm.mask_from_host(self.name)
        if self.name in vm.state.errors:
            self.report({"WARNING"}, vm.state.errors[self.name])
            return {"CANCELLED"}
        return {"FINISHED"}


class SHOTBRIDGE_OT_take(bpy.types.Operator):
    bl_idname = "shotbridge.take"
    bl_label = "Accept or reject a take"
    index: bpy.props.IntProperty()
    accept: bpy.props.BoolProperty(default=True)

    def execute(self, context):
        vm = view_model()
        take = vm.state.takes[self.index]
        if self.accept and not vm.accept_take(take):  # a take whose files are missing: say why, in Blender's way
            self.report({"ERROR"}, vm.state.message)
            return {"CANCELLED"}
        if not self.accept:
            vm.reject_take(take)
        return {"FINISHED"}


_SHOW_REJECTED = [False]  # the sidebar's toggle (UI state, not saved in the .blend)


class SHOTBRIDGE_OT_show_rejected(bpy.types.Operator):
    bl_idname = "shotbridge.show_rejected"
    bl_label = "Show or hide rejected takes"

    def execute(self, context):
        _SHOW_REJECTED[0] = not _SHOW_REJECTED[0]
        return {"FINISHED"}


class SHOTBRIDGE_OT_check_render(bpy.types.Operator):
    bl_idname = "shotbridge.check_render"
    bl_label = "Check render against the bible"

    def execute(self, context):
        from .render_inputs import render_timeline

        vm = view_model()
        vm.set_selection(render_timeline(context.scene))
        if any(op.name == "check_consistency" for op in vm.state.operations):
            vm.select_operation("check_consistency")
            vm.run()
        return {"FINISHED"}


def draw_panel(layout) -> None:
    from shotbridge.panel.jobs import row_for

    from .shots_ui import draw_shots
    from .takes_ui import draw_take

    vm = _VM
    if vm is None:
        layout.label(text="Not connected")
        layout.operator("shotbridge.connect")
        layout.operator("shotbridge.shots_refresh", icon="SEQUENCE")  # shots need no backend
        return
    s = vm.state
    layout.label(text=s.connection_text, icon="LINKED" if s.connection == "connected" else "UNLINKED")
    draw_shots(layout, vm)
    if s.connection != "connected":
        layout.operator("shotbridge.connect")
        return
    if s.operation:
        layout.operator_menu_enum("shotbridge.pick_operation", "operation", text=s.operation.title)
        for f in s.fields:
            row = layout.row()
            row.label(text=f.title + (" *" if f.required else ""))
            if f.from_selection:
                row.label(text="selected strips")
            else:
                value = s.values.get(f.name)
                row.operator("shotbridge.set_param", text="" if value is None else str(value)).name = f.name
                if f.name == "mask":
                    row.operator("shotbridge.mask_from_strip", text="", icon="MOD_MASK").name = f.name
    layout.operator("shotbridge.run")
    for job in list(s.jobs.values())[:8]:
        row = layout.row()
        row.label(text=f"{job.operation}: {job.status.value} {job.progress:.0%}")
        if not job.status.terminal:
            row.operator("shotbridge.cancel", text="", icon="CANCEL").job_id = job.id
        shown = row_for(job, s.job_shots.get(job.id), s.job_lost.get(job.id, ""))
        if shown.can_retry:
            row.operator("shotbridge.retry", text="", icon="FILE_REFRESH").job_id = job.id
        if shown.error:  # why it failed, where the artist looks (a sidebar label holds one line)
            layout.label(text=shown.error.splitlines()[0][:120], icon="ERROR")
    layout.operator("shotbridge.check_render")
    hidden = sum(t.state == "rejected" for t in s.takes)
    shown = [(i, t) for i, t in enumerate(s.takes) if t.state != "rejected" or _SHOW_REJECTED[0]]
    for i, take in shown[:8]:
        draw_take(layout, vm, i, take)
    if hidden:  # rejected takes are hidden until asked for; accepting one brings it back
        layout.operator("shotbridge.show_rejected",
                        text=("Hide" if _SHOW_REJECTED[0] else "Show") + f" {hidden} rejected take(s)")
    if s.message:
        layout.label(text=s.message)


class SHOTBRIDGE_PT_sequencer(bpy.types.Panel):
    bl_label = "ShotBridge"
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "ShotBridge"

    def draw(self, context):
        draw_panel(self.layout)


class SHOTBRIDGE_PT_viewport(bpy.types.Panel):
    bl_label = "ShotBridge"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "ShotBridge"

    def draw(self, context):
        draw_panel(self.layout)


CLASSES = (SHOTBRIDGE_OT_connect, SHOTBRIDGE_OT_run, SHOTBRIDGE_OT_cancel, SHOTBRIDGE_OT_retry,
           SHOTBRIDGE_OT_pick_operation, SHOTBRIDGE_OT_set_param, SHOTBRIDGE_OT_mask_from_strip,
           SHOTBRIDGE_OT_take, SHOTBRIDGE_OT_show_rejected,
           SHOTBRIDGE_OT_check_render, *shots_ui.CLASSES, SHOTBRIDGE_PT_sequencer,
           SHOTBRIDGE_PT_viewport)

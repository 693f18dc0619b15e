from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import bpy
import opentimelineio as otio
import pytest

from shotbridge.exchange.cdl import CDL, set_cdl
from shotbridge.exchange.markers import add_finding
from shotbridge.exchange.takes import add_take
from shotbridge_blender import apply, grade, timers, timing
from shotbridge_blender.grade import get_cdl as get_strip_cdl
from shotbridge_blender.timing import new_color, strips
from shotbridge_blender.vse_otio import DEFAULT, scene_to_timeline

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "blender"


def grey_strip(scene, value=0.5):
    return new_color(scene.sequence_editor_create(), "sh010", 1, 1, 48, (value, value, value))


def render_pixel(scene) -> tuple[float, float, float]:
    """The first pixel of the sequencer's render, as the 8-bit code values written to a PNG (display space)."""
    scene.render.resolution_x = scene.render.resolution_y = 8
    scene.render.resolution_percentage = 100
    scene.frame_start = scene.frame_end = 1
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = tempfile.mkdtemp() + "/f.png"
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(scene.render.filepath)
    image.colorspace_settings.name = "Non-Color"  # the 8-bit code values as written
    pixel = tuple(image.pixels[:3])
    bpy.data.images.remove(image)
    return pixel


def asc_cdl(value: float, cdl: CDL) -> tuple[float, ...]:
    """ASC CDL v1.2 SOP on a grey input (saturation 1)."""
    return tuple(max(value * s + o, 0.0) ** p for s, o, p in zip(cdl.slope, cdl.offset, cdl.power, strict=True))


@pytest.mark.parametrize("cdl", [
    CDL(),
    CDL(offset=(0.1, 0.1, 0.1)),
    CDL(slope=(1.2, 1.0, 0.8)),
    CDL(power=(0.8, 1.0, 1.25)),
    CDL(slope=(1.2, 1.0, 0.8), offset=(0.1, 0.0, -0.05), power=(0.8, 1.0, 1.25)),
    CDL(offset=(-0.6, 0.0, 0.0)),
], ids=["identity", "offset", "slope", "power", "sop", "clamped"])
def test_cdl_renders_as_the_asc_formula_says(scene, cdl):
    """Rendered on the real build: Blender's offset is the CDL offset + 1 and, with invert_power set, its power is
    the CDL power (without it Blender raises to 1 / power). Graded in the sequencer's sRGB space."""
    strip = grey_strip(scene)
    scene.view_settings.view_transform = "Standard"
    modifier = apply.set_cdl(strip, cdl, scene)  # must not crash bpy 5.0.1 (see the subprocess test below)
    balance = modifier.color_balance
    assert balance.correction_method == "OFFSET_POWER_SLOPE"
    assert tuple(round(v, 4) for v in balance.offset) == tuple(round(o + 1, 4) for o in cdl.offset)
    grey = round(0.5 * 255) / 255  # the colour strip's 0.5 reaches the modifier as an 8-bit code value
    expected = asc_cdl(grey, cdl)
    assert render_pixel(scene) == pytest.approx(expected, abs=0.6 / 255)
    assert get_strip_cdl(strip) == cdl, "the modifier reads back as the same CDL"
    apply.set_cdl(strip, CDL(), scene)
    assert len(strip.modifiers) == 1, "re-applying reuses the modifier"


def test_saturation_is_kept_though_the_vse_cannot_show_it(scene):
    strip = grey_strip(scene)
    warnings = grade.set_cdl(strip, CDL(slope=(1.1, 1.0, 0.9), saturation=0.8))
    assert any("saturation 0.8" in w for w in warnings)
    assert get_strip_cdl(strip).saturation == 0.8
    clip = scene_to_timeline(scene).find_clips()[0]
    assert clip.metadata["cdl"]["asc_sat"] == 0.8 and list(clip.metadata["cdl"]["asc_sop"]["slope"]) == [1.1, 1.0, 0.9]
    assert "blender" in clip.metadata and "shotbridge_cdl_saturation" not in clip.metadata["blender"]["props"]
    assert grade.remove_cdl(strip) and get_strip_cdl(strip) is None


CRASH = """
import sys, bpy
sys.path.insert(0, sys.argv[2])
bpy.ops.wm.read_factory_settings(use_empty=True)
from shotbridge_blender.timing import new_color
scene = bpy.context.scene
strip = new_color(scene.sequence_editor_create(), "a", 1, 1, 9)
workspace = bpy.context.workspace
if sys.argv[1] == "other" and hasattr(workspace, "sequencer_scene"):  # no sequence editor there crashes too
    workspace.sequencer_scene = bpy.data.scenes.new("other")
before = getattr(workspace, "sequencer_scene", None)
if sys.argv[1] == "raw":
    strip.modifiers.new(name="m", type="COLOR_BALANCE")
else:
    from shotbridge.exchange.cdl import CDL
    from shotbridge_blender import grade
    grade.set_cdl(strip, CDL(offset=(0.1, 0.1, 0.1)))
    grade.remove_cdl(strip)  # modifiers.remove crashes the same way
    assert getattr(workspace, "sequencer_scene", None) == before, "the user's setting is restored"
print("SURVIVED", flush=True)
"""


@pytest.mark.parametrize("case", ["raw", "none", "other"])
def test_sequencer_scene_guard_keeps_bpy_alive(case):
    """bpy 5.0.1 in module mode segfaults in strip.modifiers.new/remove while the context workspace has no
    sequencer scene (or one without a sequence editor); run in a subprocess so a crash cannot take pytest down."""
    done = subprocess.run([sys.executable, "-c", CRASH, case, str(PLUGIN)], capture_output=True, text=True,
                          timeout=120)
    if case == "raw":
        if bpy.app.version[:3] == (5, 0, 1):
            assert done.returncode < 0 and "SURVIVED" not in done.stdout, "the crash this guard is for"
        return
    assert done.returncode == 0 and "SURVIVED" in done.stdout, done.stdout[-1500:] + done.stderr[-1500:]


def result_timeline(scene):
    grey_strip(scene)
    timeline = scene_to_timeline(scene)
    clip = timeline.find_clips()[0]
    set_cdl(clip, CDL(slope=(1.2, 1.0, 0.8)))
    add_finding(clip, otio.opentime.TimeRange(otio.opentime.RationalTime(30, 24), otio.opentime.RationalTime(18, 24)),
                {"kind": "drift", "expected": "obama", "found": "kit_harington", "frames": [30, 47]})
    add_take(clip, otio.schema.GeneratorReference(generator_kind="SolidColor", parameters={"color": [1, 0, 0]}),
             "gen_v001")
    return timeline


def test_results_land_through_the_timer_queue(scene):
    """A worker thread queues the result; the registered bpy.app.timers callback applies it. Module-mode bpy has
    no event loop, so timers never fire on their own: the test calls the registered function as Blender's loop
    would (it returns the interval to be called again, as a persistent timer does)."""
    timeline = result_timeline(scene)
    touched_by = []

    def apply_result(tl):
        touched_by.append(threading.current_thread().name)
        apply.apply_timeline(tl, scene)

    worker = threading.Thread(target=timers.dispatch, args=(apply_result, timeline), name="shotbridge-watch")
    worker.start()
    worker.join()
    assert "drift" not in " ".join(m.name for m in scene.timeline_markers), "nothing applied off the main thread"
    timers.register()
    assert bpy.app.timers.is_registered(timers.drain)
    assert timers.drain() == timers.INTERVAL
    timers.unregister()
    assert touched_by == [threading.main_thread().name]
    markers = [(m.name, m.frame) for m in scene.timeline_markers]
    assert markers == [("drift: obama (kit_harington)", 31)]
    found = strips(scene.sequence_editor)
    assert round(found["sh010"].modifiers["ShotBridge CDL"].color_balance.slope[0], 5) == 1.2
    take = found["sh010 gen_v001"]
    assert take.channel == 2 and take.mute and timing.get(take, "frame_final_start") == 1


def test_accepting_a_take_swaps_it_into_the_source_place_and_exports_as_the_active_take(scene):
    apply.apply_timeline(result_timeline(scene), scene)
    found = strips(scene.sequence_editor)
    source, take = found["sh010"], found["sh010 gen_v001"]
    apply.accept_take(scene, "sh010", "sh010 gen_v001")
    assert (take.channel, take.mute) == (1, False) and (source.channel, source.mute) == (2, True)
    (clip,) = scene_to_timeline(scene).find_clips()  # the take folds back into its clip
    assert clip.name == "sh010" and clip.enabled and clip.active_media_reference_key == "gen_v001"
    assert set(clip.media_references()) == {DEFAULT, "gen_v001"}
    assert clip.metadata["cdl"]["asc_sop"]["slope"][0] == pytest.approx(1.2)
    apply.set_playing(scene.sequence_editor, source, DEFAULT)  # rejecting swaps back
    assert (source.channel, source.mute) == (1, False) and (take.channel, take.mute) == (2, True)
    assert scene_to_timeline(scene).find_clips()[0].active_media_reference_key == DEFAULT


def test_token_lives_in_preferences_never_in_the_blend(scene, tmp_path, monkeypatch):
    import addon_utils

    from shotbridge_blender import ui

    monkeypatch.syspath_prepend(str(PLUGIN))
    addon_utils.enable("shotbridge_blender", default_set=True, handle_error=None)
    try:
        prefs = bpy.context.preferences.addons["shotbridge_blender"].preferences
        assert prefs.bl_rna.properties["token"].subtype == "PASSWORD"
        assert hasattr(bpy.types, "SHOTBRIDGE_PT_sequencer") and bpy.app.timers.is_registered(timers.drain)
        (tmp_path / "user-config").mkdir(exist_ok=True)
        (tmp_path / "user-config" / "token").write_text("sbt_FROM_CONFIG_DIR\n")
        assert ui.make_client().token == "sbt_FROM_CONFIG_DIR", "an empty preference reads the config dir"
        prefs.token, prefs.url = "sbt_SECRET_7f3a9c", "http://backend.test:8765"
        client = ui.make_client()
        assert (client.token, client.url) == ("sbt_SECRET_7f3a9c", "http://backend.test:8765")
        scene["shotbridge_probe"] = "probe_7f3a9c"  # proves the search would see a string stored in the file
        blend = tmp_path / "shot.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blend), compress=False)
        data = blend.read_bytes()
        assert b"probe_7f3a9c" in data and b"sbt_SECRET_7f3a9c" not in data and b"sbt_FROM_CONFIG" not in data
    finally:
        addon_utils.disable("shotbridge_blender", default_set=True)


class Layout:
    """Records what a panel draws, and checks each call against the real registered operators and enums.

    Rows and boxes are child layouts sharing the records; each drawn item notes whether it is enabled and
    alerted (a child inherits its parent's `enabled = False` and `alert = True`, as in Blender)."""

    def __init__(self, parent: Layout | None = None):
        self.labels: list[str] = parent.labels if parent else []
        self.operators: list[str] = parent.operators if parent else []
        self.items: list[dict] = parent.items if parent else []  # every label and button, in order
        self.parent = parent
        self.enabled = True
        self.alert = False

    def _state(self) -> tuple[bool, bool]:
        enabled, alert, node = True, False, self
        while node is not None:
            enabled, alert, node = enabled and node.enabled, alert or node.alert, node.parent
        return enabled, alert

    def label(self, text="", icon="NONE", icon_value=0):
        assert icon in ICONS, icon
        self.labels.append(text)
        enabled, alert = self._state()
        self.items.append({"label": text, "icon": icon, "enabled": enabled, "alert": alert})

    def operator(self, idname, text="", icon="NONE", icon_value=0, depress=False):
        assert icon in ICONS, icon
        group, name = idname.split(".")
        rna = getattr(getattr(bpy.ops, group), name).get_rna_type()  # raises if not registered
        self.operators.append(idname)
        props = {p.identifier for p in rna.properties}
        enabled, alert = self._state()
        item = {"operator": idname, "text": text, "icon": icon, "icon_value": icon_value, "depress": depress,
                "enabled": enabled, "alert": alert, "props": {}}
        self.items.append(item)

        class Props:
            def __setattr__(self, key, value):
                assert key in props, f"{idname} has no property {key}"
                item["props"][key] = value

        return Props()

    def operator_menu_enum(self, idname, prop, text=""):
        self.operator(idname).__setattr__(prop, None)

    def prop(self, data, name, **_):
        assert name in data.bl_rna.properties, name

    def row(self, align=False):
        return Layout(self)

    box = column = row


ICONS = set(bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys())


def test_panels_register_and_draw_every_state(scene):
    import shotbridge_blender
    from shotbridge.models import Job, JobStatus
    from shotbridge.panel.viewmodel import PanelViewModel, Take
    from shotbridge_blender import ui

    shotbridge_blender.register()
    try:
        for panel in (bpy.types.SHOTBRIDGE_PT_sequencer, bpy.types.SHOTBRIDGE_PT_viewport):
            assert panel.bl_category == "ShotBridge" and panel.bl_region_type == "UI"
        ui._VM = None  # before any connect (an earlier test's operators may have made one)
        layout = Layout()
        ui.draw_panel(layout)
        assert layout.labels == ["Not connected"]
        assert layout.operators == ["shotbridge.connect", "shotbridge.shots_refresh"]
        vm = ui._VM = PanelViewModel(lambda: None)
        vm.state.connection, vm.state.connection_text = "connected", "Connected to 127.0.0.1"
        vm.state.operations = _ops()
        vm.select_operation("detect_shots")
        vm.state.jobs = {j.id: j for j in (
            Job(id="j1", project_id="p", operation="detect_shots", params={}, provider="local",
                status=JobStatus.running, progress=0.4, created_at="2026-01-01T00:00:00Z"),
            Job(id="j2", project_id="p", operation="echo", params={}, provider="local",
                status=JobStatus.succeeded, progress=1.0, created_at="2026-01-01T00:00:00Z"))}
        vm.state.takes.append(Take("sh010", "gen_v001", "/gen/v001.mov"))
        vm.state.message = "2 jobs"
        layout = Layout()
        ui.draw_panel(layout)
        assert "detect_shots: running 40%" in layout.labels and "echo: succeeded 100%" in layout.labels
        assert layout.operators.count("shotbridge.cancel") == 1, "only a running job can be cancelled"
        assert {"shotbridge.pick_operation", "shotbridge.set_param", "shotbridge.run", "shotbridge.take"} <= set(
            layout.operators)
        assert "sh010: gen_v001 [pending] MISSING" in layout.labels and layout.labels[-1] == "2 jobs"
        accept = next(i for i in layout.items if i.get("props") == {"index": 0, "accept": True})
        assert not accept.get("enabled"), "a take whose file is not on disk cannot be accepted from the sidebar"
    finally:
        ui._VM = None
        shotbridge_blender.unregister()


def test_sidebar_accept_swaps_the_take_in(scene, movie):
    import shotbridge_blender
    from shotbridge.panel.viewmodel import PanelViewModel, Take
    from shotbridge_blender import ui
    from shotbridge_blender.host import BlenderHost

    grey_strip(scene)
    shotbridge_blender.register()
    try:
        ui._VM = PanelViewModel(lambda: None, host=BlenderHost())
        ui._VM.take_selection_from_host()
        take = Take("sh010", "gen_v001", str(movie))  # accepting needs the take's file on disk
        ui._VM.state.takes.append(take)
        assert bpy.ops.shotbridge.take(index=0, accept=True) == {"FINISHED"}
        found = strips(scene.sequence_editor)
        assert take.state == "accepted" and not found["sh010 gen_v001"].mute and found["sh010"].mute
        assert found["sh010 gen_v001"].channel == 1, "the take plays in the source's place"
        assert bpy.ops.shotbridge.take(index=0, accept=False) == {"FINISHED"}
        assert take.state == "rejected" and found["sh010 gen_v001"].mute and not found["sh010"].mute
        assert found["sh010"].channel == 1
        gone = Take("sh010", "gen_v002", "/gen/missing_v002.mov")
        ui._VM.state.takes.append(gone)
        with pytest.raises(RuntimeError, match="cannot be accepted"):  # the ERROR report (raised in module bpy)
            bpy.ops.shotbridge.take(index=1, accept=True)
        assert gone.state == "pending" and "missing_v002.mov is not on disk" in ui._VM.state.message
    finally:
        ui._VM = None
        shotbridge_blender.unregister()


def test_sidebar_picks_operations_and_sets_parameters(scene):
    import shotbridge_blender
    from shotbridge.panel.viewmodel import PanelViewModel
    from shotbridge_blender import ui

    shotbridge_blender.register()
    try:
        vm = ui._VM = PanelViewModel(lambda: None)
        vm.state.operations = _ops()
        vm.select_operation("echo")
        assert bpy.ops.shotbridge.pick_operation(operation="detect_shots") == {"FINISHED"}
        assert vm.state.operation.name == "detect_shots"
        assert bpy.ops.shotbridge.set_param("EXEC_DEFAULT", name="threshold", value="40") == {"FINISHED"}
        assert vm.state.values["threshold"] == 40.0
        import pytest

        with pytest.raises(RuntimeError, match="Threshold must be at most 100"):  # shown to the artist
            bpy.ops.shotbridge.set_param("EXEC_DEFAULT", name="threshold", value="400")
        assert vm.state.values["threshold"] == 40.0, "a value out of range is refused, the old one kept"
    finally:
        ui._VM = None
        shotbridge_blender.unregister()


def _ops():
    from shotbridge.models import Operation

    echo = {"properties": {"message": {"type": "string", "default": "hello"},
                           "seconds": {"type": "number", "minimum": 0, "maximum": 600, "default": 0}}}
    shots = {"properties": {"media": {"type": "string", "format": "asset"},
                            "threshold": {"type": "number", "minimum": 1, "maximum": 100, "default": 27}},
             "required": ["media"]}
    return [Operation(name="echo", title="Echo", description="", params_schema=echo, result_schema={}, providers=["local"]),
            Operation(name="detect_shots", title="Detect shots", description="", params_schema=shots, result_schema={},
                      providers=["local"])]


def test_selection_is_the_selected_strips(scene):
    from shotbridge_blender.host import BlenderHost

    sed = scene.sequence_editor_create()
    a, b = new_color(sed, "a", 1, 1, 10), new_color(sed, "b", 1, 11, 10)
    a.select, b.select = False, True
    timeline = BlenderHost().selection()  # held: OTIO children do not keep their parents alive
    clips = timeline.find_clips()
    assert [c.name for c in clips] == ["b"]
    assert clips[0].range_in_parent().start_time.value == 10, "the cut keeps its timing"

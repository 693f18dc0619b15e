"""A finished job tells the artist with a Blender report (status bar, Info editor; stdout in background)."""

from __future__ import annotations

from datetime import datetime, timezone

import bpy
import pytest

from shotbridge.models import Job, JobStatus, Problem
from shotbridge.panel.viewmodel import PanelViewModel
from shotbridge_blender import notify
from shotbridge_blender.host import BlenderHost


@pytest.fixture
def registered():
    for cls in notify.CLASSES:
        bpy.utils.register_class(cls)
    yield
    for cls in reversed(notify.CLASSES):
        bpy.utils.unregister_class(cls)


def job(status: JobStatus, **extra) -> Job:
    return Job(id="j1", project_id="p", operation="detect_shots", params={}, provider="local", status=status,
               created_at=datetime.now(timezone.utc), **extra)


def test_each_level_is_a_blender_report(registered, capfd):
    host = BlenderHost()
    host.notify("ShotBridge: detect_shots finished.", "info")
    host.notify("ShotBridge: inpaint was canceled.", "warning")
    host.notify("ShotBridge: inpaint failed: no provider", "error")  # reported, and not raised at the panel
    out = capfd.readouterr().out
    assert "Info: ShotBridge: detect_shots finished." in out
    assert "Warning: ShotBridge: inpaint was canceled." in out
    assert "Error: ShotBridge: inpaint failed: no provider" in out


def test_a_job_that_fails_is_reported_once_with_its_shots(registered, capfd):
    vm = PanelViewModel(lambda: None, host=BlenderHost(), project="p")
    vm.state.jobs["j1"] = job(JobStatus.running, progress=0.4)
    vm.state.job_shots["j1"] = ["sh010", "sh020"]
    failed = job(JobStatus.failed, error=Problem(title="No provider allowed", status=409,
                                                  detail="The project policy allows no cloud provider."))
    vm._on_event(failed)
    vm._on_event(failed)  # the same terminal state again (a poll after the stream): told once
    out = capfd.readouterr().out
    assert out.count("Error: ShotBridge: detect_shots (sh010, sh020) failed: No provider allowed") == 1
    assert vm.state.message.startswith("ShotBridge: detect_shots (sh010, sh020) failed")
    vm.close()


def test_the_sidebar_offers_retry_for_ended_jobs_and_says_why_one_failed(scene):
    from test_results import Layout

    import shotbridge_blender
    from shotbridge_blender import ui

    shotbridge_blender.register()
    try:
        vm = ui._VM = PanelViewModel(lambda: None, host=BlenderHost())
        vm.state.connection, vm.state.connection_text = "connected", "Connected to 127.0.0.1"
        failed = job(JobStatus.failed, error=Problem(title="No provider allowed", status=409,
                                                     detail="The project policy allows no cloud provider."))
        canceled = job(JobStatus.canceled).model_copy(update={"id": "j2"})
        running = job(JobStatus.running).model_copy(update={"id": "j3"})
        vm.state.jobs = {j.id: j for j in (failed, canceled, running)}
        layout = Layout()
        ui.draw_panel(layout)
        assert layout.operators.count("shotbridge.retry") == 2 and layout.operators.count("shotbridge.cancel") == 1
        assert "No provider allowed" in layout.labels, "the failure's first line under its job"
        assert bpy.ops.shotbridge.retry(job_id="j1") == {"FINISHED"}
        assert vm.state.message.startswith("Not connected"), "no client yet: said, not raised"
        vm.close()
    finally:
        ui._VM = None
        shotbridge_blender.unregister()

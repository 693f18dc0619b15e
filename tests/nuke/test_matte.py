"""A Roto/RotoPaint's matte as the panel's mask: a temporary Write rendered on the main thread, then deleted;
the PNG it gives is checked against the shot like any mask."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the painter and the fakes' PNGs need OpenCV and Qt: the main venv runs these, the core-only 3.10 venv cannot
pytest.importorskip("cv2")
pytest.importorskip("pytestqt")

# 1920x1080, the fake's default format
FACE_1080 = Path(__file__).resolve().parents[2].parent / "shared" / "faces" / "obama" / "obama-1080p.jpg"


def test_the_selected_roto_matte_for_the_shots_first_frame(nuke, tmp_path):
    from shotbridge_nuke.matte import render_matte

    nuke.add("Read", "Read1", file=str(FACE_1080), first=1009, last=1020, selected=True)
    roto = nuke.add("RotoPaint", "RotoPaint1", selected=True)
    nuke.set_shape(roto, (800, 300, 200, 100))
    out = render_matte("Read1", tmp_path)
    assert out.name == "RotoPaint1_Read1.1009.png" and nuke.executed[0][1:] == (1009, 1009)
    assert not nuke.allNodes("Write"), "the temporary Write is deleted"
    import cv2

    pixels = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert pixels.shape == (1080, 1920, 4)
    assert pixels[350, 900, 3] == 255 and pixels[100, 100, 3] == 0


def test_no_roto_selected_says_what_to_select(nuke):
    from shotbridge_nuke.matte import render_matte

    nuke.add("Read", "Read1", file=str(FACE_1080), selected=True)
    with pytest.raises(ValueError, match="Select a Roto or RotoPaint"):
        render_matte("Read1")


def test_from_host_in_nuke_sets_the_mask(nuke, tmp_path, qapp):
    from shotbridge.panel.qt_mask import QtImaging
    from shotbridge.panel.viewmodel import PanelViewModel
    from shotbridge_nuke.host import NukeHost

    nuke.add("Read", "Read1", file=str(FACE_1080), first=1, last=10, origfirst=1, origlast=10, selected=True)
    roto = nuke.add("Roto", "Roto1", selected=True)
    nuke.set_shape(roto, (100, 100, 300, 300))
    vm = PanelViewModel(lambda: None, host=NukeHost(), cache_dir=tmp_path)
    vm.mask_imaging = QtImaging()
    done = []
    vm.subscribe(done.append)
    vm.take_selection_from_host()
    assert vm.mask_from_host("mask") is None
    import time

    deadline = time.monotonic() + 10
    while "mask" not in vm.state.errors and not str(vm.state.values.get("mask", "")).endswith(".grey.png"):
        assert time.monotonic() < deadline, "the matte was not checked in time"
        time.sleep(0.02)
    assert "mask" not in vm.state.errors, vm.state.errors
    from qtpy import QtGui

    grey = QtGui.QImage(vm.state.values["mask"])
    assert grey.format() == QtGui.QImage.Format_Grayscale8 and (grey.width(), grey.height()) == (1920, 1080)
    assert QtGui.qGray(grey.pixel(200, 200)) == 255 and QtGui.qGray(grey.pixel(1000, 800)) == 0
    vm.close()


def test_paint_on_an_exr_plate_asks_nuke_for_the_frame(nuke, tmp_path, qapp):
    """The panel does not decode EXR: Paint... shows the shot's first frame as Nuke renders it."""
    import shutil

    import numpy as np

    from shotbridge.panel.viewmodel import PanelViewModel
    from shotbridge_nuke.host import NukeHost

    plates = tmp_path / "plates"
    plates.mkdir()
    for n in (1001, 1002):  # JPEG bytes under EXR names: the fake decodes by content, the panel goes by name
        shutil.copyfile(FACE_1080, plates / f"sh010.{n}.exr")
    nuke.add("Read", "Read1", file=str(plates / "sh010.####.exr"), first=1001, last=1002, origfirst=1001,
             origlast=1002, selected=True)
    vm = PanelViewModel(lambda: None, host=NukeHost(), cache_dir=tmp_path)
    vm.take_selection_from_host()
    source = vm.mask_paint_source()
    import cv2

    assert source.name == "Read1_still.1001.png" and nuke.executed[-1][1:] == (1001, 1001)
    assert cv2.imread(str(source)).shape == (1080, 1920, 3) and not nuke.allNodes("Write")

    # the mask is checked against the Read's format (the panel cannot read the EXR for its size)
    from shotbridge.panel.mask import prepare
    from shotbridge.panel.qt_mask import QtImaging

    half = tmp_path / "half.png"
    pixels = np.zeros((540, 960), np.uint8)
    pixels[100:200, 100:200] = 255
    cv2.imwrite(str(half), pixels)
    frames = [vm.mask_frame()]
    assert frames[0].size == (1920, 1080)
    out, note = prepare(half, frames, QtImaging(), tmp_path / "out")
    assert "960x540" in note and cv2.imread(str(out), cv2.IMREAD_GRAYSCALE).shape == (1080, 1920)
    vm.close()

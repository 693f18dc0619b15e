"""The mask painter and mask checks: strokes painted with real mouse events give white where they went, eraser,
invert, clear and undo change the mask, a wrong-size mask is scaled with a note or refused naming both sizes,
and a painted mask goes up as the inpaint job's mask through a real embedded backend."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("qtpy")

import opentimelineio as otio  # noqa: E402
from qtpy import QtCore, QtGui, QtWidgets  # noqa: E402
from qtpy.QtTest import QTest  # noqa: E402

from shotbridge.models import JobStatus  # noqa: E402
from shotbridge.panel.host import FileHost  # noqa: E402
from shotbridge.panel.mask import MaskError, ShotFrame, fit, prepare, shot_frame  # noqa: E402
from shotbridge.panel.qt_mask import MaskPainter, QtImaging, decode_frame, is_blank  # noqa: E402
from shotbridge.panel.qt_view import ShotBridgePanel  # noqa: E402
from shotbridge.panel.viewmodel import PanelViewModel  # noqa: E402

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
FACE = FACES / "obama" / "obama-720p.jpg"  # 1280x720
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "panel-screenshots"


def shoot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


def grey_image(path: Path, size: tuple[int, int], box: tuple[int, int, int, int] | None = None) -> Path:
    image = QtGui.QImage(size[0], size[1], QtGui.QImage.Format_Grayscale8)
    image.fill(0)
    if box is not None:
        painter = QtGui.QPainter(image)
        painter.fillRect(QtCore.QRect(*box), QtGui.QColor(255, 255, 255))
        painter.end()
    image.save(str(path))
    return path


def face_movie(path: Path, frames: int = 12, size: tuple[int, int] = (640, 360)) -> Path:
    """A real movie of the face photo drifting right one pixel a frame (cv2, mp4v)."""
    import cv2
    import numpy as np

    still = cv2.resize(cv2.imread(str(FACE)), size)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24, size)
    for i in range(frames):
        writer.write(np.roll(still, i, axis=1))
    writer.release()
    return path


def timeline_of(media: Path, frames: int = 12) -> otio.schema.Timeline:
    rate = 24
    ref = otio.schema.ExternalReference(str(media), available_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(frames, rate)))
    clip = otio.schema.Clip(name="sh010", media_reference=ref, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(2, rate), otio.opentime.RationalTime(frames - 2, rate)))
    cut = otio.schema.Timeline(name="masks")
    cut.tracks.append(otio.schema.Track(name="V1"))
    cut.tracks[0].append(clip)
    return cut


# -- sizes ----------------------------------------------------------------------------------------------

def test_fit_same_size_scaled_same_aspect_refused_other_aspect():
    assert fit((1920, 1080), (1920, 1080)).scale is False
    scaled = fit((1280, 720), (1920, 1080))
    assert scaled.scale and "1280x720" in scaled.note and "1920x1080" in scaled.note
    assert fit((853, 480), (1920, 1080)).scale  # 0.06% off the aspect: scaled
    with pytest.raises(MaskError) as refused:
        fit((2048, 1080), (1920, 1080))  # 6.7% wider
    assert "2048x1080" in str(refused.value) and "1920x1080" in str(refused.value)
    assert "Paint" in str(refused.value)  # says what to do


def test_prepare_scales_greys_and_refuses(tmp_path, qapp):
    imaging = QtImaging()
    shot = ShotFrame("sh010", FACE, 0, False)  # 1280x720
    small = grey_image(tmp_path / "small.png", (640, 360), (320, 0, 320, 360))
    out, note = prepare(small, shot, imaging, tmp_path / "out")
    sent = QtGui.QImage(str(out))
    assert (sent.width(), sent.height()) == (1280, 720) and "scaled" in note
    assert sent.format() == QtGui.QImage.Format_Grayscale8
    assert QtGui.qGray(sent.pixel(1000, 400)) == 255 and QtGui.qGray(sent.pixel(200, 400)) == 0

    square = grey_image(tmp_path / "square.png", (720, 720), (0, 0, 100, 100))
    with pytest.raises(MaskError, match=r"720x720.*1280x720"):
        prepare(square, shot, imaging, tmp_path / "out")
    black = grey_image(tmp_path / "black.png", (1280, 720))
    with pytest.raises(MaskError, match="all black"):
        prepare(black, shot, imaging, tmp_path / "out")

    # a matte in alpha (black RGB, as a Write of a Roto's alpha gives): the alpha is the mask
    matte = QtGui.QImage(1280, 720, QtGui.QImage.Format_ARGB32)
    matte.fill(QtGui.QColor(0, 0, 0, 0))
    painter = QtGui.QPainter(matte)
    painter.setCompositionMode(QtGui.QPainter.CompositionMode_Source)
    painter.fillRect(QtCore.QRect(100, 100, 200, 200), QtGui.QColor(0, 0, 0, 255))
    painter.end()
    matte.save(str(tmp_path / "matte.png"))
    out, note = prepare(tmp_path / "matte.png", shot, imaging, tmp_path / "out")
    grey = QtGui.QImage(str(out))
    assert note == "" and QtGui.qGray(grey.pixel(150, 150)) == 255 and QtGui.qGray(grey.pixel(600, 600)) == 0


def test_one_mask_is_checked_against_every_shot(tmp_path, qapp):
    imaging = QtImaging()
    wide = grey_image(tmp_path / "wide.png", (1280, 720), (0, 0, 64, 64))
    shots = [ShotFrame("sh010", FACE, 0, False), ShotFrame("sh020", FACES / "obama" / "obama-1080p.jpg", 0, False)]
    out, note = prepare(wide, shots, imaging, tmp_path / "out")
    assert note == "" and QtGui.QImage(str(out)).size() == QtCore.QSize(1280, 720)  # fitted to the first shot
    shots.append(ShotFrame("sh025", tmp_path / "offline.mov", 0, True))  # media not here: not compared
    out, note = prepare(wide, shots, imaging, tmp_path / "out")
    assert note == "Not checked against sh025: its media cannot be read here."
    shots.append(ShotFrame("sh030", FACES / "obama" / "obama2.jpg", 0, False))  # 626x1200, portrait
    with pytest.raises(MaskError, match=r"^sh030: .*1280x720.*626x1200"):
        prepare(wide, shots, imaging, tmp_path / "out")


def test_shot_frame_and_movie_decode(tmp_path, qapp, monkeypatch):
    movie = face_movie(tmp_path / "sh010.mp4")
    frame = shot_frame(timeline_of(movie).find_clips()[0])
    assert frame.path == movie and frame.index == 2 and frame.movie
    image = decode_frame(frame)
    assert (image.width(), image.height()) == (640, 360)
    assert QtImaging().frame_size(frame) == (640, 360)
    with monkeypatch.context() as m:  # where PyAV is not installed, OpenCV gives the same frame
        m.setitem(__import__("sys").modules, "av", None)
        by_cv2 = decode_frame(frame)
    assert (by_cv2.width(), by_cv2.height()) == (640, 360)
    assert abs(QtGui.qGray(by_cv2.pixel(320, 100)) - QtGui.qGray(image.pixel(320, 100))) < 12
    with pytest.raises(MaskError, match="not at"):
        decode_frame(ShotFrame("sh020", tmp_path / "gone.mov", 0, True))


# -- the painter ----------------------------------------------------------------------------------------

def open_painter(qtbot, source, out: Path) -> MaskPainter:
    saved: list[Path] = []
    painter = MaskPainter(source, out, saved.append)
    painter.saved = saved
    qtbot.addWidget(painter)
    painter.resize(960, 620)
    painter.show()
    qtbot.waitUntil(painter.loaded.is_set, timeout=10000)
    qtbot.waitUntil(lambda: not painter.canvas.frame.isNull(), timeout=10000)
    return painter


def drag(canvas, points: list[QtCore.QPointF], release: bool = True) -> None:
    """A left-button drag through frame points, as real mouse events on the canvas."""
    spots = [canvas.to_widget(p).toPoint() for p in points]
    QTest.mousePress(canvas, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, spots[0])
    for spot in spots[1:]:
        event = QtGui.QMouseEvent(QtCore.QEvent.MouseMove, QtCore.QPointF(spot), QtCore.QPointF(canvas.mapToGlobal(spot)),
                                  QtCore.Qt.NoButton, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier)
        QtWidgets.QApplication.sendEvent(canvas, event)
    if release:
        QTest.mouseRelease(canvas, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, spots[-1])


def grey_at(canvas, x: float, y: float) -> int:
    return QtGui.qGray(canvas.mask.pixel(int(x), int(y)))


def test_painting_erasing_invert_clear_undo_and_save(qtbot, tmp_path):
    painter = open_painter(qtbot, FACE, tmp_path / "masks" / "face-mask.png")
    canvas = painter.canvas
    assert (canvas.mask.width(), canvas.mask.height()) == (1280, 720), "the mask is at the frame's full size"
    assert not painter.save_button.isEnabled(), "an empty mask cannot be used"
    painter.size.setValue(120)
    painter.hardness.setValue(100)
    line = [QtCore.QPointF(300 + 40 * i, 200) for i in range(11)]  # x 300..700 at y 200
    drag(canvas, line, release=False)
    shoot(painter, "mask-painter-mid-stroke-face")
    QTest.mouseRelease(canvas, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, canvas.to_widget(line[-1]).toPoint())
    # white along the stroke and within the brush radius (60 px; events land on whole widget pixels, so a
    # frame pixel or two of slack), black away from it
    for x in (300, 450, 600, 700):
        assert grey_at(canvas, x, 200) == 255
    assert grey_at(canvas, 500, 200 + 50) == 255
    assert grey_at(canvas, 500, 200 + 70) == 0 and grey_at(canvas, 200, 200) == 0 and grey_at(canvas, 1000, 600) == 0
    assert painter.save_button.isEnabled()

    painter.hardness.setValue(0)  # soft brush: grey falls off from the centre
    drag(canvas, [QtCore.QPointF(900, 500)])
    centre, edge = grey_at(canvas, 900, 500), grey_at(canvas, 900 + 45, 500)
    assert centre > 240 and 0 < edge < 128, (centre, edge)  # the centre lands within a pixel or two

    painter.erase_button.setChecked(True)
    painter.hardness.setValue(100)
    painter.size.setValue(60)
    drag(canvas, [QtCore.QPointF(500, 200)])
    assert grey_at(canvas, 500, 200) == 0 and grey_at(canvas, 300, 200) == 255
    assert canvas.undo() and grey_at(canvas, 500, 200) == 255, "undo brings the erased stroke back"

    QTest.keyClick(painter, QtCore.Qt.Key_X)
    assert not canvas.erasing and painter.paint_button.isChecked()
    QTest.keyClick(painter, QtCore.Qt.Key_BracketRight)
    assert canvas.size_px == 72
    QTest.keyClick(painter, QtCore.Qt.Key_BracketLeft)
    assert canvas.size_px == 58
    canvas.invert()
    assert grey_at(canvas, 300, 200) == 0 and grey_at(canvas, 1200, 50) == 255
    shoot(painter, "mask-painter-inverted-overlay")
    canvas.undo()
    assert grey_at(canvas, 300, 200) == 255
    shoot(painter, "mask-painter-overlay")
    canvas.clear()
    assert is_blank(canvas.mask) and not painter.save_button.isEnabled()
    assert painter.save() is None and "empty" in painter.info.text()
    canvas.undo()

    out = painter.save()
    assert out is not None and painter.saved == [out]
    written = QtGui.QImage(str(out))
    assert written.format() == QtGui.QImage.Format_Grayscale8 and (written.width(), written.height()) == (1280, 720)
    assert QtGui.qGray(written.pixel(450, 200)) == 255 and QtGui.qGray(written.pixel(1000, 100)) == 0


def test_painter_on_undecodable_media_says_why(qtbot, tmp_path):
    bad = tmp_path / "sh030.mov"
    bad.write_bytes(b"not a movie at all" * 100)
    painter = MaskPainter(ShotFrame("sh030", bad, 0, True), tmp_path / "m.png")
    qtbot.addWidget(painter)
    qtbot.waitUntil(painter.loaded.is_set, timeout=10000)
    qtbot.wait(20)
    assert "Cannot decode" in painter.info.text() and not painter.save_button.isEnabled()


# -- in the panel, with a real backend -----------------------------------------------------------------

def inpaint_panel(qtbot, client_factory, project_name, cut) -> tuple[PanelViewModel, ShotBridgePanel]:
    vm = PanelViewModel(client_factory, host=FileHost(cut), project=project_name)
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    panel.resize(620, 660)
    panel.show()
    vm.connect()
    qtbot.waitUntil(lambda: vm.state.connection == "connected", timeout=20000)
    vm.take_selection_from_host()
    vm.select_operation("inpaint")
    qtbot.wait(20)
    return vm, panel


def finish(qtbot, vm: PanelViewModel) -> None:
    """Let work in flight land while the panel still exists, then close."""
    vm._pool.shutdown(wait=True)
    qtbot.wait(50)
    vm.close()


def button(panel, text: str) -> QtWidgets.QPushButton:
    found = [b for b in panel.findChildren(QtWidgets.QPushButton) if b.text() == text and b.isVisible()]
    assert len(found) == 1, f"{text}: {len(found)} buttons"
    return found[0]


def test_painted_mask_is_the_inpaint_jobs_mask(qtbot, client_factory, project_name, tmp_path):
    movie = face_movie(tmp_path / "sh010.mp4")
    vm, panel = inpaint_panel(qtbot, client_factory, project_name, timeline_of(movie))
    button(panel, "Paint...").click()
    painter = panel.mask_painter
    qtbot.waitUntil(lambda: not painter.canvas.frame.isNull(), timeout=10000)
    assert (painter.canvas.frame.width(), painter.canvas.frame.height()) == (640, 360)
    painter.size.setValue(40)
    drag(painter.canvas, [QtCore.QPointF(280, 120), QtCore.QPointF(360, 120)])
    shoot(painter, "mask-painter-over-movie-frame")
    painter.save_button.click()
    qtbot.waitUntil(lambda: str(vm.state.values.get("mask", "")).endswith(".grey.png"), timeout=10000)
    assert "mask" not in vm.state.errors
    sent = Path(vm.state.values["mask"])
    assert panel._inputs["mask"].findChild(QtWidgets.QLineEdit).text() == str(sent)
    assert vm.run()
    qtbot.waitUntil(lambda: any(j.status in (JobStatus.succeeded, JobStatus.failed) for j in vm.state.jobs.values()),
                    timeout=60000)
    job = next(iter(vm.state.jobs.values()))
    assert job.status == JobStatus.succeeded, job.message
    assert job.params["mask"] == hashlib.sha256(sent.read_bytes()).hexdigest()
    finish(qtbot, vm)


def test_wrong_size_masks_scaled_with_note_or_refused_in_the_panel(qtbot, client_factory, project_name, tmp_path):
    vm, panel = inpaint_panel(qtbot, client_factory, project_name, timeline_of(FACE))  # a 1280x720 still
    half = grey_image(tmp_path / "half.png", (640, 360), (200, 100, 100, 100))
    vm.use_mask("mask", half)
    qtbot.waitUntil(lambda: bool(vm.state.mask_note), timeout=10000)
    assert "640x360" in vm.state.mask_note and "1280x720" in vm.state.mask_note
    # a row added to a shown form is shown on the next turn of the event loop (QLayout queues it)
    qtbot.waitUntil(lambda: any(vm.state.mask_note in w.text() for w in panel.findChildren(QtWidgets.QLabel)
                                if w.isVisible()), timeout=5000)
    shoot(panel, "mask-scaled-note")

    square = grey_image(tmp_path / "square.png", (1000, 1000), (200, 200, 300, 300))
    vm.use_mask("mask", square)
    qtbot.waitUntil(lambda: "mask" in vm.state.errors, timeout=10000)
    text = vm.state.errors["mask"]
    assert "1000x1000" in text and "1280x720" in text
    assert any(w.objectName() == "error" and "1000x1000" in w.text() for w in panel.findChildren(QtWidgets.QLabel))
    shoot(panel, "mask-refused-wrong-aspect")
    vm.run()  # submitting checks again: nothing is sent
    qtbot.waitUntil(lambda: "1000x1000" in vm.state.message, timeout=10000)
    assert not vm.state.jobs or all(j.operation != "inpaint" for j in vm.state.jobs.values())
    finish(qtbot, vm)


def test_from_host_in_the_standalone_panel_says_it_is_not_there(qtbot, client_factory, project_name, tmp_path):
    vm, panel = inpaint_panel(qtbot, client_factory, project_name, timeline_of(FACE))
    button(panel, "From host").click()
    assert "not available in standalone" in vm.state.errors["mask"]
    finish(qtbot, vm)

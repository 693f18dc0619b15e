"""The review view offscreen: a real signed take from a real backend as a wipe, flipped with the key, scrubbed;
a take that fails the identity gate (scored by the real face model); a missing take. Screenshots saved."""

from __future__ import annotations

import os
from pathlib import Path

import opentimelineio as otio
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("qtpy")

from qtpy import QtCore  # noqa: E402

from shotbridge.exchange.facts import Facts, set_facts  # noqa: E402
from shotbridge.panel.host import FileHost  # noqa: E402
from shotbridge.panel.qt_view import ShotBridgePanel  # noqa: E402
from shotbridge.panel.viewmodel import PanelViewModel, Take  # noqa: E402

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "panel-screenshots"
FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
RATE = 24


def shoot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


def _panel(qtbot, vm) -> ShotBridgePanel:
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    panel.resize(760, 820)
    panel.show()
    return panel


def _drawn(panel) -> bool:
    images = panel.review.view.images
    return all(images[side] is not None and not images[side].isNull() for side in ("source", "take"))


def _cut(name: str, plate_ref: otio.core.MediaReference, start: int, frames: int) -> otio.schema.Timeline:
    clip = otio.schema.Clip(name=name, media_reference=plate_ref, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(start, RATE), otio.opentime.RationalTime(frames, RATE)))
    return otio.schema.Timeline(name="cut", tracks=[otio.schema.Track(name="V1", children=[clip])])


def test_review_a_signed_take_as_wipe_flip_and_scrub(qtbot, client_factory, project_name, tmp_path):
    import numpy as np
    from PIL import Image

    from shotbridge_backend.demo import sample_movie

    movie = sample_movie(tmp_path / "plate.mp4", seconds_per_shot=0.25, size=(480, 270))
    host = FileHost(_cut("sh010", otio.schema.ExternalReference(str(movie)), 1, 4))
    mask = np.zeros((270, 480), np.uint8)
    mask[60:210, 140:340] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    vm = PanelViewModel(client_factory, host=host, project=project_name)
    panel = _panel(qtbot, vm)
    vm.connect()
    qtbot.waitUntil(lambda: vm.state.connection == "connected", timeout=20000)
    vm.take_selection_from_host()
    vm.select_operation("inpaint")
    vm.set_value("mask", str(tmp_path / "mask.png"))
    assert vm.run(), vm.state.errors
    qtbot.waitUntil(lambda: bool(vm.state.takes), timeout=90000)

    panel.tabs.setCurrentIndex(2)
    panel.takes.setCurrentRow(0)
    panel._review_take()
    assert panel.tabs.currentWidget() is panel.review
    review = vm.state.review
    qtbot.waitUntil(lambda: review.credential.status != "checking" and _drawn(panel), timeout=30000)
    assert review.credential.status == "verified", review.credential.text
    assert "verified" in panel.review.credential.text() and "local" in panel.review.model.text()

    view = panel.review.view
    target = view._frame_rect()
    y = int(target.center().y())
    qtbot.mousePress(view, QtCore.Qt.LeftButton, pos=QtCore.QPoint(int(target.x() + target.width() * 0.2), y))
    assert abs(review.divider - 0.2) < 0.02  # the divider follows the mouse on the image
    qtbot.mouseMove(view, QtCore.QPoint(int(target.center().x()), y))
    qtbot.mouseRelease(view, QtCore.Qt.LeftButton, pos=QtCore.QPoint(int(target.center().x()), y))
    review.set_divider(0.5)  # an offscreen mouse move carries no pressed button on every platform
    view.update()
    qtbot.wait(50)
    shoot(panel, "review-wipe-mid-divider-verified")

    qtbot.keyClick(panel.review, QtCore.Qt.Key_Space)
    assert review.mode == "flip" and review.showing == "take"
    assert "TAKE" in panel.review.showing.text()
    qtbot.wait(50)
    shoot(panel, "review-flip-showing-take")
    qtbot.keyClick(panel.review, QtCore.Qt.Key_F)
    assert review.showing == "source" and "SOURCE" in panel.review.showing.text()

    panel.review.set_mode("side")
    before = panel.review.view.images["take"]
    panel.review.slider.setValue(4)
    assert review.frame == 4 and "frame 4" in panel.review.frame_label.text()
    qtbot.waitUntil(lambda: _drawn(panel) and panel.review.view.images["take"] is not before, timeout=10000)
    assert "00:00:00:04" in panel.review.frame_label.text()
    shoot(panel, "review-side-by-side-frame-4")

    panel.review.accept.click()
    clip = host.timeline.find_clips()[0]
    assert clip.active_media_reference_key == "inpaint_v001" and vm.state.takes[0].state == "accepted"
    assert not panel.review.accept.isEnabled() and panel.review.state_label.text() == "accepted"
    panel.review.reject.click()
    assert clip.active_media_reference_key == otio.schema.Clip.DEFAULT_MEDIA_KEY
    panel.tabs.setCurrentIndex(2)
    assert panel.takes.count() == 0  # rejected takes are hidden...
    panel.show_rejected.setChecked(True)
    assert panel.takes.count() == 1 and "[rejected]" in panel.takes.item(0).text()  # ...and can come back
    vm.close()


@pytest.mark.skipif(not FACES.exists(), reason="../shared/faces is not beside the checkout")
def test_review_a_take_that_fails_the_identity_gate(qtbot, backend, client_factory, project_name, tmp_path):
    import cv2
    import numpy as np
    from PIL import Image

    from shotbridge_backend.characters import face_model
    from shotbridge_backend.operations.identity_gate import IdentityGate, read_bgr

    plate = FACES / "rose_leslie" / "img1.jpg"
    take_file = tmp_path / "sh040_gen_v001.png"  # the provider drew someone else: the gate must catch it
    other = read_bgr(FACES / "kit_harington" / "john1.jpeg")  # 1200x599: cropped to the plate's 1280x799 shape
    h, w = other.shape[:2]
    keep = round(h * 1280 / 799)
    other = other[:, (w - keep) // 2:(w - keep) // 2 + keep]
    cv2.imwrite(str(take_file), cv2.resize(other, (1280, 799), interpolation=cv2.INTER_AREA))
    model = face_model()
    rose = np.asarray(Image.open(plate).convert("RGB"))
    bible = {"rose": model.embed(rose, model.detect(rose))}
    gate = IdentityGate(bible, None, 3, model)
    identity = gate.facts(gate.score_files([take_file]), attempts=3)
    assert not identity.passed

    from shotbridge_backend.provenance import ensure_keys

    ensure_keys(backend.root / "config" / "keys")  # the studio's keys, as `shotbridge keys init` makes them
    take = otio.schema.ExternalReference(target_url=take_file.as_uri())
    host = FileHost(_cut("sh040", otio.schema.ExternalReference(str(plate)), 0, 1))
    vm = PanelViewModel(client_factory, host=host, project=project_name)
    vm.take_selection_from_host()
    panel = _panel(qtbot, vm)
    vm.connect()
    qtbot.waitUntil(lambda: vm.state.connection == "connected", timeout=20000)
    uploaded = vm.client.upload(vm._project_id, take_file).sha256  # the backend holds it, unsigned
    set_facts(take, Facts(operation="generate_image", provider="comfyui", model="sdxl-base-1.0", seed=1234,
                          provenance="c2pa", asset_sha256=uploaded, identity=identity, characters=["rose"]))
    vm.state.takes.append(Take("sh040", "gen_v001", take.target_url, reference=take))
    review = vm.open_review(vm.state.takes[0])
    panel.tabs.setCurrentWidget(panel.review)
    qtbot.waitUntil(lambda: review.credential.status != "checking" and _drawn(panel), timeout=30000)
    assert review.credential.status == "not_signed"
    text = panel.review.identity.text()
    assert "FAILED" in text and "#ff6b5e" in text and "3 attempt(s)" in text
    assert "not signed" in panel.review.credential.text()
    panel.review.set_mode("side")
    qtbot.wait(50)
    shoot(panel, "review-identity-gate-failed")
    vm.close()


def test_review_a_missing_take_cannot_be_accepted(qtbot, tmp_path):
    from shotbridge_backend.demo import sample_movie

    movie = sample_movie(tmp_path / "plate.mp4", seconds_per_shot=0.25, size=(480, 270))
    gone = otio.schema.ImageSequenceReference(target_url_base=(tmp_path / "renders").as_uri() + "/",
                                              name_prefix="sh050_gen_v002.", name_suffix=".png", start_frame=2,
                                              frame_zero_padding=4, rate=RATE)
    host = FileHost(_cut("sh050", otio.schema.ExternalReference(str(movie)), 2, 4))
    vm = PanelViewModel(lambda: None, host=host)
    vm.take_selection_from_host()
    vm.state.takes.append(Take("sh050", "gen_v002", "renders/sh050_gen_v002.####.png", reference=gone))
    panel = _panel(qtbot, vm)
    review = vm.open_review(vm.state.takes[0])
    panel.tabs.setCurrentWidget(panel.review)
    qtbot.waitUntil(lambda: panel.review.view.images["source"] is not None, timeout=10000)
    qtbot.wait(100)
    assert review.missing and not panel.review.accept.isEnabled()
    assert "MISSING" in panel.review.state_label.text() and "cannot be accepted" in panel.review.accept.toolTip()
    assert panel.review.view.images["take"] is None and "TAKE MISSING" in panel.review.view.notes["take"]
    shoot(panel, "review-missing-take")
    assert not vm.accept_take(vm.state.takes[0]) and "cannot be accepted" in vm.state.message
    vm.close()


def test_the_decoder_finds_the_frame_asked_for_and_says_why_it_cannot(qtbot, tmp_path, monkeypatch):
    import cv2
    import numpy as np

    from shotbridge.panel.qt_review import FrameDecoder, decode

    movie = tmp_path / "greys.mp4"
    writer = cv2.VideoWriter(str(movie), cv2.VideoWriter_fourcc(*"mp4v"), 24, (64, 48))
    for n in range(12):
        writer.write(np.full((48, 64, 3), 20 * n, np.uint8))  # frame n is grey 20n
    writer.release()

    def grey(image) -> float:
        ptr = image.convertToFormat(image.Format.Format_RGB888)
        return float(np.frombuffer(ptr.constBits(), np.uint8, ptr.sizeInBytes()).mean())

    movies: dict = {}
    for n in (7, 2, 11, 0):  # out of order: each seek lands on the frame asked for
        assert abs(grey(decode(movie, n, movies)) - 20 * n) < 6, n
    with monkeypatch.context() as m:  # the OpenCV fallback, where PyAV is not installed, agrees
        m.setitem(__import__("sys").modules, "av", None)
        for n in (7, 2, 11, 0):
            assert abs(grey(decode(movie, n, {})) - 20 * n) < 6, n
    broken = tmp_path / "broken.mov"
    broken.write_bytes(b"not a movie at all" * 100)
    decoder = FrameDecoder()
    got = []
    decoder.decoded.connect(lambda key, image, error: got.append((key, image, error)))
    assert decoder.request(("take", broken, 3)) is None
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    (key, image, error) = got[0]
    assert image is None and error, "the reason comes back, shown on the image instead of a blank"
    assert "missing.png is not on disk" in _reason(decode, tmp_path / "missing.png")
    decoder.close()


def _reason(fn, path) -> str:
    try:
        fn(path, 0, {})
    except Exception as exc:
        return str(exc)
    return ""

"""The shot table and drift strip offscreen, on a real EDL whose shots point at movies made here from real
face photos; screenshots with `thumbnails` and `drift` in their names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("qtpy")
cv2 = pytest.importorskip("cv2")

import numpy as np  # noqa: E402
import opentimelineio as otio  # noqa: E402
from qtpy import QtCore  # noqa: E402

from shotbridge.exchange import untrusted  # noqa: E402
from shotbridge.exchange.facts import Facts  # noqa: E402
from shotbridge.exchange.markers import add_finding  # noqa: E402
from shotbridge.exchange.shots import as_timeline  # noqa: E402
from shotbridge.exchange.takes import add_take  # noqa: E402
from shotbridge.panel.app import PanelWindow  # noqa: E402
from shotbridge.panel.host import FileHost  # noqa: E402
from shotbridge.panel.qt_shots import NAME_COL, STATUS_COL, THUMB_COL  # noqa: E402
from shotbridge.panel.viewmodel import PanelViewModel  # noqa: E402

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "panel-screenshots"
FACES = sorted((Path(__file__).resolve().parents[2].parent / "shared" / "faces").glob("*/*.jpg"))
RT = otio.opentime.RationalTime


def shoot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


def face_movie(path: Path, photo: Path, frames: int = 24, size=(256, 144)) -> Path:
    """A slow push-in on a real photo: a movie whose frames differ."""
    image = cv2.imread(str(photo))
    h, w = image.shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24, size)
    for i in range(frames):
        crop = 1 - 0.2 * i / frames
        cw, ch = int(w * crop), int(h * crop)
        x, y = (w - cw) // 2, (h - ch) // 3
        out.write(cv2.resize(image[y:y + ch, x:x + cw], size, interpolation=cv2.INTER_AREA))
    out.release()
    return path


class RecordingHost(FileHost):
    """The standalone host plus the optional calls a DCC host has, recording what the panel asked."""

    def __init__(self, timeline=None):
        super().__init__(timeline)
        self.calls: list[tuple] = []

    def select_clips(self, names):
        self.calls.append(("select", tuple(names)))

    def show_frame(self, clip, frame):
        self.calls.append(("frame", clip, frame))
        return f"{clip}: frame {frame}"


@pytest.fixture
def cut(tmp_path):
    """The first 10 events of a real grading EDL (CDL per event), each shot pointing at a movie of a face;
    shot 3 at a truncated movie, shot 2 drifting twice, shot 5 with a generated take."""
    timeline = as_timeline(untrusted.read(Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "edl" / "pycmx_cdl_example01.edl").timeline)
    track = timeline.video_tracks()[0]
    clips = list(track.find_clips())
    for clip in clips[10:]:
        track.remove(clip)
    clips = clips[:10]
    for i, clip in enumerate(clips):
        movie = face_movie(tmp_path / f"{clip.name}_{i}.mp4", FACES[i % len(FACES)])
        if i == 3:
            movie.write_bytes(movie.read_bytes()[:700])
        src = clip.source_range
        clip.media_reference = otio.schema.ExternalReference(
            target_url=str(movie), available_range=otio.opentime.TimeRange(src.start_time, RT(24, 24)))
    for first, last in ((6, 11), (25, 30)):
        start = clips[2].trimmed_range().start_time
        add_finding(clips[2], otio.opentime.TimeRange(start + RT(first, 24), RT(last - first + 1, 24)),
                    {"kind": "drift", "expected": "obama", "found": "biden", "frames": [first, last],
                     "similarity": 0.38})
    add_take(clips[5], otio.schema.ExternalReference(target_url=clips[5].media_reference.target_url), "gen_v001",
             Facts(operation="generate_take", provider="comfyui", model="flux-dev", provenance="urn:c2pa:x",
                   credential_verified=True), activate=True)
    return timeline


def hover(widget, x: int) -> None:
    """A pointer move over `widget` (offscreen Qt moves no real cursor, so the event is sent)."""
    from qtpy import QtGui, QtWidgets

    local = QtCore.QPointF(x, 10)
    event = QtGui.QMouseEvent(QtCore.QEvent.MouseMove, local, QtCore.QPointF(widget.mapToGlobal(local.toPoint())),
                              QtCore.Qt.NoButton, QtCore.Qt.NoButton, QtCore.Qt.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, event)


def wait_thumbs(qtbot, view, n):
    qtbot.waitUntil(lambda: len(view.model.thumbs) == n, timeout=30000)


def test_shot_table_with_thumbnails_badges_and_drift_strip(qtbot, cut, tmp_path):
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(cut, str(path))
    host = RecordingHost()
    vm = PanelViewModel(lambda: None, host=host, cache_dir=tmp_path / "cache")
    window = PanelWindow(vm, path)
    qtbot.addWidget(window)
    window.show()
    view = window.shots
    assert view.count() == 10
    wait_thumbs(qtbot, view, 10)
    thumbs = view.model.thumbs
    assert sum(t.ok for t in thumbs.values()) == 9
    broken = thumbs[3]
    assert not broken.ok and "truncated" in broken.reason
    assert view.model.index(3, THUMB_COL).data(QtCore.Qt.ToolTipRole) == broken.reason
    qtbot.wait(50)
    shoot(window, "shots-thumbnails-table-real-edl")

    statuses = [view.model.rows[i].badges for i in range(10)]
    assert [b.kind for b in statuses[2]] == ["drift", "cdl"] and statuses[2][0].text == "drift 6-11, 25-30"
    assert "ai" in {b.kind for b in statuses[5]}

    # search and badge filter
    view.search.setText("drift")
    assert view.proxy.rowCount() == 1
    view.search.setText("")
    view.kind.setCurrentIndex(5)  # AI-generated
    assert view.proxy.rowCount() == 1
    view.kind.setCurrentIndex(0)
    # sort by status puts the busiest shot first, then back to cut order by record in
    view.table.sortByColumn(STATUS_COL, QtCore.Qt.AscendingOrder)
    assert view.proxy.index(0, NAME_COL).data() in (view.model.rows[2].name, view.model.rows[5].name)
    view.table.sortByColumn(5, QtCore.Qt.AscendingOrder)
    assert [view.proxy.index(i, NAME_COL).data() for i in range(10)] == [r.name for r in view.model.rows]

    # selecting the drifting shot: the view model's selection, the host's selection, the strip
    view.table.selectRow(2)
    flagged = view.model.rows[2]
    assert [c.name for c in vm.state.selection.find_clips()] == [flagged.name]
    assert host.calls[-1] == ("select", (flagged.name,))
    assert view.strip.isVisible() and view.strip.row is flagged
    window.resize(1280, 720)
    qtbot.wait(50)
    shoot(window, "shots-drift-strip-selected-shot")
    # hovering a red range names the frames and who was expected and found
    x = int((view.strip.x_of(25) + view.strip.x_of(31)) / 2)
    hover(view.strip, x)
    assert "frames 25-30: expected obama, found biden" in view.strip.toolTip()
    hover(view.strip, int(view.strip.x_of(15)) + 1)
    assert view.strip.toolTip() == f"{flagged.name}: frame 15"
    # a click in the second red range moves the playhead to its first frame
    qtbot.mouseClick(view.strip, QtCore.Qt.LeftButton, pos=QtCore.QPoint(x, 10))
    assert host.calls[-1] == ("frame", flagged.name, 25) and vm.state.message == f"{flagged.name}: frame 25"
    x = int(view.strip.x_of(flagged.duration - 2))
    qtbot.mouseClick(view.strip, QtCore.Qt.LeftButton, pos=QtCore.QPoint(x, 10))
    assert host.calls[-1][:2] == ("frame", flagged.name) and host.calls[-1][2] >= flagged.duration - 4
    assert "frames 25-30: expected obama, found biden" in flagged.drift[1].describe()

    # a placeholder close up: the undecodable movie's row
    view.search.setText(view.model.rows[3].name)
    qtbot.wait(30)
    shoot(view, "shots-thumbnails-placeholder-undecodable-movie")
    vm.close()


def test_host_panel_has_a_shots_tab_fed_by_use_selection(qtbot, cut, tmp_path):
    from shotbridge.panel.qt_view import ShotBridgePanel

    vm = PanelViewModel(lambda: None, host=FileHost(cut), cache_dir=tmp_path / "cache")
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    panel.resize(760, 640)
    panel.show()
    panel.tabs.setCurrentWidget(panel.shots)
    assert panel.tabs.tabText(panel.tabs.currentIndex()) == "Shots" and panel.shots.count() == 0
    panel.use_selection.click()
    assert panel.shots.count() == 10
    wait_thumbs(qtbot, panel.shots, 10)
    qtbot.wait(50)
    shoot(panel, "shots-thumbnails-host-panel-tab")
    # the editor's earlier cut had shot 6 four frames longer at the head: it is stale now
    earlier = cut.deepcopy()
    clip = list(earlier.find_clips())[6]
    r = clip.source_range
    clip.source_range = otio.opentime.TimeRange(r.start_time - RT(4, 24), r.duration + RT(4, 24))
    vm.compare_with(earlier)
    name = panel.shots.model.rows[6].name
    qtbot.waitUntil(lambda: any(b.kind == "stale" for b in panel.shots.model.rows[6].badges), timeout=10000)
    assert "stale" in panel.shots.model.index(6, 2).data(QtCore.Qt.ToolTipRole)
    panel.shots.kind.setCurrentIndex(4)  # Stale
    stale = [panel.shots.proxy.index(i, 1).data() for i in range(panel.shots.proxy.rowCount())]
    assert stale == [name], [(r.name, r.stale) for r in panel.shots.model.rows if r.stale]
    panel.shots.kind.setCurrentIndex(0)
    qtbot.wait(50)
    shoot(panel, "shots-thumbnails-stale-after-recut")
    vm.close()


def test_result_thumbnails_load_off_the_gui_thread(qtbot, tmp_path):
    """The results list's icons come through the thumbnailer (no QIcon(path) decode on the GUI thread)."""
    from shotbridge.panel.qt_view import ShotBridgePanel
    from shotbridge.panel.viewmodel import Result

    still = tmp_path / "out.png"
    cv2.imwrite(str(still), np.full((90, 160, 3), (30, 60, 200), np.uint8))
    vm = PanelViewModel(lambda: None, cache_dir=tmp_path / "cache")
    panel = ShotBridgePanel(vm)
    qtbot.addWidget(panel)
    vm.state.results = [Result("job1", "out.png", still, thumbnail=still),
                        Result("job1", "gone.png", tmp_path / "gone.png", thumbnail=tmp_path / "gone.png")]
    vm._changed("results")
    qtbot.waitUntil(lambda: not panel.results.item(0).icon().isNull(), timeout=10000)
    qtbot.waitUntil(lambda: "file not found" in panel.results.item(1).toolTip(), timeout=10000)
    vm.close()


def test_closing_the_panel_drops_pending_thumbnails(qtbot, cut, tmp_path):
    from qtpy import QtWidgets

    from shotbridge.panel.qt_view import ShotBridgePanel

    vm = PanelViewModel(lambda: None, host=FileHost(cut), cache_dir=tmp_path / "cache")
    panel = ShotBridgePanel(vm)
    vm.take_selection_from_host()
    thumbnailer = vm.thumbnailer()
    panel.deleteLater()
    QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.DeferredDelete)
    assert thumbnailer.closed
    assert vm.thumbnailer() is not thumbnailer and not vm.thumbnailer().closed  # a new view gets a new pool
    vm.close()

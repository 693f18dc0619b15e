"""Benchmark the Jobs tab under streaming progress (run by hand:
QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_job_list.py).

20 jobs each send 50 progress events (1000 in all) through the view model to a shown panel, the event loop
turning after each, as the watcher's events arrive. Prints the GUI thread's milliseconds per event with the
job list as it is (each event rewrites its own row; the bar is painted by a delegate), and, measured in the
same run on the same events, with the rebuild the panel did before (clear the tree, a new item and a
QProgressBar widget per job on every event), and the ratio. The CPU is shared: compare the ratio.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qtpy import QtCore, QtGui, QtWidgets  # noqa: E402

from shotbridge.models import Job, JobStatus  # noqa: E402
from shotbridge.panel.host import FileHost  # noqa: E402
from shotbridge.panel.qt_view import ShotBridgePanel  # noqa: E402
from shotbridge.panel.viewmodel import PanelViewModel  # noqa: E402

JOBS, EVENTS = 20, 50
NOW = datetime.now(timezone.utc)


def job(n: int, progress: float) -> Job:
    return Job(id=f"job{n:02d}", project_id="p", operation="generate", params={}, provider="local",
               status=JobStatus.running, progress=progress, message=f"frame {int(progress * 100)}",
               created_at=NOW, started_at=NOW)


def rebuild(panel: ShotBridgePanel) -> None:
    """The job list before issue 17: the whole tree rebuilt on every event."""
    tree = panel.jobs
    tree.clear()
    for j in panel.vm.state.jobs.values():
        item = QtWidgets.QTreeWidgetItem([j.operation, j.status.value, "", j.message])
        item.setData(0, QtCore.Qt.UserRole, j.id)
        item.setForeground(1, QtGui.QBrush(QtGui.QColor("#7fcf80")))
        tree.addTopLevelItem(item)
        bar = QtWidgets.QProgressBar()
        bar.setRange(0, 100)
        bar.setValue(int(j.progress * 100))
        tree.setItemWidget(item, 2, bar)


def ms_per_event(app: QtWidgets.QApplication, old_way: bool) -> float:
    vm = PanelViewModel(lambda: None, host=FileHost(), project="p")
    panel = ShotBridgePanel(vm)
    panel.resize(760, 620)
    panel.show()
    panel.tabs.setCurrentIndex(1)
    panel.job_list.clock.stop()
    if old_way:
        panel.job_list.sync = lambda: rebuild(panel)
    for n in range(JOBS):
        vm.state.jobs[f"job{n:02d}"] = job(n, 0.0)
    vm._changed("jobs")
    app.processEvents()
    started = time.perf_counter()
    for step in range(1, EVENTS + 1):
        for n in range(JOBS):
            vm._on_event(job(n, step / (EVENTS + 1)))
            app.processEvents()
    elapsed = time.perf_counter() - started
    panel.close()
    vm.close()
    return elapsed * 1000 / (JOBS * EVENTS)


def main() -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    ms_per_event(app, False)  # warm up fonts and styles
    new, old = ms_per_event(app, False), ms_per_event(app, True)
    print(f"job list, {JOBS} jobs x {EVENTS} progress events, GUI thread per event:")
    print(f"  rows rewritten in place: {new:.3f} ms")
    print(f"  tree rebuilt (before):   {old:.3f} ms")
    print(f"  ratio rebuilt / in place: {old / new:.1f}x")


if __name__ == "__main__":
    main()

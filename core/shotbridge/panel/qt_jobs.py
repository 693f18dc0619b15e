"""The job list: one row per job, updated in place as progress streams in (no tree rebuilt per event)."""

from __future__ import annotations

from qtpy import QtCore, QtGui, QtWidgets

from .jobs import JobRow, row_for
from .look import Palette, palette_of
from .viewmodel import PanelViewModel

COLUMNS = ["Operation", "Shots", "Status", "Progress", "Elapsed", "Message"]
OP, SHOTS, STATUS, PROGRESS, ELAPSED, MESSAGE = range(len(COLUMNS))
ID_ROLE = int(QtCore.Qt.UserRole)
PROGRESS_ROLE = int(QtCore.Qt.UserRole) + 1


class ProgressDelegate(QtWidgets.QStyledItemDelegate):
    """Paints the progress column as a bar: no widget per row, so 20 jobs streaming cost 20 repaints."""

    def __init__(self, palette: Palette, parent=None):
        super().__init__(parent)
        self.palette = palette

    def paint(self, painter: QtGui.QPainter, option, index) -> None:
        value = index.data(PROGRESS_ROLE)
        if value is None:
            return super().paint(painter, option, index)
        fraction, colour = value
        painter.save()
        if option.state & QtWidgets.QStyle.State_Selected:
            painter.fillRect(option.rect, QtGui.QColor(self.palette.row_selection))
        rect = option.rect.adjusted(4, 4, -4, -4)
        painter.fillRect(rect, QtGui.QColor(self.palette.base))
        painter.setPen(QtGui.QColor(self.palette.border))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        chunk = QtCore.QRect(rect.left() + 1, rect.top() + 1, int((rect.width() - 2) * fraction), rect.height() - 2)
        painter.fillRect(chunk, QtGui.QColor(colour))
        text = f"{fraction:.0%}"
        # the figure stays readable where the bar has reached it: dark on the bar, light beside it
        painter.setClipRect(chunk)
        painter.setPen(QtGui.QColor(self.palette.accent_text))
        painter.drawText(rect, int(QtCore.Qt.AlignCenter), text)
        painter.setClipRect(QtCore.QRect(chunk.right() + 1, rect.top(), rect.right() - chunk.right(), rect.height()))
        painter.setPen(QtGui.QColor(self.palette.text))
        painter.drawText(rect, int(QtCore.Qt.AlignCenter), text)
        painter.restore()

    def sizeHint(self, option, index) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        hint = super().sizeHint(option, index)
        return QtCore.QSize(max(hint.width(), 90), max(hint.height(), option.fontMetrics.height() + 10))


class JobList(QtWidgets.QWidget):
    """The Jobs tab: the table, actions for the selected rows, and the selected job's error in full."""

    def __init__(self, vm: PanelViewModel, parent=None):
        super().__init__(parent)
        self.vm = vm
        self.palette = palette_of(vm.host)
        self._items: dict[str, QtWidgets.QTreeWidgetItem] = {}
        self._drawn: dict[str, JobRow] = {}
        self.updates = 0  # rows whose cells were rewritten (a test checks progress touches only its row)
        box = QtWidgets.QVBoxLayout(self)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.ExtendedSelection)
        self.tree.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self.palette, self.tree))
        self.tree.setContextMenuPolicy(QtCore.Qt.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        for column, width in ((OP, 100), (SHOTS, 95), (STATUS, 82), (PROGRESS, 86), (ELAPSED, 66)):
            self.tree.setColumnWidth(column, width)
        box.addWidget(self.tree, 1)
        self.detail = QtWidgets.QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setMaximumHeight(90)
        self.detail.setLineWrapMode(QtWidgets.QPlainTextEdit.WidgetWidth)
        self.detail.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        box.addWidget(self.detail)
        row = QtWidgets.QHBoxLayout()
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.retry_button = QtWidgets.QPushButton("Retry")
        self.fetch_button = QtWidgets.QPushButton("Fetch results")
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.retry_button.clicked.connect(self.retry_selected)
        self.fetch_button.clicked.connect(self.fetch_selected)
        self.refresh_button.clicked.connect(self.vm.refresh_jobs)
        for button in (self.cancel_button, self.retry_button, self.fetch_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.refresh_button)
        box.addLayout(row)
        self.clock = QtCore.QTimer(self)  # elapsed times of running jobs tick without events
        self.clock.timeout.connect(self.sync)
        self.clock.start(1000)
        self._selection_changed()

    # -- drawing ------------------------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the rows in line with the view model: new jobs added, changed rows rewritten, others left."""
        s = self.vm.state
        order = list(s.jobs)
        if [*self._items] != order:
            self._reorder(order)
        for job_id, job in s.jobs.items():
            row = row_for(job, s.job_shots.get(job_id), s.job_lost.get(job_id, ""))
            if self._drawn.get(job_id) != row:
                self._draw(self._items[job_id], row)
                self._drawn[job_id] = row
        self._selection_changed()

    def _reorder(self, order: list[str]) -> None:
        for job_id in [k for k in self._items if k not in self.vm.state.jobs]:
            item = self._items.pop(job_id)
            self._drawn.pop(job_id, None)
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
        for position, job_id in enumerate(order):
            item = self._items.get(job_id)
            if item is None:
                item = QtWidgets.QTreeWidgetItem()
                item.setData(0, ID_ROLE, job_id)
                self._items[job_id] = item
                self.tree.insertTopLevelItem(position, item)
            elif self.tree.indexOfTopLevelItem(item) != position:
                selected = item.isSelected()
                self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
                self.tree.insertTopLevelItem(position, item)
                item.setSelected(selected)
        self._items = {job_id: self._items[job_id] for job_id in order}

    def _draw(self, item: QtWidgets.QTreeWidgetItem, row: JobRow) -> None:
        self.updates += 1
        for column, text in ((OP, row.operation), (SHOTS, row.shots), (STATUS, row.status),
                             (ELAPSED, row.elapsed), (MESSAGE, row.message)):
            if item.text(column) != text:
                item.setText(column, text)
        item.setForeground(STATUS, QtGui.QBrush(QtGui.QColor(row.colour)))
        bar = self.palette.bar if row.status in ("running", "queued") else row.colour
        item.setData(PROGRESS, PROGRESS_ROLE, (row.progress, bar))
        tip = row.error or row.message
        for column in range(len(COLUMNS)):
            item.setToolTip(column, tip)
        item.setToolTip(SHOTS, "\n".join(row.shot_list) or tip)
        if item.isSelected():
            self._show_detail()

    # -- selection and actions ----------------------------------------------------------------------------

    def selected_rows(self) -> list[JobRow]:
        ids = [item.data(0, ID_ROLE) for item in self.tree.selectedItems()]
        return [self._drawn[i] for i in ids if i in self._drawn]

    def _selection_changed(self) -> None:
        rows = self.selected_rows()
        self.cancel_button.setEnabled(any(r.can_cancel for r in rows))
        self.retry_button.setEnabled(any(r.can_retry for r in rows))
        self.fetch_button.setEnabled(any(r.status == "succeeded" for r in rows))
        self._show_detail()

    def _show_detail(self) -> None:
        rows = self.selected_rows()
        text = "\n\n".join(f"{r.operation} ({r.shots}): {r.error}" for r in rows if r.error)
        if self.detail.toPlainText() != text:
            self.detail.setPlainText(text)
        self.detail.setVisible(bool(text))  # room for the rows until there is an error to read

    def cancel_selected(self) -> None:
        for row in self.selected_rows():
            if row.can_cancel:
                self.vm.cancel(row.id)

    def retry_selected(self) -> None:
        for row in self.selected_rows():
            if row.can_retry:
                self.vm.retry(row.id)

    def fetch_selected(self) -> None:
        for row in self.selected_rows():
            if row.status == "succeeded":
                self.vm.fetch_results(row.id)

    def menu_for(self, item: QtWidgets.QTreeWidgetItem) -> QtWidgets.QMenu:
        """The row's own actions, each enabled only where it applies."""
        row = self._drawn[item.data(0, ID_ROLE)]
        menu = QtWidgets.QMenu(self)
        menu.addAction("Cancel", lambda: self.vm.cancel(row.id)).setEnabled(row.can_cancel)
        menu.addAction("Retry", lambda: self.vm.retry(row.id)).setEnabled(row.can_retry)
        menu.addAction("Fetch results", lambda: self.vm.fetch_results(row.id)).setEnabled(row.status == "succeeded")
        copy = menu.addAction("Copy error", lambda: QtWidgets.QApplication.clipboard().setText(row.error))
        copy.setEnabled(bool(row.error))
        return menu

    def _menu(self, pos: QtCore.QPoint) -> None:
        item = self.tree.itemAt(pos)
        if item is not None:
            self.menu_for(item).exec(self.tree.viewport().mapToGlobal(pos))

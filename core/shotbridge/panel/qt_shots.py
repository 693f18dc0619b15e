"""The shot table (thumbnails, timecodes, badge pills, sort/filter/search) and the drift strip, in Qt.

Thumbnails are decoded and scaled into QImages on the Thumbnailer's worker (QImage is safe off the GUI
thread, QPixmap is not); the GUI thread only paints them, and each arrival repaints its own cell.
"""

from __future__ import annotations

from pathlib import Path

from qtpy import QtCore, QtGui, QtWidgets

from .shots import DriftRange, ShotRow
from .thumbnails import Thumbnail
from .viewmodel import PanelViewModel

THUMB = QtCore.QSize(96, 54)
COLUMNS = ["", "Shot", "Status", "Src in", "Src out", "Rec in", "Rec out", "Duration", "Track"]
THUMB_COL, NAME_COL, STATUS_COL = 0, 1, 2
ROW_ROLE = QtCore.Qt.UserRole + 1  # the ShotRow
SORT_ROLE = QtCore.Qt.UserRole + 2
FILTERS = [("All shots", ""), ("Drift", "drift"), ("CDL", "cdl"), ("Takes", "takes"), ("Stale", "stale"),
           ("AI-generated", "ai")]


def load_cell_image(path: Path) -> QtGui.QImage:
    """Runs on the Thumbnailer's worker: the PNG read and scaled to the cell."""
    image = QtGui.QImage(str(path))
    return image.scaled(THUMB, QtCore.Qt.KeepAspectRatio, QtCore.Qt.SmoothTransformation)


def alive(obj: QtCore.QObject) -> bool:
    """False once Qt deleted the object (its window closed) while the view model still reports to it."""
    try:
        obj.objectName()
    except RuntimeError:
        return False
    return True


class ShotTableModel(QtCore.QAbstractTableModel):
    def __init__(self, vm: PanelViewModel, parent=None):
        super().__init__(parent)
        self.vm = vm
        self.rows: list[ShotRow] = []
        self._text: list[tuple] = []  # what each column shows, made once per row
        self.thumbs: dict[int, Thumbnail] = {}
        self._generation = 0  # thumbnails for an earlier set of rows are dropped

    def set_rows(self, rows: list[ShotRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._text = [(None, r.name, None, *r.source_tc, *r.record_tc, r.duration_text, r.track) for r in self.rows]
        self.thumbs = {}
        self._generation += 1
        self.endResetModel()
        thumbnailer = self.vm.thumbnailer(load=load_cell_image)
        generation = self._generation
        for i, row in enumerate(self.rows):
            thumbnailer.request(row.media, row.media_frame,
                                lambda t, i=i, g=generation: self._arrived(g, i, t), reason=row.media_note)

    def refresh_badges(self) -> None:
        """Badges changed (stale after a diff): repaint the status column only."""
        if self.rows:
            self.dataChanged.emit(self.index(0, STATUS_COL), self.index(len(self.rows) - 1, STATUS_COL))

    def _arrived(self, generation: int, i: int, thumb: Thumbnail) -> None:
        if generation != self._generation or i >= len(self.rows) or not alive(self):
            return
        self.thumbs[i] = thumb
        cell = self.index(i, THUMB_COL)
        self.dataChanged.emit(cell, cell, [QtCore.Qt.DecorationRole, QtCore.Qt.ToolTipRole])

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=QtCore.Qt.DisplayRole):
        if orientation == QtCore.Qt.Horizontal and role == QtCore.Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=QtCore.Qt.DisplayRole):
        # Asked many times per painted cell: answer from strings made once per row, most common roles first.
        if not index.isValid():
            return None
        i, col = index.row(), index.column()
        if role == QtCore.Qt.DisplayRole:
            return self._text[i][col]
        if role == ROW_ROLE:
            return self.rows[i]
        if role == QtCore.Qt.DecorationRole:
            return self.thumbs.get(i) if col == THUMB_COL else None
        if role == QtCore.Qt.TextAlignmentRole:
            return int(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter) if 3 <= col <= 7 else None
        if role == QtCore.Qt.ToolTipRole:
            return self._tooltip(i, col)
        if role == SORT_ROLE:
            row = self.rows[i]
            return (i, row.name.lower(), -len(row.badges) * 100 - (10 if row.drift else 0), row.source_in,
                    row.source_out, row.record_in, row.record_out, row.duration, row.track)[col]
        return None

    def _tooltip(self, i: int, col: int) -> str | None:
        row = self.rows[i]
        if col == THUMB_COL:
            thumb = self.thumbs.get(i)
            if thumb is None:
                return "thumbnail on its way"
            return thumb.reason or f"{thumb.media} (frame {thumb.frame})"
        if col == STATUS_COL:
            return "\n\n".join(b.tooltip for b in row.badges) or "no findings"
        return self._text[i][col]


class ShotFilter(QtCore.QSortFilterProxyModel):
    """Search words over name/track/badges (ShotRow.matches) and a badge kind."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = ""
        self.kind = ""
        self.setSortRole(SORT_ROLE)

    def set_filter(self, text: str | None = None, kind: str | None = None) -> None:
        self.text = self.text if text is None else text
        self.kind = self.kind if kind is None else kind
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        if not self.text and not self.kind:  # the common case, asked per row on every reset
            return True
        row: ShotRow = self.sourceModel().rows[source_row]
        return row.matches(self.text) and (not self.kind or any(b.kind == self.kind for b in row.badges))


class ShotDelegate(QtWidgets.QStyledItemDelegate):
    """Thumbnails (or a placeholder saying why there is none) and badge pills."""

    def paint(self, painter, option, index):
        col = index.column()
        if col not in (THUMB_COL, STATUS_COL):
            return super().paint(painter, option, index)
        painter.save()
        if option.state & QtWidgets.QStyle.State_Selected:
            painter.fillRect(option.rect, QtGui.QColor("#5a4020"))
        if col == THUMB_COL:
            self._paint_thumb(painter, option.rect, index.data(QtCore.Qt.DecorationRole))
        else:
            self._paint_badges(painter, option.rect, index.data(ROW_ROLE))
        painter.restore()

    def _paint_thumb(self, painter, rect, thumb: Thumbnail | None) -> None:
        box = QtCore.QRect(rect.left() + 3, rect.top() + (rect.height() - THUMB.height()) // 2, THUMB.width(),
                           THUMB.height())
        if thumb is not None and thumb.ok and isinstance(thumb.image, QtGui.QImage) and not thumb.image.isNull():
            image = thumb.image
            target = QtCore.QRect(box.left() + (box.width() - image.width()) // 2,
                                  box.top() + (box.height() - image.height()) // 2, image.width(), image.height())
            painter.drawImage(target, image)
            return
        painter.fillRect(box, QtGui.QColor("#1b1b1b"))
        painter.setPen(QtGui.QColor("#555"))
        painter.drawRect(box.adjusted(0, 0, -1, -1))
        if thumb is None:
            painter.setPen(QtGui.QColor("#777"))
            painter.drawText(box, QtCore.Qt.AlignCenter, "…")
            return
        font = painter.font()
        font.setPixelSize(9)
        painter.setFont(font)
        painter.setPen(QtGui.QColor("#e0a040"))
        painter.drawText(box.adjusted(4, 2, -3, -2), QtCore.Qt.AlignCenter | QtCore.Qt.TextWordWrap,
                         f"⚠ {thumb.reason}")

    def _paint_badges(self, painter, rect, row: ShotRow | None) -> None:
        if row is None:
            return
        font = painter.font()
        font.setPixelSize(10)
        font.setBold(True)
        painter.setFont(font)
        metrics = QtGui.QFontMetrics(font)
        x, y = rect.left() + 4, rect.top() + (rect.height() - 18) // 2
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        for badge in row.badges:
            text = badge.text if len(badge.text) <= 28 else badge.text[:27] + "…"
            width = metrics.horizontalAdvance(text) + 14
            if x + width > rect.right():
                break
            pill = QtCore.QRectF(x, y, width, 18)
            painter.setPen(QtCore.Qt.NoPen)
            painter.setBrush(QtGui.QColor(badge.colour))
            painter.drawRoundedRect(pill, 9, 9)
            painter.setPen(QtGui.QColor("#ffffff"))
            painter.drawText(pill, QtCore.Qt.AlignCenter, text)
            x += width + 4

    def sizeHint(self, option, index):
        hint = super().sizeHint(option, index)
        if index.column() == THUMB_COL:
            return QtCore.QSize(THUMB.width() + 6, THUMB.height() + 6)
        if index.column() == STATUS_COL:
            row = index.data(ROW_ROLE)
            return QtCore.QSize(max(140, 16 + sum(len(b.text) * 7 + 18 for b in (row.badges if row else []))),
                                hint.height())
        return hint


class DriftStrip(QtWidgets.QWidget):
    """A shot's frames as a bar, drifting ranges in red; hover names who was expected and found, a click
    moves the host's playhead there (the start of a red range, else the frame under the pointer)."""

    seek = QtCore.Signal(str, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.row: ShotRow | None = None
        self.setMouseTracking(True)
        self.setMinimumHeight(34)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Fixed)
        self.setCursor(QtCore.Qt.PointingHandCursor)

    def set_row(self, row: ShotRow | None) -> None:
        self.row = row
        self.setVisible(row is not None)
        self.update()

    def _bar(self) -> QtCore.QRectF:
        return QtCore.QRectF(6, 4, max(self.width() - 12, 1), 14)

    def frame_at(self, x: float) -> int:
        bar, n = self._bar(), max(self.row.duration, 1)
        return max(0, min(n - 1, int((x - bar.left()) / bar.width() * n)))

    def range_at(self, x: float) -> DriftRange | None:
        frame = self.frame_at(x)
        return next((d for d in self.row.drift if d.start <= frame <= d.end), None)

    def x_of(self, frame: int) -> float:
        bar = self._bar()
        return bar.left() + bar.width() * frame / max(self.row.duration, 1)

    def paintEvent(self, event):
        if self.row is None:
            return
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        bar = self._bar()
        painter.setPen(QtCore.Qt.NoPen)
        painter.setBrush(QtGui.QColor("#3a3a3a"))
        painter.drawRoundedRect(bar, 3, 3)
        painter.setBrush(QtGui.QColor("#e0453a"))
        for d in self.row.drift:
            left, right = self.x_of(d.start), self.x_of(d.end + 1)
            painter.drawRect(QtCore.QRectF(left, bar.top(), max(right - left, 2), bar.height()))
        painter.setPen(QtGui.QColor("#9a9a9a"))
        font = painter.font()
        font.setPixelSize(10)
        painter.setFont(font)
        last = self.row.duration - 1
        painter.drawText(QtCore.QRectF(bar.left(), bar.bottom() + 1, 120, 14), QtCore.Qt.AlignLeft, "0")
        painter.drawText(QtCore.QRectF(bar.right() - 120, bar.bottom() + 1, 120, 14), QtCore.Qt.AlignRight,
                         f"{last}  ({self.row.name})")
        painter.setPen(QtGui.QColor("#ff8a80"))
        for d in self.row.drift:
            painter.drawText(QtCore.QRectF(self.x_of(d.start) - 30, bar.bottom() + 1, 60, 14), QtCore.Qt.AlignCenter,
                             str(d.start))
        painter.end()

    def mouseMoveEvent(self, event):
        if self.row is None:
            return
        x = event.position().x() if hasattr(event, "position") else event.x()
        d = self.range_at(x)
        frame = self.frame_at(x)
        text = f"{self.row.name}: {d.describe()}" if d else f"{self.row.name}: frame {frame}"
        QtWidgets.QToolTip.showText(event.globalPos() if hasattr(event, "globalPos")
                                    else event.globalPosition().toPoint(), text, self)
        self.setToolTip(text)

    def mousePressEvent(self, event):
        if self.row is None or event.button() != QtCore.Qt.LeftButton:
            return
        x = event.position().x() if hasattr(event, "position") else event.x()
        d = self.range_at(x)
        self.seek.emit(self.row.name, d.start if d else self.frame_at(x))


class ShotsView(QtWidgets.QWidget):
    """Search, badge filter, the table and the drift strip of the selected flagged shot."""

    def __init__(self, vm: PanelViewModel, parent=None):
        super().__init__(parent)
        self.vm = vm
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        bar = QtWidgets.QHBoxLayout()
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Search shots (name, drift, cdl, stale, take...)")
        self.search.setClearButtonEnabled(True)
        self.kind = QtWidgets.QComboBox()
        for text, _ in FILTERS:
            self.kind.addItem(text)
        self.counter = QtWidgets.QLabel()
        self.counter.setObjectName("hint")
        bar.addWidget(self.search, 1)
        bar.addWidget(self.kind)
        bar.addWidget(self.counter)
        box.addLayout(bar)
        self.model = ShotTableModel(vm, self)
        self.proxy = ShotFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.proxy)
        self.table.setItemDelegate(ShotDelegate(self.table))
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, QtCore.Qt.AscendingOrder)  # cut order until a header is clicked
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(THUMB.height() + 8)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.resizeSection(THUMB_COL, THUMB.width() + 8)
        header.resizeSection(NAME_COL, 100)
        header.resizeSection(STATUS_COL, 290)
        for col in range(3, 7):
            header.resizeSection(col, 84)
        header.resizeSection(7, 118)
        self.table.setStyleSheet(
            "QTableView { background: #1f1f1f; alternate-background-color: #252525; border: 1px solid #3c3c3c; }"
            "QTableView::item:selected { background: #5a4020; color: #fff; }"
            "QScrollBar { background: #232323; width: 11px; height: 11px; }"
            "QScrollBar::handle { background: #4a4a4a; border-radius: 4px; min-height: 24px; min-width: 24px; }"
            "QScrollBar::add-line, QScrollBar::sub-line { width: 0; height: 0; }")
        box.addWidget(self.table, 1)
        self.strip_caption = QtWidgets.QLabel()
        self.strip_caption.setObjectName("hint")
        box.addWidget(self.strip_caption)
        self.strip = DriftStrip()
        self.strip.seek.connect(self.vm.seek)
        box.addWidget(self.strip)
        self._show_strip(None)
        self.note = QtWidgets.QLabel()
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        box.addWidget(self.note)
        self.search.textChanged.connect(lambda text: self._filter(text=text))
        self.kind.currentIndexChanged.connect(lambda i: self._filter(kind=FILTERS[i][1]))
        self.table.selectionModel().selectionChanged.connect(self._selected)
        vm.subscribe(self._changed)
        # Closing the panel drops the thumbnails still to make: a host quitting must not wait for 200 decodes.
        self.destroyed.connect(lambda *_: vm._thumbnailer.close() if vm._thumbnailer is not None else None)
        self._shown = None
        self._changed("shots")

    def _filter(self, text: str | None = None, kind: str | None = None) -> None:
        self.proxy.set_filter(text, kind)
        self._count()

    def _count(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        self.counter.setText(f"{shown} of {total}" if shown != total else f"{total} shot(s)")

    def _changed(self, topic: str) -> None:
        if topic not in ("shots", "all") or not alive(self.table):
            return
        if self.vm.state.shots is not self._shown:
            self._shown = self.vm.state.shots
            self.model.set_rows(self.vm.state.shots)
            self._show_strip(None)
            if self.vm.state.selected_shots:  # the same shots with new findings: keep what was selected
                self.select_names(self.vm.state.selected_shots)
        else:
            self.model.refresh_badges()
            self.proxy.invalidateFilter()
        host = self.vm.host
        name = getattr(host, "name", "")
        cannot = host is not None and name != "standalone" and not hasattr(host, "select_clips")
        why = " (Resolve's scripting API cannot select timeline items)" if name == "resolve" else ""
        self.note.setText(f"Selecting shots here does not select them in {name.title()}{why}." if cannot else "")
        self._count()

    def count(self) -> int:
        """Shots in the table (video clips of the open timeline)."""
        return self.model.rowCount()

    def selected_rows(self) -> list[ShotRow]:
        rows = {self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()}
        return [self.model.rows[r] for r in sorted(rows)]

    def _selected(self, *_):
        rows = self.selected_rows()
        self.vm.select_shots([r.name for r in rows])
        self._show_strip(next((r for r in rows if r.drift), None))

    def _show_strip(self, row: ShotRow | None) -> None:
        self.strip.set_row(row)
        self.strip_caption.setVisible(row is not None)
        if row is not None:
            self.strip_caption.setText(f"<span style='color:#ff8a80'>Drift in {row.name}</span>: "
                                       f"{len(row.drift)} range(s) over {row.duration} frames - click a red range "
                                       "to move the playhead there")

    def select_names(self, names: list[str]) -> None:
        """Select rows by shot name (a host selection pulled in)."""
        wanted = set(names)
        selection = QtCore.QItemSelection()
        for i, row in enumerate(self.model.rows):
            if row.name in wanted:
                index = self.proxy.mapFromSource(self.model.index(i, 0))
                if index.isValid():
                    selection.select(index, index.siblingAtColumn(len(COLUMNS) - 1))
        self.table.selectionModel().select(selection, QtCore.QItemSelectionModel.ClearAndSelect)

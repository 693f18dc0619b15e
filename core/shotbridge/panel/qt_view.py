"""The panel drawn with Qt, through qtpy (PySide6 in Nuke 16 and standalone, PySide2 in Nuke 14/15)."""

from __future__ import annotations

from pathlib import Path

from qtpy import QtCore, QtGui, QtWidgets

from .form import FormField
from .look import palette_of, style_sheet
from .qt_jobs import JobList
from .qt_shots import ShotsView, alive, load_cell_image
from .viewmodel import PanelViewModel

STATUS_COLOURS = {"connected": "#5fbf60", "connecting": "#f0a030", "error": "#ff5e57", "disconnected": "#777"}


class _Bridge(QtCore.QObject):
    """Carries callables from worker threads to the GUI thread (a queued signal)."""

    call = QtCore.Signal(object)

    def __init__(self):
        super().__init__()
        self.call.connect(lambda fn: fn(), QtCore.Qt.QueuedConnection)


class ShotBridgePanel(QtWidgets.QWidget):
    def __init__(self, view_model: PanelViewModel | None = None, parent=None, shots_tab: bool = True):
        super().__init__(parent)
        self._shots_tab = shots_tab  # the standalone window shows its shot table beside the panel instead
        self._result_images: dict[Path, object] = {}  # a result's thumbnail (QImage) or the reason it has none
        self._bridge = _Bridge()
        if view_model is None:
            from ..client import Client

            view_model = PanelViewModel(Client, host=None)
        self.vm = view_model
        self.vm.dispatch = lambda fn, *args: self._bridge.call.emit(lambda: fn(*args))
        self.vm.subscribe(self._refresh)
        self.look = palette_of(view_model.host)  # the host's own greys and accent
        self.setStyleSheet(style_sheet(self.look))
        self.setAttribute(QtCore.Qt.WA_StyledBackground, True)  # its own grey, whatever window holds it
        from .qt_mask import QtImaging

        self.vm.mask_imaging = QtImaging()  # masks are checked against the shot with Qt's image code
        self.setMinimumSize(420, 560)
        self._inputs: dict[str, QtWidgets.QWidget] = {}
        # Job progress arrives many times a second per job: redraw the job list at most every 25 ms, not per
        # event, so 20 streaming jobs never hold the host's main thread.
        self._jobs_timer = QtCore.QTimer(self)
        self._jobs_timer.setSingleShot(True)
        self._jobs_timer.setInterval(25)
        self._jobs_timer.timeout.connect(lambda: self._refresh("jobs-now"))
        self._build()
        self._refresh("all")

    # -- layout -------------------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 8)
        head = QtWidgets.QHBoxLayout()
        title = QtWidgets.QLabel("<b>ShotBridge</b>")
        title.setObjectName("title")
        self.dot = QtWidgets.QLabel("●")
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.connect_button = QtWidgets.QPushButton("Connect")
        self.connect_button.clicked.connect(self.vm.connect)
        head.addWidget(title)
        head.addWidget(self.dot)
        head.addWidget(self.status, 1)
        head.addWidget(self.connect_button)
        root.addLayout(head)

        self.tabs = QtWidgets.QTabWidget()
        root.addWidget(self.tabs, 1)
        self.tabs.addTab(self._run_tab(), "Run")
        self.tabs.addTab(self._jobs_tab(), "Jobs")
        self.tabs.addTab(self._results_tab(), "Results")
        from .qt_review import ReviewWidget

        self.review = ReviewWidget(self.vm)
        self.tabs.addTab(self.review, "Review")
        self.tabs.addTab(self._bible_tab(), "Characters")
        self.shots = None
        if self._shots_tab:  # appended, so the other tabs keep their places
            self.shots = ShotsView(self.vm)
            self.tabs.addTab(self.shots, "Shots")
        self.message = QtWidgets.QLabel()
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        root.addWidget(self.message)

    def _run_tab(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        box = QtWidgets.QVBoxLayout(page)
        self.ops = QtWidgets.QComboBox()
        self.ops.currentIndexChanged.connect(self._pick_operation)
        box.addWidget(self.ops)
        self.description = QtWidgets.QLabel()
        self.description.setObjectName("hint")
        self.description.setWordWrap(True)
        box.addWidget(self.description)
        self.form_host = QtWidgets.QWidget()
        self.form = QtWidgets.QFormLayout(self.form_host)
        self.form.setLabelAlignment(QtCore.Qt.AlignRight)
        box.addWidget(self.form_host)
        self.selection_label = QtWidgets.QLabel()
        self.selection_label.setObjectName("hint")
        box.addWidget(self.selection_label)
        row = QtWidgets.QHBoxLayout()
        self.use_selection = QtWidgets.QPushButton("Use selection")
        self.use_selection.clicked.connect(self.vm.take_selection_from_host)
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setObjectName("primary")
        self.run_button.clicked.connect(self._run)
        row.addWidget(self.use_selection)
        row.addStretch(1)
        row.addWidget(self.run_button)
        box.addLayout(row)
        box.addStretch(1)
        return page

    def _jobs_tab(self) -> QtWidgets.QWidget:
        self.job_list = JobList(self.vm)
        self.jobs = self.job_list.tree
        return self.job_list

    def _results_tab(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        box = QtWidgets.QVBoxLayout(page)
        self.results = QtWidgets.QListWidget()
        self.results.setIconSize(QtCore.QSize(96, 54))
        box.addWidget(self.results, 2)
        head = QtWidgets.QHBoxLayout()
        head.addWidget(QtWidgets.QLabel("Takes"))
        head.addStretch(1)
        self.show_rejected = QtWidgets.QCheckBox("Show rejected")
        self.show_rejected.toggled.connect(lambda _=False: self._refresh_results())
        head.addWidget(self.show_rejected)
        box.addLayout(head)
        self.takes = QtWidgets.QListWidget()
        self.takes.itemDoubleClicked.connect(lambda _item: self._review_take())
        box.addWidget(self.takes, 1)
        row = QtWidgets.QHBoxLayout()
        review = QtWidgets.QPushButton("Review take")
        review.clicked.connect(self._review_take)
        row.addWidget(review)
        accept = QtWidgets.QPushButton("Accept take")
        accept.clicked.connect(lambda: self._take_action(self.vm.accept_take))
        reject = QtWidgets.QPushButton("Reject take")
        reject.clicked.connect(lambda: self._take_action(self.vm.reject_take))
        row.addWidget(accept)
        row.addWidget(reject)
        row.addStretch(1)
        box.addLayout(row)
        return page

    def _bible_tab(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        box = QtWidgets.QVBoxLayout(page)
        self.characters = QtWidgets.QListWidget()
        box.addWidget(self.characters, 1)
        self.bible_text = QtWidgets.QLabel()
        self.bible_text.setObjectName("hint")
        box.addWidget(self.bible_text)
        row = QtWidgets.QHBoxLayout()
        self.character_name = QtWidgets.QLineEdit()
        self.character_name.setPlaceholderText("Character name")
        add = QtWidgets.QPushButton("Add reference images...")
        add.clicked.connect(self._add_character)
        row.addWidget(self.character_name, 1)
        row.addWidget(add)
        box.addLayout(row)
        return page

    # -- form ---------------------------------------------------------------------------------------------

    def _input_for(self, f: FormField) -> QtWidgets.QWidget:
        value = self.vm.state.values.get(f.name)
        if f.kind == "enum":
            w = QtWidgets.QComboBox()
            w.addItems([str(c) for c in f.choices])
            if value is not None:
                w.setCurrentText(str(value))
            w.currentTextChanged.connect(lambda v, n=f.name: self.vm.set_value(n, v))
        elif f.kind == "integer":
            w = QtWidgets.QSpinBox()
            low = int(f.minimum if f.minimum is not None else -2**31)
            w.setRange(low, int(f.maximum if f.maximum is not None else 2**31 - 1))
            if f.default is None and not f.required:  # optional (a seed): one step below the range means "auto"
                w.setMinimum(low - 1)
                w.setSpecialValueText("auto")
                w.setValue(low - 1 if value is None else int(value))
                w.valueChanged.connect(lambda v, n=f.name, unset=low - 1: self.vm.set_value(n, None if v == unset else v))
            else:
                w.setValue(int(value or 0))
                w.valueChanged.connect(lambda v, n=f.name: self.vm.set_value(n, v))
        elif f.kind == "number":
            w = QtWidgets.QDoubleSpinBox()
            w.setDecimals(3)
            w.setRange(f.minimum if f.minimum is not None else -1e9, f.maximum if f.maximum is not None else 1e9)
            w.setValue(float(value or 0))
            w.valueChanged.connect(lambda v, n=f.name: self.vm.set_value(n, v))
        elif f.kind == "boolean":
            w = QtWidgets.QCheckBox()
            w.setChecked(bool(value))
            w.toggled.connect(lambda v, n=f.name: self.vm.set_value(n, v))
        elif f.from_selection:
            w = QtWidgets.QLabel("from the selection")
            w.setObjectName("hint")
        elif f.kind == "file":
            w = QtWidgets.QWidget()
            row = QtWidgets.QHBoxLayout(w)
            row.setContentsMargins(0, 0, 0, 0)
            path = QtWidgets.QLineEdit("" if value is None else str(value))
            path.setPlaceholderText("an image file")
            path.textChanged.connect(lambda v, n=f.name: self.vm.set_value(n, v))
            browse = QtWidgets.QPushButton("Browse...")
            browse.clicked.connect(lambda _=False, edit=path, t=f.title: self._pick_file(edit, t))
            row.addWidget(path, 1)
            row.addWidget(browse)
            if f.name == "mask":
                from .qt_mask import add_mask_buttons

                add_mask_buttons(self, f.name, path, browse, row)
        else:
            w = QtWidgets.QLineEdit("" if value is None else str(value))
            w.textChanged.connect(lambda v, n=f.name: self.vm.set_value(n, v))
        w.setToolTip(f.description)
        return w

    def _pick_file(self, edit: QtWidgets.QLineEdit, title: str) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, title, edit.text(),
                                                        "Images (*.png *.jpg *.jpeg *.tif *.tiff *.exr);;All files (*)")
        if path:
            edit.setText(path)

    def _rebuild_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self._inputs.clear()
        for f in self.vm.state.fields:
            label = f.title + (" *" if f.required else "")
            w = self._input_for(f)
            self._inputs[f.name] = w
            self.form.addRow(label, w)
            if f.name == "mask" and self.vm.state.mask_note and f.name not in self.vm.state.errors:
                note = QtWidgets.QLabel(self.vm.state.mask_note)
                note.setObjectName("hint")
                note.setWordWrap(True)
                self.form.addRow("", note)
            error = self.vm.state.errors.get(f.name)
            if error:
                e = QtWidgets.QLabel(error)
                e.setObjectName("error")
                e.setWordWrap(True)  # refusals name sizes and what to do: long lines
                self.form.addRow("", e)

    # -- refresh from the view model ----------------------------------------------------------------------

    def _refresh(self, topic: str) -> None:
        if not alive(self.dot):  # the panel was closed while a background action was still running
            return
        if topic == "jobs":
            if not self._jobs_timer.isActive():
                self._jobs_timer.start()
            return
        if topic == "jobs-now":  # progress streams in often: only the job rows and the message line follow it
            self._refresh_jobs()
            self.message.setText(self.vm.state.message)
            return
        if topic == "shots":  # the shot table draws these itself
            return
        s = self.vm.state
        self.dot.setStyleSheet(f"color: {STATUS_COLOURS[s.connection]}; font-size: 14px;")
        # the header holds one line: the first sentence, the whole advice in the tooltip
        first, _, rest = s.connection_text.partition(". ")
        self.status.setText(first + ("." if rest else ""))
        self.status.setToolTip(s.connection_text)
        self.connect_button.setText("Reconnect" if s.connection == "connected" else "Connect")
        names = [op.title for op in s.operations]
        if [self.ops.itemText(i) for i in range(self.ops.count())] != names:
            self.ops.blockSignals(True)
            self.ops.clear()
            self.ops.addItems(names)
            self.ops.blockSignals(False)
        if s.operation is not None:
            self.ops.blockSignals(True)
            self.ops.setCurrentText(s.operation.title)
            self.ops.blockSignals(False)
            self.description.setText(s.operation.description)
        if topic in ("all", "form", "connection"):
            self._rebuild_form()
        clips = list(s.selection.find_clips()) if s.selection is not None else []
        self.selection_label.setText(f"Selection: {len(clips)} shot(s): {', '.join(c.name for c in clips[:6])}"
                                     if clips else "Selection: none" if s.selection is None
                                     else f"Selection: the timeline '{s.selection.name}' has no clips")
        self.run_button.setEnabled(s.connection == "connected")
        self._refresh_jobs()
        self.message.setText(s.message)
        if topic in ("all", "results", "takes", "connection"):
            self._refresh_results()
        self.characters.clear()
        for c in s.characters:
            self.characters.addItem(f"{c.name}  ·  {len(c.references)} reference(s)  {c.notes[:40]}")
        self.bible_text.setText(s.bible_text)
        if topic in ("all", "review", "takes", "results"):
            self.review.refresh()

    def _refresh_jobs(self) -> None:
        self.job_list.sync()

    def _refresh_results(self) -> None:
        self.results.clear()
        for r in self.vm.state.results:
            item = QtWidgets.QListWidgetItem(f"{r.name}\n{r.job_id[:8]}")
            if r.thumbnail is not None:  # decoded on the thumbnailer's worker, never here
                item.setData(QtCore.Qt.UserRole, str(r.thumbnail))
                self._result_icon(item, r.thumbnail)
            self.results.addItem(item)
        self.takes.clear()
        for index, t in enumerate(self.vm.state.takes):
            if t.state == "rejected" and not self.show_rejected.isChecked():
                continue  # rejected takes stay hidden until asked for; accepting one brings it back
            item = QtWidgets.QListWidgetItem(f"{t.clip}: {t.key}  [{t.state}]")
            item.setData(QtCore.Qt.UserRole, index)
            self.takes.addItem(item)

    def _result_icon(self, item: QtWidgets.QListWidgetItem, path: Path) -> None:
        image = self._result_images.get(path)
        if isinstance(image, QtGui.QImage):
            item.setIcon(QtGui.QIcon(QtGui.QPixmap.fromImage(image)))
        elif isinstance(image, str):
            item.setToolTip(f"no thumbnail: {image}")
        elif path not in self._result_images:
            self._result_images[path] = None  # asked once
            self.vm.thumbnailer(load=load_cell_image).request(path, 0, lambda t, p=path: self._result_arrived(p, t))

    def _result_arrived(self, path: Path, thumb) -> None:
        if not alive(self.results):
            return
        self._result_images[path] = thumb.image if thumb.ok else thumb.reason
        for i in range(self.results.count()):
            item = self.results.item(i)
            if item.data(QtCore.Qt.UserRole) == str(path):
                self._result_icon(item, path)

    # -- actions ------------------------------------------------------------------------------------------

    def _pick_operation(self, index: int) -> None:
        if 0 <= index < len(self.vm.state.operations):
            self.vm.select_operation(self.vm.state.operations[index].name)

    def _run(self) -> None:
        self.vm.run()

    def _take_action(self, action) -> None:
        item = self.takes.currentItem()
        index = item.data(QtCore.Qt.UserRole) if item is not None else None
        if index is not None and 0 <= index < len(self.vm.state.takes):
            action(self.vm.state.takes[index])

    def _review_take(self) -> None:
        self._take_action(self.vm.open_review)
        if self.vm.state.review is not None:
            self.tabs.setCurrentWidget(self.review)
            self.review.setFocus()

    def _add_character(self) -> None:
        name = self.character_name.text().strip()
        if not name:
            self.vm.state.bible_text = "Type the character's name first."
            self._refresh("characters")
            return
        files, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Reference images", "", "Images (*.jpg *.jpeg *.png)")
        if files:
            self.vm.add_character(name, [Path(f) for f in files])

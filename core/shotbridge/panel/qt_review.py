"""The review view: source and take as a wipe (drag the divider on the image), flipped with a key, or side by
side; a frame scrubber; the take's facts; Accept and Reject. Frames are decoded on a worker thread."""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from qtpy import QtCore, QtGui, QtWidgets

from .frames import MOVIES, STILLS, read_frame
from .qt_frames import qimage
from .review import MODES, ReviewState

CACHE_FRAMES = 48  # decoded frames kept per view: a scrub back and forth over a shot stays instant
CREDENTIAL_COLOURS = {"verified": "#7fcf80", "invalid": "#ff6b5e", "not_signed": "#f0a030",
                      "unchecked": "#f0a030", "checking": "#8a8a8a", "none": "#8a8a8a"}
SOURCE_COLOUR, TAKE_COLOUR = "#5fa8ff", "#f0a030"


# -- decoding (off the GUI thread) ----------------------------------------------------------------------------


def decode(path: Path, index: int, movies: dict) -> QtGui.QImage:
    """Frame `index` of a still or a movie as a QImage; raises with the reason when it cannot. Stills go
    through Qt (which turns a photo by its EXIF orientation), movies through panel/frames.py, kept open in
    `movies` while the view scrubs."""
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} is not on disk")
    if path.suffix.lower() not in MOVIES:
        reader = QtGui.QImageReader(str(path))
        reader.setAutoTransform(True)
        image = reader.read()
        if not image.isNull():
            return image
        if path.suffix.lower() not in STILLS:  # EXR, DPX: no Qt plugin, so PyAV reads them
            raise ValueError(f"cannot read {path.name}: {reader.errorString()}")
    return qimage(read_frame(path, index, containers=movies))


class FrameDecoder(QtCore.QObject):
    """Decodes (file, frame) on one worker thread; the newest request wins while scrubbing; results arrive on
    the GUI thread through `decoded(key, image, error)`."""

    decoded = QtCore.Signal(object, object, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shotbridge-review-decode")
        self._cache: OrderedDict[tuple, QtGui.QImage] = OrderedDict()
        self._wanted: set[tuple] = set()
        self._lock = threading.Lock()
        self._movies: dict = {}  # open containers, used on the worker thread only

    def request(self, key: tuple[str, Path, int]) -> QtGui.QImage | None:
        """A cached image now, else None and `decoded` later. key: (side, path, index)."""
        _, path, index = key
        cached = self._cache.get((path, index))
        if cached is not None:
            self._cache.move_to_end((path, index))
            return cached
        with self._lock:
            self._wanted = {k for k in self._wanted if k[0] != key[0]} | {key}
        self._pool.submit(self._work, key)
        return None

    def _work(self, key) -> None:
        with self._lock:
            if key not in self._wanted:  # the artist scrubbed past it
                return
        _, path, index = key
        try:
            image, error = decode(path, index, self._movies), ""
        except Exception as exc:  # shown on the image: a frame that cannot be read never blanks the view
            image, error = None, str(exc)
        self.decoded.emit(key, image, error)

    def store(self, key, image: QtGui.QImage) -> None:
        self._cache[(key[1], key[2])] = image
        while len(self._cache) > CACHE_FRAMES:
            self._cache.popitem(last=False)

    def close(self) -> None:
        with self._lock:
            self._wanted = set()  # queued decodes return at once
        self._pool.submit(self._close_movies)  # on the worker: it may be inside a container right now
        self._pool.shutdown(wait=False)

    def _close_movies(self) -> None:
        for container in list(self._movies.values()):
            try:
                container.close()
            except Exception:  # already closed by a failed decode
                pass
        self._movies.clear()


# -- the comparison ---------------------------------------------------------------------------------------------


class CompareView(QtWidgets.QWidget):
    """Draws source and take by the review's mode; dragging on the image moves the wipe's divider."""

    divider_moved = QtCore.Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Expanding)
        self.setCursor(QtCore.Qt.SplitHCursor)
        self.review: ReviewState | None = None
        self.images: dict[str, QtGui.QImage | None] = {"source": None, "take": None}
        self.notes: dict[str, str] = {"source": "", "take": ""}

    def _fit(self, image: QtGui.QImage | None, box: QtCore.QRectF) -> QtCore.QRectF:
        if image is None or image.isNull():
            return box
        scale = min(box.width() / image.width(), box.height() / image.height())
        w, h = image.width() * scale, image.height() * scale
        return QtCore.QRectF(box.x() + (box.width() - w) / 2, box.y() + (box.height() - h) / 2, w, h)

    def _frame_rect(self) -> QtCore.QRectF:
        """Where the picture sits: both sides share it (the take fitted to the source's shape)."""
        image = self.images["source"] or self.images["take"]
        return self._fit(image, QtCore.QRectF(self.rect()).adjusted(4, 4, -4, -4))

    def paintEvent(self, event) -> None:
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.SmoothPixmapTransform)
        p.fillRect(self.rect(), QtGui.QColor("#161616"))
        r = self.review
        if r is None:
            self._placeholder(p, QtCore.QRectF(self.rect()), "Pick a take and press Review")
            return
        if r.mode == "side":
            half = QtCore.QRectF(self.rect()).adjusted(4, 4, -4, -4)
            left = QtCore.QRectF(half.x(), half.y(), half.width() / 2 - 2, half.height())
            right = QtCore.QRectF(half.x() + half.width() / 2 + 2, half.y(), half.width() / 2 - 2, half.height())
            for side, box in (("source", left), ("take", right)):
                target = self._fit(self.images[side], box)
                self._draw(p, side, target)
                self._tag(p, target, side, left=True)
        elif r.mode == "flip":
            target = self._frame_rect()
            self._draw(p, r.showing, target)
            self._tag(p, target, r.showing, left=True, big=True)
        else:
            target = self._frame_rect()
            split = target.x() + target.width() * r.divider
            halves = {"source": QtCore.QRectF(target.x(), target.y(), split - target.x(), target.height()),
                      "take": QtCore.QRectF(split, target.y(), target.right() - split, target.height())}
            for side, half in halves.items():
                p.save()
                p.setClipRect(half)
                self._draw(p, side, target, half)
                p.restore()
            p.setPen(QtGui.QPen(QtGui.QColor("#f0f0f0"), 2))
            p.drawLine(QtCore.QPointF(split, target.top()), QtCore.QPointF(split, target.bottom()))
            handle = QtCore.QRectF(split - 7, target.center().y() - 14, 14, 28)
            p.setBrush(QtGui.QColor("#f0f0f0"))
            p.drawRoundedRect(handle, 3, 3)
            self._tag(p, target, "source", left=True)
            self._tag(p, target, "take", left=False)
        p.end()

    def _draw(self, p: QtGui.QPainter, side: str, target: QtCore.QRectF,
              visible: QtCore.QRectF | None = None) -> None:
        image = self.images[side]
        if image is None or image.isNull():  # the reason goes where it can be read: the visible part
            self._placeholder(p, visible if visible is not None else target, self.notes[side] or "decoding...")
        else:
            p.drawImage(target, image)

    def _placeholder(self, p: QtGui.QPainter, box: QtCore.QRectF, text: str) -> None:
        p.fillRect(box, QtGui.QColor("#222"))
        p.setPen(QtGui.QColor("#9a9a9a"))
        p.drawText(box.adjusted(12, 12, -12, -12), QtCore.Qt.AlignCenter | QtCore.Qt.TextWordWrap, text)

    def _tag(self, p: QtGui.QPainter, target: QtCore.QRectF, side: str, left: bool, big: bool = False) -> None:
        r = self.review
        text = "SOURCE" if side == "source" else f"TAKE  {r.key}" if r else "TAKE"
        font = p.font()
        font.setBold(True)
        if big:  # the style sheet sets sizes in pixels, so the point size is unset (-1)
            if font.pixelSize() > 0:
                font.setPixelSize(round(font.pixelSize() * 1.3))
            else:
                font.setPointSizeF(font.pointSizeF() * 1.3)
        p.setFont(font)
        metrics = QtGui.QFontMetricsF(font)
        w, h = metrics.horizontalAdvance(text) + 12, metrics.height() + 6
        x = target.x() + 6 if left else target.right() - w - 6
        box = QtCore.QRectF(x, target.y() + 6, w, h)
        p.fillRect(box, QtGui.QColor(0, 0, 0, 170))
        p.setPen(QtGui.QColor(SOURCE_COLOUR if side == "source" else TAKE_COLOUR))
        p.drawText(box, QtCore.Qt.AlignCenter, text)

    def mousePressEvent(self, event) -> None:
        self._drag(event)

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & QtCore.Qt.LeftButton:
            self._drag(event)

    def _drag(self, event) -> None:
        if self.review is None or self.review.mode != "wipe":
            return
        target = self._frame_rect()
        x = event.position().x() if hasattr(event, "position") else event.x()
        if target.width() > 0:
            self.divider_moved.emit((x - target.x()) / target.width())


# -- the review widget ------------------------------------------------------------------------------------------


class ReviewWidget(QtWidgets.QWidget):
    """The whole review: comparison, modes, scrubber, facts, Accept / Reject. Space or F flips."""

    def __init__(self, vm, parent=None):
        super().__init__(parent)
        self.vm = vm
        self.decoder = FrameDecoder(self)
        self.decoder.decoded.connect(self._decoded, QtCore.Qt.QueuedConnection)
        self.setFocusPolicy(QtCore.Qt.StrongFocus)
        self._shown: tuple | None = None
        self._build()
        self.refresh()

    def _build(self) -> None:
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.title = QtWidgets.QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        box.addWidget(self.title)
        self.view = CompareView()
        self.view.divider_moved.connect(self._divider)
        box.addWidget(self.view, 1)

        modes = QtWidgets.QHBoxLayout()
        self.mode_buttons: dict[str, QtWidgets.QPushButton] = {}
        group = QtWidgets.QButtonGroup(self)
        for mode, text in zip(MODES, ("Wipe", "Flip (Space)", "Side by side"), strict=True):
            button = QtWidgets.QPushButton(text)
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            group.addButton(button)
            self.mode_buttons[mode] = button
            modes.addWidget(button)
        modes.addStretch(1)
        self.showing = QtWidgets.QLabel()
        modes.addWidget(self.showing)
        box.addLayout(modes)

        scrub = QtWidgets.QHBoxLayout()
        self.slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.slider.valueChanged.connect(self.set_frame)
        self.frame_label = QtWidgets.QLabel()
        self.frame_label.setMinimumWidth(170)
        self.frame_label.setAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.frame_label)
        box.addLayout(scrub)

        facts = QtWidgets.QFormLayout()
        facts.setLabelAlignment(QtCore.Qt.AlignRight)
        self.identity = QtWidgets.QLabel()
        self.model = QtWidgets.QLabel()
        self.credential = QtWidgets.QLabel()
        self.state_label = QtWidgets.QLabel()
        for label in (self.identity, self.model, self.credential, self.state_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        facts.addRow("Identity", self.identity)
        facts.addRow("Made by", self.model)
        facts.addRow("Credentials", self.credential)
        facts.addRow("Take", self.state_label)
        box.addLayout(facts)

        row = QtWidgets.QHBoxLayout()
        self.undo_note = QtWidgets.QLabel()
        self.undo_note.setObjectName("hint")
        self.undo_note.setWordWrap(True)
        row.addWidget(self.undo_note, 1)
        self.reject = QtWidgets.QPushButton("Reject")
        self.reject.clicked.connect(lambda: self._act(self.vm.reject_take))
        self.accept = QtWidgets.QPushButton("Accept")
        self.accept.setObjectName("primary")
        self.accept.clicked.connect(lambda: self._act(self.vm.accept_take))
        row.addWidget(self.reject)
        row.addWidget(self.accept)
        box.addLayout(row)

    # -- state -> widgets ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        r = self.vm.state.review
        self.view.review = r
        enabled = r is not None
        for w in (self.slider, self.reject, *self.mode_buttons.values()):
            w.setEnabled(enabled)
        if r is None:
            self.title.setText("No take under review")
            self.accept.setEnabled(False)
            for label in (self.identity, self.model, self.credential, self.state_label, self.frame_label):
                label.setText("")
            self.view.update()
            return
        self.title.setText(f"{r.clip}  ·  {r.key}")
        self.mode_buttons[r.mode].setChecked(True)
        self.showing.setText(f"showing: <b style='color:{TAKE_COLOUR if r.showing == 'take' else SOURCE_COLOUR}'>"
                             f"{r.showing.upper()}</b>" if r.mode == "flip" else "")
        self.slider.blockSignals(True)
        self.slider.setRange(r.first, r.last)
        self.slider.setValue(r.frame)
        self.slider.blockSignals(False)
        self.frame_label.setText(f"frame {r.frame}  ·  {r.timecode()}  ({r.frame - r.first + 1}/{r.last - r.first + 1})")
        f = r.facts
        idn = f.identity
        colour = "#8a8a8a" if idn is None else "#7fcf80" if idn.passed else "#ff6b5e"
        self.identity.setText(f"<span style='color:{colour}'>{r.identity_line()}</span>")
        made = [f"model {f.model}" if f.model else "", f"provider {f.provider}" if f.provider else "",
                f"seed {f.seed}" if f.seed is not None else "", f.operation or ""]
        self.model.setText(f.error or ("  ·  ".join(m for m in made if m) or "no generation facts on this take"))
        c = r.credential
        self.credential.setText(f"<span style='color:{CREDENTIAL_COLOURS.get(c.status, '#d8d8d8')}'>"
                                f"{_escape(c.text)}</span>")
        if r.missing is not None:
            self.state_label.setText(f"<span style='color:#ff6b5e'>MISSING: {_escape(r.missing)}</span>")
        else:
            self.state_label.setText(r.take_state)
        self.accept.setEnabled(r.can_accept and r.take_state != "accepted")
        self.accept.setToolTip(r.refusal() or "Make this take the clip's media (undoable in the host)")
        self.undo_note.setText(getattr(self.vm.host, "undo_note", "") or "")
        self._request_frames()
        self.view.update()

    def _request_frames(self) -> None:
        r = self.vm.state.review
        if r is None:
            return
        for side, media in (("source", r.source), ("take", r.take)):
            if side == "take" and r.missing is not None:
                self.view.images[side], self.view.notes[side] = None, f"TAKE MISSING\n{r.missing}"
                continue
            where = media.locate(r.frame)
            if where is None:
                self.view.images[side], self.view.notes[side] = None, f"no {side} media"
                continue
            image = self.decoder.request((side, *where))
            if image is not None:
                self.view.images[side], self.view.notes[side] = image, ""

    def _decoded(self, key, image, error: str) -> None:
        r = self.vm.state.review
        side, path, index = key
        if r is None:
            return
        media = r.source if side == "source" else r.take
        if media.locate(r.frame) != (path, index):
            return  # an older frame than the one now shown
        if image is not None:
            self.decoder.store(key, image)
        self.view.images[side] = image
        self.view.notes[side] = "" if image is not None else f"cannot show the {side}: {error}"
        self.view.update()

    # -- actions ------------------------------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        if self.vm.state.review is not None:
            self.vm.state.review.set_mode(mode)
            self.refresh()

    def set_frame(self, frame: int) -> None:
        if self.vm.state.review is not None:
            self.vm.state.review.set_frame(frame)
            self.refresh()

    def flip(self) -> None:
        r = self.vm.state.review
        if r is not None:
            if r.mode != "flip":
                r.set_mode("flip")
            else:
                r.flip()
            self.refresh()

    def _divider(self, fraction: float) -> None:
        if self.vm.state.review is not None:
            self.vm.state.review.set_divider(fraction)
            self.view.update()

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (QtCore.Qt.Key_Space, QtCore.Qt.Key_F):
            self.flip()
        elif key in (QtCore.Qt.Key_Left, QtCore.Qt.Key_Right) and self.vm.state.review is not None:
            self.set_frame(self.vm.state.review.frame + (1 if key == QtCore.Qt.Key_Right else -1))
        else:
            super().keyPressEvent(event)

    def _act(self, action) -> None:
        take = self.vm.review_take()
        if take is not None:
            action(take)
        self.refresh()

    def closeEvent(self, event) -> None:
        self.decoder.close()
        super().closeEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""The mask painter: a grey mask at the shot frame's full resolution, painted over the frame with a round soft
brush, shown as a coloured overlay; saved as an 8-bit grey PNG, white = the area to change.

Also the Qt side of mask checking (`QtImaging`, see mask.py) and a small frame decoder (stills through
QImageReader, movies through PyAV, else OpenCV) that runs off the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from qtpy import QtCore, QtGui, QtWidgets

from .frames import FrameError, read_frame
from .mask import MaskError, ShotFrame, Size
from .qt_frames import qimage

OVERLAY = QtGui.QColor(255, 60, 40)  # the mask's colour over the frame
OVERLAY_OPACITY = 0.55
UNDO_DEPTH = 8
BLANK_BELOW = 3  # grey values below this (about 1%) count as black


# -- decoding (any thread) ------------------------------------------------------------------------------

def read_image(path: Path) -> QtGui.QImage:
    reader = QtGui.QImageReader(str(path))
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        raise MaskError(f"Cannot read {path.name} as an image ({reader.errorString()}): use a PNG, JPEG or TIFF.")
    return image


def decode_frame(frame: ShotFrame) -> QtGui.QImage:
    """The shot's frame as an RGB image; raises MaskError saying why it cannot be decoded."""
    if not frame.path.is_file():
        raise MaskError(f"The media of {frame.clip} is not at {frame.path}: relink it, or pick a mask file.")
    if not frame.movie:
        return read_image(frame.path)
    try:
        return qimage(read_frame(frame.path, frame.index))
    except FrameError as exc:
        raise MaskError(f"Cannot decode the frame of {frame.clip} ({exc}): convert it to a common movie format."
                        ) from None


def grey_of(image: QtGui.QImage) -> QtGui.QImage:
    """An 8-bit grey mask of an image: its alpha where it has a real one (mattes written from alpha, as Nuke
    writes a Roto), else its luminance."""
    if image.hasAlphaChannel():
        alpha = image.convertToFormat(QtGui.QImage.Format_Alpha8)
        if not _all_equal(alpha, 255):
            alpha.reinterpretAsFormat(QtGui.QImage.Format_Grayscale8)  # same bytes, read as grey
            return alpha
    return image.convertToFormat(QtGui.QImage.Format_Grayscale8)


def _rows(image: QtGui.QImage):
    data, line, width = bytes(image.constBits())[:image.sizeInBytes()], image.bytesPerLine(), image.width()
    for y in range(image.height()):
        yield data[y * line: y * line + width]


def _all_equal(image: QtGui.QImage, value: int) -> bool:
    drop = bytes([value])
    return not any(row.translate(None, drop) for row in _rows(image))


def is_blank(mask: QtGui.QImage) -> bool:
    """True when no pixel of an 8-bit grey image is brighter than BLANK_BELOW."""
    drop = bytes(range(BLANK_BELOW))
    return not any(row.translate(None, drop) for row in _rows(mask))


class QtImaging:
    """mask.Imaging with Qt: safe on worker threads (QImage only, no widgets)."""

    def image_size(self, path: Path) -> Size:
        reader = QtGui.QImageReader(str(path))
        size = reader.size()
        if not size.isValid():
            size = read_image(path).size()
        return size.width(), size.height()

    def frame_size(self, frame: ShotFrame) -> Size:
        if not frame.movie:
            return self.image_size(frame.path)
        try:  # the stream header says it without decoding a frame
            import av

            with av.open(str(frame.path)) as container:
                ctx = container.streams.video[0].codec_context
                if ctx.width and ctx.height:
                    return ctx.width, ctx.height
        except Exception:  # noqa: BLE001 (no PyAV, or a file it cannot open: decoding says why)
            pass
        image = decode_frame(frame)
        return image.width(), image.height()

    def write_grey(self, path: Path, out: Path, size: Size | None) -> bool:
        grey = grey_of(read_image(path))
        if size is not None and (grey.width(), grey.height()) != tuple(size):
            grey = grey.scaled(size[0], size[1], QtCore.Qt.IgnoreAspectRatio, QtCore.Qt.SmoothTransformation)
        if is_blank(grey):
            return False
        if not grey.save(str(out), "PNG"):
            raise MaskError(f"Cannot write the mask to {out}: check the folder is writable.")
        return True


# -- the canvas -----------------------------------------------------------------------------------------

class MaskCanvas(QtWidgets.QWidget):
    """The frame fitted to the widget with the mask over it; left-drag paints (or erases)."""

    changed = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(320, 200)
        self.setMouseTracking(True)
        self.frame = QtGui.QImage()
        self.mask = QtGui.QImage()
        self.overlay = QtGui.QImage()
        self.size_px = 60.0  # brush diameter in frame pixels
        self.hardness = 0.7  # 1 = hard edge, 0 = soft all the way from the centre
        self.erasing = False
        self.placeholder = "Decoding the shot's frame..."
        self._undo: list[QtGui.QImage] = []
        self._last: QtCore.QPointF | None = None
        self._cursor: QtCore.QPointF | None = None

    def set_frame(self, frame: QtGui.QImage) -> None:
        self.frame = frame.convertToFormat(QtGui.QImage.Format_RGB32)
        self.mask = QtGui.QImage(frame.size(), QtGui.QImage.Format_Grayscale8)
        self.mask.fill(0)
        self.overlay = QtGui.QImage(frame.size(), QtGui.QImage.Format_ARGB32_Premultiplied)
        self.overlay.fill(0)
        self._undo.clear()
        self.size_px = max(4.0, round(min(frame.width(), frame.height()) / 12))
        self.update()

    # geometry: frame pixels <-> widget pixels, the frame fitted and centred
    def _scale(self) -> float:
        if self.frame.isNull():
            return 1.0
        return min(self.width() / self.frame.width(), self.height() / self.frame.height())

    def _offset(self) -> QtCore.QPointF:
        s = self._scale()
        return QtCore.QPointF((self.width() - self.frame.width() * s) / 2, (self.height() - self.frame.height() * s) / 2)

    def to_image(self, pos: QtCore.QPointF) -> QtCore.QPointF:
        return (pos - self._offset()) / self._scale()

    def to_widget(self, point: QtCore.QPointF) -> QtCore.QPointF:
        return point * self._scale() + self._offset()

    # painting the mask
    def dab(self, at: QtCore.QPointF) -> QtCore.QRect:
        """One round brush mark at `at` (frame pixels); returns the frame rectangle it touched."""
        r = self.size_px / 2
        gradient = QtGui.QRadialGradient(at, r)
        value = 0 if self.erasing else 255
        gradient.setColorAt(0.0, QtGui.QColor(value, value, value, 255))
        gradient.setColorAt(max(0.0, min(self.hardness, 0.999)), QtGui.QColor(value, value, value, 255))
        gradient.setColorAt(1.0, QtGui.QColor(value, value, value, 0))
        painter = QtGui.QPainter(self.mask)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        painter.setPen(QtCore.Qt.NoPen)
        painter.setBrush(QtGui.QBrush(gradient))
        painter.drawEllipse(at, r, r)
        painter.end()
        return QtCore.QRectF(at.x() - r - 1, at.y() - r - 1, 2 * r + 2, 2 * r + 2).toAlignedRect()

    def stroke_to(self, point: QtCore.QPointF) -> None:
        """Dabs from the last point to `point`, spaced a fifth of the brush apart (an even line)."""
        start = self._last or point
        step = max(1.0, self.size_px / 5)
        dx, dy = point.x() - start.x(), point.y() - start.y()
        n = max(1, int((dx * dx + dy * dy) ** 0.5 / step))
        dirty = QtCore.QRect()
        for i in range(1, n + 1) if self._last is not None else [n]:
            dirty = dirty.united(self.dab(QtCore.QPointF(start.x() + dx * i / n, start.y() + dy * i / n)))
        self._last = point
        self._refresh_overlay(dirty)

    def begin_stroke(self, point: QtCore.QPointF) -> None:
        self._push_undo()
        self._last = None
        self.stroke_to(point)

    def end_stroke(self) -> None:
        self._last = None
        self.changed.emit()

    def _push_undo(self) -> None:
        self._undo.append(self.mask.copy())
        del self._undo[:-UNDO_DEPTH]

    def undo(self) -> bool:
        if not self._undo:
            return False
        self.mask = self._undo.pop()
        self._refresh_overlay(self.mask.rect())
        self.changed.emit()
        return True

    def invert(self) -> None:
        self._push_undo()
        self.mask.invertPixels()
        self._refresh_overlay(self.mask.rect())
        self.changed.emit()

    def clear(self) -> None:
        self._push_undo()
        self.mask.fill(0)
        self._refresh_overlay(self.mask.rect())
        self.changed.emit()

    def _refresh_overlay(self, rect: QtCore.QRect) -> None:
        """The overlay in `rect`: the overlay colour with the mask as its alpha."""
        rect = rect.intersected(self.mask.rect())
        if rect.isEmpty():
            return
        alpha = self.mask.copy(rect)
        alpha.reinterpretAsFormat(QtGui.QImage.Format_Alpha8)  # the grey values as the overlay's alpha
        painter = QtGui.QPainter(self.overlay)
        painter.setCompositionMode(QtGui.QPainter.CompositionMode_Source)
        painter.fillRect(rect, OVERLAY)
        painter.setCompositionMode(QtGui.QPainter.CompositionMode_DestinationIn)
        painter.drawImage(rect.topLeft(), alpha)
        painter.end()
        self.update()

    # Qt events
    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtGui.QColor("#1b1b1b"))
        if self.frame.isNull():
            painter.setPen(QtGui.QColor("#8a8a8a"))
            painter.drawText(self.rect().adjusted(20, 20, -20, -20), QtCore.Qt.AlignCenter | QtCore.Qt.TextWordWrap,
                             self.placeholder)
            return
        target = QtCore.QRectF(self._offset(), QtCore.QSizeF(self.frame.size()) * self._scale())
        painter.setRenderHint(QtGui.QPainter.SmoothPixmapTransform)
        painter.drawImage(target, self.frame)
        painter.setOpacity(OVERLAY_OPACITY)
        painter.drawImage(target, self.overlay)
        painter.setOpacity(1.0)
        if self._cursor is not None:  # the brush outline: its full size, and where the falloff starts
            r = self.size_px / 2 * self._scale()
            centre = self._cursor
            painter.setRenderHint(QtGui.QPainter.Antialiasing)
            painter.setPen(QtGui.QPen(QtGui.QColor("#f0a030" if not self.erasing else "#7fb2ff"), 1.2))
            painter.drawEllipse(centre, r, r)
            painter.setPen(QtGui.QPen(QtGui.QColor(240, 160, 48, 120), 1, QtCore.Qt.DashLine))
            painter.drawEllipse(centre, r * self.hardness, r * self.hardness)

    def mousePressEvent(self, event) -> None:
        if event.button() == QtCore.Qt.LeftButton and not self.frame.isNull():
            self.begin_stroke(self.to_image(QtCore.QPointF(event.pos())))

    def mouseMoveEvent(self, event) -> None:
        self._cursor = QtCore.QPointF(event.pos())
        if event.buttons() & QtCore.Qt.LeftButton and not self.frame.isNull():
            self.stroke_to(self.to_image(QtCore.QPointF(event.pos())))
        self.update()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == QtCore.Qt.LeftButton and not self.frame.isNull():
            self.end_stroke()

    def leaveEvent(self, event) -> None:
        self._cursor = None
        self.update()


# -- the painter window ---------------------------------------------------------------------------------

class _Delivery(QtCore.QObject):
    """Hands a decoded frame (or the reason it failed) from the decoding thread to the GUI thread."""

    done = QtCore.Signal(object)


class MaskPainter(QtWidgets.QDialog):
    """Paint a mask over a shot's frame (or any image); Save writes the PNG and calls `on_saved(path)`."""

    def __init__(self, source: ShotFrame | Path, out: Path, on_saved: Callable[[Path], None] | None = None,
                 parent=None):
        super().__init__(parent)
        from .look import palette_of, style_sheet

        self.setStyleSheet(style_sheet(palette_of(getattr(getattr(parent, "vm", None), "host", None))))
        self.out = Path(out)
        self.on_saved = on_saved
        self.source = source
        name = source.clip if isinstance(source, ShotFrame) else Path(source).name
        self.setWindowTitle(f"Paint mask - {name}")
        self.resize(960, 640)
        self.canvas = MaskCanvas()
        self.canvas.changed.connect(self._update_buttons)
        self._build(name)
        self._delivery = _Delivery()
        self._delivery.done.connect(self._show_frame, QtCore.Qt.QueuedConnection)
        self.loaded = threading.Event()
        threading.Thread(target=self._decode, name="shotbridge-mask-decode", daemon=True).start()

    def _build(self, name: str) -> None:
        box = QtWidgets.QVBoxLayout(self)
        bar = QtWidgets.QHBoxLayout()
        self.paint_button = QtWidgets.QPushButton("Paint")
        self.erase_button = QtWidgets.QPushButton("Erase")
        for b in (self.paint_button, self.erase_button):
            b.setCheckable(True)
            b.setAutoExclusive(True)
        self.paint_button.setChecked(True)
        self.paint_button.toggled.connect(lambda on: setattr(self.canvas, "erasing", not on))
        self.size = QtWidgets.QSpinBox()
        self.size.setRange(1, 2000)
        self.size.setSuffix(" px")
        self.size.valueChanged.connect(lambda v: setattr(self.canvas, "size_px", float(v)))
        self.hardness = QtWidgets.QSpinBox()
        self.hardness.setRange(0, 100)
        self.hardness.setSuffix(" %")
        self.hardness.setValue(round(self.canvas.hardness * 100))
        self.hardness.valueChanged.connect(lambda v: setattr(self.canvas, "hardness", v / 100))
        self.undo_button = QtWidgets.QPushButton("Undo")
        self.undo_button.setShortcut(QtGui.QKeySequence.Undo)
        self.undo_button.clicked.connect(self.canvas.undo)
        invert = QtWidgets.QPushButton("Invert")
        invert.clicked.connect(self.canvas.invert)
        clear = QtWidgets.QPushButton("Clear")
        clear.clicked.connect(self.canvas.clear)
        for w in (self.paint_button, self.erase_button, QtWidgets.QLabel("Size"), self.size,
                  QtWidgets.QLabel("Hardness"), self.hardness, self.undo_button, invert, clear):
            bar.addWidget(w)
        bar.addStretch(1)
        box.addLayout(bar)
        box.addWidget(self.canvas, 1)
        low = QtWidgets.QHBoxLayout()
        self.info = QtWidgets.QLabel(f"{name}: white = the area to change")
        self.info.setObjectName("hint")
        self.info.setWordWrap(True)
        self.save_button = QtWidgets.QPushButton("Use mask")
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save)
        cancel = QtWidgets.QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        low.addWidget(self.info, 1)
        low.addWidget(cancel)
        low.addWidget(self.save_button)
        box.addLayout(low)
        self._update_buttons()

    def keyPressEvent(self, event) -> None:
        """[ and ] make the brush smaller and larger (by a fifth), X swaps Paint and Erase: as in Nuke's
        RotoPaint and most paint tools."""
        key = event.key()
        if key in (QtCore.Qt.Key_BracketLeft, QtCore.Qt.Key_BracketRight):
            step = max(1, round(self.size.value() / 5))
            self.size.setValue(self.size.value() + (step if key == QtCore.Qt.Key_BracketRight else -step))
        elif key == QtCore.Qt.Key_X:
            (self.paint_button if self.canvas.erasing else self.erase_button).setChecked(True)
        else:
            super().keyPressEvent(event)
            return
        self.canvas.update()

    def _decode(self) -> None:
        try:
            source = self.source
            image = decode_frame(source) if isinstance(source, ShotFrame) else read_image(Path(source))
            self._delivery.done.emit(image)
        except MaskError as exc:
            self._delivery.done.emit(str(exc))
        except Exception as exc:  # a painter reports, never takes the host down
            self._delivery.done.emit(f"Cannot show the frame ({type(exc).__name__}: {exc}).")

    def _show_frame(self, value: object) -> None:
        if isinstance(value, QtGui.QImage):
            self.canvas.set_frame(value)
            self.size.setValue(int(self.canvas.size_px))
            self.info.setText(f"{self.info.text().split(':')[0]}: {value.width()}x{value.height()}, white = the area "
                              "to change. Drag to paint; [ ] brush size, X paint/erase.")
        else:
            self.canvas.placeholder = str(value)
            self.info.setText(str(value))
            self.canvas.update()
        self.loaded.set()
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_mask = not self.canvas.mask.isNull()
        self.save_button.setEnabled(has_mask and not is_blank(self.canvas.mask))
        self.undo_button.setEnabled(bool(self.canvas._undo))

    def save(self) -> Path | None:
        """Write the mask (8-bit grey PNG, frame size) and hand it on; refuses an all-black mask."""
        if self.canvas.mask.isNull() or is_blank(self.canvas.mask):
            self.info.setText("The mask is empty: paint white where the picture is to change.")
            return None
        self.out.parent.mkdir(parents=True, exist_ok=True)
        if not self.canvas.mask.save(str(self.out), "PNG"):
            self.info.setText(f"Cannot write {self.out}: check the folder is writable.")
            return None
        if self.on_saved is not None:
            self.on_saved(self.out)
        self.accept()
        return self.out


# -- the form's mask field ------------------------------------------------------------------------------

def add_mask_buttons(panel, name: str, edit: QtWidgets.QLineEdit, browse: QtWidgets.QPushButton,
                     row: QtWidgets.QHBoxLayout) -> None:
    """Paint... and From host beside the mask field's Browse; a browsed file is checked against the shot."""
    vm = panel.vm
    browse.clicked.connect(lambda _=False: edit.text() and vm.use_mask(name, Path(edit.text())))
    paint = QtWidgets.QPushButton("Paint...")
    paint.setToolTip("Paint the mask over the selected shot's frame")
    paint.clicked.connect(lambda _=False: paint_mask(panel, name))
    host = QtWidgets.QPushButton("From host")
    host.setToolTip("Nuke: the selected Roto/RotoPaint's matte; Blender: the strip's Mask; Resolve: paint on a "
                    "grabbed still")
    host.clicked.connect(lambda _=False: mask_from_host(panel, name))
    row.addWidget(paint)
    row.addWidget(host)


def paint_mask(panel, name: str, source: ShotFrame | Path | None = None) -> MaskPainter | None:
    """Open the painter on the selected shot's frame (or `source`); the saved mask becomes the field's value."""
    vm = panel.vm
    if source is None:
        try:
            source = vm.mask_paint_source()
        except MaskError as exc:
            vm.state.errors[name] = str(exc)
            vm.state.message = str(exc)
            vm._changed("form")
            return None
    stem = source.clip if isinstance(source, ShotFrame) else Path(source).stem
    folder = vm.mask_folder()
    out = next(folder / f"{stem}-mask-{i:03d}.png" for i in range(1, 10000)
               if not (folder / f"{stem}-mask-{i:03d}.png").exists())
    painter = MaskPainter(source, out, lambda path: vm.use_mask(name, path), parent=panel)
    panel.mask_painter = painter  # kept alive while open, and reachable for tests
    painter.show()
    return painter


def mask_from_host(panel, name: str) -> MaskPainter | None:
    still = panel.vm.mask_from_host(name)
    return paint_mask(panel, name, still) if still is not None else None

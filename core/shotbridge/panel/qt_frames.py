"""Pictures from panel/frames.py as QImages; any thread may call it (QImage, unlike QPixmap, is safe off the
GUI thread)."""

from __future__ import annotations

from qtpy import QtGui

from .frames import Frame


def qimage(frame: Frame) -> QtGui.QImage:
    return QtGui.QImage(frame.rgb, frame.width, frame.height, 3 * frame.width,
                        QtGui.QImage.Format_RGB888).copy()  # copy: the image owns its pixels

"""Benchmark the mask painter (run by hand: .venv/bin/python bench/bench_mask_painter.py).

Prints, for a 1080p and a 4K (4096x2160) frame, the GUI-thread cost of what an artist's drag does: one mouse
move of a 200 px brush (dabs + overlay update), one repaint of the canvas (frame and overlay fitted to a
1200x700 widget), the empty-mask check run after each stroke, and Invert. The 4K figures are also given as a
ratio to the 1080p ones measured in the same run (the CPU is shared: compare ratios). A frame of the display
at 60 Hz is 16.7 ms.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qtpy import QtCore, QtGui, QtWidgets  # noqa: E402

from shotbridge.panel.qt_mask import MaskCanvas, is_blank  # noqa: E402


def measure(app: QtWidgets.QApplication, w: int, h: int) -> dict[str, float]:
    canvas = MaskCanvas()
    canvas.resize(1200, 700)
    canvas.show()
    app.processEvents()
    frame = QtGui.QImage(w, h, QtGui.QImage.Format_RGB32)
    frame.fill(QtGui.QColor(80, 90, 100))
    canvas.set_frame(frame)
    canvas.size_px = 200
    moves = 200
    t = time.perf_counter()
    canvas.begin_stroke(QtCore.QPointF(100, 100))
    for i in range(moves):
        canvas.stroke_to(QtCore.QPointF(100 + i * w / moves * 0.8, 100 + i * h / moves * 0.5))
    canvas.end_stroke()
    move = (time.perf_counter() - t) / (moves + 1)
    t = time.perf_counter()
    for _ in range(20):
        canvas.repaint()
    paint = (time.perf_counter() - t) / 20
    t = time.perf_counter()
    for _ in range(5):
        is_blank(canvas.mask)
    blank = (time.perf_counter() - t) / 5
    t = time.perf_counter()
    canvas.invert()
    invert = time.perf_counter() - t
    canvas.close()
    return {"mouse move": move, "repaint": paint, "empty check": blank, "invert": invert}


def main() -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    hd = measure(app, 1920, 1080)
    uhd = measure(app, 4096, 2160)
    print(f"{'':14}{'1080p ms':>10}{'4K ms':>10}{'4K/1080p':>10}")
    for key in hd:
        print(f"{key:14}{hd[key] * 1000:10.2f}{uhd[key] * 1000:10.2f}{uhd[key] / hd[key]:10.2f}")


if __name__ == "__main__":
    main()

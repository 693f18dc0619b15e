"""A contact sheet: one JPEG with a frame of each shot, the thumbnail a panel shows for a result."""

from __future__ import annotations

from pathlib import Path

from shotbridge.models import OutputRef

from .base import JobContext

CELL_WIDTH = 240
MAX_CELLS = 12


def contact_sheet(ctx: JobContext, frames: list, name: str = "contact_sheet.jpg",
                  marked: set[int] | None = None) -> OutputRef | None:
    """`frames`: RGB arrays (any size); cells in `marked` get a red frame (drift)."""
    import cv2
    import numpy as np

    cells = []
    for i, frame in enumerate(frames[:MAX_CELLS]):
        h, w = frame.shape[:2]
        cell = cv2.resize(np.ascontiguousarray(frame[..., :3]), (CELL_WIDTH, max(1, round(h * CELL_WIDTH / w))),
                          interpolation=cv2.INTER_AREA)
        if marked and i in marked:
            cv2.rectangle(cell, (0, 0), (cell.shape[1] - 1, cell.shape[0] - 1), (230, 60, 50), 4)
        cells.append(cell)
    if not cells:
        return None
    height = max(c.shape[0] for c in cells)
    sheet = np.zeros((height, CELL_WIDTH * len(cells) + 4 * (len(cells) - 1), 3), np.uint8)
    for i, cell in enumerate(cells):
        x = i * (CELL_WIDTH + 4)
        sheet[: cell.shape[0], x:x + CELL_WIDTH] = cell
    path = Path(ctx.work_dir) / name
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return ctx.add_output(path, name, "image/jpeg")


def first_frames(shots) -> list:
    """The first frame of each timeline shot (see timeline_input.TimelineShot)."""
    from ..vision import open_media

    out = []
    for shot in shots:
        with open_media(shot.path) as src:
            out.append(src.read(shot.start_frame))
    return out

"""Worker threads hand work to the panel's thread through a queue; a Qt timer on that thread drains it.

Resolve's scripting API offers nothing like Nuke's executeInMainThread. ShotBridge's rule in Resolve: only the
thread running the panel's event loop calls Resolve. The job watcher and the view model's background work
(the network) call `dispatcher(fn, *args)`, which only queues and returns at once; `drain()` runs the queue
on the owning thread (the panel starts a QTimer for it, `start_timer`). The queue itself needs no Qt, so
the same rule holds, and is tested, without a GUI.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class MainThreadQueue:
    """`dispatch(fn, *args)` from any thread; `drain()` on the owner thread runs what was queued, in order."""

    def __init__(self, owner: threading.Thread | None = None):
        self.owner = owner or threading.current_thread()
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple]] = queue.SimpleQueue()
        self._timer = None

    def __call__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._queue.put((fn, args))

    dispatch = __call__

    def pending(self) -> int:
        return self._queue.qsize()

    def drain(self, limit: int = 200) -> int:
        """Run up to `limit` queued calls (so a flood of events cannot freeze the panel); returns how many."""
        if threading.current_thread() is not self.owner:
            raise RuntimeError("MainThreadQueue.drain must run on the thread that owns the panel "
                               f"({self.owner.name!r}), not {threading.current_thread().name!r}")
        done = 0
        while done < limit:
            try:
                fn, args = self._queue.get_nowait()
            except queue.Empty:
                break
            done += 1
            try:
                fn(*args)
            except Exception:  # one failing event must not stop the ones after it, nor the panel
                log.exception("ShotBridge: a queued call failed")
        return done

    def start_timer(self, interval_ms: int = 25):
        """Drain from a QTimer on the calling (GUI) thread; returns the timer. Needs qtpy."""
        from qtpy import QtCore

        timer = QtCore.QTimer()
        timer.setInterval(interval_ms)
        timer.timeout.connect(self.drain)
        timer.start()
        self._timer = timer  # keep a reference: a collected QTimer stops firing
        return timer

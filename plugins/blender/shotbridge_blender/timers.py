"""Results reach Blender only on its main thread: workers put callables in a queue that a
`bpy.app.timers` callback drains."""

from __future__ import annotations

import queue

import bpy

INTERVAL = 0.1  # seconds between drains while registered
_queue: queue.Queue = queue.Queue()


def dispatch(fn, *args) -> None:
    """The dispatcher for a JobWatcher or the panel's view model: safe from any thread."""
    _queue.put((fn, args))


def drain() -> float:
    """The registered timer: run what the workers queued, on Blender's main thread."""
    while True:
        try:
            fn, args = _queue.get_nowait()
        except queue.Empty:
            return INTERVAL
        try:
            fn(*args)
        except Exception as exc:  # one bad result must not stop the timer
            print(f"ShotBridge: {exc}")


def register() -> None:
    if not bpy.app.timers.is_registered(drain):
        bpy.app.timers.register(drain, first_interval=INTERVAL, persistent=True)


def unregister() -> None:
    if bpy.app.timers.is_registered(drain):
        bpy.app.timers.unregister(drain)

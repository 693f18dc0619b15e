"""Follow jobs off the host's main thread, and hand each event back through the host's own dispatcher.

Hosts differ in how work reaches their main thread (Nuke: `nuke.executeInMainThread`; Blender: a
`bpy.app.timers` callback draining a queue; Qt: a queued signal). The watcher only needs a callable
`dispatch(fn, *args)` that promises to run `fn(*args)` on that thread, soon.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from .client import Client
from .errors import ShotBridgeError
from .models import Job

log = logging.getLogger(__name__)

Dispatcher = Callable[..., None]


def call_now(fn: Callable[..., Any], *args: Any) -> None:
    """The dispatcher for programs with no UI thread of their own (CLI, tests)."""
    fn(*args)


class JobWatcher:
    """Runs one worker thread per watched job; never touches the host itself."""

    def __init__(self, client: Client, dispatch: Dispatcher = call_now):
        self.client = client
        self.dispatch = dispatch
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def watch(
        self,
        job_id: str,
        on_event: Callable[[Job], None],
        on_error: Callable[[str, Exception], None] | None = None,
    ) -> None:
        """Deliver every change of the job (its last state included) to `on_event` via the dispatcher."""
        with self._lock:
            if job_id in self._threads and self._threads[job_id].is_alive():
                return
            thread = threading.Thread(
                target=self._follow, args=(job_id, on_event, on_error), name=f"shotbridge-watch-{job_id}",
                daemon=True,
            )
            self._threads[job_id] = thread
        thread.start()

    def _follow(self, job_id: str, on_event, on_error) -> None:
        try:
            for job in self.client.events(job_id):
                if self._stop.is_set():
                    return
                self.dispatch(on_event, job)
        except ShotBridgeError as exc:
            log.warning("watching job %s stopped: %s", job_id, exc)
            if on_error is not None and not self._stop.is_set():
                self.dispatch(on_error, job_id, exc)
        except ValidationError as exc:  # a state this core cannot read (a newer backend's status, say)
            log.warning("watching job %s stopped: %s", job_id, exc)
            first = exc.errors()[0] if exc.errors() else {}
            where = ".".join(str(x) for x in first.get("loc", ())) or "job"
            got = f" (got {first['input']!r})" if "input" in first and not isinstance(first["input"], dict) else ""
            err = ShotBridgeError(f"the backend sent a job state this panel cannot read: {where}: "
                                  f"{first.get('msg', exc)}{got}. Update ShotBridge here to the backend's version.")
            if on_error is not None and not self._stop.is_set():
                self.dispatch(on_error, job_id, err)
        except Exception as exc:  # the host must hear that the job is no longer followed, never just a log line
            log.exception("watching job %s failed", job_id)
            if on_error is not None and not self._stop.is_set():
                self.dispatch(on_error, job_id, ShotBridgeError(f"{type(exc).__name__}: {exc}"))
        finally:
            with self._lock:
                self._threads.pop(job_id, None)

    def watching(self) -> list[str]:
        with self._lock:
            return list(self._threads)

    def join(self, timeout: float | None = None) -> None:
        for thread in list(self._threads.values()):
            thread.join(timeout)

    def stop(self) -> None:
        """Stop delivering events (e.g. when the panel closes); threads end at their next event."""
        self._stop.set()

"""Hands job updates from worker threads to the asyncio side, where server-sent event streams wait."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

from shotbridge.models import Job


class Broker:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = defaultdict(set)
        self._lock = threading.Lock()

    def subscribe(self, job_id: str) -> asyncio.Queue:
        """Call from the event loop; returns a queue that receives every later update of the job."""
        queue: asyncio.Queue = asyncio.Queue()
        with self._lock:
            self._subscribers[job_id].add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, job_id: str, queue: asyncio.Queue) -> None:
        with self._lock:
            subs = self._subscribers.get(job_id, set())
            subs.difference_update({s for s in subs if s[1] is queue})
            if not subs:
                self._subscribers.pop(job_id, None)

    def publish(self, job: Job) -> None:
        """Safe from any thread. A job's last update also ends its subscriptions (a stream that never
        started, its client gone, is not kept for ever)."""
        with self._lock:
            subs = list(self._subscribers.pop(job.id, ()) if job.status.terminal else self._subscribers.get(job.id, ()))
        for loop, queue in subs:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, job)
            except RuntimeError:
                pass  # that stream's loop has closed

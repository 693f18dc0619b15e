"""The broker hands a job's updates to every stream waiting on it, and forgets the job at its last update."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone

from shotbridge.models import Job, JobStatus
from shotbridge_backend.events import Broker


def _job(status: JobStatus) -> Job:
    return Job(id="j1", project_id="p", operation="echo", params={}, provider="local", status=status,
               created_at=datetime.now(timezone.utc))


def test_updates_from_a_worker_thread_reach_every_stream_and_the_last_ends_them():
    async def main():
        broker = Broker()
        streams = [broker.subscribe("j1"), broker.subscribe("j1")]
        worker = threading.Thread(target=lambda: [broker.publish(_job(s)) for s in
                                                  (JobStatus.running, JobStatus.succeeded)])
        worker.start()
        worker.join()
        for queue in streams:
            got = [(await asyncio.wait_for(queue.get(), 2)).status for _ in range(2)]
            assert got == [JobStatus.running, JobStatus.succeeded]
        assert "j1" not in broker._subscribers  # nobody reads a finished job's stream: none is kept
        broker.unsubscribe("j1", streams[0])  # a stream closing afterwards is harmless

    asyncio.run(main())

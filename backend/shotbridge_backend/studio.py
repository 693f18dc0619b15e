"""Studio mode: jobs run by Celery workers on a Redis broker, job updates and cancels carried by Redis.

The database's job table stays the truth. How nothing is lost or run twice:
- a job row is committed (queued) before its id is sent to the broker, so nothing is queued that the database
  does not know; `enqueued_at` records the hand-over;
- a row the broker never took (the API replica died between the commit and the send, or the broker was down)
  is handed over by the sweeper that every API replica and worker runs (`JobRunner.sweep`), as is one handed
  over long ago and still queued (a broker that lost its messages);
- a worker claims a job with one conditional UPDATE (queued -> running), so a duplicate message does nothing;
- a running job's worker renews its lease (`heartbeat_at`) every lease/6 seconds; the sweeper re-queues the job
  of a worker silent for a whole lease (kill -9, a lost machine), or fails it with the reason past the attempt
  limit. Tasks are acknowledged late and rejected when their worker is lost, so the broker redelivers them too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from shotbridge import __version__
from shotbridge.models import Job

from .db import JobRow, utcnow
from .events import Broker
from .runner import JobRunner

log = logging.getLogger(__name__)

TASK = "shotbridge.run_job"
JOBS_CHANNEL = "shotbridge:jobs"  # every job update, for the SSE streams of every API replica
CANCEL_CHANNEL = "shotbridge:cancel"  # job ids whose cancel was asked, for the worker running each
# Per-project fairness: a job's broker priority is its project's count of older queued or running jobs, in
# steps of FAIR_SHARE (Redis takes priority 0 first). A project's first few jobs always go ahead of another
# project's long batch, and no worker idles while anything waits (docs/deploy.md).
FAIR_SHARE = 4
PRIORITIES = 10


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached or used; the message names its URL (password hidden) and why."""


def shown(url: str) -> str:
    """A broker URL fit for a log line or an error: its password hidden."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def check_broker(url: str) -> None:
    """A service must not start half-way on a broker it cannot use: ping it, else BrokerUnavailable."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise BrokerUnavailable(f"'{shown(url)}' is not a Redis URL: ShotBridge's studio mode runs Celery on Redis "
                                "(redis://HOST:PORT/DB).")
    try:
        import celery  # noqa: F401 - the worker and the API both need it
        import redis
    except ModuleNotFoundError as exc:
        raise BrokerUnavailable(f"Studio mode needs {exc.name}, which is missing here: "
                                "pip install 'shotbridge[backend]'.") from None
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BrokerUnavailable(f"Cannot reach the broker at {shown(url)}: {exc}. Start Redis there, or point "
                                "--broker / SHOTBRIDGE_BROKER_URL at the studio's Redis.") from None
    finally:
        client.close()


def celery_app(url: str, queue: str):
    from celery import Celery

    app = Celery("shotbridge", broker=url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_serializer="json", accept_content=["json"], task_ignore_result=True,
        task_acks_late=True,  # a task is acknowledged once it has run: a worker lost mid-job leaves it unacked
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker holds no more jobs than it runs (others stay free to take them)
        broker_connection_retry_on_startup=False,  # checked before start: an unreachable broker stops the start
        worker_hijack_root_logger=False,
        # one Redis list per priority, read lowest number first (kombu's default has 4 coarse steps)
        broker_transport_options={"priority_steps": list(range(PRIORITIES)), "sep": ":",
                                  "queue_order_strategy": "priority"},
    )
    return app


class CeleryExecutor:
    """Jobs go to Celery workers through the broker; cancels reach them on a Redis channel."""

    distributed = True

    def __init__(self, url: str, queue: str):
        import redis

        self.app = celery_app(url, queue)
        self.queue = queue
        self.url = url
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)
        self._runner: JobRunner | None = None

    def bind(self, runner: JobRunner) -> None:
        self._runner = runner

    def priority(self, job_id: str) -> int:
        from sqlalchemy import func, select

        with self._runner.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                return 0
            ahead = s.scalar(select(func.count()).select_from(JobRow).where(
                JobRow.project_id == row.project_id, JobRow.status.in_(("queued", "running")),
                JobRow.created_at < row.created_at))
        return min(PRIORITIES - 1, ahead // FAIR_SHARE)

    def submit(self, job_id: str) -> None:
        try:
            self.app.send_task(TASK, kwargs={"job_id": job_id, "version": __version__}, queue=self.queue,
                               priority=self.priority(job_id), retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2,
                                                         "interval_step": 0.5, "interval_max": 1})
        except Exception as exc:  # the row is queued: the sweeper hands it over once the broker answers
            log.warning("job %s is queued but the broker at %s did not take it (%s); it is handed over when "
                        "the broker answers again", job_id, shown(self.url), exc)
            return
        from sqlalchemy import update

        with self._runner.db.session() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == "queued")
                      .values(enqueued_at=utcnow()))

    def broker_epoch(self) -> str:
        """Changes when Redis restarts (its run_id): queued messages may be gone with the old one."""
        return str(self._redis.info("server")["run_id"])

    def cancel(self, job_id: str) -> None:
        try:
            self._redis.publish(CANCEL_CHANNEL, job_id)
        except Exception as exc:  # the worker's heartbeat reads the row's cancel flag as well
            log.warning("could not announce the cancel of job %s on %s (%s); its worker sees it at its next "
                        "heartbeat", job_id, shown(self.url), exc)

    def shutdown(self) -> None:
        self._redis.close()


class Channel(threading.Thread):
    """Calls `handle` with each message of a Redis channel, reconnecting after the broker restarts."""

    def __init__(self, url: str, channel: str, handle: Callable[[str], None]):
        super().__init__(name=f"shotbridge-{channel}", daemon=True)
        import redis

        self._redis = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5, decode_responses=True)
        self.channel, self.handle = channel, handle
        self.stopping = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        import redis

        while not self.stopping.is_set():
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                self.ready.set()
                while not self.stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        try:
                            self.handle(message["data"])
                        except Exception:
                            log.exception("a message on %s could not be handled", self.channel)
                pubsub.close()
            except redis.RedisError as exc:
                log.warning("lost the broker's %s channel (%s); reconnecting", self.channel, exc)
                self.stopping.wait(1.0)

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)
        self._redis.close()


class RedisEvents(Broker):
    """Job updates through Redis: a worker's progress reaches the SSE streams of every API replica."""

    def __init__(self, url: str, listen: bool):
        super().__init__()
        import redis

        self.url = url
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)
        self._channel = Channel(url, JOBS_CHANNEL, self._deliver) if listen else None
        if self._channel is not None:
            self._channel.start()
            self._channel.ready.wait(5)

    def publish(self, job: Job) -> None:
        try:
            self._redis.publish(JOBS_CHANNEL, job.model_dump_json())
        except Exception as exc:  # streams re-read the job at their keep-alive; the job itself goes on
            log.warning("could not publish an update of job %s on %s (%s)", job.id, shown(self.url), exc)

    def _deliver(self, data: str) -> None:
        super().publish(Job.model_validate_json(data))

    def close(self) -> None:
        if self._channel is not None:
            self._channel.stop()
        self._redis.close()


class Maintenance(threading.Thread):
    """Every API replica and worker: renew this process's job leases, and sweep (see the module's docstring)."""

    def __init__(self, runner: JobRunner, lease: float, resend_after: float | None = None):
        super().__init__(name="shotbridge-maintenance", daemon=True)
        self.runner, self.lease = runner, lease
        self.resend_after = resend_after or 20 * lease
        self.stopping = threading.Event()
        self._epoch: str | None = None

    def run(self) -> None:
        beats = 0
        while not self.stopping.wait(self.lease / 6):
            beats += 1
            try:
                self.runner.beat()
                if beats % 2 == 0:
                    self.runner.sweep(self.lease, self._resend_after())
            except Exception as exc:  # the database or broker away for a while: try again at the next beat
                log.warning("job maintenance failed (%s); retrying", exc)

    def _resend_after(self) -> float:
        """After a broker restart every queued job is handed over again (without persistence Redis forgets
        its messages; a duplicate costs a worker one conditional UPDATE)."""
        try:
            epoch = self.runner.executor.broker_epoch()
        except Exception:  # the broker is away: the leases are still swept; hand-overs wait for it
            return self.resend_after
        previous = self._epoch
        self._epoch = epoch
        if previous is not None and epoch != previous:
            log.warning("the broker restarted: every queued job is handed over again")
            return 0.0
        return self.resend_after

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)

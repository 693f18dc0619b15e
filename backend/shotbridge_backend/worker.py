"""`shotbridge worker`: a Celery worker that runs ShotBridge jobs with the same runner and JobContext as the
embedded backend (progress, cancel checkpoints, provider sessions, policy, audit, signing)."""

from __future__ import annotations

import logging
import socket

from sqlalchemy.exc import DBAPIError

from shotbridge import __version__

from .db import Database
from .providers import Registry
from .runner import JobRunner
from .settings import BackendSettings
from .store import AssetStore
from .studio import CANCEL_CHANNEL, TASK, CeleryExecutor, Channel, Maintenance, RedisEvents

log = logging.getLogger(__name__)


def run_worker(settings: BackendSettings, queues: list[str], concurrency: int, log_level: str = "info") -> None:
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db = Database(settings.database_url)
    events = RedisEvents(settings.broker_url, listen=False)
    executor = CeleryExecutor(settings.broker_url, settings.queue)
    registry = Registry.load(settings.providers_file)
    registry.share_claims(settings.broker_url)  # a ComfyUI pool's claims on its servers, shared by every worker
    runner = JobRunner(db, AssetStore(settings.asset_dir), events, settings.data_dir / "work", concurrency,
                       settings.max_attempts, registry=registry, executor=executor)
    app = executor.app

    @app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def run_job(task, job_id: str, version: str = "") -> None:
        if runner.stopping:  # back to the broker for another worker
            from celery.exceptions import Reject

            raise Reject("this worker is stopping", requeue=True)
        if version != __version__:
            runner.refuse(job_id, (
                f"waiting: worker {runner.worker_id} runs ShotBridge {__version__} but this job was queued by an "
                f"API running {version or 'an unknown version'}; it runs only on a worker of the same version. "
                "Upgrade the workers and the API together."))
            return
        try:
            runner.run(job_id)
        except DBAPIError as exc:  # the database away: try again (a job that did start is re-queued by lease)
            log.warning("job %s: the database failed (%s); the task is retried", job_id,
                        " ".join(str(exc.orig).split())[:200])
            raise task.retry(countdown=2, max_retries=60) from None

    from celery.signals import worker_shutting_down

    def stopping(**_kw) -> None:  # running jobs stop at their next checkpoint and go back to the queue
        runner.interrupt()

    worker_shutting_down.connect(stopping, weak=False)
    cancels = Channel(settings.broker_url, CANCEL_CHANNEL, runner.note_cancel)
    maintenance = Maintenance(runner, settings.lease_seconds)
    cancels.start()
    maintenance.start()
    log.info("worker %s (ShotBridge %s) takes jobs from %s on %s", runner.worker_id, __version__,
             ", ".join(queues), settings.broker_url.split("@")[-1])
    try:
        app.worker_main(["worker", f"--queues={','.join(queues)}", "--pool=threads",
                         f"--concurrency={concurrency}", f"--loglevel={log_level.upper()}",
                         f"--hostname=shotbridge-{runner.worker_id.replace(':', '-')}@{socket.gethostname()}",
                         "--without-gossip", "--without-mingle", "--without-heartbeat"])
    finally:
        maintenance.stop()
        cancels.stop()
        runner.shutdown()
        events.close()
        db.dispose()

"""The running backend: what one service process holds (database, tokens, store, providers, job runner).

Its own module so the routes' dependencies (deps.py) can name it without importing the app that uses them.
"""

from __future__ import annotations

import logging

from . import auth
from .db import Database
from .events import Broker
from .providers import Registry
from .runner import JobRunner
from .settings import BackendSettings
from .store import AssetStore

log = logging.getLogger(__name__)


class Backend:
    """Everything one running backend holds; created by the app's lifespan."""

    def __init__(self, settings: BackendSettings):
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.database_url)
        self.tokens = auth.TokenCache(self.db)
        self.store = AssetStore(settings.asset_dir)
        self.registry = Registry.load(settings.providers_file)
        self.registry.share_claims(settings.broker_url)
        self.studio = bool(settings.broker_url)
        self.maintenance = None
        if self.studio:  # jobs run by Celery workers; updates and cancels travel through Redis
            from .studio import CeleryExecutor, Maintenance, RedisEvents

            self.broker: Broker = RedisEvents(settings.broker_url, listen=True)
            executor = CeleryExecutor(settings.broker_url, settings.queue)
        else:
            self.broker, executor = Broker(), None
        self.runner = JobRunner(self.db, self.store, self.broker, settings.data_dir / "work",
                                settings.workers, settings.max_attempts, registry=self.registry, executor=executor)
        if self.studio:
            self.maintenance = Maintenance(self.runner, settings.lease_seconds)

    def start(self) -> None:
        # shared storage in studio mode: other replicas and workers write there too; an hour is far past any
        # write that is still going (uploads keep touching their file)
        removed = self.store.clean_partial(older_than=3600.0 if self.studio else 0.0)
        if removed:
            log.info("removed %d partial upload(s) left by an earlier run", removed)
        auth.ensure_admin_token(self.db, self.settings.token_file)
        if self.maintenance is not None:
            # Other replicas and workers may be running jobs: only abandoned ones are taken up (by lease).
            handed = self.runner.sweep(self.settings.lease_seconds, self.maintenance.resend_after)
            if handed:
                log.info("handed %d waiting job(s) to the workers", len(handed))
            self.maintenance.start()
            return
        requeued = self.runner.recover()
        if requeued:
            log.info("queued %d job(s) from before the restart", len(requeued))

    def stop(self) -> None:
        if self.maintenance is not None:
            self.maintenance.stop()
        self.runner.shutdown()
        if self.studio:
            self.broker.close()
        self.db.dispose()

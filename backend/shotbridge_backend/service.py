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
        self.broker = Broker()
        self.registry = Registry.load(settings.providers_file)
        self.runner = JobRunner(self.db, self.store, self.broker, settings.data_dir / "work",
                                settings.workers, settings.max_attempts, registry=self.registry)

    def start(self) -> None:
        removed = self.store.clean_partial()
        if removed:
            log.info("removed %d partial upload(s) left by an earlier run", removed)
        auth.ensure_admin_token(self.db, self.settings.token_file)
        requeued = self.runner.recover()
        if requeued:
            log.info("queued %d job(s) from before the restart", len(requeued))

    def stop(self) -> None:
        self.runner.shutdown()
        self.db.dispose()

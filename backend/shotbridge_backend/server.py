"""Run the backend with uvicorn (what `shotbridge serve` does)."""

from __future__ import annotations

import logging

import uvicorn

from .app import create_app
from .settings import BackendSettings


def serve(settings: BackendSettings, log_level: str = "info") -> None:
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=log_level,
                            access_log=False, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run()

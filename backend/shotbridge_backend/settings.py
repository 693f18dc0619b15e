"""Backend settings: defaults suit the embedded backend on one machine; environment variables override."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from shotbridge import config


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass
class BackendSettings:
    data_dir: Path = field(default_factory=config.data_dir)
    database_url: str | None = None  # default: SQLite (WAL) in data_dir; a PostgreSQL URL works too
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = field(default_factory=lambda: _env_int("SHOTBRIDGE_WORKERS", 2))
    max_asset_bytes: int = field(default_factory=lambda: _env_int("SHOTBRIDGE_MAX_ASSET_BYTES", 8 << 30))
    # JSON request bodies (jobs, characters, policies): a job naming 100,000 frame assets is about 7 MiB
    max_json_bytes: int = field(default_factory=lambda: _env_int("SHOTBRIDGE_MAX_JSON_BYTES", 8 << 20))
    # a job interrupted by a backend restart is re-run at most this many times
    max_attempts: int = field(default_factory=lambda: _env_int("SHOTBRIDGE_MAX_ATTEMPTS", 3))
    token_file: Path = field(default_factory=config.token_path)
    # providers.toml: which providers this deployment offers (default: $SHOTBRIDGE_PROVIDERS or the config dir)
    providers_file: Path | None = None
    # Studio mode: a Redis URL makes the API hand jobs to Celery workers (`shotbridge worker`) instead of its
    # own threads, and carry job updates through Redis (docs/deploy.md)
    broker_url: str | None = field(default_factory=lambda: os.environ.get("SHOTBRIDGE_BROKER_URL") or None)
    queue: str = field(default_factory=lambda: os.environ.get("SHOTBRIDGE_QUEUE") or "shotbridge")
    # a running job whose worker has not renewed its lease for this long is re-queued (or failed)
    lease_seconds: float = field(default_factory=lambda: float(os.environ.get("SHOTBRIDGE_LEASE_SECONDS") or 30))

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if self.database_url is None:
            self.database_url = os.environ.get("SHOTBRIDGE_DATABASE_URL") or (
                f"sqlite:///{self.data_dir / 'shotbridge.db'}"
            )

    @property
    def asset_dir(self) -> Path:
        """Assets may live on a volume of their own (SHOTBRIDGE_ASSET_DIR), apart from the job database."""
        return Path(os.environ.get("SHOTBRIDGE_ASSET_DIR") or self.data_dir / "assets")

"""Bearer tokens: one admin token per machine (created on first start), one or more per project.

Only sha256 digests of tokens are stored; the admin token itself lives in the user's config dir (0600).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from shotbridge.config import write_secret

from .db import Database, TokenRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    project_id: str | None  # None: the admin token
    token_id: str = ""  # a prefix of the token's digest: names the token in audits without revealing it

    @property
    def is_admin(self) -> bool:
        return self.project_id is None

    def may_reach(self, project_id: str) -> bool:
        return self.is_admin or self.project_id == project_id


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "sbt_" + secrets.token_urlsafe(32)


def issue(db: Database, project_id: str | None) -> str:
    token = new_token()
    with db.session() as s:
        s.add(TokenRow(token_hash=digest(token), project_id=project_id))
    return token


def ensure_admin_token(db: Database, token_file: Path) -> str:
    """The admin token: kept from the token file if there is one, else created and written there (0600)."""
    existing = None
    try:
        existing = token_file.read_text().strip() or None
    except FileNotFoundError:
        pass
    token = existing or new_token()
    with db.session() as s:
        row = s.get(TokenRow, digest(token))
        if row is None:
            s.add(TokenRow(token_hash=digest(token), project_id=None))
        elif row.project_id is not None:
            raise RuntimeError(f"{token_file} holds a project token, not an admin token; remove it and restart")
    if existing is None:
        write_secret(token_file, token + "\n")
        log.info("created the admin token in %s", token_file)
    return token


def lookup(db: Database, token: str) -> Principal | None:
    with db.session() as s:
        row = s.execute(select(TokenRow).where(TokenRow.token_hash == digest(token))).scalar_one_or_none()
        return None if row is None else Principal(project_id=row.project_id, token_id=row.token_hash[:16])


class TokenCache:
    """Tokens verified in the last `ttl` seconds, so that a panel following its jobs does not cost a database
    query per request. A token removed from a shared database stops working within `ttl`."""

    def __init__(self, db: Database, ttl: float = 10.0, size: int = 1024):
        self.db, self.ttl, self.size = db, ttl, size
        self._known: dict[str, tuple[float, Principal]] = {}

    def cached(self, token: str) -> Principal | None:
        hit = self._known.get(token)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < self.ttl else None

    def lookup(self, token: str) -> Principal | None:
        """From the database (blocking: call it off the event loop); unknown tokens are never cached."""
        principal = lookup(self.db, token)
        if principal is not None:
            if len(self._known) >= self.size:
                self._known.clear()
            self._known[token] = (time.monotonic(), principal)
        return principal

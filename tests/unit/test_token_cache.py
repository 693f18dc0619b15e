"""Verified tokens are remembered briefly; unknown ones never, and a removed token stops within the ttl."""

from __future__ import annotations

import time

from sqlalchemy import delete

from shotbridge_backend import auth
from shotbridge_backend.db import Database, ProjectRow, TokenRow


def test_a_known_token_is_remembered_and_forgotten_when_removed(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    cache = auth.TokenCache(db, ttl=0.2)
    with db.session() as s:
        s.add(ProjectRow(id="p-a", name="a"))
    token = auth.issue(db, "p-a")
    assert cache.cached(token) is None
    principal = cache.lookup(token)
    assert principal is not None and principal.project_id == "p-a"
    with db.session() as s:
        s.execute(delete(TokenRow))
    assert cache.cached(token) == principal  # within the ttl, no database query
    time.sleep(0.25)
    assert cache.cached(token) is None and cache.lookup(token) is None


def test_an_unknown_token_is_never_cached(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    cache = auth.TokenCache(db)
    assert cache.lookup("sbt_nobody") is None and cache.cached("sbt_nobody") is None

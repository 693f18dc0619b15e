"""Requests no route can take: a NUL character (%00 in the URL, \\u0000 in a JSON body) is refused with 400
before any route runs. Names, notes and filters reach the database, and PostgreSQL text cannot hold a NUL
(SQLite can), so the same request must fail the same way, and clearly, on both."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from .body_limits import replaying


def nul_in(scope) -> str | None:
    """Where the request's URL holds a NUL: "path", "query", or None."""
    if "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope.get("raw_path") or b""):
        return "path"
    if b"\x00" in unquote_to_bytes(scope.get("query_string") or b""):
        return "query"
    return None


def holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


def body_holds_nul(body: bytes) -> bool:
    """Whether a JSON body holds a NUL in any key or string; a body that is not JSON is the route's to refuse."""
    if b"\\u0000" not in body:  # the cheap test first: JSON writes a NUL as \u0000
        return False
    try:
        return holds_nul(json.loads(body))
    except ValueError:
        return False


class NulRefused:
    """ASGI middleware: `refuse(where, scope, receive, send)` answers a request whose URL or JSON body holds a
    NUL. Install it inside JsonBodyLimit, which hands on a JSON body whole, in one message."""

    def __init__(self, app, refuse):
        self.app, self.refuse = app, refuse

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        where = nul_in(scope)
        if where is None and scope["method"] not in ("GET", "HEAD") and b"json" in dict(scope["headers"]).get(
                b"content-type", b""):
            message = await receive()
            if body_holds_nul(message.get("body", b"")):
                where = "body"
            receive = replaying(message, receive)
        if where is not None:
            return await self.refuse(where, scope, receive, send)
        return await self.app(scope, receive, send)

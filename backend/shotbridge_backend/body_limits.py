"""Size caps on request bodies, so one request cannot make the backend buffer gigabytes of JSON.

JSON bodies (jobs, characters, policies, timeline posts) are capped here, before and while they are read;
uploads are capped by the asset store as they stream (media: SHOTBRIDGE_MAX_ASSET_BYTES; timelines:
SHOTBRIDGE_TIMELINE_MAX_BYTES). Every refusal is a 413 that names the limit.
"""

from __future__ import annotations

import re

ASSET_UPLOAD = re.compile(r"^/v1/projects/[^/]+/assets/[^/]+$")


class BodyTooLarge(Exception):
    def __init__(self, limit: int, setting: str):
        super().__init__(f"The request body is over the limit of {limit} bytes ({setting}). Send less per request; "
                         "media and timelines go up as assets (PUT /v1/projects/{project}/assets/{sha256}).")
        self.limit = limit


class JsonBodyLimit:
    """ASGI middleware: a body over `limit` bytes on any route but an asset upload is refused with 413."""

    setting = "SHOTBRIDGE_MAX_JSON_BYTES"

    def __init__(self, app, limit: int, refuse):
        self.app, self.limit, self.refuse = app, limit, refuse

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD") or ASSET_UPLOAD.match(scope["path"]):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self.refuse(BodyTooLarge(self.limit, self.setting), scope, receive, send)
        # Read the whole body first (it is small by definition), so an oversized one is answered here with 413
        # instead of failing inside the route's body parser.
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            more = message.get("more_body", False)
            if seen > self.limit:  # a chunked body that never said its length
                return await self.refuse(BodyTooLarge(self.limit, self.setting), scope, receive, send)
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await self.app(scope, replaying(body, receive), send)


def replaying(message: dict, receive):
    """An ASGI receive that gives `message` (a body already read) first, then what `receive` gives."""
    replayed = False

    async def replay():
        nonlocal replayed
        if not replayed:
            replayed = True
            return message
        return await receive()

    return replay

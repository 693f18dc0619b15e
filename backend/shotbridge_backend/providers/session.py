"""A job's line to one provider: every request passes the policy gate, is audited, retried, timed and cancelable.

Adapters send through `ProviderSession.request` (HTTP via requests) or, for transports of their own (boto3,
websockets), call `gate` + `record`/`finish` around each call. Inputs leave only as `Outgoing` objects made by
`outgoing()`: metadata stripped, a neutral file name, and an audit entry naming their sha256 and size.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from shotbridge.hashing import sha256_bytes
from shotbridge.models import DataKind, EgressAsset, PolicyDecision

from ..operations.base import Canceled
from ..sanitize import SanitizeError, clean_image
from .base import VIDEO, InputImage, ProviderAdapter, ProviderError, ProviderTimeout, ProviderUnavailable

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 60.0  # a provider asking us to wait longer than this fails the job instead


class PolicyRefused(Exception):
    """The project's policy does not let this data go to this provider; nothing was sent."""

    def __init__(self, decision: PolicyDecision):
        super().__init__(decision.detail)
        self.decision = decision


class EgressRecorder(Protocol):
    def begin(self, *, provider: str, method: str, url: str, bytes_sent: int, data: list[DataKind],
              assets: list[EgressAsset]) -> str: ...

    def finish(self, record_id: str, status: int | None, outcome: str) -> None: ...


@dataclass
class Outgoing:
    """An input as it leaves: cleaned bytes under a name that says nothing about the studio."""

    data: bytes
    filename: str
    media_type: str
    asset: EgressAsset


class ProviderSession:
    def __init__(self, provider: ProviderAdapter, *, gate: Callable[[set[DataKind]], None],
                 recorder: EgressRecorder, progress: Callable[[float, str], None], canceled: Callable[[], bool],
                 work_dir: Path, timeout: float = 120.0, connect_timeout: float = 5.0, max_attempts: int = 4,
                 backoff: float = 0.5):
        self.provider = provider
        self.gate = gate
        self.recorder = recorder
        self._progress = progress
        self._canceled = canceled
        self.work_dir = work_dir
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self._adapter = _AbortableAdapter()
        self.http = requests.Session()
        self.http.mount("http://", self._adapter)
        self.http.mount("https://", self._adapter)
        self.http.headers["User-Agent"] = "ShotBridge"
        # A session lasts the whole job (every frame of a per-frame operation): what an adapter keeps between
        # its requests (inputs already uploaded, an open progress connection) lives here, and goes at close.
        self.state: dict[str, Any] = {}
        self._closers: list[Callable[[], None]] = []

    # -- job side ------------------------------------------------------------------------------------------

    def progress(self, fraction: float, message: str = "") -> None:
        self._progress(fraction, message)  # also the cancel checkpoint

    def canceled(self) -> bool:
        return self._canceled()

    def check_canceled(self) -> None:
        if self._canceled():
            raise Canceled()

    def sleep(self, seconds: float) -> None:
        """Wait, waking early (with Canceled) when the job is canceled."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.check_canceled()
            time.sleep(min(0.05, left))
        self.check_canceled()

    # -- inputs --------------------------------------------------------------------------------------------

    def outgoing(self, image: InputImage) -> Outgoing:
        if image.role == VIDEO:
            return self._outgoing_movie(image)
        try:
            clean = clean_image(image.path.read_bytes())
        except SanitizeError as exc:
            raise ProviderError(f"input '{image.role}' cannot be sent to {self.provider.name}: {exc}") from exc
        sha = sha256_bytes(clean.data)
        asset = EgressAsset(sha256=sha, size=len(clean.data), role=image.role, kind=image.kind,
                            source_sha256=image.source_sha256, stripped=clean.stripped)
        return Outgoing(clean.data, f"{image.role}_{sha[:12]}{clean.extension}", clean.media_type, asset)

    def _outgoing_movie(self, image: InputImage) -> Outgoing:
        """A movie ShotBridge encoded itself from decoded frames (operations/video_io.write_movie): it carries no
        metadata of the source, so it goes as written; anything else is refused, never sent unexamined."""
        data = image.path.read_bytes()
        if data[4:8] != b"ftyp" or image.path.suffix != ".mp4":
            raise ProviderError(f"input '{image.role}' cannot be sent to {self.provider.name}: only movies that "
                                "ShotBridge wrote from decoded frames (MPEG-4) go out as video inputs")
        sha = sha256_bytes(data)
        asset = EgressAsset(sha256=sha, size=len(data), role=image.role, kind=image.kind,
                            source_sha256=image.source_sha256, stripped=[])
        return Outgoing(data, f"{image.role}_{sha[:12]}.mp4", "video/mp4", asset)

    # -- sending -------------------------------------------------------------------------------------------

    def record(self, method: str, url: str, *, bytes_sent: int = 0, sent: Sequence[Outgoing] = (),
               kinds: Iterable[DataKind] = ()) -> str:
        """Check the policy for what this request carries, then write its audit entry (before it is sent)."""
        data = set(kinds) | {o.asset.kind for o in sent}
        self.gate(data)
        return self.recorder.begin(provider=self.provider.name, method=method, url=_redact(url),
                                   bytes_sent=bytes_sent, data=sorted(data, key=lambda k: k.value),
                                   assets=[o.asset for o in sent])

    def finish(self, record_id: str, status: int | None, outcome: str) -> None:
        self.recorder.finish(record_id, status, outcome)

    def request(self, method: str, url: str, *, sent: Sequence[Outgoing] = (), kinds: Iterable[DataKind] = (),
                timeout: float | None = None, retry: bool = True,
                retryable: Callable[[requests.Response], bool] | None = None, cleanup: bool = False,
                **kwargs: Any) -> requests.Response:
        """One logical request: audited per attempt, retried on throttling and server errors (honouring
        Retry-After), failing with ProviderTimeout when the provider does not answer within `timeout`.
        `retryable(response)` lets an adapter refuse a retry the status alone would allow (a 429 that means
        "out of quota" will not get better in a second). `cleanup` marks a request that stops work at the
        provider after a cancel (an interrupt): it goes out once even though the job is canceled."""
        kinds = list(kinds)
        prepared = self.http.prepare_request(requests.Request(method, url, **kwargs))
        body = prepared.body.encode() if isinstance(prepared.body, str) else (prepared.body or b"")
        read_timeout = timeout or self.timeout
        attempts = self.max_attempts if retry and not cleanup else 1
        for attempt in range(1, attempts + 1):
            if not cleanup:
                self.check_canceled()
            record = self.record(method, url, bytes_sent=len(body), sent=sent, kinds=kinds)
            try:
                response = self._send(prepared, read_timeout, watch=not cleanup)
            except Canceled:
                self.finish(record, None, "canceled")
                raise
            except requests.exceptions.ConnectTimeout as exc:
                self.finish(record, None, "error")
                if attempt < attempts:
                    self.sleep(self._delay(attempt, None))
                    continue
                raise self._unreachable(url, exc) from exc
            except requests.exceptions.ReadTimeout as exc:
                self.finish(record, None, "timeout")
                raise ProviderTimeout(f"{self.provider.name} did not answer {method} {urlsplit(url).path} within "
                                      f"{read_timeout:g} s; the provider may be overloaded or hung "
                                      "(raise `timeout` for it in providers.toml if its jobs are long)") from exc
            except requests.exceptions.ConnectionError as exc:
                self.finish(record, None, "error")
                if _refused(exc) and attempt < attempts:
                    self.sleep(self._delay(attempt, None))
                    continue
                raise self._unreachable(url, exc) from exc
            outcome = "ok" if response.status_code < 400 else "error"
            self.finish(record, response.status_code, outcome)
            if (response.status_code in RETRY_STATUSES and attempt < attempts
                    and (retryable is None or retryable(response))):
                wait = self._delay(attempt, _retry_after(response.headers))
                log.info("%s answered %s; retrying in %.2f s (attempt %d of %d)", self.provider.name,
                         response.status_code, wait, attempt + 1, attempts)
                response.close()
                self.sleep(wait)
                continue
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run `closer` when the job is done with the provider (last registered, first run)."""
        self._closers.append(closer)

    def close(self) -> None:
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception as exc:  # the job is over: a close that fails is worth a line in the log, no more
                log.warning("%s: closing after the job failed (%s: %s)", self.provider.name, type(exc).__name__, exc)
        self.state.clear()
        self.http.close()

    # -- internals -----------------------------------------------------------------------------------------

    def _send(self, prepared: requests.PreparedRequest, read_timeout: float, watch: bool = True) -> requests.Response:
        """Send, with a watchdog that closes the socket when the job is canceled: the provider sees the
        client go away, and the job thread stops waiting at once."""
        if not watch:
            return self.http.send(prepared, timeout=(self.connect_timeout, read_timeout), allow_redirects=False)
        done = threading.Event()
        aborted = threading.Event()

        def watch() -> None:
            while not done.wait(0.05):
                if self._canceled():
                    aborted.set()
                    self._adapter.abort()
                    return

        watchdog = threading.Thread(target=watch, name="shotbridge-cancel-watch", daemon=True)
        watchdog.start()
        try:
            # No redirects: a hop to another host would be a request the audit did not see.
            response = self.http.send(prepared, timeout=(self.connect_timeout, read_timeout), allow_redirects=False)
            response.content  # read the body under the watchdog too  # noqa: B018
            return response
        except requests.exceptions.RequestException:
            if aborted.is_set():
                raise Canceled() from None
            raise
        finally:
            done.set()
            watchdog.join()

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                wait = float(retry_after)
            except ValueError:
                wait = None
            if wait is not None:
                if wait > MAX_RETRY_AFTER:
                    raise ProviderError(f"{self.provider.name} asks to wait {wait:g} s before retrying; giving up "
                                        "(retry the job later)", status=429)
                return max(0.0, wait)
        return self.backoff * (2 ** (attempt - 1)) * (0.75 + random.random() / 2)

    def _unreachable(self, url: str, exc: Exception) -> ProviderUnavailable:
        base = urlunsplit(urlsplit(url)._replace(path="", query="", fragment=""))
        return ProviderUnavailable(f"{self.provider.name} at {base} cannot be reached ({type(exc).__name__}); "
                                   "check its url in providers.toml and that the server is running")


SECRET_QUERY = ("sig", "token", "key", "credential", "secret", "auth", "password")


def _redact(url: str) -> str:
    """The URL as the audit keeps it: no user:password, and no values of signature or token parameters
    (a signed download URL is a credential while it lasts)."""
    parts = urlsplit(url)
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else parts.netloc
    query = "&".join(
        f"{name}=REDACTED" if sep and any(word in name.lower() for word in SECRET_QUERY) else item
        for item in parts.query.split("&") if item
        for name, sep, _value in [item.partition("=")])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _retry_after(headers) -> str | None:
    """Retry-After in seconds, or OpenAI's retry-after-ms converted to seconds."""
    if headers.get("Retry-After"):
        return headers["Retry-After"]
    ms = headers.get("retry-after-ms")
    try:
        return str(float(ms) / 1000.0) if ms else None
    except ValueError:
        return None


def _refused(exc: Exception) -> bool:
    """Connection refused before anything was sent: safe to retry any request."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return True
        cause = cause.__cause__ or cause.__context__
    return "Connection refused" in str(exc) or "NewConnectionError" in str(exc)


class _AbortableAdapter(HTTPAdapter):
    """requests' adapter, with the sockets it opens kept so a cancel can shut them down mid-request."""

    def __init__(self) -> None:
        self._open: set[HTTPConnection] = set()
        self._lock = threading.Lock()
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": self._pool(HTTPConnectionPool, HTTPConnection),
                                                   "https": self._pool(HTTPSConnectionPool, HTTPSConnection)}

    def _pool(self, pool_cls: type, conn_cls: type) -> type:
        adapter = self

        class Tracked(conn_cls):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                with adapter._lock:
                    adapter._open.add(self)

            def close(self) -> None:
                with adapter._lock:
                    adapter._open.discard(self)
                super().close()

        return type(f"Abortable{pool_cls.__name__}", (pool_cls,), {"ConnectionCls": Tracked})

    def abort(self) -> None:
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            sock = getattr(conn, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

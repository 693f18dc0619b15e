"""Several ComfyUI servers as one GPU pool (a `comfyui` entry with `urls = [...]`).

Each server runs one prompt at a time. A job goes to a server that is free (nothing running or waiting in its
/queue) and whose /object_info has the template's nodes and models; when none is free the job waits here
(cancelable, saying so in its progress) instead of piling onto one box. When its server goes down the job
moves to another one: the inputs are uploaded again there and the run starts over.

Across processes (studio mode: several workers, each with this pool) the state that matters lives on the
servers themselves: every choice starts from each server's own /queue. That leaves a gap between "its queue
is empty" and "our prompt is in it" in which two workers could pick the same box. A claim closes it: a Redis
key per server (SET NX with a short expiry) when a broker is configured, an in-process lock otherwise. The
claim is held while the job runs on the server and released after; it expires by itself if its worker dies, and
after the expiry the server's /queue (which by then shows the prompt) keeps others away. Nothing else is
stored: a server restarted, added or drained is seen at the next look, and no lease table can disagree with
the servers. Worst case (a claim expired between two prompts of one job) a prompt waits in a server's queue
behind one other; it is never lost or run twice.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from shotbridge.models import ProviderServer

from .base import Generated, GenerationRequest, ProviderError, ProviderTimeout, ProviderUnavailable
from .comfyui import FINISHED

if TYPE_CHECKING:
    from .comfyui import ComfyUIProvider, Template
    from .session import ProviderSession

log = logging.getLogger(__name__)

CLAIM_SECONDS = 30.0  # a claim outlives a dead worker by at most this
DOWN_RECHECK = 5.0  # a server found down is asked again after this many seconds
PROBE_TIMEOUT = 5.0
SERVER = "comfyui.server"  # session.state: the url the job's uploads and WebSocket belong to


@dataclass
class ServerLook:
    """One server as seen now."""

    member: ComfyUIProvider
    state: str  # free | busy | down | unfit
    queue: int = 0
    reason: str = ""


class LocalClaims:
    """Claims within one process (the embedded backend's thread pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, str] = {}

    def take(self, url: str) -> str | None:
        with self._lock:
            if url in self._held:
                return None
            token = self._held[url] = uuid.uuid4().hex
            return token

    def release(self, url: str, token: str) -> None:
        with self._lock:
            if self._held.get(url) == token:
                del self._held[url]


_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisClaims:
    """Claims shared by every process on the studio's Redis (the Celery broker). Redis unreachable: the claim
    is taken locally only and the servers' queues still keep jobs apart (at worst one waits behind another)."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._local = LocalClaims()

    def take(self, url: str) -> str | None:
        token = self._local.take(url)
        if token is None:
            return None
        try:
            if self._redis.set(self._key(url), token, nx=True, px=int(CLAIM_SECONDS * 1000)):
                return token
        except Exception as exc:  # redis errors: the queues alone decide (see the class docstring)
            log.warning("comfyui pool: cannot claim %s on Redis (%s); relying on its queue", url, exc)
            return token
        self._local.release(url, token)
        return None

    def release(self, url: str, token: str) -> None:
        self._local.release(url, token)
        try:
            self._redis.eval(_RELEASE, 1, self._key(url), token)
        except Exception as exc:  # it expires by itself
            log.warning("comfyui pool: cannot release the claim on %s (%s); it expires in %g s", url, exc,
                        CLAIM_SECONDS)

    @staticmethod
    def _key(url: str) -> str:
        return f"shotbridge:comfyui:claim:{url}"


class ServerPool:
    def __init__(self, owner: ComfyUIProvider, members: list[ComfyUIProvider]):
        self.owner = owner
        self.members = members
        self.claims: LocalClaims | RedisClaims = LocalClaims()
        self._down: dict[str, tuple[float, str]] = {}  # url -> (when seen down, why)
        self._lock = threading.Lock()
        # Jobs of this process waiting for a server wake when one of ours is freed; a server freed by another
        # process is seen at the next look, one poll_interval later at most.
        self._freed = threading.Condition()
        self._frees = 0

    def share_claims(self, broker_url: str) -> None:
        self.claims = RedisClaims(broker_url)

    # -- looking at the servers ------------------------------------------------------------------------------

    def _get(self, member: ComfyUIProvider, path: str) -> requests.Response:
        # A bare GET that carries no studio data (like the health check): not an egress audit entry.
        return requests.get(f"{member.url}{path}", headers=self.owner._headers(),
                            timeout=(self.owner._float("connect_timeout", 5.0), PROBE_TIMEOUT))

    def _queue(self, member: ComfyUIProvider) -> int | str:
        """Prompts running or waiting on the server, or why it cannot say (down)."""
        with self._lock:
            seen = self._down.get(member.url)
        if seen and time.monotonic() - seen[0] < DOWN_RECHECK:
            return seen[1]
        try:
            response = self._get(member, "/queue")
            body = response.json() if response.status_code == 200 else None
        except (requests.exceptions.RequestException, ValueError) as exc:
            body, why = None, f"cannot be reached ({type(exc).__name__})"
        else:
            why = f"answered /queue with {response.status_code}"
        if not isinstance(body, dict):
            self.mark_down(member, why)
            return why
        with self._lock:
            self._down.pop(member.url, None)
        return len(body.get("queue_running") or []) + len(body.get("queue_pending") or [])

    def mark_down(self, member: ComfyUIProvider, why: str) -> None:
        with self._lock:
            self._down[member.url] = (time.monotonic(), why)

    def _info_of(self, member: ComfyUIProvider) -> dict[str, Any] | str:
        """The member's /object_info (read once), or why it cannot be had."""
        with member._info_lock:
            info = member._info
        if info is None:
            try:
                info = member._parse_info(self._get(member, "/object_info"))
            except requests.exceptions.RequestException as exc:
                return f"cannot be reached ({type(exc).__name__})"
            if isinstance(info, str):
                return info
            member._remember_info(info)
        return info

    def _unfit(self, member: ComfyUIProvider, template: Template, values: dict[str, Any]) -> str:
        from .comfyui import check_template

        info = self._info_of(member)
        return info if isinstance(info, str) else check_template(template, info, values)

    def look(self, template: Template, values: dict[str, Any], skip: dict[str, str]) -> list[ServerLook]:
        looks = []
        for member in self.members:
            if member.url in skip:
                looks.append(ServerLook(member, "down", reason=skip[member.url]))
                continue
            queue = self._queue(member)
            if isinstance(queue, str):
                looks.append(ServerLook(member, "down", reason=queue))
                continue
            unfit = self._unfit(member, template, values)
            if unfit:
                looks.append(ServerLook(member, "unfit", queue, unfit))
            else:
                looks.append(ServerLook(member, "free" if queue == 0 else "busy", queue))
        return looks

    def report(self) -> list[ProviderServer]:
        """Each server's state and queue, for `shotbridge providers` (every template in use must fit)."""
        out = []
        for member in self.members:
            member.secrets = self.owner.secrets
            queue = self._queue(member)
            if isinstance(queue, str):
                out.append(ProviderServer(url=member.shown_url, state="down", reason=queue))
                continue
            problem = member.health()
            state = "unfit" if problem else ("free" if queue == 0 else "busy")
            out.append(ProviderServer(url=member.shown_url, state=state, queue=queue, reason=problem))
        return out

    def health(self) -> str:
        """"" while any server can run the templates; otherwise every server's reason."""
        reasons = []
        for member in self.members:
            member.secrets = self.owner.secrets
            reason = member.health()
            if not reason:
                return ""
            reasons.append(f"{member.shown_url}: {reason}")
        return f"no server of {self.owner.name} can run its templates: " + "; ".join(reasons)

    # -- running a job ---------------------------------------------------------------------------------------

    def _template_problems(self, request: GenerationRequest) -> dict[str, str]:
        """Per template for the request's task: "" when some server of the pool can run it, else each one's
        reason (so the owner picks a template that runs somewhere: Flux Kontext where no server has Qwen)."""
        answering = []
        for member in self.members:
            member.secrets = self.owner.secrets
            if not isinstance(self._info_of(member), str):
                answering.append(member)
        problems: dict[str, str] = {}
        if not answering:  # no server answers: the job's own look at the pool says so, server by server
            return problems
        for template in self.owner._in_use():
            if template.task != request.task:
                continue
            values = self.owner.setting_values(template)
            reasons = [(m, self._unfit(m, template, values)) for m in answering]
            problems[template.name] = "" if any(not r for _m, r in reasons) else \
                "; ".join(f"{m.shown_url}: {r}" for m, r in reasons)
        return problems

    def generate(self, request: GenerationRequest, session: ProviderSession) -> Generated:
        self.owner.choose_template(request, healthy=False)  # inputs no template takes: refused before any request
        self.owner.template_problems.update(self._template_problems(request))
        template = self.owner.choose_template(request)
        values = self.owner.setting_values(template)
        lost: dict[str, str] = {}  # servers this job cannot use any more: url -> why
        deadline = time.monotonic() + self.owner._float("job_timeout", 1800.0)
        interval = self.owner._float("poll_interval", 1.0)
        said = ""
        while True:
            session.check_canceled()
            frees = self._frees
            looks = self.look(template, values, lost)
            usable = [s for s in looks if s.state in ("free", "busy")]
            if not usable:
                raise ProviderUnavailable(f"{self.owner.name}: no server of the pool can run template "
                                          f"{template.name}: " + "; ".join(f"{s.member.shown_url} {s.state}: "
                                                                           f"{s.reason}" for s in looks))
            free = [s for s in usable if s.state == "free"]
            random.shuffle(free)  # workers that look at the same moment start from different servers
            chosen = token = None
            for look in free:
                token = self.claims.take(look.member.url)
                if token is not None:
                    chosen = look.member
                    break
            if chosen is None:
                if time.monotonic() > deadline:
                    raise ProviderTimeout(f"{self.owner.name}: no server became free within "
                                          f"{self.owner._float('job_timeout', 1800):g} s")
                message = f"waiting for a free server of {self.owner.name} ({len(usable)} busy, " \
                          f"{sum(s.queue for s in usable)} prompts on them)"
                if message != said:
                    said = message
                    session.progress(0.01, message)
                self._wait(session, interval, frees)
                continue
            release = self._releaser(chosen, token)
            try:
                session.state[FINISHED] = release
                return self._run_on(chosen, request, session)
            except (ProviderUnavailable, ProviderError) as exc:
                if session.canceled() or not self._moves(exc):
                    raise
                lost[chosen.url] = str(exc)
                if isinstance(self._queue_now(chosen), str):
                    self.mark_down(chosen, str(exc))
                log.warning("%s: %s failed the job (%s); moving it to another server", self.owner.name,
                            chosen.shown_url, exc)
                session.progress(0.01, f"{chosen.shown_url} went away; moving to another server")
            finally:
                session.state.pop(FINISHED, None)
                release()

    def _releaser(self, member: ComfyUIProvider, token: str) -> Callable[[], None]:
        """Frees the claim once (when the prompt has run, or when the job leaves the server) and wakes the
        jobs of this process that wait for a server."""
        done = threading.Event()

        def release() -> None:
            if not done.is_set():
                done.set()
                self.claims.release(member.url, token)
                with self._freed:
                    self._frees += 1
                    self._freed.notify_all()

        return release

    def _wait(self, session: ProviderSession, interval: float, frees: int) -> None:
        """Until a server of ours is freed (since `frees`) or `interval` has passed; cancelable."""
        end = time.monotonic() + interval
        with self._freed:
            while self._frees == frees:
                left = end - time.monotonic()
                if left <= 0:
                    return
                self._freed.wait(min(left, 0.2))
                if session.canceled():
                    break
        session.check_canceled()

    @staticmethod
    def _moves(exc: Exception) -> bool:
        """Whether the job may go to another server: the server went away (unreachable, or restarted and
        forgot the prompt), not the workflow failing on it."""
        return isinstance(exc, ProviderUnavailable) or getattr(exc, "code", None) == "prompt_lost"

    def _queue_now(self, member: ComfyUIProvider) -> int | str:
        with self._lock:
            self._down.pop(member.url, None)
        return self._queue(member)

    def _run_on(self, member: ComfyUIProvider, request: GenerationRequest,
                session: ProviderSession) -> Generated:
        from .comfyui import UPLOADED

        if session.state.get(SERVER) != member.url:
            # uploads and the progress WebSocket belong to the server they were made on
            session.state.pop(UPLOADED, None)
            member._drop_socket(session)
            session.state[SERVER] = member.url
        member.secrets = self.owner.secrets
        result = member.generate(request, session)
        result.reproduce["server"] = member.shown_url
        return result

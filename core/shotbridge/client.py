"""HTTP client for the ShotBridge backend, used by the CLI and by every host adapter.

Every call has a timeout; idempotent calls (and any call the server answers with 429/503) are retried with
backoff, honouring Retry-After. Uploads go by content hash: the client asks first, so the same bytes are
never sent twice, and streams the file in chunks so memory stays flat whatever the file size.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from pydantic import TypeAdapter

from . import config
from .errors import BackendUnreachable, HashMismatch, JobFailed, ShotBridgeError, error_for
from .hashing import CHUNK, HashCache
from .models import (
    Asset,
    Character,
    Credentials,
    EgressRecord,
    Estimate,
    Health,
    Job,
    JobSubmit,
    Operation,
    Problem,
    Project,
    ProjectPolicy,
    ProjectWithToken,
    Provider,
    TimelineVersion,
)
from .safenames import UnsafeName, clashing, inside

RETRY_STATUS = {429, 503}
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}


class Client:
    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        retries: int = 4,
        backoff: float = 0.25,
        cache_dir: Path | None = None,
    ):
        settings = config.load_settings() if url is None or token is None else None
        self.url = (url or settings.url).rstrip("/")
        self.token = token if token is not None else settings.token
        self.timeout = (connect_timeout, timeout)
        self.retries = retries
        self.backoff = backoff
        self.cache_dir = Path(cache_dir) if cache_dir else config.cache_dir() / "objects"
        self.session = requests.Session()
        if self.token:
            self.session.headers["Authorization"] = f"Bearer {self.token}"
        self.session.headers["User-Agent"] = "shotbridge-client/0.1"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool | None = None,
        expect: tuple[int, ...] = (200, 201, 202, 204),
        stream: bool = False,
        timeout: Any = None,
        rewind: Callable[[], Any] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One API call with retries. `rewind` re-creates a streamed body before a retry."""
        url = f"{self.url}{path}"
        idempotent = method in IDEMPOTENT if idempotent is None else idempotent
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self.session.request(
                    method, url, timeout=timeout or self.timeout, stream=stream, **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not idempotent or attempt > self.retries:
                    raise BackendUnreachable(self.url, _short_reason(exc)) from exc
                self._sleep(attempt, None)
                if rewind:
                    kwargs["data"] = rewind()
                continue
            if resp.status_code in RETRY_STATUS and attempt <= self.retries:
                retry_after = resp.headers.get("Retry-After")
                resp.close()
                self._sleep(attempt, retry_after)
                if rewind:
                    kwargs["data"] = rewind()
                continue
            if resp.status_code not in expect:
                raise error_for(_problem_of(resp))
            return resp

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
        if retry_after:
            try:
                delay = max(0.0, float(retry_after))
            except ValueError:
                pass
        time.sleep(min(delay, 30.0))

    def _get(self, path: str, model: Any, **params: Any) -> Any:
        resp = self._request("GET", path, params={k: v for k, v in params.items() if v is not None})
        return TypeAdapter(model).validate_python(resp.json())

    # -- service -----------------------------------------------------------------------------------------

    def health(self) -> Health:
        return self._get("/v1/health", Health)

    def operations(self) -> list[Operation]:
        return self._get("/v1/operations", list[Operation])

    def providers(self) -> list[Provider]:
        return self._get("/v1/providers", list[Provider])

    # -- projects ----------------------------------------------------------------------------------------

    def projects(self) -> list[Project]:
        return self._get("/v1/projects", list[Project])

    def create_project(self, name: str, description: str = "") -> ProjectWithToken:
        resp = self._request("POST", "/v1/projects", json={"name": name, "description": description})
        return ProjectWithToken.model_validate(resp.json())

    def project(self, project: str) -> Project:
        return self._get(f"/v1/projects/{project}", Project)

    def ensure_project(self, name: str) -> Project:
        """The project called `name`, created if it does not exist yet."""
        for proj in self.projects():
            if proj.name == name or proj.id == name:
                return proj
        return self.create_project(name)

    # -- assets ------------------------------------------------------------------------------------------

    def asset(self, project: str, sha256: str) -> Asset | None:
        try:
            return self._get(f"/v1/projects/{project}/assets/{sha256}", Asset)
        except ShotBridgeError as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise

    def credentials(self, project: str, sha256: str) -> Credentials:
        """Whether the asset's Content Credentials verify against the backend's studio trust anchor."""
        return self._get(f"/v1/projects/{project}/assets/{sha256}/credentials", Credentials)

    def assets(self, project: str) -> list[Asset]:
        return self._get(f"/v1/projects/{project}/assets", list[Asset])

    def upload(self, project: str, path: str | os.PathLike, media_type: str | None = None) -> Asset:
        """Upload a file by content hash; bytes the project already has are not sent again."""
        path = Path(path)
        if not path.is_file():
            raise ShotBridgeError(f"Cannot upload {path}: no such file.")
        digest = HashCache(self.cache_dir / "hashes.sqlite3").sha256(path)
        existing = self.asset(project, digest)
        if existing is not None:
            return existing
        size = path.stat().st_size
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),
            "X-ShotBridge-Filename": _header_safe(path.name),
            "X-ShotBridge-Media-Type": media_type or guess_media_type(path),
        }

        def body() -> Any:
            return _FileChunks(path, size)

        resp = self._request(
            "PUT",
            f"/v1/projects/{project}/assets/{digest}",
            data=body(),
            headers=headers,
            rewind=body,
            timeout=(self.timeout[0], max(self.timeout[1], 300.0)),
        )
        return Asset.model_validate(resp.json())

    def download(self, project: str, sha256: str, dest: str | os.PathLike | None = None) -> Path:
        """Fetch an asset into the local content-addressed cache (atomic) and return its path.

        With `dest`, the cached file is also linked or copied there.
        """
        cached = self.cache_dir / sha256[:2] / sha256
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            resp = self._request(
                "GET", f"/v1/projects/{project}/assets/{sha256}/content", stream=True,
                timeout=(self.timeout[0], max(self.timeout[1], 300.0)),
            )
            tmp = cached.with_name(f".{sha256}.{uuid.uuid4().hex}.part")
            h = hashlib.sha256()
            try:
                with resp, open(tmp, "wb") as fh:
                    for chunk in resp.iter_content(CHUNK):
                        h.update(chunk)
                        fh.write(chunk)
                if h.hexdigest() != sha256:
                    raise HashMismatch(
                        f"Downloaded bytes of asset {sha256} hash to {h.hexdigest()}; the transfer was "
                        "corrupted. Try again."
                    )
                os.replace(tmp, cached)
            finally:
                tmp.unlink(missing_ok=True)
        if dest is None:
            return cached
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        tmp.unlink(missing_ok=True)
        try:
            os.link(cached, tmp)
        except OSError:
            shutil.copyfile(cached, tmp)
        os.replace(tmp, dest)
        return dest

    def download_outputs(self, job: Job, folder: str | os.PathLike) -> dict[str, Path]:
        """A job's outputs into `folder` under their names ({name: path}). Each name must be a plain file name
        that stays in the folder and no two may differ only in case (one file on macOS and Windows): all are
        checked before anything is written."""
        clash = clashing(ref.name for ref in job.outputs)
        if clash:
            raise UnsafeName("outputs", clash[0][1], f"differs from {clash[0][0]!r} only in case; the two would "
                             "be one file on macOS and Windows. Refusing to write the job's outputs.")
        targets = [(ref, inside(folder, ref.name, "outputs")) for ref in job.outputs]
        return {ref.name: self.download(job.project_id, ref.sha256, path) for ref, path in targets}

    # -- character bible ---------------------------------------------------------------------------------

    def characters(self, project: str) -> list[Character]:
        return self._get(f"/v1/projects/{project}/characters", list[Character])

    def character(self, project: str, character: str) -> Character:
        return self._get(f"/v1/projects/{project}/characters/{quote(character, safe='')}", Character)

    def add_character(
        self, project: str, name: str, images: list[str | os.PathLike] = (), notes: str = "",
        hints: dict[str, Any] | None = None, face_index: int | None = None,
    ) -> Character:
        """Create a character from reference images (uploaded by content hash first)."""
        refs = [{"asset": self.upload(project, img).sha256, "face_index": face_index} for img in images]
        body = {"name": name, "notes": notes, "hints": hints or {}, "references": refs}
        resp = self._request("POST", f"/v1/projects/{project}/characters", json=body)
        return Character.model_validate(resp.json())

    def add_reference(
        self, project: str, character: str, image: str | os.PathLike, face_index: int | None = None
    ) -> Character:
        sha = self.upload(project, image).sha256
        resp = self._request("POST", f"/v1/projects/{project}/characters/{quote(character, safe='')}/references",
                             json={"asset": sha, "face_index": face_index})
        return Character.model_validate(resp.json())

    def update_character(self, project: str, character: str, *, if_version: int | None = None,
                         **fields: Any) -> Character:
        """Set the given fields. With `if_version` (a `Character.version` read earlier) the backend refuses
        the change (412) if another request changed the character since, instead of overwriting it."""
        headers = {"If-Match": f'"{if_version}"'} if if_version is not None else {}
        resp = self._request("PATCH", f"/v1/projects/{project}/characters/{quote(character, safe='')}",
                             json=fields, idempotent=True, headers=headers)
        return Character.model_validate(resp.json())

    def remove_character(self, project: str, character: str) -> None:
        self._request("DELETE", f"/v1/projects/{project}/characters/{quote(character, safe='')}")

    def remove_reference(self, project: str, character: str, reference: str) -> Character:
        resp = self._request(
            "DELETE", f"/v1/projects/{project}/characters/{quote(character, safe='')}/references/{reference}"
        )
        return Character.model_validate(resp.json())

    # -- timeline versions -------------------------------------------------------------------------------

    def post_timeline(self, project: str, name: str, source, note: str = "") -> TimelineVersion:
        """Post a cut (a file or an OTIO Timeline) and the media it references as the next version of `name`."""
        from .timeline_upload import upload_timeline

        sent = upload_timeline(self, project, source)
        resp = self._request("POST", f"/v1/projects/{project}/timelines",
                             json={"name": name, "asset": sent.sha256, "note": note})
        return TimelineVersion.model_validate(resp.json())

    def timelines(self, project: str, name: str | None = None) -> list[TimelineVersion]:
        return self._get(f"/v1/projects/{project}/timelines", list[TimelineVersion], name=name)

    def timeline_version(self, project: str, name: str, version: int | str = "latest") -> TimelineVersion:
        return self._get(f"/v1/projects/{project}/timelines/{quote(name, safe='')}/versions/{version}",
                         TimelineVersion)

    def fetch_timeline(self, project: str, name: str, version: int | str = "latest"):
        """The OTIO Timeline of a version, read from the local cache after the first fetch."""
        import opentimelineio as otio

        path = self.download(project, self.timeline_version(project, name, version).asset)
        return otio.adapters.read_from_string(path.read_text(encoding="utf-8"), "otio_json")

    def timeline_diff(self, project: str, name: str, old: int | str, new: int | str = "latest") -> dict[str, Any]:
        resp = self._request("GET", f"/v1/projects/{project}/timelines/{quote(name, safe='')}/diff",
                             params={"from": old, "to": new})
        return resp.json()

    # -- policy and the egress audit ---------------------------------------------------------------------

    def policy(self, project: str) -> ProjectPolicy:
        return self._get(f"/v1/projects/{project}/policy", ProjectPolicy)

    def set_policy(self, project: str, policy: ProjectPolicy) -> ProjectPolicy:
        """Replace the project's policy (the backend's admin token only)."""
        resp = self._request("PUT", f"/v1/projects/{project}/policy",
                             json=policy.model_dump(mode="json", by_alias=True))
        return ProjectPolicy.model_validate(resp.json())

    def estimate(self, project: str, operation: str, params: dict[str, Any] | None = None,
                 provider: str | None = None) -> Estimate:
        """Which providers could run this job, whether the policy allows each, and what it would cost."""
        body = JobSubmit(operation=operation, params=params or {}, provider=provider)
        resp = self._request("POST", f"/v1/projects/{project}/estimate", json=body.model_dump(mode="json"),
                             idempotent=True)
        return Estimate.model_validate(resp.json())

    def audit(self, project: str, job: str | None = None, provider: str | None = None,
              limit: int = 1000) -> list[EgressRecord]:
        """Every request sent to a provider for this project, newest first."""
        return self._get(f"/v1/projects/{project}/audit", list[EgressRecord], job=job, provider=provider,
                         limit=limit)

    # -- jobs --------------------------------------------------------------------------------------------

    def submit(
        self,
        project: str,
        operation: str,
        params: dict[str, Any] | None = None,
        *,
        provider: str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Submit a job. The idempotency key makes a retried submit return the same job, never a twin."""
        body = JobSubmit(operation=operation, params=params or {}, provider=provider)
        resp = self._request(
            "POST",
            f"/v1/projects/{project}/jobs",
            json=body.model_dump(mode="json"),
            headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex},
            idempotent=True,
        )
        return Job.model_validate(resp.json())

    def job(self, job_id: str) -> Job:
        return self._get(f"/v1/jobs/{job_id}", Job)

    def jobs(self, project: str | None = None, status: str | None = None, limit: int = 100) -> list[Job]:
        return self._get("/v1/jobs", list[Job], project=project, status=status, limit=limit)

    def cancel(self, job_id: str) -> Job:
        resp = self._request("POST", f"/v1/jobs/{job_id}/cancel", idempotent=True)
        return Job.model_validate(resp.json())

    def retry(self, job_id: str) -> Job:
        resp = self._request("POST", f"/v1/jobs/{job_id}/retry", idempotent=False)
        return Job.model_validate(resp.json())

    def events(self, job_id: str, *, poll_interval: float = 0.5) -> Iterator[Job]:
        """Snapshots of the job as it changes, ending with its terminal state.

        Server-sent events first; if the stream cannot be opened or breaks, fall back to polling.
        """
        last: Job | None = None
        try:
            for job in self._sse(job_id):
                last = job
                yield job
                if job.status.terminal:
                    return
        except (BackendUnreachable, requests.RequestException, ValueError):
            pass  # fall through to polling; a final state is still delivered
        while True:
            job = self.job(job_id)
            if last is None or job.model_dump() != last.model_dump():
                last = job
                yield job
            if job.status.terminal:
                return
            time.sleep(poll_interval)

    def _sse(self, job_id: str) -> Iterator[Job]:
        resp = self._request(
            "GET", f"/v1/jobs/{job_id}/events", stream=True,
            headers={"Accept": "text/event-stream"}, timeout=(self.timeout[0], 60.0),
        )
        with resp:
            data: list[str] = []
            for raw in resp.iter_lines(chunk_size=None, decode_unicode=True):
                if raw is None:
                    continue
                if raw == "":
                    if data:
                        yield Job.model_validate_json("\n".join(data))
                        data = []
                elif raw.startswith("data:"):
                    data.append(raw[5:].lstrip())

    def wait(self, job_id: str, on_event: Callable[[Job], None] | None = None, check: bool = False) -> Job:
        """Follow a job to its end; with `check`, raise JobFailed unless it succeeded."""
        job: Job | None = None
        for job in self.events(job_id):
            if on_event:
                on_event(job)
        assert job is not None
        if check and job.status.value != "succeeded":
            raise JobFailed(job)
        return job

    def run(self, project: str, operation: str, params: dict[str, Any] | None = None, **kw: Any) -> Job:
        """Submit and wait; raises JobFailed if the job does not succeed."""
        on_event = kw.pop("on_event", None)
        job = self.submit(project, operation, params, **kw)
        return self.wait(job.id, on_event=on_event, check=True)


class _FileChunks:
    """A file body that requests streams in large chunks (its default is 8 KiB) with a known length."""

    def __init__(self, path: Path, size: int):
        self.path = path
        self.len = size

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk


def guess_media_type(path: Path) -> str:
    import mimetypes

    kind, _ = mimetypes.guess_type(path.name)
    if path.suffix.lower() in (".otio",):
        return "application/vnd.opentimelineio+json"
    return kind or "application/octet-stream"


def _header_safe(name: str) -> str:
    return quote(name, safe=" ._-()[]")


def _short_reason(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return text.split(":")[-1].strip()[:120]


def _problem_of(resp: requests.Response) -> Problem:
    try:
        body = resp.json()
        if isinstance(body, dict) and "title" in body:
            body.setdefault("status", resp.status_code)
            return Problem.model_validate(body)
    except (ValueError, json.JSONDecodeError):
        pass
    return Problem(
        title=resp.reason or "HTTP error", status=resp.status_code, detail=resp.text[:500] or None
    )

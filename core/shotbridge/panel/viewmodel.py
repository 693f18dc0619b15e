"""The panel's state and actions, owned by no toolkit: Qt, Blender's UI or a test draws it.

All network work runs on worker threads; every state change is delivered through the host's dispatcher (Qt:
a queued signal; Nuke: executeInMainThread; Blender: a timer), so a view only ever reads state on its own
thread and never waits on the network.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio

from ..errors import BackendUnreachable, ShotBridgeError
from ..exchange.takes import DEFAULT, set_active_take
from ..models import Character, Job, JobStatus, Operation
from ..results import describe, localize
from ..safenames import inside
from ..watcher import Dispatcher, JobWatcher, call_now
from .form import FormField, fields_from_schema, validate
from .host import FileHost, Host
from .jobs import finished_notice
from .mask import Imaging, MaskError, ShotFrame, prepare, shot_frame
from .review import (
    Credential,
    ReviewState,
    judge_credentials,
    media_of,
    missing_reason,
    review_for,
    take_facts,
)
from .shots import ShotRow, mark_stale, shot_rows

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff"}
HOST_DECODED = {".exr", ".dpx", ".cin", ".hdr", ".sxr"}  # plates the painter asks the host to render (Nuke)


@dataclass
class Result:
    job_id: str
    name: str
    path: Path
    thumbnail: Path | None = None  # an image a view can show
    timeline: otio.schema.Timeline | None = None


@dataclass
class Take:
    clip: str
    key: str
    url: str
    state: str = "pending"  # pending | accepted | rejected (hidden by default; accepting it again restores it)
    reference: otio.core.MediaReference | None = None  # the take's media as the result timeline has it


@dataclass
class PanelState:
    connection: str = "disconnected"  # disconnected | connecting | connected | error
    connection_text: str = "Not connected"
    operations: list[Operation] = field(default_factory=list)
    operation: Operation | None = None
    fields: list[FormField] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    selection: otio.schema.Timeline | None = None
    jobs: dict[str, Job] = field(default_factory=dict)  # newest first
    job_shots: dict[str, list[str]] = field(default_factory=dict)  # the shots each job was run on
    job_lost: dict[str, str] = field(default_factory=dict)  # why the panel stopped hearing from a job
    results: list[Result] = field(default_factory=list)
    takes: list[Take] = field(default_factory=list)
    characters: list[Character] = field(default_factory=list)
    bible_text: str = ""
    message: str = ""
    review: ReviewState | None = None  # the take open in the review view
    credentials: dict[tuple[str, str], Credential] = field(default_factory=dict)  # (clip, take key) -> verdict
    mask_note: str = ""  # how the mask was fitted to the shot (scaled from another size), shown by the field
    shots: list[ShotRow] = field(default_factory=list)  # the open timeline's (or host selection's) shots
    shots_timeline: otio.schema.Timeline | None = None  # what `shots` were read from
    selected_shots: list[str] = field(default_factory=list)


class PanelViewModel:
    def __init__(self, client_factory: Callable[[], Any], dispatch: Dispatcher = call_now,
                 host: Host | None = None, project: str = "default", cache_dir: Path | None = None):
        self._client_factory = client_factory
        self.client = None
        self.dispatch = dispatch
        self.host = host
        self.project = project
        self.cache_dir = cache_dir
        self.state = PanelState()
        self._listeners: list[Callable[[str], None]] = []
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="shotbridge-panel")
        self._watcher: JobWatcher | None = None
        self._project_id: str | None = None
        self._lock = threading.Lock()
        self._closed = False  # after close() a late answer from a worker changes nothing (its view may be gone)
        self.mask_imaging: Imaging | None = None  # pixel work for mask checks; the Qt view sets QtImaging
        self._thumbnailer = None

    # -- plumbing ------------------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """`listener(topic)` runs on the dispatcher's thread after each change."""
        self._listeners.append(listener)

    def _changed(self, topic: str) -> None:
        for listener in list(self._listeners):
            listener(topic)

    def _background(self, work: Callable[[], Any], done: Callable[[Any], None], topic: str,
                    on_error: Callable[[str, str], None] | None = None) -> None:
        """Run `work` on a worker thread; hand its result (or error) back through the dispatcher."""
        def failed(topic: str, text: str) -> None:
            if not self._closed:
                (on_error or self._failed)(topic, text)

        def run() -> None:
            try:
                value = work()
            except ShotBridgeError as exc:
                self.dispatch(failed, topic, str(exc))
            except Exception as exc:  # a panel must report, never crash its host
                log.exception("panel action failed")
                self.dispatch(failed, topic, f"{type(exc).__name__}: {exc}")
            else:
                self.dispatch(self._finish, done, value, topic)

        try:
            self._pool.submit(run)
        except RuntimeError:  # the pool is shut down: the panel is closing, and a late answer starts nothing
            log.debug("panel closing: %s work not started", topic)

    def _finish(self, done: Callable[[Any], None], value: Any, topic: str) -> None:
        if self._closed:
            return
        done(value)
        self._changed(topic)

    def _failed(self, topic: str, text: str) -> None:
        if topic == "connection":
            self.state.connection, self.state.connection_text = "error", text
        elif topic == "results":
            self.state.message = (f"A job finished but its results could not be downloaded: {text} "
                                  "The outputs stay on the backend: select the job and use Fetch results to try again.")
        else:
            self.state.message = text
        self._changed(topic)

    def close(self) -> None:
        self._closed = True
        if self._watcher:
            self._watcher.stop()
        if self._thumbnailer is not None:
            self._thumbnailer.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- connection and catalogue ---------------------------------------------------------------------------

    def connect(self) -> None:
        self.state.connection, self.state.connection_text = "connecting", "Connecting..."
        self._changed("connection")

        def work():
            client = self._client_factory()
            health = client.health()
            ops = [op for op in client.operations() if op.available]
            project = client.ensure_project(self.project)
            return client, health, ops, project

        def done(value) -> None:
            self.client, health, ops, project = value
            self._project_id = project.id
            self._watcher = JobWatcher(self.client, self.dispatch)
            self.state.connection = "connected"
            self.state.connection_text = f"Connected to {self.client.url} (v{health.version}), project {project.name}"
            self.state.operations = ops
            if ops and self.state.operation is None:
                self.select_operation(ops[0].name)
            self.refresh_jobs()
            self.load_characters()

        self._background(work, done, "connection")

    def select_operation(self, name: str) -> None:
        op = next((o for o in self.state.operations if o.name == name), None)
        if op is None:
            raise ValueError(f"unknown operation {name}")
        self.state.operation = op
        self.state.fields = fields_from_schema(op.params_schema)
        self.state.values = {f.name: f.default for f in self.state.fields if f.default is not None}
        self.state.errors = {}
        self.state.mask_note = ""
        self._changed("form")

    def set_value(self, name: str, value: Any) -> None:
        self.state.values[name] = value
        self.state.errors.pop(name, None)

    def set_selection(self, timeline: otio.schema.Timeline | None) -> None:
        self.state.selection = timeline
        self._changed("selection")

    def take_selection_from_host(self) -> None:
        if self.host is not None:
            selection = self.host.selection()
            self.set_selection(selection)
            if selection is not None:
                self.show_shots(selection)

    # -- shots --------------------------------------------------------------------------------------------

    def thumbnailer(self, load: Callable[[Path], Any] | None = None):
        """The panel's one Thumbnailer (cached under the panel's cache dir), made on first use."""
        if self._thumbnailer is None or self._thumbnailer.closed:  # a view closed it: a new view, a new pool
            from ..config import cache_dir
            from .thumbnails import Thumbnailer

            self._thumbnailer = Thumbnailer((self.cache_dir or cache_dir() / "panel"),
                                            lambda fn, *args: self.dispatch(fn, *args), load=load)
        return self._thumbnailer

    def show_shots(self, timeline: otio.schema.Timeline | None, base_dir: Path | None = None) -> None:
        self.state.shots_timeline = timeline
        self.state.shots = self._with_credentials(shot_rows(timeline, base_dir))
        self.state.selected_shots = []
        self._changed("shots")

    def shots_matching(self, text: str = "", kind: str = "") -> list[ShotRow]:
        """Rows whose name, track or badges hold every word of `text` and (when given) a badge of `kind`."""
        return [r for r in self.state.shots
                if r.matches(text) and (not kind or any(b.kind == kind for b in r.badges))]

    def select_shots(self, names: list[str]) -> None:
        """The table's selection becomes the panel's (what Run sends) and, where the host can, the host's."""
        timeline = self.state.shots_timeline
        self.state.selected_shots = list(names)
        if timeline is None or not names:
            self.set_selection(timeline)
        else:
            wanted = set(names)
            picked = otio.schema.Timeline(name=timeline.name)
            track = otio.schema.Track(name="V1")
            picked.tracks.append(track)
            for clip in timeline.find_clips():
                if clip.name in wanted:
                    track.append(clip.deepcopy())
            self.set_selection(picked)
        select = getattr(self.host, "select_clips", None)
        if names and select is not None:
            note = select(list(names))
            if note:
                self.state.message = note
                self._changed("message")

    def seek(self, clip: str, frame: int) -> None:
        """Move the host's playhead to `frame` of `clip` (frames from the shot's first frame in the cut)."""
        show = getattr(self.host, "show_frame", None)
        if show is None:
            self.state.message = (f"{getattr(self.host, 'name', 'this panel')} has no playhead to move; "
                                  f"{clip} frame {frame} is where to look.")
        else:
            try:
                self.state.message = show(clip, frame) or f"{clip}: frame {frame}"
            except (ValueError, LookupError) as exc:  # the clip is no longer in the host
                self.state.message = str(exc)
        self._changed("message")

    def compare_with(self, earlier: otio.schema.Timeline) -> None:
        """Flag shots the recut from `earlier` to the shown timeline made stale (diff schema 2)."""
        current = self.state.shots_timeline
        if current is None:
            return
        from ..exchange.diff import diff_timelines

        def done(diff) -> None:
            flagged = mark_stale(self.state.shots, diff)
            self.state.message = f"{flagged} shot(s) stale after the recut" + (
                f" ({'; '.join(diff.notes)})" if diff.notes else "")

        self._background(lambda: diff_timelines(earlier, current), done, "shots")

    # -- jobs ---------------------------------------------------------------------------------------------

    def run(self) -> bool:
        """Validate the form and submit in the background; False (with errors in state) if invalid."""
        op = self.state.operation
        if op is None or self.client is None:
            self.state.message = "Connect to a backend and pick an operation first."
            self._changed("message")
            return False
        params, errors = validate(self.state.fields, self.state.values)
        needs = [f for f in self.state.fields if f.from_selection and f.required]
        if needs and self.state.selection is None:
            errors[needs[0].name] = f"{needs[0].title}: select shots first (or open a timeline)"
        elif needs and not any(True for _ in self.state.selection.find_clips()):
            errors[needs[0].name] = (f"{needs[0].title}: the timeline '{self.state.selection.name}' has no clips; "
                                     "open or select one with shots")
        self.state.errors = errors
        if errors:
            self._changed("form")
            return False
        selection = self.state.selection
        fields = list(self.state.fields)
        shots = [c.name for c in selection.find_clips()] if selection is not None else []

        masks = [f.name for f in fields if f.kind == "file" and f.name == "mask" and params.get(f.name)]
        imaging = self.mask_imaging

        def work() -> Job:
            for name in masks:  # checked against the shot (scaled, or refused) before anything is sent
                if imaging is not None:
                    params[name] = str(self._prepared_mask(Path(params[name]), selection, imaging)[0])
            if selection is not None:
                self._fill_from_selection(fields, params, selection)
            for f in fields:  # files the artist picked (a mask, a reference image) go up with the job
                if f.kind == "file" and params.get(f.name):
                    params[f.name] = self.client.upload(self._project_id, params[f.name]).sha256
            return self.client.submit(self._project_id, op.name, params)

        self._background(work, lambda job: self._track(job, shots), "jobs")
        self.state.message = f"Submitting {op.title}..."
        self._changed("message")
        return True

    def _fill_from_selection(self, fields: list[FormField], params: dict, selection) -> None:
        from ..timeline_upload import local_path, upload_timeline

        for f in fields:
            if f.kind == "timeline":
                sent = upload_timeline(self.client, self._project_id, selection)
                params[f.name] = sent.sha256
                if any(x.name == "media" for x in fields):
                    params["media"] = sent.media
            elif f.kind in ("asset", "assets"):
                paths = [local_path(c.media_reference.target_url, None) for c in selection.find_clips()
                         if isinstance(c.media_reference, otio.schema.ExternalReference)]
                shas = [self.client.upload(self._project_id, p).sha256 for p in paths if p.is_file()]
                if shas:
                    params[f.name] = shas if f.kind == "assets" else shas[0]

    def _track(self, job: Job, shots: list[str] | None = None) -> None:
        before = self.state.jobs.get(job.id)  # a lost job looked up again: its news goes through _on_event
        self.state.jobs = {job.id: before or job, **{k: v for k, v in self.state.jobs.items() if k != job.id}}
        if shots is not None:
            self.state.job_shots[job.id] = shots
        self.state.message = f"{job.operation}: {job.status.value}"
        if before is not None:
            self._on_event(job)
        self.state.job_lost.pop(job.id, None)
        self._watcher.watch(job.id, self._on_event, self._on_watch_error)

    def _on_event(self, job: Job) -> None:
        before = self.state.jobs.get(job.id)
        if before is not None and before.status.terminal and not job.status.terminal:
            return  # an event from before the job ended, arriving after its end (a cancel answered first)
        self.state.jobs[job.id] = job
        self.state.job_lost.pop(job.id, None)
        ended = job.status.terminal and (before is None or not before.status.terminal)
        if not job.status.terminal:
            self.state.message = f"{job.operation}: {job.status.value} ({job.progress:.0%}) {job.message}"
        elif ended and before is not None:  # told once, as it ends
            self.notify(*finished_notice(job, self.state.job_shots.get(job.id)))
        self._changed("jobs")
        if ended and job.status == JobStatus.succeeded:
            self._background(lambda: self._fetch_results(job), self._add_results, "results")

    def _on_watch_error(self, job_id: str, exc: Exception) -> None:
        why = f"Lost contact with this job: {exc}"
        self.state.job_lost[job_id] = why
        self.state.message = why + " Select it and Retry to follow it again."
        if isinstance(exc, BackendUnreachable):  # the backend went away: say so where the connection shows
            self.state.connection, self.state.connection_text = "error", str(exc)
            self._changed("connection")
        self._changed("jobs")

    def notify(self, text: str, level: str = "info") -> None:
        """Tell the artist in the host's own way (a status bar, a Blender report); the panel's message line
        always shows it too. `level`: info | warning | error."""
        self.state.message = text
        notify = getattr(self.host, "notify", None)
        if notify is not None:
            try:
                notify(text, level)
            except Exception:  # a host that cannot show it still has the panel's line
                log.exception("the host could not show a notification")
        self._changed("message")

    def _offline(self) -> bool:
        if self.client is None:
            self.state.message = "Not connected: connect to the backend first (Connect)."
            self._changed("message")
        return self.client is None

    def cancel(self, job_id: str) -> None:
        if self._offline():
            return
        self._background(lambda: self.client.cancel(job_id), self._update_job, "jobs")

    def retry(self, job_id: str) -> None:
        """A failed or canceled job runs again as a new job on the same shots; a job the panel lost contact
        with is looked up again and followed from where it is."""
        if self._offline():
            return
        shots = self.state.job_shots.get(job_id)
        job = self.state.jobs.get(job_id)
        if job_id in self.state.job_lost and job is not None and not job.status.terminal:
            self._background(lambda: self.client.job(job_id), lambda j: self._track(j, shots), "jobs")
            return
        self._background(lambda: self.client.retry(job_id), lambda j: self._track(j, shots), "jobs")

    def fetch_results(self, job_id: str) -> None:
        """Download a finished job's outputs again (after a download failed)."""
        job = self.state.jobs.get(job_id)
        if job is None or job.status != JobStatus.succeeded or self.client is None:
            self.state.message = "Only a job that succeeded has results to fetch."
            self._changed("message")
            return
        self._background(lambda: self._fetch_results(job), self._add_results, "results")

    def refresh_jobs(self) -> None:
        self._background(lambda: self.client.jobs(project=self._project_id, limit=50), self._set_jobs, "jobs")

    def _update_job(self, job: Job) -> None:
        self._on_event(job)  # a cancel's answer is one more state of the job: the same rules apply

    def _set_jobs(self, jobs: list[Job]) -> None:
        known = self.state.jobs
        self.state.jobs = {j.id: j for j in jobs}
        for job in jobs:  # a job that ended between its last event and this list is told and fetched, once
            before = known.get(job.id)
            if before is not None and not before.status.terminal and job.status.terminal:
                self.state.jobs[job.id] = before
                self._on_event(job)

    # -- masks (mask.py checks them, qt_mask.py paints them) --------------------------------------------

    def mask_frame(self) -> ShotFrame:
        """The frame a mask is painted on: the first selected shot's; raises MaskError saying what to do."""
        clips = list(self.state.selection.find_clips()) if self.state.selection is not None else []
        if not clips:
            raise MaskError("Select a shot first (Use selection, or open a timeline): the mask is painted on its frame.")
        return shot_frame(clips[0])

    def mask_paint_source(self) -> ShotFrame | Path:
        """What the painter shows: the shot's frame, or for media the panel cannot decode (EXR, DPX plates) a
        still the host renders of it where it can (Nuke); raises MaskError saying what to do."""
        frame = self.mask_frame()
        if frame.path.suffix.lower() in HOST_DECODED and self.host is not None and hasattr(self.host, "still"):
            try:
                return Path(self.host.still(frame.clip))
            except ValueError as exc:
                raise MaskError(str(exc)) from exc
        return frame

    def mask_folder(self) -> Path:
        import tempfile

        return (self.cache_dir or Path(tempfile.gettempdir()) / "shotbridge-panel") / "masks"

    def _prepared_mask(self, path: Path, selection, imaging: Imaging) -> tuple[Path, str]:
        """The mask checked against every selected shot (one per media file) and fitted to the first."""
        frames, seen = [], set()
        for clip in selection.find_clips() if selection is not None else []:
            try:
                frame = shot_frame(clip)
            except MaskError:  # no media to compare with (a gap-filler, an offline clip): the backend says so
                continue
            if frame.path not in seen:
                seen.add(frame.path)
                frames.append(frame)
        return prepare(path, frames, imaging, self.mask_folder())

    def use_mask(self, name: str, path: Path) -> None:
        """Check a mask (picked, painted or from the host) against the shot off the main thread; it becomes the
        field's value, scaled with a note, or the field shows why it was refused."""
        self.state.values[name] = str(path)
        imaging, selection = self.mask_imaging, self.state.selection
        if imaging is None:
            self.state.errors.pop(name, None)
            self._changed("form")
            return

        def work():
            try:
                return self._prepared_mask(Path(path), selection, imaging)
            except MaskError as exc:
                return exc

        def done(value) -> None:
            if isinstance(value, MaskError):
                self.state.errors[name] = str(value)  # shown under the field
                self.state.mask_note = ""
                return
            out, note = value
            self.state.values[name] = str(out)
            self.state.errors.pop(name, None)
            self.state.mask_note = note
            self.state.message = f"Mask ready: {Path(path).name}"

        self._background(work, done, "form")

    def mask_from_host(self, name: str) -> Path | None:
        """The host's own mask for the selected shot (call on the host's main thread): a matte it renders (Nuke
        Roto, Blender Mask) becomes the field's value; a still it grabs (Resolve) is returned to paint on.
        Hosts without either say so."""
        host = self.host
        try:
            frame = self.mask_frame()
            if host is not None and hasattr(host, "matte"):
                self.use_mask(name, host.matte(frame.clip))
                return None
            if host is not None and hasattr(host, "still"):
                return host.still(frame.clip)
            where = host.name if host is not None else "the standalone panel"
            raise MaskError(f"Masks from the host are not available in {where}: paint one (Paint...) or pick a "
                            "file (Browse...).")
        except (MaskError, ValueError) as exc:  # hosts raise ValueError saying what to select
            self.state.errors[name] = str(exc)
            self.state.message = str(exc)
            self._changed("form")
            return None

    # -- results and takes --------------------------------------------------------------------------------

    def _fetch_results(self, job: Job) -> list[Result]:
        results, files = [], {}
        folder = Path(self.client.cache_dir).parent / "results" / job.id
        for ref in job.outputs:
            path = self.client.download(job.project_id, ref.sha256)
            files[ref.name] = _named_copy(path, inside(folder, ref.name, "outputs"))
            result = Result(job.id, ref.name, path)
            if Path(ref.name).suffix.lower() in IMAGE_SUFFIXES:
                result.thumbnail = path
            if ref.name.endswith(".otio"):
                result.timeline = otio.adapters.read_from_string(path.read_text(encoding="utf-8"), "otio_json")
            results.append(result)
        for result in results:  # generated takes and clips point at their downloaded frames
            if result.timeline is not None:
                localize(result.timeline, files)
        return results

    def _add_results(self, results: list[Result]) -> None:
        again = {r.job_id for r in results}  # fetched again after a failed download: no duplicates
        self.state.results = [*results, *(r for r in self.state.results if r.job_id not in again)]
        images = [r.path for r in results if r.thumbnail is not None]
        if images and hasattr(self.host, "add_images"):  # hosts that keep images (Blender) get them
            self.host.add_images(images)
        for r in results:
            if r.timeline is None:
                continue
            for clip in r.timeline.find_clips():
                for key, ref in clip.media_references().items():
                    if key != DEFAULT and not any(t.clip == clip.name and t.key == key for t in self.state.takes):
                        self.state.takes.append(Take(clip.name, key, describe(ref), reference=ref.deepcopy()))
                        facts = take_facts(ref)
                        if facts.signed:
                            self.check_credentials(clip.name, key, media_of(ref).files(), facts.frames)
            if self.host is not None:
                self.state.message = "; ".join(self.host.apply(r.timeline)) or self.state.message
            self._merge_into_shots(r.timeline)

    def _merge_into_shots(self, result: otio.schema.Timeline) -> None:
        """A result's findings and CDL land on the shown shots too, so the table's badges and drift strips
        show them whatever the host did with the result (Nuke colours nodes, Resolve adds markers)."""
        shown = self.state.shots_timeline
        if shown is None or result is shown:
            return
        FileHost(shown).apply(result)  # the standalone host merged it already: then this adds nothing
        rows = self._with_credentials(shot_rows(shown))
        for old, new in zip(self.state.shots, rows, strict=False):  # the same clips, unless the host recut
            new.stale = old.stale
        if [r.badges for r in rows] != [r.badges for r in self.state.shots]:
            self.state.shots = rows
            self._changed("shots")

    def accept_take(self, take: Take) -> bool:
        """The take becomes the active media of its clip in the selection; the host shows it (in its own undo
        where it has one). A take whose files are missing is refused: False, with the reason in the message."""
        reference = take.reference or otio.schema.ExternalReference(target_url=take.url)
        missing = missing_reason(media_of(reference))
        if missing is not None:
            self.state.message = f"Take {take.key} of {take.clip} cannot be accepted: {missing}."
            self._changed("message")
            return False
        clip = self._selection_clip(take.clip)
        if clip is not None:
            if take.key not in clip.media_references():
                refs = clip.media_references()
                refs[take.key] = (take.reference.deepcopy() if take.reference is not None
                                  else otio.schema.ExternalReference(target_url=take.url))
                clip.set_media_references(refs, clip.active_media_reference_key)
            set_active_take(clip, take.key)
        if hasattr(self.host, "accept_take"):
            self.state.message = self.host.accept_take(take.clip, take.key, reference, clip=clip)
        elif self.host is not None and clip is not None:
            self.host.apply(self.state.selection)
        for other in self.state.takes:
            if other.clip == take.clip and other is not take and other.state == "accepted":
                other.state = "pending"
        take.state = "accepted"
        self._sync_review(take)
        self._changed("takes")
        return True

    def reject_take(self, take: Take) -> None:
        """The take is hidden (state rejected); if it was the clip's media, the original comes back."""
        clip = self._selection_clip(take.clip)
        was_active = clip is not None and clip.active_media_reference_key == take.key
        if was_active:
            set_active_take(clip, DEFAULT)
        if hasattr(self.host, "reject_take"):
            self.state.message = self.host.reject_take(take.clip, take.key, take.state == "accepted" or was_active,
                                                       clip=clip)
        elif self.host is not None and was_active:
            self.host.apply(self.state.selection)
        take.state = "rejected"
        self._sync_review(take)
        self._changed("takes")

    # -- review ---------------------------------------------------------------------------------------------

    def open_review(self, take: Take) -> ReviewState:
        """Show `take` against its clip's original media; its credentials are checked in the background."""
        clip = self._selection_clip(take.clip)
        reference = take.reference
        if reference is None and (clip is None or take.key not in clip.media_references()):
            reference = otio.schema.ExternalReference(target_url=take.url)  # a take known by its file only
        review = review_for(clip, take.key, reference, clip_name=take.clip)
        review.take_state = take.state
        self.state.review = review
        self._changed("review")
        if review.facts.signed:  # checked again: a frame may have changed on disk since the take arrived
            self.check_credentials(take.clip, take.key, review.take.files(), review.facts.frames)
        return review

    def review_take(self) -> Take | None:
        review = self.state.review
        if review is None:
            return None
        return next((t for t in self.state.takes if t.clip == review.clip and t.key == review.key), None)

    def _sync_review(self, take: Take) -> None:
        review = self.state.review
        if review is not None and (review.clip, review.key) == (take.clip, take.key):
            review.take_state = take.state

    def check_credentials(self, clip: str, key: str, files: list[Path], frames: list[str]) -> None:
        """Ask the backend whether a take's Content Credentials verify (off the main thread); the verdict goes
        to the review view when it shows that take and to the shot table's AI badge."""
        client, project = self.client, self._project_id
        local = list(zip(files, frames, strict=True)) if len(files) == len(frames) else []

        def work():
            if client is None:
                return None
            return judge_credentials([client.credentials(project, sha) for sha in dict.fromkeys(frames)], local)

        def record(credential: Credential) -> None:
            self.state.credentials[(clip, key)] = credential
            review = self.state.review
            if review is not None and (review.clip, review.key) == (clip, key):
                review.credential = credential
            if any(r.name == clip for r in self.state.shots):
                self.state.shots = self._with_credentials(self.state.shots)
                self._changed("shots")

        def failed(topic: str, text: str) -> None:
            record(Credential("unchecked", text))
            self._changed(topic)

        self._background(work, lambda c: record(c or Credential("unchecked", "not connected to a backend")),
                         "review", on_error=failed)

    def _with_credentials(self, rows: list[ShotRow]) -> list[ShotRow]:
        """Rows whose active take was checked carry the backend's verdict on its AI badge."""
        for row in rows:
            verdict = self.state.credentials.get((row.name, row.active_take or ""))
            if row.ai is not None and verdict is not None:
                row.ai = {**row.ai, "credential": verdict.status, "verified": verdict.status == "verified"}
        return rows

    def _selection_clip(self, name: str):
        if self.state.selection is None:
            return None
        return next((c for c in self.state.selection.find_clips() if c.name == name), None)

    # -- character bible ----------------------------------------------------------------------------------

    def load_characters(self) -> None:
        def done(chars) -> None:
            self.state.characters = chars
            self.state.bible_text = f"{len(chars)} character(s)" if chars else "No characters yet"

        self._background(lambda: self.client.characters(self._project_id), done, "characters")

    def add_character(self, name: str, images: list[Path], notes: str = "") -> None:
        def work():
            existing = {c.name for c in self.client.characters(self._project_id)}
            if name in existing:
                for img in images:
                    self.client.add_reference(self._project_id, name, img)
            else:
                self.client.add_character(self._project_id, name, images, notes=notes)
            return self.client.characters(self._project_id)

        def done(chars) -> None:
            self.state.characters = chars
            self.state.bible_text = f"Added {name}"

        self._background(work, done, "characters")


def _named_copy(cached: Path, named: Path) -> Path:
    """The cached (content-addressed) file under its output name, for references that name it: a hard link
    where the file system allows, else a copy."""
    import os
    import shutil

    if not named.exists():
        named.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(cached, named)
        except OSError:
            shutil.copyfile(cached, named)
    return named

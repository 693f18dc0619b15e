"""DaVinci Resolve as a ShotBridge host: the chosen clips out as an OTIO timeline, results back in.

`ResolveHost` is the panel's `shotbridge.panel.host.Host`. The selection is the whole current timeline read
as OTIO (timeline_otio.py) with every clip that is not chosen (selection.py) turned into a gap, so record
frames stay true and each clip keeps `metadata["resolve"]`, the way back to its item.

Call on the panel's thread: the session refuses any other.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import opentimelineio as otio

from . import selection as sel
from .items import video_items
from .session import ResolveSession, ResolveStateError, WrongThread
from .timebase import TimebaseError
from .timeline_otio import to_otio

if TYPE_CHECKING:
    from fusionscript import Resolve

log = logging.getLogger(__name__)


def selection_to_timeline(session: ResolveSession, selection: sel.Selection) -> tuple[otio.schema.Timeline, list[str]]:
    """The chosen clips as OTIO, and warnings; raises ResolveStateError saying what to do."""
    session.check_thread("read the selection")
    if selection.mode == "media_pool":
        return sel.media_pool_clips(session), []
    timeline = session.timeline()
    items = video_items(timeline)
    chosen = sel.pick(timeline, items, selection)
    whole, warnings = to_otio(session, timeline, items)
    return sel.keep_only(whole, chosen), warnings


class ResolveHost:
    """The panel's host in Resolve (shotbridge.panel.host.Host)."""

    name = "resolve"

    def __init__(self, resolve: Resolve, selection: sel.Selection | None = None,
                 owner: threading.Thread | None = None):
        self.session = ResolveSession(resolve, owner)
        self.mode = selection or sel.Selection()
        self.message = ""  # why the last selection came back empty, or what it warned about

    def selection(self) -> otio.schema.Timeline | None:
        try:
            timeline, warnings = selection_to_timeline(self.session, self.mode)
        except (ResolveStateError, TimebaseError) as exc:
            self.message = str(exc)
            return None
        except WrongThread:
            raise
        except Exception as exc:  # an answer from Resolve we did not expect: say so, keep the panel alive
            log.exception("reading the selection from Resolve failed")
            self.message = f"ShotBridge could not read the selection from Resolve ({type(exc).__name__}: {exc})."
            return None
        clips = [c.name for c in timeline.find_clips()]
        self.message = f"{len(clips)} clip(s) from {self.mode.describe()}" + "".join(f"\n{w}" for w in warnings)
        return timeline

    def apply(self, timeline: otio.schema.Timeline) -> list[str]:
        from .apply import apply_result

        try:
            return apply_result(self.session, timeline)
        except (ResolveStateError, TimebaseError) as exc:
            return [str(exc)]
        except WrongThread:
            raise
        except Exception as exc:  # as above: reported in the panel, never raised into the event loop
            log.exception("applying a result in Resolve failed")
            return [f"ShotBridge could not apply the result in Resolve ({type(exc).__name__}: {exc})."]

    def notify(self, text: str, level: str = "info") -> None:
        """A finished job. Resolve's scripting API has no notification or status-bar call, so the ShotBridge
        window's own status line (under the selection row) shows it."""
        self.message = {"warning": "Warning: ", "error": "Error: "}.get(level, "") + text

    # review (optional Host calls). Resolve's scripting API has no undo: an accept is taken back by Reject,
    # which disables the take's item again so the plate plays, or by accepting the earlier take again.
    undo_note = ("Resolve's scripting API has no undo: Reject (or accepting the earlier take again) takes an "
                 "accept back; the take stays on its ShotBridge takes track, disabled.")

    def accept_take(self, clip_name: str, key: str, reference, clip: otio.schema.Clip | None = None) -> str:
        from .review import accept_take

        return "; ".join(self._guarded(lambda: accept_take(self, clip_name, key, reference, clip)))

    def reject_take(self, clip_name: str, key: str, was_active: bool, clip: otio.schema.Clip | None = None) -> str:
        from .review import reject_take

        return "; ".join(self._guarded(lambda: reject_take(self, clip_name, key, was_active, clip)))

    def _guarded(self, work) -> list[str]:
        try:
            return work()
        except (ResolveStateError, TimebaseError) as exc:
            return [str(exc)]
        except WrongThread:
            raise
        except Exception as exc:  # reported in the panel, never raised into the event loop
            log.exception("accepting or rejecting a take in Resolve failed")
            return [f"ShotBridge could not change the take in Resolve ({type(exc).__name__}: {exc})."]

    def still(self, clip_name: str):
        """The clip's first frame grabbed as a still (PNG path) for the panel's mask painter (see still.py);
        raises ValueError saying what to do when Resolve cannot give one."""
        from .still import grab_still

        try:
            return grab_still(self.session, clip_name)
        except (ResolveStateError, TimebaseError) as exc:
            raise ValueError(str(exc)) from exc

    def show_frame(self, clip_name: str, frame: int) -> str:
        """The playhead to `frame` of the clip (no select_clips: Resolve's API cannot select timeline items)."""
        from .playhead import show_frame

        try:
            return show_frame(self.session, clip_name, frame)
        except (ResolveStateError, TimebaseError) as exc:
            return str(exc)

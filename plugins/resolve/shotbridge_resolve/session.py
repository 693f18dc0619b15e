"""The Resolve objects an action works on, looked up fresh each time, and only on the panel's thread.

Resolve's scripting API has no main-thread dispatcher of its own: ShotBridge's rule is that the thread that
owns the panel's event loop is the only one that talks to Resolve (see dispatch.py). Every entry point here
checks it, so a worker thread that strays into Resolve fails loudly instead of interleaving with the panel.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from . import timebase

if TYPE_CHECKING:
    from fusionscript import MediaPool, Project, Resolve, Timeline


class ResolveStateError(Exception):
    """Resolve is not in a state the action needs (no project, no timeline...); the message says what to do."""


class WrongThread(RuntimeError):
    """Resolve was called from a thread other than the panel's."""


class ResolveSession:
    def __init__(self, resolve: Resolve, owner: threading.Thread | None = None):
        self.resolve: Resolve = resolve
        self.owner = owner or threading.current_thread()

    def check_thread(self, what: str) -> None:
        if threading.current_thread() is not self.owner:
            raise WrongThread(f"ShotBridge: {what} called on thread {threading.current_thread().name!r}; "
                              f"Resolve is only called from the panel's thread ({self.owner.name!r}). "
                              "Hand the work to the panel's dispatcher instead.")

    def project(self) -> Project:
        self.check_thread("Resolve")
        manager = self.resolve.GetProjectManager()
        project: Project | None = manager.GetCurrentProject() if manager else None
        if not project:
            raise ResolveStateError("No project is open in DaVinci Resolve: open a project and try again.")
        return project

    def timeline(self) -> Timeline:
        timeline: Timeline | None = self.project().GetCurrentTimeline()
        if not timeline:
            raise ResolveStateError("The project has no current timeline: open one on the Edit page and try again.")
        return timeline

    def media_pool(self) -> MediaPool:
        pool: MediaPool | None = self.project().GetMediaPool()
        if not pool:
            raise ResolveStateError("Resolve returned no media pool for the current project.")
        return pool

    def timelines(self) -> list[Timeline]:
        project = self.project()
        return [project.GetTimelineByIndex(i) for i in range(1, int(project.GetTimelineCount() or 0) + 1)]

    def timeline_by_id(self, unique_id: str) -> Timeline | None:
        for timeline in self.timelines():
            if timeline and timeline.GetUniqueId() == unique_id:
                return timeline
        return None

    def set_current(self, timeline: Timeline) -> None:
        if not self.project().SetCurrentTimeline(timeline):
            raise ResolveStateError(f"Resolve refused to open timeline '{timeline.GetName()}'.")

    def exports_otio(self) -> bool:
        self.check_thread("Resolve")
        return timebase.exports_otio(self.resolve)

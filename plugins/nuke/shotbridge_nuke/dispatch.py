"""Events from ShotBridge's worker threads reach Nuke only through `nuke.executeInMainThread`.

The job watcher and the panel's view model run network work on worker threads and hand every event to a
dispatcher; in Nuke that dispatcher is `main_thread_dispatcher`, so node graph changes always happen on
Nuke's main thread (touching nodes from another thread can crash Nuke or corrupt the script).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import nuke


def main_thread_dispatcher(fn: Callable[..., Any], *args: Any) -> None:
    """Queue `fn(*args)` on Nuke's main thread and return at once (never waits: safe from any thread)."""
    nuke.executeInMainThread(fn, tuple(args))


main_thread = main_thread_dispatcher  # the name the first version exported

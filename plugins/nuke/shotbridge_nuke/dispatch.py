"""Events from ShotBridge's worker threads reach Nuke only through `nuke.executeInMainThread`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import nuke


def main_thread(fn: Callable[..., Any], *args: Any) -> None:
    """The dispatcher a JobWatcher gets in Nuke: queue `fn(*args)` on Nuke's main thread, return at once."""
    nuke.executeInMainThread(fn, args)

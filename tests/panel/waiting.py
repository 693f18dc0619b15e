"""Polling helper for panel tests (the view model works in the background)."""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 20.0, step=None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        (step or (lambda: time.sleep(0.02)))()

"""Exchange errors: each names the file, the line or element, and what to do."""

from __future__ import annotations

from ..errors import ShotBridgeError


class ExchangeError(ShotBridgeError, ValueError):
    """A timeline that cannot be read or written as asked."""


class RateNeeded(ExchangeError):
    """An EDL whose frame rate its content does not reveal."""


class UnsupportedContent(ExchangeError):
    """Content the format or its adapter cannot represent; refused rather than silently lost."""

"""Stand-in for Nuke's `nukescripts` package: only the names ShotBridge uses (see ../shared/HOSTS.md)."""

from . import panels  # noqa: F401

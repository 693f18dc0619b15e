"""ShotBridge core: shared by every host adapter and the backend. Never imports a host module."""

__version__ = "0.1.0"

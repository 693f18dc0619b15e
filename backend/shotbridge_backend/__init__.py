"""ShotBridge backend: the embedded AI service (FastAPI, SQLite, content-addressed assets)."""

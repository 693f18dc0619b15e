"""ShotBridge's Nuke adapter: Read nodes out as OTIO shots, results back in as nodes."""

"""ShotBridge's Nuke adapter: Read nodes out as OTIO shots, results back in as nodes.

Modules: host (selection -> OTIO, the panel's Host), apply (results -> nodes), dispatch (worker threads ->
Nuke's main thread), menu/commands (GUI), panel (the dock; imports Qt lazily).
"""

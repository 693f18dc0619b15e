"""ShotBridge's DaVinci Resolve adapter: timeline items out as OTIO shots, results back as Resolve objects.

Modules: loader (finding Resolve's scripting module), session (the current project and timeline, on the
panel's thread only), timebase (rates, timecodes, versions), items (what the API says about timeline items),
timeline_otio (a timeline as OTIO: Resolve's own export or built from the API), selection (playhead, marker
colour, track, media pool), host (the panel's Host), apply (takes, drift markers, CDL, colour versions),
bins (media pool folders), cuts (a detect_shots result becomes a timeline), dispatch (worker threads -> the
panel's thread), panel and launch (the Qt window, started by ShotBridge.py).

Nothing here imports Qt except panel.py, so everything else runs (and is tested) without it.
"""

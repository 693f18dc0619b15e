"""Stand-in for nukescripts.panels: records registrations and can build the widget as Nuke would."""

from __future__ import annotations

import importlib

registered: list[tuple] = []


def registerWidgetAsPanel(widget, name, id, create=False):
    """Nuke imports the widget's module by name only when the panel is opened (see create_widget)."""
    registered.append((widget, name, id, create))


def create_widget(id):
    """Test helper: what Nuke does when the artist opens the panel."""
    widget = next(w for w, _, i, _ in reversed(registered) if i == id)
    module, cls = widget.rsplit(".", 1)
    return getattr(importlib.import_module(module), cls)()

registered: list[tuple] = []


def registerWidgetAsPanel(widget, name, id, create=False):
    registered.append((widget, name, id, create))

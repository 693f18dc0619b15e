"""The artist panel: a toolkit-free view model (viewmodel.py) drawn by Qt (qt_view.py) or Blender's UI."""

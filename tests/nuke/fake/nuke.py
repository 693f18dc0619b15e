"""A small, honest stand-in for Nuke's `nuke` module: nodes with knobs, a selection, a main thread.

Every function here mirrors a name in the types-nuke stubs; tests/nuke/test_api_surface.py checks that.
"""

from __future__ import annotations

import queue
import threading

DEFAULT_KNOBS = {
    "Root": {"fps": 24.0, "name": "/shows/demo/comp/sh010_comp_v001.nk", "first_frame": 1, "last_frame": 100},
    "Read": {"file": "", "first": 1, "last": 1, "colorspace": "default", "label": "", "tile_color": 0},
    "OCIOCDLTransform": {"slope": [1, 1, 1], "offset": [0, 0, 0], "power": [1, 1, 1], "saturation": 1.0,
                         "label": "", "tile_color": 0},
    "BackdropNode": {"label": "", "bdwidth": 100, "bdheight": 100, "tile_color": 0},
    "Copy": {"from0": "none", "to0": "none", "label": "", "tile_color": 0},
}


class Knob:
    def __init__(self, name: str, value=None):
        self._name, self._value = name, value

    def name(self) -> str:
        return self._name

    def value(self, index: int = 0):
        return self._value

    def getValue(self, channel: int = 0):
        return self._value

    def setValue(self, val, chan: int = -1) -> bool:
        self._value = val
        return True


class Format:
    def __init__(self, width: int, height: int, name: str = ""):
        self._w, self._h, self._name = width, height, name

    def width(self) -> int:
        return self._w

    def height(self) -> int:
        return self._h

    def name(self) -> str:
        return self._name


class Node:
    def __init__(self, cls: str, name: str, **knobs):
        self._cls, self._name = cls, name
        self._knobs = {k: Knob(k, v) for k, v in {**DEFAULT_KNOBS.get(cls, {}), **knobs}.items()}
        self._x = self._y = 0
        self._inputs: dict[int, Node | None] = {}
        self._selected = False
        self._format = Format(1920, 1080, "HD_1080")

    def Class(self) -> str:
        return self._cls

    def name(self) -> str:
        return self._name

    def knob(self, p, follow_link: bool = False):
        return self._knobs.get(p)

    def knobs(self) -> dict:
        return dict(self._knobs)

    def __getitem__(self, name: str) -> Knob:
        return self._knobs[name]

    def xpos(self) -> int:
        return self._x

    def ypos(self) -> int:
        return self._y

    def setXYpos(self, x: int, y: int) -> None:
        self._x, self._y = x, y

    def setInput(self, i: int, node) -> bool:
        self._inputs[i] = node
        return True

    def input(self, index: int):
        return self._inputs.get(index)

    def setSelected(self, selected: bool) -> None:
        self._selected = selected

    def isSelected(self) -> bool:
        return self._selected

    def format(self) -> Format:
        return self._format


class Menu:
    def __init__(self, name: str):
        self._name = name
        self.children: dict[str, Menu] = {}
        self.commands: list[tuple] = []

    def name(self) -> str:
        return self._name

    def addMenu(self, *args, **kwargs):
        return self.children.setdefault(args[0], Menu(args[0]))

    def addCommand(self, *args, **kwargs):
        self.commands.append(args)

    def menu(self, name):
        return self.children.get(name)


# -- the script ------------------------------------------------------------------------------------------

_nodes: dict[str, Node] = {}
_menus: dict[str, Menu] = {}
_root = Node("Root", "root")
plugin_paths: list[str] = []
messages: list[str] = []
filenames: list[str] = []  # what getFilename answers next


def reset() -> None:
    _nodes.clear()
    _menus.clear()
    plugin_paths.clear()
    messages.clear()
    filenames.clear()


def add(cls: str, name: str, x: int = 0, y: int = 0, selected: bool = False, **knobs) -> Node:
    """Test helper (not Nuke API): a node as if the artist had made it."""
    node = Node(cls, name, **knobs)
    node.setXYpos(x, y)
    node.setSelected(selected)
    _nodes[name] = node
    return node


def createNode(typ: str, knobs: str = "", inpanel: bool = True) -> Node:
    parts = knobs.split()
    name = parts[parts.index("name") + 1] if "name" in parts else f"{typ}{len(_nodes) + 1}"
    selected = [n for n in _nodes.values() if n.isSelected()]
    node = add(typ, name)
    if selected:  # Nuke connects a new node to the selected one
        node.setInput(0, selected[0])
    return node


def toNode(s: str):
    return _nodes.get(s)


def allNodes(*args, **kwargs) -> list[Node]:
    return list(_nodes.values())


def selectedNodes(filter: str | None = None) -> list[Node]:
    return [n for n in _nodes.values() if n.isSelected() and (filter is None or n.Class() == filter)]


def root():
    return _root


def menu(name: str) -> Menu:
    return _menus.setdefault(name, Menu(name))


def tprint(*args, sep: str = " ", end: str = "\n", file=None) -> None:
    messages.append(sep.join(map(str, args)))


def message(prompt: str) -> None:
    messages.append(prompt)


def getFilename(message: str, pattern: str = "", default: str = "", favorites: str = "", type: str = "",
                multiple: bool = False):
    return filenames.pop(0) if filenames else None


def pluginAddPath(args, addToSysPath: bool = True) -> None:
    plugin_paths.append(args)


# -- Nuke's main thread ----------------------------------------------------------------------------------

main_thread_calls: list[str] = []
_queue: queue.Queue = queue.Queue()


def _main_loop() -> None:
    while True:
        call, args, kwargs = _queue.get()
        call(*args, **kwargs)
        _queue.task_done()


MAIN = threading.Thread(target=_main_loop, name="nuke-main", daemon=True)
MAIN.start()


def executeInMainThread(call, args=(), kwargs=None) -> None:
    main_thread_calls.append(getattr(call, "__name__", repr(call)))
    _queue.put((call, tuple(args) if isinstance(args, (list, tuple)) else (args,), kwargs or {}))


def drain() -> None:
    """Test helper: wait until the main thread has run everything queued."""
    _queue.join()

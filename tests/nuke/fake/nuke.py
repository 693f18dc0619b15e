"""A small, honest stand-in for Nuke's `nuke` module: nodes with typed knobs, a selection, menus, and a
main thread that only `executeInMainThread` reaches.

Every public name here exists in the types-nuke stubs with compatible parameters, and each knob has the
stub class Nuke gives it (tests/nuke/test_api_surface.py checks both). Test helpers are listed in
TEST_HELPERS and are not part of Nuke's API.

Like Nuke, the script may only be touched on the main thread: every call that reads or changes nodes
raises when made from another thread (real Nuke may crash or corrupt the script instead).
"""

from __future__ import annotations

import collections
import re
import threading
from typing import Any

TEST_HELPERS = {"add", "reset", "run_main_thread", "pending_main_thread", "plugin_paths", "messages",
                "filenames", "main_thread_calls", "KNOB_CLASSES", "DEFAULTS", "TEST_HELPERS", "MAIN_THREAD",
                "set_main_thread", "set_shape", "executed"}

# Knob flags (values as in Nuke's headers; only identity matters here).
INVISIBLE = 0x400
READ_ONLY = 0x10000000
REPLACE = 1

# -- knobs ---------------------------------------------------------------------------------------------

MAIN_THREAD = threading.main_thread()


def set_main_thread(thread: threading.Thread) -> None:
    global MAIN_THREAD
    MAIN_THREAD = thread


def _on_main_thread(what: str) -> None:
    if threading.current_thread() is not MAIN_THREAD:
        raise RuntimeError(f"nuke: {what} called on thread {threading.current_thread().name!r}; Nuke's script "
                           "may only be touched on its main thread (use nuke.executeInMainThread)")


class Knob:
    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_value" and Undo._open is not None and "_value" in self.__dict__:  # Edit > Undo restores it
            old = self.__dict__["_value"]
            Undo._open.append(lambda: object.__setattr__(self, "_value", old))
        object.__setattr__(self, name, value)

    def __init__(self, *args, **kwargs) -> None:
        self._name = args[0] if args else ""
        self._label = args[1] if len(args) > 1 else self._name
        self._value: Any = kwargs.get("value")
        self._flags = 0

    def name(self) -> str:
        return self._name

    def label(self) -> str:
        return self._label

    def value(self, index: int = 0) -> Any:
        _on_main_thread("Knob.value")
        return self._value

    def getValue(self, channel: int = 0) -> Any:
        return self.value()

    def setValue(self, val: Any, chan: int = -1) -> bool:
        _on_main_thread("Knob.setValue")
        self._value = val
        return True

    def setFlag(self, flag: int) -> None:
        self._flags |= flag

    def getFlag(self, flag: int) -> bool:
        return bool(self._flags & flag)


class Array_Knob(Knob):
    pass


class Int_Knob(Array_Knob):
    def value(self) -> int:  # type: ignore[override]  # Nuke's Int_Knob.value takes no index
        _on_main_thread("Int_Knob.value")
        return int(self._value or 0)

    def setValue(self, val) -> bool:  # type: ignore[override]
        _on_main_thread("Int_Knob.setValue")
        self._value = int(val)
        return True


class Double_Knob(Array_Knob):
    pass


class Color_Knob(Array_Knob):
    pass


class Unsigned_Knob(Array_Knob):
    def value(self) -> int:  # type: ignore[override]
        _on_main_thread("Unsigned_Knob.value")
        return int(self._value or 0)

    def setValue(self, val) -> bool:  # type: ignore[override]
        _on_main_thread("Unsigned_Knob.setValue")
        self._value = int(val)
        return True


class ColorChip_Knob(Unsigned_Knob):
    pass


class Enumeration_Knob(Unsigned_Knob):
    def value(self) -> Any:  # type: ignore[override]  # the item's name, as Nuke returns it
        _on_main_thread("Enumeration_Knob.value")
        return self._value

    def setValue(self, *args, **kwargs) -> Any:  # type: ignore[override]
        _on_main_thread("Enumeration_Knob.setValue")
        self._value = args[0]
        return True


class String_Knob(Knob):
    def value(self, oc=None) -> str:  # type: ignore[override]
        _on_main_thread("String_Knob.value")
        return "" if self._value is None else str(self._value)

    def setValue(self, val, view=None) -> None:  # type: ignore[override]
        _on_main_thread("String_Knob.setValue")
        self._value = val


class EvalString_Knob(String_Knob):
    pass


class Multiline_Eval_String_Knob(EvalString_Knob):
    pass


class File_Knob(EvalString_Knob):
    def value(self, *args, **kwargs) -> Any:  # type: ignore[override]
        _on_main_thread("File_Knob.value")
        return "" if self._value is None else str(self._value)

    def setValue(self, *args, **kwargs) -> Any:  # type: ignore[override]
        _on_main_thread("File_Knob.setValue")
        self._value = args[0]
        return True


class Channel_Knob(Knob):
    def value(self) -> str:  # type: ignore[override]
        _on_main_thread("Channel_Knob.value")
        return str(self._value)

    def setValue(self, name) -> None:  # type: ignore[override]
        _on_main_thread("Channel_Knob.setValue")
        self._value = name


class Format_Knob(Knob):
    def value(self, *args, **kwargs) -> Any:  # type: ignore[override]
        return self._value

    def setValue(self, *args, **kwargs) -> Any:  # type: ignore[override]
        self._value = args[0]
        return True


class ChannelMask_Knob(Channel_Knob):
    pass


class Tab_Knob(Knob):
    def value(self, *args, **kwargs) -> Any:  # type: ignore[override]
        return None

    def setValue(self, *args, **kwargs) -> Any:  # type: ignore[override]
        return None


# The stub class Nuke uses for each knob the adapter touches (checked against the stubs).
KNOB_CLASSES: dict[str, type[Knob]] = {
    "name": String_Knob, "label": Multiline_Eval_String_Knob, "tile_color": ColorChip_Knob,
    "xpos": Int_Knob, "ypos": Int_Knob,
    "file": File_Knob, "first": Int_Knob, "last": Int_Knob, "origfirst": Int_Knob, "origlast": Int_Knob,
    "colorspace": Enumeration_Knob, "format": Format_Knob,
    "slope": Color_Knob, "offset": Color_Knob, "power": Color_Knob, "saturation": Double_Knob,
    "bdwidth": Int_Knob, "bdheight": Int_Knob,
    "from0": Channel_Knob, "to0": Channel_Knob,
    "fps": Double_Knob, "first_frame": Int_Knob, "last_frame": Int_Knob,
    "file_type": Enumeration_Knob, "channels": ChannelMask_Knob,
    "shotbridge_tag": String_Knob,  # the adapter's own knob (made with nuke.String_Knob)
    "shotbridge_plate": String_Knob, "shotbridge_take": String_Knob,  # review: the Read's plate, its take
}
_NODE_KNOBS = {"name": "", "label": "", "tile_color": 0}
DEFAULTS: dict[str, dict[str, Any]] = {
    "Root": {"fps": 24.0, "first_frame": 1, "last_frame": 100, "format": None},
    "Read": {"file": "", "first": 1, "last": 1, "origfirst": 1, "origlast": 1, "colorspace": "default",
             "format": None},
    "OCIOCDLTransform": {"slope": [1.0, 1.0, 1.0], "offset": [0.0, 0.0, 0.0], "power": [1.0, 1.0, 1.0],
                         "saturation": 1.0},
    "BackdropNode": {"bdwidth": 100, "bdheight": 100},
    "Copy": {"from0": "rgba.alpha", "to0": "rgba.alpha"},
    "Write": {"file": "", "file_type": "", "channels": "rgb"},
}
_MAX_INPUTS = {"Read": 0, "BackdropNode": 0, "Root": 0, "Copy": 2}


# -- nodes ---------------------------------------------------------------------------------------------


class Format:
    def __init__(self, *args, **kwargs) -> None:
        self._w, self._h, self._name, self._aspect = (*args, "", 1.0, 1.0)[:4] if args else (0, 0, "", 1.0)

    def width(self) -> int:
        return self._w

    def height(self) -> int:
        return self._h

    def name(self) -> str:
        return self._name

    def pixelAspect(self) -> float:
        return self._aspect


class Node:
    def __init__(self, *args, **kwargs) -> None:
        cls, name = args[0], args[1]
        self._cls = cls
        self._knobs: dict[str, Knob] = {}
        for knob, value in {**_NODE_KNOBS, **DEFAULTS.get(cls, {}), **kwargs}.items():
            self._knobs[knob] = KNOB_CLASSES.get(knob, Knob)(knob, value=value)
        self._knobs["name"]._value = name
        self._x = self._y = 0
        self._inputs: dict[int, Node | None] = {}
        self._selected = False
        self._format = Format(1920, 1080, "HD_1080", 1.0)

    def Class(self) -> str:
        return self._cls

    def name(self) -> str:
        return str(self._knobs["name"]._value)

    def setName(self, name: str, uncollide: bool = True, updateExpressions: bool = False) -> None:
        _on_main_thread("Node.setName")
        taken = {n for n, node in _nodes.items() if node is not self}
        if name in taken:
            if not uncollide:
                raise ValueError(f"{name} is already in use")
            base = re.sub(r"\d+$", "", name)
            name = next(f"{base}{i}" for i in range(1, 10000) if f"{base}{i}" not in taken)
        _nodes.pop(self.name(), None)
        self._knobs["name"]._value = name
        _nodes[name] = self

    def knob(self, p, follow_link: bool = False) -> Knob | None:
        _on_main_thread("Node.knob")
        return self._knobs.get(p)

    def knobs(self) -> dict[str, Knob]:
        _on_main_thread("Node.knobs")
        return dict(self._knobs)

    def addKnob(self, knob: Knob) -> None:
        _on_main_thread("Node.addKnob")
        if knob.name() in self._knobs:
            raise RuntimeError(f"{self.name()} already has a knob {knob.name()}")
        self._knobs[knob.name()] = knob
        if Undo._open is not None:
            Undo._open.append(lambda: self._knobs.pop(knob.name(), None))

    def __getitem__(self, name: str) -> Knob:
        _on_main_thread("Node.__getitem__")
        if name not in self._knobs:
            raise NameError(f"knob {name} does not exist")  # what Nuke raises
        return self._knobs[name]

    def xpos(self) -> int:
        return self._x

    def ypos(self) -> int:
        return self._y

    def screenWidth(self) -> int:
        return 80

    def screenHeight(self) -> int:
        return 18

    def setXYpos(self, x: int, y: int) -> None:
        _on_main_thread("Node.setXYpos")
        self._x, self._y = int(x), int(y)

    def setInput(self, i: int, node: Node | None) -> bool:
        _on_main_thread("Node.setInput")
        if i >= _MAX_INPUTS.get(self._cls, 1):
            return False  # as Nuke: the node has no such input
        self._inputs[i] = node
        return True

    def input(self, index: int) -> Node | None:
        return self._inputs.get(index)

    def setSelected(self, selected: bool) -> None:
        self._selected = bool(selected)

    def isSelected(self) -> bool:
        return self._selected

    def format(self) -> Format:
        return self._format


class Root(Node):
    pass


class Menu:
    def __init__(self, name: str):
        self._name = name
        self.children: dict[str, Menu] = {}
        self.commands: list[tuple] = []

    def name(self) -> str:
        return self._name

    def addMenu(self, *args, **kwargs) -> Menu:
        return self.children.setdefault(args[0], Menu(args[0]))

    def addCommand(self, *args, **kwargs) -> Any:
        self.commands = [c for c in self.commands if c[0] != args[0]]  # Nuke replaces a same-named item
        self.commands.append(args)

    def addSeparator(self, *args, **kwargs) -> Any:
        self.commands.append(("-",))

    def findItem(self, name) -> Menu | None:
        return self.children.get(name)

    def menu(self, name) -> Menu | None:
        return self.children.get(name)


class Undo:
    """Groups of changes Edit > Undo reverts: knob values set and knobs added between begin and end."""

    log: list[str] = []
    _open: list | None = None  # the open group's reverts, in the order the changes were made
    _name = ""
    _done: list[tuple[str, list]] = []

    @classmethod
    def begin(cls, *args, **kwargs) -> Any:
        cls.log.append(f"begin {args[0] if args else ''}".strip())
        cls._open, cls._name = [], (args[0] if args else "")

    @classmethod
    def end(cls, *args, **kwargs) -> Any:
        cls.log.append("end")
        if cls._open:
            cls._done.append((cls._name, cls._open))
        cls._open = None

    @classmethod
    def undo(cls, *args, **kwargs) -> Any:
        _on_main_thread("Undo.undo")
        if cls._done:
            _, reverts = cls._done.pop()
            for revert in reversed(reverts):
                revert()

    @classmethod
    def undoDescribe(cls, *args, **kwargs) -> Any:
        return cls._done[-1][0] if cls._done else ""


def undo() -> None:
    Undo.undo()


class Nodes:
    """`nuke.nodes.Read(...)`: a node created unconnected, knobs from keyword arguments."""

    def __getattr__(self, item: str):
        def make(*args, **kwargs) -> Node:
            _on_main_thread(f"nodes.{item}")
            name = kwargs.pop("name", None) or _free_name(item)
            node = (Root if item == "Root" else Node)(item, name, **kwargs)
            _nodes[name] = node
            return node

        return make


nodes = Nodes()

# -- the script ----------------------------------------------------------------------------------------

_nodes: dict[str, Node] = {}
_menus: dict[str, Menu] = {}
_root = Root("Root", "/shows/demo/comp/sh010_comp_v001.nk")  # Root's name knob: the script's path
plugin_paths: list[str] = []
messages: list[str] = []
filenames: list[str] = []  # what getFilename answers next


def _free_name(cls: str) -> str:
    return next(f"{cls}{i}" for i in range(1, 10000) if f"{cls}{i}" not in _nodes)


def reset() -> None:
    _nodes.clear()
    executed.clear()
    _menus.clear()
    plugin_paths.clear()
    messages.clear()
    filenames.clear()
    main_thread_calls.clear()
    Undo.log.clear()
    Undo._done.clear()
    Undo._open = None
    _frame[0] = 1
    while _pending:
        _pending.popleft()
    set_main_thread(threading.current_thread())


def add(cls: str, name: str, x: int = 0, y: int = 0, selected: bool = False, **knobs) -> Node:
    """Test helper (not Nuke API): a node as if the artist had made it."""
    node = Node(cls, name, **knobs)
    node.setXYpos(x, y)
    node.setSelected(selected)
    _nodes[name] = node
    return node


def createNode(typ: str, knobs: str = "", inpanel: bool = True) -> Node:
    _on_main_thread("createNode")
    selected = [n for n in _nodes.values() if n.isSelected()]
    node = nodes.__getattr__(typ)()
    if selected:  # Nuke connects a new node to the selected one
        node.setInput(0, selected[0])
    return node


def delete(n: Node | None) -> None:
    _on_main_thread("delete")
    if n is not None:
        _nodes.pop(n.name(), None)
        for other in _nodes.values():
            other._inputs = {i: x for i, x in other._inputs.items() if x is not n}


executed: list[tuple[str, int, int]] = []  # (Write node, first, last) for each execute


def set_shape(node: Node, box: tuple[int, int, int, int]) -> None:
    """Test helper (not Nuke API): a Roto's one shape, a rectangle (x, y, w, h) from the top-left, white alpha."""
    node._shape = box


def execute(nameOrNode, start: int, end: int, incr: int = 1, views=None, continueOnError: bool = False) -> None:
    """Render a Write, one PNG per frame, the frame pattern #### or %04d in its file filled in: a Read input
    gives its file's frame (decoded with OpenCV, by content), a Roto/RotoPaint its shape as RGBA (black colour,
    matte in alpha) at its format."""
    _on_main_thread("execute")
    import cv2
    import numpy as np

    write = nameOrNode if isinstance(nameOrNode, Node) else _nodes[nameOrNode]
    if write.Class() != "Write":
        raise RuntimeError(f"{write.name()} cannot be executed")
    source = write.input(0)
    if source is None:
        raise RuntimeError(f"{write.name()}: no input connected")
    fmt = source.format()
    executed.append((write.name(), start, end))
    for frame in range(start, end + 1, incr):
        if source.Class() == "Read":
            name = re.sub(r"#+", lambda m, f=frame: f"{f:0{len(m.group(0))}d}", filename(source) or "")
            pixels = cv2.imread(re.sub(r"%0?(\d*)d", lambda m, f=frame: f"{f:0{int(m.group(1) or 1)}d}", name))
            if pixels is None:
                raise RuntimeError(f"{source.name()}: cannot open {name} for frame {frame}")
        else:
            pixels = np.zeros((fmt.height(), fmt.width(), 4), np.uint8)
            x, y, w, h = getattr(source, "_shape", (0, 0, 0, 0))
            pixels[y:y + h, x:x + w, 3] = 255
        path = re.sub(r"#+", lambda m, f=frame: f"{f:0{len(m.group(0))}d}", str(write["file"].value()))
        cv2.imwrite(re.sub(r"%0?(\d*)d", lambda m, f=frame: f"{f:0{int(m.group(1) or 1)}d}", path), pixels)


def toNode(s: str) -> Node | None:
    _on_main_thread("toNode")
    return _nodes.get(s)


def allNodes(*args, **kwargs) -> list[Node]:
    _on_main_thread("allNodes")
    cls = args[0] if args else kwargs.get("filter")
    return [n for n in _nodes.values() if cls is None or n.Class() == cls]


def selectedNodes(filter: str | None = None) -> list[Node]:
    _on_main_thread("selectedNodes")
    return [n for n in _nodes.values() if n.isSelected() and (filter is None or n.Class() == filter)]


def filename(node: Node, i: int = 0) -> str | None:
    """The file knob evaluated: TCL escapes resolved (the fake runs no TCL commands)."""
    _on_main_thread("filename")
    knob = node.knob("file")
    return re.sub(r"\\(.)", r"\1", str(knob.value())) if knob is not None else None


def root() -> Root:
    _on_main_thread("root")
    return _root


_frame = [1]  # the script's current frame (the viewer's)


def frame(f: int | None = None) -> int:
    """The current frame; with `f`, move there first (as the timeline bar and viewer do)."""
    _on_main_thread("frame")
    if f is not None:
        _frame[0] = int(f)
    return _frame[0]


def menu(name: str) -> Menu:
    return _menus.setdefault(name, Menu(name))


def tprint(*args: Any, sep: str = " ", end: str = "\n", file=None) -> None:
    messages.append(sep.join(map(str, args)))


def message(prompt: str) -> None:
    messages.append(prompt)


def getFilename(message: str, pattern: str = "", default: str = "", favorites: str = "", type: str = "",
                multiple: bool = False):
    return filenames.pop(0) if filenames else None


def pluginAddPath(args, addToSysPath: bool = True) -> None:
    plugin_paths.append(args)


# -- Nuke's main thread --------------------------------------------------------------------------------

main_thread_calls: list[str] = []  # what was handed to executeInMainThread, by name
_pending: collections.deque = collections.deque()


def executeInMainThread(call, args=(), kwargs=None) -> None:
    """Queue `call` for the main thread and return at once, as Nuke does."""
    main_thread_calls.append(getattr(call, "__name__", repr(call)))
    args = args if isinstance(args, tuple) else (args,)  # Nuke wraps a lone argument the same way
    _pending.append((call, args, kwargs or {}))


def pending_main_thread() -> int:
    return len(_pending)


def run_main_thread() -> int:
    """Test helper: Nuke's event loop turning over: run what was queued, on the main thread."""
    _on_main_thread("run_main_thread")
    done = 0
    while _pending:
        call, args, kwargs = _pending.popleft()
        call(*args, **kwargs)
        done += 1
    return done

"""Every Nuke call the adapter makes exists in the published API (the types-nuke stubs) and fits its
signature; the fake the other tests use offers the same names with compatible parameters, so it cannot
drift from the real API; `nukescripts` calls are the ones ../shared/HOSTS.md documents.

The scan reads the adapter with `ast` and follows types the way a reader would: `nuke.toNode(...)` returns
what its stub says (Optional[Node] -> Node), `node["file"]` is the knob class the fake declares for
`file` (checked against the stubs too), loop variables over `nuke.allNodes()` are Nodes, annotated names
(`node: nuke.Node`) are what they say. A Nuke-looking method called on something it cannot type fails the
test, so nothing slips past unchecked.
"""

from __future__ import annotations

import ast
import inspect
import re
import site
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from stubsig import Sig, compatible, fake_sig, own_nodes, type_scope

REPO = Path(__file__).resolve().parents[2]
ADAPTER = sorted((REPO / "plugins" / "nuke").rglob("*.py")) + [REPO / "core" / "shotbridge" / "nkscript.py"]
HOSTS = REPO.parent / "shared" / "HOSTS.md"
CORPUS_NK = REPO.parent / "shared" / "corpus" / "nk"


# -- the stubs -----------------------------------------------------------------------------------------


@dataclass
class StubClass:
    bases: list[str]
    methods: dict[str, list[Sig]] = field(default_factory=dict)
    returns: dict[str, str] = field(default_factory=dict)


@dataclass
class Stubs:
    functions: dict[str, list[Sig]]
    returns: dict[str, str]
    classes: dict[str, StubClass]
    attrs: dict[str, str]

    @property
    def names(self) -> set[str]:
        return set(self.functions) | set(self.classes) | set(self.attrs)

    def ancestors(self, cls: str) -> list[str]:
        out = [cls]
        for base in self.classes.get(cls, StubClass([])).bases:
            out += self.ancestors(base)
        return out

    def methods(self, cls: str) -> dict[str, list[Sig]]:
        out: dict[str, list[Sig]] = {}
        for c in reversed(self.ancestors(cls)):
            out.update(self.classes.get(c, StubClass([])).methods)
        return out

    def method_return(self, cls: str, name: str) -> str | None:
        for c in self.ancestors(cls):
            if name in self.classes.get(c, StubClass([])).returns:
                return self.classes[c].returns[name]
        return None


def _stub_dir() -> Path:
    for base in site.getsitepackages():
        if (Path(base) / "nuke-stubs").is_dir():
            return Path(base) / "nuke-stubs"
    pytest.skip("types-nuke is not installed in this environment")


def load_stubs() -> Stubs:
    stubs = Stubs({}, {}, {}, {})
    for pyi in sorted(_stub_dir().glob("*.pyi")):
        for node in ast.parse(pyi.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                stubs.functions.setdefault(node.name, []).append(Sig.of(node, False))
                if node.returns is not None:
                    stubs.returns.setdefault(node.name, ast.unparse(node.returns))
            elif isinstance(node, ast.ClassDef):
                info = stubs.classes.setdefault(node.name, StubClass([ast.unparse(b) for b in node.bases]))
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        info.methods.setdefault(item.name, []).append(Sig.of(item, True))
                        if item.returns is not None:
                            info.returns.setdefault(item.name, ast.unparse(item.returns))
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        info.returns.setdefault(item.target.id, ast.unparse(item.annotation))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                stubs.attrs[node.target.id] = ast.unparse(node.annotation)
    return stubs


def simple_type(annotation: str | None) -> str | None:
    """'Optional[Node]' -> 'Node', 'List[Node]' -> 'list:Node', 'NodeConstructor[Node]' -> 'ctor:Node'."""
    if not annotation:
        return None
    a = annotation.strip().strip("'\"").replace("nuke.", "")
    a = re.sub(r"\s*\|\s*None$", "", a)
    m = re.fullmatch(r"(Optional|List|list|NodeConstructor)\[(\w+)\]", a)
    if m:
        kind = {"Optional": "", "List": "list:", "list": "list:", "NodeConstructor": "ctor:"}[m.group(1)]
        return kind + m.group(2)
    return a if re.fullmatch(r"\w+", a) and a not in ("Any", "None", "str", "int", "float", "bool") else None


# -- the adapter's calls -------------------------------------------------------------------------------


@dataclass
class Use:
    path: Path
    line: int
    cls: str  # stub class (or "module" for nuke.X)
    name: str
    call: ast.Call | None
    knob: str | None = None  # the knob name, for knob methods on node["name"]


@dataclass
class Untyped:
    path: Path
    line: int
    name: str


def _knob_classes() -> dict[str, str]:
    import nuke as fake

    return {k: v.__name__ for k, v in fake.KNOB_CLASSES.items()}


class Scanner(ast.NodeVisitor):
    """Collects Nuke uses in one module, typing names function by function."""

    def __init__(self, path: Path, stubs: Stubs, suspicious: set[str]):
        self.path, self.stubs, self.suspicious = path, stubs, suspicious
        self.uses: list[Use] = []
        self.untyped: list[Untyped] = []
        self.knobs = _knob_classes()
        self.tree = ast.parse(path.read_text())
        self.local_returns = {f.name: simple_type(ast.unparse(f.returns)) if f.returns else None
                              for f in ast.walk(self.tree) if isinstance(f, ast.FunctionDef)}
        self.local_classes = {c.name for c in ast.walk(self.tree) if isinstance(c, ast.ClassDef)}
        self.env: dict[str, str] = {}

    def scan(self) -> Scanner:
        self._scope(self.tree, {})
        return self

    def _scope(self, scope: ast.AST, outer: dict[str, str]) -> None:
        """Type the scope's names (to a fixpoint), check its calls, then its nested functions."""
        body = own_nodes(scope)
        self.env = dict(outer)
        type_scope(scope, body, self.env, simple_type, self.type_of)
        for n in body:
            self._check(n)
        env = self.env
        for n in body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._scope(n, env)

    def type_of(self, e: ast.AST) -> str | None:
        s = self.stubs
        if isinstance(e, ast.Name):
            return "module" if e.id == "nuke" else self.env.get(e.id)
        if isinstance(e, ast.Attribute):
            if isinstance(e.value, ast.Name) and e.value.id == "nuke":
                if e.attr in s.classes:
                    return f"class:{e.attr}"
                return simple_type(s.attrs.get(e.attr))
            owner = self.type_of(e.value)
            if owner == "Nodes":
                return "ctor:Node"
            return None
        if isinstance(e, ast.IfExp):
            return self.type_of(e.body) or self.type_of(e.orelse)
        if isinstance(e, ast.BoolOp):
            return next((t for t in map(self.type_of, e.values) if t), None)
        if isinstance(e, ast.Subscript):
            owner = self.type_of(e.value)
            if owner and "Node" in s.ancestors(owner) and isinstance(e.slice, ast.Constant):
                return self.knobs.get(e.slice.value, "Knob")
            return "Knob" if owner and "Node" in s.ancestors(owner) else None
        if isinstance(e, ast.Call):
            f = e.func
            if isinstance(f, ast.Name):
                return f.id if f.id in self.local_classes else self.local_returns.get(f.id)
            callee = self.type_of(f) if not isinstance(f, ast.Attribute) else None
            if callee and callee.startswith("ctor:"):
                return callee[5:]
            if isinstance(f, ast.Attribute):
                owner = self.type_of(f.value)
                if owner == "module":
                    if f.attr in s.classes:
                        return f.attr  # nuke.String_Knob(...) makes a String_Knob
                    return simple_type(s.returns.get(f.attr))
                if owner == "ctor:Node" or (owner is None and self.type_of(f) == "ctor:Node"):
                    return "Node"
                if owner and owner.startswith("ctor:"):
                    return owner[5:]
                if owner in self.local_classes:
                    return self.local_returns.get(f.attr)  # our own class: its method's annotation
                if owner and not owner.startswith(("class:", "list:")):
                    if f.attr == "knob" and e.args and isinstance(e.args[0], ast.Constant):
                        return self.knobs.get(e.args[0].value, "Knob")
                    return simple_type(s.method_return(owner, f.attr))
        return None

    def _check(self, n: ast.AST) -> None:
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "nuke":
            self.uses.append(Use(self.path, n.lineno, "module", n.attr, None))
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute) and self.type_of(n.value) == "Nodes":
            self.uses.append(Use(self.path, n.lineno, "Nodes", n.attr, None))
        if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)):
            return
        recv, name = n.func.value, n.func.attr
        owner = self.type_of(recv)
        knob = None
        if isinstance(recv, ast.Subscript) and isinstance(recv.slice, ast.Constant):
            knob = recv.slice.value
        if owner == "module":
            self.uses.append(Use(self.path, n.lineno, "function", name, n))
        elif owner and owner.startswith("class:"):
            self.uses.append(Use(self.path, n.lineno, owner[6:], name, n))
        elif owner and owner in self.stubs.classes:
            self.uses.append(Use(self.path, n.lineno, owner, name, n, knob))
        elif owner in self.local_classes:
            pass  # the adapter's own classes
        elif owner is None and name in self.suspicious:
            self.untyped.append(Untyped(self.path, n.lineno, f"{ast.unparse(recv)}.{name}"))


def _python_names() -> set[str]:
    """Method names Python objects the adapter uses also have: not evidence of a Nuke call on their own."""
    import opentimelineio as otio

    kinds = [str, list, dict, set, tuple, object, Path, re.compile(""), re.match("", ""), otio.schema.Clip, otio.schema.Timeline,
             otio.schema.Track, otio.schema.Marker, otio.schema.ExternalReference,
             otio.schema.ImageSequenceReference, otio.opentime.RationalTime, otio.opentime.TimeRange]
    return set().union(*(dir(k) for k in kinds))


@pytest.fixture(scope="module")
def stubs() -> Stubs:
    return load_stubs()


@pytest.fixture(scope="module")
def scans(stubs) -> list[Scanner]:
    nuke_classes = ("Node", "Knob", "Format", "Menu", "MenuBar", "Root", "Group", *_knob_classes().values())
    suspicious = {m for c in nuke_classes for m in stubs.methods(c)} - _python_names()
    return [Scanner(path, stubs, suspicious).scan() for path in ADAPTER]


def uses(scans) -> list[Use]:
    return [u for s in scans for u in s.uses]


def _where(u) -> str:
    return f"{u.path.relative_to(REPO)}:{u.line}"


# -- the adapter against the stubs ---------------------------------------------------------------------


def test_the_scan_sees_the_adapters_nuke_calls(scans):
    kinds = {u.cls for u in uses(scans)}
    assert {"function", "module", "Node", "Menu", "Format", "Undo", "Nodes"} <= kinds, kinds
    knob_calls = {(u.knob, u.name) for u in uses(scans) if u.knob}
    assert {("file", "setValue"), ("slope", "setValue"), ("from0", "setValue"), ("tile_color", "setValue"),
            ("fps", "value")} <= knob_calls


def test_no_nuke_method_is_called_on_something_the_scan_cannot_type(scans):
    untyped = [f"{u.path.relative_to(REPO)}:{u.line}: {u.name}()" for s in scans for u in s.untyped]
    assert not untyped, "annotate these (e.g. `node: nuke.Node`) so their calls are checked:\n" + "\n".join(untyped)


def test_every_nuke_name_and_call_is_in_the_published_api(scans, stubs):
    problems = []
    for u in uses(scans):
        if u.cls == "module":
            if u.name not in stubs.names:
                problems.append(f"{_where(u)}: nuke.{u.name} is not in types-nuke")
        elif u.cls == "function":
            sigs = stubs.functions.get(u.name) or stubs.classes.get(u.name) and [Sig([], 0, True, True)]
            if not sigs:
                problems.append(f"{_where(u)}: nuke.{u.name}() is not in types-nuke")
            elif not any(s.accepts(len(u.call.args), {k.arg for k in u.call.keywords if k.arg}) for s in sigs):
                problems.append(f"{_where(u)}: nuke.{u.name}{_args(u.call)} does not fit its stub")
        elif u.cls == "Nodes":
            continue  # node classes: test_node_classes_are_real_ones
        else:
            sigs = stubs.methods(u.cls).get(u.name)
            if sigs is None:
                problems.append(f"{_where(u)}: {u.cls}.{u.name} is not in types-nuke")
            elif not any(s.accepts(len(u.call.args), {k.arg for k in u.call.keywords if k.arg}) for s in sigs):
                problems.append(f"{_where(u)}: {u.cls}.{u.name}{_args(u.call)} does not fit its stub")
    assert not problems, "\n".join(problems)


def _args(call: ast.Call) -> str:
    return "(" + ", ".join(ast.unparse(a) for a in [*call.args, *call.keywords]) + ")"


def test_node_classes_are_real_ones(scans, stubs):
    """nuke.nodes.X: X is a class Nuke saves in real scripts (../shared/corpus/nk) or HOSTS.md documents."""
    known = set(stubs.classes["Nodes"].returns)
    if CORPUS_NK.is_dir():
        known |= {m.group(1) for p in CORPUS_NK.glob("*.nk")
                  for m in re.finditer(r"^\s*(\w+) \{\s*$", p.read_text(errors="replace"), re.M)}
    if HOSTS.exists():
        known |= set(re.findall(r"`(\w+)`", HOSTS.read_text()))
    used = {u.name for u in uses(scans) if u.cls == "Nodes"}
    assert used and used <= known, used - known


def test_knob_classes_the_fake_declares_are_stub_knob_classes(stubs):
    for knob, cls in _knob_classes().items():
        assert cls in stubs.classes and "Knob" in stubs.ancestors(cls), f"{knob}: {cls} is not a types-nuke knob class"


# -- the fake against the stubs ------------------------------------------------------------------------


def test_the_fake_module_mirrors_the_stubs(stubs):
    import nuke as fake

    problems = []
    for name, obj in vars(fake).items():
        if name.startswith("_") or name in fake.TEST_HELPERS or inspect.ismodule(obj) or name == "annotations":
            continue
        if getattr(obj, "__module__", fake.__name__) not in (fake.__name__, None) and callable(obj):
            continue  # imported helpers (e.g. typing.Any)
        if name not in stubs.names:
            problems.append(f"fake nuke.{name} is not in types-nuke")
        elif inspect.isfunction(obj) and not compatible(fake_sig(obj), stubs.functions.get(name, [])):
            problems.append(f"fake nuke.{name}{inspect.signature(obj)} differs from the stub")
        elif inspect.isclass(obj):
            fake_bases = [b.__name__ for b in obj.__mro__[1:] if b.__module__ == fake.__name__]
            if not set(fake_bases) <= set(stubs.ancestors(name)):
                problems.append(f"fake {name} derives from {fake_bases}; types-nuke: {stubs.ancestors(name)}")
            stub_methods = stubs.methods(name)
            for mname, method in vars(obj).items():
                if mname.startswith("_") and mname != "__getitem__" or not callable(method):
                    continue
                method = method.__func__ if isinstance(method, classmethod) else method
                if mname not in stub_methods:
                    problems.append(f"fake {name}.{mname} is not in types-nuke")
                elif not compatible(fake_sig(method), stub_methods[mname]):
                    problems.append(f"fake {name}.{mname}{inspect.signature(method)} differs from the stub")
    assert not problems, "\n".join(problems)


def test_the_fake_implements_everything_the_adapter_calls(scans):
    import nuke as fake

    missing = set()
    for u in uses(scans):
        if u.cls == "module":
            if not hasattr(fake, u.name):
                missing.add(f"nuke.{u.name}")
        elif u.cls == "function":
            continue
        elif u.cls != "Nodes" and not hasattr(getattr(fake, u.cls, None), u.name):
            missing.add(f"{u.cls}.{u.name}")
    assert not missing, missing


# -- nukescripts against HOSTS.md ----------------------------------------------------------------------


def _documented_nukescripts() -> dict[str, int]:
    """nukescripts.a.b(...) as documented in HOSTS.md, with the number of arguments shown."""
    if not HOSTS.exists():
        pytest.skip("../shared/HOSTS.md is not beside the checkout")
    return {m.group(1): len([a for a in m.group(2).split(",") if a.strip()])
            for m in re.finditer(r"`(nukescripts(?:\.\w+)+)\(([^)]*)\)`", HOSTS.read_text())}


def test_nukescripts_calls_are_the_documented_ones():
    documented = _documented_nukescripts()
    assert "nukescripts.panels.registerWidgetAsPanel" in documented
    seen = []
    for path in ADAPTER:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).startswith("nukescripts."):
                dotted = ast.unparse(node.func)
                assert dotted in documented, f"{path.name}: {dotted} is not in HOSTS.md"
                assert len(node.args) + len(node.keywords) == documented[dotted], f"{path.name}: {dotted} arity"
                seen.append(dotted)
    assert seen


def test_the_fake_nukescripts_offers_only_documented_names():
    import nukescripts

    documented = _documented_nukescripts()
    for module_name in ("panels",):
        module = getattr(nukescripts, module_name)
        for name, fn in vars(module).items():
            if inspect.isfunction(fn) and fn.__module__ == module.__name__ and name != "create_widget":
                dotted = f"nukescripts.{module_name}.{name}"
                assert dotted in documented, f"fake {dotted} is not documented in HOSTS.md"
                assert len(inspect.signature(fn).parameters) == documented[dotted]

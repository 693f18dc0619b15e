"""Every Resolve call the adapter makes exists in the published API (the fusionscript-stubs package) and fits
its signature; the fake the other tests use offers the same names with compatible parameters, so it cannot
drift from the real API; the two calls the stubs do not cover (`app.GetResolve()`, `scriptapp("Resolve")`)
are the ones ../shared/HOSTS.md documents.

The scan reads the adapter with `ast` and types names the way a reader would: annotations (`item:
TimelineItem`, `self.resolve: Resolve`), the stubs' return annotations (`resolve.GetProjectManager()` is a
ProjectManager), the adapter's own functions and classes (`video_items(...)` returns `list[ItemInfo]`, whose
`item` field is a TimelineItem), loop variables over typed lists. Resolve's methods are all PascalCase, so a
PascalCase method called on anything the scan cannot type fails the test: nothing slips past unchecked.
Beyond names and argument counts it checks string/int constants against the stubs' Literal types (track
types, marker colours, version types) and dict literals against their TypedDicts (SetCDL's CDLMap,
AppendToTimeline's MediaPoolClipInfo, ImportMedia's ImportClipInfo).
"""

from __future__ import annotations

import ast
import inspect
import re
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from stubsig import Sig, compatible, fake_sig, own_nodes, type_scope

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "plugins" / "resolve"
ADAPTER = sorted(PLUGIN.rglob("*.py"))
HOSTS = REPO.parent / "shared" / "HOSTS.md"

# -- the stubs -----------------------------------------------------------------------------------------


@dataclass
class StubClass:
    methods: dict[str, list[Sig]] = field(default_factory=dict)
    returns: dict[str, str] = field(default_factory=dict)
    attrs: set[str] = field(default_factory=set)


@dataclass
class TypedDictInfo:
    keys: set[str]
    required: set[str]


@dataclass
class Stubs:
    classes: dict[str, StubClass]
    typed_dicts: dict[str, TypedDictInfo]
    literals: dict[str, set]  # alias name -> the constants it allows


def stub_dir() -> Path:
    for base in [*site.getsitepackages(), site.getusersitepackages(), *sys.path]:
        if (Path(base) / "fusionscript-stubs" / "fusionscript.pyi").is_file():
            return Path(base) / "fusionscript-stubs"
    pytest.skip("fusionscript-stubs is not installed in this environment")


def _literal_values(node: ast.AST, aliases: dict[str, set]) -> set | None:
    """Literal['a', 'b'] -> {'a', 'b'}; another alias -> its values; anything else (Resolve.X members,
    list arithmetic) -> None: not checkable."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "Literal":
        elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if all(isinstance(e, ast.Constant) for e in elts):
            return {e.value for e in elts}
    return None


def load_stubs() -> Stubs:
    tree = ast.parse((stub_dir() / "fusionscript.pyi").read_text())
    stubs = Stubs({}, {}, {})
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values = _literal_values(node.value, stubs.literals)
            if values is not None:
                stubs.literals[node.targets[0].id] = values
        elif isinstance(node, ast.ClassDef):
            bases = {ast.unparse(b) for b in node.bases}
            if "TypedDict" in bases:
                keys, required = set(), set()
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        keys.add(item.target.id)
                        if not ast.unparse(item.annotation).startswith("NotRequired"):
                            required.add(item.target.id)
                stubs.typed_dicts[node.name] = TypedDictInfo(keys, required)
                continue
            if any(ast.unparse(d) == "dataclass" for d in node.decorator_list):
                continue
            info = stubs.classes.setdefault(node.name, StubClass())
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    info.methods.setdefault(item.name, []).append(Sig.of(item, True))
                    if item.returns is not None:
                        info.returns.setdefault(item.name, ast.unparse(item.returns))
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    info.attrs.add(item.target.id)
    return stubs


@pytest.fixture(scope="module")
def stubs() -> Stubs:
    return load_stubs()


# -- the adapter's calls -------------------------------------------------------------------------------


def simple_type(annotation: str | None, known: set[str]) -> str | None:
    """'Timeline | None' -> 'Timeline', 'List[TimelineItem]' / '[TimelineItem]' -> 'list:TimelineItem'."""
    if not annotation:
        return None
    a = annotation.strip().strip("'\"").replace("fusionscript.", "")
    a = re.sub(r"\s*\|\s*None$", "", a)
    m = re.fullmatch(r"Optional\[(\w+)\]", a)
    if m:
        a = m.group(1)
    m = re.fullmatch(r"(?:List|list)\[(\w+)\]|\[(\w+)\]", a)
    if m:
        inner = m.group(1) or m.group(2)
        return f"list:{inner}" if inner in known else None
    return a if a in known else None


@dataclass
class Use:
    path: Path
    line: int
    cls: str
    name: str
    call: ast.Call | None  # None: an attribute (a constant such as resolve.EXPORT_OTIO)


@dataclass
class LocalClass:
    attrs: dict[str, str] = field(default_factory=dict)  # attribute -> annotation / inferred type
    methods: dict[str, str | None] = field(default_factory=dict)  # method -> return annotation


class Registry:
    """The adapter's own functions, classes and module constants, across every module."""

    def __init__(self, paths: list[Path]):
        self.functions: dict[tuple[str, str], str | None] = {}  # (module, name) -> return annotation
        self.classes: dict[str, LocalClass] = {}
        self.constants: dict[tuple[str, str], object] = {}
        self.trees = {p: ast.parse(p.read_text()) for p in paths}
        for path, tree in self.trees.items():
            module = path.stem
            for node in tree.body:
                if isinstance(node, ast.FunctionDef):
                    self.functions[(module, node.name)] = ast.unparse(node.returns) if node.returns else None
                elif isinstance(node, ast.ClassDef):
                    cls = self.classes.setdefault(node.name, LocalClass())
                    for item in ast.walk(node):
                        if isinstance(item, ast.FunctionDef):
                            cls.methods.setdefault(item.name, ast.unparse(item.returns) if item.returns else None)
                        if isinstance(item, ast.AnnAssign):
                            target = item.target
                            if isinstance(target, ast.Name) and item in node.body:
                                cls.attrs[target.id] = ast.unparse(item.annotation)
                            elif isinstance(target, ast.Attribute) and ast.unparse(target.value) == "self":
                                cls.attrs[target.attr] = ast.unparse(item.annotation)
                elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                        and isinstance(node.value, ast.Constant):
                    self.constants[(module, node.targets[0].id)] = node.value.value


class Scanner:
    """Collects Resolve uses in one module, typing names scope by scope."""

    def __init__(self, path: Path, stubs: Stubs, registry: Registry):
        self.path, self.stubs, self.registry = path, stubs, registry
        self.module = path.stem
        self.tree = registry.trees[path]
        self.uses: list[Use] = []
        self.untyped: list[str] = []
        self.known = set(stubs.classes) | set(registry.classes)
        self.imported_roots: set[str] = set()  # names bound by imports of other packages (Qt, otio, os...)
        self.imported_functions: dict[str, tuple[str, str]] = {}  # from .items import video_items
        self.imported_modules: dict[str, str] = {}  # from . import bins
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom):
                own = node.level > 0 or (node.module or "").startswith("shotbridge_resolve")
                for alias in node.names:
                    local = alias.asname or alias.name
                    if node.module == "fusionscript":
                        continue
                    if own and node.module in (None, "shotbridge_resolve"):
                        self.imported_modules[local] = alias.name
                    elif own:
                        self.imported_functions[local] = (node.module.split(".")[-1], alias.name)
                    else:
                        self.imported_roots.add(local)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.imported_roots.add((alias.asname or alias.name).split(".")[0])
        self.env: dict[str, str] = {}
        self.self_class: str | None = None

    def scan(self) -> Scanner:
        self._scope(self.tree, {}, None)
        return self

    def _scope(self, scope: ast.AST, outer: dict[str, str], self_class: str | None) -> None:
        body = own_nodes(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
        self.env = dict(outer)
        self.self_class = self_class
        own = self.registry.classes.get(self_class) if self_class else None
        type_scope(scope, body, self.env, self._local, self.type_of, self_class, own.attrs if own else None)
        self.call_funcs = {id(n.func) for n in body if isinstance(n, ast.Call)}
        for n in body:
            self._check(n)
        env = self.env
        for n in body:
            if isinstance(n, ast.ClassDef):
                for item in n.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self._scope(item, env, n.name)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                self._scope(n, env, self_class)

    def _local(self, annotation: str | None) -> str | None:
        return simple_type(annotation, self.known)

    def type_of(self, e: ast.AST) -> str | None:
        if isinstance(e, ast.Name):
            return self.env.get(e.id)
        if isinstance(e, ast.Attribute):
            owner = self.type_of(e.value)
            if owner in self.registry.classes:
                return self._local(self.registry.classes[owner].attrs.get(e.attr))
            return None
        if isinstance(e, ast.IfExp):
            return self.type_of(e.body) or self.type_of(e.orelse)
        if isinstance(e, ast.BoolOp):
            return next((t for t in map(self.type_of, e.values) if t), None)
        if isinstance(e, ast.Call):
            f = e.func
            if isinstance(f, ast.Name):
                if f.id in self.registry.classes:
                    return f.id
                if f.id == "list" and e.args:
                    return self.type_of(e.args[0])
                if (self.module, f.id) in self.registry.functions:
                    return self._local(self.registry.functions[(self.module, f.id)])
                if f.id in self.imported_functions:
                    key = self.imported_functions[f.id]
                    return f.id if key[1] in self.registry.classes else self._local(self.registry.functions.get(key))
                return None
            if isinstance(f, ast.Attribute):
                if isinstance(f.value, ast.Name) and f.value.id in self.imported_modules:
                    module = self.imported_modules[f.value.id]
                    if f.attr in self.registry.classes:
                        return f.attr
                    return self._local(self.registry.functions.get((module, f.attr)))
                owner = self.type_of(f.value)
                if owner in self.stubs.classes:
                    return self._local(self.stubs.classes[owner].returns.get(f.attr))
                if owner in self.registry.classes:
                    return self._local(self.registry.classes[owner].methods.get(f.attr))
        return None

    def _rooted_in_import(self, e: ast.AST) -> bool:
        while isinstance(e, (ast.Attribute, ast.Call, ast.Subscript)):
            e = e.func if isinstance(e, ast.Call) else e.value
        return isinstance(e, ast.Name) and (e.id in self.imported_roots or e.id in self.imported_modules
                                            or e.id == "super")

    def _check(self, n: ast.AST) -> None:
        if isinstance(n, ast.Attribute) and n.attr[:1].isupper() and id(n) not in self.call_funcs:
            owner = self.type_of(n.value)
            if owner in self.stubs.classes and n.attr not in self.stubs.classes[owner].methods:
                self.uses.append(Use(self.path, n.lineno, owner, n.attr, None))
        if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)):
            return
        recv, name = n.func.value, n.func.attr
        if name == "scriptapp":
            self.uses.append(Use(self.path, n.lineno, "DaVinciResolveScript", name, n))
            return
        if not name[:1].isupper():
            return
        owner = self.type_of(recv)
        if owner in self.stubs.classes:
            self.uses.append(Use(self.path, n.lineno, owner, name, n))
        elif owner in self.registry.classes or self._rooted_in_import(recv):
            return
        else:
            self.untyped.append(f"{self.path.relative_to(REPO) if self.path.is_relative_to(REPO) else self.path}:"
                                f"{n.lineno}: {ast.unparse(recv)}.{name}()")

    def constant(self, e: ast.AST):
        """A literal argument's value (constants and module-level names bound to one), or a marker."""
        if isinstance(e, ast.Constant):
            return e.value
        if isinstance(e, ast.Name) and (self.module, e.id) in self.registry.constants:
            return self.registry.constants[(self.module, e.id)]
        return NotImplemented


def scan_files(paths: list[Path], stubs: Stubs) -> list[Scanner]:
    registry = Registry(paths)
    return [Scanner(p, stubs, registry).scan() for p in paths]


@pytest.fixture(scope="module")
def scans(stubs) -> list[Scanner]:
    return scan_files(ADAPTER, stubs)


def _where(u: Use) -> str:
    path = u.path.relative_to(REPO) if u.path.is_relative_to(REPO) else u.path
    return f"{path}:{u.line}"


def _args(call: ast.Call) -> str:
    return "(" + ", ".join(ast.unparse(a) for a in [*call.args, *call.keywords]) + ")"


def _dict_literals(e: ast.AST) -> list[ast.Dict] | None:
    """The dict literal(s) an argument spells out: {..}, [{..}, ...] or [{..} for ...]."""
    if isinstance(e, ast.Dict):
        return [e]
    if isinstance(e, ast.List) and e.elts and all(isinstance(x, ast.Dict) for x in e.elts):
        return list(e.elts)
    if isinstance(e, ast.ListComp) and isinstance(e.elt, ast.Dict):
        return [e.elt]
    return None


def _typed_dict_of(annotation: str | None, stubs: Stubs) -> str | None:
    if not annotation:
        return None
    m = re.fullmatch(r"(?:(?:List|list)\[)?(\w+)\]?", annotation.strip())
    return m.group(1) if m and m.group(1) in stubs.typed_dicts else None


def check_uses(scanners: list[Scanner], stubs: Stubs, documented: dict[str, int]) -> tuple[list[str], dict]:
    """Problems, and what was verified beyond names (literal and dict-literal checks) for the sanity test."""
    problems: list[str] = []
    verified = {"literals": set(), "dicts": set()}
    for scanner in scanners:
        problems += [f"{u}: cannot tell which Resolve object this is; annotate it (e.g. `item: TimelineItem`)"
                     for u in scanner.untyped]
        for u in scanner.uses:
            if u.cls == "DaVinciResolveScript":
                want = documented.get("scriptapp")
                if want is None or len(u.call.args) != want:
                    problems.append(f"{_where(u)}: scriptapp{_args(u.call)} is not the documented scriptapp(\"Resolve\")")
                continue
            cls = stubs.classes[u.cls]
            if u.call is None:
                if u.name not in cls.attrs:
                    problems.append(f"{_where(u)}: {u.cls}.{u.name} is not in fusionscript-stubs")
                continue
            sigs = cls.methods.get(u.name)
            if sigs is None:
                if documented.get(f"{u.cls}.{u.name}") == len(u.call.args):
                    continue  # documented in HOSTS.md (the stubs leave Fusion empty)
                problems.append(f"{_where(u)}: {u.cls}.{u.name} is not in fusionscript-stubs")
                continue
            keywords = {k.arg for k in u.call.keywords if k.arg}
            fitting = [s for s in sigs if s.accepts(len(u.call.args), keywords)]
            if not fitting:
                problems.append(f"{_where(u)}: {u.cls}.{u.name}{_args(u.call)} does not fit its stub "
                                f"({', '.join('(' + ', '.join(s.params) + ')' for s in sigs)})")
                continue
            args = [(i, None, a) for i, a in enumerate(u.call.args)] + [(None, k.arg, k.value) for k in u.call.keywords]
            for position, keyword, arg in args:
                scanner_value = scanner_constant(scanners, u.path, arg)
                notes = [s.annotation(position, keyword) for s in fitting]
                allowed = [stubs.literals[n] for n in notes if n in stubs.literals]
                if scanner_value is not NotImplemented and allowed:
                    if not any(scanner_value in values for values in allowed):
                        problems.append(f"{_where(u)}: {u.cls}.{u.name}: {scanner_value!r} is not one of "
                                        f"{sorted(map(str, allowed[0]))}")
                    verified["literals"].add(f"{u.cls}.{u.name}")
                literals = _dict_literals(arg)
                if literals is None:
                    continue
                kinds = [t for t in (_typed_dict_of(n, stubs) for n in notes) if t]
                if not kinds:
                    problems.append(f"{_where(u)}: {u.cls}.{u.name} takes no dict there, got {ast.unparse(arg)[:60]}")
                    continue
                for literal in literals:
                    keys = {k.value for k in literal.keys if isinstance(k, ast.Constant)}
                    if not any(keys <= stubs.typed_dicts[k].keys and stubs.typed_dicts[k].required <= keys
                               for k in kinds):
                        info = stubs.typed_dicts[kinds[0]]
                        problems.append(f"{_where(u)}: {u.cls}.{u.name}: keys {sorted(keys)} do not fit {kinds[0]} "
                                        f"(keys {sorted(info.keys)}, required {sorted(info.required)})")
                    verified["dicts"].add(f"{u.cls}.{u.name}")
    return problems, verified


def scanner_constant(scanners: list[Scanner], path: Path, arg: ast.AST):
    scanner = next(s for s in scanners if s.path == path)
    return scanner.constant(arg)


def documented_calls() -> dict[str, int]:
    """The calls HOSTS.md documents that the stubs do not cover, with their argument counts."""
    if not HOSTS.exists():
        pytest.skip("../shared/HOSTS.md is not beside the checkout")
    text = HOSTS.read_text()
    found = {}
    if re.search(r"`app\.GetResolve\(\)`", text):
        found["Fusion.GetResolve"] = 0
    m = re.search(r"scriptapp\(([^)]*)\)", text)
    if m:
        found["scriptapp"] = len([a for a in m.group(1).split(",") if a.strip()])
    return found


def uses(scanners) -> list[Use]:
    return [u for s in scanners for u in s.uses]


# -- the adapter against the stubs ---------------------------------------------------------------------


def test_the_scan_sees_the_adapters_resolve_calls(scans):
    seen = {(u.cls, u.name) for u in uses(scans)}
    expected = {
        ("Resolve", "GetProjectManager"), ("Resolve", "GetVersion"), ("Resolve", "EXPORT_OTIO"),
        ("Resolve", "EXPORT_NONE"), ("ProjectManager", "GetCurrentProject"), ("Project", "GetCurrentTimeline"),
        ("Project", "SetCurrentTimeline"), ("Project", "GetMediaPool"), ("Timeline", "Export"),
        ("Timeline", "GetSetting"), ("Timeline", "GetCurrentTimecode"), ("Timeline", "GetCurrentVideoItem"),
        ("Timeline", "GetItemListInTrack"), ("Timeline", "AddTrack"), ("Timeline", "GetMarkers"),
        ("TimelineItem", "AddMarker"), ("TimelineItem", "SetCDL"), ("TimelineItem", "AddVersion"),
        ("TimelineItem", "GetLeftOffset"), ("TimelineItem", "GetMediaPoolItem"), ("TimelineItem", "SetClipEnabled"),
        ("MediaPoolItem", "GetClipProperty"), ("MediaPool", "AppendToTimeline"), ("MediaPool", "ImportMedia"),
        ("MediaPool", "AddSubFolder"), ("MediaPool", "SetCurrentFolder"), ("MediaPool", "CreateEmptyTimeline"),
        ("MediaPool", "GetSelectedClips"), ("Folder", "GetSubFolderList"), ("Fusion", "GetResolve"),
        ("DaVinciResolveScript", "scriptapp")}
    assert expected <= seen, expected - seen


def test_no_resolve_method_is_called_on_something_the_scan_cannot_type(scans):
    untyped = [u for s in scans for u in s.untyped]
    assert not untyped, "annotate these so their calls are checked:\n" + "\n".join(untyped)


def test_every_resolve_call_is_in_the_published_api(scans, stubs):
    problems, verified = check_uses(scans, stubs, documented_calls())
    assert not problems, "\n".join(problems)
    # The checks beyond names ran where they matter (a scan that checked nothing would pass too).
    assert {"TimelineItem.SetCDL", "MediaPool.AppendToTimeline", "MediaPool.ImportMedia"} <= verified["dicts"]
    assert {"Timeline.GetTrackCount", "Timeline.GetItemListInTrack", "TimelineItem.GetVersionNameList"} <= \
        verified["literals"]


BAD_ADAPTER = '''
from __future__ import annotations
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from fusionscript import Timeline, TimelineItem

def bad(timeline: Timeline, item: TimelineItem, mystery) -> None:
    timeline.GetTrackCount()                                  # missing the track type
    timeline.GetTrackCount("vidoe")                           # not a TrackType
    item.AddMarkers(1, "Red", "n", "", 1, "")                  # no such method
    item.AddMarker(1, "Crimson", "n", "", 1, "")               # not a MarkerColor
    item.SetCDL({"NodeIdx": "1", "Slope": "1 1 1"})            # not CDLMap's keys
    mystery.GetName()                                         # cannot be typed
    for other in timeline.GetItemListInTrack("video", 1):
        other.SetClipEnabled(True, False)                     # too many arguments
'''


def test_the_check_fails_on_wrong_calls(stubs, tmp_path):
    """So the tests above prove something: each kind of mistake is reported."""
    path = tmp_path / "bad.py"
    path.write_text(BAD_ADAPTER)
    problems, _ = check_uses(scan_files([path], stubs), stubs, documented_calls())
    text = "\n".join(problems)
    for needle in ("Timeline.GetTrackCount() does not fit", "'vidoe' is not one of", "AddMarkers is not in",
                   "'Crimson' is not one of", "do not fit CDLMap", "mystery.GetName()",
                   "SetClipEnabled(True, False) does not fit"):
        assert needle in text, f"{needle!r} not reported:\n{text}"


def test_marker_colours_the_adapter_uses_are_resolves(stubs):
    from shotbridge_resolve import apply, selection

    colours = stubs.literals["MarkerColor"]
    assert set(selection.MARKER_COLORS) == colours
    assert set(apply.COLORS.values()) | {apply.MARKER_COLOR} <= colours


# -- the fake against the stubs ------------------------------------------------------------------------


def test_the_fake_mirrors_the_stubs(stubs):
    import fake_resolve as fake

    documented = documented_calls()
    problems = []
    for name, obj in vars(fake).items():
        if name.startswith("_") or name in fake.TEST_HELPERS or inspect.ismodule(obj) or name == "annotations":
            continue
        if getattr(obj, "__module__", fake.__name__) != fake.__name__:
            continue  # imported helpers (typing.Any...)
        if not inspect.isclass(obj) or name not in stubs.classes:
            problems.append(f"fake_resolve.{name} is neither a fusionscript class nor a listed test helper")
            continue
        stub = stubs.classes[name]
        for mname, member in vars(obj).items():
            if mname.startswith("_"):
                continue
            if isinstance(member, property) or not callable(member):
                if mname not in stub.attrs:
                    problems.append(f"fake {name}.{mname} is not an attribute of fusionscript's {name}")
                continue
            if mname not in stub.methods:
                if documented.get(f"{name}.{mname}") == len(fake_sig(member).params):
                    continue
                problems.append(f"fake {name}.{mname} is not in fusionscript-stubs")
            elif not compatible(fake_sig(member), stub.methods[mname]):
                problems.append(f"fake {name}.{mname}{inspect.signature(member)} differs from the stub")
    assert not problems, "\n".join(problems)


def test_the_fake_implements_everything_the_adapter_calls(scans):
    import fake_resolve as fake

    missing = {f"{u.cls}.{u.name}" for u in uses(scans)
               if u.cls != "DaVinciResolveScript" and not hasattr(getattr(fake, u.cls, None), u.name)}
    assert not missing, missing


def test_the_fake_refuses_what_the_stubs_do_not_have(fake):
    """Its calls go through the same checks: a misspelt method is an AttributeError, as on a real object."""
    resolve = fake.new_resolve()
    timeline = resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()
    with pytest.raises(AttributeError):
        timeline.GetItemsInTrackList("video", 1)
    old = fake.new_resolve(version=(18, 1, 4, 6, ""))
    with pytest.raises(AttributeError):
        old.EXPORT_OTIO  # noqa: B018 (the access is the test)

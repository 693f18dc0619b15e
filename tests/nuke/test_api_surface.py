"""Every Nuke call the adapter makes exists in the published API (types-nuke stubs) and fits its signature;
the fake used by the other tests offers the same names with compatible parameters, so it cannot drift."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ADAPTER = sorted((REPO / "plugins" / "nuke").rglob("*.py"))
HOSTS = REPO.parent / "shared" / "HOSTS.md"

# Variables the adapter uses for Nuke objects, by what they hold.
RECEIVERS = {"node": "Node", "read": "Node", "take": "Node", "copy": "Node", "selected": "Node",
             "plate": "Node", "fmt": "Format", "menu": "Menu", "knob": "Knob"}
KNOB_CLASSES = ("Knob", "Array_Knob", "Color_Knob", "String_Knob", "File_Knob", "Int_Knob")


def _stub_dir() -> Path:
    import site

    for base in site.getsitepackages():
        if (Path(base) / "nuke-stubs").is_dir():
            return Path(base) / "nuke-stubs"
    pytest.skip("types-nuke is not installed in this environment")


def _params(fn: ast.FunctionDef, method: bool) -> tuple[list[str], int, bool, bool]:
    args = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    if method and args and args[0] in ("self", "cls"):
        args = args[1:]
    return args, len(fn.args.defaults), fn.args.vararg is not None, fn.args.kwarg is not None


def load_stubs() -> tuple[dict, dict, set]:
    functions: dict[str, list] = {}
    classes: dict[str, dict[str, list]] = {}
    names: set[str] = set()
    for pyi in _stub_dir().glob("*.pyi"):
        tree = ast.parse(pyi.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                functions.setdefault(node.name, []).append(_params(node, False))
            elif isinstance(node, ast.ClassDef):
                methods = classes.setdefault(node.name, {})
                bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
                methods.setdefault("__bases__", bases)
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        methods.setdefault(item.name, []).append(_params(item, True))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return functions, classes, names | set(functions) | set(classes)


def methods_of(classes: dict, cls: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for base in classes.get(cls, {}).get("__bases__", []):
        out.update(methods_of(classes, base))
    out.update({k: v for k, v in classes.get(cls, {}).items() if k != "__bases__"})
    return out


def fits(call: ast.Call, signatures: list) -> bool:
    positional = len(call.args)
    keywords = {k.arg for k in call.keywords if k.arg}
    for params, n_defaults, varargs, varkw in signatures:
        if positional > len(params) and not varargs:
            continue
        if not varkw and not keywords <= set(params[positional:]):
            continue
        if positional + len(keywords) < len(params) - n_defaults and not varargs:
            continue
        return True
    return False


def calls(path: Path):
    """(kind, name, call node, line): nuke.X(...) calls, nuke.X references, and methods on Nuke objects."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "nuke":
            yield "module", node.attr, None, node.lineno
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        func, recv = node.func, node.func.value
        if isinstance(recv, ast.Name) and recv.id == "nuke":
            yield "function", func.attr, node, node.lineno
        elif isinstance(recv, ast.Name) and recv.id in RECEIVERS:
            yield RECEIVERS[recv.id], func.attr, node, node.lineno
        elif isinstance(recv, ast.Subscript):  # node["knob"].setValue(...)
            yield "Knob", func.attr, node, node.lineno
        elif isinstance(recv, ast.Call) and isinstance(recv.func, ast.Attribute):
            inner = recv.func.attr
            if inner == "format":
                yield "Format", func.attr, node, node.lineno
            elif inner in ("menu", "addMenu"):
                yield "Menu", func.attr, node, node.lineno
            elif inner == "knob":
                yield "Knob", func.attr, node, node.lineno


@pytest.fixture(scope="module")
def stubs():
    return load_stubs()


def used_calls():
    return [(p, *c) for p in ADAPTER for c in calls(p)]


def test_the_adapter_calls_nuke(stubs):
    kinds = {kind for _, kind, *_ in used_calls()}
    assert {"function", "Node", "Knob", "Menu", "Format"} <= kinds, "the scan sees the adapter's Nuke calls"


def test_every_nuke_call_is_in_the_published_api(stubs):
    functions, classes, names = stubs
    problems = []
    for path, kind, name, call, line in used_calls():
        where = f"{path.relative_to(REPO)}:{line}"
        if kind == "module":
            if name not in names:
                problems.append(f"{where}: nuke.{name} is not in types-nuke")
        elif kind == "function":
            if name in functions and not fits(call, functions[name]):
                problems.append(f"{where}: nuke.{name}(...) does not fit its stub signature")
        else:
            cls_methods = methods_of(classes, kind) if kind != "Knob" else {
                k: v for c in KNOB_CLASSES for k, v in methods_of(classes, c).items()}
            if kind == "Menu":
                cls_methods.update(methods_of(classes, "MenuBar"))
            if name not in cls_methods:
                problems.append(f"{where}: {kind}.{name} is not in types-nuke")
            elif not fits(call, cls_methods[name]):
                problems.append(f"{where}: {kind}.{name}(...) does not fit its stub signature")
    assert not problems, "\n".join(problems)


def test_the_fake_offers_what_the_stubs_promise(stubs):
    import nuke as fake

    functions, classes, _ = stubs
    used = {(kind, name) for _, kind, name, *_ in used_calls()}
    problems = []
    for kind, name in sorted(used):
        if kind == "module":
            continue
        if kind == "function":
            impl, stub_sigs = getattr(fake, name, None), functions.get(name, [])
        else:
            impl = getattr(getattr(fake, kind, None), name, None)
            stub_sigs = methods_of(classes, kind).get(name, []) if kind != "Knob" else methods_of(classes, "Knob").get(
                name, []) or methods_of(classes, "Array_Knob").get(name, [])
        if impl is None:
            problems.append(f"fake lacks {kind}.{name}")
            continue
        params = inspect.signature(impl).parameters
        fake_names = [p for p in params if p != "self"]
        open_ended = any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params.values())
        if stub_sigs and not open_ended and not any(set(sig[0]) <= set(fake_names) for sig in stub_sigs):
            problems.append(f"fake {kind}.{name}{tuple(fake_names)} differs from the stub {stub_sigs[0][0]}")
    assert not problems, "\n".join(problems)


def test_nukescripts_calls_are_the_documented_ones():
    if not HOSTS.exists():
        pytest.skip("../shared/HOSTS.md is not beside the checkout")
    documented = HOSTS.read_text()
    for path in ADAPTER:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
                    isinstance(node.value.value, ast.Name) and node.value.value.id == "nukescripts":
                dotted = f"nukescripts.{node.value.attr}.{node.attr}"
                assert dotted in documented, f"{path.name}: {dotted} is not in HOSTS.md"

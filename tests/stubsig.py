"""Signatures read from published API stubs (.pyi) and compared with the fakes the host tests use.

Shared by tests/nuke (types-nuke) and tests/resolve (fusionscript-stubs): each reads its stubs with `ast`,
types the adapter's calls, and checks them and its fake against these signatures.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Sig:
    params: list[str]  # positional-or-keyword, without self
    required: int
    varargs: bool
    varkw: bool
    kwonly: list[str] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, fn: ast.FunctionDef, method: bool) -> Sig:
        a = fn.args
        args = a.posonlyargs + a.args
        if method and args and args[0].arg in ("self", "cls"):
            args = args[1:]
        names = [p.arg for p in args]
        notes = {p.arg: ast.unparse(p.annotation) for p in args + a.kwonlyargs if p.annotation is not None}
        if a.vararg is not None and a.vararg.annotation is not None:
            notes["*"] = ast.unparse(a.vararg.annotation)
        return cls(names, len(names) - len(a.defaults), a.vararg is not None, a.kwarg is not None,
                   [p.arg for p in a.kwonlyargs], notes)

    def accepts(self, positional: int, keywords: set[str]) -> bool:
        if positional > len(self.params) and not self.varargs:
            return False
        named = set(self.params[positional:]) | set(self.kwonly)
        if not self.varkw and not keywords <= named:
            return False
        return positional + len(keywords & set(self.params)) >= self.required

    def annotation(self, position: int | None, keyword: str | None) -> str | None:
        if keyword is not None:
            return self.annotations.get(keyword)
        if position is not None and position < len(self.params):
            return self.annotations.get(self.params[position])
        return self.annotations.get("*")


def own_nodes(scope: ast.AST, scopes: tuple[type, ...] = (ast.FunctionDef, ast.AsyncFunctionDef)) -> list[ast.AST]:
    """The scope's nodes, not descending into nested `scopes` (they are scanned as scopes of their own)."""
    out, todo = [], list(ast.iter_child_nodes(scope))
    while todo:
        n = todo.pop()
        out.append(n)
        if not isinstance(n, scopes):
            todo.extend(ast.iter_child_nodes(n))
    return out


def type_scope(scope: ast.AST, body: list[ast.AST], env: dict[str, str], annotated: Callable[[str], str | None],
               type_of: Callable[[ast.AST], str | None], self_class: str | None = None,
               self_attrs: dict[str, str] | None = None) -> None:
    """Type a scope's names into `env`: its arguments from their annotations (`self` as `self_class`), then,
    to a fixpoint, annotated names, what assignments and walruses give, and loop variables over `list:` types.
    `annotated` types an annotation's text; `self_attrs` collects the types of `self.x = ...` assignments."""
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = scope.args
        for arg in args.posonlyargs + args.args + args.kwonlyargs:
            t = annotated(ast.unparse(arg.annotation)) if arg.annotation is not None else None
            if arg.arg == "self" and self_class:
                t = self_class
            if t:
                env[arg.arg] = t
            else:
                env.pop(arg.arg, None)
    declared = {n.target.id for n in body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    for _ in range(4):
        for n in body:
            if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
                if t := annotated(ast.unparse(n.annotation)):
                    env[n.target.id] = t
            elif isinstance(n, (ast.Assign, ast.NamedExpr)):
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                t = type_of(n.value)
                for target in targets:
                    if isinstance(target, ast.Name) and t and target.id not in declared:
                        env[target.id] = t
                    elif isinstance(target, ast.Attribute) and ast.unparse(target.value) == "self" and t \
                            and self_attrs is not None:
                        self_attrs.setdefault(target.attr, t)
            elif isinstance(n, (ast.For, ast.comprehension)) and isinstance(n.target, ast.Name):
                t = type_of(n.iter)
                if t and t.startswith("list:"):
                    env[n.target.id] = t[5:]


def fake_sig(fn) -> Sig:
    """The signature of a fake's function or method, in the stubs' terms."""
    params = list(inspect.signature(fn).parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return Sig([p.name for p in pos], sum(p.default is p.empty for p in pos),
               any(p.kind is p.VAR_POSITIONAL for p in params), any(p.kind is p.VAR_KEYWORD for p in params),
               [p.name for p in params if p.kind is p.KEYWORD_ONLY])


def compatible(fake: Sig, stub_sigs: list[Sig]) -> bool:
    """The fake takes every call some stub signature allows, and asks for no more than it."""
    for s in stub_sigs:
        if s.varargs and not fake.varargs:
            continue
        if len(s.params) > len(fake.params) and not fake.varargs:
            continue
        if not set(s.params + s.kwonly) <= set(fake.params + fake.kwonly) and not fake.varkw:
            continue
        if fake.required > s.required:
            continue
        return True
    return False

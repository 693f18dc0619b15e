"""A small reader for Nuke's .nk text, for tests: enough to check that a script is well formed and to list
its nodes and knobs. Written for these tests; it does not run TCL."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class NkSyntaxError(ValueError):
    pass


@dataclass
class Node:
    cls: str
    knobs: dict[str, str] = field(default_factory=dict)
    line: int = 0


def _value_end(text: str, i: int) -> int:
    """End index of the knob value starting at i: a quoted string, a braced block, or a bare word."""
    if text[i] == '"':
        i += 1
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == '"':
                return i + 1
            i += 1
        raise NkSyntaxError("unterminated quoted string")
    if text[i] == "{":
        depth = 0
        while i < len(text):
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise NkSyntaxError("unbalanced braces")
    m = re.compile(r"[^\s]+").match(text, i)
    return m.end()


def parse(text: str) -> list[Node]:
    nodes: list[Node] = []
    stack: list[Node] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        lineno = i + 1
        i += 1
        if not line or line.startswith("#"):
            continue
        if line == "}":
            if not stack:
                raise NkSyntaxError(f"line {lineno}: '}}' closes nothing")
            nodes.append(stack.pop())
            continue
        m = re.match(r"^([A-Za-z_][\w.]*)\s*\{\s*$", line)
        if m:
            if stack:
                raise NkSyntaxError(f"line {lineno}: node {m.group(1)} opened inside {stack[-1].cls}")
            stack.append(Node(m.group(1), line=lineno))
            continue
        if re.match(r"^(version|set|push|end_group|define_window_layout_xml|add_layer|clone|cut_paste_input)\b", line):
            # statements; a braced value may span lines
            rest = "\n".join([raw, *lines[i:]])
            start = rest.find("{")
            if start != -1 and not line.startswith(("set ", "push ", "add_layer", "version", "end_group")):
                end = _value_end(rest, start)
                i += rest.count("\n", 0, end)
            continue
        if not stack:
            raise NkSyntaxError(f"line {lineno}: knob outside a node: {line[:40]}")
        km = re.match(r"^(\w+)\s*(.*)$", line)
        if not km:
            raise NkSyntaxError(f"line {lineno}: not a knob: {line[:40]}")
        name, value = km.group(1), km.group(2)
        if value:
            rest = "\n".join([raw[raw.index(value[0], raw.index(name) + len(name)):], *lines[i:]])
            end = _value_end(rest, 0)
            i += rest.count("\n", 0, end)
            value = rest[:end]
        stack[-1].knobs[name] = value
    if stack:
        raise NkSyntaxError(f"node {stack[-1].cls} (line {stack[-1].line}) is never closed")
    return nodes

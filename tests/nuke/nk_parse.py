"""A reader for Nuke's .nk scripts, written for these tests (it runs no TCL).

A .nk file is a TCL script: `Class {knobs}` commands make nodes, `set`/`push` work Nuke's node stack.
This reader tokenizes with TCL's word rules (braces, quotes, `[...]`, backslashes), reads each node block
as knob commands, and replays the stack to find every node's inputs (the top of the stack is input 0), so
a script that parses here is well formed in the ways Nuke's loader cares about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GROUP_CLASSES = {"Group", "LiveGroup", "Gizmo"}
STATEMENTS = {"version", "define_window_layout_xml", "set", "push", "end_group", "add_layer", "clone",
              "cut_paste_input", "Root"}
_NAME = re.compile(r"^[A-Za-z_][\w.]*$")


class NkSyntaxError(ValueError):
    pass


@dataclass
class Node:
    cls: str
    knobs: dict[str, list[str]] = field(default_factory=dict)  # knob -> raw words as written
    line: int = 0
    group: str = "root"
    inputs: list[Node | None] = field(default_factory=list)

    @property
    def name(self) -> str:
        return decode(self.knobs["name"][0]) if "name" in self.knobs else ""

    def value(self, knob: str) -> str:
        """The knob's single word, unquoted (script level)."""
        return decode(self.knobs[knob][0])


@dataclass
class Script:
    nodes: list[Node]
    statements: list[str]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)


# -- TCL words -----------------------------------------------------------------------------------------


def _matching(text: str, i: int, open_: str, close: str, unclosed: str) -> int:
    """Index after the `close` matching the `open_` at i, skipping backslash escapes."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise NkSyntaxError(unclosed)


def _skip_brackets(text: str, i: int) -> int:
    """Index after the `]` matching the `[` at i (command substitution may hold spaces, quotes, braces)."""
    return _matching(text, i, "[", "]", "unterminated [command]")


def _braced_end(text: str, i: int) -> int:
    return _matching(text, i, "{", "}", "unbalanced braces")


def _quoted_end(text: str, i: int) -> int:
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _skip_brackets(text, i)
            continue
        if c == '"':
            return i + 1
        i += 1
    raise NkSyntaxError("unterminated quoted string")


def commands(text: str, base_line: int = 1) -> list[tuple[int, list[str]]]:
    """TCL commands as (line, raw words)."""
    out: list[tuple[int, list[str]]] = []
    words: list[str] = []
    i, start_line = 0, base_line
    while i < len(text):
        c = text[i]
        if c in " \t\r":
            i += 1
        elif c == "\\" and text[i + 1:i + 2] == "\n":  # line continuation
            i += 2
        elif c in "\n;":
            if words:
                out.append((start_line, words))
                words = []
            i += 1
        elif c == "#" and not words:  # a comment is a command of its own
            j = text.find("\n", i)
            i = len(text) if j == -1 else j
        else:
            if not words:
                start_line = base_line + text.count("\n", 0, i)
            if c == "{":
                end = _braced_end(text, i)
                kind = "close-brace"
            elif c == '"':
                end = _quoted_end(text, i)
                kind = "close-quote"
            else:
                end, kind = i, ""
                while end < len(text) and text[end] not in " \t\r\n;":
                    if text[end] == "\\":
                        end += 2
                    elif text[end] == "[":
                        end = _skip_brackets(text, end)
                    else:
                        end += 1
            if kind and end < len(text) and text[end] not in " \t\r\n;":
                line = base_line + text.count("\n", 0, end)
                raise NkSyntaxError(f"line {line}: extra characters after {kind}")
            words.append(text[i:end])
            i = end
    if words:
        out.append((start_line, words))
    return out


def _unescape(text: str) -> str:
    table = {"n": "\n", "t": "\t", "r": "\r"}
    return re.sub(r"\\(.)", lambda m: table.get(m.group(1), m.group(1)), text, flags=re.S)


def decode(word: str) -> str:
    """A raw word's value after TCL's script-level substitution of backslashes (no commands run)."""
    if word.startswith("{"):
        return word[1:-1]
    if word.startswith('"'):
        return _unescape(word[1:-1])
    return _unescape(word)


def evaluate_literal(value: str) -> str:
    """What a string knob evaluates to when it holds no commands: backslash escapes resolved."""
    if re.search(r"(?<!\\)[\[$]", value):
        raise NkSyntaxError(f"{value!r} would run TCL when Nuke evaluates it")
    return _unescape(value)


def form(word: str) -> str:
    """The shape of a knob value, to compare with what Nuke writes."""
    if word.startswith("{"):
        return "braced"
    if word.startswith('"'):
        return "quoted"
    if re.fullmatch(r"-?\d+", word):
        return "int"
    if re.fullmatch(r"-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?", word):
        return "float"
    if word in ("true", "false"):
        return "bool"
    if re.fullmatch(r"0x[0-9a-fA-F]+", word):
        return "hex"
    return "bare"


# -- the script ----------------------------------------------------------------------------------------


def _inputs(node: Node) -> int:
    if "inputs" not in node.knobs:
        return 0 if node.cls == "Root" else 1
    raw = decode(node.knobs["inputs"][0])
    if not re.fullmatch(r"\d+(\+\d+)?", raw):
        raise NkSyntaxError(f"line {node.line}: inputs {raw!r} is not a count")
    return sum(int(x) for x in raw.split("+"))


def _node_block(cls: str, body: str, line: int, group: str) -> Node:
    node = Node(cls, line=line, group=group)
    for kline, words in commands(body[1:-1], line):
        if not _NAME.match(words[0]):
            raise NkSyntaxError(f"line {kline}: {words[0][:30]!r} is not a knob name")
        node.knobs.setdefault(words[0], []).extend(words[1:] or [""])
    return node


def parse(text: str) -> Script:
    nodes: list[Node] = []
    statements: list[str] = []
    groups: list[tuple[str, list, dict]] = []  # outer contexts while inside a group
    group, stack, variables = "root", [], {}
    for line, words in commands(text):
        head = words[0]
        if head in ("version", "define_window_layout_xml", "add_layer", "cut_paste_input"):
            statements.append(head)
        elif head == "set":
            m = re.fullmatch(r"\[stack (\d+)\]", words[2]) if len(words) == 3 else None
            if not m:
                raise NkSyntaxError(f"line {line}: set needs `set NAME [stack N]`")
            if int(m.group(1)) >= len(stack):
                raise NkSyntaxError(f"line {line}: set {words[1]} below the bottom of the stack")
            variables[words[1]] = stack[-1 - int(m.group(1))]
            statements.append("set")
        elif head == "push":
            if len(words) != 2 or not (words[1] == "0" or words[1].startswith("$")):
                raise NkSyntaxError(f"line {line}: push needs `push $NAME` or `push 0`")
            if words[1] != "0" and words[1][1:] not in variables:
                raise NkSyntaxError(f"line {line}: push of {words[1]}, never set")
            stack.append(None if words[1] == "0" else variables[words[1][1:]])
            statements.append("push")
        elif head == "end_group":
            if not groups:
                raise NkSyntaxError(f"line {line}: end_group outside a group")
            owner = group
            group, stack, variables = groups.pop()
            statements.append("end_group")
            del owner
        elif len(words) in (2, 3) and words[-1].startswith("{") and (_NAME.match(head) or head == "clone"):
            cls = head if head != "clone" else "clone"
            node = _node_block(cls, words[-1], line, group)
            count = _inputs(node)
            if count > len(stack):
                raise NkSyntaxError(f"line {line}: {cls} takes {count} inputs; the stack holds {len(stack)}")
            node.inputs = [stack.pop() for _ in range(count)]  # the top of the stack is input 0
            nodes.append(node)
            if cls in GROUP_CLASSES:
                stack.append(node)
                groups.append((group, stack, variables))
                group, stack, variables = f"{group}.{node.name}", [], {}
            else:
                stack.append(node)
        else:
            raise NkSyntaxError(f"line {line}: unknown command {head[:40]!r}")
    if groups:
        raise NkSyntaxError(f"group {group} is never closed (end_group)")
    return Script(nodes, statements)

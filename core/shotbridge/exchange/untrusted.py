"""Editorial files from outside, read so that no file can crash or freeze the process that reads it.

OpenTimelineIO's C++ reader segfaults on some small hostile files (lists nested deep) and spends minutes on
others (dicts nested 20,000 deep). So a file is first pre-scanned here (size, JSON nesting depth: cheap, and
it names what is wrong), then read in a child process with limits on time and memory. A child that dies,
runs out of time or of memory becomes an `UntrustedFile` error for that file alone.

Two ways to use the child:
- `read(path)`: the child proves that `io.read` gets through the file (and that the timeline's structure is
  sound: tracks, rates, ranges); then this process reads it, knowing the same code on the same bytes survives.
- `isolated(fn, ...)`: run a whole command in the child (the CLI's `timeline` commands), which costs only a
  fork when this process has a single thread.
"""

from __future__ import annotations

import faulthandler
import math
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ExchangeError

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 256 * MiB  # the file itself
    max_depth: int = 256  # JSON nesting; OTIO timelines from real editors stay under 30
    seconds: float = 120.0  # wall time of the child
    memory: int = 4096 * MiB  # address space the child may add

    @classmethod
    def from_env(cls) -> Limits:
        """Limits from SHOTBRIDGE_TIMELINE_MAX_BYTES / _MAX_DEPTH / _SECONDS / _MEMORY (bytes, count, s, bytes)."""
        base = cls()
        kinds = {"max_bytes": int, "max_depth": int, "seconds": float, "memory": int}
        values = {}
        for name, kind in kinds.items():
            raw = os.environ.get(f"SHOTBRIDGE_TIMELINE_{name.upper()}")
            values[name] = kind(raw) if raw else getattr(base, name)
        return cls(**values)


class UntrustedFile(ExchangeError):
    """A file refused by the pre-scan, or whose reading crashed, hung or ran out of memory in the child."""


# -- the pre-scan ------------------------------------------------------------------------------------------

_BRACKETS_AND_QUOTES = bytes(b for b in range(256) if b not in b'"[]{}')


def prescan(path: str | Path, limits: Limits) -> None:
    """Refuse, with the reason and where, what is known to crash or stall OTIO's reader: files over the size
    limit and JSON nested deeper than the depth limit. Runs in ~50 ms for a 10,000-clip timeline."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ExchangeError(f"{path.name}: cannot read the file ({exc.strerror or exc}).") from None
    if size > limits.max_bytes:
        raise UntrustedFile(f"{path.name}: {size} bytes, over the limit of {limits.max_bytes} for a timeline "
                            "(SHOTBRIDGE_TIMELINE_MAX_BYTES). Split the cut, or raise the limit.")
    if path.is_dir():
        return
    with open(path, "rb") as fh:
        head = fh.read(64)
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not stripped.startswith((b"{", b"[")):
            return  # not JSON: EDL, XML and AAF readers are Python (a deep XML is a RecursionError, not a crash)
        data = head + fh.read()
    depth = json_depth(data)
    if depth > limits.max_depth:
        line, col = _where_depth(data, limits.max_depth)
        raise UntrustedFile(f"{path.name}: JSON nested {depth} levels deep (line {line}, column {col}); "
                            f"the limit is {limits.max_depth}. No editor writes such a timeline: re-export it.")


def json_depth(data: bytes) -> int:
    """The deepest nesting of [ and { outside strings (a malformed file gives a rough figure, never a crash)."""
    if b"\\" in data:  # escaped backslashes, then escaped quotes, so no quote inside a string survives
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(data.translate(None, _BRACKETS_AND_QUOTES).split(b'"')[::2])
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def _where_depth(data: bytes, limit: int) -> tuple[int, int]:
    """Line and column where the nesting first passes `limit` (slow, only for the error message)."""
    depth, in_string, escaped = 0, False, False
    for i, byte in enumerate(data):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            if depth > limit:
                line = data.count(b"\n", 0, i) + 1
                return line, i - (data.rfind(b"\n", 0, i) + 1) + 1
        elif byte in b"]}":
            depth -= 1
    return 1, 1


# -- the child ---------------------------------------------------------------------------------------------


def _context():
    """fork where it is safe (one thread: the CLI), else a fork server with OTIO already imported."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["opentimelineio", "shotbridge.exchange.io"])
        return ctx
    return multiprocessing.get_context("spawn")


def _limit_memory(extra: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: no rlimits; the time limit still holds
        return
    try:  # the limit counts what the child inherited, so it is set above the current address space
        with open("/proc/self/statm") as fh:
            current = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (current + extra, current + extra))
    except (OSError, ValueError):  # no /proc (macOS), or a hard limit already lower: the time limit still holds
        pass


def _child(conn, fn: Callable[..., Any], args: tuple, memory: int, what: str) -> None:
    faulthandler.disable()  # a crash here is expected and reported by the parent, not dumped on its stderr
    _limit_memory(memory)
    try:
        outcome = ("ok", fn(*args))
    except MemoryError:
        outcome = ("memory", None)
    except RecursionError:
        outcome = ("error", ExchangeError(f"{what}: nested too deeply for the reader (recursion limit)"))
    except ExchangeError as exc:
        outcome = ("error", exc)
    except BaseException as exc:  # noqa: BLE001 - anything the child raises is reported, never re-raised raw
        outcome = ("bug", f"{type(exc).__name__}: {exc}")
    try:
        conn.send(outcome)
    except Exception as exc:  # an unpicklable result or error: say so rather than die silently
        conn.send(("bug", f"{type(exc).__name__} sending the result: {exc}"))
    conn.close()


def isolated(fn: Callable[..., Any], *args: Any, what: str, limits: Limits | None = None) -> Any:
    """`fn(*args)` in a child process under `limits`; its result, or its ExchangeError re-raised here. A crash,
    a time-out or running out of memory becomes an `UntrustedFile` naming `what` (the file)."""
    limits = limits or Limits.from_env()
    ctx = _context()
    for stream in (sys.stdout, sys.stderr):  # a forked child must not print what this process buffered
        stream.flush()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, fn, args, limits.memory, what), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(limits.seconds):
            raise UntrustedFile(f"{what}: reading it took longer than {limits.seconds:g} s, so it was stopped "
                                "(SHOTBRIDGE_TIMELINE_SECONDS). The file is probably damaged or hostile; re-export it.")
        try:
            kind, value = receive.recv()
        except EOFError:  # the child died before it could answer
            child.join(5)
            raise UntrustedFile(f"{what}: the reader crashed on this file ({_death(child.exitcode)}). It is damaged "
                                "or built to crash OpenTimelineIO; re-export it from the editor.") from None
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if kind == "ok":
        return value
    if kind == "memory":
        raise UntrustedFile(f"{what}: reading it needs more than {limits.memory // MiB} MiB "
                            "(SHOTBRIDGE_TIMELINE_MEMORY). The file is probably damaged or hostile; re-export it.")
    if kind == "error":  # adapters quote whole damaged lines: one line, of a readable length
        raise type(value)(_one_line(str(value))) from None
    raise UntrustedFile(f"{what}: could not be processed ({_one_line(value, 200)}). The file holds something ShotBridge does not "
                        "expect; re-export it, and report it with the file if it came straight from an editor.")


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


# -- reading -----------------------------------------------------------------------------------------------


def read(path: str | Path, rate: float | None = None, limits: Limits | None = None):
    """`io.read(path, rate)` once a pre-scan and a child process have shown that it gets through this file and
    that the result is sound; every failure is an ExchangeError naming the file."""
    from . import io

    limits = limits or Limits.from_env()
    prescan(path, limits)
    isolated(_check_read, str(path), rate, what=Path(path).name, limits=limits)
    return io.read(path, rate)


def read_otio_json(path: str | Path, name: str, limits: Limits | None = None):
    """An OTIO JSON file of any name (the backend's content-addressed assets have no extension), checked as
    `read` checks; returns whatever the file's root is."""
    limits = limits or Limits.from_env()
    prescan(path, limits)
    isolated(_check_otio_json, str(path), name, what=name, limits=limits)
    return _load_otio_json(path, name)


def read_checked(path: str | Path, rate: float | None = None):
    """`io.read` and `check_structure` in this process: what the child runs."""
    from . import io

    with _otio_errors(Path(path).name):
        result = io.read(path, rate)
        check_structure(result.timeline, Path(path).name)
    return result


def _check_read(path: str, rate: float | None) -> None:
    read_checked(path, rate)


def _check_otio_json(path: str, name: str) -> None:
    with _otio_errors(name):
        check_structure(_load_otio_json(path, name), name)


@contextmanager
def _otio_errors(name: str):
    """OTIO and its adapters raise many kinds of error on odd files: the user gets one line naming the file."""
    try:
        yield
    except ExchangeError:
        raise
    except Exception as exc:
        raise ExchangeError(f"{name}: OpenTimelineIO cannot use this file ({type(exc).__name__}: {exc}).") from None


def _load_otio_json(path: str | Path, name: str):
    import opentimelineio as otio

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
        return otio.adapters.read_from_string(text, "otio_json")
    except UnicodeDecodeError as exc:
        raise ExchangeError(f"{name}: not UTF-8 text at byte {exc.start}; an OTIO file is JSON in UTF-8.") from None
    except (ValueError, otio.exceptions.OTIOError) as exc:
        raise ExchangeError(f"{name}: not a readable OTIO file: {exc}") from None


def check_structure(obj, name: str) -> None:
    """Walk what was read as ShotBridge will (tracks, items, ranges, media, markers) and refuse what its code
    cannot use, naming the item: a timeline without tracks, a zero or non-finite rate, a negative duration."""
    import opentimelineio as otio

    if obj.is_unknown_schema:
        raise ExchangeError(f"{name}: its root is a '{obj.original_schema_name}.{obj.original_schema_version}', "
                            f"a schema OpenTimelineIO {otio.__version__} does not know. Export a timeline (OTIO, "
                            "EDL, FCP7/FCPX XML, AAF, ALE).")
    if isinstance(obj, otio.schema.Timeline):
        if obj.tracks is None:
            raise ExchangeError(f"{name}: the timeline '{obj.name}' has no tracks (its 'tracks' is null).")
        items = [("timeline", obj)]
        items += [(f"track {i + 1} '{t.name}'", t) for i, t in enumerate(obj.tracks)]
        if obj.global_start_time is not None:
            _check_time(obj.global_start_time, name, "the timeline's start time")
    else:
        items = []
    for item in obj.find_children() if hasattr(obj, "find_children") else []:
        items.append((f"{item.schema_name()} '{item.name}'", item))
    if isinstance(obj, otio.core.Item):
        items.append((f"{obj.schema_name()} '{obj.name}'", obj))
    for where, item in items:
        source = getattr(item, "source_range", None)
        if source is not None:
            _check_range(source, name, where)
        for marker in getattr(item, "markers", ()):
            _check_range(marker.marked_range, name, f"marker '{marker.name}' on {where}")
        if isinstance(item, otio.schema.Clip):
            for key, ref in item.media_references().items():
                if ref is None:
                    raise ExchangeError(f"{name}: {where} has no media under '{key}' (a null media reference).")
                if ref.available_range is not None:
                    _check_range(ref.available_range, name, f"media '{key}' of {where}")
            if item.source_range is None and item.media_reference.available_range is None:
                raise ExchangeError(f"{name}: {where} has neither a source range nor media with an available "
                                    "range, so its length is unknown; give the clip a source range.")
        if isinstance(item, otio.core.Item):
            try:
                item.trimmed_range()
            except Exception as exc:  # OTIO's own word on why the item has no length
                raise ExchangeError(f"{name}: {where} has no usable range ({exc}).") from None


def _check_time(t, name: str, where: str) -> None:
    if not (math.isfinite(t.rate) and t.rate > 0 and math.isfinite(t.value)):
        raise ExchangeError(f"{name}: {where} has the time {t.value}@{t.rate}; a rate must be a positive number "
                            "and a time finite. Re-export with the sequence's frame rate.")


def _check_range(r, name: str, where: str) -> None:
    _check_time(r.start_time, name, f"{where} (start)")
    _check_time(r.duration, name, f"{where} (duration)")
    if r.duration.value < 0:
        raise ExchangeError(f"{name}: {where} has a negative duration ({r.duration.value} frames).")

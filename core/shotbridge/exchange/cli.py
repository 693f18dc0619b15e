"""`shotbridge timeline ...`: look into, convert, extract shots from and diff editorial files.

JSON shapes are documented in docs/exchange.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

from .errors import ExchangeError
from .untrusted import Limits, isolated, prescan, read_checked

# OpenTimelineIO, its adapters and pydantic load when a command needs them, not for `--help`: panels and
# conform scripts start this command many times.


def register(sub) -> None:
    p = sub.add_parser("timeline", help="inspect, convert, extract shots from and diff editorial files")
    tsub = p.add_subparsers(metavar="ACTION", required=True)

    c = tsub.add_parser("info", help="what a timeline file holds")
    c.add_argument("file")
    c.add_argument("--rate", help="frame rate for EDLs that do not tell (e.g. 24, 25, 23.976)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_isolated(cmd_info, "file"))

    c = tsub.add_parser("convert", help="convert between OTIO, EDL, FCP7/FCPX XML, AAF, ALE")
    c.add_argument("input")
    c.add_argument("output")
    c.add_argument("--rate", help="frame rate for EDLs that do not tell")
    c.set_defaults(func=_isolated(cmd_convert, "input"))

    c = tsub.add_parser("shots", help="the shots of a cut")
    c.add_argument("file")
    c.add_argument("--rate")
    c.add_argument("--track", help="video track name or index")
    c.add_argument("--name", help="clip name pattern: glob (sh0*) or /regex/")
    c.add_argument("--marker", help="only clips with a marker of this name or colour")
    c.add_argument("--range", help="record range in frames, START-END")
    c.add_argument("--handles", type=int, default=0)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_isolated(cmd_shots, "file"))

    c = tsub.add_parser("diff", help="what changed between two cuts, and which AI takes went stale")
    c.add_argument("old")
    c.add_argument("new")
    c.add_argument("--rate")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_isolated(cmd_diff, "old", "new"))


def _isolated(cmd, *files: str):
    """Run `cmd` in a child process (see untrusted.py): a file that crashes or stalls the reader ends the
    child, and this process prints one line naming the file."""

    @functools.wraps(cmd)
    def run(args) -> int:
        from .io import format_of

        limits = Limits.from_env()
        paths = [getattr(args, name) for name in files]
        for path in paths:
            format_of(path)
            prescan(path, limits)
        # without `func` (this wrapper): a fork server must pickle the arguments, and pickles functions by name
        plain = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "func"})
        return isolated(cmd, plain, what=", ".join(Path(p).name for p in paths), limits=limits)

    return run


def _read(path: str, rate: str | None):
    return _read_result(path, rate).timeline


def _read_result(path: str, rate: str | None):
    from .io import rate_arg

    result = read_checked(path, rate_arg(rate))
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return result


def cmd_info(args) -> int:
    from .io import summary

    info = summary(_read(args.file, args.rate))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['name'] or '(unnamed)'}: {info['kind']}, {info['clips']} clip(s), rate {info['rate']}, "
          f"start {info['start_timecode']}, {info['duration_frames']} frames")
    for t in info["tracks"]:
        print(f"  {t['kind']:<6} {t['name'] or '(unnamed)':<20} {t['clips']} clip(s)")
    print(f"  markers {info['markers']}, image sequences {info['image_sequences']}, takes {info['takes']}")
    return 0


def cmd_convert(args) -> int:
    from .io import rate_arg, write

    rate = rate_arg(args.rate)
    for w in write(_read(args.input, args.rate), args.output, rate=rate):
        print(f"warning: {w}", file=sys.stderr)
    print(f"wrote {args.output}")
    return 0


def cmd_shots(args) -> int:
    from .shots import extract_shots

    rng = None
    if args.range:
        a, _, b = args.range.partition("-")
        rng = (int(a), int(b))
    shots = extract_shots(_read(args.file, args.rate), track=args.track, record_range=rng, name=args.name,
                          marker=args.marker, handles=args.handles)
    if args.json:
        print(json.dumps([s.model_dump(mode="json") for s in shots], indent=2))
        return 0
    for s in shots:
        chars = f"  [{', '.join(s.characters)}]" if s.characters else ""
        print(f"{s.track:<8} {s.name:<28} rec {s.record_start}-{s.record_end}  src {s.source_start}-{s.source_end}"
              f"  {s.timecode or ''}  {s.media or s.reel or ''}{chars}")
    return 0


def cmd_diff(args) -> int:
    from .diff import diff_timelines

    old, new = _read_result(args.old, args.rate), _read_result(args.new, args.rate)
    result = diff_timelines(old.timeline, new.timeline, old_format=old.format, new_format=new.format)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
        return 0
    counts = {k: n for k, n in result.counts.items() if n}
    print(", ".join([f"{n} {k}" for k, n in counts.items()] + [f"{result.unchanged} unchanged"]))
    for note in result.notes:
        print(f"  note: {note}")
    for c in result.changes:
        print(f"  {c.kind:<9} {c.name:<28} {c.detail}")
    for t in result.stale_takes:
        print(f"  stale take {t.take} on {t.clip}: {t.reason}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shotbridge")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ExchangeError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

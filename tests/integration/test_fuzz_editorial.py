"""Fuzz: mutated real editorial files (../shared/corpus, fixed seed) through `timeline info`, `timeline convert` and
the timeline upload route of a real backend. Every case ends in a result or one line of error: no traceback, no
hang, no crash of the CLI or the server.

SHOTBRIDGE_FUZZ_CASES sets the number of cases (default 2000); the summary line (`-s`) gives the figures.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from shotbridge.cli import main
from shotbridge.exchange.io import FORMATS

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
CASES = int(os.environ.get("SHOTBRIDGE_FUZZ_CASES", "2000"))
SEED = 20261204
TEXT_FORMATS = {".otio", ".edl", ".xml", ".fcpxml", ".ale"}


def _sources() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in FORMATS and p.is_file())


def _mutate(rng: random.Random, data: bytes, suffix: str) -> tuple[str, bytes]:
    """One of the kinds of damage a file meets on its way: cut short, bits flipped, nested deep, numbers out of
    range, the wrong encoding, pieces repeated or swapped."""
    kind = rng.choice(["truncate", "flip", "nest", "number", "encoding", "repeat", "swap", "empty-ish"])
    n = len(data)
    if kind == "truncate":
        return kind, data[: rng.randrange(n)]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 12)):
            i = rng.randrange(n)
            out[i] = rng.choice([out[i] ^ (1 << rng.randrange(8)), rng.randrange(256), ord(rng.choice('{}[]<>"\\:,0'))])
        return kind, bytes(out)
    if kind == "nest":
        i, depth = rng.randrange(n), rng.choice([50, 300, 5000, 60000])
        opener, closer = (b"[", b"]") if suffix == ".otio" else (b"<a>", b"</a>")
        return kind, data[:i] + opener * depth + closer * depth * rng.randint(0, 1) + data[i:]
    if kind == "number":
        numbers = list(re.finditer(rb"-?\d+(\.\d+)?", data))
        if not numbers:
            return kind, data + b"9" * 400
        m = rng.choice(numbers)
        big = rng.choice([b"9" * 400, b"1e999", b"-1e309", b"NaN", b"-0", b"0", b"18446744073709551616", b"-1"])
        return kind, data[: m.start()] + big + data[m.end():]
    if kind == "encoding":
        text = data.decode("utf-8", "replace")
        return kind, rng.choice([text.encode("utf-16"), text.encode("latin-1", "replace"), b"\xef\xbb\xbf" * 3 + data,
                                 data.replace(b"a", b"\xc3", rng.randint(1, 5)), text.encode("utf-32-le")])
    if kind == "repeat":
        i, j = sorted(rng.randrange(n + 1) for _ in range(2))
        return kind, data[:j] + data[i:j] * rng.randint(2, 50) + data[j:]
    if kind == "swap":
        a, b, c = sorted(rng.randrange(n + 1) for _ in range(3))
        return kind, data[:a] + data[b:c] + data[a:b] + data[c:]
    return kind, data[: rng.randrange(min(n, 64) + 1)] + b"\0" * rng.randint(0, 64)


def _cases() -> list[tuple[str, str, bytes]]:
    rng = random.Random(SEED)
    sources = _sources()
    blobs = {p: p.read_bytes() for p in sources}
    out = []
    for i in range(CASES):
        source = sources[i % len(sources)]
        kind, data = _mutate(rng, blobs[source], source.suffix.lower())
        out.append((f"{i:05d}-{kind}-{source.stem}{source.suffix}", kind, data))
    return out


@pytest.fixture(autouse=True)
def _limits(monkeypatch):
    monkeypatch.setenv("SHOTBRIDGE_TIMELINE_SECONDS", "20")


def _one_line_or_result(code: int, err: str, case: str) -> None:
    assert code in (0, 2), f"{case}: exit {code}\n{err[-2000:]}"
    assert "Traceback" not in err, f"{case}:\n{err[-2000:]}"
    errors = [line for line in err.splitlines() if line and not line.startswith("warning:")]
    assert code == 0 or (len(errors) == 1 and errors[0].startswith("error: ")), f"{case}: {errors[:5]}"


@pytest.mark.slow
def test_mutated_corpus_files_through_timeline_info_and_convert(tmp_path, capfd):
    assert len(_sources()) >= 60, f"the corpus at {CORPUS} is missing"
    outcomes, failures = Counter(), []
    for n, (name, kind, data) in enumerate(_cases()):
        path = tmp_path / name
        path.write_bytes(data)
        commands = [["timeline", "info", str(path), "--rate", "24"] if path.suffix == ".edl" else
                    ["timeline", "info", str(path)]]
        if n % 3 == 0:
            target = ".otio" if path.suffix != ".otio" else random.Random(n).choice([".edl", ".xml", ".fcpxml"])
            commands.append(["timeline", "convert", str(path), str(tmp_path / f"out{target}"), "--rate", "24"])
        for args in commands:
            code = main(args)
            _, err = capfd.readouterr()
            try:
                _one_line_or_result(code, err, f"{args[1]} {name}")
            except AssertionError as exc:
                failures.append(str(exc))
            outcomes[(args[1], kind, "ok" if code == 0 else "refused")] += 1
        path.unlink()
    summary = ", ".join(f"{k[0]}/{k[1]}/{k[2]} {v}" for k, v in sorted(outcomes.items()))
    print(f"\nfuzz: {CASES} mutated files, {sum(outcomes.values())} CLI runs: {summary}")
    assert not failures, f"{len(failures)} case(s) failed; first:\n" + "\n".join(failures[:3])


@pytest.mark.slow
def test_mutated_timelines_through_the_upload_route(server, admin, project):
    otio_sources = [p for p in _sources() if p.suffix == ".otio"]
    rng = random.Random(SEED + 1)
    statuses = Counter()
    for i in range(max(50, CASES // 8)):
        source = otio_sources[i % len(otio_sources)]
        kind, data = _mutate(rng, source.read_bytes(), ".otio")
        sha = hashlib.sha256(data).hexdigest()
        put = admin.session.put(f"{admin.url}/v1/projects/{project.id}/assets/{sha}", data=data, timeout=60,
                                headers={"X-ShotBridge-Filename": f"{i}-{source.name}",
                                         "X-ShotBridge-Media-Type": "application/vnd.opentimelineio+json"})
        assert put.status_code in (200, 201), put.text
        post = admin.session.post(f"{admin.url}/v1/projects/{project.id}/timelines", timeout=60,
                                  json={"name": f"fuzz{i}", "asset": sha})
        assert post.status_code in (201, 422), f"{kind} {source.name}: {post.status_code} {post.text[:500]}"
        assert post.headers["content-type"].startswith(("application/json", "application/problem+json"))
        statuses[(kind, post.status_code)] += 1
    assert admin.health().version and server.proc.poll() is None
    print(f"\nfuzz route: {sum(statuses.values())} timelines: "
          + ", ".join(f"{k[0]}/{k[1]} {v}" for k, v in sorted(statuses.items())))

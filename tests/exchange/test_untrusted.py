"""Untrusted editorial files: the pre-scan, the child process and its limits, and the CLI's one-line errors."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shotbridge.exchange.errors import ExchangeError
from shotbridge.exchange.untrusted import Limits, UntrustedFile, isolated, json_depth, prescan, read

TIMELINE = {"OTIO_SCHEMA": "Timeline.1", "name": "t", "tracks": {
    "OTIO_SCHEMA": "Stack.1", "children": [{"OTIO_SCHEMA": "Track.1", "kind": "Video", "children": [
        {"OTIO_SCHEMA": "Clip.2", "name": "sh010", "active_media_reference_key": "DEFAULT_MEDIA",
         "media_references": {"DEFAULT_MEDIA": {"OTIO_SCHEMA": "ExternalReference.1", "target_url": "a.mov"}},
         "source_range": {"OTIO_SCHEMA": "TimeRange.1",
                          "start_time": {"OTIO_SCHEMA": "RationalTime.1", "value": 0, "rate": 24},
                          "duration": {"OTIO_SCHEMA": "RationalTime.1", "value": 10, "rate": 24}}}]}]}}


def _with_rate(rate: float) -> dict:
    doc = json.loads(json.dumps(TIMELINE))
    clip = doc["tracks"]["children"][0]["children"][0]
    clip["source_range"]["start_time"]["rate"] = clip["source_range"]["duration"]["rate"] = rate
    return doc


# Each: (file name, content, what the one-line error must say)
HOSTILE = [
    ("deep_list.otio", "[" * 100_000 + "]" * 100_000, "nested 100000 levels deep"),
    ("deep_dict.otio", '{"a":' * 20_000 + "1" + "}" * 20_000, "nested 20000 levels deep"),
    ("no_tracks.otio", json.dumps({"OTIO_SCHEMA": "Timeline.1", "name": "t", "tracks": None}), "has no tracks"),
    ("unknown.otio", json.dumps({"OTIO_SCHEMA": "Bogus.7"}), "'Bogus.7'"),
    ("zero_rate.otio", json.dumps(_with_rate(0)), "a rate must be a positive number"),
    ("no_media.otio", json.dumps({**TIMELINE, "tracks": {**TIMELINE["tracks"], "children": [
        {"OTIO_SCHEMA": "Track.1", "kind": "Video", "children": [
            {"OTIO_SCHEMA": "Clip.2", "name": "lone", "active_media_reference_key": "DEFAULT_MEDIA",
             "media_references": {"DEFAULT_MEDIA": {"OTIO_SCHEMA": "MissingReference.1"}}}]}]}}),
     'Clip("lone"'),  # OTIO's own word, naming the clip
    ("not_json.otio", "\xff\xfe garbage", "not"),
    ("binary.edl", "\x00\x01\x02" * 100, "binary.edl"),
    ("truncated.otio", json.dumps(TIMELINE)[:150], "not a readable OTIO file"),
]


@pytest.fixture
def hostile(tmp_path):
    def make(name: str, text: str):
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8", "surrogateescape") if not text.startswith("\xff") else b"\xff\xfe")
        return path

    return make


def test_json_depth_matches_the_nesting_outside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{"}], "c\\\\": "\\"[["}') == 3
    assert json_depth(json.dumps(TIMELINE).encode()) == 8


@given(st.recursive(st.none() | st.integers() | st.text(alphabet='[]{}"\\ab'),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\a'),
                                                                                inner, max_size=3), max_leaves=30))
@settings(max_examples=300, deadline=None)
def test_json_depth_agrees_with_a_real_parse(doc):
    def depth(node) -> int:
        if isinstance(node, list):
            return 1 + max((depth(x) for x in node), default=0)
        if isinstance(node, dict):
            return 1 + max((depth(x) for x in node.values()), default=0)
        return 0

    assert json_depth(json.dumps(doc).encode()) == depth(doc)


@pytest.mark.parametrize("name,text,says", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_files_are_refused_with_the_file_named(hostile, name, text, says):
    with pytest.raises(ExchangeError) as exc:
        read(hostile(name, text))
    assert name in str(exc.value) and says in str(exc.value)


def test_the_size_limit_is_checked_before_reading(hostile):
    with pytest.raises(UntrustedFile, match="over the limit of 100"):
        prescan(hostile("big.otio", json.dumps(TIMELINE)), Limits(max_bytes=100))


def _segfault():
    ctypes.string_at(0)


def _sleep():
    time.sleep(60)


def _hog():
    return b"x" * (1 << 34)


def _fine(x):
    return x * 2


def test_a_crash_a_hang_and_a_memory_hog_in_the_child_are_errors_here():
    with pytest.raises(UntrustedFile, match="crashed.*SIGSEGV"):
        isolated(_segfault, what="crash.otio")
    started = time.monotonic()
    with pytest.raises(UntrustedFile, match="longer than 0.5 s"):
        isolated(_sleep, what="hang.otio", limits=Limits(seconds=0.5))
    assert time.monotonic() - started < 10
    with pytest.raises(UntrustedFile, match="more than 64 MiB"):
        isolated(_hog, what="hog.otio", limits=Limits(memory=64 << 20))
    assert isolated(_fine, 21, what="fine") == 42


def test_a_file_that_crashes_otio_past_the_prescan_is_caught_by_the_child(hostile):
    path = hostile("deep.otio", "[" * 200_000 + "]" * 200_000)
    with pytest.raises(UntrustedFile, match="deep.otio: the reader crashed"):
        read(path, limits=Limits(max_depth=10**9))


@pytest.mark.parametrize("name,text,says", HOSTILE, ids=[h[0] for h in HOSTILE])
@pytest.mark.parametrize("command", ["info", "shots", "convert", "diff"])
def test_the_cli_prints_one_line_never_a_traceback(hostile, tmp_path, name, text, says, command):
    path = hostile(name, text)
    args = {"info": [str(path)], "shots": [str(path)], "diff": [str(path), str(path)],
            "convert": [str(path), str(tmp_path / "out.otio")]}[command]
    done = subprocess.run([sys.executable, "-m", "shotbridge.cli", "timeline", command, *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONFAULTHANDLER": ""})
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0] and says in lines[0], lines


def test_with_other_threads_running_the_cli_s_child_comes_from_the_fork_server(tmp_path, capfd):
    import threading

    from shotbridge.cli import main

    source = tmp_path / "cut.otio"
    source.write_text(json.dumps(TIMELINE))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)  # as in the panel or a DCC: forking would be unsafe
    other.start()
    try:
        code = main(["timeline", "convert", str(source), str(tmp_path / "cut.edl")])
    finally:
        stop.set()
        other.join()
    assert code == 0, capfd.readouterr().err
    assert "sh010" in (tmp_path / "cut.edl").read_text()

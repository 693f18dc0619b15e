"""Hostile names through the one safe-name function (core only: runs on Python 3.10 too)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotbridge.safenames import MAX_BYTES, UnsafeName, clashing, inside, is_plain, safe_name, unique_name

# Every one of these must come out as a single, visible, portable file name.
HOSTILE = [
    "../evil", "../../evil.png", "a/../../evil", "/etc/passwd", "/tmp/evil", "C:\\Windows\\evil",
    "..\\..\\evil", "\\\\server\\share\\evil", "evil\x00.png", "evil\n.png", "evil\r\x1b[31m",
    "．．／evil",  # fullwidth dots and solidus: NFKC makes them '../'
    "..\u2215evil", "..\u2044evil", "\uff0e\uff0e\uff3cevil", "\u2024\u2024/evil",  # slash and dot look-alikes
    "evil\u202egnp.exe",  # a right-to-left override that shows 'exe.png'
    "zero\u200bwidth", "CON", "con.txt", "Nul.png", "COM1", "lpt9.otio", "CONIN$", "com\u00b9",
    "evil.", "evil ", " evil", ".hidden", "e" * 300, "é" * 300 + ".png", "a" * 250 + ".otio",
]
NOTHING_LEFT = ["", ".", "..", "...", " ", "/", "\\", "\x00", "\u200b", "....", " . "]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_become_one_plain_visible_file_name(name, tmp_path):
    safe = safe_name(name)
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".") and not safe.endswith((".", " ")) and safe == safe.strip()
    assert all(ch.isprintable() for ch in safe) and "\u202e" not in safe and "\u200b" not in safe
    assert safe.split(".")[0].casefold() not in {"con", "nul", "com1", "lpt9", "conin$"}
    assert len(safe.encode()) <= MAX_BYTES
    assert safe_name(safe) == safe and is_plain(safe)
    path = inside(tmp_path, safe)
    path.write_text("x")  # the file system takes it, and it lands in the folder
    assert os.listdir(tmp_path) == [safe]


@pytest.mark.parametrize("name", NOTHING_LEFT)
def test_names_with_nothing_usable_are_refused_with_the_field_or_get_the_default(name):
    with pytest.raises(UnsafeName, match="clip name"):
        safe_name(name, "clip name")
    assert safe_name(name, "clip name", default="take") == "take"


def test_long_names_keep_their_extension_and_stay_distinct():
    a, b = safe_name("x" * 300 + "a.png"), safe_name("x" * 300 + "b.png")
    assert a != b and a.endswith(".png") and b.endswith(".png")
    assert len(safe_name("x" * 300, max_bytes=100).encode()) <= 100


@pytest.mark.parametrize("name", [*HOSTILE, *NOTHING_LEFT, "shot.png/"])
def test_inside_refuses_what_is_not_already_plain(name, tmp_path):
    if is_plain(name):
        return
    with pytest.raises(UnsafeName, match="outputs"):
        inside(tmp_path, name, "outputs")


def test_inside_refuses_a_symlink_that_leads_out(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link.png").symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(UnsafeName, match="outside"):
        inside(tmp_path / "out", "link.png")


def test_names_that_differ_only_in_case_are_found_and_made_distinct():
    assert clashing(["Shot.png", "b.png", "shot.PNG"]) == [("Shot.png", "shot.PNG")]
    taken = {"shot.png", "shot-2.png"}
    assert unique_name("SHOT.png", taken) == "SHOT-3.png"
    assert unique_name("other.png", taken) == "other.png"


@given(st.text(max_size=400))
def test_safe_name_is_idempotent_and_plain(name):
    try:
        safe = safe_name(name)
    except UnsafeName:
        return
    assert safe_name(safe) == safe
    assert "/" not in safe and "\\" not in safe and safe not in (".", "..")
    assert len(safe.encode("utf-8")) <= MAX_BYTES

"""`.nk` written without Nuke, checked against real Nuke scripts (../shared/corpus/nk) for syntax."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from shotbridge.exchange.cdl import CDL, set_cdl
from shotbridge.exchange.facts import Facts
from shotbridge.exchange.takes import add_take
from shotbridge.nkscript import quote, write_comp

sys.path.insert(0, str(Path(__file__).parent))
from nk_parse import parse  # noqa: E402

CORPUS_NK = sorted((Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "nk").glob("*.nk"))
# Knobs on every node, and the documented knobs of classes the corpus has no example of (../shared/HOSTS.md).
COMMON = {"inputs", "name", "xpos", "ypos", "label", "tile_color", "selected"}
DOCUMENTED = {"OCIOCDLTransform": {"slope", "offset", "power", "saturation"},
              "BackdropNode": {"bdwidth", "bdheight", "note_font_size"}}


def corpus_knobs() -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for path in CORPUS_NK:
        for node in parse(path.read_text(errors="replace")):
            seen.setdefault(node.cls, set()).update(node.knobs)
    return seen


def shot(tmp_path: Path) -> otio.schema.Timeline:
    rate = 24.0
    seq = otio.schema.ImageSequenceReference(
        target_url_base="file:///shows/demo/sh010/plate [v2]/", name_prefix="sh010.", name_suffix=".exr",
        start_frame=1001, frame_zero_padding=4, rate=rate)
    clip = otio.schema.Clip(name="sh010", media_reference=seq, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(8, rate), otio.opentime.RationalTime(48, rate)))
    set_cdl(clip, CDL(slope=(1.1, 1.0, 0.9), offset=(0.01, 0, -0.02), power=(1, 1.05, 0.95), saturation=0.85))
    add_take(clip, otio.schema.ExternalReference(target_url="/takes/sh010_ext_v001.mov"), "gen_v001",
             facts=Facts(operation="extend_shot"))
    t = otio.schema.Timeline(name="sh010")
    t.tracks.append(otio.schema.Track(name="V1"))
    t.tracks[0].append(clip)
    return t


@pytest.mark.skipif(not CORPUS_NK, reason="../shared/corpus/nk is not beside the checkout")
@pytest.mark.parametrize("path", CORPUS_NK, ids=lambda p: p.name)
def test_the_reader_accepts_real_nuke_scripts(path):
    nodes = parse(path.read_text(errors="replace"))
    assert any(n.cls == "Root" for n in nodes)


@pytest.mark.skipif(not CORPUS_NK, reason="../shared/corpus/nk is not beside the checkout")
def test_comp_script_parses_and_uses_knobs_nuke_writes(tmp_path):
    out = write_comp(shot(tmp_path), tmp_path / "sh010.nk")
    nodes = parse(out.read_text())
    classes = [n.cls for n in nodes]
    assert classes == ["Root", "Read", "OCIOCDLTransform", "Write", "BackdropNode", "Read"]
    known = corpus_knobs()
    for node in nodes:
        allowed = known.get(node.cls, set()) | COMMON | DOCUMENTED.get(node.cls, set())
        assert set(node.knobs) <= allowed, f"{node.cls}: {set(node.knobs) - allowed}"
    plate, cdl = nodes[1], nodes[2]
    assert plate.knobs["file"] == quote("/shows/demo/sh010/plate [v2]/sh010.####.exr")
    assert "\\[v2\\]" in plate.knobs["file"], "brackets escaped: TCL would run them as a command"
    assert (plate.knobs["first"], plate.knobs["last"]) == ("1009", "1056")
    assert cdl.knobs["slope"] == "{1.1 1 0.9}" and cdl.knobs["saturation"] == "0.85"
    take = nodes[5]
    assert take.knobs["file"] == quote("/takes/sh010_ext_v001.mov") and take.knobs["first"] == "9"
    assert "extend_shot" in nodes[4].knobs["label"]


def test_cli_and_clear_errors(tmp_path):
    t = shot(tmp_path)
    t.tracks[0].append(t.tracks[0][0].deepcopy())
    src = tmp_path / "two.otio"
    otio.adapters.write_to_file(t, str(src))
    run = [sys.executable, "-m", "shotbridge.cli", "nuke-script", str(src), "--out", str(tmp_path / "x.nk")]
    done = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--clip" in done.stderr
    t.tracks[0][1].name = "sh020"
    otio.adapters.write_to_file(t, str(src))
    done = subprocess.run([*run, "--clip", "sh020"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert parse((tmp_path / "x.nk").read_text())

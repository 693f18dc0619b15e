"""`.nk` written without Nuke, read back by a TCL-level reader that also reads every real Nuke script in
../shared/corpus/nk: same syntax, knobs Nuke writes for those classes, values in the forms Nuke writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from shotbridge.exchange.cdl import CDL, set_cdl
from shotbridge.exchange.errors import ExchangeError
from shotbridge.exchange.facts import Facts
from shotbridge.exchange.takes import add_take
from shotbridge.nkscript import knob_text, local_path, nk_word, tcl_escape, write_comp

sys.path.insert(0, str(Path(__file__).parent))
from nk_parse import NkSyntaxError, commands, decode, evaluate_literal, form, parse  # noqa: E402

CORPUS_NK = sorted((Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "nk").glob("*.nk"))
needs_corpus = pytest.mark.skipif(not CORPUS_NK, reason="../shared/corpus/nk is not beside the checkout")
# Knobs every node has (Node tab), the documented knobs of classes the corpus has no example of
# (../shared/HOSTS.md; BackdropNode's size knobs), and Iop knobs the corpus shows on other classes.
COMMON = {"inputs", "name", "xpos", "ypos", "label", "tile_color", "selected"}
# Documented knobs map to the value forms Nuke writes for their kind (string, colour triple, number).
TEXT, COLOUR, NUMBER = {"bare", "quoted"}, {"braced"}, {"int", "float"}
DOCUMENTED = {"Read": {"colorspace": TEXT},
              "OCIOCDLTransform": {"slope": COLOUR, "offset": COLOUR, "power": COLOUR, "saturation": NUMBER},
              "BackdropNode": {"bdwidth": NUMBER, "bdheight": NUMBER}}
ANY_IOP = {"channels"}
STRANGE = "/shows/demo/sh010/plate [v2] {alt} $HOME \"q\" x/sh010."


def corpus() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Knob names by class, and value forms by knob name, over the real scripts."""
    knobs: dict[str, set[str]] = {}
    forms: dict[str, set[str]] = {}
    for path in CORPUS_NK:
        for node in parse(path.read_text(errors="replace")).nodes:
            knobs.setdefault(node.cls, set()).update(node.knobs)
            for name, words in node.knobs.items():
                forms.setdefault(name, set()).update(form(w) for w in words)
    return knobs, forms


def shot(plate_dir: str = "file:///shows/demo/sh010/plate%20%5Bv2%5D/") -> otio.schema.Timeline:
    rate = 24.0
    seq = otio.schema.ImageSequenceReference(
        target_url_base=plate_dir, name_prefix="sh010.", name_suffix=".exr",
        start_frame=1001, frame_zero_padding=4, rate=rate)
    clip = otio.schema.Clip(name="sh010", media_reference=seq, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(8, rate), otio.opentime.RationalTime(48, rate)))
    clip.metadata["nuke"] = {"node": "Read1", "colorspace": "ACES - ACEScg",
                             "format": {"width": 2048, "height": 858, "pixel_aspect": 1.0}}
    set_cdl(clip, CDL(slope=(1.1, 1.0, 0.9), offset=(0.01, 0, -0.02), power=(1, 1.05, 0.95), saturation=0.85))
    add_take(clip, otio.schema.ExternalReference(target_url="/takes/sh010 ext_v001.mov"), "gen_v001",
             facts=Facts(operation="extend_shot"))
    matte = otio.schema.ExternalReference(target_url="/takes/sh010_matte_v002.####.exr")
    add_take(clip, matte, "matte_v002", facts=Facts.model_validate({"operation": "segment", "kind": "matte"}))
    t = otio.schema.Timeline(name="sh010")
    t.tracks.append(otio.schema.Track(name="V1"))
    t.tracks[0].append(clip)
    return t


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_NK, ids=lambda p: p.name)
def test_the_reader_accepts_real_nuke_scripts(path):
    script = parse(path.read_text(errors="replace"))
    assert script.nodes[0].cls == "Root" or any(n.cls == "Root" for n in script.nodes)
    assert all(n.name or n.cls in ("Root",) for n in script.nodes if n.group == "root")


def test_the_reader_rejects_broken_scripts():
    for bad in ['Read {\n file "a.exr\n}\n', "Read {\n file a.exr\n", "Read {\n file a}x\n}\n",
                "Blur {\n size 3\n}\n", "push $nope\n", "end_group\n", 'Read {\n "x" 1\n}\n']:
        with pytest.raises(NkSyntaxError):
            parse(bad)


def test_quoting_round_trips_through_both_levels():
    for text in ["/plates/a.####.exr", "/a b/c.%04d.exr", STRANGE, "back\\slash", "tab\there\nnewline", "#hash", "", "x;y"]:
        word = knob_text(text)
        assert len(commands(f"file {word}")[0][1]) == 2, f"{word} is one TCL word"
        assert evaluate_literal(decode(word)) == text
    assert nk_word("sh010.####.exr") == "sh010.####.exr", "plain paths stay bare, as Nuke writes them"
    assert tcl_escape("[v2]") == "\\[v2\\]"


@needs_corpus
def test_comp_script_parses_wires_and_uses_knobs_nuke_writes(tmp_path):
    out = write_comp(shot(), tmp_path / "sh010.nk", write_path=f"{tmp_path}/out dir/sh010_comp.####.exr")
    script = parse(out.read_text())
    classes = [n.cls for n in script.nodes]
    assert classes == ["Root", "BackdropNode", "BackdropNode", "Read", "Read", "OCIOCDLTransform", "Copy",
                       "Write", "Read"]
    known, forms = corpus()
    for node in script.nodes:
        documented = DOCUMENTED.get(node.cls, {})
        allowed = known.get(node.cls, set()) | COMMON | set(documented) | ANY_IOP
        assert set(node.knobs) <= allowed, f"{node.cls}: {set(node.knobs) - allowed} never seen on a {node.cls}"
        for knob, words in node.knobs.items():
            seen = forms.get(knob, set())
            if knob in documented and knob not in known.get(node.cls, ()):
                seen = documented[knob]
            if "bare" in seen:
                seen = seen | {"quoted"}  # a string knob: Nuke quotes it when it holds spaces
            assert {form(w) for w in words} <= seen, f"{node.cls}.{knob} {words} not in forms {seen}"

    plate, matte, cdl = script.node("Plate_sh010"), script.node("Matte_matte_v002"), script.node("CDL_sh010")
    copy, write, take = script.node("Copy_matte_v002"), script.node("Write_sh010"), script.node("Take_gen_v001")
    assert evaluate_literal(plate.value("file")) == "/shows/demo/sh010/plate [v2]/sh010.####.exr"
    assert (plate.value("first"), plate.value("last")) == ("1009", "1056")
    assert plate.value("colorspace") == "ACES - ACEScg"
    assert cdl.knobs["slope"] == ["{1.1 1 0.9}"] and cdl.value("saturation") == "0.85"
    assert cdl.inputs == [plate], "CDL under the plate"
    assert copy.inputs == [cdl, matte], "B = the graded plate, A = the matte"
    assert (copy.value("from0"), copy.value("to0")) == ("rgba.red", "rgba.alpha")
    assert write.inputs == [copy] and write.value("channels") == "rgba"
    assert evaluate_literal(write.value("file")) == f"{tmp_path}/out dir/sh010_comp.####.exr"
    assert take.inputs == [] and evaluate_literal(take.value("file")) == "/takes/sh010 ext_v001.mov"
    assert take.value("first") == "9", "movie frames count from 1; the clip starts 8 frames in"
    labels = [evaluate_literal(n.value("label")) for n in script.nodes if n.cls == "BackdropNode"]
    assert labels == ["segment v002\nmatte_v002", "extend_shot v001\ngen_v001"]
    root = script.nodes[0]
    assert root.value("format") == "2048 858 0 0 2048 858 1 shotbridge_2048x858"
    assert (root.value("first_frame"), root.value("last_frame"), root.value("fps")) == ("1009", "1056", "24")


@needs_corpus
def test_paths_nuke_would_misread_are_escaped(tmp_path):
    t = shot(plate_dir="file:///tmp/" + "".join(f"%{b:02X}" for b in STRANGE.encode()) + "/")
    script = parse(write_comp(t, tmp_path / "x.nk").read_text())
    assert evaluate_literal(script.node("Plate_sh010").value("file")) == f"/tmp/{STRANGE}/sh010.####.exr"
    assert local_path("C:\\shots\\a.mov") == "C:/shots/a.mov" == local_path("file:///C:/shots/a.mov"), \
        "Nuke takes forward slashes on Windows too; a backslash would be an escape"


def test_a_plate_only_shot_is_read_to_write(tmp_path):
    t = shot()
    clip = t.tracks[0][0]
    clip.set_media_references({"DEFAULT_MEDIA": clip.media_references()["DEFAULT_MEDIA"]}, "DEFAULT_MEDIA")
    del clip.metadata["cdl"]
    script = parse(write_comp(clip, tmp_path / "p.nk").read_text())
    assert [n.cls for n in script.nodes] == ["Root", "Read", "Write"]
    assert script.nodes[2].inputs == [script.nodes[1]] and "channels" not in script.nodes[2].knobs


def test_a_clip_without_a_file_plate_is_refused(tmp_path):
    clip = otio.schema.Clip(name="gen", media_reference=otio.schema.GeneratorReference(),
                            source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(10, 24)))
    with pytest.raises(ExchangeError, match="no plate"):
        write_comp(clip, tmp_path / "g.nk")
    assert not (tmp_path / "g.nk").exists()


def test_cli_and_clear_errors(tmp_path):
    t = shot()
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
    assert parse((tmp_path / "x.nk").read_text()).node("Write_sh020")


def test_two_mattes_chain_their_copies(tmp_path):
    t = shot()
    clip = t.tracks[0][0]
    add_take(clip, otio.schema.ExternalReference(target_url="/takes/hair_matte.mov"), "matte_hair_v001",
             facts=Facts.model_validate({"kind": "matte", "channel": "rgba.alpha"}))
    script = parse(write_comp(t, tmp_path / "m.nk").read_text())
    cdl = script.node("CDL_sh010")
    first, second = [n for n in script.nodes if n.cls == "Copy"]
    assert first.inputs[0] is cdl and second.inputs[0] is first, "plate -> CDL -> Copy -> Copy"
    assert {first.inputs[1].name, second.inputs[1].name} == {"Matte_matte_v002", "Matte_matte_hair_v001"}
    hair = first if first.inputs[1].name == "Matte_matte_hair_v001" else second
    assert hair.value("from0") == "rgba.alpha", "a matte's facts may name its channel"
    assert script.node("Write_sh010").inputs == [second]

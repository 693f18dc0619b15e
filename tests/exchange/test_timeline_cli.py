"""`shotbridge timeline ...` as an editor or TD runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is not beside the checkout")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shotbridge.cli", "timeline", *args], capture_output=True,
                          text=True, timeout=120)


def test_info_json():
    done = run("info", str(CORPUS / "aaf" / "aaf_multitrack.aaf"), "--json")
    info = json.loads(done.stdout)
    assert info["kind"] == "Timeline" and info["clips"] == 21 and info["rate"] == 24


def test_edl_without_rate_exits_2_asking_for_rate():
    done = run("info", str(CORPUS / "edl" / "cmx3600_cdl.edl"))
    assert done.returncode == 2 and "--rate" in done.stderr and "Traceback" not in done.stderr
    assert run("info", str(CORPUS / "edl" / "cmx3600_cdl.edl"), "--rate", "24").returncode == 0


def test_convert_warns_what_an_edl_drops(tmp_path):
    out = tmp_path / "ef.edl"
    done = run("convert", str(CORPUS / "otio" / "ococ_ElFuente_4096x2160_60fps_10bit_420_remix1.otio"), str(out))
    assert done.returncode == 0 and out.exists()
    assert "only the first video track" in done.stderr


def test_shots_and_diff_json(tmp_path):
    shots = json.loads(run("shots", str(CORPUS / "edl" / "pycmx_cdl_example01.edl"), "--json").stdout)
    assert shots[0]["cdl"]["slope"] == [0.9405, 0.9439, 0.9424] and shots[0]["reel"]
    a = CORPUS / "otio" / "ococ_SolLevante_Animatics_ver1_H264.otio"
    diff = json.loads(run("diff", str(a), str(a), "--json").stdout)
    assert diff["summary"]["unchanged"] == 63 and not diff["changes"]


def test_refused_file_names_the_element():
    done = run("info", str(CORPUS / "fcpxml" / "dawfilekit_CompoundClips.fcpxml"))
    assert done.returncode == 2 and "<ref-clip>" in done.stderr and "line" in done.stderr

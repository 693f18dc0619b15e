"""EDL lines OTIO's CMX reader misreads, as its own writer and NLEs at 29.97 write them: each read right,
with a warning."""

from __future__ import annotations

from pathlib import Path

from shotbridge.exchange import io

NTSC = 30000 / 1001
EDL = """TITLE: repairs
FCM: DROP FRAME

001  A        V     C        00:00:00;00 00:00:02;00 01:00:00;00 01:00:02;00
* FROM CLIP NAME:  a
* FROM CLIP: /m/a.mov
* LOC: 01:00:01;10 RED     NOTE
002  A        V     C        00:00:02;00 00:00:02;00 01:00:02;00 01:00:02;00
002  B        V     D 010    00:00:10;00 00:00:14;00 01:00:02;00 01:00:04;00
M2   b		59.94005994005994			00:00:10;00
* FROM CLIP NAME:  a
* FROM CLIP: /m/a.mov
* TO CLIP NAME:  b
* TO CLIP: /m/b.mov
"""


def test_drop_frame_locators_dissolve_media_and_m2_lines(tmp_path: Path):
    path = tmp_path / "repairs.edl"
    path.write_text(EDL)
    result = io.read(path, NTSC)
    clips = list(result.timeline.find_clips())
    assert [c.name for c in clips] == ["a", "b"]
    assert clips[1].media_reference.target_url == "/m/b.mov"  # not the outgoing clip's /m/a.mov
    assert [m.name for m in clips[0].markers] == ["NOTE"]  # OTIO's reader drops ';' locators silently
    assert len(clips[1].effects) == 1 and abs(clips[1].effects[0].time_scalar - 2.0) < 1e-9
    said = " ".join(result.warnings)
    assert "LOC" in said and "TO CLIP" in said and "M2" in said


def test_a_fade_from_black_at_the_start_reads_as_a_cut(tmp_path: Path):
    path = tmp_path / "fade.edl"
    path.write_text("""TITLE: fade
001  BL       V     C        00:00:00:00 00:00:00:00 01:00:00:00 01:00:00:00
001  A        V     D 012    00:00:10:00 00:00:12:00 01:00:00:00 01:00:02:00
* TO CLIP NAME:  a
* TO CLIP: /m/a.mov
""")
    result = io.read(path, 24.0)
    clips = list(result.timeline.find_clips())
    assert [(c.name, c.media_reference.target_url) for c in clips] == [("a", "/m/a.mov")]
    assert any("dissolve from black" in w for w in result.warnings)

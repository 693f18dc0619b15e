"""The HTML report of a generative job with bible characters: per generated image or take, the identity gate's
verdict (score, distance, threshold, attempts, face model) next to a thumbnail, a failing one marked in red.

Same look and rules as the consistency report (report.py): one self-contained page, nothing fetched when it is
opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shotbridge.exchange.facts import IdentityFacts

from .report import _e, _thumb, write_page

GATE_CSS = """
section.take{background:var(--panel);border:1px solid var(--line);border-radius:10px;margin:0 0 18px;
padding:16px 18px;display:flex;gap:18px;align-items:flex-start}
section.take.passed{border-left:4px solid var(--ok)}section.take.failing{border-left:4px solid var(--bad)}
section.take figure{width:320px;flex:none}section.take.failing figure .frame{border-color:var(--bad)}
table.verdict{border-collapse:collapse;font-family:var(--mono);font-size:12px;margin-top:8px}
table.verdict th{color:var(--dim);font-weight:400;text-align:left;padding:2px 14px 2px 0}
table.verdict td{padding:2px 0}
"""


@dataclass
class GateEntry:
    """One generated image or take and the gate's verdict on it."""

    label: str  # "image_01.png", "sh010 take AI_2", "clip sh010_ext_after"
    identity: IdentityFacts
    characters: list[str]
    provider: str = ""
    model: str = ""
    template: str = ""
    seed: int | None = None
    thumbnail: Path | None = None  # an image file (the image, or the take's first frame)
    notes: list[str] = field(default_factory=list)


def _figure(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        from PIL import Image

        with Image.open(path) as img:
            uri, _ = _thumb(np.asarray(img.convert("RGB")))
    except OSError:
        return ""
    return f'<figure><div class="frame"><img src="{uri}" alt="generated"></div></figure>'


def _number(value: float | None, digits: int = 3) -> str:
    return "no face found" if value is None else f"{value:.{digits}f}"


def _entry_html(entry: GateEntry) -> str:
    v = entry.identity
    state, badge = ("passed", '<span class="badge ok">PASSED</span>') if v.passed else \
        ("failing", '<span class="badge bad">FAILING IDENTITY GATE</span>')
    rows = [("characters", ", ".join(entry.characters) or "-"), ("score", _number(v.score)),
            ("distance", f"{_number(v.distance)} (threshold {v.threshold:.3f})"),
            ("attempts", str(v.attempts)), ("frames scored", str(v.frames)), ("face model", v.face_model),
            ("provider", entry.provider), ("model", entry.model), ("template", entry.template),
            ("seed", "" if entry.seed is None else str(entry.seed))]
    table = "".join(f"<tr><th>{_e(k)}</th><td>{_e(val)}</td></tr>" for k, val in rows if val)
    warning = "" if v.passed else (
        '<ul class="findings"><li><b>Delivered marked as failing:</b> no attempt came within the threshold; '
        "raise identity_attempts in the project's policy, add reference photos, or change the prompt.</li></ul>")
    notes = "".join(f'<div class="sub">{_e(n)}</div>' for n in entry.notes)
    return (f'<section class="take {state}" data-identity="{state}">{_figure(entry.thumbnail)}<div>'
            f'<div class="head"><h2>{_e(entry.label)}</h2>{badge}</div>'
            f'<table class="verdict">{table}</table>{warning}{notes}</div></section>')


def write_identity_report(entries: list[GateEntry], out_dir: str | Path, title: str,
                          filename: str = "report.html") -> Path:
    """Write `out_dir/report.html`: a summary (passed / failing) and one section per generated image or take."""
    failing = sum(1 for e in entries if not e.identity.passed)
    tiles = (f'<div class="tiles"><div class="tile"><small>generated</small><b>{len(entries)}</b></div>'
             f'<div class="tile ok"><small>passed</small><b>{len(entries) - failing}</b></div>'
             f'<div class="tile {"bad" if failing else "ok"}"><small>failing</small><b>{failing}</b></div></div>')
    return write_page(out_dir, filename, title, tiles + "".join(_entry_html(e) for e in entries),
                      "The identity gate scores what a provider generated with the face engine of "
                      "check_consistency: distance is the worst character's face-embedding distance to its nearest "
                      "bible reference, score is 1 − d²/4. A take passes when every character is within the "
                      "threshold; red: delivered although it never did.", css=GATE_CSS)


__all__ = ["GateEntry", "write_identity_report"]

"""A self-contained HTML report of a consistency check or a look match (inline CSS, SVG, JPEG data URIs).

The page is what a supervisor opens from the job: per shot a strip of frames with face boxes and names, a
similarity-over-time chart with the threshold, drift in red; for look matching, before/after frames with
the CDL and the ΔE figures. Nothing is fetched when it is opened.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .consistency import ConsistencyResult, ShotResult
from .faces import similarity
from .look import CDL, LookResult, LookTarget, apply_cdl, as_float_rgb

THUMB_WIDTH = 320
MAX_THUMBS = 10


class MediaAccess(Protocol):
    """How the report reads a frame: media as named in the result (path, pattern or asset id)."""

    def frame(self, media: str, frame: int) -> np.ndarray | None: ...


class FileMedia:
    """Media names resolved to files (through `paths` when the result names assets), sources cached."""

    def __init__(self, paths: Mapping[str, str | Path] | None = None):
        self.paths = dict(paths or {})
        self._open: dict[str, Any] = {}

    def frame(self, media: str, frame: int) -> np.ndarray | None:
        from .errors import VisionError
        from .frames import open_media

        try:
            if media not in self._open:
                self._open[media] = open_media(str(self.paths.get(media, media)))
            return self._open[media].read(frame)
        except VisionError:
            return None  # a missing frame shows as a gap in the strip, not a failed report

    def close(self) -> None:
        for s in self._open.values():
            s.close()
        self._open.clear()


def _thumb(img: np.ndarray, width: int = THUMB_WIDTH, quality: int = 82) -> tuple[str, float]:
    """A JPEG data URI of the frame at `width`, and the scale applied."""
    import cv2
    from PIL import Image

    from .faces import as_rgb8

    img = as_rgb8(img)
    scale = width / img.shape[1]
    small = cv2.resize(img, (width, max(1, round(img.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    buf = io.BytesIO()
    Image.fromarray(small).save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), scale


def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


CSS = """
:root{--bg:#15171a;--panel:#1d2024;--line:#2c3036;--text:#d8dadd;--dim:#8b9199;--ok:#3fb67a;--bad:#e5484d;
--accent:#5b9dff;--warn:#f0b429;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--text);
font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
header{padding:22px 32px 18px;border-bottom:1px solid var(--line);background:#111316}
header h1{margin:0;font-size:20px;font-weight:600;letter-spacing:.2px}header h1 span{color:var(--dim);font-weight:400}
.meta{color:var(--dim);font-size:12px;margin-top:4px;font-family:var(--mono)}
main{padding:20px 32px 40px;max-width:1480px}
.tiles{display:flex;gap:12px;margin:4px 0 22px}.tile{background:var(--panel);border:1px solid var(--line);
border-radius:8px;padding:10px 16px;min-width:140px}.tile b{display:block;font-size:22px;font-weight:600}
.tile small{color:var(--dim);text-transform:uppercase;letter-spacing:.6px;font-size:11px}
.tile.bad b{color:var(--bad)}.tile.warn b{color:var(--warn)}.tile.ok b{color:var(--ok)}
section.shot,section.look{background:var(--panel);border:1px solid var(--line);border-radius:10px;
margin:0 0 18px;padding:16px 18px}section.shot.drift{border-left:4px solid var(--bad)}
section.shot.clean{border-left:4px solid var(--ok)}
section.shot.unchecked{border-left:4px solid var(--warn)}
.head{display:flex;align-items:baseline;gap:12px;flex-wrap:wrap}.head h2{margin:0;font-size:16px}
.badge{font-size:11px;font-weight:700;letter-spacing:.8px;padding:2px 8px;border-radius:4px}
.badge.bad{background:rgba(229,72,77,.16);color:var(--bad)}.badge.ok{background:rgba(63,182,122,.15);color:var(--ok)}
.badge.na{background:#2a2e34;color:var(--dim)}
.badge.warn{background:rgba(240,180,41,.15);color:var(--warn)}
ul.unchecked{margin:6px 0 4px;padding:0;list-style:none}ul.unchecked li{color:#ffe3a3;
background:rgba(240,180,41,.08);border:1px solid rgba(240,180,41,.3);border-radius:6px;padding:5px 10px;margin:4px 0;
font-size:13px}
.sub{color:var(--dim);font-size:12px;font-family:var(--mono)}
ul.findings{margin:10px 0 4px;padding:0;list-style:none}ul.findings li{color:#ffd0d1;
background:rgba(229,72,77,.10);border:1px solid rgba(229,72,77,.35);border-radius:6px;padding:6px 10px;margin:4px 0;
font-size:13px}ul.findings li b{color:#fff}
.strip{display:grid;gap:8px;padding:12px 0 6px}
figure{margin:0;min-width:0}figure .frame{position:relative;border-radius:4px;overflow:hidden;
border:2px solid #000;line-height:0}figure.drift .frame{border-color:var(--bad);box-shadow:0 0 0 1px var(--bad)}
figure img{width:100%;display:block}figure svg{position:absolute;left:0;top:0;width:100%;height:100%}
figcaption{font-size:11px;color:var(--dim);font-family:var(--mono);padding-top:3px;display:flex;justify-content:space-between}
figure.drift figcaption{color:var(--bad)}
.chart{margin-top:8px}.chart svg{width:100%;height:auto;display:block}
.looks{display:grid;grid-template-columns:repeat(3,1fr);gap:10px;margin-top:10px}
.looks figure{width:auto}.looks figcaption{font-size:12px}
table.cdl{border-collapse:collapse;font-family:var(--mono);font-size:12px;margin-top:10px}
table.cdl td,table.cdl th{padding:3px 12px 3px 0;text-align:right}table.cdl th{color:var(--dim);font-weight:400;text-align:left}
.de{font-family:var(--mono);font-size:13px}.de .down{color:var(--ok)}.de .up{color:var(--bad)}
footer{color:var(--dim);font-size:11px;padding:0 32px 30px}
"""


def _box_overlay(frame: Any, scale: float, w: int, h: int) -> str:
    parts = []
    for f in frame.faces:
        x0, y0, x1, y1 = (v * scale for v in f.box)
        colour = "#e5484d" if f.drift else ("#3fb67a" if f.character else "#f0b429")
        label = f.character or "unknown"
        text = f"{label} {f.similarity:.2f}"
        ty = y0 - 6 if y0 > 30 else y1 + 24
        parts.append(
            f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" fill="none" '
            f'stroke="{colour}" stroke-width="3.5"/>'
            f'<rect x="{x0:.1f}" y="{ty - 19:.1f}" width="{11.5 * len(text) + 8:.1f}" height="24" fill="rgba(0,0,0,.7)"/>'
            f'<text x="{x0 + 4:.1f}" y="{ty - 1:.1f}" fill="{colour}" font-size="19" font-family="monospace">{_e(text)}</text>'
        )
    return f'<svg viewBox="0 0 {w} {h}" preserveAspectRatio="none">{"".join(parts)}</svg>'


def _pick_frames(shot: ShotResult, n: int = MAX_THUMBS) -> list[Any]:
    """Evenly spread grid frames plus the first frame of every finding (drift is what they came for)."""
    frames = shot.frames
    must = {fd.frames[0] for fd in shot.findings} | {fd.frames[-1] for fd in shot.findings}
    grid = [f for f in frames if not f.probe]
    room = max(0, n - len(must))
    idx = np.linspace(0, len(grid) - 1, min(room, len(grid))).round().astype(int) if grid and room else []
    chosen = {grid[i].frame for i in idx} | must
    return [f for f in frames if f.frame in chosen][: max(n, len(must))]


def _chart(shot: ShotResult, threshold: float, width: int = 1400, height: int = 150) -> str:
    """Similarity to the expected character over the shot, the threshold line, drift ranges in red."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 10, 24
    lo_y, hi_y = 0.6, 1.0
    span = max(1, shot.end_frame - 1 - shot.start_frame)

    def x(fr: float) -> float:
        return pad_l + (fr - shot.start_frame) / span * (width - pad_l - pad_r)

    def y(v: float) -> float:
        v = min(hi_y, max(lo_y, v))
        return pad_t + (hi_y - v) / (hi_y - lo_y) * (height - pad_t - pad_b)

    out = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="similarity over time">']
    for fd in shot.findings:
        x0, x1 = x(fd.start_frame - 0.5), x(fd.end_frame - 0.5)
        out.append(
            f'<rect x="{x0:.1f}" y="{pad_t}" width="{max(2.0, x1 - x0):.1f}" height="{height - pad_t - pad_b}" '
            'fill="rgba(229,72,77,.18)"/>'
        )
    for c in shot.characters:
        for sp in c.unchecked:
            x0, x1 = x(sp.start_frame - 0.5), x(sp.end_frame - 0.5)
            out.append(
                f'<rect x="{x0:.1f}" y="{pad_t}" width="{max(2.0, x1 - x0):.1f}" '
                f'height="{height - pad_t - pad_b}" fill="rgba(240,180,41,.10)"><title>{_e(c.name)}: '
                f"{_e(sp.reason)} (frames {sp.start_frame}-{sp.end_frame - 1})</title></rect>"
            )
    for v in (0.6, 0.7, 0.8, 0.9, 1.0):
        out.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#2c3036"/>'
            f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" fill="#8b9199" font-size="11" text-anchor="end">{v:.1f}</text>'
        )
    ty = y(similarity(threshold))
    out.append(
        f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#f0b429" '
        'stroke-dasharray="6 4" stroke-width="1.5"/>'
        f'<text x="{width - pad_r}" y="{ty - 5:.1f}" fill="#f0b429" font-size="11" text-anchor="end">'
        f"threshold {similarity(threshold):.2f} (distance {threshold:.2f})</text>"
    )
    for t in np.linspace(shot.start_frame, shot.end_frame - 1, 6).round().astype(int):
        out.append(
            f'<text x="{x(t):.1f}" y="{height - 6}" fill="#8b9199" font-size="11" text-anchor="middle">{t}</text>'
        )
    pts = []
    for fr in shot.frames:
        sims = [f.similarity_to_expected for f in fr.faces if f.similarity_to_expected is not None]
        if not sims:
            sims = [f.similarity for f in fr.faces]
        if sims:
            pts.append((fr.frame, max(sims), fr.drift))
    if pts:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(f):.1f},{y(v):.1f}" for i, (f, v, _) in enumerate(pts))
        out.append(f'<path d="{path}" fill="none" stroke="#5b9dff" stroke-width="1.8"/>')
        for f, v, d in pts:
            out.append(
                f'<circle cx="{x(f):.1f}" cy="{y(v):.1f}" r="{4 if d else 2.6}" fill="{"#e5484d" if d else "#5b9dff"}"/>'
            )
    else:
        out.append(
            f'<text x="{width / 2}" y="{height / 2}" fill="#8b9199" font-size="13" text-anchor="middle">'
            "no faces found in any frame</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _unchecked_items(shot: ShotResult, limit: int = 6) -> str:
    """What could not be judged: the shot's reason, then per character its unchecked frame ranges."""
    items = []
    if shot.state == "unchecked" and not shot.characters and shot.reason:
        items.append(f"<li><b>Unchecked</b> · {_e(shot.reason)}</li>")
    for c in shot.characters:
        if not c.unchecked:
            continue
        spans = ", ".join(
            f"{sp.start_frame}–{sp.end_frame - 1} ({_e(sp.reason)})" for sp in c.unchecked[:limit]
        ) + (f" and {len(c.unchecked) - limit} more" if len(c.unchecked) > limit else "")
        head = f"<b>{_e(c.name)} unchecked</b>" if c.state == "unchecked" else f"{_e(c.name)} not judged"
        items.append(f"<li>{head} · {c.frames_unchecked} frame(s): {spans}</li>")
    return "".join(items)


def _shot_section(shot: ShotResult, threshold: float, media: MediaAccess) -> str:
    if shot.state == "drift":
        badge = f'<span class="badge bad">DRIFT · {len(shot.findings)}</span>'
    elif shot.state == "unchecked":
        badge = '<span class="badge warn">UNCHECKED</span>'
    else:
        badge = '<span class="badge ok">CONSISTENT</span>'
    who = ", ".join(shot.expected) or "nobody recognised"
    src = {"listed": "listed on the shot", "majority": "the character the shot mostly shows", "none": ""}[
        shot.expected_source
    ]
    figs = []
    for fr in _pick_frames(shot):
        img = media.frame(shot.media, fr.frame)
        if img is None:
            continue
        uri, scale = _thumb(img)
        w, h = THUMB_WIDTH, round(img.shape[0] * scale)
        names = ", ".join(f.character or "unknown" for f in fr.faces) or "no face"
        figs.append(
            f'<figure class="{"drift" if fr.drift else ""}"><div class="frame"><img src="{uri}" alt="frame {fr.frame}">'
            f"{_box_overlay(fr, scale, w, h)}</div><figcaption><span>{fr.frame}</span><span>{_e(names)}</span>"
            "</figcaption></figure>"
        )
    findings = "".join(
        f"<li><b>Frames {fd.start_frame}–{fd.end_frame - 1}</b> · expected <b>{_e(fd.expected)}</b>, "
        f"found <b>{_e(fd.found or 'an unknown person')}</b> · similarity to {_e(fd.expected)} {fd.similarity:.2f}"
        f"{'' if fd.exact else ' · range approximate'}</li>"
        for fd in shot.findings
    )
    unchecked = _unchecked_items(shot)
    cls = {"drift": "drift", "unchecked": "unchecked", "consistent": "clean"}[shot.state]
    return (
        f'<section class="shot {cls}"><div class="head"><h2>{_e(shot.name)}</h2>{badge}'
        f'<span class="sub">frames {shot.start_frame}–{shot.end_frame - 1} · expects {_e(who)}'
        f"{' (' + src + ')' if src else ''} · {shot.frames_read} frames read in {shot.seconds:.1f} s</span></div>"
        f"{f'<ul class=findings>{findings}</ul>' if findings else ''}"
        f"{f'<ul class=unchecked>{unchecked}</ul>' if unchecked else ''}"
        f'<div class="strip" style="grid-template-columns:repeat({max(len(figs), 6)},minmax(0,1fr))">'
        f'{"".join(figs)}</div><div class="chart">{_chart(shot, threshold)}</div></section>'
    )


def _consistency_html(result: ConsistencyResult, media: MediaAccess) -> str:
    n_drift = sum(s.state == "drift" for s in result.shots)
    n_unchecked = sum(s.state == "unchecked" for s in result.shots)
    n_find = sum(len(s.findings) for s in result.shots)
    tiles = (
        f'<div class="tiles"><div class="tile"><small>Shots checked</small><b>{len(result.shots)}</b></div>'
        f'<div class="tile {"bad" if n_drift else "ok"}"><small>Shots drifting</small><b>{n_drift}</b></div>'
        f'<div class="tile {"warn" if n_unchecked else "ok"}"><small>Shots unchecked</small><b>{n_unchecked}</b></div>'
        f'<div class="tile {"bad" if n_find else "ok"}"><small>Findings</small><b>{n_find}</b></div>'
        f'<div class="tile"><small>Frames read</small><b>{sum(s.frames_read for s in result.shots)}</b></div></div>'
    )
    head = (
        f'<h2 style="margin:6px 0 10px;font-size:15px;color:#8b9199;font-weight:500">Character consistency · '
        f"model {_e(result.model)} · threshold {result.threshold:.2f} · every frame, full detection every "
        f"{result.stride}</h2>"
    )
    warn = "".join(f"<li>{_e(w)}</li>" for w in result.warnings)
    warn = f"<ul class=unchecked>{warn}</ul>" if warn else ""
    # Drifting shots first, then the unchecked ones: that is the work.
    order = {"drift": 0, "unchecked": 1, "consistent": 2}
    shots = sorted(result.shots, key=lambda s: (order[s.state], s.start_frame))
    return head + tiles + warn + "".join(_shot_section(s, result.threshold, media) for s in shots)


def _cdl_table(cdl: CDL) -> str:
    def row(label: str, vals: Sequence[float]) -> str:
        return f"<tr><th>{label}</th>" + "".join(f"<td>{v:.4f}</td>" for v in vals) + "</tr>"

    return (
        '<table class="cdl"><tr><th></th><th>R</th><th>G</th><th>B</th></tr>'
        + row("slope", cdl.slope)
        + row("offset", cdl.offset)
        + row("power", cdl.power)
        + f'<tr><th>saturation</th><td colspan="3" style="text-align:left;padding-left:12px">{cdl.saturation:.4f}</td></tr>'
        "</table>"
    )


def _look_section(result: LookResult, target: LookTarget, media: MediaAccess) -> str:
    ref_frame = result.reference_frames[len(result.reference_frames) // 2] if result.reference_frames else 0
    tgt_frame = target.frames[len(target.frames) // 2] if target.frames else 0
    ref = media.frame(result.reference_media or result.reference, ref_frame)
    tgt = media.frame(target.media or target.name, tgt_frame)
    figs = []
    if ref is not None and tgt is not None:
        after = apply_cdl(as_float_rgb(tgt), target.cdl)
        for label, img, fr in (
            (f"reference · {result.reference}", ref, ref_frame),
            (f"before · {target.name}", tgt, tgt_frame),
            (f"after CDL · {target.name}", after, tgt_frame),
        ):
            uri, _ = _thumb(img, width=460)
            figs.append(
                f'<figure><div class="frame"><img src="{uri}" alt="{_e(label)}"></div>'
                f"<figcaption><span>{_e(label)}</span><span>{fr}</span></figcaption></figure>"
            )
    better = target.delta_e_after < target.delta_e_before
    mode = "per pixel" if target.delta_e_mode == "pixel" else "between colour distributions"
    return (
        f'<section class="look"><div class="head"><h2>{_e(target.name)}</h2>'
        f'<span class="badge {"ok" if better else "bad"}">{"MATCHED" if better else "NOT IMPROVED"}</span>'
        f'<span class="de">mean ΔE2000 to {_e(result.reference)}: {target.delta_e_before:.2f} → '
        f'<span class="{"down" if better else "up"}">{target.delta_e_after:.2f}</span></span>'
        f'<span class="sub">({mode})</span></div>'
        f'<div class="looks">{"".join(figs)}</div>{_cdl_table(target.cdl)}</section>'
    )


def _look_html(result: LookResult, media: MediaAccess) -> str:
    head = (
        '<h2 style="margin:18px 0 10px;font-size:15px;color:#8b9199;font-weight:500">Look matching · ASC CDL '
        f"to reference {_e(result.reference)}</h2>"
    )
    return head + "".join(_look_section(result, t, media) for t in result.targets)


def _parse(result: Any) -> ConsistencyResult | LookResult:
    if isinstance(result, (ConsistencyResult, LookResult)):
        return result
    if isinstance(result, Mapping):
        kind = result.get("kind") or ("match_look" if "targets" in result else "check_consistency")
        return (
            LookResult.model_validate(result)
            if kind == "match_look"
            else ConsistencyResult.model_validate(result)
        )
    raise TypeError(f"Not a check_consistency or match_look result: {type(result).__name__}")


def write_report(
    result_json: Any,
    media: MediaAccess,
    out_dir: str | Path,
    title: str = "ShotBridge report",
    filename: str = "report.html",
) -> Path:
    """Write `out_dir/report.html` for one result or a list of results (consistency and/or look)."""
    results = list(result_json) if isinstance(result_json, (list, tuple)) else [result_json]
    body = []
    for r in map(_parse, results):
        body.append(_consistency_html(r, media) if isinstance(r, ConsistencyResult) else _look_html(r, media))
    return write_page(out_dir, filename, title, "".join(body),
                      "Similarity is 1 − d²/4 of the face-embedding distance d; a face is the character when d "
                      "is within the threshold. Red: a face that should be the expected character is not. Amber: "
                      "frames where an expected character could not be judged (no face, too small, turned away, "
                      "blurred).")


def write_page(out_dir: str | Path, filename: str, title: str, main: str, footer: str, css: str = "") -> Path:
    """One self-contained HTML report page (ShotBridge's header and style), written atomically."""
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}{css}</style></head>'
        f'<body><header><h1>ShotBridge <span>· {_e(title)}</span></h1><div class="meta">generated {now}</div>'
        f"</header><main>{main}</main><footer>{footer}</footer></body></html>"
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / filename
    tmp = path.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path

"""CMX3600 EDLs as crews hand them over, made readable by OTIO's cmx_3600 adapter.

Real EDLs often carry no rate, start with a byte-order mark, or have events whose source and record
durations differ without an M2 line (speed changes, leaders). Each repair here is reported as a warning that
names the line; what cannot be repaired is refused with the line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import opentimelineio as otio

from .errors import ExchangeError, RateNeeded, UnsupportedContent

TC = r"(\d{2}[:;]\d{2}[:;]\d{2}[:;]\d{2})"
EVENT = re.compile(rf"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+\d+)?\s+{TC}\s+{TC}\s+{TC}\s+{TC}\s*$")
# An event whose edit type is missing before a transition duration: "005  REEL V      008 <4 timecodes>".
BARE_TRANSITION = re.compile(rf"^(\s*\d+\s+\S+\s+\S+\s+)(\d{{3}})(\s+{TC}\s+{TC}\s+{TC}\s+{TC}\s*)$")
M2 = re.compile(r"^M2\s")
LOC_DROP = re.compile(r"^(\*\s*LOC:\s*)(\d\d[:;]\d\d[:;]\d\d;\d\d)\b")
TC_ANY = re.compile(TC)
# Candidate rates, and the chance we accept that a higher rate would never show a frame number this high.
CANDIDATES = (24.0, 25.0, 30.0, 60.0)
EVIDENCE = 0.01


@dataclass
class Prepared:
    text: str
    rate: float
    warnings: list[str]


def infer_rate(text: str, name: str) -> tuple[float, str]:
    """The frame rate an EDL's own timecodes imply, or RateNeeded when they do not tell.

    Frame numbers never reach the rate, so the highest frame number seen bounds it from below. A lower
    candidate rate is only chosen when enough timecodes were seen that a higher rate would almost surely
    have shown a larger frame number (chance below 1%, frames taken as uniform; frame 00 is ignored
    because cuts land on whole seconds often).
    """
    drop = bool(re.search(r"^FCM:\s*DROP FRAME", text, re.M)) or ";" in "".join(TC_ANY.findall(text))
    frames = [int(tc[-2:]) for line in text.splitlines() if EVENT.match(line)
              for tc in TC_ANY.findall(line)]
    if not frames:
        raise RateNeeded(f"{name}: no events with timecodes, so no rate can be inferred; pass --rate.")
    top = max(frames)
    nonzero = sum(1 for f in frames if f)
    possible = [r for r in CANDIDATES if r > top]
    if not possible:
        raise ExchangeError(f"{name}: frame number {top} is beyond every supported rate; check the file.")
    chosen = possible[0]
    if len(possible) > 1:
        nxt = possible[1]
        chance = ((top + 1) / nxt) ** nonzero
        if chance > EVIDENCE:
            raise RateNeeded(
                f"{name}: cannot tell the frame rate: frame numbers go up to {top}, which fits "
                f"{', '.join(f'{r:g}' for r in possible[:3])} fps, and there are too few timecodes "
                f"({nonzero}) to decide. Pass the rate, e.g. --rate {chosen:g}."
            )
    if drop:
        chosen = {30.0: 30000 / 1001, 60.0: 60000 / 1001}.get(chosen, chosen)
        if chosen in (24.0, 25.0):
            raise ExchangeError(f"{name}: FCM DROP FRAME with frame numbers up to {top} fits no drop-frame "
                                "rate; check the file or pass --rate.")
    return chosen, f"rate {chosen:.3f} inferred from frame numbers up to {top} over {nonzero} timecodes"


def prepare(text: str, name: str, rate: float | None) -> Prepared:
    """Repair what the adapter would reject, with a warning per repair."""
    warnings: list[str] = []
    if text.startswith("\ufeff"):
        text = text[1:]
        warnings.append(f"{name}: removed a UTF-8 byte-order mark before the title line")
    if rate is None:
        rate, how = infer_rate(text, name)
        warnings.append(f"{name}: {how}")
    if math.isclose(rate, 60000 / 1001) and re.search(r"^FCM:\s*DROP FRAME", text, re.M):
        first = next((i + 1 for i, ln in enumerate(text.splitlines()) if EVENT.match(ln)), None)
        raise UnsupportedContent(
            f"{name}, line {first}: 59.94 fps drop-frame timecode, which OTIO's CMX3600 reader cannot place "
            "correctly. Export the EDL at 29.97 or as non-drop-frame, or hand over AAF or XML.")
    lines = text.splitlines()
    m2_drop = [i for i, line in enumerate(lines) if M2.match(line.strip()) and ";" in line]
    for i in m2_drop:  # OTIO's reader takes an M2 line's timecode as [0-9:] only, and fails on ';'
        lines[i] = lines[i].replace(";", ":")
    if m2_drop:
        warnings.append(f"{name}, line {m2_drop[0] + 1}: {len(m2_drop)} M2 speed line(s) with drop-frame timecode "
                        "read with ':' (the speed is what counts there)")
    lines, faded = _fade_in_at_start(lines)
    if faded:
        warnings.append(f"{name}, line {faded}: a dissolve from black opens the track, which OTIO's reader "
                        "cannot place; read as a cut")
    lines, swapped = _incoming_media(lines)
    if swapped:
        warnings.append(f"{name}: {swapped} dissolve event(s) name their incoming clip's media in '* TO CLIP:', "
                        "which OTIO's reader ignores (it would give that clip the outgoing clip's media); read "
                        "as the incoming clip's")
    loc_drop = 0
    for i, line in enumerate(lines):
        loc = LOC_DROP.match(line)
        if loc:  # OTIO's reader skips a locator whose timecode has ';' without a word: the same frame, non-drop
            frames = _frames(loc.group(2), rate, name, i + 1)
            ndf = otio.opentime.to_timecode(otio.opentime.RationalTime(frames, rate), rate, drop_frame=False)
            lines[i] = line[:loc.start(2)] + ndf + line[loc.end(2):]
            loc_drop += 1
    if loc_drop:
        warnings.append(f"{name}: {loc_drop} LOC marker(s) in drop-frame timecode written as the same frame in "
                        "non-drop form (OTIO's reader would drop them)")
    for i, line in enumerate(lines):
        bare = BARE_TRANSITION.match(line)
        if bare:
            lines[i] = line = f"{bare.group(1)}D    {bare.group(2)}{bare.group(3)}"
            warnings.append(f"{name}, line {i + 1}: transition of {int(bare.group(2))} frames with no edit type; "
                            "read as a dissolve (D)")
        m = EVENT.match(line)
        if not m or _has_m2(lines, i):
            continue
        src_in, src_out, rec_in, rec_out = (_frames(tc, rate, name, i + 1) for tc in m.groups()[4:])
        if src_out - src_in != rec_out - rec_in:
            fixed = _tc(src_in + (rec_out - rec_in), rate)
            old = m.group(6)
            lines[i] = line[:m.start(6)] + fixed + line[m.end(6):]
            warnings.append(
                f"{name}, line {i + 1}: event {m.group(1)} runs {src_out - src_in} source frames for "
                f"{rec_out - rec_in} record frames with no M2 speed line (a speed change or a leader); kept "
                f"the source in point and the record duration (source out {old} -> {fixed})")
    return Prepared("\n".join(lines) + "\n", rate, warnings)


def speed_sources(text: str, rate: float) -> tuple[str, int]:
    """OTIO's CMX writer gives an event with an M2 speed line a source as long as its record, and its reader
    applies M2 only where the two differ: a retime is lost on the way back. Real EDLs run the source for
    record duration x speed; this sets each such event's source out so (speeds above 0 only: freezes and
    reverses are left as written). Returns the text and how many events changed."""
    lines = text.splitlines()
    changed = 0
    for i, line in enumerate(lines):
        m = EVENT.match(line)
        if not m:
            continue
        speed = None
        for nxt in lines[i + 1:]:
            if EVENT.match(nxt):
                break
            m2 = re.match(r"^M2\s+.*?\s(-?[0-9.]+)\s+\d\d:\d\d:\d\d:\d\d\s*$", nxt)
            if m2:
                speed = float(m2.group(1)) / rate  # the last M2 of the event, as the reader keeps it
        if speed is None or speed <= 0 or math.isclose(speed, 1.0):
            continue
        src_in, src_out, rec_in, rec_out = (_frames(tc, rate, "", i + 1) for tc in m.groups()[4:])
        if src_out - src_in != rec_out - rec_in or rec_out == rec_in:
            continue
        out = _tc(src_in + max(1, round((rec_out - rec_in) * speed)), rate)
        lines[i] = line[:m.start(6)] + out + line[m.end(6):]
        changed += 1
    return "\n".join(lines) + "\n", changed


def _fade_in_at_start(lines: list[str]) -> tuple[list[str], int | None]:
    """'001 BL ... C' of no length then '001 REEL ... D nnn': a fade from black at the very start, as OTIO's
    writer makes it and its reader refuses. Returns the lines with the fade read as a cut, and its line."""
    events = [i for i, line in enumerate(lines) if EVENT.match(line)]
    if len(events) < 2 or events[1] != events[0] + 1:
        return lines, None
    first, second = EVENT.match(lines[events[0]]), EVENT.match(lines[events[1]])
    if not (first.group(2) == "BL" and first.group(4) == "C" and first.group(1) == second.group(1)
            and first.group(5) == first.group(6) and second.group(4)[0] in "DW"):
        return lines, None
    line = lines[events[1]]
    fixed = f"{line[:second.start(4)]}C{' ' * (second.start(5) - second.start(4) - 1)}{line[second.start(5):]}"
    return lines[:events[0]] + [fixed] + lines[events[1] + 1:], events[1] + 1


def _incoming_media(lines: list[str]) -> tuple[list[str], int]:
    """In an event with '* TO CLIP:' (the incoming clip's media, beside '* FROM CLIP:' for the outgoing one or
    alone after black), as OTIO's writer makes them for a dissolve, keep only the incoming clip's media: the
    event's clip is the incoming one."""
    out: list[str] = []
    swapped = 0
    block: list[str] = []

    def flush() -> None:
        nonlocal swapped
        to = [ln for ln in block if re.match(r"^\*\s*TO CLIP:", ln)]
        if to:
            swapped += 1
            out.extend(re.sub(r"^(\*\s*)TO CLIP:", r"\1FROM CLIP:", ln) if ln in to else ln
                       for ln in block if not re.match(r"^\*\s*FROM CLIP:", ln))
        else:
            out.extend(block)
        block.clear()

    for line in lines:
        m = EVENT.match(line)
        if m and block and not (EVENT.match(block[0]) and EVENT.match(block[0]).group(1) == m.group(1)):
            flush()
        block.append(line)
    flush()
    return out, swapped


def _has_m2(lines: list[str], i: int) -> bool:
    """An M2 line belongs to the event above it, before the next event."""
    for line in lines[i + 1:]:
        if EVENT.match(line):
            return False
        if M2.match(line.strip()):
            return True
    return False


def _frames(tc: str, rate: float, name: str, line: int) -> int:
    try:
        return round(otio.opentime.from_timecode(tc, rate).value)
    except ValueError as exc:
        raise ExchangeError(f"{name}, line {line}: timecode {tc} is not valid at {rate:g} fps ({exc}). "
                            "Check the EDL's rate (--rate).") from None


def _tc(frames: int, rate: float) -> str:
    return otio.opentime.to_timecode(otio.opentime.RationalTime(frames, rate), rate)


def explain(exc: Exception, text: str, name: str, rate: float) -> ExchangeError:
    """The adapter's error, pointed at the line it is about."""
    msg = str(exc)
    m = re.search(r"Timecode '([^']+)'", msg) or re.search(r"for clip (.+)$", msg)
    line = next((i + 1 for i, ln in enumerate(text.splitlines()) if m and m.group(1) in ln), None)
    if line is None and "Transition" in msg:  # the adapter names no line; the first transition is the one
        line = next((i + 1 for i, ln in enumerate(text.splitlines())
                     if (ev := EVENT.match(ln)) and ev.group(4)[0] in "DW"), None)
    where = f", line {line}" if line else ""
    if "beyond" in msg:
        return ExchangeError(f"{name}{where}: {msg.strip()} at {rate:g} fps. The EDL's rate is probably "
                             "different: pass the right one with --rate.")
    return ExchangeError(f"{name}{where}: the EDL could not be read: {msg.strip()}")

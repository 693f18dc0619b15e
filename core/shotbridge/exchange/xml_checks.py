"""What OTIO's FCP XML adapters cannot read, found in the XML itself so errors can name elements and lines."""

from __future__ import annotations

import re
from collections import Counter

from .errors import UnsupportedContent

# FCPX elements otio-fcpx-xml-adapter 1.0 skips or fails on.
FCPX_UNSUPPORTED = ("mc-clip", "ref-clip", "sync-clip", "audition", "title", "multicam")
FCPX_CLIPS = ("asset-clip", "clip", "video", "mc-clip", "ref-clip", "sync-clip", "title", "audition")


def elements(text: str, names: tuple[str, ...]) -> Counter:
    return Counter(m.group(1) for m in re.finditer(r"<([a-z-]+)[\s/>]", text) if m.group(1) in names)


def first_line(text: str, element: str) -> int | None:
    m = re.search(rf"<{re.escape(element)}[\s/>]", text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def fcpx_refusal(text: str, name: str, reason: str) -> UnsupportedContent:
    found = elements(text, FCPX_UNSUPPORTED)
    if found:
        parts = [f"{n} <{el}> (first at line {first_line(text, el)})" for el, n in sorted(found.items())]
        what = "; it holds " + ", ".join(parts)
    else:
        what = ""
    return UnsupportedContent(
        f"{name}: the FCPX XML adapter {reason}{what}. Multicam, compound (ref-clip), synchronized clips and "
        "titles are beyond otio-fcpx-xml-adapter: export the project from Final Cut Pro as FCP7 XML or AAF, "
        "or flatten those clips first."
    )


def fcp7_refusal(text: str, name: str) -> UnsupportedContent:
    m = re.search(r"<xmeml[^>]*>\s*<([a-z]+)", text) or re.search(r"<(?![?!])([a-zA-Z]+)", text)
    root = m.group(1) if m else "?"
    line = text.count("\n", 0, m.start(1)) + 1 if m else None
    return UnsupportedContent(
        f"{name}: line {line}: the file's top-level element is <{root}>, not a <sequence>; the FCP7 XML "
        "adapter reads sequences only. Export the sequence (not a single clip) from Premiere or Final Cut."
    )

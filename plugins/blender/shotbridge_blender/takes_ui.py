"""One take in the sidebar: its state, its identity verdict and Content Credentials when its facts have them
(panel/review.py), and Accept / Reject; a take whose files are missing says so and cannot be accepted."""

from __future__ import annotations

import opentimelineio as otio


def take_lines(vm, take) -> tuple[list[str], str | None]:
    """(fact lines to show under the take, why it is missing or None)."""
    from shotbridge.panel.review import media_of, missing_reason, take_facts

    reference = take.reference or otio.schema.ExternalReference(target_url=take.url)
    missing = missing_reason(media_of(reference))
    facts = take_facts(take.reference)
    lines = []
    if facts.identity is not None:
        idn = facts.identity
        score = "no face found" if idn.score is None else f"score {idn.score:.3f}"
        lines.append(f"identity {'passed' if idn.passed else 'FAILED'}: {score}")
    credential = vm.state.credentials.get((take.clip, take.key))
    if credential is not None:
        lines.append(f"credentials {credential.text}"[:120])
    elif facts.signed:
        lines.append("credentials not checked yet")
    if facts.error:
        lines.append(f"facts unreadable: {facts.error}"[:120])
    return lines, missing


def draw_take(layout, vm, index: int, take) -> None:
    lines, missing = take_lines(vm, take)
    row = layout.row()
    row.label(text=f"{take.clip}: {take.key} [{take.state}]" + (" MISSING" if missing else ""),
              icon="ERROR" if missing else "NONE")
    accept_cell = row.row()
    accept_cell.enabled = missing is None  # vm.accept_take refuses it anyway; the button says so first
    accept = accept_cell.operator("shotbridge.take", text="", icon="CHECKMARK")
    accept.index, accept.accept = index, True
    reject = row.operator("shotbridge.take", text="", icon="X")
    reject.index, reject.accept = index, False
    if missing:
        layout.label(text=f"missing: {missing}"[:120])
    for line in lines:
        sub = layout.row()
        sub.alert = "FAILED" in line or "INVALID" in line
        sub.label(text=line, icon="INFO")

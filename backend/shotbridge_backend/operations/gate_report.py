"""A generative job's report.html: the identity gate's verdict per generated image or take
(vision/identity_report.py), written when the job involved bible characters, so `shotbridge report JOB` shows
a supervisor which takes passed and which were delivered failing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shotbridge.exchange.facts import IdentityFacts

from .base import JobContext


def _take_facts(ctx: JobContext, timeline_sha: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(clip name, media key) -> the ShotBridge facts of each reference this job added to the timeline."""
    import opentimelineio as otio

    try:
        timeline = otio.adapters.read_from_file(str(ctx.asset_path(timeline_sha)), adapter_name="otio_json")
    except Exception:  # the report is a view of the result: a timeline it cannot read leaves thumbnails out
        return {}
    found = {}
    for clip in timeline.find_clips():
        for key, ref in clip.media_references().items():
            facts = ref.metadata.get("shotbridge") or {}
            if facts.get("job_id") == ctx.job_id:  # plain values: OTIO's containers die with the timeline
                frames = [str(f) for f in facts.get("frames") or []]
                found[(clip.name, key)] = {
                    "thumbnail": str(facts.get("asset_sha256") or (frames[0] if frames else "")),
                    "characters": [str(c) for c in facts.get("characters") or []],
                    "template": str((facts.get("reproduce") or {}).get("template") or "")}
    return found


def _path(ctx: JobContext, sha: str | None) -> Path | None:
    if not sha:
        return None
    path = ctx.asset_path(sha)
    return path if path.is_file() else None


def add_gate_report(ctx: JobContext, operation: str, characters: list[str], result: Any) -> None:
    """Add report.html to the job's outputs when any image or take of `result` (a GenerationResult) carries an
    identity verdict; nothing otherwise."""
    from ..vision.identity_report import GateEntry, write_identity_report

    provider = getattr(result, "provider", "")
    entries: list[GateEntry] = []
    identity: IdentityFacts | None = getattr(result, "identity", None)
    if identity is not None:
        for image in result.images:
            entries.append(GateEntry(label=image.name, identity=identity, characters=characters, provider=provider,
                                     thumbnail=_path(ctx, image.sha256)))
    shots = [s for s in getattr(result, "shots", []) if s.identity is not None]
    facts = _take_facts(ctx, result.timeline.sha256) if shots and result.timeline is not None else {}
    for shot in shots:
        if shot.take:
            label, fact = f"{shot.shot} · take {shot.take}", facts.get((shot.shot, shot.take), {})
        else:
            label = f"{shot.clip} (new clip for {shot.shot})"
            fact = next((f for (clip, _key), f in facts.items() if clip == shot.clip), {})
        entries.append(GateEntry(
            label=label, identity=shot.identity, characters=fact.get("characters") or characters, provider=provider,
            model=shot.model, seed=shot.seed, template=fact.get("template", ""),
            thumbnail=_path(ctx, fact.get("thumbnail")), notes=shot.notes))
    if not entries:
        return
    title = f"{operation}: identity gate"
    path = write_identity_report(entries, ctx.work_dir / "gate_report", title)
    ctx.add_output(path, "report.html", "text/html")

"""Read a file's Content Credentials and validate them against the studio's trust anchor, offline."""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa

from .keys import ProvenanceError, read_certificates, trust_anchors_path, trust_settings
from .manifest import ACTIONS, GENERATION, LEGACY_TRAINING_MINING, SOFTWARE_AGENT, TRAINING_MINING

# The SDK reports each check as a status code; these say in words what a failed one means for the file.
_HASH_MISMATCH = ("assertion.dataHash.mismatch", "assertion.bmffHash.mismatch", "assertion.boxesHash.mismatch",
                  "assertion.collectionHash.mismatch")
_ISSUES = {
    "assertion.hashedURI.mismatch": "an assertion in the manifest was changed after signing",
    "claimSignature.mismatch": "the claim signature does not match the manifest: it was altered after signing",
    "signingCredential.expired": "the signing certificate had expired",
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.invalid": "the signing certificate is not valid for C2PA signing",
    "claimSignature.outsideValidity": "the file was signed outside the signing certificate's validity",
    "signingCredential.ocsp.revoked": "the signing certificate was revoked (OCSP)",
}


@dataclass
class Verification:
    valid: bool
    signer: str
    issues: list[str]  # human-readable; empty when valid
    digital_source_type: str | None
    training_mining: dict[str, str]
    provider: str | None
    model: str | None
    ingredients: list[str]
    manifest: dict[str, Any]  # the active manifest as the SDK reports it
    validation_state: str | None = None  # the SDK's word: Trusted, Valid (signer untrusted) or Invalid
    failures: list[str] = field(default_factory=list)  # the SDK's failure codes, for scripts

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def verify_file(path: Path, trust_anchors: Path | None = None) -> Verification:
    """Valid only when the signature and every hash check out and the signer chains to a trust anchor."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file {path}.")
    anchors = Path(trust_anchors) if trust_anchors else trust_anchors_path()
    if not anchors.is_file():
        raise FileNotFoundError(f"No trust anchor file {anchors}.")
    read_certificates(anchors)  # a clear error for a file that is not PEM certificates
    settings = {
        # offline: no OCSP requests, no fetching a manifest a file points to on the web
        "verify": {"verify_trust": True, "ocsp_fetch": False, "remote_manifest_fetch": False},
        **trust_settings(anchors.read_text()),
    }
    media_type = mimetypes.guess_type(path.name)[0]  # a hint: the SDK goes by the bytes when they disagree
    try:
        with c2pa.Context.from_dict(settings) as context, open(path, "rb") as fh, \
                c2pa.Reader(media_type, fh, context=context) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        return _unsigned(f"no Content Credentials: {path.name} carries no C2PA manifest")
    except c2pa.C2paError.NotSupported as exc:
        return _unsigned(f"no Content Credentials: the C2PA SDK cannot read {path.name} ({exc})")
    except c2pa.C2paError as exc:
        return _unsigned(f"the Content Credentials in {path.name} could not be read (damaged or tampered): {exc}")
    return _judge(store, anchors)


def _unsigned(issue: str) -> Verification:
    return Verification(valid=False, signer="", issues=[issue], digital_source_type=None, training_mining={},
                        provider=None, model=None, ingredients=[], manifest={})


def _judge(store: dict[str, Any], anchors: Path) -> Verification:
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    if not active:
        return _unsigned("the manifest store has no active manifest")
    info = active.get("signature_info", {})
    signer = info.get("common_name") or "unknown signer"
    if info.get("issuer"):
        signer += f" ({info['issuer']})"
    state = store.get("validation_state")
    results = store.get("validation_results", {}).get("activeManifest", {})
    failures = results.get("failure", []) if results else store.get("validation_status", [])
    issues = [_issue(f, signer, anchors) for f in failures]
    if state != "Trusted" and not issues:
        issues.append(f"the SDK reports the manifest as {state or 'unvalidated'}")
    assertions = {a.get("label", ""): a.get("data", {}) for a in active.get("assertions", [])}
    generation = assertions.get(GENERATION, {})
    agent = _created_action(assertions).get("softwareAgent") or {}
    if not isinstance(agent, dict):  # C2PA 1.x wrote the agent as a plain string
        agent = {"name": agent}
    return Verification(
        valid=state == "Trusted" and not issues,
        signer=signer,
        issues=issues,
        digital_source_type=_created_action(assertions).get("digitalSourceType"),
        training_mining=_training_mining(assertions),
        provider=generation.get("provider") or (agent.get("provider") if agent.get("name") == SOFTWARE_AGENT else None),
        model=generation.get("model") or (agent.get("model") if agent.get("name") == SOFTWARE_AGENT else None),
        ingredients=[i.get("title", "?") for i in active.get("ingredients", [])],
        manifest=active,
        validation_state=state,
        failures=[f.get("code", "") for f in failures],
    )


def _issue(failure: dict[str, Any], signer: str, anchors: Path) -> str:
    code, why = failure.get("code", ""), failure.get("explanation", "")
    if code in _HASH_MISMATCH:
        return f"the file's content was changed after signing ({code}: {why})"
    if code == "signingCredential.untrusted":
        return f"the signer {signer} is not trusted: its certificate does not chain to a trust anchor in {anchors}"
    if code in _ISSUES:
        where = failure.get("url", "").rsplit("/", 1)[-1]
        return f"{_ISSUES[code]} ({code}{': ' + where if where else ''})"
    return f"{code}: {why}"


def _created_action(assertions: dict[str, Any]) -> dict[str, Any]:
    for label in (f"{ACTIONS}.v2", ACTIONS):
        for action in assertions.get(label, {}).get("actions", []):
            if action.get("action") == "c2pa.created":
                return action
    return {}


def _training_mining(assertions: dict[str, Any]) -> dict[str, str]:
    data = assertions.get(TRAINING_MINING) or assertions.get(LEGACY_TRAINING_MINING) or {}
    # early drafts put the uses at the top level, CAWG 1.1 under "entries": read both
    entries = data.get("entries", data)
    return {use: entry["use"] for use, entry in entries.items() if isinstance(entry, dict) and "use" in entry}


def summary_lines(v: Verification) -> list[str]:
    """The human summary `shotbridge verify` prints."""
    lines = [("VALID" if v.valid else "NOT VALID") + (f": signed by {v.signer}" if v.signer else "")]
    lines += [f"  issue: {issue}" for issue in v.issues]
    if v.manifest:
        lines.append(f"  source type: {v.digital_source_type or '(none declared)'}")
        uses = ", ".join(f"{k.split('.', 1)[-1]}={val}" for k, val in v.training_mining.items())
        lines.append(f"  training and mining: {uses or '(no assertion)'}")
        lines.append(f"  provider/model: {v.provider or '?'} / {v.model or '?'}")
        lines.append(f"  ingredients: {', '.join(v.ingredients) if v.ingredients else '(none)'}")
    return lines


__all__ = ["Verification", "verify_file", "summary_lines", "ProvenanceError"]

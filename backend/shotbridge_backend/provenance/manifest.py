"""What a generated file's Content Credentials say: the C2PA manifest definition, built without the SDK.

Assertion labels (c2pa-python 0.38.1, c2pa-rs 0.91.3, C2PA spec 2.4):

- ``c2pa.actions``: one ``c2pa.created`` action with the IPTC digital source type, ShotBridge as software
  agent and the inputs linked as the action's ingredients. The SDK stores it as ``c2pa.actions.v2``.
- ``cawg.training-mining``: the CAWG Training and Data Mining assertion 1.1 (``entries`` map). C2PA 2.0 removed
  ``c2pa.training-mining`` from its spec and the CAWG re-published it under the ``cawg.`` prefix. The SDK
  checks neither label's contents (both are only hash-bound), so the current spec's label is the one to use.
- ``com.shotbridge.generation``: provider, model, operation, job id, reproduction parameters and the sha256
  of every input (the asset store's names for them).
- ``c2pa.ingredient.v3`` (written by the SDK): one per input, relationship ``inputTo`` by default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shotbridge import __version__

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"

ACTIONS = "c2pa.actions"
TRAINING_MINING = "cawg.training-mining"
LEGACY_TRAINING_MINING = "c2pa.training-mining"  # C2PA 1.x; read by verify, never written
GENERATION = "com.shotbridge.generation"
SOFTWARE_AGENT = "ShotBridge"

# Every use the CAWG assertion defines, cawg.ai_inference included: the studio's IP stays the studio's.
TRAINING_MINING_USES: dict[str, str] = {
    "cawg.ai_training": "notAllowed",
    "cawg.ai_generative_training": "notAllowed",
    "cawg.ai_inference": "notAllowed",
    "cawg.data_mining": "notAllowed",
}

# A generated file is c2pa.created, which the spec forbids to have a parent (parentOf) ingredient.
RELATIONSHIPS = ("inputTo", "componentOf")


@dataclass
class Ingredient:
    """One input of the generation (a plate, a reference image, a timeline...)."""

    path: Path
    title: str
    media_type: str
    relationship: str = "inputTo"


@dataclass
class Generation:
    """What made the file, enough to reproduce it."""

    operation: str
    provider: str
    model: str
    job_id: str
    parameters: dict[str, Any]  # seed, prompt, workflow hash...: JSON-serialisable
    ingredients: list[Ingredient] = field(default_factory=list)
    digital_source_type: str = TRAINED_ALGORITHMIC_MEDIA


def check_generation(generation: Generation) -> None:
    """Refuse, with the reason, what would make a manifest that misleads or does not serialise."""
    for name in ("operation", "provider", "model", "job_id"):
        value = getattr(generation, name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"Generation.{name} must be a non-empty string, not {value!r}.")
    if not generation.digital_source_type.startswith(IPTC_SOURCE_TYPES):
        raise ValueError(f"Generation.digital_source_type must be an IPTC digital source type URI "
                         f"({IPTC_SOURCE_TYPES}...), not {generation.digital_source_type!r}.")
    try:
        json.dumps(generation.parameters, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Generation.parameters must be JSON-serialisable (they go into the manifest): {exc}") from exc
    for ing in generation.ingredients:
        if ing.relationship not in RELATIONSHIPS:
            raise ValueError(f"Ingredient {ing.title!r}: relationship {ing.relationship!r} is not allowed for a "
                             f"generated (c2pa.created) file; use one of {', '.join(RELATIONSHIPS)}.")


def ingredient_label(index: int) -> str:
    """The id that links an ingredient to the created action (the SDK turns it into a hashed URI)."""
    return f"shotbridge.input.{index}"


def ingredient_definition(index: int, ingredient: Ingredient) -> dict[str, Any]:
    return {"title": ingredient.title, "relationship": ingredient.relationship, "label": ingredient_label(index)}


def manifest_definition(generation: Generation, *, title: str, media_type: str,
                        input_sha256: list[str]) -> dict[str, Any]:
    """The manifest definition the SDK's Builder takes; ingredients are added to the Builder separately."""
    check_generation(generation)
    action: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": generation.digital_source_type,
        # extra keys in a generator-info map are allowed; they name the model that did the work
        "softwareAgent": {"name": SOFTWARE_AGENT, "version": __version__,
                          "provider": generation.provider, "model": generation.model},
        "description": f"{generation.operation} by {generation.model} on {generation.provider}",
    }
    if generation.ingredients:
        action["parameters"] = {"ingredientIds": [ingredient_label(i) for i in range(len(generation.ingredients))]}
    inputs = [{"title": ing.title, "media_type": ing.media_type, "relationship": ing.relationship, "sha256": sha}
              for ing, sha in zip(generation.ingredients, input_sha256, strict=True)]
    return {
        "claim_generator_info": [{"name": SOFTWARE_AGENT, "version": __version__}],
        "title": title,
        "format": media_type,
        "assertions": [
            {"label": ACTIONS, "data": {"actions": [action]}},
            {"label": TRAINING_MINING,
             "data": {"entries": {use: {"use": value} for use, value in TRAINING_MINING_USES.items()}}},
            {"label": GENERATION, "data": {
                "schema": 1,
                "operation": generation.operation,
                "provider": generation.provider,
                "model": generation.model,
                "job_id": generation.job_id,
                "parameters": generation.parameters,
                "inputs": inputs,
            }},
        ],
    }

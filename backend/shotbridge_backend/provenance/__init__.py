"""Content Credentials (C2PA) on generated files: the studio's keys, signing, verifying. See docs/provenance.md."""

from __future__ import annotations

from .c2pa_sign import SIGNABLE_MEDIA_TYPES, can_sign, sign_file
from .keys import (
    KeysExist,
    KeysMissing,
    ProvenanceError,
    StudioKeys,
    ensure_keys,
    init_keys,
    keys_dir,
    load_keys,
    retire_keys,
    trust_anchors_path,
)
from .manifest import TRAINED_ALGORITHMIC_MEDIA, TRAINING_MINING, TRAINING_MINING_USES, Generation, Ingredient
from .verify import Verification, summary_lines, verify_file

__all__ = [
    "SIGNABLE_MEDIA_TYPES", "TRAINED_ALGORITHMIC_MEDIA", "TRAINING_MINING", "TRAINING_MINING_USES",
    "Generation", "Ingredient", "KeysExist", "KeysMissing", "ProvenanceError", "StudioKeys", "Verification",
    "can_sign", "ensure_keys", "init_keys", "keys_dir", "load_keys", "retire_keys", "sign_file",
    "summary_lines", "trust_anchors_path", "verify_file",
]

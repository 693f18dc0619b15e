"""Embed signed Content Credentials (a C2PA manifest) in a generated file, with c2pa-python's Builder."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from pathlib import Path

import c2pa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .keys import (
    ProvenanceError,
    StudioKeys,
    read_certificates,
    read_private_key,
    signing_eku_problem,
    trust_settings,
)
from .manifest import Generation, Ingredient, check_generation, ingredient_definition, manifest_definition

__all__ = ["Generation", "Ingredient", "SIGNABLE_MEDIA_TYPES", "can_sign", "sign_file"]

# The SDK's own list (it also holds bare extensions; keep the media types). Among what ShotBridge writes:
# PNG, JPEG, TIFF, WebP, AVIF, HEIC, GIF, DNG, MP4, MOV, M4V, AVI, WAV, MP3, FLAC and PDF sign; OpenEXR,
# DPX, Cineon, MXF and image sequences as a whole do not.
SIGNABLE_MEDIA_TYPES: frozenset[str] = frozenset(t for t in c2pa.Builder.get_supported_mime_types() if "/" in t)

# Thumbnails off: the SDK would otherwise embed a JPEG copy of every input (the studio's plates) in each output.
# The EKU list as trust_config: the SDK checks the signing certificate's profile when it signs.
_BUILDER_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}, **trust_settings()}


def can_sign(media_type: str) -> bool:
    return media_type.lower() in SIGNABLE_MEDIA_TYPES


def sign_file(src: Path, dst: Path, media_type: str, generation: Generation, keys: StudioKeys) -> None:
    """Write dst: src with an embedded manifest signed by the studio's key (dst may be src)."""
    src, dst = Path(src), Path(dst)
    media_type = media_type.lower()
    if not can_sign(media_type):
        raise ProvenanceError(
            f"Cannot embed Content Credentials in {src.name}: c2pa-python {c2pa.__version__} does not sign "
            f"{media_type} files. Deliver a PNG, JPEG, TIFF, MP4 or MOV alongside it to carry the credentials.")
    if not src.is_file():
        raise FileNotFoundError(f"No file to sign at {src}.")
    check_generation(generation)
    missing = [str(ing.path) for ing in generation.ingredients if not Path(ing.path).is_file()]
    if missing:
        raise FileNotFoundError(f"Ingredient file(s) not found: {', '.join(missing)}.")

    definition = manifest_definition(generation, title=dst.name, media_type=media_type,
                                     input_sha256=[_sha256(Path(ing.path)) for ing in generation.ingredients])
    dst.parent.mkdir(parents=True, exist_ok=True)
    # signed bytes land beside dst and replace it at once: nobody sees a half-written or unsigned output
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:8]}.signing")
    try:
        with _signer(keys) as signer, c2pa.Context.from_dict(_BUILDER_SETTINGS) as context, \
                c2pa.Builder(definition, context=context) as builder:
            for index, ing in enumerate(generation.ingredients):
                with open(ing.path, "rb") as fh:
                    builder.add_ingredient(ingredient_definition(index, ing), ing.media_type, fh)
            with open(src, "rb") as source, open(tmp, "w+b") as dest:
                builder.sign(signer, media_type, source, dest)
        os.replace(tmp, dst)
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"Signing {src.name} failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _signer(keys: StudioKeys) -> c2pa.Signer:
    chain = read_certificates(keys.signing_cert)
    now = dt.datetime.now(dt.timezone.utc)
    cert = chain[0]
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise ProvenanceError(
            f"The signing certificate {keys.signing_cert} is valid from {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}, not now. Renew it (`shotbridge keys init --force`, or place the "
            "studio's renewed certificate there).")
    if eku_problem := signing_eku_problem(cert):
        raise ProvenanceError(f"{keys.signing_cert}: {eku_problem}.")
    key = read_private_key(keys.signing_key)
    # re-serialised as PKCS#8: the SDK reads that form, a studio's key may come as SEC1 ("EC PRIVATE KEY")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    info = c2pa.C2paSignerInfo(_algorithm(key, keys.signing_key), chain_pem, key_pem, None)
    try:
        return c2pa.Signer.from_info(info)
    except c2pa.C2paError as exc:
        raise ProvenanceError(f"The signing key or certificate in {keys.directory} was refused: {exc}") from exc


def _algorithm(key: object, path: Path) -> c2pa.C2paSigningAlg:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": c2pa.C2paSigningAlg.ES256, "secp384r1": c2pa.C2paSigningAlg.ES384,
                    "secp521r1": c2pa.C2paSigningAlg.ES512}
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
        raise ProvenanceError(f"{path}: C2PA signs with P-256, P-384 or P-521 keys, not {key.curve.name}.")
    if isinstance(key, rsa.RSAPrivateKey):
        return c2pa.C2paSigningAlg.PS256  # C2PA allows RSA only with PSS padding
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return c2pa.C2paSigningAlg.ED25519
    raise ProvenanceError(f"{path}: unsupported key type {type(key).__name__}.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

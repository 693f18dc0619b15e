"""Media and certificates the provenance tests make at run time (no fixtures: those are in conftest.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def noise(shape=(64, 96, 3), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def flip_byte_after(path: Path, marker: bytes, offset: int) -> None:
    """Flip one byte `offset` bytes past the first `marker` (inside the image/video data)."""
    data = bytearray(path.read_bytes())
    at = data.find(marker)
    assert at >= 0, f"{marker!r} not in {path.name}"
    data[at + offset] ^= 0x01
    path.write_bytes(bytes(data))


DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


def write_chain(directory: Path, *, studio: str = "Real Studio", expired: bool = False,
                eku: x509.ObjectIdentifier = DOCUMENT_SIGNING) -> dict[str, object]:
    """A studio's own chain as a CA issues it: root -> intermediate -> P-384 signing cert (documentSigning EKU
    unless told), its key in SEC1 form."""
    now = dt.datetime.now(dt.timezone.utc)

    def cert(subject, issuer, key, issuer_key, *, ca, days, start=None):
        start = start or now - dt.timedelta(days=1)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start)
                   .not_valid_after(start + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                key_cert_sign=ca, crl_sign=ca, encipher_only=False,
                                                decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                  critical=False))
        if not ca:
            builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        return builder.sign(issuer_key, hashes.SHA384())

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, studio)])

    root_key, int_key, ee_key = (ec.generate_private_key(ec.SECP384R1()) for _ in range(3))
    root = cert(name("Root"), name("Root"), root_key, root_key, ca=True, days=3650)
    inter = cert(name("Issuing CA"), root.subject, int_key, root_key, ca=True, days=1825)
    ee_start = now - dt.timedelta(days=400) if expired else None
    ee = cert(name("Real Studio Content Signing"), inter.subject, ee_key, int_key, ca=False, days=365, start=ee_start)
    pem = serialization.Encoding.PEM
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.pem").write_bytes(root.public_bytes(pem))
    (directory / "signing.pem").write_bytes(ee.public_bytes(pem) + inter.public_bytes(pem))
    (directory / "signing.key").write_bytes(ee_key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL,
                                                                 serialization.NoEncryption()))
    (directory / "signing.key").chmod(0o600)
    return {"root": root, "intermediate": inter, "signing": ee}

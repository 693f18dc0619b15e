"""The studio's signing keys for Content Credentials: a folder of PEM files.

Files in the keys folder (``config_dir() / "keys"``, so ``SHOTBRIDGE_CONFIG_DIR`` moves it):

- ``ca.pem``       the trust anchor(s): the certificate(s) `verify` accepts a signer from. One or more PEM
                   certificates (a bundle works). Public.
- ``signing.pem``  the signing certificate, followed by any intermediate certificates (end entity first). Public.
- ``signing.key``  the signing certificate's private key, unencrypted PEM (PKCS#8 or SEC1). Mode 0600.
- ``ca.key``       only for the CA that `shotbridge keys init` makes: its private key, mode 0600. A studio's own
                   certificate from its own CA needs no ``ca.key`` here.

`shotbridge keys init` writes all four (a P-256 CA and a P-256 signing certificate it issues). A studio replaces
them with its real chain by placing ``signing.pem``, ``signing.key`` and the root as ``ca.pem`` in the folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shotbridge import config
from shotbridge.errors import ShotBridgeError

log = logging.getLogger(__name__)

CA_CERT, CA_KEY, SIGNING_CERT, SIGNING_KEY = "ca.pem", "ca.key", "signing.pem", "signing.key"
KEY_FILES = (CA_CERT, CA_KEY, SIGNING_CERT, SIGNING_KEY)

CA_VALIDITY = dt.timedelta(days=3650)
# Without a timestamp authority a file verifies only while its signing certificate is valid, so this is
# long; the CA outlives it so a renewed signing certificate still chains to the same anchor.
SIGNING_VALIDITY = dt.timedelta(days=5 * 365)
_BACKDATE = dt.timedelta(minutes=5)  # tolerate clocks a little behind the machine that made the keys

# Extended key usages a C2PA signing certificate may carry. Passed to the SDK as its trust_config when signing
# and verifying: without it c2pa-rs 0.91 accepts emailProtection only and refuses documentSigning certificates.
C2PA_SIGNING_EKUS = {
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.36": "documentSigning",
    "1.3.6.1.4.1.62558.2.1": "c2pa-kp-claimSigning",
    "1.3.6.1.4.1.311.76.59.1.9": "Microsoft C2PA signing",
}

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class ProvenanceError(ShotBridgeError):
    """Content Credentials could not be made or checked; the message says what to do."""


class KeysMissing(ProvenanceError):
    pass


class KeysExist(ProvenanceError):
    pass


@dataclass(frozen=True)
class StudioKeys:
    """Paths of the PEM files that sign (signing_cert, signing_key) and anchor trust (ca_cert)."""

    ca_cert: Path
    signing_cert: Path
    signing_key: Path

    @property
    def directory(self) -> Path:
        return self.signing_key.parent

    @property
    def ca_key(self) -> Path:
        """Where `keys init` keeps its CA's private key; absent when the studio brought its own chain."""
        return self.ca_cert.with_name(CA_KEY)


def keys_dir() -> Path:
    return config.config_dir() / "keys"


def _paths(directory: Path) -> StudioKeys:
    return StudioKeys(ca_cert=directory / CA_CERT, signing_cert=directory / SIGNING_CERT,
                      signing_key=directory / SIGNING_KEY)


# -- making keys -------------------------------------------------------------------------------------------


def init_keys(directory: Path | None = None, studio: str = "ShotBridge Studio", *, force: bool = False) -> StudioKeys:
    """Make a studio CA (P-256, self-signed) and a signing certificate it issues; refuse to overwrite keys."""
    directory = Path(directory) if directory else keys_dir()
    with _init_lock(directory):
        return _init_locked(directory, studio, force)


def _init_locked(directory: Path, studio: str, force: bool) -> StudioKeys:
    existing = existing_key_files(directory)
    if existing and not force:
        raise KeysExist(
            f"Signing keys already exist in {directory} ({', '.join(p.name for p in existing)}). "
            "Keep them (files signed with them verify only against this CA), or pass --force to move them "
            "aside and make new ones.")
    if existing:
        moved = retire_keys(directory)
        log.warning("moved the previous signing keys to %s", moved)
    studio = studio.strip() or "ShotBridge Studio"
    now = dt.datetime.now(dt.timezone.utc)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{studio} Content Credentials CA"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, studio)])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE).not_valid_after(now + CA_VALIDITY)
        # path_length 0: this CA issues signing certificates only, never another CA
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    signing_key = ec.generate_private_key(ec.SECP256R1())
    signing_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{studio} ShotBridge signing"),
                              x509.NameAttribute(NameOID.ORGANIZATION_NAME, studio)])
    signing_cert = (
        x509.CertificateBuilder()
        .subject_name(signing_name).issuer_name(ca_name).public_key(signing_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE).not_valid_after(now + SIGNING_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        # C2PA validators accept emailProtection among the signing EKUs (the c2pa-rs default trust config)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signing_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    keys = _paths(directory)
    # private keys first: a crash part-way leaves no certificate without its key
    config.write_secret(keys.ca_key, _private_pem(ca_key))
    config.write_secret(keys.signing_key, _private_pem(signing_key))
    _write_public(keys.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    _write_public(keys.signing_cert, signing_cert.public_bytes(serialization.Encoding.PEM).decode())
    return keys


def _key_usage(**on: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                           "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), False)
    flags.update(on)
    return x509.KeyUsage(**flags)


def _private_pem(key: SigningKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _write_public(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def existing_key_files(directory: Path | None = None) -> list[Path]:
    directory = Path(directory) if directory else keys_dir()
    return [directory / name for name in KEY_FILES if (directory / name).exists()]


def retire_keys(directory: Path | None = None) -> Path | None:
    """Move the key files into ``replaced-<UTC time>/`` beside them (never delete a CA key); None if none."""
    directory = Path(directory) if directory else keys_dir()
    existing = existing_key_files(directory)
    if not existing:
        return None
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = directory / f"replaced-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = directory / f"replaced-{stamp}-{n}"
    target.mkdir(mode=0o700)
    for path in existing:
        os.replace(path, target / path.name)
    return target


_thread_lock = threading.Lock()


@contextlib.contextmanager
def _init_lock(directory: Path, timeout: float = 30.0) -> Iterator[None]:
    """One maker of keys at a time: worker threads share the process lock, processes an O_EXCL lock file."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = directory / ".init.lock"
    with _thread_lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                break
            except FileExistsError:
                with contextlib.suppress(FileNotFoundError):
                    if time.time() - lock.stat().st_mtime > timeout:  # left by a process that died mid-way
                        lock.unlink()
                        continue
                if time.monotonic() > deadline:
                    raise ProvenanceError(f"Another process is making keys in {directory} (lock {lock}); "
                                          "wait for it, or remove the lock file if no such process runs.") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


# -- loading keys ------------------------------------------------------------------------------------------


def load_keys(directory: Path | None = None) -> StudioKeys:
    """The keys in the folder, checked: the certificates parse and the key belongs to the signing certificate."""
    directory = Path(directory) if directory else keys_dir()
    keys = _paths(directory)
    missing = [p.name for p in (keys.ca_cert, keys.signing_cert, keys.signing_key) if not p.is_file()]
    if missing:
        raise KeysMissing(
            f"No studio signing keys in {directory} (missing {', '.join(missing)}). Run `shotbridge keys init` "
            f"to make a studio CA and signing certificate, or place the studio's own {SIGNING_CERT} (certificate "
            f"chain), {SIGNING_KEY} (its private key) and {CA_CERT} (the root) there.")
    chain = read_certificates(keys.signing_cert)
    read_certificates(keys.ca_cert)
    key = read_private_key(keys.signing_key)
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            chain[0].public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo):
        raise ProvenanceError(
            f"{keys.signing_key} is not the private key of the first certificate in {keys.signing_cert} "
            f"({chain[0].subject.rfc4514_string()}). Put the signing certificate first in {SIGNING_CERT}, "
            "followed by its intermediates, and its own key in signing.key.")
    return keys


def ensure_keys(directory: Path | None = None) -> StudioKeys:
    """The studio's keys, made on first use (the embedded backend's default) so every output gets signed."""
    directory = Path(directory) if directory else keys_dir()
    paths = _paths(directory)
    if all(p.is_file() for p in (paths.ca_cert, paths.signing_cert, paths.signing_key)):
        return load_keys(directory)
    # incomplete: perhaps another worker is writing them right now, so look again under the lock
    with _init_lock(directory):
        if not existing_key_files(directory):
            keys = _init_locked(directory, "ShotBridge Studio", force=False)
            log.info("made a studio CA and signing certificate for Content Credentials in %s; replace them "
                     "with the studio's own certificate as docs/provenance.md describes", directory)
            return keys
        return load_keys(directory)  # a partial set someone left: the error names what is missing


def trust_settings(anchors_pem: str | None = None) -> dict:
    """The SDK settings for trust: the accepted signing EKUs and, when verifying, the trust anchors."""
    trust: dict[str, str] = {"trust_config": "".join(f"{oid}\n" for oid in C2PA_SIGNING_EKUS)}
    if anchors_pem is not None:
        trust["trust_anchors"] = anchors_pem
    return {"trust": trust}


def trust_anchors_path(directory: Path | None = None) -> Path:
    """The studio's trust anchor PEM; verifying needs only this file, not the signing key."""
    directory = Path(directory) if directory else keys_dir()
    path = directory / CA_CERT
    if not path.is_file():
        raise KeysMissing(f"No trust anchor {path}: run `shotbridge keys init` (or place the studio's root "
                          "certificate there), or name a trust anchor PEM with --trust.")
    return path


def read_certificates(path: Path) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except ValueError as exc:
        raise ProvenanceError(f"{path} holds no PEM certificate ({exc}); expected '-----BEGIN CERTIFICATE-----' "
                              "blocks.") from exc
    return certs


def read_private_key(path: Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except TypeError as exc:  # raised for an encrypted key without a password
        raise ProvenanceError(f"{path} is encrypted; the signer needs it unencrypted (mode 0600): "
                              f"openssl pkey -in {path.name} -out signing.key") from exc
    except ValueError as exc:
        raise ProvenanceError(f"{path} is not a PEM private key ({exc}).") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ProvenanceError(f"{path}: C2PA signs with EC (P-256/384/521), RSA-PSS or Ed25519 keys, "
                              f"not {type(key).__name__}.")
    return key


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def chain_problems(keys: StudioKeys) -> list[str]:
    """Why files signed with these keys would not verify against ca.pem; empty when the chain is sound."""
    problems: list[str] = []
    chain = read_certificates(keys.signing_cert)
    anchors = read_certificates(keys.ca_cert)
    now = dt.datetime.now(dt.timezone.utc)
    for cert in chain:
        if cert.not_valid_after_utc < now:
            problems.append(f"{cert.subject.rfc4514_string()} expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    if eku_problem := signing_eku_problem(chain[0]):
        problems.append(f"{SIGNING_CERT}: {eku_problem}")
    for child, parent in zip(chain, chain[1:], strict=False):  # neighbours: one pair fewer
        if not _issued_by(child, parent):
            problems.append(f"{SIGNING_CERT}: {child.subject.rfc4514_string()} is not issued by the next "
                            f"certificate ({parent.subject.rfc4514_string()}); order them end entity first")
    if not any(_issued_by(chain[-1], anchor) or chain[-1] == anchor for anchor in anchors):
        problems.append(f"{SIGNING_CERT} does not chain to any certificate in {CA_CERT}: its last certificate is "
                        f"issued by {chain[-1].issuer.rfc4514_string()}")
    return problems


def signing_eku_problem(cert: x509.Certificate) -> str | None:
    """Why C2PA validators would refuse this signing certificate's extended key usage; None when fine."""
    try:
        ekus = {e.dotted_string for e in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    except x509.ExtensionNotFound:
        ekus = set()
    if ekus & set(C2PA_SIGNING_EKUS):
        return None
    return (f"the signing certificate {cert.subject.rfc4514_string()} needs one of the extended key usages "
            f"{', '.join(C2PA_SIGNING_EKUS.values())} to sign Content Credentials")


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True

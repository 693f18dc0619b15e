"""`init_keys` / `load_keys` / `ensure_keys`: what lands on disk, and what is refused."""

from __future__ import annotations

import datetime as dt
import stat
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shotbridge_backend.provenance import (
    KeysExist,
    KeysMissing,
    ProvenanceError,
    ensure_keys,
    init_keys,
    keys_dir,
    load_keys,
)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cert(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_keys_dir_follows_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTBRIDGE_CONFIG_DIR", str(tmp_path / "elsewhere"))
    assert keys_dir() == tmp_path / "elsewhere" / "keys"
    keys = init_keys()
    assert keys.directory == tmp_path / "elsewhere" / "keys" and keys.ca_key.is_file()


def test_init_writes_a_p256_ca_and_the_signing_certificate_it_issues(tmp_path):
    keys = init_keys(tmp_path / "k", studio="Acme Pictures")
    assert sorted(p.name for p in keys.directory.iterdir()) == ["ca.key", "ca.pem", "signing.key", "signing.pem"]
    assert mode(keys.ca_key) == 0o600 and mode(keys.signing_key) == 0o600
    assert mode(keys.ca_cert) == 0o644 and mode(keys.signing_cert) == 0o644
    assert mode(keys.directory) == 0o700

    ca = cert(keys.ca_cert)
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Acme Pictures"
    ca.verify_directly_issued_by(ca)  # self-signed
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    ca_usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ca_usage.key_cert_sign and not ca_usage.digital_signature
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey) and ca.public_key().curve.name == "secp256r1"

    signing = cert(keys.signing_cert)
    signing.verify_directly_issued_by(ca)
    assert signing.public_key().curve.name == "secp256r1"
    assert signing.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = signing.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    assert list(signing.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.EMAIL_PROTECTION]
    lifetime = signing.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(days=4 * 365) < lifetime < ca.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)

    key = serialization.load_pem_private_key(keys.signing_key.read_bytes(), password=None)
    assert key.public_key().public_numbers() == signing.public_key().public_numbers()
    assert load_keys(keys.directory) == keys


def test_init_refuses_to_overwrite_and_force_moves_the_old_keys_aside(tmp_path):
    folder = tmp_path / "k"
    first = init_keys(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(KeysExist, match=str(folder)):
        init_keys(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before

    init_keys(folder, force=True)
    assert first.ca_cert.read_bytes() != before["ca.pem"]
    (moved,) = [p for p in folder.iterdir() if p.name.startswith("replaced-")]
    assert {p.name: p.read_bytes() for p in moved.iterdir()} == before


def test_load_keys_says_what_to_run_when_there_are_none(tmp_path):
    with pytest.raises(KeysMissing, match=r"Run `shotbridge keys init`") as info:
        load_keys(tmp_path / "empty")
    assert "signing.pem" in str(info.value) and str(tmp_path / "empty") in str(info.value)


def test_load_keys_refuses_a_key_that_is_not_the_certificates(tmp_path):
    keys = init_keys(tmp_path / "a")
    other = init_keys(tmp_path / "b")
    keys.signing_key.write_bytes(other.signing_key.read_bytes())
    with pytest.raises(ProvenanceError, match="is not the private key"):
        load_keys(keys.directory)


def test_load_keys_refuses_an_encrypted_key_with_a_way_out(tmp_path):
    keys = init_keys(tmp_path / "a")
    key = serialization.load_pem_private_key(keys.signing_key.read_bytes(), password=None)
    keys.signing_key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.BestAvailableEncryption(b"secret")))
    with pytest.raises(ProvenanceError, match="encrypted.*openssl pkey"):
        load_keys(keys.directory)


def test_ensure_keys_makes_them_once_even_when_workers_race(tmp_path):
    folder = tmp_path / "k"
    results, errors = [], []

    def worker():
        try:
            results.append(ensure_keys(folder))
        except Exception as exc:  # collected: an exception in a thread would not fail the test
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1
    ca_pem = folder.joinpath("ca.pem").read_bytes()
    load_keys(folder)  # key and certificate belong together: no two makers interleaved their files
    assert ensure_keys(folder) == results[0] and folder.joinpath("ca.pem").read_bytes() == ca_pem
    assert not folder.joinpath(".init.lock").exists()

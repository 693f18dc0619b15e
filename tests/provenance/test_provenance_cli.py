"""`shotbridge keys init|show` and `shotbridge verify`, end to end through shotbridge.cli.main."""

from __future__ import annotations

import json

from c2pa_media import flip_byte_after, write_chain
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from shotbridge.cli import EXIT_FAILED, EXIT_USAGE, main
from shotbridge_backend.provenance import init_keys, keys_dir, load_keys, sign_file


def fingerprint_of(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def fingerprint(path) -> str:
    return fingerprint_of(x509.load_pem_x509_certificate(path.read_bytes()))


def test_keys_init_then_refuse_then_force(capsys):
    assert main(["keys", "init", "--studio", "Acme Pictures"]) == 0
    out = capsys.readouterr().out
    folder = keys_dir()
    for name in ("ca.pem", "ca.key", "signing.pem", "signing.key"):
        assert str(folder / name) in out
    assert "real studio certificate" in out and "signing.pem" in out
    ca_before = (folder / "ca.pem").read_bytes()

    assert main(["keys", "init"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"Signing keys already exist in {folder}" in err and "--force" in err
    assert (folder / "ca.pem").read_bytes() == ca_before

    assert main(["keys", "init", "--force"]) == 0
    out = capsys.readouterr().out
    (moved,) = [p for p in folder.iterdir() if p.name.startswith("replaced-")]
    assert f"moved the previous keys to {moved}" in out
    assert (moved / "ca.pem").read_bytes() == ca_before != (folder / "ca.pem").read_bytes()


def test_keys_init_into_a_named_folder(tmp_path, capsys):
    assert main(["keys", "init", "--dir", str(tmp_path / "vault")]) == 0
    assert str(tmp_path / "vault" / "signing.key") in capsys.readouterr().out
    assert not keys_dir().exists()


def test_keys_show_prints_subjects_fingerprints_and_expiry(capsys):
    keys = init_keys(studio="Acme Pictures")
    assert main(["keys", "show"]) == 0
    out = capsys.readouterr().out
    assert "CN=Acme Pictures Content Credentials CA" in out and "CN=Acme Pictures ShotBridge signing" in out
    assert fingerprint(keys.ca_cert) in out and fingerprint(keys.signing_cert) in out
    expiry = x509.load_pem_x509_certificate(keys.signing_cert.read_bytes()).not_valid_after_utc
    assert f"expires: {expiry:%Y-%m-%d %H:%M} UTC" in out
    assert "chain: signing.pem chains to ca.pem" in out


def test_keys_show_flags_a_chain_that_does_not_reach_the_anchor(tmp_path, capsys):
    keys = init_keys()
    other = init_keys(tmp_path / "other")
    keys.ca_cert.write_bytes(other.ca_cert.read_bytes())
    assert main(["keys", "show"]) == EXIT_FAILED
    assert "does not chain to any certificate in ca.pem" in capsys.readouterr().out


def test_keys_show_a_studios_own_chain_and_a_wrong_eku(capsys):
    chain = write_chain(keys_dir())
    assert main(["keys", "show"]) == 0
    out = capsys.readouterr().out
    assert "intermediate (signing.pem): O=Real Studio,CN=Issuing CA" in out and fingerprint_of(chain["intermediate"]) in out
    write_chain(keys_dir(), eku=ExtendedKeyUsageOID.SERVER_AUTH)
    assert main(["keys", "show"]) == EXIT_FAILED
    assert "needs one of the extended key usages" in capsys.readouterr().out


def test_keys_show_without_keys(capsys):
    assert main(["keys", "show"]) == EXIT_USAGE
    assert "shotbridge keys init" in capsys.readouterr().err


def test_verify_valid_tampered_missing_and_json(media, generation, studio_keys, tmp_path, capsys):
    dst = tmp_path / "take_v001.png"
    sign_file(media["png"], dst, "image/png", generation, load_keys())

    assert main(["verify", str(dst)]) == 0
    out = capsys.readouterr().out
    assert "VALID: signed by Test Studio ShotBridge signing (Test Studio)" in out
    assert "source type: http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia" in out
    assert "ai_training=notAllowed" in out and "ai_generative_training=notAllowed" in out
    assert "data_mining=notAllowed" in out
    assert "provider/model: comfyui / sdxl-base-1.0" in out
    assert "ingredients: hero_ref.png, plate_0010.jpg" in out

    assert main(["verify", str(dst), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is True and doc["issues"] == []
    assert doc["training_mining"]["cawg.ai_generative_training"] == "notAllowed"
    assert doc["manifest"]["title"] == "take_v001.png"

    flip_byte_after(dst, b"IDAT", 40)
    assert main(["verify", str(dst)]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "NOT VALID" in out and "content was changed after signing" in out
    assert main(["verify", str(dst), "--json"]) == EXIT_FAILED
    assert "assertion.dataHash.mismatch" in json.loads(capsys.readouterr().out)["failures"]

    assert main(["verify", str(tmp_path / "nope.png")]) == EXIT_USAGE
    assert "No file" in capsys.readouterr().err


def test_verify_an_unsigned_file_and_a_foreign_signer(media, generation, studio_keys, rogue_keys, tmp_path, capsys):
    assert main(["verify", str(media["jpeg"])]) == EXIT_FAILED
    assert "no Content Credentials" in capsys.readouterr().out

    foreign = tmp_path / "foreign.png"
    sign_file(media["png"], foreign, "image/png", generation, rogue_keys)
    assert main(["verify", str(foreign)]) == EXIT_FAILED
    assert "Rogue Outfit ShotBridge signing (Rogue Outfit) is not trusted" in capsys.readouterr().out
    assert main(["verify", str(foreign), "--trust", str(rogue_keys.ca_cert)]) == 0
    capsys.readouterr()


def test_verify_without_any_trust_anchor_exits_usage(media, capsys):
    assert main(["verify", str(media["png"])]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "shotbridge keys init" in err and "--trust" in err


def test_verify_with_a_trust_file_that_is_not_pem(media, tmp_path, capsys):
    bogus = tmp_path / "anchor.pem"
    bogus.write_text("not a certificate")
    assert main(["verify", str(media["png"]), "--trust", str(bogus)]) == EXIT_USAGE
    assert "holds no PEM certificate" in capsys.readouterr().err

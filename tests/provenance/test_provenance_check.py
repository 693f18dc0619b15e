"""check_credentials, what the credentials route answers: verified, not signed, invalid (an untrusted signer,
changed bytes) and unchecked (no trust anchor yet), for files stored under their sha256 without a suffix."""

from __future__ import annotations

import shutil

from shotbridge.models import CredentialStatus
from shotbridge_backend.provenance import sign_file
from shotbridge_backend.provenance.check import check_credentials


def _stored(path, tmp_path):
    """As the asset store keeps it: no file name suffix to tell the type by."""
    dst = tmp_path / "store" / path.name.replace(".", "_")
    dst.parent.mkdir(exist_ok=True)
    shutil.copyfile(path, dst)
    return dst


def test_each_answer(media, generation, studio_keys, rogue_keys, tmp_path):
    keys = studio_keys.directory
    signed = tmp_path / "signed.png"
    sign_file(media["png"], signed, "image/png", generation, studio_keys)
    ok = check_credentials(_stored(signed, tmp_path), "image/png", "gen.png", keys)
    assert ok.status == CredentialStatus.verified and ok.issues == []
    assert (ok.provider, ok.model) == ("comfyui", "sdxl-base-1.0") and ok.signer.startswith("Test Studio")

    plain = check_credentials(_stored(media["png"], tmp_path), "image/png", "gen.png", keys)
    assert plain.status == CredentialStatus.not_signed and "no Content Credentials" in plain.issues[0]

    rogue = tmp_path / "rogue.png"
    sign_file(media["png"], rogue, "image/png", generation, rogue_keys)
    bad = check_credentials(_stored(rogue, tmp_path), "application/octet-stream", "rogue.png", keys)
    assert bad.status == CredentialStatus.invalid and any("not trusted" in i for i in bad.issues), bad.issues

    none = check_credentials(_stored(signed, tmp_path), "image/png", "gen.png", tmp_path / "no-keys-here")
    assert none.status == CredentialStatus.unchecked and "signed nothing yet" in none.issues[0]

"""An asset's Content Credentials as the API reports them: verified, not signed, invalid, or unchecked."""

from __future__ import annotations

import mimetypes
import shutil
import tempfile
from pathlib import Path

from shotbridge.models import Credentials, CredentialStatus

from .keys import KeysMissing, trust_anchors_path
from .verify import verify_file


def check_credentials(path: Path, media_type: str, filename: str, keys_dir: Path | None = None) -> Credentials:
    """Verify a stored asset offline against the studio's trust anchor (the keys the backend signs with)."""
    try:
        anchors = trust_anchors_path(keys_dir)
    except KeysMissing as exc:
        return Credentials(status=CredentialStatus.unchecked,
                           issues=[f"this backend has signed nothing yet, so it has no trust anchor: {exc}"])
    # The store names files by sha256 only; the C2PA SDK reads the media type from the name's suffix.
    suffix = mimetypes.guess_extension(media_type) or ""
    if not suffix and mimetypes.guess_type(filename)[0]:
        suffix = Path(filename).suffix
    if suffix:
        with tempfile.TemporaryDirectory(prefix="shotbridge-verify-") as tmp:
            named = Path(tmp) / f"asset{suffix}"
            try:
                named.hardlink_to(path)
            except OSError:
                shutil.copyfile(path, named)
            v = verify_file(named, anchors)
    else:
        v = verify_file(path, anchors)
    if v.valid:
        status = CredentialStatus.verified
    elif not v.manifest and v.issues and v.issues[0].startswith("no Content Credentials"):
        status = CredentialStatus.not_signed
    else:
        status = CredentialStatus.invalid
    return Credentials(status=status, signer=v.signer, issues=v.issues, provider=v.provider, model=v.model,
                       digital_source_type=v.digital_source_type, training_mining=v.training_mining)

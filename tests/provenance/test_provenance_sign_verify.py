"""sign_file + verify_file with the real C2PA SDK: what is signed reads back; what is tampered with fails."""

from __future__ import annotations

import hashlib
import shutil

import cv2
import numpy as np
import pytest
from c2pa_media import DOCUMENT_SIGNING, flip_byte_after, write_chain
from cryptography.x509.oid import ExtendedKeyUsageOID
from PIL import Image

from shotbridge_backend.provenance import (
    TRAINED_ALGORITHMIC_MEDIA,
    Generation,
    Ingredient,
    ProvenanceError,
    can_sign,
    keys_dir,
    load_keys,
    sign_file,
    verify_file,
)

KINDS = {"png": "image/png", "jpeg": "image/jpeg", "mp4": "video/mp4"}
EXPECTED_USES = {"cawg.ai_training": "notAllowed", "cawg.ai_generative_training": "notAllowed",
                 "cawg.ai_inference": "notAllowed", "cawg.data_mining": "notAllowed"}


def signed(media, kind, generation, keys, tmp_path):
    dst = tmp_path / "out" / f"signed_{media[kind].name}"
    sign_file(media[kind], dst, KINDS[kind], generation, keys)
    return dst


def assertions(v) -> dict:
    return {a["label"]: a["data"] for a in v.manifest["assertions"]}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_round_trip_reads_back_every_assertion(kind, media, generation, studio_keys, tmp_path):
    dst = signed(media, kind, generation, studio_keys, tmp_path)
    v = verify_file(dst)
    assert v.valid, v.issues
    assert v.issues == [] and v.validation_state == "Trusted"
    assert v.signer == "Test Studio ShotBridge signing (Test Studio)"
    assert v.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert v.training_mining == EXPECTED_USES
    assert (v.provider, v.model) == ("comfyui", "sdxl-base-1.0")
    assert v.ingredients == ["hero_ref.png", "plate_0010.jpg"]

    found = assertions(v)
    assert "c2pa.actions.v2" in found and "cawg.training-mining" in found
    (action,) = found["c2pa.actions.v2"]["actions"]
    assert action["action"] == "c2pa.created"
    assert action["softwareAgent"]["name"] == "ShotBridge"
    assert (action["softwareAgent"]["provider"], action["softwareAgent"]["model"]) == ("comfyui", "sdxl-base-1.0")
    assert len(action["parameters"]["ingredients"]) == 2  # both inputs linked to the action that used them
    gen = found["com.shotbridge.generation"]
    assert (gen["operation"], gen["job_id"]) == ("extend_shot", "job-7f3a")
    assert gen["parameters"] == generation.parameters
    assert [i["sha256"] for i in gen["inputs"]] == [
        hashlib.sha256(media["ref"].read_bytes()).hexdigest(), hashlib.sha256(media["plate"].read_bytes()).hexdigest()]
    assert [i["relationship"] for i in v.manifest["ingredients"]] == ["inputTo", "inputTo"]
    assert v.manifest["claim_generator_info"][0]["name"] == "ShotBridge"
    # no thumbnails: no copy of the studio's inputs travels inside the output
    assert "thumbnail" not in v.manifest and all("thumbnail" not in i for i in v.manifest["ingredients"])


def test_signing_keeps_the_pixels(media, generation, studio_keys, tmp_path):
    png = signed(media, "png", generation, studio_keys, tmp_path)
    assert np.array_equal(np.asarray(Image.open(png)), np.asarray(Image.open(media["png"])))
    mp4 = signed(media, "mp4", generation, studio_keys, tmp_path)
    capture = cv2.VideoCapture(str(mp4))
    frames = 0
    while capture.read()[0]:
        frames += 1
    assert frames == 12


@pytest.mark.parametrize(("kind", "marker", "offset", "code"), [
    ("png", b"IDAT", 40, "assertion.dataHash.mismatch"),
    ("jpeg", b"\xff\xda", 400, "assertion.dataHash.mismatch"),
    ("mp4", b"mdat", 500, "assertion.bmffHash.mismatch"),
])
def test_flipped_bytes_in_the_media_fail(kind, marker, offset, code, media, generation, studio_keys, tmp_path):
    dst = signed(media, kind, generation, studio_keys, tmp_path)
    assert verify_file(dst).valid
    flip_byte_after(dst, marker, offset)
    v = verify_file(dst)
    assert not v.valid
    assert code in v.failures
    assert any("content was changed after signing" in issue for issue in v.issues), v.issues


def test_an_edited_assertion_fails(media, generation, studio_keys, tmp_path):
    dst = signed(media, "png", generation, studio_keys, tmp_path)
    data = dst.read_bytes()
    assert data.count(b"sdxl-base-1.0") >= 1
    dst.write_bytes(data.replace(b"sdxl-base-1.0", b"sdxl-base-2.0"))
    v = verify_file(dst)
    assert not v.valid
    assert any("assertion in the manifest was changed" in issue for issue in v.issues), v.issues


def test_a_signer_from_another_ca_is_not_trusted(media, generation, studio_keys, rogue_keys, tmp_path):
    dst = signed(media, "png", generation, rogue_keys, tmp_path)
    v = verify_file(dst)
    assert not v.valid and v.validation_state == "Valid"  # intact, but not signed by the studio
    assert v.signer == "Rogue Outfit ShotBridge signing (Rogue Outfit)"
    assert v.failures == ["signingCredential.untrusted"]
    assert v.issues == [f"the signer {v.signer} is not trusted: its certificate does not chain to a trust anchor "
                        f"in {studio_keys.ca_cert}"]
    # the same file against the other CA as trust anchor: the trust anchor argument is what decides
    assert verify_file(dst, trust_anchors=rogue_keys.ca_cert).valid


def test_a_studio_file_re_signed_by_another_ca_fails(media, generation, studio_keys, rogue_keys, tmp_path):
    ours = signed(media, "jpeg", generation, studio_keys, tmp_path)
    forged = tmp_path / "forged.jpg"
    sign_file(ours, forged, "image/jpeg", generation, rogue_keys)
    v = verify_file(forged)
    assert not v.valid
    assert "Rogue Outfit" in v.signer and "signingCredential.untrusted" in v.failures


def test_a_file_without_a_manifest_fails(media, studio_keys):
    v = verify_file(media["png"])
    assert not v.valid
    assert v.issues == ["no Content Credentials: gen.png carries no C2PA manifest"]
    assert v.manifest == {} and v.signer == "" and v.training_mining == {}


def test_verify_without_a_trust_anchor_says_what_to_do(media, generation, rogue_keys, tmp_path):
    dst = signed(media, "png", generation, rogue_keys, tmp_path)
    with pytest.raises(ProvenanceError, match="shotbridge keys init.*--trust"):
        verify_file(dst)  # no studio keys made in this test


@pytest.mark.parametrize("eku", [DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION],
                         ids=["documentSigning", "emailProtection"])
def test_a_studios_own_chain_signs_and_verifies(eku, media, generation, tmp_path):
    folder = keys_dir()
    write_chain(folder, eku=eku)
    keys = load_keys()
    assert keys.directory == folder and not keys.ca_key.exists()
    dst = signed(media, "png", generation, keys, tmp_path)
    v = verify_file(dst)
    assert v.valid, v.issues
    assert v.signer == "Real Studio Content Signing (Real Studio)"
    assert v.manifest["signature_info"]["alg"].lower() == "es384"


def test_a_certificate_without_a_c2pa_signing_eku_is_refused_clearly(media, generation, tmp_path):
    write_chain(keys_dir(), eku=ExtendedKeyUsageOID.SERVER_AUTH)
    with pytest.raises(ProvenanceError, match="needs one of the extended key usages emailProtection, documentSigning"):
        sign_file(media["png"], tmp_path / "x.png", "image/png", generation, load_keys())


def test_an_expired_signing_certificate_is_refused_before_signing(media, generation, tmp_path):
    write_chain(keys_dir(), expired=True)
    with pytest.raises(ProvenanceError, match="not now. Renew it"):
        sign_file(media["png"], tmp_path / "x.png", "image/png", generation, load_keys())
    assert not (tmp_path / "x.png").exists()


def test_a_signed_input_carries_its_own_credentials_along(media, generation, studio_keys, tmp_path):
    first = signed(media, "png", generation, studio_keys, tmp_path)
    second = Generation(operation="upscale", provider="local", model="lanczos", job_id="job-2", parameters={"x": 2},
                        ingredients=[Ingredient(first, "first.png", "image/png")])
    dst = tmp_path / "second.png"
    sign_file(media["jpeg"], dst, "image/jpeg", second, studio_keys)
    v = verify_file(dst)
    assert v.valid and v.ingredients == ["first.png"]
    assert v.manifest["ingredients"][0].get("active_manifest"), v.manifest["ingredients"][0]


def test_inputs_the_sdk_cannot_read_are_still_listed(media, studio_keys, tmp_path):
    exr = tmp_path / "plate.exr"
    exr.write_bytes(b"\x76\x2f\x31\x01" + bytes(range(256)))
    gen = Generation(operation="fill_gap", provider="comfyui", model="m", job_id="j", parameters={},
                     ingredients=[Ingredient(exr, "plate.exr", "image/x-exr")])
    dst = tmp_path / "fill.png"
    sign_file(media["png"], dst, "image/png", gen, studio_keys)
    v = verify_file(dst)
    assert v.valid and v.ingredients == ["plate.exr"]
    gen_assertion = assertions(v)["com.shotbridge.generation"]
    assert gen_assertion["inputs"][0]["sha256"] == hashlib.sha256(exr.read_bytes()).hexdigest()


def test_signing_in_place(media, generation, studio_keys):
    target = media["png"]
    sign_file(target, target, "image/png", generation, studio_keys)
    assert verify_file(target).valid
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_formats_the_sdk_does_not_sign_are_refused_clearly(tmp_path, generation, studio_keys):
    assert can_sign("image/png") and can_sign("image/jpeg") and can_sign("video/mp4") and can_sign("video/quicktime")
    assert not can_sign("image/x-exr") and not can_sign("image/x-dpx")
    exr = tmp_path / "out.exr"
    exr.write_bytes(b"\x76\x2f\x31\x01" + bytes(64))
    with pytest.raises(ProvenanceError, match="does not sign image/x-exr"):
        sign_file(exr, tmp_path / "signed.exr", "image/x-exr", generation, studio_keys)


def test_a_parent_ingredient_and_unserialisable_parameters_are_refused(media, generation, studio_keys, tmp_path):
    generation.ingredients[0].relationship = "parentOf"
    with pytest.raises(ValueError, match="parentOf.*inputTo, componentOf"):
        sign_file(media["png"], tmp_path / "a.png", "image/png", generation, studio_keys)
    generation.ingredients[0].relationship = "componentOf"
    generation.parameters = {"seed": object()}
    with pytest.raises(ValueError, match="JSON-serialisable"):
        sign_file(media["png"], tmp_path / "a.png", "image/png", generation, studio_keys)
    assert not (tmp_path / "a.png").exists()


def test_a_truncated_manifest_is_reported_not_raised(media, generation, studio_keys, tmp_path):
    dst = signed(media, "png", generation, studio_keys, tmp_path)
    data = dst.read_bytes()
    at = data.find(b"caBX")  # the PNG chunk that holds the C2PA manifest store
    assert at > 0
    broken = tmp_path / "broken.png"
    broken.write_bytes(data[: at + 200] + data[at + 400:])
    v = verify_file(broken)
    assert not v.valid and v.issues


def test_copy_of_signed_file_elsewhere_still_verifies(media, generation, studio_keys, tmp_path):
    dst = signed(media, "mp4", generation, studio_keys, tmp_path)
    moved = tmp_path / "renamed_take_v002.mp4"
    shutil.copy(dst, moved)
    assert verify_file(moved).valid


"""ASC CDL maths against OpenColorIO, estimating a known grade back, CIEDE2000."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from shotbridge_backend.vision import (
    CDL,
    apply_cdl,
    estimate_cdl,
    match_look,
    mean_delta_e2000,
    stats_delta_e2000,
)

GRADES = [
    CDL(slope=(1.2, 0.9, 1.05), offset=(0.02, -0.03, 0.01), power=(0.9, 1.1, 1.25), saturation=1.3),
    CDL(slope=(0.7, 1.4, 1.0), offset=(-0.1, 0.05, 0.2), power=(2.0, 0.5, 1.0), saturation=0.4),
    CDL(slope=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0), power=(1.0, 1.0, 1.0), saturation=0.0),
]


def _pixels() -> np.ndarray:
    rng = np.random.default_rng(7)
    # Real pixels plus out-of-range values, which exercise the clamps and the negative-power rule.
    real = data.coffee().reshape(-1, 3)[::7] / 255.0
    return np.concatenate([real, rng.uniform(-0.25, 1.3, (20_000, 3))]).astype(np.float32)


@pytest.mark.parametrize("style", ["asc", "no_clamp"])
@pytest.mark.parametrize("cdl", GRADES)
def test_apply_cdl_matches_opencolorio(cdl, style):
    ocio = pytest.importorskip("PyOpenColorIO")
    t = ocio.CDLTransform(slope=cdl.slope, offset=cdl.offset, power=cdl.power, sat=cdl.saturation)
    t.setStyle(ocio.CDL_ASC if style == "asc" else ocio.CDL_NO_CLAMP)
    t.setDirection(ocio.TRANSFORM_DIR_FORWARD)
    cpu = ocio.Config.CreateRaw().getProcessor(t).getDefaultCPUProcessor()
    px = _pixels()
    theirs = px.copy()
    cpu.applyRGB(theirs)
    diff = float(np.max(np.abs(apply_cdl(px.astype(np.float64), cdl, style) - theirs)))
    print(f"\n{style} {cdl}: max |ours - OCIO| = {diff:.2e}")
    assert diff < 1e-4


@pytest.mark.parametrize(
    "truth",
    [
        CDL(slope=(1.1, 0.95, 0.85), offset=(0.03, 0.0, -0.02), power=(0.9, 1.0, 1.15), saturation=0.8),
        CDL(slope=(0.8, 0.8, 0.9), offset=(0.05, 0.05, 0.02), power=(1.2, 1.2, 1.1), saturation=1.25),
    ],
)
@pytest.mark.parametrize("image", ["coffee", "chelsea"])
def test_known_grade_shift_is_estimated_back(truth, image):
    ref = getattr(data, image)() / 255.0
    shifted = apply_cdl(ref, truth)
    cdl = estimate_cdl(ref, shifted)
    before, after = mean_delta_e2000(ref, shifted), mean_delta_e2000(ref, apply_cdl(shifted, cdl))
    print(f"\n{image}: mean ΔE2000 {before:.2f} -> {after:.2f} with {cdl.rounded(3)}")
    assert after < 0.45 * before and after < 1.5


def test_match_look_between_different_shots():
    cat = data.chelsea() / 255.0
    truth = CDL(slope=(1.1, 0.95, 0.85), offset=(0.03, 0.0, -0.02), power=(0.9, 1.0, 1.15), saturation=0.8)
    ref, tgt = cat[:, :220], apply_cdl(cat[:, 230:], truth)  # two halves: different content, same light
    res = match_look([ref], [tgt], name="half", frames=[0])
    assert res.delta_e_mode == "stats"
    assert res.delta_e_after < 0.5 * res.delta_e_before
    same = match_look([cat], [apply_cdl(cat, truth)])
    assert same.delta_e_mode == "pixel" and same.delta_e_after < 0.45 * same.delta_e_before


def test_delta_e_and_metadata_basics():
    img = data.coffee()[:64, :64] / 255.0
    assert mean_delta_e2000(img, img) == 0.0
    assert stats_delta_e2000(img, img) == pytest.approx(0.0, abs=1e-9)
    assert mean_delta_e2000(img, img * 0.9) == pytest.approx(mean_delta_e2000(img * 0.9, img), rel=1e-6)
    with pytest.raises(ValueError, match="same size"):
        mean_delta_e2000(img, img[:10])
    cdl = GRADES[0]
    meta = cdl.to_metadata()
    assert meta["asc_sop"]["slope"] == [1.2, 0.9, 1.05] and meta["asc_sat"] == 1.3
    assert CDL.from_metadata(meta) == cdl
    assert np.allclose(apply_cdl(img, CDL()), img)

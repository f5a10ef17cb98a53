"""The measured rate-distortion curves of a fit against a brute-force recomputation.

Every stored gradient block is paired with its own coefficients: per block, the
Fisher weight is the label-sample sum of the squared plane gradient, the error
is weighted by it, and the rate is the entropy of the quantized symbols."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from grace_fit_models import Classifier, images  # noqa: E402

from pillow_grace.core import colour  # noqa: E402
from pillow_grace.fit import probe_rgb  # noqa: E402
from pillow_grace.fit.dct import block_dct  # noqa: E402
from pillow_grace.fit.planes import RD_STEPS, perception_for, rate_distortion  # noqa: E402
from pillow_grace.fit.probe import as_subsampling  # noqa: E402


def brute_force(probe, weights, subsampling: str):  # type: ignore[no-untyped-def]
    """(3, 64, G) rate and weighted error, from the probe's stored blocks, one block at a time."""
    m = colour.forward_matrix(weights)[:, :3]
    a = colour.inverse_matrix(weights)[:, :3].T
    fx, fy = (2, 2) if subsampling == "4:2:0" else (1, 1)
    wp, hp = probe.extra["padded_size"]
    rate = np.zeros((3, 64, len(RD_STEPS)))
    mse = np.zeros((3, 64, len(RD_STEPS)))
    geometry = {kind: (getattr(probe, f"stored_{kind}"), getattr(probe, f"stored_{kind}_w"),
                       getattr(probe, f"stored_{kind}_at")) for kind in ("luma", "chroma")}
    for c in range(3):
        luma = c == 0
        blocks, w, at = geometry["luma" if luma else "chroma"]
        fisher: dict[tuple[int, int], np.ndarray] = {}
        for g, wi, (img, blk) in zip(blocks.astype(np.float64), w, at, strict=True):
            plane_grad = a[c] @ g  # (64,)
            fisher[(int(img), int(blk))] = fisher.get((int(img), int(blk)), 0.0) + wi * plane_grad**2
        coefs = {}
        for img in {k[0] for k in fisher}:
            rgb = probe.images[img].astype(np.float64) - 128.0
            plane = rgb @ m[c]
            plane = np.pad(plane, ((0, hp - plane.shape[0]), (0, wp - plane.shape[1])), mode="edge")
            if not luma and (fx, fy) != (1, 1):
                plane = plane.reshape(hp // fy, fy, wp // fx, fx).mean(axis=(1, 3))
            dct = block_dct(torch.from_numpy(plane)).reshape(-1, 64).numpy()
            for (i, blk) in fisher:
                if i == img:
                    coefs[(i, blk)] = dct[blk]
        keys = sorted(fisher)
        f = np.stack([fisher[k] for k in keys])
        s = np.stack([coefs[k] for k in keys])
        for k in range(64):
            wk = f[:, k] / f[:, k].sum() if f[:, k].sum() > 0 else np.full(len(keys), 1 / len(keys))
            for j, q in enumerate(RD_STEPS):
                sym = np.rint(s[:, k] / q)
                mse[c, k, j] = float(np.sum(wk * (s[:, k] - q * sym) ** 2))
                _, counts = np.unique(sym, return_counts=True)
                p = counts / len(keys)
                rate[c, k, j] = float(-np.sum(p * np.log2(p)))
    return rate, mse


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:0"])
def test_measured_curves_match_a_block_by_block_recomputation(subsampling: str) -> None:
    frames = images(2, (40, 24), seed=8)  # 40x24: 4:2:0 pads to 48x32, so padding blocks count too
    weights = (0.3, 0.5, 0.2)
    probe = probe_rgb(Classifier(classes=6, seed=3), frames, label_samples=3, subsampling=subsampling,
                      max_stored_values=20000)  # a random subset of MCUs, as on real captures
    assert 0 < probe.stored_fraction < 1
    rd = rate_distortion(probe, weights)
    want_rate, want_mse = brute_force(probe, weights, subsampling)
    assert rd.steps == RD_STEPS
    np.testing.assert_allclose(np.asarray(rd.rate), want_rate, rtol=1e-3, atol=1e-12)
    np.testing.assert_allclose(np.asarray(rd.mse), want_mse, rtol=1e-3, atol=1e-12)
    # A 4:2:0 probe also serves 4:4:4 (its luma blocks code the full-resolution chroma).
    if subsampling == "4:2:0":
        full = as_subsampling(probe, "4:4:4")
        rate444, mse444 = brute_force(full, weights, "4:4:4")
        got = np.asarray(rate_distortion(full, weights).mse)
        np.testing.assert_allclose(got, mse444, rtol=1e-3, atol=1e-12)
        assert np.asarray(rate444).shape == (3, 64, len(RD_STEPS))


def test_perception_carries_the_curves_only_when_asked() -> None:
    frames = images(2, (32, 24), seed=9)
    probe = probe_rgb(Classifier(classes=4, seed=1), frames, label_samples=2)
    assert perception_for(probe, (0.3, 0.5, 0.2), "4:4:4").rate_distortion is None
    p = perception_for(probe, (0.3, 0.5, 0.2), "4:4:4", measured=True)
    rd = p.rate_distortion
    assert rd is not None
    rate, mse = np.asarray(rd.rate), np.asarray(rd.mse)
    # Step 1 leaves at most 1/2 of error per coefficient; step 255 codes (almost) nothing.
    assert np.all(mse[:, :, 0] <= 0.25 + 1e-9)
    assert np.all(rate >= 0) and np.all(rate[:, :, -1] <= rate[:, :, 0])
    assert not np.any(np.signbit(rate))  # no -0.0 in a file

"""From one RGB probe to the G-YUV perception of any colour weights.

The colour transform is linear per pixel and the block DCT linear per
channel, so the plane statistics for given weights follow exactly from the
RGB-domain data of :class:`pillow_grace.fit.probe.RGBProbe` (see that
module's docstring): E[g^2] as a quadratic form of the RGB second moments,
E|g| from the stored gradient blocks, E|s| recomputed from the images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from pillow_grace.core import colour
from pillow_grace.core.strategy import Perception, RateDistortion
from pillow_grace.fit.blocks import box_sum, geometry, padded_size
from pillow_grace.fit.dct import block_dct
from pillow_grace.fit.probe import RGBProbe, as_subsampling


def plane_matrices(weights: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(M, A): M maps RGB coefficients to G-YUV ones, A maps RGB gradients to plane gradients.

    M is the encoder's forward matrix (what the planes really are) and
    ``A = N^T`` with N the decoder's inverse matrix: a plane error e reaches the
    model as the RGB error N e, so dL/de = N^T dL/drgb exactly. With real
    weights N = M^-1 and A = M^-T; :mod:`pillow_grace.core.colour` rounds both to
    1/1024, so they agree to about 1e-3."""
    m = colour.forward_matrix(weights)[:, :3]
    return m, colour.inverse_matrix(weights)[:, :3].T


def plane_statistics(probe: RGBProbe, weights: tuple[float, float, float]) -> dict[str, np.ndarray]:
    """The G-YUV perception (3 x 64 each) for ``weights``, from one RGB probe.

    Returns ``grad_abs_mean``, ``grad_sq_mean`` and ``coef_abs_mean``: Y over
    full-resolution blocks, U and V over the chroma block geometry."""
    _, a = plane_matrices(weights)
    sq = np.empty((3, 64))
    sq[0] = np.einsum("i,ijk,j->k", a[0], probe.moment_luma, a[0])
    for c in (1, 2):
        sq[c] = np.einsum("i,ijk,j->k", a[c], probe.moment_chroma, a[c])
    sq = np.maximum(sq, 0.0)  # a quadratic form of a PSD matrix; clip float round-off
    ab = np.empty((3, 64))
    ab[0] = _weighted_abs_mean(probe.stored_luma, probe.stored_luma_w, a[0])
    for c in (1, 2):
        ab[c] = _weighted_abs_mean(probe.stored_chroma, probe.stored_chroma_w, a[c])
    coef = coefficient_abs_mean(probe.images, weights, probe.subsampling)
    return {"grad_abs_mean": ab, "grad_sq_mean": sq, "coef_abs_mean": coef}


def _weighted_abs_mean(blocks: np.ndarray, w: np.ndarray, row: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(blocks).double()  # (M, 3, 64)
    g = torch.einsum("c,mck->mk", torch.from_numpy(row), t).abs()
    wt = torch.from_numpy(w)
    return (torch.einsum("m,mk->k", wt, g) / wt.sum()).numpy()


def coefficient_abs_mean(images: Sequence[np.ndarray], weights: tuple[float, float, float],
                         subsampling: str) -> np.ndarray:
    """(3, 64) E|s| of the level-shifted G-YUV plane coefficients, as libjpeg would code them.

    Planes are computed without rounding (the Laplacian scale does not care),
    edge-padded to whole MCUs, chroma box-averaged when subsampled."""
    m, _ = plane_matrices(weights)
    mt = torch.from_numpy(m)
    (_, _), (fx, fy) = geometry(subsampling)
    h, w = images[0].shape[:2]
    hp, wp = padded_size(h, w, subsampling)
    sums = torch.zeros(3, 64, dtype=torch.float64)
    for im in images:
        rgb = torch.tensor(im, dtype=torch.float64).permute(2, 0, 1) - 128.0  # (3, h, w); copies
        planes = torch.einsum("cd,dhw->chw", mt, rgb)
        planes = F.pad(planes[None], (0, wp - w, 0, hp - h), mode="replicate")[0]
        sums[0] += block_dct(planes[0]).abs().sum(dim=(0, 1))
        chroma = box_sum(planes[1:], fx, fy) / (fx * fy)
        sums[1:] += block_dct(chroma).abs().sum(dim=(1, 2))
    luma_blocks = len(images) * (hp // 8) * (wp // 8)
    chroma_blocks = len(images) * (hp // fy // 8) * (wp // fx // 8)
    out = sums.numpy()
    out[0] /= luma_blocks
    out[1:] /= chroma_blocks
    return out


#: The steps at which :func:`rate_distortion` measures every bin: each of 1..12, then about
#: 12% apart up to 255 (39 steps). Between them the encoder interpolates the error; a
#: table only ever picks one of these steps.
RD_STEPS: tuple[int, ...] = (
    *range(1, 13), 14, 16, 18, 20, 22, 25, 28, 31, 35, 39, 44, 49, 55, 62, 69, 77, 86,
    96, 108, 121, 135, 151, 169, 189, 212, 237, 255,
)
#: Significant digits kept of each measured rate and error (the file stays ~150 KiB).
RD_DIGITS = 4


def perception_for(probe: RGBProbe, weights: tuple[float, float, float], subsampling: str, *,
                   measured: bool = False) -> Perception:
    """The :class:`~pillow_grace.core.strategy.Perception` a strategy stores, for these weights and
    this subsampling (which the probe must have measured, see ``as_subsampling``);
    ``measured`` adds the measured rate-distortion curves (:func:`rate_distortion`)
    that the ``"empirical"`` allocation needs."""
    probe = as_subsampling(probe, subsampling)
    stats = plane_statistics(probe, weights)
    return Perception(
        grad_abs_mean=stats["grad_abs_mean"],
        grad_sq_mean=stats["grad_sq_mean"],
        coef_abs_mean=stats["coef_abs_mean"],
        rate_distortion=rate_distortion(probe, weights) if measured else None,
    )


def rate_distortion(probe: RGBProbe, weights: tuple[float, float, float],
                    steps: Sequence[int] = RD_STEPS) -> RateDistortion:
    """Rate and Fisher-weighted error of every bin of the G-YUV planes at each of ``steps``,
    measured on the probe's stored blocks (see :class:`~pillow_grace.core.strategy.RateDistortion`).

    Each stored block is paired with its own coefficients (``stored_*_at``); its
    Fisher weight for plane c is the label-sample sum of (a_c . g_rgb)^2. The
    rate is the zeroth-order entropy of the quantized symbols: what an ideal
    coder of independent symbols pays, which tracks libjpeg's Huffman coding of
    runs closely enough to rank steps (the empirical allocation, measured,
    beat the Laplacian model by 3-6 points of BD-rate, docs/fitting.md)."""
    m, a = plane_matrices(weights)
    (_, _), (fx, fy) = geometry(probe.subsampling)
    height, width = probe.images[0].shape[:2]
    padded = tuple(probe.extra.get("padded_size", padded_size(height, width, probe.subsampling)[::-1]))
    grid = np.asarray(steps, dtype=np.float64)
    rate = np.zeros((3, 64, len(grid)))
    mse = np.zeros((3, 64, len(grid)))
    for c in range(3):
        luma = c == 0
        blocks = probe.stored_luma if luma else probe.stored_chroma
        sample_w = probe.stored_luma_w if luma else probe.stored_chroma_w
        at = probe.stored_luma_at if luma else probe.stored_chroma_at
        g = np.einsum("c,mck->mk", a[c], blocks.astype(np.float64))
        keys, inverse = np.unique(at, axis=0, return_inverse=True)
        fisher = np.zeros((len(keys), 64))
        np.add.at(fisher, inverse.reshape(-1), sample_w[:, None] * g * g)
        coefs = _plane_coefficients(probe.images, m[c], keys, padded,  # type: ignore[arg-type]
                                    (1, 1) if luma else (fx, fy))
        rate[c], mse[c] = _measure(coefs, fisher, grid)
    return RateDistortion(tuple(int(q) for q in grid), _rounded(rate), _rounded(mse))


def _plane_coefficients(images: Sequence[np.ndarray], row: np.ndarray, keys: np.ndarray,
                        padded: tuple[int, int], factors: tuple[int, int]) -> np.ndarray:
    """(len(keys), 64) coefficients of one plane at [image, block] ``keys``, coded as
    libjpeg would (edge-padded to whole MCUs, chroma box-averaged when subsampled)."""
    fx, fy = factors
    h, w = images[0].shape[:2]
    wp, hp = padded  # the probe's own grid (a 4:2:0 probe seen as 4:4:4 keeps its MCU padding)
    out = np.empty((len(keys), 64))
    for i in np.unique(keys[:, 0]):
        rgb = torch.tensor(images[int(i)], dtype=torch.float64).permute(2, 0, 1) - 128.0
        plane = torch.einsum("d,dhw->hw", torch.from_numpy(row), rgb)
        plane = F.pad(plane[None, None], (0, wp - w, 0, hp - h), mode="replicate")[0]
        plane = box_sum(plane, fx, fy) / (fx * fy)
        coef = block_dct(plane[0]).reshape(-1, 64).numpy()
        sel = keys[:, 0] == i
        out[sel] = coef[keys[sel, 1]]
    return out


def _measure(coefs: np.ndarray, fisher: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(64, G) entropy (bits per coefficient) and Fisher-weighted MSE of each bin at each step."""
    n = len(coefs)
    rate = np.zeros((64, len(grid)))
    mse = np.zeros((64, len(grid)))
    for k in range(64):
        s, f = coefs[:, k], fisher[:, k]
        total = f.sum()
        weight = f / total if total > 0 else np.full(n, 1.0 / n)
        sym = np.rint(s[None, :] / grid[:, None])  # (G, n)
        mse[k] = ((s[None, :] - sym * grid[:, None]) ** 2 * weight[None, :]).sum(axis=1)
        for j in range(len(grid)):
            counts = np.bincount((sym[j] - sym[j].min()).astype(np.int64))
            p = counts[counts > 0] / n
            rate[k, j] = max(0.0, float(-(p * np.log2(p)).sum()))  # never -0.0
    return rate, mse


def _rounded(x: np.ndarray) -> tuple[tuple[tuple[float, ...], ...], ...]:
    fmt = f"{{:.{RD_DIGITS}g}}"
    return tuple(tuple(tuple(float(fmt.format(v)) for v in b) for b in c) for c in x)

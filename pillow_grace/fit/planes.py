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

from .. import colour
from ..strategy import Perception
from .dct import block_dct
from .probe import RGBProbe, _box_sum, _padded, as_subsampling, geometry


def plane_matrices(weights: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(M, A): M maps RGB coefficients to G-YUV ones, A maps RGB gradients to plane gradients.

    M is the encoder's forward matrix (what the planes really are) and
    ``A = N^T`` with N the decoder's inverse matrix: a plane error e reaches the
    model as the RGB error N e, so dL/de = N^T dL/drgb exactly. With real
    weights N = M^-1 and A = M^-T; :mod:`pillow_grace.colour` rounds both to
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
    hp, wp = _padded(h, w, subsampling)
    sums = torch.zeros(3, 64, dtype=torch.float64)
    for im in images:
        rgb = torch.tensor(im, dtype=torch.float64).permute(2, 0, 1) - 128.0  # (3, h, w); copies
        planes = torch.einsum("cd,dhw->chw", mt, rgb)
        planes = F.pad(planes[None], (0, wp - w, 0, hp - h), mode="replicate")[0]
        sums[0] += block_dct(planes[0]).abs().sum(dim=(0, 1))
        chroma = _box_sum(planes[1:], fx, fy) / (fx * fy)
        sums[1:] += block_dct(chroma).abs().sum(dim=(1, 2))
    luma_blocks = len(images) * (hp // 8) * (wp // 8)
    chroma_blocks = len(images) * (hp // fy // 8) * (wp // fx // 8)
    out = sums.numpy()
    out[0] /= luma_blocks
    out[1:] /= chroma_blocks
    return out


def perception_for(probe: RGBProbe, weights: tuple[float, float, float], subsampling: str) -> Perception:
    """The :class:`~pillow_grace.strategy.Perception` a strategy stores, for these weights and
    this subsampling (which the probe must have measured, see ``as_subsampling``)."""
    stats = plane_statistics(as_subsampling(probe, subsampling), weights)
    return Perception(
        grad_abs_mean=stats["grad_abs_mean"],
        grad_sq_mean=stats["grad_sq_mean"],
        coef_abs_mean=stats["coef_abs_mean"],
    )

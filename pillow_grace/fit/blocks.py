"""Block geometry of the probe and its sums: where :func:`pillow_grace.fit.probe.probe_rgb`
puts each label sample's pixel gradients.

:class:`ProbeGrid` is the block layout of probe images of one size under one
subsampling (MCUs, padding, which MCUs keep their blocks); :class:`ProbeAccumulator`
adds the gradients' block DCTs into the RGB moments and keeps the sampled
blocks for the medians (see :mod:`pillow_grace.fit.probe` for what each is).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pillow_grace.core.roi import mcu_size
from pillow_grace.core.strategy import SUBSAMPLINGS
from pillow_grace.fit.dct import block_dct


def geometry(subsampling: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(MCU width, MCU height) and chroma (horizontal, vertical) subsampling factors, as the
    encoder lays out colour planes (:func:`pillow_grace.core.roi.mcu_size`)."""
    if subsampling not in SUBSAMPLINGS:
        raise ValueError(f"subsampling must be one of {', '.join(SUBSAMPLINGS)}; got {subsampling!r}")
    mw, mh = mcu_size("RGB", subsampling)
    return (mw, mh), (mw // 8, mh // 8)


def padded_size(h: int, w: int, subsampling: str) -> tuple[int, int]:
    (mw, mh), _ = geometry(subsampling)
    return math.ceil(h / mh) * mh, math.ceil(w / mw) * mw


def box_sum(x: torch.Tensor, fx: int, fy: int) -> torch.Tensor:
    if fx == 1 and fy == 1:
        return x
    *lead, h, w = x.shape
    return x.reshape(*lead, h // fy, fy, w // fx, fx).sum(dim=(-3, -1))


@dataclass(frozen=True)
class ProbeGrid:
    """The block geometry of probe images of one size coded with one subsampling."""

    h: int
    w: int
    subsampling: str

    @property
    def mcu(self) -> tuple[int, int]:
        return geometry(self.subsampling)[0]

    @property
    def factors(self) -> tuple[int, int]:
        """(horizontal, vertical) chroma subsampling factors."""
        return geometry(self.subsampling)[1]

    @property
    def subsampled(self) -> bool:
        return self.factors != (1, 1)

    @property
    def padded(self) -> tuple[int, int]:
        """(height, width) edge-padded to whole MCUs, as libjpeg codes them."""
        return padded_size(self.h, self.w, self.subsampling)

    @property
    def mcus(self) -> tuple[int, int]:
        """(rows, columns) of MCUs."""
        (mw, mh), (hp, wp) = self.mcu, self.padded
        return hp // mh, wp // mw

    @property
    def luma_per_image(self) -> int:
        hp, wp = self.padded
        return (hp // 8) * (wp // 8)

    @property
    def chroma_per_image(self) -> int:
        (fx, fy), (hp, wp) = self.factors, self.padded
        return (hp // fy // 8) * (wp // fx // 8)

    def kept_mcus(self, images: int, samples: int, max_stored_values: int) -> int:
        """How many MCUs per image keep their gradient blocks, so that at most
        ``max_stored_values`` values are stored."""
        blocks = self.luma_per_image + (self.chroma_per_image if self.subsampled else 0)
        total_values = images * samples * 3 * 64 * blocks
        fraction = min(1.0, max_stored_values / max(total_values, 1))
        hm, wm = self.mcus
        return hm * wm if fraction >= 1.0 else max(1, round(fraction * hm * wm))

    def masks(self, rng: np.random.Generator, n: int, keep: int) -> list[torch.Tensor]:
        """For each of ``n`` images, which MCUs keep their blocks (the same for every label sample)."""
        hm, wm = self.mcus
        out = []
        for _ in range(n):
            chosen = np.zeros(hm * wm, dtype=bool)
            if keep < hm * wm:
                chosen[rng.choice(hm * wm, size=keep, replace=False)] = True
            else:
                chosen[:] = True
            out.append(torch.from_numpy(chosen.reshape(hm, wm)))
        return out

    def luma_mask(self, mcu_mask: torch.Tensor) -> torch.Tensor:
        """An MCU mask as a mask of the 8x8 luma blocks."""
        mw, mh = self.mcu
        return mcu_mask.repeat_interleave(mh // 8, 0).repeat_interleave(mw // 8, 1)


class ProbeAccumulator:
    """Sums of the probe's RGB statistics over images and label samples, and the stored blocks.

    :meth:`add` takes one label sample's pixel gradients of one batch;
    :meth:`means` turns the sums into the means of an RGBProbe."""

    def __init__(self, grid: ProbeGrid) -> None:
        self.grid = grid
        self.moment_luma = torch.zeros(3, 3, 64, dtype=torch.float64)
        self.moment_chroma = torch.zeros(3, 3, 64, dtype=torch.float64)
        self.abs_rgb = torch.zeros(3, 64, dtype=torch.float64)
        self.luma = _Stored()
        self.chroma = _Stored()

    def add(self, g: torch.Tensor, ws: torch.Tensor, masks: Sequence[torch.Tensor], first: int) -> None:
        """Add pixel gradients ``g`` (n x 3 x h x w, d loss / d sample in 0..255 units) of images
        ``first`` .. ``first + n - 1`` weighted ``ws``; ``masks`` pick the MCUs whose blocks are stored."""
        grid = self.grid
        hp, wp = grid.padded
        if (hp, wp) != (grid.h, grid.w):
            g = F.pad(g, (0, wp - grid.w, 0, hp - grid.h))  # zero on the padding: the model never sees it
        coef = block_dct(g)  # (n, 3, Hb, Wb, 64)
        _accumulate(coef, ws, self.moment_luma, self.abs_rgb)
        self.luma.add(coef, ws, [grid.luma_mask(m) for m in masks], first)
        if grid.subsampled:
            coef_c = block_dct(box_sum(g, *grid.factors))
            _accumulate(coef_c, ws, self.moment_chroma, None)
            self.chroma.add(coef_c, ws, masks, first)

    def means(self, images: Sequence[np.ndarray], keep: int) -> dict[str, Any]:
        """The fields of :class:`~pillow_grace.fit.probe.RGBProbe` measured on ``images``: means per
        coded block, the stored blocks, their weights and positions."""
        grid, n_img = self.grid, len(images)
        luma_blocks, chroma_blocks = n_img * grid.luma_per_image, n_img * grid.chroma_per_image
        luma = self.luma.arrays()
        chroma = self.chroma.arrays() if grid.subsampled else luma
        moment_chroma = (self.moment_chroma / chroma_blocks if grid.subsampled
                         else self.moment_luma / luma_blocks)
        hm, wm = grid.mcus
        return dict(
            subsampling=grid.subsampling,
            images=list(images),
            luma_blocks=luma_blocks,
            chroma_blocks=chroma_blocks,
            moment_luma=(self.moment_luma / luma_blocks).numpy(),
            moment_chroma=moment_chroma.numpy(),
            grad_abs_rgb=(self.abs_rgb / luma_blocks).numpy(),
            stored_luma=luma[0],
            stored_luma_w=luma[1],
            stored_chroma=chroma[0],
            stored_chroma_w=chroma[1],
            stored_fraction=keep / (hm * wm),
            stored_luma_at=luma[2],
            stored_chroma_at=chroma[2],
        )


@dataclass
class _Stored:
    """Gradient blocks kept for the medians and E|g|, with their weights and positions."""

    blocks: list[torch.Tensor] = field(default_factory=list)
    weights: list[torch.Tensor] = field(default_factory=list)
    at: list[np.ndarray] = field(default_factory=list)

    def add(self, coef: torch.Tensor, ws: torch.Tensor, masks: Sequence[torch.Tensor], first: int) -> None:
        for i, mask in enumerate(masks):
            self.blocks.append(coef[i][:, mask].permute(1, 0, 2).float())
            self.weights.append(_filled(int(mask.sum()), float(ws[i])))
            self.at.append(_positions(first + i, mask))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return torch.cat(self.blocks).numpy(), torch.cat(self.weights).numpy(), np.concatenate(self.at)


def _positions(image: int, mask: torch.Tensor) -> np.ndarray:
    """(count, 2) [image, row-major block index] of the blocks ``mask`` keeps, in the
    order ``tensor[..., mask]`` lists them."""
    where = np.flatnonzero(mask.numpy().reshape(-1))
    return np.stack([np.full(len(where), image, dtype=np.int64), where.astype(np.int64)], axis=1)


def _filled(n: int, value: float) -> torch.Tensor:
    return torch.full((n,), value, dtype=torch.float64)


def _accumulate(coef: torch.Tensor, ws: torch.Tensor, moment: torch.Tensor,
                abs_sum: torch.Tensor | None) -> None:
    """Add sample-weighted block sums: moment[c, d, k] += sum w g_c g_d, abs_sum[c, k] += sum w |g_c|.

    Sums over blocks come first (per image), the per-image weights after, so
    no weighted copy of the big coefficient tensor is ever made."""
    n = coef.shape[0]
    flat = coef.reshape(n, 3, -1, 64)
    wv = ws.view(n, 1).double()
    # Six products (the matrix is symmetric): much faster than one einsum on CPU.
    for c in range(3):
        for d in range(c, 3):
            prod = ((flat[:, c] * flat[:, d]).sum(dim=1).double() * wv).sum(dim=0)
            moment[c, d] += prod
            if c != d:
                moment[d, c] += prod
    if abs_sum is not None:
        abs_sum += (flat.abs().sum(dim=2).double() * wv.view(n, 1, 1)).sum(dim=0)



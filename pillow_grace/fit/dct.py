"""The 8x8 block DCT in libjpeg's units, for numpy arrays and torch tensors.

libjpeg's forward DCT of a block of samples ``x - 128`` is (up to its integer
rounding) the orthonormal 2-D DCT-II: ``S = D x D^T`` with the 8x8 matrix
``D[u, i] = c(u) cos((2i + 1) u pi / 16)``, ``c(0) = sqrt(1/8)``,
``c(u > 0) = sqrt(2/8)``. Coefficient ``S[u, v]`` (``u`` the vertical, ``v``
the horizontal frequency) sits at index ``8 u + v`` of a table in natural
order, which is what Pillow's ``qtables`` take. ``tests/fit/test_dct.py``
checks this against real libjpeg through Pillow.

Because ``D`` is orthonormal, the inverse is ``D^T S D`` and the gradient of a
loss w.r.t. the coefficients is the *forward* DCT of its gradient w.r.t. the
samples. The probe uses that to get coefficient gradients without ever
building a coefficient leaf tensor.

Everything is reshape + two matrix products over the whole image (no Python
loop over blocks), so a 1280x720 frame takes milliseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

BLOCK = 8


def dct_basis(n: int = BLOCK) -> np.ndarray:
    """The orthonormal DCT-II matrix ``D`` (rows are frequencies), float64."""
    i = np.arange(n)
    d = np.cos((2 * i[None, :] + 1) * i[:, None] * np.pi / (2 * n)) * np.sqrt(2.0 / n)
    d[0, :] = np.sqrt(1.0 / n)
    return d


_D = dct_basis()


def _check_shape(h: int, w: int) -> None:
    if h % BLOCK or w % BLOCK:
        raise ValueError(f"block DCT needs height and width that are multiples of 8, got {w}x{h}; pad first")


def block_dct_np(x: np.ndarray) -> np.ndarray:
    """(..., H, W) samples -> (..., H/8, W/8, 64) coefficients in natural order."""
    x = np.asarray(x, dtype=np.float64)
    *lead, h, w = x.shape
    _check_shape(h, w)
    b = x.reshape(*lead, h // BLOCK, BLOCK, w // BLOCK, BLOCK)
    # c[..., a, u, b, v] = sum_ij D[u, i] x[..., a, i, b, j] D[v, j]
    c = np.einsum("ui,...aibj,vj->...abuv", _D, b, _D, optimize=True)
    return c.reshape(*lead, h // BLOCK, w // BLOCK, BLOCK * BLOCK)


def block_idct_np(s: np.ndarray) -> np.ndarray:
    """Inverse of :func:`block_dct_np`: (..., Hb, Wb, 64) -> (..., 8 Hb, 8 Wb)."""
    s = np.asarray(s, dtype=np.float64)
    *lead, hb, wb, n = s.shape
    if n != BLOCK * BLOCK:
        raise ValueError(f"expected 64 coefficients per block, got {n}")
    c = s.reshape(*lead, hb, wb, BLOCK, BLOCK)
    x = np.einsum("ui,...abuv,vj->...aibj", _D, c, _D, optimize=True)
    return x.reshape(*lead, hb * BLOCK, wb * BLOCK)


def _kron_t(like: torch.Tensor) -> torch.Tensor:
    """kron(D, D): maps a flattened 8x8 block (row-major) to its 64 coefficients in one product."""
    import torch

    return torch.as_tensor(_KRON, dtype=like.dtype, device=like.device)


_KRON = np.kron(_D, _D)


def block_dct(x: torch.Tensor) -> torch.Tensor:
    """Torch version of :func:`block_dct_np` (differentiable, any float dtype/device).

    One permute and one (blocks x 64) @ (64 x 64) product: a single large GEMM
    is much faster than millions of batched 8x8 products."""
    *lead, h, w = x.shape
    _check_shape(h, w)
    b = x.reshape(*lead, h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(-3, -2)  # (..., Hb, Wb, 8, 8)
    b = b.reshape(*lead, h // BLOCK, w // BLOCK, BLOCK * BLOCK)
    return b @ _kron_t(x).T


def block_idct(s: torch.Tensor) -> torch.Tensor:
    """Torch version of :func:`block_idct_np` (differentiable)."""
    *lead, hb, wb, n = s.shape
    if n != BLOCK * BLOCK:
        raise ValueError(f"expected 64 coefficients per block, got {n}")
    x = (s @ _kron_t(s)).reshape(*lead, hb, wb, BLOCK, BLOCK)
    return x.transpose(-3, -2).reshape(*lead, hb * BLOCK, wb * BLOCK)

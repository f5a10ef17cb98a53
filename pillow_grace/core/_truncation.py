"""The block truncation behind ``roi=`` (:mod:`.roi`): each background block
of a component rebuilt from the coefficients its policy keeps, quantized with
the frame's own table step, in the pixel domain before libjpeg sees it.

Why whole planes: the block DCT is separable, so it runs as two matrix
products over the plane (rows of 8 samples, then columns of 8) that keep
only the rows and columns of the DCT the policy can use; blocks inside the
ROI are computed too and dropped by a mask. Gathering the background blocks
instead costs two reshuffles of the plane, more than the arithmetic saved
(``benchmarks/speed.py --group roi``). The whole-array steps around the
products (splitting and merging the planes, cell means, rounding, masked
writes) use OpenCV's SIMD kernels where cv2 is importable and numpy
otherwise, with the same values.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from pillow_grace.core import _pixels, colour


def _dct_matrix() -> np.ndarray:
    """The orthonormal 8-point DCT-II (JPEG's DCT is its 2-D separable form)."""
    n = np.arange(8)
    d = np.cos((2 * n[None, :] + 1) * n[:, None] * np.pi / 16) * np.sqrt(2 / 8)
    d[0] /= np.sqrt(2)
    return d.astype(np.float32)


_D = _dct_matrix()


def _zigzag_rank() -> np.ndarray:
    """Position in JPEG's zigzag scan of each coefficient, natural (row-major) order."""
    order = sorted(
        ((u, v) for u in range(8) for v in range(8)),
        key=lambda uv: (uv[0] + uv[1], uv[0] if (uv[0] + uv[1]) % 2 else uv[1]),
    )
    rank = np.empty(64, np.int32)
    for i, (u, v) in enumerate(order):
        rank[8 * u + v] = i
    return rank


#: ZIGZAG_RANK[8 u + v]: the zigzag index of coefficient (u, v).
ZIGZAG_RANK = _zigzag_rank()


def truncate_component(
    plane: np.ndarray,
    pixel_mask: np.ndarray,
    groups: list[tuple[np.ndarray, int, int]],
    mcu: tuple[int, int],
    factor: tuple[int, int],
    qtable: Sequence[int],
) -> None:
    """One component (whole MCUs), in place: the background pixels
    (``pixel_mask``) replaced by the truncated reconstructions of their
    blocks, computed at the component's own resolution (``factor`` = its
    subsampling) and written back full-size. ``groups``: (MCU mask,
    coefficients kept in zigzag order, step multiple) per policy, as
    :mod:`.roi` groups them."""
    fx, fy = factor
    th, tw = plane.shape
    samples = _pixels.scratch_floats("roi-samples", (th, tw))
    np.copyto(samples, plane)
    if fx == 1 and fy == 1:
        rec = _reconstruct(samples, groups, (mcu[1] // 8, mcu[0] // 8), qtable)
        _write(rec, plane, pixel_mask)
        return
    # Subsampled: libjpeg averages fy x fx cells; cells of one value average back to that value.
    means = _mean_cells(samples, fy, fx)
    rec = _reconstruct(means, groups, (mcu[1] // 8 // fy, mcu[0] // 8 // fx), qtable)
    _write(expand_cells(_rounded(rec), fy, fx), plane, pixel_mask)


# -- whole-array steps: OpenCV's SIMD kernels where cv2 is importable, else numpy (same values)
def expand_cells(a: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Each element of a uint8 array repeated into an fy x fx cell."""
    cv2 = colour._accelerator()
    if cv2:
        return cv2.resize(a, (a.shape[1] * fx, a.shape[0] * fy), interpolation=cv2.INTER_NEAREST)
    return np.repeat(np.repeat(a, fy, axis=0), fx, axis=1)


def split_planes(pixels: np.ndarray, bands: list[np.ndarray]) -> list[np.ndarray]:
    """The three samples of (h, w, 4) pixels (Pillow's layout) into three (h, w) ``bands``."""
    cv2 = colour._accelerator()
    if cv2:
        cv2.mixChannels([pixels], bands, [0, 0, 1, 1, 2, 2])  # one pass; the padding byte skipped
    else:
        for c in range(3):
            bands[c][...] = pixels[:, :, c]
    return bands


def merge_planes(bands: list[np.ndarray], pixels: np.ndarray) -> np.ndarray:
    """Three (h, w) ``bands`` into (h, w, 4) ``pixels`` (the fourth byte is padding)."""
    cv2 = colour._accelerator()
    if cv2:
        cv2.merge([*bands, bands[0]], dst=pixels)
    else:
        for c in range(3):
            pixels[:, :, c] = bands[c]
    return pixels


def _mean_cells(samples: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """The mean of each fy x fx cell of float samples (exact: sums of 8-bit values)."""
    cv2 = colour._accelerator()
    h, w = samples.shape
    if cv2:
        return cv2.resize(samples, (w // fx, h // fy), interpolation=cv2.INTER_AREA)
    rows = samples[0::fy] + samples[1::fy] if fy == 2 else samples
    cells = rows[:, 0::fx] + rows[:, 1::fx] if fx == 2 else rows
    return cells * np.float32(1 / (fx * fy))


def _rounded(rec: np.ndarray) -> np.ndarray:
    """Float samples -> uint8, rounded half to even and clipped to 0..255."""
    cv2 = colour._accelerator()
    if cv2:
        return cv2.add(rec, 0.0, dtype=cv2.CV_8U)
    return np.clip(np.rint(rec), 0, 255).astype(np.uint8)


def _write(values: np.ndarray, plane: np.ndarray, mask: np.ndarray) -> None:
    """``plane[mask] = values[mask]`` for float (rounded as :func:`_rounded`) or uint8 values."""
    cv2 = colour._accelerator()
    if cv2:
        if values.dtype == np.uint8:
            cv2.copyTo(values, mask, plane)
        else:
            cv2.add(values, 0.0, dst=plane, mask=mask, dtype=cv2.CV_8U)
        return
    np.copyto(plane, values if values.dtype == np.uint8 else _rounded(values), where=mask.astype(bool))


def _reconstruct(
    samples: np.ndarray,
    groups: list[tuple[np.ndarray, int, int]],
    blocks_per_mcu: tuple[int, int],
    qtable: Sequence[int],
) -> np.ndarray:
    """Samples (rows, cols multiples of 8, float32) -> every block rebuilt from
    the coefficients its group keeps, each quantized with its multiple of the
    table step (whole multiples, so libjpeg's quantizer lands on them). The
    result includes JPEG's level shift (samples, not centred values)."""
    h, w = samples.shape
    ku, kv = _extent(max(keep for _, keep, _ in groups))
    # Forward: rows of 8 samples -> kv horizontal frequencies; then columns of 8 -> ku vertical.
    # Intermediates live in per-thread buffers: fresh megabyte arrays per frame cost more in
    # page faults than the products themselves.
    rows = _row_products(
        samples.reshape(-1, 8), _DT[:, :kv], _pixels.scratch_floats("roi-rows", (h * w // 8, kv))
    )
    coef = np.matmul(
        _D[:ku],
        rows.reshape(h // 8, 8, -1),
        out=_pixels.scratch_floats("roi-coef", (h // 8, ku, w // 8 * kv)),
    )
    coef = coef.reshape(h // 8, ku, w // 8, kv)
    coef[:, 0, :, 0] -= 1024.0  # JPEG's level shift by 128 touches only the DC: 128 * 64 / 8
    by, bx = blocks_per_mcu
    table = np.asarray(qtable, np.float32).reshape(8, 8)[:ku, :kv]
    quantized = None
    for sel, keep, mult in groups:
        # The steps laid out as one row of blocks: the products below then run contiguously.
        step = np.broadcast_to((table * mult)[:, None, :], coef.shape[1:])
        q = np.rint(coef / step)
        q *= step * _kept(keep, ku, kv)[:, None, :]
        if quantized is None:
            quantized = q
        else:
            blocks = np.repeat(np.repeat(sel, by, axis=0), bx, axis=1)
            np.copyto(quantized, q, where=blocks[:, None, :, None])
    assert quantized is not None
    quantized[:, 0, :, 0] += 1024.0
    cols = np.matmul(
        _DT[:, :ku],
        quantized.reshape(h // 8, ku, -1),
        out=_pixels.scratch_floats("roi-cols", (h // 8, 8, w // 8 * kv)),
    )
    rec = _row_products(cols.reshape(-1, kv), _D[:kv], _pixels.scratch_floats("roi-rec", (h * w // 8, 8)))
    return rec.reshape(h, w)


#: Multiply-adds (m n k) below which OpenBLAS runs a product on one thread.
_ONE_THREAD_WORK = 1 << 18


def _row_products(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a @ b`` into ``out`` for a tall, skinny ``a`` (one row per 8 samples),
    in slices small enough that OpenBLAS keeps each product on one thread.

    Why slices: for a product this thin, waking BLAS threads costs more than
    they save, and on a busy machine (a camera's other work, a second stream)
    a waiting thread turned a 0.2 ms product into 16 ms (measured here on two
    cores). Slices also stay in cache; the per-slice call costs microseconds."""
    step = max(1, _ONE_THREAD_WORK // (a.shape[1] * b.shape[1]))
    for i in range(0, a.shape[0], step):
        np.matmul(a[i : i + step], b, out=out[i : i + step])
    return out


#: The DCT matrix transposed, laid out contiguously.
_DT = np.ascontiguousarray(_D.T)
#: Natural-order index of each zigzag position.
_ZIGZAG = np.argsort(ZIGZAG_RANK)


@functools.lru_cache(maxsize=64)
def _extent(keep: int) -> tuple[int, int]:
    """(vertical, horizontal) frequencies spanned by the first ``keep`` zigzag coefficients."""
    kept = _ZIGZAG[:keep]
    return int(kept.max(initial=0) // 8 + 1) if keep else 1, int((kept % 8).max(initial=0) + 1) if keep else 1


@functools.lru_cache(maxsize=256)
def _kept(keep: int, ku: int, kv: int) -> np.ndarray:
    """1 where the first ``keep`` zigzag coefficients lie in the (ku, kv) corner, else 0."""
    m = np.zeros((8, 8), np.float32)
    m.flat[_ZIGZAG[:keep]] = 1.0
    return m[:ku, :kv]

"""The receiving end of an ROI stream: background blocks completed from earlier frames.

On a fixed camera most of what ROI coding coarsens is road, wall and sky that
looks the same in every frame. The sender codes those blocks with a few low
frequencies (``background=``); a receiver that kept the last frames already
has their detail. :class:`BackgroundFill` decodes each file and, in every
block the file's ROI map (:mod:`.roimap`, written with ``roi_map=True``)
marks as background, adds the detail the reference frame has beyond the
coefficients the block kept: the low frequencies are the current frame's,
the high ones the last frame that sent that block in full.

Why a check before filling: an object that left the scene, a light switched
on, a camera that moved would otherwise leave the old detail standing (a
ghost). A block is filled only where its kept coefficients, in luma, agree
with the reference's to within ``tolerance`` quantization steps of the file's
own table; elsewhere the decoded block is shown as sent. The reference keeps
every block as last sent in full (blocks inside the ROI update it; filled
ones do not); frames without a map (the sender's refreshes, plain JPEGs)
replace it.

Limits, measured or reasoned, not hidden: the fill works on RGB blocks of
8x8 pixels, the luma geometry, so for 4:2:0 and 4:2:2 files the chroma
detail it adds is cut at the luma's block size rather than the chroma's;
and the change check uses BT.601 luma, which is the file's own Y only for
BT.601 weights (every shipped strategy has them).

Numpy and Pillow only: it runs on the server, but needs no torch.
"""

from __future__ import annotations

import io
import numbers
import os
from typing import IO

import numpy as np
from PIL import Image

from pillow_grace.core import roimap
from pillow_grace.core._truncation import ZIGZAG_RANK, _dct_matrix, _extent
from pillow_grace.core.errors import GraceFileError

_D = _dct_matrix()
_DT = np.ascontiguousarray(_D.T)
#: The default ``tolerance``, chosen on vtest.avi frames 100..218, outside the stream pages'
#: frames (``benchmarks/roi_stream.py --first 100 --frames 60 --step 2 --fill-tolerance T``,
#: docs/roi.md): 1 step filled too few blocks. Rerun since the reference keeps each block as
#: last sent in full, 3 steps did better than 2 on those frames; the pages were played at 2,
#: and the default waits for a retune on more than one camera.
DEFAULT_TOLERANCE = 2.0
#: BT.601 luma of RGB: the change check looks at luma only.
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def check_tolerance(tolerance: object) -> float:
    """``tolerance`` as a float: a finite number of quantization steps, at least 0."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) \
            or not 0 <= float(tolerance) < float("inf"):
        raise ValueError(f"tolerance must be a finite number >= 0 (in quantization steps), got {tolerance!r}")
    return float(tolerance)


class BackgroundFill:
    """Decode the frames of one stream in order, completing background blocks
    from earlier frames (see the module docstring).

    ``tolerance``: how far, in steps of the file's luma table, each kept
    coefficient may be from the reference's for the block to be filled;
    0 fills only blocks whose low frequencies are unchanged, larger values
    fill more and risk more ghosting. One instance per stream (it holds the
    reference frame); not thread-safe."""

    def __init__(self, tolerance: float = DEFAULT_TOLERANCE) -> None:
        self.tolerance: float = check_tolerance(tolerance)
        self._reference: np.ndarray | None = None
        self.filled_share: float = 0.0
        """Share of the last frame's background blocks that were filled (0 without a map)."""
        self.mapped: bool = False
        """Whether the last frame carried an ROI map."""

    def reset(self) -> None:
        """Forget the reference (a new scene, a new camera): the next frames are shown as sent
        until one without a map arrives."""
        self._reference = None
        self.filled_share = 0.0
        self.mapped = False

    def decode(self, fp: bytes | IO[bytes] | str | os.PathLike[str]) -> Image.Image:
        """The next frame of the stream as RGB: a GRACE or plain JPEG (bytes, a file
        object or a path), its background blocks completed where they can be."""
        with Image.open(io.BytesIO(fp) if isinstance(fp, (bytes, bytearray, memoryview)) else fp) as im:
            block_map = roimap.find(getattr(im, "applist", []))
            tables = getattr(im, "quantization", None) or {}
            rgb = np.asarray(im.convert("RGB"))
        self.mapped = block_map is not None
        if block_map is None:
            self._reference = rgb.astype(np.float32)
            self.filled_share = 0.0
            return Image.fromarray(rgb)
        if 0 not in tables:
            raise GraceFileError("a file with an ROI map has no luma quantization table")
        step = np.asarray(tables[0], np.float32).reshape(8, 8)
        return Image.fromarray(self._fill(rgb, block_map, step))

    def _fill(self, rgb: np.ndarray, block_map: roimap.RoiMap, step: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        mw, mh = block_map.mcu
        rows, cols = block_map.codes.shape
        if (cols, rows) != (-(-w // mw), -(-h // mh)):
            raise GraceFileError(f"the ROI map covers {cols}x{rows} MCUs of {mw}x{mh} pixels, "
                                 f"but the image is {w}x{h}")
        ref = self._reference
        if ref is None or ref.shape != rgb.shape:
            self._reference = None  # a map with nothing to fill from: shown as sent
            self.filled_share = 0.0
            return rgb
        # One code per 8x8 block over the whole blocks of the frame.
        codes = np.repeat(np.repeat(block_map.codes, mh // 8, axis=0), mw // 8, axis=1)[: h // 8, : w // 8]
        bh, bw = codes.shape
        now = rgb[: bh * 8, : bw * 8].astype(np.float32)
        old = ref[: bh * 8, : bw * 8]  # a view: the reference is updated in place below
        out = now.copy()
        filled = np.zeros(codes.shape, bool)
        luma_now, luma_old = now @ _LUMA, old @ _LUMA  # the change check looks at luma only
        for g, (keep, mult) in enumerate(block_map.groups, 1):
            mine = codes == g
            if keep >= 64 or not mine.any():
                continue  # every coefficient kept (coarse:S): no detail left out to add
            ku, kv = _extent(keep)
            kept = (ZIGZAG_RANK < keep).reshape(8, 8)[:ku, :kv][None, :, None, :]
            # The change check: each kept luma coefficient within tolerance steps of the reference's.
            off = np.abs(_coefficients(luma_now, ku, kv) - _coefficients(luma_old, ku, kv))
            off /= (step * mult)[:ku, :kv][None, :, None, :]
            off *= kept
            fill = mine & (off.max(axis=(1, 3)) <= self.tolerance)
            if not fill.any():
                continue
            filled |= fill
            pixels = np.repeat(np.repeat(fill, 8, axis=0), 8, axis=1)
            for c in range(3):
                # The reference's detail above the kept coefficients, on the current block.
                low = _from_coefficients(_coefficients(old[..., c], ku, kv) * kept)
                np.copyto(out[..., c], now[..., c] + (old[..., c] - low), where=pixels)
        np.clip(out, 0, 255, out=out)
        # The reference holds each block as last sent in full. A filled block is not written
        # back: its detail above the kept coefficients would then carry this frame's decoding
        # error on top of the reference's, and on a still scene that error adds up frame
        # after frame (tests/core/test_fill.py, the still-scene test).
        np.copyto(old, now, where=np.repeat(np.repeat(codes == 0, 8, 0), 8, 1)[..., None])
        background = int((codes > 0).sum())
        self.filled_share = int(filled.sum()) / background if background else 0.0
        result = rgb.copy()
        result[: bh * 8, : bw * 8] = np.rint(out)
        return result


def _coefficients(plane: np.ndarray, ku: int, kv: int) -> np.ndarray:
    """(8 bh, 8 bw) samples -> (bh, ku, bw, kv): the block DCT's first ku x kv
    coefficients, as two products over the whole plane (separable DCT)."""
    h, w = plane.shape
    rows = np.ascontiguousarray(plane).reshape(-1, 8) @ _DT[:, :kv]  # (h * bw, kv)
    return (_D[:ku] @ rows.reshape(h // 8, 8, -1)).reshape(h // 8, ku, w // 8, kv)


def _from_coefficients(coef: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_coefficients` (the coefficients left out taken as zero)."""
    bh, ku, bw, kv = coef.shape
    cols = _D[:ku].T @ coef.reshape(bh, ku, bw * kv)  # (bh, 8, bw * kv)
    return (cols.reshape(-1, kv) @ _D[:kv]).reshape(bh * 8, bw * 8)


__all__ = ["DEFAULT_TOLERANCE", "BackgroundFill", "check_tolerance"]

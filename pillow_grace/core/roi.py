"""Region-of-interest coding: blocks outside the ROI are coded more coarsely
within the same baseline JPEG, the same tables and the same decoder.

Baseline JPEG has one quantization table per component for the whole frame;
the one freedom left per 8x8 block is *which coefficients it keeps*. This
module spends that freedom in the pixel domain, before libjpeg sees the
planes: each background block is replaced by its reconstruction from the
coefficients the ``background`` policy keeps, each already quantized with the
frame's own table step. libjpeg's DCT of that block then gives back (to
within the rounding of the pixels) exactly those quantized values, so the
dropped coefficients become zeros that cost a few bits of end-of-block and
the kept ones cost what they cost anyway. The file is plain baseline JPEG;
nothing new is needed to read it.

Why pixel-domain rather than a coefficient writer (``jpeglib``): it needs
nothing beyond numpy and the libjpeg that Pillow already carries, it keeps
the encoder's single libjpeg pass (Huffman optimisation, progressive,
metadata all unchanged), and the measured leak of the pixel rounding (the
share of dropped coefficients that libjpeg still codes as non-zero, see
``docs/roi.md``) is small enough at the qualities a camera uses.

Geometry. Decisions are per MCU (16x16 luma pixels in 4:2:0, 16x8 in
4:2:2, 8x8 in 4:4:4 and grey), the unit in which a block of every
component covers the same pixels. Subsampled chroma is averaged here as
libjpeg's downsampler does, truncated at its own resolution, and written
back as constant 2x2 (2x1) cells, which libjpeg's integer averaging maps
back to exactly those values. An MCU cut by the right or bottom edge is
always kept: libjpeg pads it from the edge pixels, so the pixel-domain
truncation would not be exact there.

Exactness. No ROI, or an ROI that covers every MCU, leaves the planes
untouched: the file is byte for byte the one written without ``roi``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from pillow_grace.core import _pixels, colour
from pillow_grace.core._truncation import (
    ZIGZAG_RANK,
    expand_cells,
    merge_planes,
    split_planes,
    truncate_component,
)
from pillow_grace.core.errors import EncodeOptionError
from pillow_grace.core.roimap import RoiMap, from_groups
from pillow_grace.core.strategy import SUBSAMPLING_FACTORS


# -- the background policy ----------------------------------------------------
@dataclass(frozen=True)
class Background:
    """How a block outside the ROI is coded.

    ``keep``: coefficients kept, in zigzag order (1 = DC only, 64 = all).
    ``step``: multiplier of the table's step for the kept coefficients
    (1 = the frame's own step). A block of weight ``w`` in (0, 1) keeps
    ``keep + round(w (64 - keep))`` coefficients at ``step ** (1 - w)``."""

    keep: int
    step: float

    def __post_init__(self) -> None:
        # Checked here too, not only in parse_background: a Background built directly is what
        # the ROI map records (1..64 each), and a step past 64 is past any table's use.
        if isinstance(self.keep, bool) or not isinstance(self.keep, numbers.Integral) \
                or not 1 <= self.keep <= 64:
            raise EncodeOptionError(f"Background.keep must be an integer in 1..64, got {self.keep!r}")
        if isinstance(self.step, bool) or not isinstance(self.step, numbers.Real) \
                or not 1 <= float(self.step) <= 64:
            raise EncodeOptionError(f"Background.step must be a number in 1..64, got {self.step!r}")

    @property
    def name(self) -> str:
        if self.step == 1:
            return "dc" if self.keep == 1 else f"low:{self.keep - 1}"
        return f"coarse:{self.step:g}" if self.keep == 64 else f"low:{self.keep - 1}/{self.step:g}"


#: The default ``background=`` policy, chosen by the stream benchmark
#: (docs/roi.md): DC plus the first five AC coefficients in zigzag order.
DEFAULT_BACKGROUND = "low:5"

_BACKGROUND_HELP = (
    "'dc' (DC only), 'low' or 'low:K' (DC and the first K AC coefficients in zigzag order, K in 0..63), "
    "'coarse' or 'coarse:S' (every coefficient at S times the table's step, S an integer in 2..64)"
)


def parse_background(value: Any) -> Background:
    """Check the ``background=`` option and return its policy."""
    if value is None:
        value = DEFAULT_BACKGROUND
    if isinstance(value, Background):
        return value
    if not isinstance(value, str):
        raise EncodeOptionError(f"background must be one of {_BACKGROUND_HELP}; got {value!r}")
    kind, _, arg = value.partition(":")
    try:
        if kind == "dc" and not arg:
            return Background(1, 1.0)
        if kind == "low":
            k = int(arg) if arg else 5
            if 0 <= k <= 63:
                return Background(k + 1, 1.0)
        if kind == "coarse":
            s = int(arg) if arg else 4
            if 2 <= s <= 64:
                return Background(64, float(s))
    except ValueError:
        pass
    raise EncodeOptionError(f"background must be one of {_BACKGROUND_HELP}; got {value!r}")


# -- the ROI ------------------------------------------------------------------
class Roi:
    """A checked ``roi=`` value: a boolean or weight map (image-sized, or one
    value per 8x8 or 16x16 block), or boxes ``(x0, y0, x1, y1)`` in pixels
    (x1, y1 exclusive). Weights are in [0, 1]: 1 codes a block as without ROI,
    0 with the background policy. Compared by identity (it holds an array)."""

    __slots__ = ("boxes", "map")

    def __init__(self, value: Any) -> None:
        self.map: np.ndarray | None = None
        self.boxes: tuple[tuple[int, int, int, int], ...] | None = None
        if isinstance(value, Roi):
            self.map, self.boxes = value.map, value.boxes
        elif isinstance(value, np.ndarray):
            self.map = _check_map(value)
        elif isinstance(value, Image.Image):
            self.map = _check_map(np.asarray(value.convert("L")) > 0)
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            self.boxes = tuple(_check_box(b) for b in value)
        else:
            raise EncodeOptionError(
                "roi must be a boolean or weight map (numpy array: image-sized, or one value per 8x8 or "
                "16x16 block), a mode-L/1 mask image, or a list of boxes (x0, y0, x1, y1); "
                f"got {type(value).__name__}"
            )

    def mcu_weights(self, width: int, height: int, mcu: tuple[int, int]) -> np.ndarray:
        """One weight per MCU (``mcu`` = (width, height) in pixels): the largest
        weight of the pixels or blocks it covers; MCUs cut by the edge get 1."""
        mw, mh = mcu
        cols, rows = -(-width // mw), -(-height // mh)
        if self.boxes is not None:
            w = np.zeros((rows, cols), np.float32)
            for x0, y0, x1, y1 in self.boxes:
                x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
                if x1 > x0 and y1 > y0:
                    w[y0 // mh : -(-y1 // mh), x0 // mw : -(-x1 // mw)] = 1.0
        else:
            assert self.map is not None
            m, cell = _cells(self.map, width, height)
            w = _pool(m, mh // cell, mw // cell, rows, cols).astype(np.float32)
        if width % mw:
            w[:, -1] = 1.0
        if height % mh:
            w[-1, :] = 1.0
        return w


def _check_map(m: np.ndarray) -> np.ndarray:
    if m.ndim != 2 or m.size == 0:
        raise EncodeOptionError(f"roi map must be 2-D (rows, columns), got shape {m.shape}")
    if m.dtype == bool:
        return m.astype(np.float32)
    if not np.issubdtype(m.dtype, np.number):
        raise EncodeOptionError(f"roi map must be boolean or numbers in [0, 1], got dtype {m.dtype}")
    f = m.astype(np.float32)
    if not (np.isfinite(f).all() and f.min() >= 0 and f.max() <= 1):
        raise EncodeOptionError("roi weights must be finite and in [0, 1] (1 = coded as without roi)")
    return f


def _check_box(box: Any) -> tuple[int, int, int, int]:
    ok = (
        isinstance(box, (Sequence, np.ndarray))
        and len(box) == 4
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in box)
    )
    if not ok:
        raise EncodeOptionError(f"each roi box must be (x0, y0, x1, y1) in pixels, got {box!r}")
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 < x0 or y1 < y0:
        raise EncodeOptionError(f"roi box {box!r} has x1 < x0 or y1 < y0; boxes are (x0, y0, x1, y1)")
    return math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)


def _cells(m: np.ndarray, width: int, height: int) -> tuple[np.ndarray, int]:
    """The map and the side of its cells in pixels: 1 (image-sized) or 8 (per
    8x8 block; a per-16x16 map is expanded to 8x8 cells)."""
    h, w = m.shape
    if (h, w) == (height, width):
        return m, 1
    rows8, cols8 = -(-height // 8), -(-width // 8)
    if (h, w) == (rows8, cols8):
        return m, 8
    if (h, w) == (-(-height // 16), -(-width // 16)):
        return np.repeat(np.repeat(m, 2, axis=0), 2, axis=1)[:rows8, :cols8], 8
    raise EncodeOptionError(
        f"roi map of shape {m.shape} fits neither the image ({height}, {width}) nor its 8x8 blocks "
        f"({rows8}, {cols8}) nor its 16x16 blocks ({-(-height // 16)}, {-(-width // 16)})"
    )


def _pool(m: np.ndarray, fy: int, fx: int, rows: int, cols: int) -> np.ndarray:
    """Max over fy x fx cells into a (rows, cols) grid (the last row/column may be partial)."""
    h, w = m.shape
    if (h, w) != (rows * fy, cols * fx):
        padded = np.zeros((rows * fy, cols * fx), m.dtype)
        padded[:h, :w] = m
        m = padded
    return m.reshape(rows, fy, cols, fx).max(axis=(1, 3))


def mcu_size(mode: str, subsampling: str) -> tuple[int, int]:
    """(width, height) of an MCU in pixels for planes of ``mode``."""
    if mode == "L":
        return 8, 8
    fx, fy = SUBSAMPLING_FACTORS[subsampling]
    return 8 * fx, 8 * fy


# -- the transform ------------------------------------------------------------
def apply(
    planes: Image.Image,
    roi: Roi | None,
    background: Background | None,
    qtables: Sequence[Sequence[int]],
    subsampling: str,
) -> tuple[Image.Image, RoiMap | None]:
    """The planes to hand to libjpeg and the map of what was coarsened:
    ``(planes, None)`` without an ROI or where the ROI covers every MCU, else
    an image (YCbCr or L) whose background blocks are their reconstructions
    under ``background``, and their :class:`.roimap.RoiMap`. That image may
    be a per-thread buffer that the next call in this thread overwrites (the
    codec hands it to libjpeg at once); ``planes`` is never written.

    ``planes`` is what the codec gives libjpeg: YCbCr, L, or RGB for BT.601
    weights (converted here exactly as libjpeg would, see :mod:`.colour`)."""
    if roi is None:
        return planes, None
    width, height = planes.size
    mode = "L" if planes.mode == "L" else "YCbCr"
    mcu = mcu_size(mode, subsampling)
    weights = roi.mcu_weights(width, height, mcu)
    if weights.min() >= 1:
        return planes, None
    policy = background or parse_background(None)
    mw, mh = mcu
    whole = weights[: height // mh, : width // mw]  # MCUs cut by the edge are kept (weight 1)
    th, tw = whole.shape[0] * mh, whole.shape[1] * mw
    groups = _groups(whole, policy)
    if not groups:
        return planes, None
    block_map = from_groups(mcu, weights.shape, groups)
    # Which pixels take the reconstruction: the background MCUs, at full resolution.
    outside = np.zeros(whole.shape, np.uint8)
    for sel, _, _ in groups:
        outside[sel] = 1
    pixel_mask = expand_cells(outside, mh, mw)
    if mode == "L":
        band = np.array(planes)
        truncate_component(band[:th, :tw], pixel_mask, groups, mcu, (1, 1), qtables[0])
        return Image.fromarray(band), block_map
    if planes.mode == "RGB":
        planes = colour.rgb_to_planes(planes, colour.BT601, scratch=True)
    pixels = _pixels.borrowed_pixels(planes)
    if pixels is None:
        pixels = _pixels.copy_pixels(planes, _pixels.new_pixels(width, height))
    bands = split_planes(pixels, [_pixels.scratch_plane(width, height, f"roi-{c}") for c in range(3)])
    fx, fy = SUBSAMPLING_FACTORS[subsampling]
    for c in range(3):
        table = qtables[min(c, len(qtables) - 1)]
        truncate_component(bands[c][:th, :tw], pixel_mask, groups, mcu, (1, 1) if c == 0 else (fx, fy), table)
    merge_planes(bands, _pixels.scratch_pixels(width, height, key="roi"))
    return _pixels.scratch_image("YCbCr", width, height, key="roi"), block_map


def _groups(weights: np.ndarray, policy: Background) -> list[tuple[np.ndarray, int, int]]:
    """The background MCUs grouped by what they keep: (mask, coefficients kept,
    step multiple); one group when the ROI is boolean."""
    out: dict[tuple[int, int], np.ndarray] = {}
    for w in np.unique(weights[weights < 1]):
        keep = policy.keep + round(float(w) * (64 - policy.keep))
        mult = max(1, round(policy.step ** (1.0 - float(w))))
        if keep >= 64 and mult == 1:
            continue  # coded as without ROI
        sel = weights == w
        key = (keep, mult)
        out[key] = out[key] | sel if key in out else sel
    return [(sel, keep, mult) for (keep, mult), sel in out.items()]


__all__ = ["DEFAULT_BACKGROUND", "ZIGZAG_RANK", "Background", "Roi", "apply", "mcu_size", "parse_background"]

"""Baseline JPEGs for the bench: written by libjpeg-turbo through Pillow as
the core writes GRACE files, and the tables of the ``jpeg-zeroed`` diagnostic.

The codecs of :mod:`.codecs` that send a plain JPEG (``jpeg-420``,
``jpeg-444``, the smart baselines, ``jpeg-zeroed``) all write through
:func:`write_jpeg`, so they share the core's Huffman-optimisation buffer rule
and record the same encoder facts. :func:`invisible_bins` is the one home of
the cutoff rule of ``jpeg-zeroed`` (which DCT frequencies a model's resize
cannot see).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
from PIL import Image, JpegImagePlugin, features

from pillow_grace.core.options import PIL_SUBSAMPLING
from pillow_grace.core.plan import whole_file_buffer
from pillow_grace.core.tables import jpeg_reference_tables

#: (vertical, horizontal) factors by which a model's resize shrinks a frame of a given (width, height).
ResizeFactors = Callable[[tuple[int, int]], tuple[Fraction, Fraction]]


def invisible_bins(factor_y: float | Fraction, factor_x: float | Fraction | None = None) -> np.ndarray:
    """The 8x8 DCT bins a model cannot see after shrinking the frame by ``factor_y`` x ``factor_x``.

    Bin (u, v) (u the vertical, v the horizontal frequency index, 0..7) of an
    8x8 block DCT is a cosine of u/16 cycles/pixel vertically and v/16
    horizontally. After a downscale by f, the model's Nyquist frequency is
    1/(2f) cycles/pixel of the frame, so a bin is invisible when u/16 > 1/(2 f_y)
    or v/16 > 1/(2 f_x), i.e. u * f_y > 8 or v * f_x > 8 (separable basis: one
    axis above Nyquist is enough). This is the ideal low-pass view of a resize;
    the bilinear resizes of real pipelines alias rather than cut cleanly.

    f = 4: every bin with u >= 3 or v >= 3 (8 / 4 = 2); f <= 1: none. Returns
    a boolean array indexed [u, v], True where invisible; ``factor_x``
    defaults to ``factor_y``. This is the one home of the cutoff rule
    (the ``jpeg-zeroed`` baseline)."""
    fy = Fraction(factor_y).limit_denominator(1 << 20)
    fx = fy if factor_x is None else Fraction(factor_x).limit_denominator(1 << 20)
    idx = np.arange(8)
    rows = np.array([u * fy > 8 for u in idx])
    cols = np.array([v * fx > 8 for v in idx])
    return rows[:, None] | cols[None, :]



def zeroed_tables(quality: int, invisible: np.ndarray) -> np.ndarray:
    """libjpeg's tables at ``quality`` (2 x 64, natural order: luma, chroma), ``invisible`` bins at 255."""
    tables = jpeg_reference_tables(quality)[:2].astype(np.int64)
    tables[:, np.asarray(invisible, dtype=bool).reshape(-1)] = 255
    return tables



def write_jpeg(
    image: Image.Image, quality: int, subsampling: str, qtables: np.ndarray | None = None
) -> bytes:
    """Pillow's libjpeg-turbo encoder with optimized Huffman tables (``qtables``: natural order, unscaled).

    The one reference JPEG writer: the bench's baselines and the fit's validation both
    measure standard JPEG through it."""
    buf = io.BytesIO()
    params: dict[str, Any] = {"quality": quality, "optimize": True,
                              "subsampling": PIL_SUBSAMPLING[subsampling]}
    if qtables is not None:
        # quality=-1 with qtables: libjpeg stores the tables unscaled (as the core does).
        params.update(quality=-1, qtables=[[int(v) for v in t] for t in qtables])
    # Huffman optimisation needs the whole file in Pillow's buffer: the core's sizing rule.
    with whole_file_buffer(image, subsampling):
        image.save(buf, "JPEG", **params)
    return buf.getvalue()



def libjpeg_facts(subsampling: str) -> dict[str, Any]:
    """What a result records about a JPEG written by :func:`write_jpeg`."""
    return {
        "encoder": f"libjpeg-turbo {features.version('libjpeg_turbo')}",
        "subsampling": subsampling,
        "optimize": True,
    }



def jpeg_subsampling(data: bytes) -> str:
    """The chroma subsampling a JPEG file actually uses (for encoders that choose it)."""
    with Image.open(io.BytesIO(data)) as im:
        code = JpegImagePlugin.get_sampling(im)
    return next((name for name, pil in PIL_SUBSAMPLING.items() if pil == code), "other")

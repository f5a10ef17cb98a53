"""G-YUV: the colour space of a GRACE file (paper §4.4, Eq. 1, Theorem 2).

With weights (Wr, Wg, Wb), Wr + Wg + Wb = 1, on 8-bit samples:

    Y  = Wr R + Wg G + Wb B
    Cb = 128 + (B - Y) / (2 (1 - Wb))
    Cr = 128 + (R - Y) / (2 (1 - Wr))

Every plane stays within 0..255 for any positive weights, so it is stored in
an ordinary JFIF file. BT.601 (0.299, 0.587, 0.114) gives JPEG's own YCbCr,
which is why any decoder reads a GRACE file, with slightly shifted colours.

The matrices here are the single definition used by every adapter: the
Pillow path applies them with Pillow's C matrix conversion, the OpenCV
adapter with ``cv2.transform``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

BT601 = (0.299, 0.587, 0.114)

# Images smaller than this are converted in one call; larger ones are split
# into horizontal strips converted on several threads (Pillow releases the GIL
# in its matrix conversion), which halves the colour step on two cores.
_PARALLEL_MIN_PIXELS = 1 << 19
_pool: ThreadPoolExecutor | None = None


def forward_matrix(weights: tuple[float, float, float]) -> np.ndarray:
    """3x4 matrix (with offsets) mapping RGB 0..255 to G-YUV planes 0..255."""
    wr, wg, wb = weights
    cb = 0.5 / (1.0 - wb)
    cr = 0.5 / (1.0 - wr)
    return np.array(
        [
            [wr, wg, wb, 0.0],
            [-wr * cb, -wg * cb, (1.0 - wb) * cb, 128.0],
            [(1.0 - wr) * cr, -wg * cr, -wb * cr, 128.0],
        ]
    )


def inverse_matrix(weights: tuple[float, float, float]) -> np.ndarray:
    """3x4 matrix (with offsets) mapping G-YUV planes back to RGB 0..255."""
    wr, wg, wb = weights
    kr = 2.0 * (1.0 - wr)  # R = Y + kr (Cr - 128)
    kb = 2.0 * (1.0 - wb)  # B = Y + kb (Cb - 128)
    # G = (Y - Wr R - Wb B) / Wg = Y - (Wr kr (Cr-128) + Wb kb (Cb-128)) / Wg
    gcb = -wb * kb / wg
    gcr = -wr * kr / wg
    return np.array(
        [
            [1.0, 0.0, kr, -128.0 * kr],
            [1.0, gcb, gcr, -128.0 * (gcb + gcr)],
            [1.0, kb, 0.0, -128.0 * kb],
        ]
    )


def rgb_to_planes(image: Image.Image, weights: tuple[float, float, float]) -> Image.Image:
    """RGB image -> mode "YCbCr" image holding the G-YUV planes (rounded).

    The result is labelled YCbCr so libjpeg stores it without converting."""
    if image.mode != "RGB":
        raise ValueError(f"rgb_to_planes needs an RGB image, got mode {image.mode!r}")
    converted = _convert(image, _as_tuple(forward_matrix(weights)))
    return Image.merge("YCbCr", converted.split())


def planes_to_rgb(planes: Image.Image, weights: tuple[float, float, float]) -> Image.Image:
    """Image whose three bands are G-YUV planes (mode RGB or YCbCr) -> RGB."""
    if planes.mode == "YCbCr":
        planes = Image.merge("RGB", planes.split())
    if planes.mode != "RGB":
        raise ValueError(f"planes_to_rgb needs a 3-band image, got mode {planes.mode!r}")
    return _convert(planes, _as_tuple(inverse_matrix(weights)))


def _as_tuple(m: np.ndarray) -> tuple[float, ...]:
    return tuple(float(x) for x in m.reshape(-1))


def _convert(image: Image.Image, matrix: tuple[float, ...]) -> Image.Image:
    """Pillow's C matrix conversion (rounds to nearest, clips to 0..255)."""
    image.load()  # before threads touch it: loading is not thread-safe
    w, h = image.size
    workers = min(os.cpu_count() or 1, 4)
    if w * h < _PARALLEL_MIN_PIXELS or workers < 2 or h < 2 * workers:
        return image.convert("RGB", matrix)
    bounds = [round(h * i / workers) for i in range(workers + 1)]
    boxes = [(0, bounds[i], w, bounds[i + 1]) for i in range(workers)]
    convert: Callable[[tuple[int, int, int, int]], Image.Image] = (
        lambda box: image.crop(box).convert("RGB", matrix)
    )
    strips = list(_executor().map(convert, boxes))
    out = Image.new("RGB", (w, h))
    for box, strip in zip(boxes, strips, strict=True):
        out.paste(strip, box[:2])
    return out


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pillow-grace")
    return _pool

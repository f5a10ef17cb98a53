"""G-YUV: the colour space of a GRACE file (paper §4.4, Eq. 1, Theorem 2).

With weights (Wr, Wg, Wb), Wr + Wg + Wb = 1, on 8-bit samples:

    Y  = Wr R + Wg G + Wb B
    Cb = 128 + (B - Y) / (2 (1 - Wb))
    Cr = 128 + (R - Y) / (2 (1 - Wr))

Every plane stays within 0..255 for any positive weights, so it is stored in
an ordinary JFIF file. BT.601 (0.299, 0.587, 0.114) gives JPEG's own YCbCr,
which is why any decoder reads a GRACE file, with slightly shifted colours.

Exact arithmetic
----------------
The matrices here are the single definition used by every adapter, and they
are *fixed-point*: every coefficient and offset is a multiple of
``2**-FRACTION_BITS`` (1/1024). A sample is then defined exactly as

    out = clip(floor(N / 1024 + 1/2), 0, 255),   N = integer sum of products

(round half up), which :func:`reference_transform` computes with integers.
Two quite different implementations compute this bit for bit:

* Pillow's C matrix conversion, in float32: all products and partial sums are
  multiples of 1/1024 below 2**14 in magnitude (checked by
  :func:`_check_exact`), so each fits float32's 24-bit mantissa and no
  rounding happens before the final ``+ 0.5`` and truncation, whatever the
  evaluation order or FMA use;
* ``cv2.transform`` on uint8 (the OpenCV adapter), whose SIMD kernel is
  10-bit fixed point with the same round-half-up shift.

So a file written through Pillow and one written through OpenCV are
byte-identical, and both adapters decode to the same pixels. The tests
check both against :func:`reference_transform` on random and edge colours,
``benchmarks/interop.py`` on all 2**24. Ten fractional bits move a sample by
at most 0.4 before rounding compared with real-valued coefficients; the
round trip RGB -> planes -> RGB (no JPEG in between) is as accurate as with
float64 coefficients (max error 1-2 for typical weights, 3 at the most
extreme allowed ones), see ``docs/interop.md``.

Speed
-----
When OpenCV is importable, :func:`rgb_to_planes` and :func:`planes_to_rgb`
use ``cv2.transform`` (SIMD, exact for these matrices as said above: the
same bytes as Pillow's conversion, several times faster) through
:func:`transform_rows`, on numpy buffers that are Pillow's own pixel memory
(:mod:`._pixels`): no frame is copied between Pillow and numpy, and the
strips keep each step's output in the CPU cache. Encoding and decoding
never *need* cv2: without it the conversion below is used.

Pillow's matrix conversion is plain scalar C (about 3.3 ns a pixel), and it
releases the GIL, so large images are cut into horizontal strips converted on
a small thread pool. Each strip is converted and then pasted with the
*core* ``paste``, which copies raw pixels between images of the same pixel
size without looking at the mode: that is how the converted RGB-labelled
pixels become a "YCbCr" image (what libjpeg must be given to store the
planes untouched) without the split/merge round trip (about 3 ms for 2 Mpx).
``docs/speed.md`` has the measurements behind these choices.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from pillow_grace.core import _pixels

BT601 = (0.299, 0.587, 0.114)

#: Fractional bits of every coefficient and offset (see module doc). Ten is
#: the precision of OpenCV's fixed-point ``transform`` for uint8, so the
#: OpenCV adapter can use it unchanged; more bits would not be exact there,
#: fewer would cost accuracy for nothing.
FRACTION_BITS = 10
SCALE = 1 << FRACTION_BITS

# Images smaller than this are converted in one call; larger ones are split
# into horizontal strips converted on several threads (Pillow releases the GIL
# in its matrix conversion), which halves the colour step on two cores.
_PARALLEL_MIN_PIXELS = 1 << 18
_MAX_WORKERS = 4
_pool: ThreadPoolExecutor | None = None


def is_libjpeg_transform(weights: tuple[float, float, float]) -> bool:
    """Whether G-YUV with these weights is JPEG's own YCbCr (BT.601, full range).

    For these weights the transform *is* libjpeg's (jccolor.c / jdcolor.c:
    16-bit fixed point, round half up for Y and the same rounding as here
    for Cb/Cr up to the ``ONE_HALF - 1`` bias), not the 10-bit definition
    below: the encoder hands RGB to libjpeg and the decoder takes libjpeg's
    RGB, both through its SIMD code, so a BT.601 strategy costs exactly what
    a plain JPEG costs. The two definitions differ by at most one level on a
    few percent of the colours (``benchmarks/interop.py`` counts them), well
    inside the decode bound of docs/usage.md."""
    return all(abs(float(w) - b) <= 1e-9 for w, b in zip(weights, BT601, strict=True))


def forward_fixed(weights: tuple[float, float, float]) -> np.ndarray:
    """3x4 int64 matrix, in units of 1/1024, mapping RGB to G-YUV planes.

    Each row is rounded to 1/1024 with its sum preserved (largest remainder):
    the Y row sums to exactly 1024 and the chroma rows to exactly 0, so grey
    stays grey (Y = R = G = B, Cb = Cr = 128) after quantising the weights."""
    wr, wg, wb = (float(w) for w in weights)
    cb = 0.5 / (1.0 - wb)
    cr = 0.5 / (1.0 - wr)
    rows = (
        (wr, wg, wb),
        (-wr * cb, -wg * cb, (1.0 - wb) * cb),
        ((1.0 - wr) * cr, -wg * cr, -wb * cr),
    )
    sums = (SCALE, 0, 0)
    out = np.zeros((3, 4), dtype=np.int64)
    for i, (row, total) in enumerate(zip(rows, sums, strict=True)):
        out[i, :3] = _round_preserving_sum(np.array(row) * SCALE, total)
    out[1:, 3] = 128 * SCALE
    return out


def inverse_fixed(weights: tuple[float, float, float]) -> np.ndarray:
    """3x4 int64 matrix, in units of 1/1024, mapping G-YUV planes back to RGB.

    Closed form (no matrix inversion, so every platform rounds alike):
    R = Y + kr (Cr-128), B = Y + kb (Cb-128), G = Y + gcb (Cb-128) + gcr (Cr-128).
    The offsets are derived from the rounded coefficients, so Cb = Cr = 128
    gives R = G = B = Y exactly."""
    wr, wg, wb = (float(w) for w in weights)
    kr = 2.0 * (1.0 - wr)
    kb = 2.0 * (1.0 - wb)
    gcb = -wb * kb / wg
    gcr = -wr * kr / wg
    chroma = np.floor(np.array([[0.0, kr], [gcb, gcr], [kb, 0.0]]) * SCALE + 0.5).astype(np.int64)
    out = np.zeros((3, 4), dtype=np.int64)
    out[:, 0] = SCALE
    out[:, 1:3] = chroma
    out[:, 3] = -128 * chroma.sum(axis=1)
    return out


def forward_matrix(weights: tuple[float, float, float]) -> np.ndarray:
    """3x4 float matrix (with offsets) mapping RGB 0..255 to G-YUV planes 0..255.

    Entries are exact multiples of 1/1024 (see module doc); pass it as is to
    Pillow's ``convert`` or to ``cv2.transform`` (after reordering for BGR)."""
    return _checked(forward_fixed(weights))


def inverse_matrix(weights: tuple[float, float, float]) -> np.ndarray:
    """3x4 float matrix (with offsets) mapping G-YUV planes back to RGB 0..255."""
    return _checked(inverse_fixed(weights))


def reference_transform(pixels: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """The exact definition, with integers: ``pixels`` (..., 3) uint8, ``fixed``
    a 3x4 matrix from :func:`forward_fixed` / :func:`inverse_fixed`.

    Slow (numpy int64); the fast paths are tested against it."""
    n = pixels.astype(np.int64) @ fixed[:, :3].T + fixed[:, 3]
    return np.clip((n + SCALE // 2) >> FRACTION_BITS, 0, 255).astype(np.uint8)


def rgb_to_planes(
    image: Image.Image, weights: tuple[float, float, float], *, scratch: bool = False
) -> Image.Image:
    """RGB image -> mode "YCbCr" image holding the G-YUV planes (exactly rounded).

    The result is labelled YCbCr so libjpeg stores it without converting.
    ``scratch=True`` (the encoder's planes, consumed at once) may return a
    per-thread image that the next call in this thread overwrites, instead
    of a new one: no fresh 8 MB to fault in per 2 Mpx frame."""
    if image.mode != "RGB":
        raise ValueError(f"rgb_to_planes needs an RGB image, got mode {image.mode!r}")
    image.load()
    if _accelerator() is None:
        return _convert_pillow(image, forward_matrix(weights), "YCbCr")
    w, h = image.size
    pixels = _pixels.scratch_pixels(w, h) if scratch else _pixels.new_pixels(w, h)
    _transform_image(image, cv2_forward(weights), pixels)
    return _pixels.scratch_image("YCbCr", w, h) if scratch else _pixels.image_on(pixels, "YCbCr")


def planes_to_rgb(planes: Image.Image, weights: tuple[float, float, float]) -> Image.Image:
    """Image whose three bands are G-YUV planes (mode YCbCr, or RGB as the
    Pillow plugin decodes them) -> a new RGB image, exactly rounded.

    The Pillow plugin's decoder does not come here when cv2 is importable:
    libjpeg writes the planes into a numpy buffer that
    :func:`planes_to_rgb_in_place` converts where they lie."""
    if planes.mode not in ("YCbCr", "RGB"):
        raise ValueError(f"planes_to_rgb needs a 3-band image (YCbCr or RGB), got mode {planes.mode!r}")
    planes.load()
    if _accelerator() is None:
        return _convert_pillow(planes, inverse_matrix(weights), "RGB")
    pixels = _pixels.new_pixels(*planes.size)
    return _pixels.image_on(_transform_image(planes, cv2_inverse(weights), pixels), "RGB")


def _transform_image(image: Image.Image, matrix: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """A loaded 3-band image's pixels through ``matrix`` into ``pixels`` (h, w, 4): read
    where they lie when Pillow lends them, else copied into ``pixels`` and converted there."""
    source = _pixels.borrowed_pixels(image)
    if source is None:
        source = _pixels.copy_pixels(image, pixels)
    return transform_rows(source, matrix, pixels)


def planes_to_rgb_in_place(pixels: np.ndarray, weights: tuple[float, float, float]) -> np.ndarray:
    """Turn G-YUV planes in an (h, w, 4) buffer (:func:`image_on`'s layout)
    into RGB in the same buffer (needs cv2, see :func:`accelerated`)."""
    return transform_rows(pixels, cv2_inverse(weights), pixels)


def _round_preserving_sum(values: np.ndarray, total: int) -> np.ndarray:
    """Round to integers so that they add up to ``total``: floor everything,
    then give the missing units to the largest remainders (ties: first index)."""
    floors = np.floor(values).astype(np.int64)
    missing = int(total - floors.sum())
    order = np.argsort(-(values - floors), kind="stable")
    floors[order[:missing]] += 1
    return floors


def _checked(fixed: np.ndarray) -> np.ndarray:
    _check_exact(fixed)
    return fixed.astype(np.float64) / SCALE


def _check_exact(fixed: np.ndarray) -> None:
    """Refuse a matrix whose float32 evaluation could round before the end.

    Every partial sum is a multiple of 1/1024; it is exact in float32 while
    below 2**14 in magnitude (24-bit mantissa). Validated weights (each >=
    0.05) stay below 2**13, so this only guards against misuse."""
    bound = 255 * np.abs(fixed[:, :3]).sum(axis=1) + np.abs(fixed[:, 3]) + SCALE
    if int(bound.max()) >= (1 << 14) * SCALE:
        raise ValueError(
            "colour weights too extreme for exact fixed-point conversion; "
            "each weight must be >= 0.05 (strategy.MIN_WEIGHT)"
        )


def cv2_matrix(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` (from :func:`forward_matrix` / :func:`inverse_matrix`, columns
    possibly reordered) checked for ``cv2.transform``'s exact path, read-only.

    cv2.transform uses its exact 10-bit kernel on uint8 only for
    |m[:, :2]| < 32 and |m[:, 2:]| < 8192 (else a float path that rounds
    differently). Weights >= 0.05, which every strategy and file must have,
    stay far inside."""
    if np.abs(matrix[:, :2]).max() >= 32 or np.abs(matrix[:, 2:]).max() >= 8192:
        raise ValueError(
            "colour weights too extreme for cv2's exact fixed-point transform; each must be >= 0.05"
        )
    out = np.array(matrix, dtype=np.float64)
    out.setflags(write=False)
    return out


_UNSET: Any = object()
_cv2_module: Any = _UNSET


def _accelerator() -> Any:
    """The cv2 module if it can be imported (once), else None."""
    global _cv2_module
    if _cv2_module is _UNSET:
        try:
            import cv2 as found
        except ImportError:
            found = None  # type: ignore[assignment]
        _cv2_module = found
    return _cv2_module


def accelerated() -> bool:
    """Whether the fast colour path (cv2) is importable: then the functions
    that work on numpy buffers (:func:`transform_rows` and those built on it)
    can be used; without it only the Image-level functions work."""
    return _accelerator() is not None


@lru_cache(maxsize=64)
def cv2_forward(weights: tuple[float, float, float], order: str = "RGB") -> np.ndarray:
    """:func:`forward_matrix` for ``cv2.transform`` on ``order`` ("RGB" or
    "BGR") pixels, checked and cached (a strategy's weights are fixed)."""
    matrix = forward_matrix(weights)
    return cv2_matrix(matrix[:, [2, 1, 0, 3]] if order == "BGR" else matrix)


@lru_cache(maxsize=64)
def cv2_inverse(weights: tuple[float, float, float], order: str = "RGB") -> np.ndarray:
    """:func:`inverse_matrix` for ``cv2.transform`` giving ``order`` ("RGB" or
    "BGR") pixels, checked and cached."""
    matrix = inverse_matrix(weights)
    return cv2_matrix(matrix[[2, 1, 0]] if order == "BGR" else matrix)


#: Rows per step of :func:`transform_rows`: small enough that the strip's
#: temporaries stay in the CPU cache (a 2048-pixel row is 6 KB a step),
#: large enough that the cost of three cv2 calls per strip stays small.
_STRIP_ROWS = 64


def transform_rows(src: np.ndarray, matrix: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``cv2.transform`` of ``src`` into ``dst``, strip by strip (needs cv2).

    ``src`` and ``dst`` are C-contiguous (h, w, 3) or (h, w, 4) uint8 arrays;
    4 channels is Pillow's layout (the 4th byte is ignored on input and
    written 255, as Pillow writes it); ``dst`` may be ``src`` (in place).
    ``matrix``: from :func:`cv2_forward` / :func:`cv2_inverse`. Whole-frame
    steps (unpack, transform, repack) would each cross memory; strips keep
    each step's output in the CPU cache for the next (docs/speed.md)."""
    cv2 = _accelerator()
    h, w = src.shape[:2]
    if dst.shape[:2] != (h, w) or src.dtype != np.uint8 or dst.dtype != np.uint8:
        raise ValueError(f"transform_rows needs uint8 arrays of one size, got {src.shape} and {dst.shape}")
    rows = max(1, min(_STRIP_ROWS, h))
    unpacked, converted = _pixels.strip_buffers(w, rows)
    for y in range(0, h, rows):
        n = min(rows, h - y)
        piece, out = src[y : y + n], dst[y : y + n]
        if piece.shape[2] == 4:
            piece = cv2.cvtColor(piece, cv2.COLOR_RGBA2RGB, dst=unpacked[:n])
        if out.shape[2] == 3:
            _check_into(cv2.transform(piece, matrix, dst=out), out)
        else:
            step = cv2.transform(piece, matrix, dst=converted[:n])
            _check_into(cv2.cvtColor(step, cv2.COLOR_RGB2RGBA, dst=out), out)
    return dst


def _check_into(result: np.ndarray, dst: np.ndarray) -> None:
    """cv2 returns a new array instead of writing ``dst`` when it cannot use
    it; that would lose the result silently, so it is checked."""
    if not np.shares_memory(result, dst):
        raise RuntimeError("cv2 did not write into the buffer it was given")


def _convert_pillow(image: Image.Image, matrix: np.ndarray, out_mode: str) -> Image.Image:
    values = tuple(float(x) for x in matrix.reshape(-1))
    core = image.im
    w, h = image.size
    out = Image.new(out_mode, (w, h))
    workers = _worker_count()
    if w * h < _PARALLEL_MIN_PIXELS or workers < 2 or h < 2 * workers:
        out.im.paste(core.convert_matrix("RGB", values), (0, 0, w, h))
        return out
    bounds = [round(h * i / workers) for i in range(workers + 1)]
    boxes = [(0, bounds[i], w, bounds[i + 1]) for i in range(workers)]

    def strip(box: tuple[int, int, int, int]) -> None:
        # crop, convert and paste all release the GIL; strips never overlap
        out.im.paste(core.crop(box).convert_matrix("RGB", values), box)

    for _ in _executor().map(strip, boxes):
        pass
    return out


def _worker_count() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return min(cpus, _MAX_WORKERS)


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_MAX_WORKERS, thread_name_prefix="pillow-grace")
    return _pool

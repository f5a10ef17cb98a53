"""grace_opencv: GRACE as a drop-in for OpenCV's ``imencode``/``imdecode``/``imwrite``/``imread``.

::

    import grace_opencv as gcv
    ok, buf = gcv.imencode(".jpg", frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, 80],
                           strategy="efficientnet-lite0")
    bgr = gcv.imdecode(buf, cv2.IMREAD_COLOR)      # exact colours back
    gcv.imwrite("frame.jpg", frame_bgr, strategy="efficientnet-lite0")
    bgr = gcv.imread("frame.jpg")

OpenCV's conventions are kept: uint8 arrays, BGR (or BGRA, or grey) channel
order, ``(True, buf)`` with ``buf`` a 1-D uint8 array, ``None`` from
``imread``/``imdecode`` when the data cannot be read. Anything that is not a
JPEG extension (``.png``, ``.webp``, ...) is handed to cv2 unchanged, and so
is decoding of anything that is not a GRACE file, so plain files meet cv2's
rules (no Pillow decompression-bomb limit, cv2's handling of damage). The
full contract is in ``docs/interop.md`` ("OpenCV drop-in").

This is a thin layer over :mod:`pillow_grace`: the colour matrices come from
:mod:`pillow_grace.core.colour` (applied here with ``cv2.transform``, whose 10-bit
fixed-point kernel computes the same exactly rounded values as the Pillow
path), and the file itself is written by :func:`pillow_grace.core.codec.encode_planes`.
A frame encoded here is byte-identical to the same frame saved with
``img.save(f, "GRACE", strategy=...)``. With BT.601 weights the colour step
is libjpeg's own, on both sides (see :func:`pillow_grace.core.colour.is_libjpeg_transform`).

This module is the cv2-shaped API and the choice between GRACE and cv2 for
each call; cv2's flags are mapped in :mod:`._flags`, arrays are encoded in
:mod:`._encode` and GRACE files decoded in :mod:`._decode`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from grace_opencv._decode import decode_grace
from grace_opencv._encode import encode_grace
from grace_opencv._flags import cv_params, options_from_params
from pillow_grace.core import codec, metadata
from pillow_grace.core.errors import EncodeOptionError
from pillow_grace.core.roi import Roi, parse_background
from pillow_grace.plugin import register_grace_opener

# The decoder (._decode) opens GRACE files through Pillow's registry; say so
# explicitly rather than relying on the side effect of importing pillow_grace.
register_grace_opener()

__all__ = ["JPEG_EXTENSIONS", "imdecode", "imencode", "imread", "imwrite"]

#: Extensions written as GRACE JPEG (compared case-insensitively); the same
#: set cv2's JPEG codec claims, plus ".jfif".
JPEG_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif"})


# -- encoding -----------------------------------------------------------------
def imencode(
    ext: str,
    img: np.ndarray,
    params: Sequence[int] | np.ndarray | None = None,
    *,
    strategy: Any = None,
    roi: Any = None,
    background: str | None = None,
) -> tuple[bool, np.ndarray]:
    """Like ``cv2.imencode``; JPEG extensions write a GRACE JPEG with ``strategy``.

    ``strategy`` (a name, a path to a strategy JSON or a
    :class:`pillow_grace.Strategy`) is required for JPEG extensions and
    refused for others. ``params`` is cv2's flat ``[key, value, ...]`` list;
    see :func:`options_from_params` for the JPEG keys understood.
    ``roi``/``background`` code blocks outside a region more coarsely (see
    :mod:`pillow_grace.core.roi`). Returns ``(True, buf)``, ``buf`` a 1-D uint8 array; errors raise."""
    if not isinstance(ext, str):
        raise TypeError(f"ext must be a str such as '.jpg', got {type(ext).__name__}")
    if not _is_jpeg(ext):
        if strategy is not None:
            raise EncodeOptionError(
                f"strategy applies to JPEG only (GRACE is a JPEG format); remove it to write {ext!r}"
            )
        return cv2.imencode(ext, img, cv_params(params))  # type: ignore[return-value]
    data = encode_grace(img, _require_strategy(strategy), _options(params, roi, background))
    return True, data


def _options(
    params: Sequence[int] | np.ndarray | None, roi: Any, background: str | None
) -> codec.EncodeOptions:
    """cv2's parameters plus the ROI keywords (cv2 has no flag for them)."""
    opts = options_from_params(params)
    if roi is None and background is None:
        return opts
    return replace(opts, roi=None if roi is None else Roi(roi), background=parse_background(background))


def _require_strategy(strategy: Any) -> Any:
    return codec.require_strategy(
        strategy, "imencode('.jpg', img, strategy='<name>') (cv2.imencode writes a plain JPEG)"
    )


def imwrite(
    filename: str | os.PathLike[str],
    img: np.ndarray,
    params: Sequence[int] | np.ndarray | None = None,
    *,
    strategy: Any = None,
    roi: Any = None,
    background: str | None = None,
) -> bool:
    """Like ``cv2.imwrite``; a JPEG extension (see :data:`JPEG_EXTENSIONS`)
    writes a GRACE JPEG with ``strategy``. Returns True; errors raise."""
    path = os.fspath(filename)
    ext = os.path.splitext(path)[1]
    if not _is_jpeg(ext):
        if strategy is not None:
            raise EncodeOptionError(
                f"strategy applies to JPEG only (GRACE is a JPEG format); remove it to write {path!r}"
            )
        return bool(cv2.imwrite(path, img, cv_params(params)))
    data = encode_grace(img, _require_strategy(strategy), _options(params, roi, background))
    with open(path, "wb") as f:
        f.write(data.data)
    return True


# -- decoding -----------------------------------------------------------------
def imdecode(buf: Any, flags: int) -> np.ndarray | None:
    """Like ``cv2.imdecode``. A GRACE file is decoded with the weights stored in
    it (exact colours); any other data goes to ``cv2.imdecode`` unchanged.

    Flags honoured for GRACE files: IMREAD_COLOR (BGR), IMREAD_COLOR_RGB,
    IMREAD_GRAYSCALE (BT.601 grey of the exact colours, as cv2 gives for an
    ordinary JPEG), IMREAD_UNCHANGED and IMREAD_ANYCOLOR (components as
    stored: BGR, or grey for a luma-only file), IMREAD_ANYDEPTH (8 bits
    anyway), IMREAD_REDUCED_* (DCT scaling, as cv2) and
    IMREAD_IGNORE_ORIENTATION (otherwise EXIF orientation is applied, as cv2
    does). IMREAD_LOAD_GDAL raises ValueError. Returns None where cv2 would
    (unreadable or truncated data, an image too large); a file that carries
    a GRACE segment, or the remains of one, that cannot be trusted raises
    :class:`pillow_grace.GraceFileError` instead of being decoded with the
    wrong colours."""
    data = _buffer_bytes(buf)
    arr = buf if isinstance(buf, np.ndarray) else np.frombuffer(bytes(buf), dtype=np.uint8)
    meta = metadata.inspect(data) if data is not None and _maybe_jpeg(data) else None
    if meta is None:
        return cv2.imdecode(arr, flags)
    return decode_grace(data, meta, flags, partial=False, plain=lambda: cv2.imdecode(arr, flags))  # type: ignore[arg-type]


def imread(filename: str | os.PathLike[str], flags: int = cv2.IMREAD_COLOR) -> np.ndarray | None:
    """Like ``cv2.imread``: a GRACE file gives exact colours (see :func:`imdecode`
    for the flags; a truncated one gives the part that is there, as cv2 does),
    anything else is read by ``cv2.imread`` itself. Returns None for a missing
    or unreadable file, as cv2 does."""
    path = os.fspath(filename)
    try:
        with open(path, "rb") as f:
            head = f.read(3)
            data = head + f.read() if _maybe_jpeg(head) else None
    except OSError:
        data = None
    meta = metadata.inspect(data) if data is not None else None
    if meta is None:
        return cv2.imread(path, flags)
    return decode_grace(data, meta, flags, partial=True, plain=lambda: cv2.imread(path, flags))  # type: ignore[arg-type]


# -- helpers --------------------------------------------------------------------
def _is_jpeg(ext: str) -> bool:
    e = ext.lower()
    return (e if e.startswith(".") else "." + e) in JPEG_EXTENSIONS


def _maybe_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def _buffer_bytes(buf: Any) -> bytes | None:
    if isinstance(buf, np.ndarray):
        if buf.dtype != np.uint8:
            return None  # let cv2 report it as it always has
        return buf.tobytes()
    if isinstance(buf, (bytes, bytearray, memoryview)):
        return bytes(buf)
    return None

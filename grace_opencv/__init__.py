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
path), and the file itself is written by :func:`pillow_grace.core.codec.jpeg_bytes` by the
:class:`~pillow_grace.core.codec.EncodePlan` built from the strategy and ``params``.
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

import numpy as np

try:
    import cv2
except ModuleNotFoundError as e:  # OpenCV is an extra: say which one, not just the module name
    raise ModuleNotFoundError(
        f"grace_opencv needs OpenCV, which is not installed ({e}); install it with "
        "pip install 'pillow-grace[opencv]' (or any opencv-python build)",
        name=e.name,
    ) from e

from grace_opencv._decode import decode_grace
from grace_opencv._encode import encode_grace
from grace_opencv._flags import CvParamError, cv_params, options_from_params
from pillow_grace.core import _io, codec, metadata, options
from pillow_grace.core.errors import EncodeOptionError, GraceFileError
from pillow_grace.core.roi import Roi, parse_background
from pillow_grace.plugin import register_grace_opener

# The decoder (._decode) opens GRACE files through Pillow's registry; say so
# explicitly rather than relying on the side effect of importing pillow_grace.
register_grace_opener()

__all__ = ["JPEG_EXTENSIONS", "CvParamError", "imdecode", "imencode", "imread", "imwrite"]

#: Extensions written as GRACE JPEG (compared case-insensitively): the set
#: cv2's JPEG codec claims. Like cv2, "jpg" without the dot and ".jfif" are
#: refused (cv2 finds no encoder for them).
JPEG_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe"})


# -- encoding -----------------------------------------------------------------
def imencode(
    ext: str,
    img: np.ndarray,
    params: Sequence[int] | np.ndarray | None = None,
    *,
    strategy: Any = None,
    roi: Any = None,
    background: str | None = None,
    roi_map: bool = False,
) -> tuple[bool, np.ndarray]:
    """Like ``cv2.imencode``; JPEG extensions write a GRACE JPEG with ``strategy``.

    ``strategy`` (a name, a path to a strategy JSON or a
    :class:`pillow_grace.Strategy`) is required for JPEG extensions and
    refused for others. ``params`` is cv2's flat ``[key, value, ...]`` list;
    see :func:`options_from_params` for the JPEG keys understood.
    ``roi``/``background`` code blocks outside a region more coarsely (see
    :mod:`pillow_grace.core.roi`); ``roi_map=True`` also writes which blocks, for a
    receiver that completes them from earlier frames (:class:`pillow_grace.BackgroundFill`).
    Returns ``(True, buf)``, ``buf`` a 1-D uint8 array; errors raise."""
    if not isinstance(ext, str):
        raise TypeError(f"ext must be a str such as '.jpg', got {type(ext).__name__}")
    if not _is_jpeg(ext):
        if strategy is not None:
            _refuse_non_jpeg(ext, repr(ext))
        return cv2.imencode(ext, img, cv_params(params))  # type: ignore[return-value,arg-type]  # cv2 checks params itself
    return True, encode_grace(img, _plan(strategy, params, roi, background, roi_map, _IMENCODE_EXAMPLE))


_IMENCODE_EXAMPLE = "imencode('.jpg', img, strategy='<name>') (cv2.imencode writes a plain JPEG)"
_IMWRITE_EXAMPLE = "imwrite('out.jpg', img, strategy='<name>') (cv2.imwrite writes a plain JPEG)"


def _plan(
    strategy: Any, params: Sequence[int] | np.ndarray | None, roi: Any, background: str | None, roi_map: bool,
    example: str,
) -> codec.EncodePlan:
    """The encoder's plan for a call: the strategy (required), cv2's params and
    the ROI keywords (cv2 has no flag for them)."""
    strategy = codec.require_strategy(strategy, example)
    opts = options_from_params(params)
    mapped = options.check_flag("roi_map", roi_map)
    if roi is not None or background is not None or mapped:
        opts = replace(opts, roi=None if roi is None else Roi(roi), background=parse_background(background),
                       roi_map=mapped)
    return codec.EncodePlan.build(strategy, opts)


def _refuse_non_jpeg(ext: str, what: str) -> None:
    """A strategy with an extension that is not a cv2 JPEG extension."""
    bare = ext.lower().lstrip(".")
    if bare in ("jpg", "jpeg", "jpe", "jfif"):
        # cv2 finds no encoder for these either (cv2.error); say how to fix it
        raise CvParamError(
            f"could not find encoder for the extension {ext!r} (as cv2): cv2's JPEG extensions are "
            "'.jpg', '.jpeg' and '.jpe', with the dot; use '.jpg'"
        )
    raise EncodeOptionError(
        f"strategy applies to JPEG only (GRACE is a JPEG format); remove it to write {what}"
    )


def imwrite(
    filename: str | os.PathLike[str],
    img: np.ndarray,
    params: Sequence[int] | np.ndarray | None = None,
    *,
    strategy: Any = None,
    roi: Any = None,
    background: str | None = None,
    roi_map: bool = False,
) -> bool:
    """Like ``cv2.imwrite``; a JPEG extension (see :data:`JPEG_EXTENSIONS`)
    writes a GRACE JPEG with ``strategy``. Returns True; errors raise.

    The file is replaced as :func:`pillow_grace.encode` replaces a path: all
    or nothing (a full disk leaves the old file), keeping its permissions and
    symlinks, refusing a device node or FIFO (other extensions go to
    ``cv2.imwrite``, which writes as cv2 does)."""
    path = os.fspath(filename)
    ext = os.path.splitext(path)[1]
    if not _is_jpeg(ext):
        if strategy is not None:
            _refuse_non_jpeg(ext, repr(path))
        return bool(cv2.imwrite(path, img, cv_params(params)))  # type: ignore[arg-type]  # cv2 checks params itself
    data = encode_grace(img, _plan(strategy, params, roi, background, roi_map, _IMWRITE_EXAMPLE))
    hint = "to write into it, use imencode and write the bytes yourself"
    _io.replace_file(path, data.data, in_place_hint=hint)
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
    data, arr = _buffer_bytes(buf)
    meta = _inspect(data) if data is not None and _maybe_jpeg(data) else None
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
    meta = _inspect(data) if data is not None else None
    if meta is None:
        return cv2.imread(path, flags)
    return decode_grace(data, meta, flags, partial=True, plain=lambda: cv2.imread(path, flags))  # type: ignore[arg-type]


# -- helpers --------------------------------------------------------------------
def _is_jpeg(ext: str) -> bool:
    return ext.lower() in JPEG_EXTENSIONS


def _inspect(data: bytes) -> metadata.GraceMetadata | None:
    """:func:`metadata.inspect`, except that data without a start of scan goes
    to cv2, which returns None for it (a file cut inside its headers has no
    pixels to show in any colours)."""
    try:
        return metadata.inspect(data)
    except GraceFileError:
        if b"\xff\xda" not in data:
            return None
        raise


def _maybe_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def _buffer_bytes(buf: Any) -> tuple[bytes | None, Any]:
    """The bytes a decode of ``buf`` reads, and what to hand ``cv2.imdecode``.

    The GRACE check must see exactly the bytes that would be decoded, for
    every buffer type, or a GRACE file slips through to cv2's BT.601 decode:

    * numpy arrays of 1-byte integers (uint8, and int8, which cv2 reads as
      the same bytes), shaped as cv2 accepts (1-D, a row or a column, any
      strides): their bytes. Other arrays go to cv2 as they are, which
      returns None or raises for them.
    * anything with the buffer protocol (bytes, bytearray, memoryview, mmap,
      array.array, ...) and lists or tuples of ints 0..255: their bytes, as
      a uint8 array. cv2 itself refuses most of these (docs/interop.md).
    """
    if isinstance(buf, np.ndarray):
        if buf.dtype.itemsize != 1 or buf.dtype.kind not in "ui" or sum(d > 1 for d in buf.shape) > 1:
            return None, buf  # cv2 decides (None, or its own error)
        return np.ascontiguousarray(buf).view(np.uint8).tobytes(), buf
    if isinstance(buf, (list, tuple)):
        try:
            data = bytes(buf)
        except (TypeError, ValueError):
            raise TypeError(
                "buf as a list or tuple must hold ints 0..255 (the file's bytes); "
                "or pass np.frombuffer(data, np.uint8)"
            ) from None
    else:
        try:
            data = memoryview(buf).tobytes()
        except TypeError:
            return None, buf  # not a buffer: cv2 reports it
    return data, np.frombuffer(data, dtype=np.uint8)

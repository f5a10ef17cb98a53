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
:mod:`pillow_grace.colour` (applied here with ``cv2.transform``, whose 10-bit
fixed-point kernel computes the same exactly rounded values as the Pillow
path), and the file itself is written by :func:`pillow_grace.codec.encode_planes`.
A frame encoded here is byte-identical to the same frame saved with
``img.save(f, "GRACE", strategy=...)``. With BT.601 weights the colour step
is libjpeg's own, on both sides (see :func:`pillow_grace.colour.is_libjpeg_transform`).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from PIL import Image

from pillow_grace import codec, colour, metadata
from pillow_grace.errors import EncodeOptionError, GraceFileError, UnsupportedModeError
from pillow_grace.metadata import GraceMetadata
from pillow_grace.plugin import GraceImageFile, register_grace_opener

# The decoder below opens GRACE files through Pillow's registry; say so
# explicitly rather than relying on the side effect of importing pillow_grace.
register_grace_opener()

__all__ = ["JPEG_EXTENSIONS", "imdecode", "imencode", "imread", "imwrite"]

#: Extensions written as GRACE JPEG (compared case-insensitively); the same
#: set cv2's JPEG codec claims, plus ".jfif".
JPEG_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif"})

# cv2 sampling-factor values -> GRACE subsampling. 4:1:1 and 4:4:0 have no
# Pillow equivalent and are refused.
_SAMPLING = {
    cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444: "4:4:4",
    cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422: "4:2:2",
    cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420: "4:2:0",
}
# cv2 JPEG parameters that cannot be honoured, with the reason.
_REFUSED_PARAMS = {
    cv2.IMWRITE_JPEG_LUMA_QUALITY: "IMWRITE_JPEG_LUMA_QUALITY: GRACE derives every table from the "
    "strategy; use IMWRITE_JPEG_QUALITY",
    cv2.IMWRITE_JPEG_CHROMA_QUALITY: "IMWRITE_JPEG_CHROMA_QUALITY: GRACE derives every table from the "
    "strategy; use IMWRITE_JPEG_QUALITY",
    cv2.IMWRITE_JPEG_RST_INTERVAL: "IMWRITE_JPEG_RST_INTERVAL: the GRACE writer emits no restart markers",
}

# imread flag bits (cv2.ImreadModes).
_COLOR = cv2.IMREAD_COLOR  # 1
_ANYDEPTH = cv2.IMREAD_ANYDEPTH  # 2
_ANYCOLOR = cv2.IMREAD_ANYCOLOR  # 4
_GDAL = cv2.IMREAD_LOAD_GDAL  # 8
_REDUCED = ((cv2.IMREAD_REDUCED_GRAYSCALE_8, 8), (cv2.IMREAD_REDUCED_GRAYSCALE_4, 4),
            (cv2.IMREAD_REDUCED_GRAYSCALE_2, 2))
_IGNORE_ORIENTATION = cv2.IMREAD_IGNORE_ORIENTATION  # 128
_COLOR_RGB = getattr(cv2, "IMREAD_COLOR_RGB", 256)
_KNOWN_FLAGS = _COLOR | _ANYDEPTH | _ANYCOLOR | 16 | 32 | 64 | _IGNORE_ORIENTATION | _COLOR_RGB
_EXIF_ORIENTATION = 0x0112


# -- encoding -----------------------------------------------------------------
def imencode(
    ext: str, img: np.ndarray, params: Sequence[int] | np.ndarray | None = None, *, strategy: Any = None
) -> tuple[bool, np.ndarray]:
    """Like ``cv2.imencode``; JPEG extensions write a GRACE JPEG with ``strategy``.

    ``strategy`` (a name, a path to a strategy JSON or a
    :class:`pillow_grace.Strategy`) is required for JPEG extensions and
    refused for others. ``params`` is cv2's flat ``[key, value, ...]`` list;
    see :func:`options_from_params` for the JPEG keys understood.
    Returns ``(True, buf)``, ``buf`` a 1-D uint8 array; errors raise."""
    if not isinstance(ext, str):
        raise TypeError(f"ext must be a str such as '.jpg', got {type(ext).__name__}")
    if not _is_jpeg(ext):
        if strategy is not None:
            raise EncodeOptionError(
                f"strategy applies to JPEG only (GRACE is a JPEG format); remove it to write {ext!r}"
            )
        return cv2.imencode(ext, img, _cv_params(params))  # type: ignore[return-value]
    data = _encode_grace(img, _require_strategy(strategy), options_from_params(params))
    return True, data


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
        return bool(cv2.imwrite(path, img, _cv_params(params)))
    data = _encode_grace(img, _require_strategy(strategy), options_from_params(params))
    with open(path, "wb") as f:
        f.write(data.data)
    return True


def options_from_params(params: Sequence[int] | np.ndarray | None) -> codec.EncodeOptions:
    """Map cv2's JPEG ``imwrite`` parameters onto GRACE encoder options.

    ============================  =================================================
    cv2 key                       GRACE meaning
    ============================  =================================================
    IMWRITE_JPEG_QUALITY          ``quality`` 1..100: tables re-derived from the
                                  strategy's perception model (not libjpeg's
                                  scaling); absent = the strategy's own tables
    IMWRITE_JPEG_OPTIMIZE         0/1 optimised Huffman tables (GRACE default 1,
                                  unlike cv2's 0)
    IMWRITE_JPEG_PROGRESSIVE      0/1 progressive JPEG (SOF2)
    IMWRITE_JPEG_SAMPLING_FACTOR  _444, _422, _420 (default: the strategy's);
                                  _411 and _440 are refused
    LUMA/CHROMA_QUALITY,          refused: the strategy decides the tables, and
    RST_INTERVAL                  the writer emits no restart markers
    anything else                 refused (cv2 would ignore it; a silently
                                  ignored option is a bug found in production)
    ============================  =================================================
    """
    opts: dict[str, Any] = {}
    for key, value in _pairs(params):
        if key == cv2.IMWRITE_JPEG_QUALITY:
            opts["quality"] = value
        elif key == cv2.IMWRITE_JPEG_OPTIMIZE:
            opts["optimize"] = _flag("IMWRITE_JPEG_OPTIMIZE", value)
        elif key == cv2.IMWRITE_JPEG_PROGRESSIVE:
            opts["progressive"] = _flag("IMWRITE_JPEG_PROGRESSIVE", value)
        elif key == cv2.IMWRITE_JPEG_SAMPLING_FACTOR:
            if value not in _SAMPLING:
                raise EncodeOptionError(
                    f"IMWRITE_JPEG_SAMPLING_FACTOR {value:#x} is not supported by GRACE; use "
                    "IMWRITE_JPEG_SAMPLING_FACTOR_444, _422 or _420"
                )
            opts["subsampling"] = _SAMPLING[value]
        elif key in _REFUSED_PARAMS:
            raise EncodeOptionError(f"{_REFUSED_PARAMS[key]}")
        else:
            raise EncodeOptionError(
                f"imwrite parameter {key} is not a JPEG parameter GRACE understands; supported: "
                "IMWRITE_JPEG_QUALITY, IMWRITE_JPEG_OPTIMIZE, IMWRITE_JPEG_PROGRESSIVE, "
                "IMWRITE_JPEG_SAMPLING_FACTOR"
            )
    return codec.EncodeOptions.from_mapping(opts)


def _encode_grace(img: Any, strategy: Any, options: codec.EncodeOptions) -> np.ndarray:
    strat = codec.resolve_strategy(strategy)
    arr = _image_array(img)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        planes = Image.frombuffer("L", (w, h), arr, "raw", "L", 0, 1)  # zero-copy view
    elif colour.is_libjpeg_transform(strat.weights):
        # BT.601: libjpeg converts RGB itself (SIMD), as for the Pillow adapter.
        planes = _scratch.rgb_image(w, h)
        planes.frombytes(arr.data, "raw", "BGR")
    else:
        # cv2.transform on uint8 is exact here (see pillow_grace.colour). Both
        # buffers are reused from the previous frame of this size in this
        # thread: fresh 6-8 MB buffers per frame cost more in page faults
        # than the colour conversion itself (docs/speed.md).
        converted, planes = _scratch.encode_buffers(w, h)
        cv2.transform(arr, _forward_bgr(strat.weights), dst=converted)
        planes.frombytes(converted.data, "raw", "YCbCr")  # into Pillow's 4-byte layout
    out = io.BytesIO()
    codec.encode_planes(planes, out, strat, options)
    return np.frombuffer(out.getbuffer(), dtype=np.uint8)


class _Scratch(threading.local):
    """Per-thread buffers for the last frame size seen (one size per thread,
    so a camera loop reuses them and memory stays bounded)."""

    def __init__(self) -> None:
        self.encode: tuple[np.ndarray, Image.Image] | None = None
        self.rgb: Image.Image | None = None

    def encode_buffers(self, w: int, h: int) -> tuple[np.ndarray, Image.Image]:
        if self.encode is None or self.encode[0].shape[:2] != (h, w):
            self.encode = (np.empty((h, w, 3), np.uint8), Image.new("YCbCr", (w, h)))
        return self.encode

    def rgb_image(self, w: int, h: int) -> Image.Image:
        if self.rgb is None or self.rgb.size != (w, h):
            self.rgb = Image.new("RGB", (w, h))
        return self.rgb


_scratch = _Scratch()


def _image_array(img: Any) -> np.ndarray:
    """Validate a cv2-style image; returns a C-contiguous HxW or HxWx3 (BGR) uint8 array.

    Non-contiguous arrays (views, slices, negative strides) are copied, as
    cv2 itself does; BGRA is accepted only when fully opaque (the Pillow
    adapter's rule for RGBA: JPEG has no alpha)."""
    if not isinstance(img, np.ndarray):
        raise TypeError(f"img must be a numpy.ndarray (as for cv2), got {type(img).__name__}")
    if img.dtype != np.uint8:
        raise UnsupportedModeError(
            f"cannot write a {img.dtype} array as GRACE JPEG: baseline JPEG holds 8-bit samples; "
            "convert first, e.g. cv2.convertScaleAbs(img, alpha=255/65535) for 16-bit data"
        )
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise UnsupportedModeError(
            f"cannot write an array of shape {img.shape} as GRACE JPEG; expected HxW (grey), "
            "HxWx1, HxWx3 (BGR) or HxWx4 (BGRA)"
        )
    codec.check_size(img.shape[1], img.shape[0])
    if img.ndim == 3 and img.shape[2] == 4:
        if int(img[:, :, 3].min()) != 255:
            raise codec.transparency_error("a BGRA image", "cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)")
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(img)


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
    return _decode_grace(data, meta, flags, partial=False, plain=lambda: cv2.imdecode(arr, flags))  # type: ignore[arg-type]


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
    return _decode_grace(data, meta, flags, partial=True, plain=lambda: cv2.imread(path, flags))  # type: ignore[arg-type]


def _decode_grace(
    data: bytes, meta: GraceMetadata, flags: int, *, partial: bool, plain: Any
) -> np.ndarray | None:
    """Decode a file :func:`metadata.inspect` found to be GRACE.

    ``partial``: decode what a truncated file holds (``imread``), else None
    (``imdecode``), as cv2 does. ``plain`` is cv2's own decode of the file,
    used for BT.601 weights: then libjpeg's YCbCr->RGB is the inverse."""
    if colour.is_libjpeg_transform(meta.weights):
        return plain()
    mode = _ReadMode(flags)
    try:
        return _decode_planes(data, mode)
    except Image.DecompressionBombError:
        return None  # cv2 refuses oversized images too, with None
    except _Truncated:
        if not partial:
            return None
    # libjpeg's own reader (cv2's) ends a truncated scan with a fake end of
    # image and decodes the rest as grey; appending one does the same here.
    try:
        return _decode_planes(data + b"\xff\xd9", mode)
    except _Truncated:
        return None


class _Truncated(Exception):
    """The scan data is truncated or corrupt (not the headers)."""


def _decode_planes(data: bytes, mode: _ReadMode) -> np.ndarray:
    try:
        im = Image.open(io.BytesIO(data), formats=["GRACE"])
    except (OSError, SyntaxError, ValueError) as e:
        if isinstance(e, GraceFileError):
            raise
        raise GraceFileError(f"GRACE file with broken JPEG headers ({e}); refusing to decode it") from None
    if not isinstance(im, GraceImageFile):
        im.close()
        raise GraceFileError("GRACE metadata segment in a file Pillow does not read as GRACE; refusing it")
    with im:
        w0, h0 = im.size
        orientation = 1 if not mode.orient else int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
        coloured = im.mode == "RGB"
        draft_size = None
        if mode.reduce > 1:
            draft_size = (max(1, w0 // mode.reduce), max(1, h0 // mode.reduce))
        im.draft("YCbCr" if coloured else "L", draft_size)
        try:
            im.load()
        except OSError as e:
            raise _Truncated(str(e)) from None
        if coloured:
            planes = colour.pixels_array(im)
            inverse = _inverse_rgb if mode.rgb else _inverse_bgr
            out = cv2.transform(planes, inverse(im.grace.weights))
            if mode.want == "grey":
                out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY if mode.rgb else cv2.COLOR_BGR2GRAY)
        else:
            out = np.array(im)  # writable copy, as cv2 returns
            if mode.want == "colour":
                out = cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    if mode.reduce > 1:
        want = (-(-w0 // mode.reduce), -(-h0 // mode.reduce))
        if (out.shape[1], out.shape[0]) != want:  # tiny image: DCT scaling stopped early
            out = cv2.resize(out, want, interpolation=cv2.INTER_AREA)
    return _orient(out, orientation)


class _ReadMode:
    """cv2 imread flags, decoded once."""

    def __init__(self, flags: int) -> None:
        if isinstance(flags, bool) or not isinstance(flags, (int, np.integer)):
            raise TypeError(f"flags must be an int (cv2.IMREAD_*), got {type(flags).__name__}")
        flags = int(flags)
        self.unchanged = flags < 0
        if self.unchanged:
            flags = 0
        if flags & _GDAL:
            raise ValueError("IMREAD_LOAD_GDAL cannot read a GRACE file; it is a plain JPEG, drop the flag")
        if flags & ~_KNOWN_FLAGS:
            raise ValueError(f"unknown imread flag bits {flags & ~_KNOWN_FLAGS:#x} in {flags}")
        self.rgb = bool(flags & _COLOR_RGB)
        self.reduce = next((s for bit, s in _REDUCED if flags & bit == bit), 1)
        #: "colour" (3 channels), "grey" (1), or "keep" (as stored: BGR, or
        #: grey for a luma-only file) for IMREAD_UNCHANGED / IMREAD_ANYCOLOR
        self.want = "grey"
        if flags & (_COLOR | _COLOR_RGB):
            self.want = "colour"
        elif self.unchanged or flags & _ANYCOLOR:
            self.want = "keep"
        self.orient = not (self.unchanged or flags & _IGNORE_ORIENTATION)


def _orient(img: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) the way cv2.imread does."""
    if orientation in (2, 4, 5, 7):  # mirrored ones
        img = img[:, ::-1] if orientation == 2 else img
        img = img[::-1] if orientation == 4 else img
    if orientation == 3:
        img = img[::-1, ::-1]
    elif orientation in (5, 6, 7, 8):
        t = img.swapaxes(0, 1)
        img = {5: t, 6: t[:, ::-1], 7: t[::-1, ::-1], 8: t[::-1]}[orientation]
    return np.ascontiguousarray(img)


# -- helpers --------------------------------------------------------------------
@lru_cache(maxsize=64)
def _forward_bgr(weights: tuple[float, float, float]) -> np.ndarray:
    return colour.cv2_matrix(colour.forward_matrix(weights)[:, [2, 1, 0, 3]])  # columns B, G, R, offset


@lru_cache(maxsize=64)
def _inverse_bgr(weights: tuple[float, float, float]) -> np.ndarray:
    return colour.cv2_matrix(colour.inverse_matrix(weights)[[2, 1, 0]])  # rows B, G, R


@lru_cache(maxsize=64)
def _inverse_rgb(weights: tuple[float, float, float]) -> np.ndarray:
    return colour.cv2_matrix(colour.inverse_matrix(weights))


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


def _pairs(params: Sequence[int] | np.ndarray | None) -> Iterable[tuple[int, int]]:
    if params is None:
        return []
    values = [int(v) for v in (params.reshape(-1).tolist() if isinstance(params, np.ndarray) else params)]
    if len(values) % 2:
        raise EncodeOptionError(
            f"params must be a flat list of (key, value) pairs, got {len(values)} numbers"
        )
    return list(zip(values[::2], values[1::2], strict=True))


def _flag(name: str, value: int) -> bool:
    if value not in (0, 1):
        raise EncodeOptionError(f"{name} must be 0 or 1, got {value}")
    return bool(value)


def _cv_params(params: Sequence[int] | np.ndarray | None) -> list[int]:
    return [] if params is None else [int(v) for v in np.asarray(params).reshape(-1)]

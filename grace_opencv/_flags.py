"""cv2's flags mapped onto GRACE: ``imwrite`` parameters to encoder options,
``imread`` flags to what a decode returns.

Each cv2 flag that GRACE honours is read here once; one that it cannot honour
is refused with the reason rather than ignored.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import cv2
import numpy as np

from pillow_grace.core import codec
from pillow_grace.core.errors import EncodeOptionError


class CvParamError(EncodeOptionError, cv2.error):
    """Parameters cv2 itself refuses (a float or bool value, a 2-D array, an
    odd count): raised as ``cv2.error`` would be, so code written for cv2
    catches it, and as pillow-grace's :class:`EncodeOptionError`."""


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
            # cv2 clamps to 0..100 with a warning; libjpeg reads 0 as 1
            opts["quality"] = max(1, _clamped("IMWRITE_JPEG_QUALITY", value, 0, 100))
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


def _pairs(params: Sequence[int] | np.ndarray | None) -> Iterable[tuple[int, int]]:
    """cv2's flat ``[key, value, ...]``, checked as cv2 checks it: a 1-D
    sequence or array of integers (a bool or float raises, as in cv2, rather
    than being truncated), of even length."""
    if params is None:
        return []
    if isinstance(params, np.ndarray):
        if params.ndim > 1:
            raise CvParamError(
                f"params must be a flat [key, value, ...] vector; cv2 can't parse a {params.ndim}-D "
                f"array (shape {params.shape}); pass params.reshape(-1) if that is what you mean"
            )
        items = params.tolist() if params.dtype.kind in "iu" else list(params)
    else:
        items = list(params)
    for i, v in enumerate(items):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Integral, np.integer)):
            raise CvParamError(
                f"params item {i} ({v!r}, {type(v).__name__}) has a wrong type: cv2 takes ints only "
                "(it raises for floats and bools rather than truncating them); pass int(value)"
            )
    values = [int(v) for v in items]
    if len(values) % 2:
        raise CvParamError(
            f"params must be a flat list of (key, value) pairs, got {len(values)} numbers"
        )
    return list(zip(values[::2], values[1::2], strict=True))


def _clamped(name: str, value: int, lo: int, hi: int) -> int:
    """``value`` clamped to lo..hi with a warning, as cv2 does for its JPEG parameters."""
    if lo <= value <= hi:
        return value
    fallback = min(max(value, lo), hi)
    warnings.warn(f"The value({value}) for {name} must be {lo}..{hi}; it is clamped to {fallback} "
                  "(as cv2 does)", RuntimeWarning, stacklevel=4)
    return fallback


def _flag(name: str, value: int) -> bool:
    return bool(_clamped(name, value, 0, 1))


def cv_params(params: Sequence[int] | np.ndarray | None) -> Sequence[int] | np.ndarray:
    """``params`` for files handed to cv2: as given (cv2 checks them itself)."""
    return [] if params is None else params


class ReadMode:
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

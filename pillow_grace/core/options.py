"""The GRACE writer's options: :class:`EncodeOptions` and the check of each one.

Options arrive as keywords (Pillow's ``encoderinfo``, ``encode(**kwargs)``)
or, from :mod:`grace_opencv`, mapped from cv2's ``IMWRITE_*`` flags; both
end in :meth:`EncodeOptions.from_mapping`, so each option has one rule.
:mod:`.codec` re-exports :class:`EncodeOptions`, as does the package.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

from pillow_grace.core import metadata
from pillow_grace.core import roi as _roi
from pillow_grace.core.errors import EncodeOptionError
from pillow_grace.core.strategy import MAX_VALUE, SUBSAMPLINGS

#: Pillow's integer spelling of each subsampling (``subsampling=2``), the one
#: its JPEG writer takes.
PIL_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
_SUBSAMPLING_OF_INT = {v: k for k, v in PIL_SUBSAMPLING.items()}


#: Options the GRACE writer understands (see docs/usage.md). ``progression``
#: is Pillow's old spelling of ``progressive``.
OPTIONS = frozenset(
    {"quality", "tradeoff", "subsampling", "optimize", "progressive", "progression", "exif",
     "icc_profile", "comment", "xmp", "dpi", "metadata", "roi", "background", "roi_map"}
)
#: Pillow JPEG options that make no sense here, with the reason.
_REFUSED = {
    "qtables": "the strategy decides the tables; use quality or tradeoff to re-derive them",
    "keep_rgb": "GRACE stores G-YUV planes, never RGB",
    "streamtype": "a GRACE file is always a complete JPEG (tables and image)",
    "smooth": "smoothing would change what the DNN sees; filter the image before saving",
    "restart_marker_blocks": "restart markers are not supported by the GRACE writer",
    "restart_marker_rows": "restart markers are not supported by the GRACE writer",
}
#: JPEG limits a marker segment to 65535 bytes, 65533 of payload.
_MAX_SEGMENT = 65533
#: Largest tradeoff accepted: the allocation parameter's cap in strategy files.
_MAX_TRADEOFF = MAX_VALUE


@dataclass(frozen=True)
class EncodeOptions:
    """Validated encoder options; see ``docs/usage.md`` for each one.

    ``quality`` (1..100) and ``tradeoff`` (the allocation's raw lambda or B)
    re-derive the tables from the strategy's perception model; with neither,
    the strategy's own tables are used exactly."""

    quality: int | None = None
    tradeoff: float | None = None
    subsampling: str | None = None
    optimize: bool = True
    progressive: bool = False
    exif: bytes = b""
    icc_profile: bytes | None = None
    comment: bytes | None = None
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None
    metadata: bool | None = None
    """Write the GRACE segment (name, hash, weights): True, False, or None for the
    strategy's own rule (``codec.writes_segment``)."""
    roi: _roi.Roi | None = None
    """Region of interest: blocks outside it are coded by ``background`` (:mod:`.roi`)."""
    background: _roi.Background | None = None
    roi_map: bool = False
    """Write the ROI map segment (:mod:`.roimap`) when ``roi`` coarsens any block, so that a
    receiver keeping earlier frames (:class:`pillow_grace.BackgroundFill`) can complete them."""

    @classmethod
    def from_mapping(cls, opts: Mapping[str, Any]) -> EncodeOptions:
        """Build from keyword options (Pillow's ``encoderinfo``), checking each.

        Unknown options are refused rather than ignored: a misspelt
        ``qualty=90`` silently producing a default-quality file is the kind of
        mistake that is only noticed in production."""
        for key in opts:
            if key in _REFUSED:
                raise EncodeOptionError(
                    f"option {key!r} is not supported by the GRACE format: {_REFUSED[key]}"
                )
            if key not in OPTIONS:
                raise EncodeOptionError(
                    f"unknown option {key!r} for the GRACE format; supported: {', '.join(sorted(OPTIONS))}"
                )
        quality = opts.get("quality")
        if quality is not None and (
            isinstance(quality, bool)
            or not isinstance(quality, numbers.Integral)
            or not 1 <= int(quality) <= 100
        ):
            raise EncodeOptionError(
                f"quality must be an integer in 1..100 (or None for the strategy's own tables), "
                f"got {quality!r}"
            )
        tradeoff = opts.get("tradeoff")
        if tradeoff is not None:
            if isinstance(tradeoff, bool) or not isinstance(tradeoff, numbers.Real):
                raise EncodeOptionError(f"tradeoff must be a number > 0, got {tradeoff!r}")
            tradeoff = float(tradeoff)
            if not (math.isfinite(tradeoff) and 0 < tradeoff <= _MAX_TRADEOFF):
                raise EncodeOptionError(
                    f"tradeoff must be a finite number in (0, {_MAX_TRADEOFF:g}], got {tradeoff!r}"
                )
            if quality is not None:
                raise EncodeOptionError("give quality or tradeoff, not both")
        return cls(
            quality=None if quality is None else int(quality),
            tradeoff=tradeoff,
            subsampling=_subsampling(opts.get("subsampling")),
            optimize=check_flag("optimize", opts.get("optimize", True)),
            progressive=check_flag("progressive", opts.get("progressive", False))
            or check_flag("progression", opts.get("progression", False)),
            exif=_exif(opts.get("exif")),
            icc_profile=_blob("icc_profile", opts.get("icc_profile"), None),
            comment=check_comment(opts.get("comment")),
            xmp=_blob("xmp", opts.get("xmp"), _MAX_SEGMENT - 29),
            dpi=_dpi(opts.get("dpi")),
            metadata=None if opts.get("metadata") is None else check_flag("metadata", opts["metadata"]),
            roi=None if opts.get("roi") is None else _roi.Roi(opts["roi"]),
            background=None if opts.get("background") is None else _roi.parse_background(opts["background"]),
            roi_map=check_flag("roi_map", opts.get("roi_map", False)),
        )


def _subsampling(value: Any) -> str | None:
    if value is None or value == -1:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value in _SUBSAMPLING_OF_INT:
        return _SUBSAMPLING_OF_INT[value]
    if isinstance(value, str) and value in SUBSAMPLINGS:
        return value
    raise EncodeOptionError(
        f"subsampling must be one of {', '.join(SUBSAMPLINGS)} (or 0, 1, 2 as in Pillow), got {value!r}"
    )


def check_comment(value: Any) -> bytes | None:
    """A JPEG comment (bytes or str) checked as the ``comment`` option is; the
    encoder also applies it to the comment an image read from a file keeps."""
    return _blob("comment", value, _MAX_SEGMENT)


def check_flag(name: str, value: Any) -> bool:
    """A boolean option: True, False, 1 or 0 (Pillow passes its own flags as ints)."""
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    raise EncodeOptionError(f"{name} must be True or False, got {value!r}")


def _blob(name: str, value: Any, limit: int | None) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray)):
        raise EncodeOptionError(f"{name} must be bytes (or str), got {type(value).__name__}")
    if limit is not None and len(value) > limit:
        raise EncodeOptionError(f"{name} is {len(value)} bytes; a JPEG marker holds at most {limit}")
    _refuse_lookalike(name, value)
    return bytes(value) or None


def _refuse_lookalike(name: str, value: bytes | bytearray) -> None:
    """The writer never writes a file its own reader refuses: a segment that
    looks like (the remains of) a GRACE metadata segment makes readers
    reject the file as damaged."""
    if metadata.mimics_segment(bytes(value)):
        raise EncodeOptionError(
            f"{name} holds what looks like a GRACE metadata segment ('GRACE' identifier or its layout, "
            "anywhere in it), which "
            f"readers would take for a damaged GRACE segment; change the {name} data"
        )


def _exif(value: Any) -> bytes:
    if isinstance(value, Image.Exif):
        value = value.tobytes()
    if value is None:
        return b""
    if not isinstance(value, (bytes, bytearray)):
        raise EncodeOptionError(f"exif must be bytes or PIL.Image.Exif, got {type(value).__name__}")
    if len(value) > _MAX_SEGMENT:
        raise EncodeOptionError(f"exif is {len(value)} bytes; a JPEG marker holds at most {_MAX_SEGMENT}")
    _refuse_lookalike("exif", value)
    return bytes(value)


def _dpi(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 < float(v) <= 65535 for v in value
        )
    )
    if not ok:
        raise EncodeOptionError(f"dpi must be (x, y) with numbers in (0, 65535], got {value!r}")
    return (float(value[0]), float(value[1]))

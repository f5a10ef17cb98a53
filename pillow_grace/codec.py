"""The GRACE encoder: image + strategy -> baseline JFIF JPEG with G-YUV planes.

This is the one place that knows how a GRACE file is written; the Pillow
plugin and the OpenCV drop-in are thin adapters over :func:`encode` and
:func:`encode_planes`. Only Pillow and numpy are used: a device never needs
torch (or OpenCV) to encode.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from PIL import Image

from . import colour, tables
from .errors import EncodeOptionError, UnsupportedModeError
from .metadata import GraceMetadata
from .registry import load_strategy
from .strategy import SUBSAMPLINGS, Strategy

StrategyLike = str | os.PathLike[str] | Strategy

_PIL_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
_INT_SUBSAMPLING = {v: k for k, v in _PIL_SUBSAMPLING.items()}
#: JPEG stores dimensions in 16 bits.
MAX_DIMENSION = 65535


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
    dpi: tuple[int, int] | None = None

    @classmethod
    def from_mapping(cls, opts: Mapping[str, Any]) -> EncodeOptions:
        """Build from keyword options (Pillow's ``encoderinfo``), checking each."""
        quality = opts.get("quality")
        if quality is not None:
            if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
                raise EncodeOptionError(f"quality must be an integer in 1..100, got {quality!r}")
        tradeoff = opts.get("tradeoff")
        if tradeoff is not None and quality is not None:
            raise EncodeOptionError("give quality or tradeoff, not both")
        subsampling = opts.get("subsampling")
        if subsampling is not None and subsampling != -1:
            if isinstance(subsampling, int) and not isinstance(subsampling, bool):
                if subsampling not in _INT_SUBSAMPLING:
                    raise EncodeOptionError(
                        f"subsampling must be 0 (4:4:4), 1 (4:2:2) or 2 (4:2:0), got {subsampling!r}"
                    )
                subsampling = _INT_SUBSAMPLING[subsampling]
            elif subsampling not in SUBSAMPLINGS:
                raise EncodeOptionError(
                    f"subsampling must be one of {', '.join(SUBSAMPLINGS)}, got {subsampling!r}"
                )
        else:
            subsampling = None
        comment = opts.get("comment")
        if isinstance(comment, str):
            comment = comment.encode("utf-8")
        exif = opts.get("exif") or b""
        if isinstance(exif, Image.Exif):
            exif = exif.tobytes()
        dpi = opts.get("dpi")
        return cls(
            quality=quality,
            tradeoff=tradeoff,
            subsampling=subsampling,
            optimize=bool(opts.get("optimize", True)),
            progressive=bool(opts.get("progressive", False) or opts.get("progression", False)),
            exif=exif,
            icc_profile=opts.get("icc_profile"),
            comment=comment,
            dpi=tuple(dpi) if dpi else None,  # type: ignore[arg-type]
        )


def encode(
    image: Image.Image,
    fp: IO[bytes] | str | os.PathLike[str],
    strategy: StrategyLike,
    options: EncodeOptions | None = None,
    **kwargs: Any,
) -> None:
    """Write ``image`` as a GRACE JPEG.

    ``strategy`` is a name, a path to a strategy JSON, or a :class:`Strategy`.
    Options are an :class:`EncodeOptions` or keywords (quality, tradeoff,
    subsampling, optimize, progressive, exif, icc_profile, comment, dpi)."""
    strat = resolve_strategy(strategy)
    opts = options if options is not None else EncodeOptions.from_mapping(kwargs)
    exif = opts.exif or image.info.get("exif", b"")
    if exif and not opts.exif:
        opts = _replace(opts, exif=exif)
    planes = to_planes(image, strat)
    encode_planes(planes, fp, strat, opts)


def to_planes(image: Image.Image, strategy: Strategy) -> Image.Image:
    """Convert an image to what is stored: G-YUV planes (mode YCbCr) or luma (L).

    Conversions are lossless or refused (docs/usage.md, "Input modes")."""
    w, h = image.size
    if w == 0 or h == 0:
        raise EncodeOptionError(f"cannot encode an empty image ({w}x{h})")
    if w > MAX_DIMENSION or h > MAX_DIMENSION:
        raise EncodeOptionError(f"JPEG holds at most {MAX_DIMENSION}x{MAX_DIMENSION} pixels, got {w}x{h}")
    mode = image.mode
    if mode == "L":
        return image
    if mode == "1":
        return image.convert("L")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        if not _alpha_is_opaque(image):
            raise UnsupportedModeError(
                f"cannot write mode {mode} with transparent pixels as GRACE JPEG (JPEG has no alpha); "
                "composite it onto a background first, or call .convert('RGB') to drop the alpha"
            )
        image = image.convert("L" if mode == "LA" else "RGB")
        mode = image.mode
        if mode == "L":
            return image
    elif mode in ("P", "RGBX", "YCbCr"):
        image = image.convert("RGB")  # palette lookup / padding drop / BT.601 inverse
    elif mode == "CMYK":
        raise UnsupportedModeError(
            "cannot write mode CMYK as GRACE JPEG: converting CMYK to RGB needs colour "
            "management; convert with PIL.ImageCms (or .convert('RGB') if a naive conversion is fine)"
        )
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        raise UnsupportedModeError(
            f"cannot write mode {mode} as GRACE JPEG: baseline JPEG holds 8-bit samples; "
            "scale to 8 bits first, e.g. im.point(lambda v: v / 256).convert('L') for 16-bit data"
        )
    elif mode != "RGB":
        raise UnsupportedModeError(
            f"cannot write mode {mode} as GRACE JPEG; convert to RGB or L first"
        )
    return colour.rgb_to_planes(image, strategy.weights)


def encode_planes(
    planes: Image.Image,
    fp: IO[bytes] | str | os.PathLike[str],
    strategy: Strategy,
    options: EncodeOptions | None = None,
) -> None:
    """Write planes that are already in G-YUV (mode YCbCr) or luma (mode L).

    Adapters that have a faster colour conversion at hand (OpenCV) call this
    directly; everything else about the file is decided here."""
    opts = options or EncodeOptions()
    if planes.mode not in ("YCbCr", "L"):
        raise ValueError(f"encode_planes needs mode YCbCr or L, got {planes.mode!r}")
    qtables = tables_for(strategy, opts.quality, opts.tradeoff)
    meta = GraceMetadata(strategy.name, strategy.content_hash, strategy.weights)
    subsampling = opts.subsampling or strategy.subsampling
    params: dict[str, Any] = {
        "qtables": [list(qtables[0])] if planes.mode == "L" else [list(t) for t in qtables],
        "optimize": opts.optimize,
        "progressive": opts.progressive,
        "extra": meta.to_segment(),
    }
    if planes.mode == "YCbCr":
        params["subsampling"] = _PIL_SUBSAMPLING[subsampling]
    if opts.exif:
        params["exif"] = opts.exif
    if opts.icc_profile:
        params["icc_profile"] = opts.icc_profile
    if opts.comment:
        params["comment"] = opts.comment
    if opts.dpi:
        params["dpi"] = opts.dpi
    planes.save(fp, "JPEG", **params)


_table_cache: dict[tuple[str, str, float], tuple[tuple[int, ...], ...]] = {}
_table_lock = threading.Lock()


def tables_for(
    strategy: Strategy, quality: int | None = None, tradeoff: float | None = None
) -> tuple[tuple[int, ...], ...]:
    """The strategy's own tables, or tables re-derived for a quality/tradeoff."""
    if quality is None and tradeoff is None:
        return strategy.tables
    if strategy.perception is None:
        raise EncodeOptionError(
            f"strategy {strategy.name!r} stores no perception model, so its tables cannot be "
            "re-derived for quality/tradeoff; omit those options to use its own tables"
        )
    method = strategy.allocation.method if strategy.allocation else "lagrangian"
    param = tradeoff if tradeoff is not None else tables.quality_to_parameter(method, quality)  # type: ignore[arg-type]
    key = (strategy.content_hash, method, float(param))
    with _table_lock:
        hit = _table_cache.get(key)
    if hit is None:
        hit = tables.derive_tables(strategy.perception, method, float(param))
        with _table_lock:
            if len(_table_cache) > 256:
                _table_cache.clear()
            _table_cache[key] = hit
    return hit


def resolve_strategy(strategy: StrategyLike) -> Strategy:
    if isinstance(strategy, Strategy):
        return strategy
    if isinstance(strategy, (str, os.PathLike)):
        return load_strategy(strategy)
    raise EncodeOptionError(
        f"strategy must be a name, a path to a strategy JSON or a Strategy, got {type(strategy).__name__}"
    )


def _alpha_is_opaque(image: Image.Image) -> bool:
    if image.mode == "P":
        image = image.convert("RGBA")
    elif image.mode == "PA":
        image = image.convert("RGBA")
    alpha = image.getchannel("A")
    lo, _hi = alpha.getextrema()  # type: ignore[misc]
    return lo == 255


def _replace(opts: EncodeOptions, **changes: Any) -> EncodeOptions:
    from dataclasses import replace

    return replace(opts, **changes)

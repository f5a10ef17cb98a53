"""The GRACE encoder: image + strategy -> baseline JFIF JPEG with G-YUV planes.

This is the one place that knows how a GRACE file is written; the Pillow
plugin and the OpenCV drop-in are thin adapters over :func:`encode`,
:func:`encode_planes` and :func:`jpeg_bytes`. Every decision about the file
(tables, subsampling, GRACE segment, DQT list, Pillow's parameters, output
buffer) is made once, from the strategy and the options, in an
:class:`EncodePlan` that the writer and the adapters read. Only Pillow and
numpy are used: a device never needs torch (or OpenCV) to encode. The
options and their checks are in :mod:`.options` (:class:`EncodeOptions` is
re-exported here); writing the bytes to a path safely is :mod:`._io`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import IO, Any

from PIL import Image

from pillow_grace.core import _io, colour, roi
from pillow_grace.core.errors import EncodeOptionError, UnsupportedModeError
from pillow_grace.core.options import EncodeOptions, check_comment  # EncodeOptions: re-exported

# The plan and its parts, re-exported: callers have always found them here.
from pillow_grace.core.plan import (
    EncodePlan,
    StrategyLike,
    encoder_buffer,
    refuse_lookalike_header,
    resolve_strategy,
    subsampling_for,
    tables_for,
    whole_file_buffer,
    writes_segment,
)
from pillow_grace.core.registry import available_strategies
from pillow_grace.core.strategy import Strategy

__all__ = [
    "MAX_DIMENSION", "EncodeOptions", "EncodePlan", "StrategyLike", "check_encode", "check_image",
    "check_size", "encode", "encode_planes", "jpeg_bytes", "refuse_lookalike_header", "require_strategy",
    "resolve_strategy", "subsampling_for", "tables_for", "to_planes", "transparency_error",
    "whole_file_buffer", "write_planes", "writes_segment",
]

#: libjpeg's JPEG_MAX_DIMENSION: the format's 16-bit fields could say 65535,
#: but libjpeg refuses anything over 65500 on a side.
MAX_DIMENSION = 65500


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
    subsampling, optimize, progressive, exif, icc_profile, comment, xmp, dpi,
    metadata).

    A path is written through a temporary file in the same directory that is
    renamed into place once complete, so an error (a full disk included)
    never leaves a truncated or empty file behind, and the path keeps its
    permissions and stays a symlink if it was one (:mod:`._io`); a device
    node or FIFO is refused (pass an open file object to write into it).
    ``Image.save`` truncates an existing file before any plugin runs; see
    :func:`check_encode`. A file object gets every byte or the call raises.

    Safe to call from several threads at once, also on the same image once
    it is loaded (``image.load()``): nothing is stored on the image, unlike
    ``Image.save``, which keeps its options in ``image.encoderinfo``."""
    strat, opts = _prepare(image, strategy, options, kwargs)
    planes = to_planes(image, strat)
    write_planes(planes, fp, EncodePlan.build(strat, opts))


def check_encode(
    image: Image.Image, strategy: StrategyLike, options: EncodeOptions | None = None, **kwargs: Any
) -> None:
    """Raise the error :func:`encode` would raise for this image, strategy and
    options, without converting or writing anything.

    ``Image.save(path, "GRACE", ...)`` opens (and so truncates) ``path``
    before the plugin sees the options: Pillow offers no hook before that.
    Call this first when overwriting a file that must survive a bad option,
    or use :func:`encode`, which writes to a temporary file and renames."""
    strat, opts = _prepare(image, strategy, options, kwargs)
    check_image(image)
    EncodePlan.build(strat, opts)


def _prepare(
    image: Image.Image, strategy: StrategyLike, options: EncodeOptions | None, kwargs: Mapping[str, Any]
) -> tuple[Strategy, EncodeOptions]:
    if options is not None and kwargs:
        raise EncodeOptionError("give options as an EncodeOptions or as keywords, not both")
    strat = resolve_strategy(strategy)
    opts = options if options is not None else EncodeOptions.from_mapping(kwargs)
    if opts.comment is None and image.info.get("comment"):
        # As Pillow's JPEG writer does: an image read from a file keeps its comment.
        opts = replace(opts, comment=check_comment(image.info["comment"]))
    return strat, opts


def require_strategy(strategy: StrategyLike | None, example: str) -> StrategyLike:
    """Refuse a missing strategy, listing the installed ones; ``example``
    shows the adapter's own call with ``strategy=``."""
    if strategy is None:
        raise EncodeOptionError(
            f"a GRACE JPEG needs a strategy: {example}; "
            f"available: {', '.join(available_strategies()) or 'none installed'} "
            "(a path to a strategy .json file or a pillow_grace.Strategy also works)"
        )
    return strategy


def check_size(width: int, height: int) -> None:
    """Refuse sizes that libjpeg cannot write (empty, or over MAX_DIMENSION)."""
    if width <= 0 or height <= 0:
        raise EncodeOptionError(f"cannot encode an empty image ({width}x{height})")
    if width > MAX_DIMENSION or height > MAX_DIMENSION:
        raise EncodeOptionError(
            f"libjpeg writes at most {MAX_DIMENSION}x{MAX_DIMENSION} pixels, got {width}x{height}; "
            "resize or tile the image"
        )


def transparency_error(what: str, drop_alpha: str) -> UnsupportedModeError:
    """The refusal of an image with transparent pixels; ``drop_alpha`` is the
    adapter's way to drop the alpha when that is what the caller wants."""
    return UnsupportedModeError(
        f"cannot write {what} with transparent pixels as GRACE JPEG (JPEG has no alpha); "
        f"composite it onto a background first, or call {drop_alpha} if dropping the alpha is what you want"
    )


#: Modes that Pillow gives a colour key (``info["transparency"]``, PNG's tRNS):
#: with the key, they carry alpha as a palette image with a transparent entry does.
_KEYED_MODES = ("1", "L", "RGB")


#: Modes with an alpha band: written only when fully opaque.
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def _has_alpha(image: Image.Image) -> bool:
    """Whether the image carries alpha: an alpha band, a transparent palette
    entry or colour key (``info["transparency"]``), or an RGBA palette (what
    ``RGBA.quantize()`` makes)."""
    if image.mode in _ALPHA_MODES:
        return True
    if image.mode in _KEYED_MODES:
        return image.info.get("transparency") is not None
    if image.mode != "P":
        return False
    return "transparency" in image.info or (image.palette is not None and image.palette.mode == "RGBA")


def check_image(image: Image.Image) -> None:
    """Refuse an image whose size or mode cannot be written exactly (the
    rules of :func:`to_planes`, without converting the pixels)."""
    check_size(*image.size)
    if _has_alpha(image):
        _opaque_bands(image)
    else:
        _check_mode(image.mode)


#: Modes written without alpha handling (see to_planes).
_PLAIN_MODES = ("L", "1", "P", "RGB", "RGBX", "YCbCr")


def _check_mode(mode: str) -> None:
    """Refuse a mode (without alpha) that cannot be written exactly."""
    if mode in _PLAIN_MODES:
        return
    if mode == "CMYK":
        raise UnsupportedModeError(
            "cannot write mode CMYK as GRACE JPEG: turning ink amounts into RGB needs colour "
            "management; convert with PIL.ImageCms.profileToProfile(...) first, or .convert('RGB') "
            "if Pillow's naive conversion is good enough"
        )
    if mode.startswith("I;16") or mode in ("I", "F"):
        raise UnsupportedModeError(
            f"cannot write mode {mode} as GRACE JPEG: baseline JPEG holds 8-bit samples, and Pillow's "
            "convert('L') clips instead of scaling; scale to 8 bits yourself, e.g. for 16-bit data "
            "Image.fromarray((numpy.asarray(im) >> 8).astype('uint8'))"
        )
    raise UnsupportedModeError(f"cannot write mode {mode} as GRACE JPEG; convert it to RGB or L first")


def _opaque_bands(image: Image.Image) -> tuple[Image.Image, ...]:
    """The bands of an image with alpha, alpha last; refused unless opaque."""
    # P/PA through RGBA so the palette's transparency applies, a colour key
    # through LA/RGBA so that it does; RGBa and La (premultiplied) equal RGBA
    # and LA where alpha is 255.
    if image.mode in _KEYED_MODES:
        with_alpha = image.convert("RGBA" if image.mode == "RGB" else "LA")
    else:
        with_alpha = image.convert("RGBA") if image.mode in ("P", "PA") else image
    bands = with_alpha.split()
    lo, _hi = bands[-1].getextrema()  # type: ignore[misc]
    if lo != 255:
        if image.mode in _KEYED_MODES:
            what = f"mode {image.mode} with a transparent colour key (info['transparency'])"
            raise transparency_error(what, "image.info.pop('transparency')")
        raise transparency_error(f"mode {image.mode}", ".convert('RGB')")
    return bands


def to_planes(image: Image.Image, strategy: Strategy) -> Image.Image:
    """Convert an image to what is handed to libjpeg: G-YUV planes (mode
    YCbCr), luma (L), or, for BT.601 weights, RGB (libjpeg's own SIMD
    conversion is then exactly the G-YUV transform, see :mod:`.colour`).

    Conversions are exact or refused; never a silently different picture:

    * RGB: G-YUV planes. L: stored as is (one component, the Y table).
      1: to L (0/255, exact).
    * P (palette): expanded to RGB.
    * RGBA, RGBa, LA, La, PA, P with a transparent colour or an RGBA
      palette, and 1, L or RGB with a colour key (``info["transparency"]``):
      written as RGB (or L) only if every pixel is fully opaque, else refused
      (JPEG has no alpha, and dropping it would change the picture).
    * RGBX: the padding byte is dropped. YCbCr: JPEG's BT.601 inverse to RGB.
    * CMYK, I;16*, I, F, LAB, HSV: refused with the conversion to use.

    The G-YUV planes may be a per-thread image that the next call in this
    thread overwrites: hand them to :func:`encode_planes` before then.
    """
    check_size(*image.size)
    if _has_alpha(image):
        bands = _opaque_bands(image)
        if len(bands) == 2:
            return bands[0]  # LA, La: the luma band
        rgb = Image.merge("RGB", bands[:3])
    else:
        _check_mode(image.mode)
        if image.mode == "L":
            return _private(image)
        if image.mode == "1":
            return image.convert("L")
        # palette expansion / padding drop / BT.601 inverse; RGB as it is
        rgb = image if image.mode == "RGB" else image.convert("RGB")
    if colour.is_libjpeg_transform(strategy.weights):
        return _private(rgb) if rgb is image else rgb  # the caller's object is never saved
    return colour.rgb_to_planes(rgb, strategy.weights, scratch=True)


def _private(image: Image.Image) -> Image.Image:
    """A new Image object sharing ``image``'s pixels (no copy): saving sets
    ``encoderinfo`` on the object, so concurrent encodes of one image must each
    save their own object (see :func:`encode_planes`), and copying 8 MB per
    frame would cost as much as a tenth of the encode."""
    image.load()
    return image._new(image.im)


def encode_planes(
    planes: Image.Image,
    fp: IO[bytes] | str | os.PathLike[str],
    strategy: Strategy,
    options: EncodeOptions | None = None,
) -> None:
    """Write planes that are already in G-YUV (mode YCbCr) or luma (mode L),
    or an RGB image for a strategy with BT.601 weights (libjpeg converts it).

    Adapters that have a faster colour conversion at hand (OpenCV) call this
    or :func:`jpeg_bytes` directly; everything else about the file is decided
    in the :class:`EncodePlan`. A path is written as :func:`encode` writes it.

    ``planes`` must not be saved by another thread at the same time: Pillow
    keeps save options on the Image object (``encoderinfo``) during a save.
    :func:`to_planes` always returns a fresh object, so :func:`encode` is safe."""
    write_planes(planes, fp, EncodePlan.build(strategy, options))


def write_planes(planes: Image.Image, fp: IO[bytes] | str | os.PathLike[str], plan: EncodePlan) -> None:
    """Write the file of ``planes`` by ``plan`` to a path (replaced atomically,
    :func:`._io.replace_file`) or a file object (every byte, or raise)."""
    data = jpeg_bytes(planes, plan)
    if isinstance(fp, (str, os.PathLike)):
        _io.replace_file(fp, data)
    else:
        _io.write_all(fp, data)


def jpeg_bytes(planes: Image.Image, plan: EncodePlan) -> memoryview:
    """The GRACE JPEG of ``planes`` (see :func:`encode_planes`) by ``plan``, in memory.

    Written to memory first so that a caller can check that every byte
    reaches its file: Pillow's writer to a file ignores short writes."""
    if planes.mode == "RGB" and not plan.libjpeg_colour:
        raise ValueError(
            f"encode_planes takes RGB only for BT.601 weights; convert to G-YUV planes for "
            f"{plan.strategy.weights}"
        )
    if planes.mode not in ("YCbCr", "L", "RGB"):
        raise ValueError(f"encode_planes needs mode YCbCr, L or RGB, got {planes.mode!r}")
    check_size(*planes.size)
    opts = plan.options
    planes, block_map = roi.apply(planes, opts.roi, opts.background, plan.tables, plan.subsampling)
    out = io.BytesIO()
    params = plan.jpeg_params(planes.mode)
    if opts.roi_map and block_map is not None:
        try:
            segment = block_map.to_segment()
        except ValueError as e:
            raise EncodeOptionError(f"roi_map: {e}; give the ROI per 16x16 block or as boxes, "
                                    "or leave roi_map off") from None
        params["extra"] = params.get("extra", b"") + segment
    needed = plan.buffer_size(planes.size, planes.mode)
    if needed is None:
        planes.save(out, "JPEG", **params)
    else:
        with encoder_buffer(needed):
            planes.save(out, "JPEG", **params)
    return out.getbuffer()

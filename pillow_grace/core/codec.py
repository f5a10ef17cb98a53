"""The GRACE encoder: image + strategy -> baseline JFIF JPEG with G-YUV planes.

This is the one place that knows how a GRACE file is written; the Pillow
plugin and the OpenCV drop-in are thin adapters over :func:`encode` and
:func:`encode_planes`. Only Pillow and numpy are used: a device never needs
torch (or OpenCV) to encode. The options and their checks are in
:mod:`.options` (:class:`EncodeOptions` is re-exported here).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import IO, Any

from PIL import Image, ImageFile

from pillow_grace.core import colour, roi, tables
from pillow_grace.core.errors import EncodeOptionError, UnsupportedModeError
from pillow_grace.core.metadata import GraceMetadata
from pillow_grace.core.options import (  # EncodeOptions: re-exported
    PIL_SUBSAMPLING,
    EncodeOptions,
    check_comment,
)
from pillow_grace.core.registry import available_strategies, load_strategy
from pillow_grace.core.strategy import Allocation, Strategy

StrategyLike = str | os.PathLike[str] | Strategy

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
    renamed into place once complete, so an error never leaves a truncated or
    empty file behind (``Image.save`` truncates an existing file before any
    plugin runs; see :func:`check_encode`).

    Safe to call from several threads at once, also on the same image once
    it is loaded (``image.load()``): nothing is stored on the image, unlike
    ``Image.save``, which keeps its options in ``image.encoderinfo``."""
    strat, opts = _prepare(image, strategy, options, kwargs)
    planes = to_planes(image, strat)
    encode_planes(planes, fp, strat, opts)


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
    tables_for(strat, opts.quality, opts.tradeoff)
    writes_segment(strat, opts)


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


#: Modes with an alpha band: written only when fully opaque.
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def _has_alpha(image: Image.Image) -> bool:
    """Whether the image carries alpha: an alpha band, a transparent palette
    entry, or an RGBA palette (what ``RGBA.quantize()`` makes)."""
    if image.mode in _ALPHA_MODES:
        return True
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
    # P/PA through RGBA so the palette's transparency applies; RGBa and La
    # (premultiplied) equal RGBA and LA where alpha is 255.
    with_alpha = image.convert("RGBA") if image.mode in ("P", "PA") else image
    bands = with_alpha.split()
    lo, _hi = bands[-1].getextrema()  # type: ignore[misc]
    if lo != 255:
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
    * RGBA, RGBa, LA, La, PA, and P with a transparent colour or an RGBA
      palette: written as RGB (or L) only if every pixel is fully opaque,
      else refused (JPEG has no alpha, and dropping it would change the picture).
    * RGBX: the padding byte is dropped. YCbCr: JPEG's BT.601 inverse to RGB.
    * CMYK, I;16*, I, F, LAB, HSV: refused with the conversion to use.

    The G-YUV planes may be a per-thread image that the next call in this
    thread overwrites: hand them to :func:`encode_planes` before then.
    """
    check_size(*image.size)
    mode = image.mode
    if not _has_alpha(image):
        _check_mode(mode)
    if mode == "L":
        return _private(image)
    if mode == "1":
        return image.convert("L")
    if _has_alpha(image):
        bands = _opaque_bands(image)
        if len(bands) == 2:
            return bands[0]  # LA, La: the luma band
        image = Image.merge("RGB", bands[:3])
    elif mode in ("P", "RGBX", "YCbCr"):
        image = image.convert("RGB")  # palette expansion / padding drop / BT.601 inverse
    if colour.is_libjpeg_transform(strategy.weights):
        return _private(image) if image.mode == mode else image
    return colour.rgb_to_planes(image, strategy.weights, scratch=True)


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
    directly; everything else about the file is decided here. A path is
    written to a temporary file and renamed into place (see :func:`encode`).

    ``planes`` must not be saved by another thread at the same time: Pillow
    keeps save options on the Image object (``encoderinfo``) during a save.
    :func:`to_planes` always returns a fresh object, so :func:`encode` is safe."""
    opts = options or EncodeOptions()
    if planes.mode == "RGB" and not colour.is_libjpeg_transform(strategy.weights):
        raise ValueError(
            f"encode_planes takes RGB only for BT.601 weights; convert to G-YUV planes for {strategy.weights}"
        )
    if planes.mode not in ("YCbCr", "L", "RGB"):
        raise ValueError(f"encode_planes needs mode YCbCr, L or RGB, got {planes.mode!r}")
    check_size(*planes.size)
    if isinstance(fp, (str, os.PathLike)):
        _write_atomically(planes, os.fspath(fp), strategy, opts)
    else:
        _write(planes, fp, strategy, opts)


def _write_atomically(planes: Image.Image, path: str, strategy: Strategy, opts: EncodeOptions) -> None:
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    # os.open with 0o666 honours the umask, as open(path, "wb") would (mkstemp makes 0600 files).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            _write(planes, f, strategy, opts)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def writes_segment(strategy: Strategy, opts: EncodeOptions) -> bool:
    """Whether the file gets the GRACE segment (strategy name, content hash, weights).

    By default every file does, except a fitter's fallback (``allocation.method
    "reference"``: libjpeg's standard tables) with BT.601 weights: the fit found
    that standard JPEG serves the model best, and the segment would only add
    about 155 bytes (1-2 % of a 224x224 frame) to a file any decoder reads
    exactly without it; such a file opens as plain JPEG. ``metadata=True``
    keeps the segment anyway; ``metadata=False`` drops it, which only BT.601
    weights allow: other weights cannot be decoded without it."""
    if opts.metadata is False:
        if not colour.is_libjpeg_transform(strategy.weights):
            raise EncodeOptionError(
                f"metadata=False needs BT.601 weights, but strategy {strategy.name!r} has weights "
                f"{tuple(round(w, 4) for w in strategy.weights)}: a decoder needs them from the GRACE "
                "segment to restore the colours; keep metadata=True (or leave it unset)"
            )
        return False
    if opts.metadata is True:
        return True
    plain = strategy.allocation is not None and strategy.allocation.method == "reference"
    return not (plain and colour.is_libjpeg_transform(strategy.weights))


def _dqt_tables(qtables: tuple[tuple[int, ...], ...], mode: str) -> list[list[int]]:
    """The tables written: the luma table alone for a luma image; two where V's table is
    U's (libjpeg then gives V table 1, as standard JPEG does: 69 bytes fewer, and a
    fallback's file is exactly standard JPEG); else one per component."""
    if mode == "L":
        return [list(qtables[0])]
    if tuple(qtables[2]) == tuple(qtables[1]):
        return [list(qtables[0]), list(qtables[1])]
    return [list(t) for t in qtables]


def _write(planes: Image.Image, fp: IO[bytes], strategy: Strategy, opts: EncodeOptions) -> None:
    qtables = tables_for(strategy, opts.quality, opts.tradeoff)
    subsampling = opts.subsampling or subsampling_for(strategy, opts.quality, opts.tradeoff)
    planes = roi.apply(planes, opts.roi, opts.background, qtables, subsampling)
    params: dict[str, Any] = {
        # quality=-1 with qtables: libjpeg stores the tables unscaled.
        "quality": -1,
        "qtables": _dqt_tables(qtables, planes.mode),
        "optimize": opts.optimize,
        "progressive": opts.progressive,
    }
    if writes_segment(strategy, opts):
        params["extra"] = GraceMetadata(strategy.name, strategy.content_hash, strategy.weights).to_segment()
    if planes.mode != "L":
        params["subsampling"] = PIL_SUBSAMPLING[subsampling]
    if opts.exif:
        params["exif"] = opts.exif
    if opts.icc_profile:
        params["icc_profile"] = opts.icc_profile
    if opts.comment:
        params["comment"] = opts.comment
    if opts.xmp:
        params["xmp"] = opts.xmp
    if opts.dpi:
        params["dpi"] = opts.dpi
    if not (opts.optimize or opts.progressive):
        planes.save(fp, "JPEG", **params)  # single pass: libjpeg streams through any buffer
        return
    # Multi-pass encodes (Huffman optimisation, progressive) need the whole
    # output in Pillow's buffer, which it sizes at about 2 bytes per pixel.
    # Fine tables on noisy content need more (measured up to 1.6 bytes per
    # *sample*), and libjpeg then fails ("Suspension not allowed here"). The
    # buffer is only reserved address space: pages are touched as written.
    with _output_buffer(_worst_case_size(planes, subsampling)):
        planes.save(fp, "JPEG", **params)


def _worst_case_size(planes: Image.Image, subsampling: str) -> int:
    """Bytes a baseline JPEG of ``planes`` can take: 4 per sample, plus headers.

    Measured worst cases (binary noise, all-ones tables) stay under 1.7 bytes
    per sample; a coefficient costs at most 16 code + 11 extra bits."""
    w, h = planes.size
    per_pixel = 1.0 if planes.mode == "L" else {"4:4:4": 3.0, "4:2:2": 2.0, "4:2:0": 1.5}[subsampling]
    return int(4 * per_pixel * w * h) + (1 << 20)


_maxblock_lock = threading.Lock()
_maxblock_users = 0
_maxblock_saved = ImageFile.MAXBLOCK


@contextmanager
def _output_buffer(size: int) -> Iterator[None]:
    """Raise Pillow's minimum encoder buffer (ImageFile.MAXBLOCK) to ``size``
    while the block runs. Pillow has no per-call setting; the module global is
    restored when the last concurrent user leaves (others' saves meanwhile
    just get a larger buffer)."""
    global _maxblock_users, _maxblock_saved
    with _maxblock_lock:
        if _maxblock_users == 0:
            _maxblock_saved = ImageFile.MAXBLOCK
        _maxblock_users += 1
        ImageFile.MAXBLOCK = max(ImageFile.MAXBLOCK, size)
    try:
        yield
    finally:
        with _maxblock_lock:
            _maxblock_users -= 1
            if _maxblock_users == 0:
                ImageFile.MAXBLOCK = _maxblock_saved


_table_cache: dict[tuple[str, str, str, float], tuple[tuple[int, ...], ...]] = {}
_table_lock = threading.Lock()


def tables_for(
    strategy: Strategy, quality: int | None = None, tradeoff: float | None = None
) -> tuple[tuple[int, ...], ...]:
    """The strategy's own tables, or tables re-derived for a quality/tradeoff."""
    if quality is None and tradeoff is None:
        return strategy.tables
    if tradeoff is None and tables.reference_applies(strategy.allocation, quality):
        return tables.derive_tables(None, "reference", float(quality))  # type: ignore[arg-type]
    allocation = strategy.allocation or Allocation("lagrangian", 1.0)
    method = allocation.method
    if strategy.perception is None and method != "reference":
        raise EncodeOptionError(
            f"strategy {strategy.name!r} stores no perception model, so its tables cannot be "
            "re-derived for quality/tradeoff; omit those options to use its own tables"
        )
    # Keyed on what was asked for: mapping a quality to a parameter is itself
    # a search (~15 ms), so it is cached along with the tables.
    asked = ("tradeoff", float(tradeoff)) if tradeoff is not None else ("quality", float(quality))  # type: ignore[arg-type]
    key = (strategy.content_hash, method, *asked)
    with _table_lock:
        hit = _table_cache.get(key)
    if hit is None:
        param = tradeoff if tradeoff is not None else tables.parameter_for_quality(
            allocation, strategy.perception, quality  # type: ignore[arg-type]
        )
        hit = tables.derive_tables(strategy.perception, method, float(param))
        with _table_lock:
            if len(_table_cache) > 256:
                _table_cache.clear()
            _table_cache[key] = hit
    return hit


def subsampling_for(strategy: Strategy, quality: int | None = None, tradeoff: float | None = None) -> str:
    """The strategy's subsampling, or 4:4:4 where ``quality`` is written as standard JPEG 4:4:4."""
    if tradeoff is None and tables.reference_applies(strategy.allocation, quality):
        return "4:4:4"
    return strategy.subsampling


def resolve_strategy(strategy: StrategyLike) -> Strategy:
    if isinstance(strategy, Strategy):
        return strategy
    if isinstance(strategy, (str, os.PathLike)):
        return load_strategy(strategy)
    raise EncodeOptionError(
        f"strategy must be a name, a path to a strategy JSON or a Strategy, got {type(strategy).__name__}"
    )

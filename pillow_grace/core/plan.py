"""The encoder's plan: every decision about a GRACE file, made once.

:class:`EncodePlan` holds what a file is written with (tables, subsampling,
GRACE segment), derived from a strategy and the encoder options, and the
rules that follow from them and the image (the DQT list, Pillow's writer
parameters, the output buffer). :mod:`.codec` writes by it; the adapters
read it rather than re-deriving any of these. :func:`tables_for`,
:func:`subsampling_for` and :func:`writes_segment` are its parts, public for
tools that need one decision alone (the bench, the block-floor script).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageFile

from pillow_grace.core import colour, metadata, tables
from pillow_grace.core._fields import StrategyName
from pillow_grace.core.errors import EncodeOptionError
from pillow_grace.core.metadata import GraceMetadata
from pillow_grace.core.options import PIL_SUBSAMPLING, EncodeOptions
from pillow_grace.core.registry import load_strategy
from pillow_grace.core.strategy import Allocation, Strategy

StrategyLike = str | os.PathLike[str] | Strategy


@dataclass(frozen=True)
class EncodePlan:
    """Every decision about a GRACE file, made once from a strategy and options.

    The writer (:func:`write_planes`) and the adapters read this instead of
    re-deriving the tables, the subsampling or the segment in several places,
    so a per-call input added to the encoder changes one constructor
    (:meth:`build`) and the fields it fills. The parts that depend on the
    image (one DQT table for luma, the buffer for its size) are methods.
    Build it with :meth:`build`; it is immutable and safe to share."""

    strategy: Strategy
    options: EncodeOptions
    tables: tuple[tuple[int, ...], ...]
    """Quantization tables Y, U, V (natural order) the file is written with."""
    subsampling: str
    """Chroma subsampling of a colour file."""
    segment: bytes | None
    """The GRACE APP11 payload, or None for a file that is plain standard JPEG."""

    @classmethod
    def build(cls, strategy: StrategyLike, options: EncodeOptions | None = None) -> EncodePlan:
        """The plan for ``strategy`` with ``options``; raises what encoding would
        (tables that cannot be re-derived, ``metadata=False`` for custom weights)."""
        strat = resolve_strategy(strategy)
        opts = options or EncodeOptions()
        qtables = tables_for(strat, opts.quality, opts.tradeoff)
        subsampling = opts.subsampling or subsampling_for(strat, opts.quality, opts.tradeoff)
        segment = None
        if writes_segment(strat, opts):
            segment = GraceMetadata(StrategyName(strat.name), strat.content_hash, strat.weights).to_segment()
        else:
            refuse_lookalike_header(opts)
        return cls(strat, opts, qtables, subsampling, segment)

    @property
    def libjpeg_colour(self) -> bool:
        """Whether RGB is handed to libjpeg as is: BT.601 weights, whose G-YUV
        transform is libjpeg's own colour conversion (see :mod:`.colour`)."""
        return colour.is_libjpeg_transform(self.strategy.weights)

    def dqt_tables(self, mode: str) -> list[list[int]]:
        """The tables written: the luma table alone for a luma image; two where V's
        table is U's (libjpeg then gives V table 1, as standard JPEG does: 69 bytes
        fewer, and a fallback's file is exactly standard JPEG); else one per component."""
        if mode == "L":
            return [list(self.tables[0])]
        if tuple(self.tables[2]) == tuple(self.tables[1]):
            return [list(self.tables[0]), list(self.tables[1])]
        return [list(t) for t in self.tables]

    def jpeg_params(self, mode: str) -> dict[str, Any]:
        """Keyword arguments for Pillow's JPEG writer for planes of ``mode``."""
        opts = self.options
        params: dict[str, Any] = {
            # quality=-1 with qtables: libjpeg stores the tables unscaled.
            "quality": -1,
            "qtables": self.dqt_tables(mode),
            "optimize": opts.optimize,
            "progressive": opts.progressive,
        }
        if self.segment is not None:
            params["extra"] = self.segment
        if mode != "L":
            params["subsampling"] = PIL_SUBSAMPLING[self.subsampling]
        for key in ("exif", "icc_profile", "comment", "xmp", "dpi"):
            value = getattr(opts, key)
            if value:
                params[key] = value
        return params

    def buffer_size(self, size: tuple[int, int], mode: str) -> int | None:
        """Pillow's output buffer this file needs, or None for a single pass.

        Multi-pass encodes (Huffman optimisation, progressive) need the whole
        output in Pillow's buffer, which it sizes at about 2 bytes per pixel;
        fine tables on noisy content need more (see :func:`whole_file_buffer`).
        A single pass streams through any buffer."""
        if not (self.options.optimize or self.options.progressive):
            return None
        return _worst_case_size(size, mode, self.subsampling)


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


def refuse_lookalike_header(opts: EncodeOptions) -> None:
    """A file without the GRACE segment must not carry bytes that readers
    take for a damaged one: checked on the header segments as Pillow writes
    them (EXIF, XMP, ICC chunks, comment, in that order), not blob by blob,
    since the bytes after a blob can complete a layout the blob starts."""
    segments: list[tuple[str, int, bytes]] = []
    if opts.exif:
        segments.append(("exif", 0xFFE1, opts.exif))
    if opts.xmp:
        segments.append(("xmp", 0xFFE1, b"http://ns.adobe.com/xap/1.0/\x00" + opts.xmp))
    icc, step = opts.icc_profile or b"", 65533 - 14
    chunks = [icc[i : i + step] for i in range(0, len(icc), step)]
    for i, chunk in enumerate(chunks, 1):
        segments.append(("icc_profile", 0xFFE2, b"ICC_PROFILE\x00" + bytes([i, len(chunks)]) + chunk))
    if opts.comment:
        segments.append(("comment", 0xFFFE, opts.comment))
    culprits = sorted(set(metadata.lookalike_segments(segments)))
    if culprits:
        raise EncodeOptionError(
            f"{' and '.join(culprits)}, with the bytes around it in the file, would look like a damaged "
            "GRACE metadata segment, so readers would refuse the file (it carries no GRACE segment: "
            "metadata=False or a BT.601 fallback strategy); change that data, or keep the segment "
            "with metadata=True"
        )


def _worst_case_size(size: tuple[int, int], mode: str, subsampling: str) -> int:
    """Bytes a baseline JPEG of ``size`` can take: 4 per sample, plus headers.

    Measured worst cases (binary noise, all-ones tables) stay under 1.7 bytes
    per sample; a coefficient costs at most 16 code + 11 extra bits."""
    w, h = size
    per_pixel = 1.0 if mode == "L" else {"4:4:4": 3.0, "4:2:2": 2.0, "4:2:0": 1.5}[subsampling]
    return int(4 * per_pixel * w * h) + (1 << 20)


def whole_file_buffer(image: Image.Image, subsampling: str) -> contextlib.AbstractContextManager[None]:
    """A context in which Pillow's JPEG writer can hold a whole file of ``image``
    at ``subsampling`` (what Huffman optimisation and progressive JPEG need):
    for other writers of baseline JPEG (the bench's reference JPEGs) that
    must follow the same sizing rule as GRACE files.

    Fine tables on noisy content need more than the ~2 bytes per pixel that
    Pillow reserves (measured up to 1.6 bytes per *sample*), and libjpeg then
    fails ("Suspension not allowed here"). The buffer is only reserved
    address space: pages are touched as written."""
    return encoder_buffer(_worst_case_size(image.size, image.mode, subsampling))


_maxblock_lock = threading.Lock()
_maxblock_users = 0
_maxblock_saved = ImageFile.MAXBLOCK


@contextmanager
def encoder_buffer(size: int) -> Iterator[None]:
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
    """A :class:`Strategy` from a name, a path to a strategy JSON, or a Strategy."""
    if isinstance(strategy, Strategy):
        return strategy
    if isinstance(strategy, (str, os.PathLike)):
        return load_strategy(strategy)
    raise EncodeOptionError(
        f"strategy must be a name, a path to a strategy JSON or a Strategy, got {type(strategy).__name__}"
    )

"""The codec settings under test: GRACE and what users would pick instead.

Each :class:`Codec` is one point of a rate–accuracy curve: it encodes a
capture-resolution RGB frame into the bytes a device would send and decodes
them as a server would. Bytes are always measured from real files written by
real encoders:

``grace``        pillow-grace (G-YUV planes, strategy tables, optimized Huffman).
``jpeg-420``     libjpeg-turbo through Pillow, optimized Huffman tables, 4:2:0.
``jpeg-444``     the same with 4:4:4 (no chroma subsampling).
``webp``         libwebp through Pillow, lossy, method 4 (Pillow's default).
``jpegli``       Google's jpegli through ``pyjpegli`` (its default settings: the
                 adaptive quantization and 4:2:0 it chooses); decoded by Pillow.
``smart-jpeg-420`` the device first applies the model's own crop/pad/resize
                 (see :mod:`pillow_grace.evaluate.smart`), then sends a JPEG 4:2:0
                 of that small image; the server feeds it straight to the
                 network. Best-case baseline for one known model.
``smart-jpeg-444`` the same with 4:4:4.
``jpeg-zeroed``  a diagnostic: libjpeg's standard (Annex K) tables at quality Q,
                 4:4:4, with every bin above the model's resize cutoff
                 (:func:`invisible_bins`) set to 255. What knowing only the
                 resize buys, without any gradient.
"""

from __future__ import annotations

import importlib.util
import io
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, features

from pillow_grace.core.codec import EncodeOptions, writes_segment
from pillow_grace.core.codec import encode as grace_encode
from pillow_grace.core.strategy import LAMBDA_ALLOCATIONS, Strategy
from pillow_grace.core.tables import quality_to_parameter
from pillow_grace.evaluate.libjpeg import ResizeFactors, libjpeg_facts, write_jpeg, zeroed_tables
from pillow_grace.evaluate.libjpeg import (
    invisible_bins as invisible_bins,  # re-exported: callers import it from here
)
from pillow_grace.evaluate.libjpeg import jpeg_subsampling as jpeg_subsampling  # re-exported

#: Quality sweep of the conventional codecs (issue #4: 30..100).
BASELINE_QUALITIES = (30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 100)
#: A shorter sweep for quick runs (the default ``grace bench``).
QUICK_BASELINE_QUALITIES = (30, 50, 70, 80, 90, 95, 100)
#: GRACE settings: a quality (mapped onto the strategy's trade-off parameter so that its
#: predicted loss matches standard JPEG's at that quality, see pillow_grace.core.tables), or
#: "100xF": the trade-off of quality 100 pushed F times further (lambda x F, or budget B / F
#: for the paper's allocation), reachable with the encoder's ``tradeoff`` option. The
#: default grids are the baselines' qualities, so the curves span comparable losses.
GRACE_QUALITIES: tuple[int | str, ...] = BASELINE_QUALITIES
QUICK_GRACE_QUALITIES: tuple[int | str, ...] = QUICK_BASELINE_QUALITIES
GraceSetting = int | str | None


def parse_grace_setting(token: GraceSetting) -> tuple[int | None, float | None]:
    """(quality, factor beyond quality 100) of a GRACE grid entry; (None, None): the own tables."""
    if token is None or token == "own":
        return None, None
    if isinstance(token, int) and not isinstance(token, bool):
        if not 1 <= token <= 100:
            raise ValueError(f"GRACE quality must be in 1..100, got {token}")
        return token, None
    text = str(token).strip().lower()
    if text.isdigit():
        return parse_grace_setting(int(text))
    if text.startswith("100x"):
        try:
            factor = float(text[4:])
        except ValueError:
            factor = 0.0
        if factor >= 1.0:
            return 100, factor
    raise ValueError(f"GRACE setting must be a quality 1..100, 'own' or '100xF' (F >= 1), got {token!r}")


#: Bits per pixel of the uncompressed capture (8-bit RGB): the compression-ratio reference.
RAW_BITS_PER_PIXEL = 24.0

FAMILIES = (
    "grace",
    "jpeg-420",
    "jpeg-444",
    "webp",
    "jpegli",
    "smart-jpeg-420",
    "smart-jpeg-444",
    "jpeg-zeroed",
)
#: Families that send the image the network consumes (the device runs the model's resize).
SMART_FAMILIES = ("smart-jpeg-420", "smart-jpeg-444")


def write_grace(image: Image.Image, strategy: Strategy, options: EncodeOptions | None = None) -> bytes:
    """A real GRACE file of ``image`` (what a device sends): the one GRACE writer of the engine,
    used by the bench's codecs and the fit's validation alike (the core sizes its own buffer)."""
    buf = io.BytesIO()
    grace_encode(image, buf, strategy, options)
    return buf.getvalue()


def read_rgb(data: bytes) -> Image.Image:
    """RGB pixels of a file as a GRACE-aware server decodes them (importing this package
    registers the GRACE opener)."""
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")


class Codec(ABC):
    """One codec setting: encode on the device, decode on the server."""

    curve: str
    """Name of the curve this setting belongs to (e.g. ``jpeg-420``)."""
    quality: int | None
    #: The server feeds the decoded image to the network directly (the device already
    #: ran the model's geometric preprocessing), instead of to the whole pipeline.
    model_input: bool = False

    @property
    def setting(self) -> str:
        return "own tables" if self.quality is None else f"q{self.quality}"

    @property
    def key(self) -> str:
        """Identity for caching results: changes whenever the bytes could change."""
        return f"{self.curve}/{self.setting}"

    @abstractmethod
    def encode(self, image: Image.Image) -> bytes:
        """The bytes a device sends for this RGB frame."""

    def decode(self, data: bytes) -> Image.Image:
        return read_rgb(data)

    def describe(self) -> dict[str, Any]:
        return {"curve": self.curve, "setting": self.setting, "quality": self.quality}


@dataclass
class GraceCodec(Codec):
    """GRACE with ``strategy``; ``quality`` re-derives the tables (None: the strategy's own).

    ``beyond`` > 1 pushes the trade-off of quality 100 that many times further
    (see :data:`GRACE_QUALITIES`); ``tradeoff`` gives the raw parameter (lambda
    or budget B) and ``label`` names that setting (see :func:`rate_matched_tradeoffs`)."""

    strategy: Strategy
    quality: int | None = None
    curve: str = "grace"
    beyond: float | None = None
    tradeoff: float | None = None
    label: str | None = None
    optimize: bool = True

    def __post_init__(self) -> None:
        if self.tradeoff is not None:
            self._options = EncodeOptions(tradeoff=self.tradeoff, optimize=self.optimize)
        elif self.beyond is not None:
            method = self.strategy.allocation.method if self.strategy.allocation else "lagrangian"
            base = quality_to_parameter(method, 100, self.strategy.perception)
            param = base * self.beyond if method in LAMBDA_ALLOCATIONS else base / self.beyond
            self._options = EncodeOptions(tradeoff=param, optimize=self.optimize)
        else:
            self._options = EncodeOptions(quality=self.quality, optimize=self.optimize)

    @property
    def setting(self) -> str:
        if self.label:
            return self.label
        if self.tradeoff is not None:
            return f"t={self.tradeoff:.4g}"
        if self.beyond is not None:
            return f"q100x{self.beyond:g}"
        return super().setting

    @property
    def key(self) -> str:
        # Not the curve name: the same strategy under another label (an ablation reference) reuses results.
        return f"grace/{self.strategy.content_hash}/{self.quality}/{self._options.tradeoff!r}"

    def encode(self, image: Image.Image) -> bytes:
        return write_grace(image, self.strategy, self._options)

    def decode(self, data: bytes) -> Image.Image:
        # A fallback strategy writes plain JPEG (no GRACE segment): it must read back as JPEG.
        expected = "GRACE" if writes_segment(self.strategy, self._options) else "JPEG"
        with Image.open(io.BytesIO(data)) as im:
            if im.format != expected:
                raise RuntimeError(f"GRACE output was read back as {im.format}, not {expected}; "
                                   "is the plugin registered?")
            return im.convert("RGB")

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(
            strategy=self.strategy.name,
            strategy_hash=self.strategy.content_hash,
            subsampling=self.strategy.subsampling,
            allocation=self.strategy.allocation.method if self.strategy.allocation else None,
            tradeoff=self._options.tradeoff,
        )
        return d


@dataclass
class JpegCodec(Codec):
    """libjpeg-turbo via Pillow: baseline, optimized Huffman tables."""

    quality: int
    subsampling: str = "4:2:0"
    curve: str = ""

    def __post_init__(self) -> None:
        if not self.curve:
            self.curve = "jpeg-" + self.subsampling.replace(":", "")

    def encode(self, image: Image.Image) -> bytes:
        return write_jpeg(image, self.quality, self.subsampling)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(libjpeg_facts(self.subsampling))
        return d


@dataclass
class WebPCodec(Codec):
    """libwebp via Pillow, lossy."""

    quality: int
    method: int = 4
    curve: str = "webp"

    def encode(self, image: Image.Image) -> bytes:
        buf = io.BytesIO()
        image.save(buf, "WEBP", quality=self.quality, method=self.method, lossless=False)
        return buf.getvalue()

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(encoder=f"libwebp {features.version('webp')}", method=self.method)
        return d


def jpegli_available() -> bool:
    return importlib.util.find_spec("pyjpegli") is not None


@dataclass
class JpegliCodec(Codec):
    """Google jpegli via pyjpegli, default settings (it picks the chroma subsampling)."""

    quality: int
    curve: str = "jpegli"

    def encode(self, image: Image.Image) -> bytes:
        import pyjpegli

        rgb = image if image.mode == "RGB" else image.convert("RGB")
        return bytes(pyjpegli.encode(rgb.tobytes(), rgb.size[0], rgb.size[1], self.quality))

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        try:
            from importlib.metadata import version

            d["encoder"] = f"pyjpegli {version('pyjpegli')}"
        except Exception:  # pragma: no cover - metadata missing
            d["encoder"] = "pyjpegli"
        return d


@dataclass
class SmartJpegCodec(Codec):
    """The device resizes to the model's input with the model's own resize, then sends a JPEG.

    ``device_resize`` maps the capture to the small RGB image the network
    consumes (see :func:`pillow_grace.evaluate.smart.split_pipeline`)."""

    quality: int
    device_resize: Callable[[Image.Image], Image.Image]
    subsampling: str = "4:2:0"
    curve: str = ""
    model_input: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        if not self.curve:
            self.curve = "smart-jpeg-" + self.subsampling.replace(":", "")

    def encode(self, image: Image.Image) -> bytes:
        return write_jpeg(self.device_resize(image), self.quality, self.subsampling)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(libjpeg_facts(self.subsampling))
        d["device_resize"] = "the model's own geometric preprocessing (torch)"
        return d


@dataclass
class ZeroedJpegCodec(Codec):
    """JPEG 4:4:4 with the standard tables at ``quality`` and the bins the model cannot see at 255.

    ``resize_factors`` gives the model's shrink factors for a frame size (see
    :func:`invisible_bins`). With nothing to zero the file is byte for byte
    libjpeg's own at this quality, 4:4:4. A diagnostic: it knows the resize and
    nothing about the model's gradients."""

    quality: int
    resize_factors: ResizeFactors
    curve: str = "jpeg-zeroed"

    def tables(self, size: tuple[int, int]) -> np.ndarray:
        """The two tables (luma, chroma) used for a frame of ``size`` (width, height)."""
        return zeroed_tables(self.quality, invisible_bins(*self.resize_factors(size)))

    def encode(self, image: Image.Image) -> bytes:
        return write_jpeg(image, self.quality, "4:4:4", qtables=self.tables(image.size))

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(libjpeg_facts("4:4:4"))
        d["tables"] = "Annex K at this quality; bins with u*f_y > 8 or v*f_x > 8 set to 255"
        return d


def build_codecs(
    strategies: Sequence[tuple[str, Strategy]],
    *,
    families: Sequence[str] = FAMILIES,
    grace_qualities: Sequence[GraceSetting] = GRACE_QUALITIES,
    baseline_qualities: Sequence[int] = BASELINE_QUALITIES,
    device_resize: Callable[[Image.Image], Image.Image] | None = None,
    resize_factors: ResizeFactors | None = None,
) -> tuple[list[Codec], list[str]]:
    """All codec settings of a sweep, and notes on families that were left out (and why).

    ``strategies`` are (curve name, strategy) pairs, so ablation variants get
    curves of their own. A quality of None means the strategy's own tables;
    a strategy without a perception model only has those. Settings beyond
    quality 100 are listed as ``q100xF``. The smart families need
    ``device_resize`` and ``jpeg-zeroed`` needs ``resize_factors``; without
    them they are left out (the caller records why: runner.prepare_smart,
    runner.prepare_zeroed)."""
    codecs: list[Codec] = []
    notes: list[str] = []
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown codec families {unknown}; choose from {', '.join(FAMILIES)}")
    if "grace" in families:
        for curve, strategy in strategies:
            settings = [parse_grace_setting(t) for t in grace_qualities]
            if strategy.perception is None:
                settings = [(None, None)]
                notes.append(
                    f"{curve}: strategy {strategy.name!r} stores no perception model; "
                    "only its own tables are measured (one point, no BD-rate)"
                )
            for q, beyond in settings:
                codecs.append(GraceCodec(strategy, q, curve=curve, beyond=beyond))
    for q in baseline_qualities:
        if "jpeg-420" in families:
            codecs.append(JpegCodec(q, "4:2:0"))
        if "jpeg-444" in families:
            codecs.append(JpegCodec(q, "4:4:4"))
        if "webp" in families:
            codecs.append(WebPCodec(q))
    if "webp" in families and not features.check("webp"):
        codecs = [c for c in codecs if c.curve != "webp"]
        notes.append("webp: this Pillow has no WebP support; left out")
    if "jpegli" in families:
        if jpegli_available():
            codecs.extend(JpegliCodec(q) for q in baseline_qualities)
        else:
            notes.append("jpegli: pyjpegli is not installed (pip install pyjpegli); left out")
    if device_resize is not None:
        for family in SMART_FAMILIES:
            if family in families:
                sub = family.rsplit("-", 1)[1]
                subsampling = f"{sub[0]}:{sub[1]}:{sub[2]}"
                codecs.extend(SmartJpegCodec(q, device_resize, subsampling) for q in baseline_qualities)
    if "jpeg-zeroed" in families and resize_factors is not None:
        codecs.extend(ZeroedJpegCodec(q, resize_factors) for q in baseline_qualities)
    return codecs, notes


def rate_matched_tradeoffs(
    strategy: Strategy, frames: Sequence[Image.Image], target_bpps: Sequence[float], iterations: int = 24
) -> list[float]:
    """Trade-off parameters at which ``strategy`` spends ``target_bpps`` on ``frames`` (mean bits per pixel).

    Ablation variants change how the trade-off parameter maps to tables (the
    paper's budget B and the Lagrangian lambda are not on one scale), so a
    shared quality grid can leave their curves in different rate ranges with
    little accuracy overlap. Matching rates puts every variant's points at the
    same sizes. Bisection in log(parameter) on a few sample frames; bytes are
    monotone in the parameter (increasing in lambda, decreasing in B). A target
    the allocation cannot reach ends at the nearest reachable extreme (the
    paper's allocation, for one, never zeroes a coefficient, so it has a floor)."""
    method = strategy.allocation.method if strategy.allocation else "lagrangian"
    pixels = sum(f.size[0] * f.size[1] for f in frames)

    def bpp(param: float) -> float:
        return sum(8 * len(write_grace(f, strategy, EncodeOptions(tradeoff=param))) for f in frames) / pixels

    lam = method in LAMBDA_ALLOCATIONS
    lo, hi = (1e0, 1e13) if lam else (1e-14, 1e2)
    out = []
    for target in target_bpps:
        a, b = math.log(lo), math.log(hi)
        for _ in range(iterations):
            mid = (a + b) / 2
            more_bits = bpp(math.exp(mid)) < target
            if lam == more_bits:
                a = mid
            else:
                b = mid
        out.append(math.exp((a + b) / 2))
    return out

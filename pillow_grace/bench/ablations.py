"""Ablations: every design choice of GRACE backed by a number.

An ablation is a reference strategy and one or more variants that change a
single choice, each a ``(label, builder)`` pair: ``builder(ctx)`` returns the
variant's strategy. All variants are swept on the same images with the same
quality grid, and the BD-rate of each variant against the reference is
reported (positive: the variant needs more bits for the same accuracy, i.e.
the reference's choice is better).

Two kinds of variants:

* edits of a fitted strategy, which need no fitter: BT.601 instead of G-YUV
  weights with the same perception (hence the same tables), the paper's
  Algorithm 1 allocation instead of the Lagrangian one, 4:2:0 instead of 4:4:4;
* refits (need :func:`pillow_grace.fit.fit_strategy` and torch): the plain
  median against the weighted one, the argmax-label probe against the
  sampled-label (Fisher) probe, 4:2:0 with chroma statistics measured in the
  4:2:0 geometry. Refits use a reference fitted the same way with default
  options on the same probe images, so the pair differs in one knob only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pillow_grace.bench.export import slug
from pillow_grace.core.colour import BT601
from pillow_grace.core.strategy import Allocation, Strategy
from pillow_grace.evaluate.images import fit_to_capture
from pillow_grace.evaluate.photos import BenchImage


@dataclass
class AblationContext:
    """What builders may use: the fitted strategy, the model and disjoint probe images."""

    base: Strategy
    model: Any = None
    probe_images: Sequence[BenchImage] = ()
    capture_size: tuple[int, int] | None = None
    seed: int = 0
    fit_options: dict[str, Any] = field(default_factory=dict)
    _fits: dict[tuple[tuple[str, Any], ...], Strategy] = field(default_factory=dict)

    @property
    def can_fit(self) -> bool:
        return self.model is not None and bool(self.probe_images) and fitter_available()

    def fit(self, label: str, **options: Any) -> Strategy:
        """Fit (once per option set) on the probe images, at the capture size."""
        if not self.can_fit:
            raise RuntimeError("refitting needs torch, pillow_grace.fit, a model and probe images")
        key = tuple(sorted(options.items()))
        if key not in self._fits:
            fit_strategy = _fit_strategy()
            size = self.capture_size or self.base.probe_resolution
            frames = [fit_to_capture(im.image, size) if size else im.image for im in self.probe_images]
            opts = {"seed": self.seed, **self.fit_options, **options}
            self._fits[key] = fit_strategy(self.model, frames, name=slug(f"{self.base.name}-{label}"), **opts)
        return self._fits[key]


Builder = Callable[[AblationContext], Strategy]


@dataclass
class Ablation:
    """One design question: a reference and variants, each ``(curve label, builder)``."""

    name: str
    question: str
    reference: tuple[str, Builder]
    variants: list[tuple[str, Builder]]
    needs_fitter: bool = False
    rate_matched: bool = False
    """Place the variants' points at the reference's sizes (see
    :func:`~pillow_grace.evaluate.codecs.rate_matched_tradeoffs`) instead of using the
    quality grid: for variants whose trade-off parameter is on another scale."""


def fitter_available() -> bool:
    try:
        _fit_strategy()
    except ImportError:
        return False
    return True


def _fit_strategy() -> Callable[..., Strategy]:
    from pillow_grace.fit import fit_strategy  # lazy: needs torch

    return fit_strategy


def _base(ctx: AblationContext) -> Strategy:
    return ctx.base


def _bt601(ctx: AblationContext) -> Strategy:
    return replace(ctx.base, name=slug(ctx.base.name + "-bt601"), weights=BT601)


def _allocation(method: str) -> Builder:
    """The base strategy with another allocation of the same perception statistics (no
    calibration: the allocation ablation places its points at the reference's sizes)."""

    def build(ctx: AblationContext) -> Strategy:
        alloc = ctx.base.allocation
        return replace(ctx.base, name=slug(f"{ctx.base.name}-{method}-alloc"),
                       allocation=Allocation(method, alloc.parameter if alloc else 1.0, None))

    return build


def _subsample_420(ctx: AblationContext) -> Strategy:
    return replace(ctx.base, name=slug(ctx.base.name + "-420"), subsampling="4:2:0")


def builtin_ablations() -> list[Ablation]:
    """The ablations of issue #4, in report order."""
    return [
        Ablation(
            "colour space",
            "G-YUV weights against BT.601 YCbCr, same perception and tables",
            ("grace[G-YUV]", _base),
            [("grace[BT.601]", _bt601)],
        ),
        Ablation(
            "colour space, refitted",
            "G-YUV weights against BT.601 YCbCr, each with tables fitted in its own colour space "
            "(both refitted on the same probe images)",
            ("grace[fit G-YUV]", lambda c: c.fit("ref")),
            [("grace[fit BT.601]", lambda c: c.fit("bt601", weights="bt601"))],
            needs_fitter=True,
        ),
        Ablation(
            "allocation",
            "the strategy's own allocation (measured or Laplacian rate-distortion) against the "
            "Laplacian model and the paper's Algorithm 1 (all from the same perception statistics)",
            ("grace[own allocation]", _base),
            [("grace[Laplacian model]", _allocation("lagrangian")),
             ("grace[paper Alg.1]", _allocation("paper"))],
            rate_matched=True,
        ),
        Ablation(
            "chroma subsampling",
            "4:4:4 against 4:2:0 with the same tables",
            ("grace[4:4:4]", _base),
            [("grace[4:2:0]", _subsample_420)],
        ),
        Ablation(
            "chroma subsampling, refitted",
            "4:4:4 against 4:2:0 with chroma statistics measured "
            "in the 4:2:0 geometry (both refitted on the same probe images)",
            ("grace[fit 4:4:4]", lambda c: c.fit("ref")),
            [("grace[fit 4:2:0]", lambda c: c.fit("420", subsampling="4:2:0"))],
            needs_fitter=True,
        ),
        Ablation(
            "colour median",
            "weighted median (exact LAD solution) against the paper's plain median",
            ("grace[weighted median]", lambda c: c.fit("ref")),
            [("grace[plain median]", lambda c: c.fit("plain", colour_median="plain"))],
            needs_fitter=True,
        ),
        Ablation(
            "probe labels",
            "labels sampled from the model's output (Fisher) against the paper's top-1 (argmax) label",
            ("grace[sampled labels]", lambda c: c.fit("ref")),
            [("grace[argmax label]", lambda c: c.fit("argmax", loss="argmax"))],
            needs_fitter=True,
        ),
    ]


def build_variants(ablation: Ablation, ctx: AblationContext) -> list[tuple[str, Strategy]]:
    """(curve label, strategy) for the reference then every variant."""
    return [(label, build(ctx)) for label, build in [ablation.reference, *ablation.variants]]


def ablations_by_name() -> dict[str, Ablation]:
    return {a.name: a for a in builtin_ablations()}

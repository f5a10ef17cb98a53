"""Choosing a strategy by measurement: colour, subsampling, fallback and quality.

The perception model *predicts* what quantization costs the model; what a
user pays for is the loss the model really suffers on decoded frames, per
byte really sent. The fitter closes that loop on its own probe images, so
every choice below rests on real encodes and real forward passes:

1. **Colour by rate** (:func:`colour_candidates`, :func:`predicted_cost`). Theorem 2's weights minimise
   gradient energy in U and V, but say nothing about bits. Each candidate
   (Theorem 2's, BT.601, and points between them) gets its tables at the
   predicted loss of standard JPEG at a few qualities; the probe images are
   encoded for real and the candidate needing the fewest bytes at matched
   predicted loss wins, per subsampling. No forward pass is needed.
2. **Cross-fitted validation** (:func:`validate`). The probe images are split
   into folds; tables fitted without a fold are judged on that fold's images
   by the model itself: bits against the measured loss (the KL divergence
   from the clean output, or the model's own loss), for each candidate
   (colour x subsampling x table allocation: measured or Laplacian
   rate-distortion) and for standard JPEG 4:4:4 and 4:2:0. No image judges
   tables that were fitted on it.
3. **Never worse than JPEG.** A candidate's verdict is its BD-rate against
   the *better* JPEG curve (the larger of the two BD-rates). A 4:2:0
   candidate is preferred to the best 4:4:4 one only where it beats it with
   confidence (chroma subsampling is one coarse, content-dependent step). The
   best candidate is kept only where it saves bits with confidence (the 90%
   bootstrap upper bound of its verdict over the validation images is below
   zero, :func:`upper_bound`); otherwise the strategy falls
   back to standard JPEG tables (method ``"reference"``) in the better
   subsampling, with BT.601 colour, and records why. So does a validation
   that cannot judge: where the model's measured loss does not clearly fall
   with JPEG quality on the probe images (``uninformative``); its
   subsampling is then compared at matched quality (``blind_subsampling``).
4. **Quality calibration** (:func:`calibrate`). Quality Q should cost the
   model what standard JPEG 4:4:4 at Q costs it. From the measured curves,
   each anchor quality gets the allocation parameter whose measured loss
   matches JPEG's; the encoder interpolates between anchors
   (:func:`pillow_grace.core.tables.parameter_for_quality`).

Everything measured is recorded in the strategy's provenance (``selection``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from pillow_grace.core import tables as tables_mod
from pillow_grace.core.colour import BT601
from pillow_grace.core.strategy import Perception, Strategy
from pillow_grace.evaluate.bdrate import bd_rate
from pillow_grace.evaluate.codecs import write_grace
from pillow_grace.evaluate.judge import Encoder, Judge
from pillow_grace.evaluate.libjpeg import write_jpeg
from pillow_grace.evaluate.measures import neglog10
from pillow_grace.fit.calibration import (
    CALIBRATION_BITS,
    CALIBRATION_MARGIN,
    Curve,
    calibrate,
    reference_threshold,
)
from pillow_grace.fit.probe import RGBProbe

#: Qualities at which candidates are compared and calibrated (standard JPEG's
#: scale; each candidate is matched to JPEG's predicted loss at each one).
VALIDATION_QUALITIES = (30, 50, 70, 85, 95, 100)
#: Qualities of the cheaper, forward-free colour search.
COLOUR_SEARCH_QUALITIES = (40, 70, 90)
#: Fractions of the way from Theorem 2's weights to BT.601 tried by the colour search.
COLOUR_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: A candidate must save at least this much (BD-rate against the better JPEG,
#: on held-out probe images) to be kept instead of the JPEG fallback.
MIN_SAVING = 0.0
#: The saving must hold with this confidence: the one-sided upper bound of a
#: bootstrap over the validation images (``BOOTSTRAP`` resamples) must stay
#: below ``-MIN_SAVING``. A few probe images give noisy curves (a detector
#: with few objects in them, say); a win that may be noise is not kept.
CONFIDENCE = 0.9
BOOTSTRAP = 200
#: The validation can only judge where the model's measured loss clearly falls
#: with JPEG quality on the probe images: by at least this factor from the
#: lowest to the highest validation quality, with a rank correlation of
#: quality and loss of at most ``MAX_RANK_CORRELATION``. A detector that finds
#: nothing in the probe images, say, gives a flat, noisy curve.
MIN_LOSS_RANGE = 3.0
MAX_RANK_CORRELATION = -0.7

@dataclass(frozen=True)
class Candidate:
    """One way to encode: colour weights, subsampling, table allocation, and a label for reports."""

    label: str
    weights: tuple[float, float, float]
    subsampling: str
    method: str = "lagrangian"


# -- encoding and measuring (the evaluation engine does both) --------------------------
def grace_bytes(image: np.ndarray, weights: tuple[float, float, float], tables: Sequence[Sequence[int]],
                subsampling: str) -> bytes:
    """A real GRACE file of ``image`` with these weights and tables (what a device sends)."""
    strategy = Strategy(name="candidate", task="other", weights=weights, tables=tables,  # type: ignore[arg-type]
                        subsampling=subsampling)
    return write_grace(Image.fromarray(image), strategy)


def measure(judge: Judge, images: Sequence[tuple[int, np.ndarray]], curve: Curve,
            settings: Sequence[tuple[int, Encoder]]) -> None:
    """Append one point per (quality, encoder) to ``curve``: total bits and mean loss over ``images``."""
    for quality, enc in settings:
        points = judge.points(images, enc)
        curve.images = len(images)
        curve.qualities.append(quality)
        curve.bits.append(sum(b for b, _ in points))
        curve.loss.append(float(np.mean([v for _, v in points])))
        curve.per_image.append(points)


def merge_curves(label: str, parts: Sequence[Curve]) -> Curve:
    """Fold curves measured on disjoint image sets into one: bits add, losses
    average weighted by each part's image count."""
    total = float(sum(p.images for p in parts))
    n = len(parts[0].qualities)
    out = Curve(label, list(parts[0].qualities), [0.0] * n, [0.0] * n, int(total))
    for p in parts:
        for i in range(n):
            out.bits[i] += p.bits[i]
            out.loss[i] += p.loss[i] * p.images / total
    if all(len(p.per_image) == n for p in parts):
        out.per_image = [[pt for p in parts for pt in p.per_image[i]] for i in range(n)]
    return out


# -- verdicts --------------------------------------------------------------------------
def bd_against(ref: Curve, test: Curve) -> float | None:
    """BD-rate of ``test`` against ``ref`` on the measured loss, on the bench's -log10 axis
    (None where undefined)."""
    return bd_rate(ref.bits, neglog10(ref.loss).tolist(), test.bits, neglog10(test.loss).tolist()).value


def verdict(refs: Sequence[Curve], test: Curve) -> float:
    """BD-rate against the better reference: the largest of the BD-rates (inf if any is undefined)."""
    values = [bd_against(r, test) for r in refs]
    return max(math.inf if v is None else v for v in values)


# -- colour search (no forward passes) -------------------------------------------------
def colour_candidates(fitted: tuple[float, float, float]) -> list[tuple[str, tuple[float, float, float]]]:
    """Theorem 2's weights, BT.601 and the points between them (``COLOUR_STEPS``),
    without near-duplicates (all of them collapse to one where the fit gave BT.601)."""
    out: list[tuple[str, tuple[float, float, float]]] = []
    for t in COLOUR_STEPS:
        wr = round((1 - t) * fitted[0] + t * BT601[0], 6)
        wb = round((1 - t) * fitted[2] + t * BT601[2], 6)
        w = (wr, round(1.0 - wr - wb, 6), wb)
        if any(max(abs(a - b) for a, b in zip(w, seen, strict=True)) < 1e-3 for _, seen in out):
            continue
        label = "theorem2" if t == 0 else "bt601" if t == 1 else f"towards-bt601-{t:g}"
        out.append((label, w))
    return out


def predicted_cost(perception: Perception, method: str, weights: tuple[float, float, float],
                   subsampling: str, images: Sequence[np.ndarray]) -> float:
    """Mean log bytes of ``images`` over ``COLOUR_SEARCH_QUALITIES``, each at the predicted loss of
    standard JPEG at that quality: lower is cheaper at matched predicted loss."""
    logs = []
    for q in COLOUR_SEARCH_QUALITIES:
        lam = tables_mod.quality_to_parameter(method, q, perception)
        t = tables_mod.derive_tables(perception, method, lam)
        logs.append(math.log(sum(len(grace_bytes(im, weights, t, subsampling)) for im in images)))
    return float(np.mean(logs))


# -- the cross-fitted comparison ---------------------------------------------------------
@dataclass
class Selection:
    """What the validation chose, and the evidence."""

    chosen: Candidate | None
    """The candidate kept, or None: fall back to standard JPEG."""
    fallback_subsampling: str
    """The better standard JPEG's subsampling (used when ``chosen`` is None)."""
    verdicts: dict[str, float]
    """BD-rate of every candidate against the better JPEG, on held-out probe images."""
    curves: dict[str, Curve]
    images: int
    inconclusive: str | None = None
    """Why the measurements cannot decide. Then no saving can be shown, and the
    promise is kept the only way it can be: standard JPEG, in the subsampling
    :func:`blind_subsampling` picks."""
    upper_bound: float = math.nan
    """The best candidate's verdict at ``CONFIDENCE`` (bootstrap over validation images)."""
    subsampling_margin: float = math.nan
    """Where the best verdict was subsampled: its lead over the best 4:4:4 candidate at
    ``CONFIDENCE`` (below zero: 4:2:0 kept; else the 4:4:4 candidate was taken)."""

    def effective_qualities(self) -> list[tuple[int, float]]:
        """Calibration of the chosen candidate against JPEG 4:4:4 (see :func:`calibrate`),
        up to the quality from which standard JPEG 4:4:4 is written instead."""
        assert self.chosen is not None
        pairs = calibrate(self.curves[self.chosen.label], self.curves["jpeg-444"], CALIBRATION_MARGIN,
                          CALIBRATION_BITS)
        limit = self.reference_above()
        return [(q, e) for q, e in pairs if limit is None or q <= limit]

    def reference_above(self) -> int | None:
        """See :func:`reference_threshold` (None for the JPEG fallback: it is JPEG throughout)."""
        if self.chosen is None or self.inconclusive:
            return None
        return reference_threshold(self.curves[self.chosen.label], self.curves["jpeg-444"])

    def record(self) -> dict[str, Any]:
        """The provenance entry: every curve and verdict, and what was chosen."""
        return {
            "method": "cross-fitted: tables fitted without a fold, judged by the model on that fold",
            "validation_images": self.images,
            "qualities": list(VALIDATION_QUALITIES),
            "verdict_vs_better_jpeg": {k: _finite(v) for k, v in self.verdicts.items()},
            "best_upper_bound": _finite(self.upper_bound),
            "subsampling_margin": _finite(self.subsampling_margin),
            "confidence": CONFIDENCE,
            "chosen": self.chosen.label if self.chosen
            else f"fallback: standard JPEG {self.fallback_subsampling}",
            "inconclusive": self.inconclusive,
            "reference_above": self.reference_above(),
            "curves": {
                k: {"bits": [round(b) for b in c.bits], "loss": [float(f"{v:.6g}") for v in c.loss]}
                for k, c in self.curves.items()
            },
        }


def _finite(v: float) -> float | None:
    return None if not math.isfinite(v) else round(v, 5)


def validate(
    judge: Judge,
    folds: Sequence[RGBProbe],
    candidates: Sequence[Candidate],
    perception_of: Callable[[RGBProbe, Candidate], Perception],
    merge: Callable[[Sequence[RGBProbe]], RGBProbe],
    tick: Callable[[], None] = lambda: None,
) -> Selection:
    """Measure every candidate and standard JPEG on each fold's images, with the
    candidate's tables fitted on the other folds; pick the winner or fall back."""
    parts: dict[str, list[Curve]] = {}
    start = 0
    for k, fold in enumerate(folds):
        held = [(start + i, im) for i, im in enumerate(fold.images)]
        start += len(fold.images)
        train = merge([f for j, f in enumerate(folds) if j != k]) if len(folds) > 1 else fold
        for sub in ("4:4:4", "4:2:0"):
            c = Curve(f"jpeg-{sub.replace(':', '')}")
            measure(judge, held, c, [(q, _jpeg_encoder(q, sub)) for q in VALIDATION_QUALITIES])
            parts.setdefault(c.label, []).append(c)
            tick()
        for cand in candidates:
            perception = perception_of(train, cand)
            c = Curve(cand.label)
            settings = []
            for q in VALIDATION_QUALITIES:
                lam = tables_mod.quality_to_parameter(cand.method, q, perception)
                tabs = tables_mod.derive_tables(perception, cand.method, lam)
                settings.append((q, _grace_encoder(cand, tabs)))
            measure(judge, held, c, settings)
            parts.setdefault(c.label, []).append(c)
            tick()
    curves = {label: merge_curves(label, ps) for label, ps in parts.items()}
    refs = [curves["jpeg-444"], curves["jpeg-420"]]
    why = uninformative(curves["jpeg-444"])
    if why:
        verdicts = {cand.label: math.nan for cand in candidates}
        return Selection(None, blind_subsampling(*refs), verdicts, curves, start, why)
    verdicts = {cand.label: verdict(refs, curves[cand.label]) for cand in candidates}
    bd420 = bd_against(refs[0], refs[1])
    fallback = "4:2:0" if bd420 is not None and bd420 < 0 else "4:4:4"
    best = min(candidates, key=lambda c: verdicts[c.label]) if candidates else None
    subsampling_margin = math.nan
    full = [c for c in candidates if c.subsampling == "4:4:4"]
    if best is not None and best.subsampling != "4:4:4" and full:
        # Chroma subsampling is one coarse, content-dependent step: keep it only
        # where it beats the best 4:4:4 candidate with confidence.
        best444 = min(full, key=lambda c: verdicts[c.label])
        subsampling_margin = upper_bound(curves, best.label, than=best444.label)
        if not subsampling_margin < 0:
            best = best444
    bound = upper_bound(curves, best.label) if best is not None else math.inf
    chosen = best if best is not None and bound < -MIN_SAVING else None
    return Selection(chosen, fallback, verdicts, curves, start, upper_bound=bound,
                     subsampling_margin=subsampling_margin)


def upper_bound(curves: dict[str, Curve], label: str, than: str | None = None, seed: int = 0) -> float:
    """The ``CONFIDENCE`` upper bound of a candidate's verdict (or, with ``than``, of
    its verdict minus that candidate's), by a bootstrap over the validation images
    (the same resample for every curve); inf where it is undefined."""
    n = curves[label].images
    if not all(len(c.per_image) == len(c.qualities) and c.images == n for c in curves.values()) or n < 2:
        return math.inf
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(BOOTSTRAP):
        index = rng.integers(0, n, size=n)
        refs = [curves["jpeg-444"].resampled(index), curves["jpeg-420"].resampled(index)]
        value = verdict(refs, curves[label].resampled(index))
        if than is not None:
            value -= verdict(refs, curves[than].resampled(index))
        values.append(value)
    v = np.asarray(values)
    v = np.where(np.isnan(v), np.inf, v)  # inf - inf: undefined, counted as no evidence
    return float(np.quantile(v, CONFIDENCE)) if np.isfinite(v).mean() >= CONFIDENCE else math.inf


def uninformative(jpeg444: Curve) -> str | None:
    """Why a measured JPEG curve cannot judge candidates (None when it can): see ``MIN_LOSS_RANGE``."""
    loss = np.asarray(jpeg444.loss, dtype=np.float64)
    if len(loss) < 3:
        return "fewer than 3 measured qualities"
    spread = loss[0] / max(loss[-1], 1e-300)
    ranks = np.argsort(np.argsort(loss))
    rho = float(np.corrcoef(np.arange(len(loss)), ranks)[0, 1]) if np.ptp(ranks) else 0.0
    if spread < MIN_LOSS_RANGE or rho > MAX_RANK_CORRELATION:
        return (f"the model's measured loss on the probe images barely depends on JPEG quality "
                f"(x{spread:.2g} from q{jpeg444.qualities[0]} to q{jpeg444.qualities[-1]}, rank correlation "
                f"{rho:+.2f}), so no saving can be shown")
    return None


def blind_subsampling(jpeg444: Curve, jpeg420: Curve) -> str:
    """The standard JPEG to fall back to where the validation cannot judge (see
    :func:`uninformative`): "4:2:0" where, quality for quality, it sends fewer
    bits and the model's measured loss is on average no higher (geometric mean
    over the qualities of the ratio of mean losses), else "4:4:4".

    No bits-at-matched-loss comparison is possible on a curve that does not
    fall with quality, but one at matched *quality* is: a detector that cannot
    tell the two apart should not pay for full-resolution chroma (BlazeFace on
    its own clip: JPEG 4:2:0 measured 12% cheaper than 4:4:4 on later frames),
    while a model whose loss rises with chroma subsampling keeps it."""
    if not all(b420 < b444 for b420, b444 in zip(jpeg420.bits, jpeg444.bits, strict=True)):
        return "4:4:4"
    ratios = [math.log(max(a, 1e-300) / max(b, 1e-300))
              for a, b in zip(jpeg420.loss, jpeg444.loss, strict=True)]
    return "4:2:0" if ratios and float(np.mean(ratios)) <= 0.0 else "4:4:4"


def _jpeg_encoder(quality: int, subsampling: str) -> Encoder:
    return lambda im: write_jpeg(Image.fromarray(im), quality, subsampling)


def _grace_encoder(cand: Candidate, tables: Sequence[Sequence[int]]) -> Encoder:
    return lambda im: grace_bytes(im, cand.weights, tables, cand.subsampling)

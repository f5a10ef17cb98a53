"""Measured curves and what they say about quality: calibration and the JPEG threshold.

A :class:`Curve` is a codec setting's measured points (bits, mean loss) at the
validation qualities. From the chosen candidate's curve and standard JPEG
4:4:4's, :func:`calibrate` finds the quality on the predicted scale at which
the candidate costs the model what JPEG costs it at each anchor quality,
:func:`reference_threshold` finds where JPEG 4:4:4 itself should be written,
and :func:`calibration_anchors` turns effective qualities into the
allocation parameters a strategy stores (see :mod:`pillow_grace.fit.select`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pillow_grace.core import tables as tables_mod
from pillow_grace.core.strategy import LAMBDA_ALLOCATIONS, Allocation, Perception


@dataclass
class Curve:
    """Measured rate-loss points of one codec setting over the validation images."""

    label: str
    qualities: list[int] = field(default_factory=list)
    bits: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    images: int = 0
    per_image: list[list[tuple[float, float]]] = field(default_factory=list)
    """Per quality, each image's (bits, loss): what the bootstrap resamples."""

    def resampled(self, index: np.ndarray) -> Curve:
        """The curve over the images at ``index`` (with repeats): bits summed, losses averaged."""
        bits = [float(sum(pts[i][0] for i in index)) for pts in self.per_image]
        loss = [float(np.mean([pts[i][1] for i in index])) for pts in self.per_image]
        return Curve(self.label, list(self.qualities), bits, loss, len(index))


# -- calibration -----------------------------------------------------------------------
#: Calibrate to this fraction of JPEG 4:4:4's measured loss, not to all of it.
#: The calibration is measured on a few probe images; on new content the
#: ratio of GRACE's loss to JPEG's at the same quality scatters by about a
#: third either way (EfficientNet-Lite0 at 1280x720: 0.73x..1.38x). Aiming
#: below keeps quality Q within 1.25x of JPEG's loss at Q where it matters.
#: It only moves which point of the rate-loss curve a quality names, so the
#: curve, and every BD-rate, is unchanged.
CALIBRATION_MARGIN = 0.8
#: ... unless reaching it costs more than this fraction of JPEG 4:4:4's bits at
#: the same quality: quality Q must also send fewer bytes than JPEG's Q. A
#: candidate that saves little (EfficientNet-Lite0 with capture = input: a few
#: per cent) reaches 0.8x JPEG's loss only with 3-22% *more* bytes; it is then
#: aimed at the loss it reaches with this fraction of JPEG's bits, and never
#: above JPEG's own loss (where both cannot hold, the loss promise wins).
CALIBRATION_BITS = 0.95


def calibrate(candidate: Curve, jpeg444: Curve, margin: float = 1.0,
              bits_cap: float | None = None) -> list[tuple[int, float]]:
    """(anchor quality, effective quality) pairs: the quality on the predicted scale at which the
    candidate's measured loss equals ``margin`` x standard JPEG 4:4:4's measured loss at the
    anchor quality.

    With ``bits_cap``, an anchor where that loss costs the candidate more than
    ``bits_cap`` x JPEG's bits at the anchor is aimed instead at the loss the
    candidate reaches with those bits, at most JPEG's own loss (1x).

    Both curves are measured at ``VALIDATION_QUALITIES``; the candidate's loss
    is made non-increasing in quality and interpolated in log-loss. Where
    JPEG's loss lies below what the candidate reached, the effective quality
    is extrapolated along the candidate's last segment (at most 100). Where it
    lies above the candidate's loss at the lowest validation quality, the
    effective quality is that lowest quality: extrapolating down along a flat,
    noisy first segment sent quality 30 to quality 1, the coarsest tables,
    which cost a model 60x JPEG's loss; staying at the measured end costs a
    few bytes at the bottom of the scale instead."""
    q = np.asarray(candidate.qualities, dtype=np.float64)
    lg = np.log(np.maximum(np.minimum.accumulate(np.asarray(candidate.loss)), 1e-300))
    out: list[tuple[int, float]] = []
    for anchor, loss, bits in zip(jpeg444.qualities, jpeg444.loss, jpeg444.bits, strict=True):
        target = margin * loss
        if bits_cap is not None and bits_at_loss(candidate, target) > bits_cap * bits:
            target = min(loss, max(target, loss_at_bits(candidate, bits_cap * bits)))
        t = math.log(max(target, 1e-300))
        eff = _inverse_interp(q, lg, t)
        out.append((int(anchor), float(min(100.0, max(float(q[0]), eff)))))
    # A higher anchor never maps to a lower effective quality.
    best = 1.0
    mono = []
    for a, e in out:
        best = max(best, e)
        mono.append((a, best))
    return mono


def _inverse_interp(x: np.ndarray, y: np.ndarray, target: float) -> float:
    """x where the non-increasing y(x) crosses ``target`` (linear; extrapolated past the ends)."""
    if len(x) == 1:
        return float(x[0])
    for i in range(len(x) - 1):
        if y[i] >= target >= y[i + 1] and y[i] != y[i + 1]:
            return float(x[i] + (x[i + 1] - x[i]) * (y[i] - target) / (y[i] - y[i + 1]))
    i = 0 if target > y[0] else len(x) - 2
    if y[i] == y[i + 1]:
        return float(x[0] if target > y[0] else x[-1])
    return float(x[i] + (x[i + 1] - x[i]) * (y[i] - target) / (y[i] - y[i + 1]))


def bits_at_loss(curve: Curve, loss: float) -> float:
    """Bits the curve needs to reach ``loss`` (log-log interpolation; inf if it never gets there)."""
    lv = np.log(np.maximum(np.minimum.accumulate(np.asarray(curve.loss)), 1e-300))
    lb = np.log(np.maximum(np.asarray(curve.bits), 1.0))
    t = math.log(max(loss, 1e-300))
    if t < lv[-1]:
        return math.inf
    if t >= lv[0]:
        return float(math.exp(lb[0]))
    i = int(np.searchsorted(-lv, -t))  # first point at or below the target loss
    if lv[i - 1] == lv[i]:
        return float(math.exp(lb[i]))
    frac = (lv[i - 1] - t) / (lv[i - 1] - lv[i])
    return float(math.exp(lb[i - 1] + frac * (lb[i] - lb[i - 1])))


def loss_at_bits(curve: Curve, bits: float) -> float:
    """The loss the curve reaches with ``bits`` (log-log interpolation of its monotone hull;
    its highest loss below its cheapest point, its lowest above its dearest)."""
    lv = np.log(np.maximum(np.minimum.accumulate(np.asarray(curve.loss)), 1e-300))
    lb = np.log(np.maximum(np.maximum.accumulate(np.asarray(curve.bits)), 1.0))
    t = math.log(max(bits, 1.0))
    if t <= lb[0]:
        return float(math.exp(lv[0]))
    if t >= lb[-1]:
        return float(math.exp(lv[-1]))
    i = int(np.searchsorted(lb, t, side="right"))  # first point dearer than the budget
    if lb[i] == lb[i - 1]:
        return float(math.exp(lv[i]))
    frac = (t - lb[i - 1]) / (lb[i] - lb[i - 1])
    return float(math.exp(lv[i - 1] + frac * (lv[i] - lv[i - 1])))


def reference_threshold(candidate: Curve, jpeg444: Curve) -> int | None:
    """The quality above which standard JPEG 4:4:4 should be written instead of the candidate.

    At each validation quality, the candidate "wins" if it reaches JPEG 4:4:4's
    measured loss with fewer bits. The run of losing qualities at the top of
    the scale (often a 4:2:0 candidate near quality 100, whose chroma
    subsampling alone costs more than JPEG 4:4:4's quantization) is handed to
    JPEG: the threshold is the last winning quality below that run. None where
    the candidate wins at the top quality."""
    # A tie (to float round-off of the log-log interpolation) is no win: JPEG is then as good.
    wins = [bits_at_loss(candidate, loss) < bits * (1.0 - 1e-9)
            for bits, loss in zip(jpeg444.bits, jpeg444.loss, strict=True)]
    if wins[-1]:
        return None
    k = len(wins) - 1
    while k > 0 and not wins[k - 1]:
        k -= 1
    return max(1, jpeg444.qualities[k - 1]) if k > 0 else 1


def calibration_anchors(effective: Sequence[tuple[int, float]], method: str,
                        perception: Perception) -> tuple[tuple[int, float], ...]:
    """Turn (quality, effective quality) pairs into (quality, parameter) anchors for ``perception``.

    The parameter at a fractional effective quality is interpolated in log
    between the whole qualities around it."""
    out: list[tuple[int, float]] = []
    for anchor, eff in effective:
        lo, hi = math.floor(eff), math.ceil(eff)
        p_lo = tables_mod.quality_to_parameter(method, int(lo), perception)
        p_hi = tables_mod.quality_to_parameter(method, int(hi), perception)
        frac = eff - lo
        out.append((anchor, math.exp((1 - frac) * math.log(p_lo) + frac * math.log(p_hi))))
    cleaned: list[tuple[int, float]] = []
    for a, p in out:
        if cleaned:
            prev = cleaned[-1][1]
            p = max(p, prev) if method in LAMBDA_ALLOCATIONS else min(p, prev)
        cleaned.append((a, p))
    return tuple(cleaned)


def allocation_for(method: str, quality: int, perception: Perception,
                   calibration: tuple[tuple[int, float], ...] | None,
                   reference_above: int | None = None) -> Allocation:
    """The allocation record for the stored tables at ``quality``."""
    if calibration is not None and len(calibration) < 2:
        calibration = None
    draft = Allocation(method, 1.0, quality, calibration, reference_above)
    param = tables_mod.parameter_for_quality(draft, perception, quality)
    return Allocation(method, param, quality, calibration, reference_above)

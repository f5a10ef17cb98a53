"""Bjøntegaard delta rate over an accuracy axis, without extrapolation.

The classic BD-rate (VCEG-M33) fits log(rate) as a cubic polynomial of PSNR
for two codecs and averages the gap over the PSNR range both cover. Here the
quality axis is a DNN accuracy (top-1 agreement, mIoU, mAP, ...), and curves
measured on tens of images are short and lumpy, where a global cubic can
swing wildly between points. So:

* Only the *achievable* curve is used: the Pareto frontier (a setting that
  costs more bits and is no more accurate than a cheaper one is never what a
  user would pick), which makes accuracy strictly increasing with rate.
* log(rate) is interpolated as a function of accuracy with a monotone
  piecewise-cubic Hermite interpolant (PCHIP, Fritsch–Carlson), which never
  overshoots between measured points.
* The two interpolants are integrated only over the accuracy interval both
  curves actually reach. Nothing is extrapolated; when the interval is empty
  the BD-rate is undefined and the result says why.

BD-rate = exp(mean over the shared interval of log r_test - log r_ref) - 1,
so -0.20 means the test codec needs 20 % fewer bits for the same accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: Shared accuracy intervals narrower than this (in axis units) count as empty:
#: an average over a near-point interval is a single noisy difference, not a BD-rate.
MIN_OVERLAP = 1e-9


@dataclass(frozen=True)
class BDResult:
    """One BD-rate; ``value`` is None when it is undefined, and ``reason`` says why.

    ``low``/``high`` is the shared accuracy interval the average was taken over
    (in the axis units the curves were given in)."""

    value: float | None
    low: float | None
    high: float | None
    reason: str = ""

    @property
    def defined(self) -> bool:
        return self.value is not None


def pareto_frontier(rate: ArrayLike, quality: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The achievable (rate, quality) points: sorted by rate, quality strictly rising.

    A point is dropped when a point with lower or equal rate has equal or
    higher quality. Non-finite points are ignored."""
    r = np.asarray(rate, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    if r.shape != q.shape or r.ndim != 1:
        raise ValueError(f"rate and quality must be 1-D and of equal length, got {r.shape} and {q.shape}")
    ok = np.isfinite(r) & np.isfinite(q) & (r > 0)
    r, q = r[ok], q[ok]
    # Sort by rate, and among equal rates best quality first, so the
    # cheapest point for each quality level survives.
    order = np.lexsort((-q, r))
    keep_r: list[float] = []
    keep_q: list[float] = []
    best = -math.inf
    for i in order:
        if q[i] > best:
            keep_r.append(float(r[i]))
            keep_q.append(float(q[i]))
            best = q[i]
    return np.asarray(keep_r), np.asarray(keep_q)


class Pchip:
    """Monotone piecewise-cubic Hermite interpolant (Fritsch–Carlson) with exact integrals.

    ``x`` must be strictly increasing. Written out here (rather than taken from
    scipy) because the integral over a partial interval is needed and the
    whole thing is a few lines of algebra."""

    def __init__(self, x: ArrayLike, y: ArrayLike) -> None:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
            raise ValueError("Pchip needs two or more (x, y) points in 1-D arrays of equal length")
        if not np.all(np.diff(x) > 0):
            raise ValueError("Pchip needs strictly increasing x")
        self.x, self.y = x, y
        h = np.diff(x)
        delta = np.diff(y) / h
        d = np.zeros_like(y)
        if len(x) == 2:
            d[:] = delta[0]
        else:
            # Interior: weighted harmonic mean of neighbouring slopes, zero at extrema.
            w1 = 2 * h[1:] + h[:-1]
            w2 = h[1:] + 2 * h[:-1]
            same = delta[:-1] * delta[1:] > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                hm = (w1 + w2) / (w1 / delta[:-1] + w2 / delta[1:])
            d[1:-1] = np.where(same, hm, 0.0)
            d[0] = _end_slope(h[0], h[1], delta[0], delta[1])
            d[-1] = _end_slope(h[-1], h[-2], delta[-1], delta[-2])
        self.h = h
        self.d = d
        # p(t) = y0 + d0 t + c2 t^2 + c3 t^3 on each segment, t in [0, h].
        self.c2 = (3 * delta - 2 * d[:-1] - d[1:]) / h
        self.c3 = (d[:-1] + d[1:] - 2 * delta) / h**2
        seg = y[:-1] * h + d[:-1] * h**2 / 2 + self.c2 * h**3 / 3 + self.c3 * h**4 / 4
        self._cum = np.concatenate([[0.0], np.cumsum(seg)])

    def __call__(self, xq: float | np.ndarray) -> np.ndarray:
        xq = np.asarray(xq, dtype=np.float64)
        k, t = self._locate(xq)
        return self.y[k] + self.d[k] * t + self.c2[k] * t**2 + self.c3[k] * t**3

    def antiderivative(self, xq: float | np.ndarray) -> np.ndarray:
        """Integral from x[0] to xq (xq inside [x[0], x[-1]])."""
        xq = np.asarray(xq, dtype=np.float64)
        k, t = self._locate(xq)
        part = self.y[k] * t + self.d[k] * t**2 / 2 + self.c2[k] * t**3 / 3 + self.c3[k] * t**4 / 4
        return self._cum[k] + part

    def integrate(self, a: float, b: float) -> float:
        return float(self.antiderivative(b) - self.antiderivative(a))

    def _locate(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.x[0], self.x[-1]
        tol = 1e-9 * max(1.0, abs(hi - lo))
        if np.any(xq < lo - tol) or np.any(xq > hi + tol):
            raise ValueError(f"Pchip does not extrapolate: query outside [{lo}, {hi}]")
        xq = np.clip(xq, lo, hi)
        k = np.clip(np.searchsorted(self.x, xq, side="right") - 1, 0, len(self.h) - 1)
        return k, xq - self.x[k]


def _end_slope(h0: float, h1: float, d0: float, d1: float) -> float:
    """Shape-preserving one-sided three-point slope at an end (as in Fritsch–Carlson/scipy)."""
    s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    if np.sign(s) != np.sign(d0):
        return 0.0
    if np.sign(d0) != np.sign(d1) and abs(s) > abs(3 * d0):
        return 3 * d0
    return float(s)


def bd_rate(
    rate_ref: ArrayLike,
    quality_ref: ArrayLike,
    rate_test: ArrayLike,
    quality_test: ArrayLike,
) -> BDResult:
    """BD-rate of ``test`` against ``ref``: mean relative rate change at equal quality.

    ``quality`` must be "higher is better" (transform it first otherwise, see
    :mod:`pillow_grace.evaluate.metrics`). Returns an undefined result (value None)
    when either frontier has fewer than two points or the shared quality
    interval is empty."""
    r1, q1 = pareto_frontier(rate_ref, quality_ref)
    r2, q2 = pareto_frontier(rate_test, quality_test)
    for label, q in (("reference", q1), ("test", q2)):
        if len(q) == 0:
            return BDResult(
                None, None, None, f"the {label} curve has no defined accuracy (metric undefined here)"
            )
        if len(q) < 2:
            return BDResult(
                None,
                None,
                None,
                f"the {label} curve has {len(q)} distinct accuracy level(s) on its frontier; "
                "2 or more are needed",
            )
    low = max(q1[0], q2[0])
    high = min(q1[-1], q2[-1])
    if high - low <= MIN_OVERLAP:
        return BDResult(
            None,
            None,
            None,
            f"no shared accuracy range: reference spans [{q1[0]:.4g}, {q1[-1]:.4g}], "
            f"test spans [{q2[0]:.4g}, {q2[-1]:.4g}]",
        )
    f1 = Pchip(q1, np.log(r1))
    f2 = Pchip(q2, np.log(r2))
    mean_diff = (f2.integrate(low, high) - f1.integrate(low, high)) / (high - low)
    return BDResult(float(math.expm1(mean_diff)), float(low), float(high))


def point_rate_change(
    rate_ref: ArrayLike,
    quality_ref: ArrayLike,
    rate_test: ArrayLike,
    quality_test: ArrayLike,
) -> BDResult:
    """Relative rate change of a test curve that has a single frontier point.

    A BD-rate needs an interval; a codec with one operating point (a
    strategy's own tables, or an allocation that cannot reach other rates) has
    none. Then the fair number is the rate at that point against the rate the
    reference needs for the same accuracy (interpolated on its frontier, never
    extrapolated): ``low == high ==`` that accuracy."""
    r1, q1 = pareto_frontier(rate_ref, quality_ref)
    r2, q2 = pareto_frontier(rate_test, quality_test)
    if len(q2) != 1:
        return BDResult(None, None, None, f"the test curve has {len(q2)} frontier points, not 1")
    q = float(q2[0])
    if len(q1) == 0 or not q1[0] <= q <= q1[-1]:
        span = f"[{q1[0]:.4g}, {q1[-1]:.4g}]" if len(q1) else "nothing"
        return BDResult(
            None, None, None, f"the reference curve spans {span}, not the test's accuracy {q:.4g}"
        )
    ref_rate = r1[0] if len(q1) == 1 else float(np.exp(Pchip(q1, np.log(r1))(q)))
    return BDResult(float(r2[0] / ref_rate - 1.0), q, q)

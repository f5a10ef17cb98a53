"""Quantization-table allocation: from a DNN's perception model to 8-bit tables.

Pure numpy, so a device can derive tables for any quality from the statistics
stored in a strategy, without torch.

Two allocations are provided (``Allocation.method``):

``"paper"``
    Algorithm 1 of the GRACE paper (Theorem 1): per channel, maximise
    prod(d_n) subject to sum(d_n) <= B and 0 < d_n <= theta_n, where
    theta_n = mean|g_n| * mean|s_n|, then q_n = 2 d_n / mean|g_n|. This is
    water-filling: d_n = min(theta_n, L) with L chosen so the budget is spent.
    Kept exactly as written so it can be compared; note that a bin whose
    theta_n lies below the water level gets q_n = 2 mean|s_n|, a small step
    that still codes noise where zeroing would cost the model nothing.

``"empirical"`` (the fitter's default)
    The same per-bin Lagrangian, with the rate and the Fisher-weighted
    distortion *measured* on the probe images at a grid of steps
    (:class:`~pillow_grace.core.strategy.RateDistortion`) instead of modelled: the
    entropy of the quantized symbols, and each block's squared error weighted
    by that block's own Fisher weight. It keeps what a pooled Laplacian
    loses: real coefficient distributions, and the correlation between where
    the model looks and how large the coefficients are there.

``"lagrangian"``
    For each bin independently, q_n = argmin_q R_n(q) + lambda/2 * w_n * D_n(q),
    with w_n = E[g_n^2] (the Fisher diagonal when the probe samples labels, so
    lambda/2 * w_n * D_n is the expected KL divergence added per block) and
    R_n, D_n the rate (bits) and distortion of a uniform quantizer with step q
    on a Laplacian of scale b_n = mean|s_n|. The Laplacian model includes the
    zero bin, so it knows that zeroing a coefficient costs almost no bits.
    lambda is in bits per unit of expected loss per image (bits per nat for
    the sampled-label probe of a classifier).

Quality 1..100 is model-independent: quality Q asks for the DNN loss that
standard JPEG at quality Q would cause, as predicted from the perception
model, at the lowest rate (:func:`quality_to_parameter`). A higher quality
never gives larger steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from pillow_grace.core.errors import EncodeOptionError
from pillow_grace.core.strategy import ALLOCATIONS, LAMBDA_ALLOCATIONS, Allocation, Perception

#: Candidate steps: everything a baseline (8-bit) table can hold.
STEPS = np.arange(1, 256, dtype=np.float64)

# -- quality ------------------------------------------------------------------
# A quality means the same thing for every model: GRACE at quality Q aims for
# the DNN loss that libjpeg's standard tables at quality Q would cause, as
# predicted by the strategy's own perception model, and finds the cheapest
# tables that stay within it. A raw lambda or B would not transfer: their
# scale depends on the loss (a mean-pixel KL for a segmenter, a sum of BCE
# terms for a detector) and on the capture size.
#
# The reference: the JPEG standard's example tables (ITU-T T.81 Annex K),
# scaled for quality exactly as libjpeg's jpeg_quality_scaling() and
# jpeg_add_quant_table(force_baseline) do, the luma table applied to Y and the
# chroma table to U and V, all at full resolution. The predicted loss of
# tables q is sum over channels and bins of w * D(q; b) / 2, with w = E[g^2]
# and D the Laplacian distortion below (per block; the block count cancels).
#: Quality a fitted strategy's own tables are derived at when none is given
#: (JPEG's customary default, also Pillow's).
DEFAULT_QUALITY = 75

ANNEX_K_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
ANNEX_K_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    *([99] * 32),
)  # fmt: skip

#: Search range of the raw parameters when matching a quality.
_LAMBDA_RANGE = (1e-6, 1e24)
_BUDGET_RANGE = (1e-30, 1e6)
_BISECTIONS = 80


def jpeg_reference_tables(quality: int) -> np.ndarray:
    """libjpeg's tables for ``quality`` (3 x 64: luma, chroma, chroma)."""
    validate_quality(quality)
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    out = []
    for base in (ANNEX_K_LUMA, ANNEX_K_CHROMA, ANNEX_K_CHROMA):
        q = (np.asarray(base, dtype=np.int64) * scale + 50) // 100
        out.append(np.clip(q, 1, 255))
    return np.stack(out).astype(np.float64)


def predicted_loss(perception: Perception, steps: np.ndarray) -> float:
    """Expected loss increase per 8x8 block (all three channels) for ``steps``.

    Second-order (Fisher) model: sum of w * D(q; b) / 2 with w = E[g^2],
    b = E|s| and D the Laplacian quantization MSE."""
    fisher = np.asarray(perception.grad_sq_mean, dtype=np.float64)
    scale = np.asarray(perception.coef_abs_mean, dtype=np.float64)
    _rate, dist = laplacian_rate_distortion(np.asarray(steps, dtype=np.float64), scale)
    return float(0.5 * np.sum(fisher * dist))


def _model_for(method: str, perception: Perception) -> _LagrangianModel | _EmpiricalModel:
    if method == "empirical":
        return _EmpiricalModel(perception)
    return _LagrangianModel(perception)


def quality_to_parameter(method: str, quality: int, perception: Perception) -> float:
    """The trade-off parameter whose tables match standard JPEG's predicted
    loss at ``quality`` (see the comment above): the smallest lambda, or the
    largest budget B, whose predicted loss does not exceed the reference.
    For ``"reference"`` the parameter is the quality itself.

    Monotone: a higher quality never gives a smaller lambda or a larger B."""
    _check_method(method)
    validate_quality(quality)
    if method == "reference":
        return float(quality)
    if method in LAMBDA_ALLOCATIONS:
        model = _model_for(method, perception)
        target = model.loss_of(jpeg_reference_tables(int(quality)))
        return _bisect_log(lambda lam: model.loss(lam) <= target, *_LAMBDA_RANGE, increasing=True)
    target = predicted_loss(perception, jpeg_reference_tables(int(quality)))
    g_abs = np.asarray(perception.grad_abs_mean, dtype=np.float64)
    s_abs = np.asarray(perception.coef_abs_mean, dtype=np.float64)

    def paper_loss(budget: float) -> float:
        steps = np.stack([paper_table(g_abs[c], s_abs[c], budget) for c in range(3)])
        return predicted_loss(perception, np.clip(np.rint(steps), 1, 255))

    return _bisect_log(lambda b: paper_loss(b) <= target, *_BUDGET_RANGE, increasing=False)


def _bisect_log(ok: Callable[[float], bool], lo: float, hi: float, *, increasing: bool) -> float:
    """Boundary of a monotone predicate on a log scale.

    increasing=True: ok is False below some value and True above; return the
    smallest value found to be ok (hi if none). increasing=False: the mirror
    image; return the largest ok value (lo if none)."""
    a, b = math.log(lo), math.log(hi)
    good = b if increasing else a
    for _ in range(_BISECTIONS):
        mid = 0.5 * (a + b)
        if ok(math.exp(mid)) == increasing:
            b = mid
            if increasing:
                good = mid
        else:
            a = mid
            if not increasing:
                good = mid
    return math.exp(good)


class _LagrangianModel:
    """Rate and distortion of every (bin, step) pair, computed once, so that
    evaluating many lambdas during a quality search is cheap."""

    def __init__(self, perception: Perception) -> None:
        self.perception = perception
        self.fisher = np.asarray(perception.grad_sq_mean, dtype=np.float64).reshape(-1, 1)
        scale = np.asarray(perception.coef_abs_mean, dtype=np.float64).reshape(-1, 1)
        self.rate, self.dist = laplacian_rate_distortion(STEPS.reshape(1, -1), scale)

    def _index(self, lam: float) -> np.ndarray:
        return _argmin_largest(self.rate + 0.5 * lam * self.fisher * self.dist)

    def steps(self, lam: float) -> np.ndarray:
        return STEPS[self._index(lam)]

    def loss(self, lam: float) -> float:
        idx = self._index(lam)
        return float(0.5 * np.sum(self.fisher[:, 0] * self.dist[np.arange(len(idx)), idx]))

    def loss_of(self, steps: np.ndarray) -> float:
        return predicted_loss(self.perception, steps)


class _EmpiricalModel:
    """The measured rate and Fisher-weighted distortion of every (bin, grid step) pair."""

    def __init__(self, perception: Perception) -> None:
        rd = perception.rate_distortion
        if rd is None:
            raise EncodeOptionError(
                'allocation "empirical" needs the measured perception.rate_distortion (format 1.2); '
                'refit the strategy, or use method "lagrangian"'
            )
        self.steps_grid = np.asarray(rd.steps, dtype=np.float64)
        self.fisher = np.asarray(perception.grad_sq_mean, dtype=np.float64).reshape(-1, 1)
        self.rate = np.asarray(rd.rate, dtype=np.float64).reshape(192, -1)
        self.mse = np.asarray(rd.mse, dtype=np.float64).reshape(192, -1)

    def _index(self, lam: float) -> np.ndarray:
        return _argmin_largest(self.rate + 0.5 * lam * self.fisher * self.mse)

    def steps(self, lam: float) -> np.ndarray:
        return self.steps_grid[self._index(lam)]

    def loss(self, lam: float) -> float:
        idx = self._index(lam)
        return float(0.5 * np.sum(self.fisher[:, 0] * self.mse[np.arange(192), idx]))

    def loss_of(self, steps: np.ndarray) -> float:
        """Predicted loss of any tables: the error at a step between grid points is
        interpolated linearly (exact on the grid)."""
        flat = np.asarray(steps, dtype=np.float64).reshape(-1)
        mse = [np.interp(flat[i], self.steps_grid, self.mse[i]) for i in range(192)]
        return float(0.5 * np.sum(self.fisher[:, 0] * np.asarray(mse)))


def parameter_for_quality(allocation: Allocation, perception: Perception, quality: int) -> float:
    """The allocation parameter for ``quality``: from the fitter's measured
    ``calibration`` anchors where the strategy has them, else matched on the
    predicted loss (:func:`quality_to_parameter`).

    Between anchors, log(parameter) is interpolated linearly in quality.
    Outside them, the predicted mapping is followed, scaled to meet the
    nearest anchor, so the curve stays continuous and monotone."""
    validate_quality(quality)
    anchors = allocation.calibration
    if not anchors:
        return quality_to_parameter(allocation.method, quality, perception)
    qs = [q for q, _ in anchors]
    logs = [math.log(p) for _, p in anchors]
    if qs[0] <= quality <= qs[-1]:
        return math.exp(float(np.interp(quality, qs, logs)))
    edge = 0 if quality < qs[0] else -1
    predicted = quality_to_parameter(allocation.method, quality, perception)
    at_edge = quality_to_parameter(allocation.method, qs[edge], perception)
    return math.exp(logs[edge]) * predicted / at_edge


def reference_applies(allocation: Allocation | None, quality: int | None) -> bool:
    """Whether ``quality`` is above the strategy's ``reference_above``: then the file is
    standard JPEG 4:4:4 at that quality (see :class:`~pillow_grace.core.strategy.Allocation`)."""
    limit = allocation.reference_above if allocation is not None else None
    return quality is not None and limit is not None and quality > limit


def derive_tables(
    perception: Perception | None, method: str, parameter: float
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Three 64-entry tables (Y, U, V), natural order, integers in 1..255."""
    _check_method(method)
    if not (isinstance(parameter, (int, float)) and math.isfinite(parameter) and parameter > 0):
        raise EncodeOptionError(
            f"tradeoff must be a finite number > 0 (lambda or budget B), got {parameter!r}"
        )
    if method == "reference":
        if not 1 <= parameter <= 100:
            raise EncodeOptionError(f'tradeoff is the JPEG quality for method "reference": 1..100, '
                                    f"got {parameter!r}")
        ref = jpeg_reference_tables(round(parameter)).astype(int)
        return (tuple(ref[0].tolist()), tuple(ref[1].tolist()), tuple(ref[2].tolist()))
    if perception is None:
        raise EncodeOptionError(f"allocation {method!r} needs the strategy's perception statistics")
    g_abs = np.asarray(perception.grad_abs_mean, dtype=np.float64)
    g_sq = np.asarray(perception.grad_sq_mean, dtype=np.float64)
    s_abs = np.asarray(perception.coef_abs_mean, dtype=np.float64)
    if method == "paper":
        q = np.stack([paper_table(g_abs[c], s_abs[c], parameter) for c in range(3)])
    elif method == "empirical":
        q = _EmpiricalModel(perception).steps(parameter).reshape(3, 64)
    else:
        q = lagrangian_steps(g_sq, s_abs, parameter)
    q = np.clip(np.rint(q), 1, 255).astype(int)
    return (tuple(q[0].tolist()), tuple(q[1].tolist()), tuple(q[2].tolist()))


def derive_allocation(perception: Perception, method: str, *, quality: int | None = None,
                      parameter: float | None = None) -> tuple[tuple[tuple[int, ...], ...], Allocation]:
    """Tables plus the :class:`Allocation` record describing how they were made."""
    if parameter is None:
        if quality is None:
            raise EncodeOptionError("give quality (1..100) or tradeoff (the raw parameter)")
        parameter = quality_to_parameter(method, quality, perception)
    tables = derive_tables(perception, method, parameter)
    return tables, Allocation(method, float(parameter), quality)


# -- the paper's Algorithm 1 ---------------------------------------------------
def water_fill(theta: np.ndarray, budget: float) -> np.ndarray:
    """Theorem 1: argmax prod(d) s.t. sum(d) <= budget, 0 < d <= theta.

    The optimum is d_n = min(theta_n, L) with the water level L set so the
    budget is spent exactly (or d = theta when sum(theta) <= budget)."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.sum() <= budget:
        return theta.copy()
    order = np.sort(theta)[::-1]  # descending
    n = len(order)
    # With the k largest bins under water (d = L) and the rest capped at theta:
    # L_k = (budget - sum of the n-k smallest) / k. The answer is the smallest
    # k whose level reaches the (k+1)-th largest theta (it then also lies at or
    # below the k-th largest). Taking the first k that passes, instead of
    # testing both bounds, cannot fail on round-off when L_k equals a theta;
    # k = n always passes because sum(theta) > budget > 0.
    tail = np.concatenate([np.cumsum(order[::-1])[::-1][1:], [0.0]])  # tail[k-1] = sum(order[k:])
    k = np.arange(1, n + 1)
    level = (budget - tail) / k
    lower = np.concatenate([order[1:], [0.0]])
    first = int(np.argmax(level >= lower))
    return np.minimum(theta, max(level[first], 0.0))


def paper_table(g_abs: np.ndarray, s_abs: np.ndarray, budget: float) -> np.ndarray:
    """One channel's steps by Algorithm 1: q_n = 2 d_n / mean|g_n| (unclipped).

    A bin the model ignores (g = 0) or that is always zero (s = 0) has
    theta = 0; Eq. (2) caps its step at 2 mean|s|, so it gets exactly that."""
    g_abs = np.asarray(g_abs, dtype=np.float64)
    s_abs = np.asarray(s_abs, dtype=np.float64)
    theta = g_abs * s_abs
    d = water_fill(theta, budget)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(g_abs > 0, 2.0 * d / np.where(g_abs > 0, g_abs, 1.0), 2.0 * s_abs)
    return np.minimum(q, 2.0 * s_abs)


# -- the Lagrangian (Fisher-weighted) allocation --------------------------------
def laplacian_rate_distortion(step: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rate (bits/coefficient) and MSE of rounding a Laplacian to multiples of ``step``.

    ``scale`` is b = E|s|. Broadcasts. The reconstruction points are k*step
    (libjpeg rounds to nearest), the zero bin is (-step/2, step/2). Derived in
    closed form: outside the zero bin the magnitude is exponential, so every
    non-zero bin has the same conditional shape (memorylessness).
    """
    step = np.asarray(step, dtype=np.float64)
    b = np.maximum(np.asarray(scale, dtype=np.float64), 1e-12)
    a = step / 2.0
    p_nz = np.exp(-a / b)  # P(|s| >= step/2): coefficient survives quantization
    p0 = 1.0 - p_nz
    r = np.exp(-step / b)  # ratio of successive non-zero bins
    # Entropy: zero/non-zero flag + (sign + geometric magnitude) when non-zero.
    h0 = _binary_entropy(p0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h_geo = np.where(
            r > 1e-300,
            (-(1 - r) * np.log2(np.maximum(1 - r, 1e-300)) - r * np.log2(np.maximum(r, 1e-300))) / (1 - r),
            0.0,
        )
    rate = h0 + p_nz * (1.0 + h_geo)
    # Distortion in the zero bin: (1/b) int_0^a x^2 e^{-x/b} dx.
    d_zero = (2 * b**3 - np.exp(-a / b) * (b * a**2 + 2 * b**2 * a + 2 * b**3)) / b
    # Non-zero bins: u = |s| - (k - 1/2) step ~ Exp(b) truncated to [0, step);
    # error is u - step/2.
    one_m_r = np.maximum(1.0 - r, 1e-300)
    m1 = b - step * r / one_m_r
    m2 = (2 * b**2 - r * (step**2 + 2 * b * step + 2 * b**2)) / one_m_r
    d_nz = m2 - step * m1 + a**2
    distortion = np.maximum(d_zero, 0.0) + p_nz * np.maximum(d_nz, 0.0)
    return rate, distortion


def lagrangian_steps(fisher: np.ndarray, scale: np.ndarray, lam: float) -> np.ndarray:
    """Per bin argmin_q R(q) + lam/2 * fisher * D(q) over q in 1..255.

    Ties go to the larger step (fewer bits for the same cost). A bin with zero
    Fisher weight gets 255: the model never notices it."""
    fisher = np.asarray(fisher, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    shape = fisher.shape
    f = fisher.reshape(-1, 1)
    b = scale.reshape(-1, 1)
    rate, dist = laplacian_rate_distortion(STEPS.reshape(1, -1), b)
    return STEPS[_argmin_largest(rate + 0.5 * lam * f * dist)].reshape(shape)


def _argmin_largest(cost: np.ndarray) -> np.ndarray:
    """Per row, the index of the minimum cost; ties go to the largest step.

    A tie must be judged with a tolerance: once a step zeroes practically
    every coefficient, rate (~1e-20 bits) and distortion (2 b^2) no longer
    change beyond float round-off, and an exact argmin would pick an arbitrary
    step from that plateau, so that a larger lambda could even yield a larger
    step."""
    best_cost = cost.min(axis=1, keepdims=True)
    near = cost <= best_cost + _TIE_RTOL * np.abs(best_cost) + _TIE_ATOL
    return cost.shape[1] - 1 - np.argmax(near[:, ::-1], axis=1)


#: Relative and absolute tolerance under which two costs (bits) count as equal.
_TIE_RTOL = 1e-9
_TIE_ATOL = 1e-12


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-300, 1.0)
    q = np.clip(1.0 - p, 1e-300, 1.0)
    return -(p * np.log2(p) + q * np.log2(q))


def validate_quality(quality: int) -> None:
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise EncodeOptionError(f"quality must be an integer in 1..100, got {quality!r}")


def _check_method(method: str) -> None:
    if method not in ALLOCATIONS:
        raise EncodeOptionError(
            f"allocation method must be one of {', '.join(ALLOCATIONS)}; got {method!r}"
        )

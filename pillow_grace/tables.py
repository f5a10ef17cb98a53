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

``"lagrangian"`` (default)
    For each bin independently, q_n = argmin_q R_n(q) + lambda/2 * w_n * D_n(q),
    with w_n = E[g_n^2] (the Fisher diagonal when the probe samples labels, so
    lambda/2 * w_n * D_n is the expected KL divergence added per block) and
    R_n, D_n the rate (bits) and distortion of a uniform quantizer with step q
    on a Laplacian of scale b_n = mean|s_n|. The Laplacian model includes the
    zero bin, so it knows that zeroing a coefficient costs almost no bits.
    lambda is in bits per nat of expected loss per image and is comparable
    across models and resolutions.

Quality 1..100 maps log-linearly onto the trade-off parameter (see
:func:`quality_to_parameter`); a higher quality always gives smaller steps.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import EncodeOptionError
from .strategy import ALLOCATIONS, Allocation, Perception

#: Candidate steps: everything a baseline (8-bit) table can hold.
STEPS = np.arange(1, 256, dtype=np.float64)

# Quality mapping. lambda doubles every LAMBDA_DOUBLING quality points and
# equals LAMBDA_AT_Q50 at quality 50; for the paper's budget B the mapping is
# the mirror image (B halves as quality rises). The anchors are meant to be
# calibrated on EfficientNet-Lite0 so that quality 50..95 spans the useful
# range of top-1 agreement.
#
# These four constants are PLACEHOLDERS (not calibrated yet); they are plain
# module globals read at call time, so a calibration (or an experiment) only
# has to assign new values here. A strategy stores the raw parameter its
# tables were derived with (Allocation.parameter), so changing the mapping
# never changes an existing strategy's own tables.
LAMBDA_AT_Q50 = 1.0e5
LAMBDA_DOUBLING = 6.0
BUDGET_AT_Q50 = 1.0e-4
BUDGET_HALVING = 6.0
#: Quality a fitted strategy's own tables are derived at when none is given
#: (JPEG's customary default, also Pillow's).
DEFAULT_QUALITY = 75


def quality_to_parameter(method: str, quality: int) -> float:
    """Map quality 1..100 onto the allocation's trade-off parameter.

    lagrangian: lambda = LAMBDA_AT_Q50 * 2 ** ((quality - 50) / LAMBDA_DOUBLING)
    paper:      B      = BUDGET_AT_Q50 * 2 ** ((50 - quality) / BUDGET_HALVING)
    """
    _check_method(method)
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise EncodeOptionError(f"quality must be an integer in 1..100, got {quality!r}")
    if method == "lagrangian":
        return LAMBDA_AT_Q50 * 2.0 ** ((int(quality) - 50) / LAMBDA_DOUBLING)
    return BUDGET_AT_Q50 * 2.0 ** ((50 - int(quality)) / BUDGET_HALVING)


def derive_tables(
    perception: Perception, method: str, parameter: float
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Three 64-entry tables (Y, U, V), natural order, integers in 1..255."""
    _check_method(method)
    if not (isinstance(parameter, (int, float)) and math.isfinite(parameter) and parameter > 0):
        raise EncodeOptionError(
            f"tradeoff must be a finite number > 0 (lambda or budget B), got {parameter!r}"
        )
    g_abs = np.asarray(perception.grad_abs_mean, dtype=np.float64)
    g_sq = np.asarray(perception.grad_sq_mean, dtype=np.float64)
    s_abs = np.asarray(perception.coef_abs_mean, dtype=np.float64)
    if method == "paper":
        q = np.stack([paper_table(g_abs[c], s_abs[c], parameter) for c in range(3)])
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
        parameter = quality_to_parameter(method, quality)
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
    cost = rate + 0.5 * lam * f * dist
    # Ties go to the largest step. A tie must be judged with a tolerance: once
    # a step zeroes practically every coefficient, rate (~1e-20 bits) and
    # distortion (2 b^2) no longer change beyond float round-off, and an exact
    # argmin would pick an arbitrary step from that plateau, so that a larger
    # lambda could even yield a larger step.
    best_cost = cost.min(axis=1, keepdims=True)
    near = cost <= best_cost + _TIE_RTOL * np.abs(best_cost) + _TIE_ATOL
    best = cost.shape[1] - 1 - np.argmax(near[:, ::-1], axis=1)
    return STEPS[best].reshape(shape)


#: Relative and absolute tolerance under which two costs (bits) count as equal.
_TIE_RTOL = 1e-9
_TIE_ATOL = 1e-12


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-300, 1.0)
    q = np.clip(1.0 - p, 1e-300, 1.0)
    return -(p * np.log2(p) + q * np.log2(q))


def _check_method(method: str) -> None:
    if method not in ALLOCATIONS:
        raise EncodeOptionError(
            f"allocation method must be one of {', '.join(ALLOCATIONS)}; got {method!r}"
        )

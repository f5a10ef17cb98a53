"""Theorem 2 (G-YUV weights): weighted vs plain median, clamping, fixed weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pillow_grace.core.strategy import MIN_WEIGHT, validate_weights
from pillow_grace.fit.colourfit import (
    clamp_weights,
    fit_weights,
    fixed_weights,
    ratio_median,
    weighted_median,
    weights_from_ratios,
)


def _lad(num: np.ndarray, den: np.ndarray, z: float) -> float:
    return float(np.abs(num - z * den).sum())


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 50_000])
def test_weighted_median_minimises_weighted_absolute_deviation(n: int) -> None:
    rng = np.random.default_rng(n)
    v = rng.standard_cauchy(n)
    w = rng.exponential(size=n)
    m = weighted_median(v, w)
    best = float(np.min([np.sum(w * np.abs(v - c)) for c in v[:: max(1, n // 500)]]))
    assert np.sum(w * np.abs(v - m)) <= best + 1e-9 * abs(best)
    order = np.argsort(v)  # and it is the textbook (lower) weighted median
    cum = np.cumsum(w[order])
    assert m == v[order[np.searchsorted(cum, cum[-1] / 2)]]


def test_weighted_median_degenerate_inputs() -> None:
    assert math.isnan(weighted_median(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
    assert weighted_median(np.array([3.0, np.nan, 5.0]), np.array([1.0, 9.0, 0.5])) == 3.0
    ties = np.repeat([1.0, 2.0, 3.0], 3000)
    assert weighted_median(ties, np.ones_like(ties)) == 2.0


def test_theorem2_recovers_known_weights_from_synthetic_gradients() -> None:
    """g_R = a g_G + noise, g_B = c g_G + noise -> Wr/Wg = a, Wb/Wg = c."""
    rng = np.random.default_rng(0)
    g_g = rng.laplace(0, 1e-4, 200_000)
    a, c = 0.45, 0.3
    g_r = a * g_g + rng.normal(0, 1e-5, g_g.size)
    g_b = c * g_g + rng.normal(0, 1e-5, g_g.size)
    fit = fit_weights(g_r, g_g, g_b, "weighted")
    assert fit.ratios == pytest.approx((a, c), rel=0.01)
    expected = (a / (1 + a + c), 1 / (1 + a + c), c / (1 + a + c))
    assert fit.weights == pytest.approx(expected, rel=0.01)
    assert not fit.clamped
    validate_weights(fit.weights)


def test_weighted_median_beats_plain_when_small_gradients_are_noise() -> None:
    """Most coefficients are ones the model barely reacts to (g_G ~ 0): their
    ratio is noise, here biased high. The plain median of ratios follows them;
    the weighted median (the exact LAD solution) follows the coefficients that
    carry the loss, and has the lower LAD objective."""
    rng = np.random.default_rng(1)
    strong = rng.laplace(0, 1e-3, 30_000)
    weak = rng.laplace(0, 1e-7, 70_000)
    a = 0.4
    g_g = np.concatenate([strong, weak])
    g_r = np.concatenate([a * strong + rng.normal(0, 1e-5, strong.size),
                          weak * rng.uniform(0, 5, weak.size)])
    weighted = ratio_median(g_r, g_g, "weighted")
    plain = ratio_median(g_r, g_g, "plain")
    assert weighted == pytest.approx(a, rel=0.02)
    assert abs(plain - a) > 0.5
    assert _lad(g_r, g_g, weighted) < 0.9 * _lad(g_r, g_g, plain)


def test_ratio_median_drops_zero_denominators_and_uses_sample_weights() -> None:
    num = np.array([1.0, 2.0, 5.0, 7.0])
    den = np.array([1.0, 1.0, 0.0, 1.0])
    assert ratio_median(num, den, "plain") == 2.0
    # Weighting entries by their label probability moves the median.
    assert ratio_median(num, den, "plain", sample_weights=np.array([0.1, 0.1, 1.0, 5.0])) == 7.0
    with pytest.raises(ValueError, match="colour_median"):
        ratio_median(num, den, "mean")


@pytest.mark.parametrize("raw", [(0.0, 0.9, 0.1), (0.3, 0.69, 0.01), (0.02, 0.02, 0.96), (-1.0, 0.5, 0.5)])
def test_clamp_weights_enforces_the_floor_and_keeps_free_ratios(raw: tuple[float, float, float]) -> None:
    w, changed = clamp_weights(raw)
    assert changed
    validate_weights(w)  # >= MIN_WEIGHT and sums to 1 within the strategy tolerance
    assert min(w) >= MIN_WEIGHT and abs(sum(w) - 1) < 1e-12
    free = [i for i in range(3) if w[i] > MIN_WEIGHT + 1e-12]
    if len(free) == 2:
        i, j = free
        assert w[i] / w[j] == pytest.approx(max(raw[i], 0) / max(raw[j], 1e-300))


def test_clamp_weights_leaves_valid_weights_alone() -> None:
    w, changed = clamp_weights((0.299, 0.587, 0.114))
    assert not changed and w == pytest.approx((0.299, 0.587, 0.114))


def test_weights_from_ratios_guards() -> None:
    fit = weights_from_ratios(-0.2, 0.3)  # negative median -> Wr clamped
    assert fit.clamped and fit.weights[0] == MIN_WEIGHT and "negative" in fit.note
    assert fit.weights[2] / fit.weights[1] == pytest.approx(0.3)  # Wb/Wg untouched
    fit = weights_from_ratios(math.nan, 0.3)  # no green gradient at all
    assert fit.clamped and fit.weights == pytest.approx((0.299, 0.587, 0.114)) and "BT.601" in fit.note


def test_fixed_weights() -> None:
    assert fixed_weights("BT601").weights == pytest.approx((0.299, 0.587, 0.114))
    assert fixed_weights((0.3, 0.5, 0.2)).method == "fixed"
    with pytest.raises(ValueError, match="sum to 1"):
        fixed_weights((0.3, 0.3, 0.3))
    with pytest.raises(ValueError, match="unknown named weights"):
        fixed_weights("srgb")

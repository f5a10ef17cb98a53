"""BD-rate on curves with known answers, and the monotone interpolant it rests on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pillow_grace.evaluate.bdrate import Pchip, bd_rate, pareto_frontier


def _curve(rates: np.ndarray) -> np.ndarray:
    """A saturating accuracy curve of rate (monotone, concave in log-rate)."""
    return 100.0 * (1.0 - np.exp(-rates / 0.8))


RATES = np.array([0.2, 0.35, 0.5, 0.8, 1.2, 2.0, 3.0])


@pytest.mark.parametrize("scale", [0.8, 1.25, 0.5])
def test_scaled_rate_gives_exact_bd_rate(scale: float) -> None:
    acc = _curve(RATES)
    # The test codec reaches the same accuracy with `scale` times the bits.
    res = bd_rate(RATES, acc, RATES * scale, acc)
    assert res.defined
    assert res.value == pytest.approx(scale - 1.0, abs=1e-12)
    assert (res.low, res.high) == pytest.approx((acc[0], acc[-1]))


def test_different_sampling_of_the_same_curve_still_gives_the_known_answer() -> None:
    # Test points sampled elsewhere on the (scaled) curve: interpolation error only.
    ref_rates = np.geomspace(0.1, 4.0, 12)
    test_base = np.geomspace(0.15, 3.0, 9)
    res = bd_rate(ref_rates, _curve(ref_rates), 0.8 * test_base, _curve(test_base))
    assert res.value == pytest.approx(-0.20, abs=0.005)
    # Only the shared accuracy interval is used: the test curve's.
    assert res.low == pytest.approx(_curve(test_base)[0])
    assert res.high == pytest.approx(_curve(test_base)[-1])


def test_empty_overlap_is_reported_not_extrapolated() -> None:
    ref = bd_rate([0.1, 0.2, 0.3], [50, 60, 70], [1.0, 2.0, 3.0], [80, 90, 95])
    assert not ref.defined
    assert ref.value is None and ref.low is None
    assert "no shared accuracy range" in ref.reason
    assert "[50, 70]" in ref.reason and "[80, 95]" in ref.reason


def test_single_point_frontier_is_undefined() -> None:
    # Every setting of the reference reaches the same accuracy: one frontier point.
    res = bd_rate([0.5, 1.0, 2.0], [100, 100, 100], [0.4, 0.9], [90, 100])
    assert not res.defined
    assert "reference curve has 1 distinct accuracy level" in res.reason


def test_pareto_frontier_drops_dominated_points() -> None:
    r, q = pareto_frontier([0.5, 0.3, 0.9, 0.6, 1.2, 1.2], [80, 70, 85, 75, 95, 96])
    assert r.tolist() == [0.3, 0.5, 0.9, 1.2]
    assert q.tolist() == [70, 80, 85, 96]


def test_non_monotone_measurements_use_the_achievable_curve() -> None:
    # A noisy dip (0.8 -> 60) must not bend the curve: that setting is never the best choice.
    rates = [0.2, 0.4, 0.8, 1.6]
    noisy = bd_rate(rates, [50, 70, 60, 90], [r * 0.9 for r in rates], [50, 70, 60, 90])
    assert noisy.value == pytest.approx(-0.1, abs=1e-12)


def test_pchip_is_monotone_exact_at_knots_and_integrates_exactly() -> None:
    x = np.array([0.0, 1.0, 2.0, 4.0, 7.0])
    y = np.array([0.0, 0.1, 3.0, 3.1, 10.0])
    f = Pchip(x, y)
    assert f(x) == pytest.approx(y)
    dense = np.linspace(0, 7, 2001)
    assert np.all(np.diff(f(dense)) >= -1e-12), "PCHIP must not overshoot monotone data"
    # Exact integral vs a fine trapezoid.
    trap = np.trapezoid(f(dense), dense) if hasattr(np, "trapezoid") else np.trapz(f(dense), dense)
    assert f.integrate(0, 7) == pytest.approx(trap, rel=1e-5)
    assert f.integrate(1.5, 5.5) == pytest.approx(f.integrate(0, 5.5) - f.integrate(0, 1.5))
    with pytest.raises(ValueError, match="does not extrapolate"):
        f(7.5)


def test_pchip_matches_scipy_when_available() -> None:
    interpolate = pytest.importorskip("scipy.interpolate")
    x = np.array([0.0, 0.5, 1.7, 2.0, 3.5])
    y = np.array([1.0, 1.2, 2.5, 2.6, 5.0])
    ref = interpolate.PchipInterpolator(x, y)
    q = np.linspace(0, 3.5, 50)
    assert Pchip(x, y)(q) == pytest.approx(ref(q), abs=1e-12)
    assert Pchip(x, y).integrate(0.3, 3.1) == pytest.approx(ref.integrate(0.3, 3.1), abs=1e-12)


def test_bd_rate_is_antisymmetric_in_log_space() -> None:
    a = bd_rate(RATES, _curve(RATES), RATES * 0.7, _curve(RATES))
    b = bd_rate(RATES * 0.7, _curve(RATES), RATES, _curve(RATES))
    assert math.log1p(a.value) == pytest.approx(-math.log1p(b.value))


def test_single_point_rate_change() -> None:
    from pillow_grace.evaluate.bdrate import point_rate_change

    ref_r = np.geomspace(0.1, 4.0, 10)
    # One operating point (all settings reach the same accuracy) at half the reference's rate.
    q = _curve(np.array([1.0]))[0]
    res = point_rate_change(ref_r, _curve(ref_r), [0.5, 0.9], [q, q])
    assert res.value == pytest.approx(-0.5, abs=0.01)
    assert res.low == res.high == pytest.approx(q)
    outside = point_rate_change(ref_r, _curve(ref_r), [0.5], [100.0])
    assert not outside.defined and "not the test's accuracy" in outside.reason

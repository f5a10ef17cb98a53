"""Table allocation (pillow_grace.core.tables): Algorithm 1 against brute force, the
Laplacian rate/distortion model against simulation, and the Lagrangian
allocation's properties."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest

from pillow_grace.core import tables
from pillow_grace.core.errors import EncodeOptionError
from pillow_grace.core.strategy import Perception


def _brute_force_alg1(theta: np.ndarray, budget: float, grid: int = 120) -> tuple[float, np.ndarray]:
    """max sum(log d) s.t. sum(d) <= budget, 0 < d <= theta, on a grid (N = 3)."""
    axes = [np.linspace(t / grid, t, grid) for t in theta]
    d0, d1, d2 = np.meshgrid(*axes, indexing="ij")
    feasible = d0 + d1 + d2 <= budget * (1 + 1e-12)
    obj = np.where(feasible, np.log(d0) + np.log(d1) + np.log(d2), -np.inf)
    i = np.unravel_index(np.argmax(obj), obj.shape)
    return float(obj[i]), np.array([d0[i], d1[i], d2[i]])


@pytest.mark.parametrize("seed", range(6))
def test_water_fill_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0.1, 3.0, 3)
    budget = float(rng.uniform(0.2, 0.95) * theta.sum())
    d = tables.water_fill(theta, budget)
    assert np.all(d <= theta + 1e-12) and np.all(d > 0)
    assert d.sum() == pytest.approx(budget)
    best, d_grid = _brute_force_alg1(theta, budget)
    ours = float(np.log(d).sum())
    assert ours >= best - 1e-9  # never worse than any grid point
    assert ours - best < 0.05  # and the grid gets close to it
    assert np.allclose(d, d_grid, atol=3 * theta.max() / 120)


def test_water_fill_edge_cases() -> None:
    theta = np.array([3.0, 1.0, 1.0, 0.5])
    assert np.array_equal(tables.water_fill(theta, 10.0), theta)  # budget not binding
    # Level exactly at a theta (ties and round-off must not break it).
    d = tables.water_fill(np.array([0.1, 0.2, 0.3, 0.3, 0.3]), 0.1 + 0.2 + 0.2 + 0.2 + 0.2)
    assert np.allclose(d, [0.1, 0.2, 0.2, 0.2, 0.2])
    rng = np.random.default_rng(0)
    for _ in range(200):
        t = np.round(rng.uniform(0, 1, 64), 1)  # many ties
        b = float(rng.uniform(0.01, 1.0) * max(t.sum(), 1e-3))
        d = tables.water_fill(t, b)
        assert d.sum() <= b * (1 + 1e-9) + 1e-12
        assert np.all(d <= t + 1e-12)


def test_paper_table_is_algorithm_1() -> None:
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-4, 1e-2, 64)
    s = rng.uniform(0.5, 80, 64)
    budget = 0.3 * float((g * s).sum())
    q = tables.paper_table(g, s, budget)
    d = g * q / 2  # worst-case loss increase per bin, as in the paper
    assert d.sum() == pytest.approx(budget)
    assert np.all(q <= 2 * s + 1e-9)  # Eq. (2)
    # The bins below the water level get q = 2 |s| (d = theta); the others share one level.
    capped = np.isclose(q, 2 * s)
    assert np.allclose(d[~capped], d[~capped][0])
    assert np.all(g[capped] * s[capped] <= d[~capped][0] + 1e-15)


def _simulate(step: float, b: float, n: int = 2_000_000, seed: int = 0) -> tuple[float, float]:
    s = np.random.default_rng(seed).laplace(0.0, b, n)  # E|s| = b
    level = np.sign(s) * np.floor(np.abs(s) / step + 0.5)  # libjpeg: nearest, half away from 0
    _, counts = np.unique(level, return_counts=True)
    p = counts / n
    return float(-(p * np.log2(p)).sum()), float(np.mean((s - level * step) ** 2))


@pytest.mark.parametrize(("step", "b"), [(1.0, 5.0), (4.0, 4.0), (10.0, 3.0), (6.0, 1.5), (2.0, 0.8)])
def test_laplacian_rate_distortion_matches_simulation(step: float, b: float) -> None:
    rate, dist = tables.laplacian_rate_distortion(np.array(step), np.array(b))
    sim_rate, sim_dist = _simulate(step, b)
    assert float(rate) == pytest.approx(sim_rate, rel=0.02, abs=2e-3)
    assert float(dist) == pytest.approx(sim_dist, rel=0.02)


def test_laplacian_limits() -> None:
    rate, dist = tables.laplacian_rate_distortion(np.array([1.0, 255.0]), np.array([1e-9, 2.0]))
    assert rate[0] == pytest.approx(0.0, abs=1e-9) and dist[0] == pytest.approx(0.0, abs=1e-9)
    assert dist[1] == pytest.approx(2 * 2.0**2, rel=1e-6)  # everything zeroed: the variance 2 b^2
    assert rate[1] < 1e-20


def test_lagrangian_is_monotone_in_lambda_and_ignores_zero_fisher() -> None:
    rng = np.random.default_rng(5)
    fisher = 10.0 ** rng.uniform(-12, -5, (3, 64))
    fisher[1, 10:20] = 0.0
    scale = 10.0 ** rng.uniform(-1, 2.5, (3, 64))
    previous = None
    for lam in 10.0 ** np.arange(2, 13, 0.5):
        q = tables.lagrangian_steps(fisher, scale, float(lam))
        assert np.all(q[1, 10:20] == 255)
        if previous is not None:
            assert np.all(q <= previous)  # larger lambda never gives a larger step
        previous = q
    assert previous is not None and (previous < 255).mean() > 0.8  # the test reaches fine steps


def test_lagrangian_step_brute_force() -> None:
    """argmin over the 255 steps of R + lambda/2 w D, evaluated one step at a time."""
    w, b, lam = 3e-7, 12.0, 2e6
    costs = []
    for q in range(1, 256):
        r, d = tables.laplacian_rate_distortion(np.array(float(q)), np.array(b))
        costs.append(float(r) + 0.5 * lam * w * float(d))
    expected = int(np.argmin(costs)) + 1
    assert tables.lagrangian_steps(np.array([w]), np.array([b]), lam)[0] == expected
    assert 1 < expected < 255


def _perception(seed: int = 0) -> Perception:
    rng = np.random.default_rng(seed)
    r = np.add.outer(np.arange(8), np.arange(8)).ravel()
    g_sq = np.stack([1e-6 * np.exp(-r / 3), 1e-7 * np.exp(-r / 2), 2e-7 * np.exp(-r / 2)])
    g_sq *= rng.uniform(0.5, 1.5, g_sq.shape)
    coef = np.stack([40 * np.exp(-r / 4) + 1, 10 * np.exp(-r / 3) + 0.5, 10 * np.exp(-r / 3) + 0.5])
    return Perception(np.sqrt(g_sq), g_sq, coef)


@pytest.mark.parametrize("method", ["lagrangian", "paper"])
def test_higher_quality_never_gives_larger_steps(method: str) -> None:
    p = _perception()
    previous = None
    for quality in range(1, 101, 3):
        t = np.asarray(tables.derive_tables(p, method, tables.quality_to_parameter(method, quality, p)))
        assert t.min() >= 1 and t.max() <= 255
        if previous is not None:
            assert np.all(t <= previous)
        previous = t


def test_derive_allocation_records_the_parameter() -> None:
    p = _perception()
    t, alloc = tables.derive_allocation(p, "lagrangian", quality=60)
    assert alloc.method == "lagrangian" and alloc.quality == 60
    assert alloc.parameter == pytest.approx(tables.quality_to_parameter("lagrangian", 60, p))
    assert t == tables.derive_tables(p, "lagrangian", alloc.parameter)
    _, alloc2 = tables.derive_allocation(p, "paper", parameter=1e-3)
    assert alloc2.quality is None and alloc2.parameter == 1e-3


@pytest.mark.parametrize(("args", "match"), [
    (("lagrangian", 0.0), "tradeoff"),
    (("lagrangian", float("nan")), "tradeoff"),
    (("bogus", 1.0), "allocation method"),
])
def test_derive_tables_rejects_bad_input(args: tuple[str, float], match: str) -> None:
    with pytest.raises(EncodeOptionError, match=match):
        tables.derive_tables(_perception(), *args)


def test_quality_to_parameter_validates() -> None:
    p = _perception()
    for bad in (0, 101, 50.5, True):
        with pytest.raises(EncodeOptionError):
            tables.quality_to_parameter("lagrangian", bad, p)  # type: ignore[arg-type]
    lams = [tables.quality_to_parameter("lagrangian", q, p) for q in (10, 50, 90)]
    budgets = [tables.quality_to_parameter("paper", q, p) for q in (10, 50, 90)]
    assert lams == sorted(lams) and budgets == sorted(budgets, reverse=True)


def test_jpeg_reference_tables_match_libjpeg() -> None:
    """Pillow's quality=Q tables are libjpeg's; ours must equal them."""
    from PIL import Image

    for quality in (10, 50, 75, 95):
        buf = io.BytesIO()
        Image.new("RGB", (16, 16), (90, 120, 40)).save(buf, "JPEG", quality=quality)
        with Image.open(buf) as im:
            stored = im.quantization  # Pillow reads DQT back in natural order
        ref = tables.jpeg_reference_tables(quality)
        assert list(stored[0]) == ref[0].astype(int).tolist()
        assert list(stored[1]) == ref[1].astype(int).tolist()


@pytest.mark.parametrize("method", ["lagrangian", "paper"])
def test_quality_matches_the_predicted_loss_of_jpeg(method: str) -> None:
    """Quality Q asks for standard JPEG's predicted loss at Q, at lower cost:
    the derived tables' predicted loss is at most the reference (and close)."""
    p = _perception(3)
    for quality in (20, 50, 80):
        target = tables.predicted_loss(p, tables.jpeg_reference_tables(quality))
        param = tables.quality_to_parameter(method, quality, p)
        got = tables.predicted_loss(p, np.asarray(tables.derive_tables(p, method, param)))
        assert got <= target * (1 + 1e-9)
        if method == "lagrangian":
            # A slightly smaller lambda must break the target: the answer is the boundary.
            looser = np.asarray(tables.derive_tables(p, method, param * 0.9))
            assert tables.predicted_loss(p, looser) > target * 0.5


def test_quality_is_independent_of_the_loss_scale() -> None:
    """Scaling every gradient (another loss normalisation) scales lambda
    inversely and leaves the tables of a quality unchanged."""
    p = _perception(1)
    k = 1e6
    scaled = Perception(
        np.asarray(p.grad_abs_mean) * k**0.5, np.asarray(p.grad_sq_mean) * k, p.coef_abs_mean
    )
    for quality in (30, 75):
        a = tables.derive_allocation(p, "lagrangian", quality=quality)
        b = tables.derive_allocation(scaled, "lagrangian", quality=quality)
        assert a[0] == b[0]
        assert b[1].parameter == pytest.approx(a[1].parameter / k, rel=1e-6)


def test_brute_force_small_grid_agrees_for_four_bins() -> None:
    """N = 4 on a coarse exhaustive grid, including bins far below the water level."""
    theta = np.array([2.0, 0.05, 1.0, 0.4])
    budget = 1.6
    d = tables.water_fill(theta, budget)
    best = -np.inf
    grid = 60
    for combo in itertools.product(*[np.linspace(t / grid, t, grid) for t in theta[:3]]):
        rest = budget - sum(combo)
        if rest <= 0:
            continue
        d3 = min(theta[3], rest)
        best = max(best, float(np.sum(np.log(combo)) + np.log(d3)))
    assert float(np.log(d).sum()) >= best - 1e-9
    assert float(np.log(d).sum()) - best < 0.1

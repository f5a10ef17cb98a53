"""Format 1.2: measured rate-distortion curves and the "empirical" allocation, without torch.

Known answers: the tables are the brute-force argmin over the grid of rate + lambda/2 x
Fisher x measured error; a quality is matched on the loss the same curves predict for
standard JPEG's tables; files round-trip and invalid curves name their field."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pillow_grace
from pillow_grace import Strategy, StrategyError
from pillow_grace.core import tables as T
from pillow_grace.core.strategy import Allocation, Perception, RateDistortion

GRID = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 255)


def curves(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rate falling and error rising with the step, as measured ones do, per bin at its own scale."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 80.0, size=(3, 64, 1))
    q = np.asarray(GRID, dtype=np.float64)[None, None, :]
    rate = np.maximum(np.log2(1 + 2 * scale / q) - 0.05, 0.0)
    mse = np.minimum(q**2 / 12, 2 * scale**2) * rng.uniform(0.8, 1.2, size=(3, 64, 1))
    return rate, mse


def measured(seed: int = 0) -> Perception:
    rate, mse = curves(seed)
    u, v = np.meshgrid(np.arange(8), np.arange(8))
    r = (u + v).reshape(-1).astype(np.float64)
    g_sq = np.stack([s * 4e-6 * np.exp(-r / 3) for s in (1.0, 0.3, 0.3)])
    coef = np.stack([60 / (1 + r) + 1] * 3)
    return Perception(np.sqrt(g_sq), g_sq, coef, RateDistortion(GRID, rate, mse))


def test_tables_are_the_brute_force_argmin_over_the_grid() -> None:
    p = measured()
    rate, mse = curves()
    g_sq = np.asarray(p.grad_sq_mean)
    for lam in (1e4, 3e5, 1e7, 1e9):
        got = np.asarray(T.derive_tables(p, "empirical", lam))
        for c in range(3):
            for k in range(64):
                costs = [rate[c, k, j] + 0.5 * lam * g_sq[c, k] * mse[c, k, j] for j in range(len(GRID))]
                best = min(costs)
                # ties (within float round-off) go to the larger step, as for the Laplacian model
                want = max(GRID[j] for j, x in enumerate(costs) if x <= best + 1e-9 * abs(best) + 1e-12)
                assert got[c, k] == want, (lam, c, k)


def test_a_quality_is_matched_on_the_loss_the_curves_predict_for_jpeg() -> None:
    p = measured()
    _rate, mse = curves()
    g_sq = np.asarray(p.grad_sq_mean)

    def predicted(steps: np.ndarray) -> float:  # error between grid steps: linear in the step
        flat = np.asarray(steps, dtype=np.float64).reshape(3, 64)
        return 0.5 * sum(g_sq[c, k] * np.interp(flat[c, k], GRID, mse[c, k])
                         for c in range(3) for k in range(64))

    previous = 0.0
    for q in (10, 30, 50, 75, 90, 100):
        lam = T.quality_to_parameter("empirical", q, p)
        assert lam >= previous  # monotone: more quality, more lambda
        previous = lam
        target = predicted(T.jpeg_reference_tables(q))
        assert predicted(np.asarray(T.derive_tables(p, "empirical", lam))) <= target * (1 + 1e-9)
        # ... and it is the smallest lambda that does so (the bisection's tolerance aside).
        coarser = np.asarray(T.derive_tables(p, "empirical", lam * 0.99))
        assert predicted(coarser) > target or np.array_equal(coarser, T.derive_tables(p, "empirical", lam))


def strategy_with_curves(**changes: Any) -> Strategy:
    p = measured()
    param = T.quality_to_parameter("empirical", 75, p)
    fields: dict[str, Any] = dict(name="measured", task="classification", weights=(0.299, 0.587, 0.114),
                                  tables=T.derive_tables(p, "empirical", param), perception=p,
                                  allocation=Allocation("empirical", param, 75))
    fields.update(changes)
    return Strategy(**fields)


def test_a_strategy_with_curves_round_trips_and_encodes_at_any_quality() -> None:
    s = strategy_with_curves()
    # numpy arrays are accepted where lists are, and stored as the same tuples.
    rd = s.perception.rate_distortion
    again = RateDistortion(np.asarray(rd.steps), np.asarray(rd.rate), np.asarray(rd.mse))
    assert again == rd
    assert s.version == (1, 2)
    again = Strategy.from_json(s.to_json())
    assert again == s and again.content_hash == s.content_hash
    assert again.perception.rate_distortion.steps == GRID
    frame = Image.fromarray(np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    sizes = []
    for q in (20, 60, 95):
        buf = io.BytesIO()
        pillow_grace.encode(frame, buf, s, quality=q)
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            assert [list(im.quantization[i]) for i in range(3)] == \
                [list(t) for t in T.derive_tables(s.perception, "empirical",
                                                  T.quality_to_parameter("empirical", q, s.perception))]
        sizes.append(len(buf.getvalue()))
    assert sizes == sorted(sizes)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d["steps"].__setitem__(-1, 254), "perception.rate_distortion.steps", "1 to 255"),
        (lambda d: d["steps"].__setitem__(0, 2), "perception.rate_distortion.steps", "1 to 255"),
        (lambda d: d["steps"].__setitem__(3, d["steps"][2]), "perception.rate_distortion.steps", "strictly"),
        (lambda d: d["rate"][1][5].pop(), "perception.rate_distortion.rate[1][5]", "one per step"),
        (lambda d: d["mse"][2][7].__setitem__(0, -1.0), "perception.rate_distortion.mse[2][7][0]", ">= 0"),
        (lambda d: d["mse"][0].pop(), "perception.rate_distortion.mse[0]", "64"),
        (lambda d: d.pop("rate"), "perception.rate_distortion.rate", "required"),
        # What the bulk check of valid files lets through to the value-by-value one:
        (lambda d: d["rate"][0][3].__setitem__(2, True), "perception.rate_distortion.rate[0][3][2]", "True"),
        (lambda d: d["mse"][1][0].__setitem__(4, 10**400), "perception.rate_distortion.mse[1][0][4]",
         "at most"),
        (lambda d: d["mse"][1][9].__setitem__(1, "0.5"), "perception.rate_distortion.mse[1][9][1]", "'0.5'"),
        (lambda d: d["rate"][2][63].__setitem__(0, 1e31), "perception.rate_distortion.rate[2][63][0]",
         "at most"),
    ],
)
def test_bad_curves_name_their_field(change: Any, field: str, words: str) -> None:
    doc = json.loads(strategy_with_curves().to_json())
    doc.pop("content_hash")
    change(doc["perception"]["rate_distortion"])
    with pytest.raises(StrategyError, match=words) as e:
        Strategy.from_dict(doc)
    assert e.value.field == field


def test_method_empirical_needs_the_curves_and_the_curves_need_format_1_2() -> None:
    p = measured()
    bare = Perception(p.grad_abs_mean, p.grad_sq_mean, p.coef_abs_mean)
    with pytest.raises(StrategyError, match='use method "lagrangian"') as e:
        strategy_with_curves(perception=bare)
    assert e.value.field == "perception.rate_distortion"
    with pytest.raises(StrategyError, match=r"at least 1\.2") as e:
        strategy_with_curves(version=(1, 1))
    assert e.value.field == "version"
    # The curves may ride along with another method (a fit that chose the Laplacian model keeps none,
    # but nothing forbids them), and derive nothing by themselves.
    lag = T.quality_to_parameter("lagrangian", 75, p)
    other = strategy_with_curves(tables=T.derive_tables(p, "lagrangian", lag),
                                 allocation=Allocation("lagrangian", lag, 75))
    assert other.allocation.method == "lagrangian"


def test_deriving_empirical_tables_without_curves_says_how_to_fix_it() -> None:
    p = measured()
    bare = Perception(p.grad_abs_mean, p.grad_sq_mean, p.coef_abs_mean)
    with pytest.raises(pillow_grace.EncodeOptionError, match="refit the strategy"):
        T.derive_tables(bare, "empirical", 1e6)
    assert math.isfinite(T.quality_to_parameter("lagrangian", 50, bare))

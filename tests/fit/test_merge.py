"""grace merge: one strategy protecting what either model needs (paper §9)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from grace_fit_models import BlockDC, Classifier, LowPass, images  # noqa: E402

from pillow_grace import Strategy  # noqa: E402
from pillow_grace.fit import fit_strategy, merge_strategies  # noqa: E402
from pillow_grace.fit.merge import move_perception  # noqa: E402

pytestmark = pytest.mark.slow  # fits models to merge (the quick run skips it)


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return images(2, (64, 48), seed=13)


def test_merge_with_shared_weights_is_the_exact_maximum(frames: list[np.ndarray]) -> None:
    w = (0.3, 0.5, 0.2)
    # The max-of-Fisher rule is a property of the Laplacian model (measured curves do not merge).
    a = fit_strategy(BlockDC(), frames, name="a", weights=w, tradeoff=1e9, allocation="lagrangian")
    b = fit_strategy(LowPass(cut=3), frames, name="b", weights=w, tradeoff=1e9, allocation="lagrangian")
    m = merge_strategies([a, b], name="a-and-b")
    assert Strategy.from_dict(m.to_dict()) == m
    pa, pb, pm = (np.asarray(s.perception.grad_sq_mean) for s in (a, b, m))
    assert np.array_equal(pm, np.maximum(pa, pb))
    assert np.array_equal(np.asarray(m.perception.grad_abs_mean),
                          np.maximum(np.asarray(a.perception.grad_abs_mean),
                                     np.asarray(b.perception.grad_abs_mean)))
    assert np.allclose(m.perception.coef_abs_mean, a.perception.coef_abs_mean)  # same images
    # Same image statistics, larger sensitivity: never a larger step than either input.
    ta, tb, tm = (np.asarray(s.tables) for s in (a, b, m))
    assert np.all(tm <= np.minimum(ta, tb))
    # The union of what the two models see gets fine steps; what neither sees stays 255.
    u, v = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    seen = ((u < 3) & (v < 3)).ravel()
    assert np.all(tm[0][seen] < 255) and np.all(tm[0][~seen] == 255)
    assert m.allocation.parameter == a.allocation.parameter  # quality/method carried over
    prov = m.provenance
    assert [d["name"] for d in prov["merged_from"]] == ["a", "b"]
    assert prov["merged_from"][0]["content_hash"] == a.content_hash


def test_moving_a_perception_to_other_weights_bounds_the_real_one(frames: list[np.ndarray]) -> None:
    """Statistics moved to another colour space without cross-channel moments
    must be upper bounds (safe side) of the statistics measured there."""
    model = Classifier(classes=6, seed=4)
    w1, w2 = (0.3, 0.5, 0.2), (0.15, 0.7, 0.15)
    s1 = fit_strategy(model, frames, name="w1", weights=w1, loss="argmax")
    s2 = fit_strategy(model, frames, name="w2", weights=w2, loss="argmax")
    g_abs, g_sq, coef = move_perception(s1.perception, w1, w2)
    real_abs, real_sq = np.asarray(s2.perception.grad_abs_mean), np.asarray(s2.perception.grad_sq_mean)
    assert np.all(g_abs >= real_abs * (1 - 1e-6))
    assert np.all(g_sq >= real_sq * (1 - 1e-6))
    assert np.median(coef / np.asarray(s2.perception.coef_abs_mean)) == pytest.approx(1.0, rel=0.3)
    same = move_perception(s1.perception, w1, w1)
    assert np.array_equal(same[1], np.asarray(s1.perception.grad_sq_mean))


def test_merge_takes_weights_of_the_larger_luma_sensitivity(frames: list[np.ndarray]) -> None:
    a = fit_strategy(Classifier(seed=1), frames, name="small", weights=(0.3, 0.5, 0.2))
    b = fit_strategy(Classifier(seed=2, temperature=0.2), frames, name="large", weights=(0.2, 0.6, 0.2))
    big = b if sum(b.perception.grad_abs_mean[0]) > sum(a.perception.grad_abs_mean[0]) else a
    m = merge_strategies([a, b], name="m", quality=60)
    assert m.weights == big.weights and m.provenance["weights_from"] == big.name
    assert m.allocation.quality == 60


def test_merge_refuses_what_it_cannot_do(frames: list[np.ndarray], make_strategy) -> None:  # type: ignore[no-untyped-def]
    a = fit_strategy(Classifier(), frames, name="a", subsampling="4:4:4", validate=False)
    with pytest.raises(ValueError, match="at least two"):
        merge_strategies([a], name="m")
    b = fit_strategy(Classifier(), frames, name="b", subsampling="4:2:0", validate=False)
    with pytest.raises(ValueError, match="subsampling"):
        merge_strategies([a, b], name="m")
    bare = make_strategy(name="bare", tables="ones", perception=None)
    with pytest.raises(ValueError, match="perception"):
        merge_strategies([a, bare], name="m")


def test_empirical_fits_merge_with_the_laplacian_model(frames: list[np.ndarray]) -> None:
    a = fit_strategy(BlockDC(), frames, name="a", weights=(0.3, 0.5, 0.2), validate=False)
    b = fit_strategy(LowPass(cut=3), frames, name="b", weights=(0.3, 0.5, 0.2), validate=False)
    assert a.allocation.method == b.allocation.method == "empirical"
    m = merge_strategies([a, b], name="a-and-b")
    assert m.allocation.method == "lagrangian" and m.perception.rate_distortion is None
    with pytest.raises(ValueError, match="measured for one model"):
        merge_strategies([a, b], name="x", allocation="empirical")

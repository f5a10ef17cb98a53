"""Merging strategies: one stream that serves several DNNs (paper §9). Numpy only.

The paper observes that if the sensitive frequency bands of model A cover
those of model B, a stream compressed for A serves B. For two models whose
bands differ, protecting the union means, per bin, the *larger* sensitivity:
``grad_abs_mean`` and ``grad_sq_mean`` are merged by element-wise maximum,
``coef_abs_mean`` (a property of the images, not the models) by the mean.

Colour weights cannot be refitted without the gradients, so the merged
strategy takes the weights of the strategy with the largest total Y
sensitivity (sum of its ``grad_abs_mean`` over Y bins): the model whose
luma carries the most of the loss is the one whose colour space matters most.
The other strategies' statistics are first moved into that colour space:
per coefficient their planes map by ``T = A_ref A_other^-1`` (gradients) and
``M_ref M_other^-1`` (coefficients). Cross-channel moments are not stored, so
the moved statistics are bounds, chosen on the safe side for the model:

* E|g'_c| <= sum_j |T_cj| E|g_j|               (triangle inequality)
* E[g'_c^2] <= (sum_j |T_cj| sqrt(E[g_j^2]))^2  (Minkowski)
* E|s'_c| ~ sqrt(sum_j (M'_cj E|s_j|)^2)        (independent channels)

When all strategies share their weights, ``T`` is the identity and nothing is
approximated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from pillow_grace._version import __version__
from pillow_grace.core import colour
from pillow_grace.core import tables as tables_mod
from pillow_grace.core.strategy import Perception, Strategy


def _gradient_map(weights: tuple[float, float, float]) -> np.ndarray:
    """RGB gradients -> plane gradients: the transpose of the decoder's inverse matrix (~M^-T)."""
    return colour.inverse_matrix(weights)[:, :3].T


def _arrays(p: Perception) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.asarray(p.grad_abs_mean, dtype=np.float64), np.asarray(p.grad_sq_mean, dtype=np.float64),
            np.asarray(p.coef_abs_mean, dtype=np.float64))


def move_perception(p: Perception, src: tuple[float, float, float],
                    dst: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``p`` (measured in G-YUV with weights ``src``) expressed for weights ``dst`` (see module doc)."""
    ga, gs, ca = _arrays(p)
    if np.allclose(src, dst, rtol=0, atol=1e-12):
        return ga, gs, ca
    t = _gradient_map(dst) @ np.linalg.inv(_gradient_map(src))
    m = colour.forward_matrix(dst)[:, :3] @ colour.inverse_matrix(src)[:, :3]
    at = np.abs(t)
    return at @ ga, (at @ np.sqrt(gs)) ** 2, np.sqrt((m**2) @ (ca**2))


def merge_strategies(
    strategies: Sequence[Strategy],
    *,
    name: str,
    quality: int | None = None,
    tradeoff: float | None = None,
    allocation: str | None = None,
    description: str | None = None,
) -> Strategy:
    """One strategy protecting every bin that any of ``strategies`` protects; tables re-derived.

    The tables are derived for ``quality`` (or the raw ``tradeoff``); by
    default, for the trade-off all inputs share, else their common quality,
    else :data:`pillow_grace.core.tables.DEFAULT_QUALITY`. ``allocation`` defaults
    to the inputs' common method, else "lagrangian" ("lagrangian" too for
    inputs fitted with "empirical", whose measured curves do not merge)."""
    if len(strategies) < 2:
        raise ValueError("merge needs at least two strategies")
    for s in strategies:
        if s.perception is None:
            raise ValueError(
                f"strategy {s.name!r} stores no perception statistics, so it cannot be merged; refit it"
            )
    subs = {s.subsampling for s in strategies}
    if len(subs) > 1:
        raise ValueError(
            f"strategies use different chroma subsampling ({', '.join(sorted(subs))}); their chroma "
            "statistics are measured on different blocks. Refit them with the same subsampling"
        )
    y_sens = [float(np.sum(s.perception.grad_abs_mean[0])) for s in strategies]  # type: ignore[union-attr]
    ref = strategies[int(np.argmax(y_sens))]
    moved = [move_perception(s.perception, s.weights, ref.weights) for s in strategies]  # type: ignore[arg-type]
    grad_abs = np.max([m[0] for m in moved], axis=0)
    grad_sq = np.max([m[1] for m in moved], axis=0)
    coef_abs = np.mean([m[2] for m in moved], axis=0)
    perception = Perception(
        grad_abs_mean=tuple(tuple(float(x) for x in r) for r in grad_abs),
        grad_sq_mean=tuple(tuple(float(x) for x in r) for r in grad_sq),
        coef_abs_mean=tuple(tuple(float(x) for x in r) for r in coef_abs),
    )
    allocs = {(s.allocation.method, s.allocation.parameter, s.allocation.quality) if s.allocation else None
              for s in strategies}
    methods = {a[0] for a in allocs if a}
    method = allocation or (methods.pop() if len(methods) == 1 else "lagrangian")
    if method == "empirical":
        # Measured curves are Fisher-weighted by one model's blocks: the max-of-Fisher
        # merge has no curve of its own, so it uses the Laplacian model of the same trade-off.
        if allocation == "empirical":
            raise ValueError('allocation "empirical" needs rate-distortion curves measured for one model; '
                             'a merge has none: use "lagrangian" (the default for a merge of empirical fits)')
        method = "lagrangian"
    parameter = None
    if quality is None and tradeoff is None:
        shared = allocs.pop() if len(allocs) == 1 else None
        if shared is not None and shared[0] == method:
            quality, parameter = shared[2], shared[1]  # every input made the same trade-off: keep it
        else:
            qualities = {a[2] for a in allocs if a and a[2] is not None}
            quality = qualities.pop() if len(qualities) == 1 else tables_mod.DEFAULT_QUALITY
    elif tradeoff is not None:
        if quality is not None:
            raise ValueError("give quality or tradeoff, not both")
        parameter = tradeoff
    tables, alloc = tables_mod.derive_allocation(perception, method, quality=quality, parameter=parameter)

    def same(values: list[Any]) -> Any:
        return values[0] if all(v == values[0] for v in values) else None

    prov = {
        "merged_from": [{"name": s.name, "content_hash": s.content_hash} for s in strategies],
        "merge_rule": "max of grad_abs_mean and grad_sq_mean, mean of coef_abs_mean; "
        "weights of the strategy with the largest total Y sensitivity",
        "weights_from": ref.name,
        "library_version": __version__,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "allocation": method,
        "quality": alloc.quality,
    }
    merged = Strategy(
        name=name,
        task=same([s.task for s in strategies]) or "other",
        weights=ref.weights,
        tables=tables,  # type: ignore[arg-type]
        subsampling=ref.subsampling,
        perception=perception,
        allocation=alloc,
        description=description if description is not None
        else "merge of " + ", ".join(s.name for s in strategies),
        model_input_size=same([s.model_input_size for s in strategies]),
        probe_resolution=same([s.probe_resolution for s in strategies]),
        provenance=prov,
    )
    return Strategy.from_dict(merged.to_dict(), source=f"merged strategy {name!r}")

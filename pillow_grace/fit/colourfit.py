"""G-YUV colour weights from gradients (paper Theorem 2), numpy only.

With planes ``Y = Wr R + Wg G + Wb B``, ``U = 128 + (B - Y) / (2 (1 - Wb))``,
``V = 128 + (R - Y) / (2 (1 - Wr))`` the chain rule gives, per coefficient,

    g_U = 2 (1 - Wb) (g_B - (Wb / Wg) g_G)
    g_V = 2 (1 - Wr) (g_R - (Wr / Wg) g_G)

so the U and V sensitivities vanish when ``Wb / Wg`` and ``Wr / Wg`` equal the
ratios ``g_B / g_G`` and ``g_R / g_G``. Over many coefficients the paper
minimises ``sum |g_B - z g_G|`` (a least-absolute-deviation problem, ignoring
the positive factor 2 (1 - Wb)). Writing it as ``sum |g_G| |g_B / g_G - z|``
shows the exact minimiser is the *weighted* median of the ratios with weights
``|g_G|``; the paper states a plain median, which lets the many coefficients
where the model barely reacts (g_G ~ 0, ratio = noise) outvote the ones that
matter. Both are available; ``"weighted"`` is the default.

The weights then follow from ``z_r = Wr/Wg``, ``z_b = Wb/Wg`` and
``Wr + Wg + Wb = 1``. A weight below :data:`~pillow_grace.core.strategy.MIN_WEIGHT`
would amplify decoding noise, so the result is clamped (see
:func:`clamp_weights`) and the clamp is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pillow_grace.core.colour import BT601
from pillow_grace.core.strategy import MIN_WEIGHT

MEDIANS = ("weighted", "plain")

#: Named fixed weights accepted by ``fit_strategy(weights=...)``.
NAMED_WEIGHTS: dict[str, tuple[float, float, float]] = {"bt601": BT601}


@dataclass(frozen=True)
class ColourFit:
    """Fitted weights plus what a reader of the provenance needs to trust them."""

    weights: tuple[float, float, float]
    """Final (Wr, Wg, Wb): each >= MIN_WEIGHT, summing to 1."""
    ratios: tuple[float, float] | None
    """(z_r, z_b) = medians of g_R/g_G and g_B/g_G; None for fixed weights."""
    raw_weights: tuple[float, float, float] | None
    """Weights implied by the ratios before clamping (None if degenerate/fixed)."""
    clamped: bool
    method: str
    """"weighted", "plain" or "fixed"."""
    note: str = ""


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """A minimiser of ``sum_i weights_i |values_i - z|`` (weights >= 0).

    Returns the smallest value at which the cumulative weight reaches half
    the total (the lower weighted median); NaN if the total weight is 0.
    Weighted quickselect: expected linear time, so tens of millions of
    coefficients take a fraction of a second instead of a full sort."""
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.asarray(weights, dtype=np.float64).ravel()
    if v.shape != w.shape:
        raise ValueError(f"values and weights differ in size: {v.size} vs {w.size}")
    keep = (w > 0) & np.isfinite(v) & np.isfinite(w)
    v, w = v[keep], w[keep]
    if v.size == 0:
        return math.nan
    target = 0.5 * w.sum()
    below = 0.0  # weight already known to lie below every remaining value
    while v.size > 4096:
        # Deterministic pivot: the median of an evenly spaced sample.
        pivot = float(np.median(v[:: max(1, v.size // 1001)]))
        left = v < pivot
        w_left = float(w[left].sum())
        if below + w_left >= target:
            v, w = v[left], w[left]
            continue
        equal = v == pivot
        w_equal = float(w[equal].sum())
        if below + w_left + w_equal >= target:
            return pivot
        below += w_left + w_equal
        right = ~(left | equal)
        v, w = v[right], w[right]
    order = np.argsort(v, kind="stable")
    cum = below + np.cumsum(w[order])
    k = int(np.searchsorted(cum, target, side="left"))
    return float(v[order[min(k, v.size - 1)]])


def ratio_median(num: np.ndarray, den: np.ndarray, kind: str = "weighted",
                 sample_weights: np.ndarray | None = None) -> float:
    """The LAD slope ``argmin_z sum |num - z den|`` (weighted) or the paper's plain median.

    ``sample_weights`` (>= 0, broadcastable to ``num``) weight whole entries,
    e.g. the probability of the label a gradient was taken for. Entries with
    ``den == 0`` carry no information about the ratio and are dropped; for the
    weighted median they would have weight 0 anyway."""
    if kind not in MEDIANS:
        raise ValueError(f"colour_median must be one of {', '.join(MEDIANS)}; got {kind!r}")
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    sw = np.ones_like(den) if sample_weights is None else np.broadcast_to(sample_weights, den.shape)
    nz = (den != 0) & (sw > 0)
    ratio = num[nz] / den[nz]
    if kind == "weighted":
        return weighted_median(ratio, np.abs(den[nz]) * sw[nz])
    return weighted_median(ratio, sw[nz])


def clamp_weights(
    weights: Sequence[float], minimum: float = MIN_WEIGHT
) -> tuple[tuple[float, float, float], bool]:
    """Project weights onto {w_i >= minimum, sum w = 1}; return (weights, changed).

    Weights below the floor are set to it and the remaining mass is shared
    among the others *in proportion to their current values*. This keeps the
    ratio between the unclamped weights, which is what the separable LAD
    objectives ask for: e.g. with Wb clamped, Wr/Wg stays at the fitted z_r,
    and the U objective (convex in Wb/Wg) is at its best feasible point.
    Negative or non-finite inputs count as 0."""
    w = np.array([x if math.isfinite(x) and x > 0 else 0.0 for x in weights], dtype=np.float64)
    if w.shape != (3,):
        raise ValueError(f"expected three weights, got {len(w)}")
    if w.sum() <= 0:
        w = np.ones(3)
    w = w / w.sum()
    original = w.copy()
    fixed = np.zeros(3, dtype=bool)
    for _ in range(3):
        low = (w < minimum) & ~fixed
        if not low.any():
            break
        fixed |= low
        free_mass = 1.0 - minimum * fixed.sum()
        free = ~fixed
        share = w[free].sum()
        w[fixed] = minimum
        if free.any():
            w[free] = w[free] / share * free_mass if share > 0 else free_mass / free.sum()
    # Exact sum: put the rounding residue on the largest weight.
    big = int(np.argmax(w))
    w[big] = 1.0 - (w.sum() - w[big])
    changed = bool(np.max(np.abs(w - original)) > 1e-12)
    return (float(w[0]), float(w[1]), float(w[2])), changed


def weights_from_ratios(z_r: float, z_b: float) -> ColourFit:
    """Theorem 2: (Wr, Wg, Wb) = (z_r, 1, z_b) / (1 + z_r + z_b), then clamped.

    A negative median means the best non-negative ratio is 0 (the LAD
    objective is convex), so it is raised to 0 before normalising; the clamp
    then lifts that weight to MIN_WEIGHT."""
    note = ""
    if not (math.isfinite(z_r) and math.isfinite(z_b)):
        w, _ = clamp_weights(BT601)
        return ColourFit(w, None, None, True, "weighted",
                         "no usable gradient on the green channel; fell back to BT.601 weights")
    zr, zb = max(z_r, 0.0), max(z_b, 0.0)
    if zr != z_r or zb != z_b:
        note = "negative colour ratio raised to 0"
    total = 1.0 + zr + zb
    raw = (zr / total, 1.0 / total, zb / total)
    w, changed = clamp_weights(raw)
    return ColourFit(w, (float(z_r), float(z_b)), raw, changed or bool(note), "weighted", note)


def fit_weights(g_r: np.ndarray, g_g: np.ndarray, g_b: np.ndarray, kind: str = "weighted",
                sample_weights: np.ndarray | None = None) -> ColourFit:
    """Fit G-YUV weights from per-coefficient RGB gradients (any equal shapes)."""
    z_r = ratio_median(g_r, g_g, kind, sample_weights)
    z_b = ratio_median(g_b, g_g, kind, sample_weights)
    fit = weights_from_ratios(z_r, z_b)
    return ColourFit(fit.weights, fit.ratios, fit.raw_weights, fit.clamped, kind, fit.note)


def fixed_weights(weights: str | Sequence[float]) -> ColourFit:
    """Weights given by the caller (a name in :data:`NAMED_WEIGHTS` or three numbers)."""
    if isinstance(weights, str):
        try:
            w = NAMED_WEIGHTS[weights.lower()]
        except KeyError:
            raise ValueError(
                f"unknown named weights {weights!r}; use one of {', '.join(NAMED_WEIGHTS)} or (Wr, Wg, Wb)"
            ) from None
    else:
        w = tuple(float(x) for x in weights)  # type: ignore[assignment]
        if len(w) != 3 or not all(math.isfinite(x) for x in w):
            raise ValueError(f"weights must be three finite numbers (Wr, Wg, Wb), got {weights!r}")
        if abs(sum(w) - 1.0) > 1e-6 or min(w) < MIN_WEIGHT:
            raise ValueError(
                f"fixed weights {tuple(w)} must each be >= {MIN_WEIGHT} and sum to 1; "
                "pass normalised weights, e.g. 'bt601'"
            )
    clamped, changed = clamp_weights(w)
    return ColourFit(clamped, None, None, changed, "fixed")

"""From per-image measurements to rate–accuracy points, BD-rates and their noise.

Noise is measured by the bootstrap over images: each resample draws N images
with replacement (the same draw for every codec setting, so comparisons are
paired), and every aggregate (bpp, accuracy, BD-rate) is recomputed on it.
Intervals are the 2.5 and 97.5 percentiles of 1000 resamples by default. A
BD-rate is called a win or a loss only when its whole interval is on one side
of zero; otherwise the difference is within the noise of this image set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pillow_grace.evaluate.bdrate import BDResult, Pchip, bd_rate, pareto_frontier, point_rate_change
from pillow_grace.evaluate.codecs import RAW_BITS_PER_PIXEL

if TYPE_CHECKING:  # runner imports torch; the CLI imports this module for --help
    from pillow_grace.evaluate.runner import Sweep

DEFAULT_BOOTSTRAP = 1000
#: Accuracy levels (percent of the primary metric) at which the rate of each curve is read off.
RATE_TARGETS = (90.0, 95.0, 98.0)


@dataclass
class Interval:
    value: float
    low: float
    high: float

    def to_json(self) -> dict[str, float | None]:
        return {"value": _num(self.value), "low": _num(self.low), "high": _num(self.high)}


@dataclass
class Point:
    """One codec setting, aggregated over the image set."""

    curve: str
    setting: str
    codec: dict[str, Any]
    bpp: Interval
    bytes_per_frame: float
    ratio: float
    metrics: dict[str, Interval]
    encode_ms: float
    decode_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "curve": self.curve,
            "setting": self.setting,
            "codec": self.codec,
            "bpp": self.bpp.to_json(),
            "bytes_per_frame": self.bytes_per_frame,
            "compression_ratio": self.ratio,
            "metrics": {k: v.to_json() for k, v in self.metrics.items()},
            "encode_ms": self.encode_ms,
            "decode_ms": self.decode_ms,
        }


@dataclass
class Comparison:
    """BD-rate of ``test`` against ``reference`` on one metric axis."""

    test: str
    reference: str
    metric: str
    axis: str
    result: BDResult
    interval: tuple[float, float] | None
    defined_fraction: float
    verdict: str
    kind: str = "BD-rate"
    """"BD-rate", or "single point" when the test curve has one frontier point
    (then the value is its rate change against the reference at that accuracy)."""

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "test": self.test,
            "reference": self.reference,
            "metric": self.metric,
            "axis": self.axis,
            "bd_rate": _num(r.value),
            "interval_95": list(self.interval) if self.interval else None,
            "accuracy_range": [_num(r.low), _num(r.high)] if r.defined else None,
            "undefined_reason": r.reason or None,
            "bootstrap_defined_fraction": self.defined_fraction,
            "verdict": self.verdict,
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Comparison:
        """The comparison back from a report's ``bd_rates`` entry (``to_json``), so tools that read
        saved reports apply the same rules as the run that wrote them."""
        low, high = d.get("accuracy_range") or (None, None)
        result = BDResult(d.get("bd_rate"), low, high, d.get("undefined_reason") or "")
        interval = tuple(d["interval_95"]) if d.get("interval_95") else None
        return cls(d["test"], d["reference"], d["metric"], d["axis"], result, interval,  # type: ignore[arg-type]
                   d["bootstrap_defined_fraction"], d["verdict"], d.get("kind", "BD-rate"))


@dataclass
class QualityRatio:
    """A GRACE setting against standard JPEG 4:4:4 at the same quality: what the quality
    scale promises (quality Q costs the model what JPEG's Q does, at fewer bytes)."""

    test: str
    setting: str
    metric: str
    loss: str
    """What is compared: the metric itself where lower is better, else 100 - the metric."""
    ratio: Interval
    """The test's mean loss over JPEG 4:4:4's (paired bootstrap over images)."""
    bytes_ratio: float

    def to_json(self) -> dict[str, Any]:
        return {"test": self.test, "setting": self.setting, "metric": self.metric, "loss": self.loss,
                "loss_ratio": self.ratio.to_json(), "bytes_ratio": _num(self.bytes_ratio)}


#: The reference of the quality scale: GRACE's quality Q is calibrated on this codec's Q.
QUALITY_REFERENCE = "jpeg-444"


@dataclass
class Summary:
    sweep: Sweep
    points: list[Point]
    comparisons: list[Comparison]
    rate_at: dict[str, dict[str, Any]]
    bootstrap: int
    seed: int
    primary: str
    curves: list[str] = field(default_factory=list)
    quality_scale: list[QualityRatio] = field(default_factory=list)


def resample_counts(n: int, b: int, seed: int) -> np.ndarray:
    """B x N multiplicities of a bootstrap over N images (each row sums to N)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(b, n))
    counts = np.zeros((b, n))
    np.add.at(counts, (np.repeat(np.arange(b), n), idx.reshape(-1)), 1.0)
    return counts


def summarize(
    sweep: Sweep,
    *,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    tests: Sequence[str] | None = None,
    references: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
) -> Summary:
    """Points with intervals and the BD-rate of every test curve against every reference curve.

    ``tests`` default to the curves whose name starts with ``grace``;
    ``references`` to every other curve; ``metrics`` to all the scorer's
    metrics (the BD-rate of each on its own axis)."""
    scorer = sweep.scorer
    n = len(sweep.pixels)
    counts = (
        np.vstack([np.ones((1, n)), resample_counts(n, bootstrap, seed)]) if bootstrap else np.ones((1, n))
    )
    pix = counts @ sweep.pixels  # B+1
    aggregated: dict[tuple[str, str], tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    curves: list[str] = []
    rates: dict[str, list[np.ndarray]] = {}
    axes: dict[str, dict[str, list[np.ndarray]]] = {}
    points: list[Point] = []
    for run in sweep.settings:
        bpp = (counts @ run.bits.astype(np.float64)) / pix
        vals = scorer.aggregate(run.records, counts)
        aggregated[(run.curve, run.setting)] = (bpp, vals)
        points.append(
            Point(
                curve=run.curve,
                setting=run.setting,
                codec=run.codec,
                bpp=_interval(bpp),
                bytes_per_frame=float(run.bits.mean() / 8),
                ratio=float(RAW_BITS_PER_PIXEL / bpp[0]),
                metrics={k: _interval(v) for k, v in vals.items()},
                encode_ms=float(run.encode_ms.mean()),
                decode_ms=float(run.decode_ms.mean()),
            )
        )
        if run.curve == "uncompressed":
            continue
        if run.curve not in rates:
            curves.append(run.curve)
            rates[run.curve] = []
            axes[run.curve] = {}
        rates[run.curve].append(bpp)
        for m in scorer.metrics:
            axes[run.curve].setdefault(m.name, []).append(m.to_axis(vals[m.name]))
    tests = [c for c in curves if c.startswith("grace")] if tests is None else list(tests)
    references = [c for c in curves if c not in tests] if references is None else list(references)
    metric_names = [m.name for m in scorer.metrics] if metrics is None else list(metrics)
    comparisons: list[Comparison] = []
    for t in tests:
        for r in references:
            if t == r or t not in rates or r not in rates:
                continue
            for name in metric_names:
                spec = scorer.spec(name)
                rt, rr = np.stack(rates[t]), np.stack(rates[r])  # settings x (B+1)
                at, ar = np.stack(axes[t][name]), np.stack(axes[r][name])
                measure = bd_rate
                main = bd_rate(rr[:, 0], ar[:, 0], rt[:, 0], at[:, 0])
                if not main.defined:
                    single = point_rate_change(rr[:, 0], ar[:, 0], rt[:, 0], at[:, 0])
                    if single.defined:
                        measure, main = point_rate_change, single
                boot = [
                    measure(rr[:, b], ar[:, b], rt[:, b], at[:, b]).value for b in range(1, counts.shape[0])
                ]
                defined = [v for v in boot if v is not None]
                frac = len(defined) / len(boot) if boot else 0.0
                ci = (
                    (float(np.percentile(defined, 2.5)), float(np.percentile(defined, 97.5)))
                    if defined
                    else None
                )
                kind = "single point" if measure is point_rate_change else "BD-rate"
                comparisons.append(
                    Comparison(t, r, name, spec.axis_label, main, ci, frac, _verdict(main, ci, frac), kind)
                )
    rate_at = _rates_at_targets(points, scorer.spec(scorer.primary), curves)
    scale = quality_scale(aggregated, tests, scorer.metrics)
    return Summary(sweep, points, comparisons, rate_at, bootstrap, seed, scorer.primary, curves, scale)


def quality_scale(
    aggregated: dict[tuple[str, str], tuple[np.ndarray, dict[str, np.ndarray]]],
    tests: Sequence[str],
    specs: Sequence[Any],
) -> list[QualityRatio]:
    """Each test setting against ``QUALITY_REFERENCE`` at the same setting name (quality).

    The loss is the metric where lower is better (KL, score drift); where a
    task has none, 100 - each percent metric (pixel disagreement). The ratio
    of the mean losses is resampled with the same image draws as everything
    else, so its interval is paired."""
    losses = [m for m in specs if not m.higher_is_better] or [m for m in specs if m.percent]
    out: list[QualityRatio] = []
    for (curve, setting), (bpp, vals) in aggregated.items():
        ref = aggregated.get((QUALITY_REFERENCE, setting))
        if curve not in tests or ref is None:
            continue
        for m in losses:
            mine, theirs = vals[m.name], ref[1][m.name]
            if not m.higher_is_better:
                label = m.label
            else:
                label = f"100 - {m.label}"
                mine, theirs = 100.0 * (1.0 - mine), 100.0 * (1.0 - theirs)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(theirs > 0, mine / theirs, np.where(mine > 0, np.inf, 1.0))
            bytes_ratio = float(bpp[0] / ref[0][0])
            out.append(QualityRatio(curve, setting, m.name, label, _interval(ratio), bytes_ratio))
    return out


def _rates_at_targets(points: list[Point], spec: Any, curves: list[str]) -> dict[str, dict[str, Any]]:
    """Bytes per frame each curve needs to reach each target accuracy.

    Interpolated on the frontier (PCHIP of log bytes); when even the cheapest
    setting is above the target, its size is an upper bound; None when the
    curve never reaches the target."""
    out: dict[str, dict[str, Any]] = {}
    for c in curves:
        pts = [p for p in points if p.curve == c]
        rate = np.asarray([p.bytes_per_frame for p in pts])
        acc = np.asarray([spec.to_axis(p.metrics[spec.name].value) for p in pts], dtype=np.float64)
        fr, fq = pareto_frontier(rate, acc)
        row: dict[str, Any] = {}
        for target in RATE_TARGETS:
            key = f"{target:g}"
            if len(fq) >= 1 and fq[0] >= target:
                row[key] = {"bytes": float(fr[0]), "upper_bound": True}
            elif len(fq) >= 2 and fq[0] <= target <= fq[-1]:
                row[key] = {"bytes": float(np.exp(Pchip(fq, np.log(fr))(target))), "upper_bound": False}
            else:
                row[key] = None
        out[c] = row
    return out


def _interval(values: np.ndarray) -> Interval:
    v = np.asarray(values, dtype=np.float64)
    main = float(v[0])
    rest = v[1:][np.isfinite(v[1:])]
    if rest.size == 0:
        return Interval(main, math.nan, math.nan)
    return Interval(main, float(np.percentile(rest, 2.5)), float(np.percentile(rest, 97.5)))


def _verdict(main: BDResult, ci: tuple[float, float] | None, frac: float) -> str:
    if not main.defined:
        return "undefined"
    if ci is None or frac < 0.9:
        return "unstable"  # the shared accuracy range vanishes in > 10 % of resamples
    if ci[1] < 0:
        return "test better"
    if ci[0] > 0:
        return "reference better"
    return "within noise"


def _num(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return float(x)

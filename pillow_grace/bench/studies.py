"""Studies made of several sweeps: an ablation (a reference strategy against variants
that change one choice) and the cross-model table (a strategy fitted for model A,
inference with model B)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from pillow_grace.bench.ablations import Ablation, AblationContext, build_variants, fitter_available
from pillow_grace.bench.job import BenchJob, prepare, resolve_model, resolve_strategy, run_job, sweep_curves
from pillow_grace.bench.report import CrossCell
from pillow_grace.core.strategy import Strategy
from pillow_grace.evaluate.analysis import Summary
from pillow_grace.evaluate.photos import BenchImage
from pillow_grace.evaluate.runner import ResultCache


# -- ablations ---------------------------------------------------------------------------------
def run_ablation(
    job: BenchJob,
    ablation: Ablation,
    *,
    probe_images: Sequence[BenchImage] = (),
    cache: ResultCache | None = None,
) -> Summary | str:
    """Sweep an ablation's reference and variants; a string says why it was skipped."""
    base = resolve_strategy(job.strategy)
    model = resolve_model(job.model, base)
    ctx = AblationContext(
        base=base,
        model=model,
        probe_images=probe_images,
        capture_size=job.capture.size if job.capture.kind == "fixed" else None,
        seed=job.seed,
    )
    if ablation.needs_fitter and not ctx.can_fit:
        why = (
            "torch/pillow_grace.fit is not available"
            if not fitter_available()
            else "no probe images disjoint from the evaluation set"
        )
        return f"skipped: needs the fitter ({why})"
    curves = build_variants(ablation, ctx)
    strategies = [s for _, s in curves]
    sub = replace(job, families=("grace",))
    prep = prepare(sub, strategies)
    ref_label = curves[0][0]
    variants = [c for c, _ in curves[1:]]
    return sweep_curves(
        sub,
        prep,
        curves,
        cache,
        tests=variants,
        references=[ref_label],
        rate_matched=variants if ablation.rate_matched else (),
    )


# -- cross-model ---------------------------------------------------------------------------------
def run_cross_model(
    strategies: Sequence[str | Strategy],
    models: Sequence[str],
    job: BenchJob,
    cache: ResultCache | None = None,
    make_job: Callable[[Strategy, str], BenchJob] | None = None,
) -> list[CrossCell]:
    """GRACE with the strategy fitted for model A, inference with model B, for every pair.

    Accuracy is always model B's own metric against B's output on the clean
    frame (whatever A's task): the question is whether a stream compressed
    for A serves B. Each cell is compared with JPEG 4:2:0 on the same images,
    and includes A's own tables. ``make_job(strategy, model)`` may supply a
    per-cell job (e.g. fewer images for a slow model); by default ``job``
    with the strategy and model replaced."""
    cells: list[CrossCell] = []
    for spec in strategies:
        s = resolve_strategy(spec)
        for m in models:
            base = make_job(s, m) if make_job else replace(job, strategy=s, model=m)
            grid = list(base.grace_qualities)
            sub = replace(
                base,
                families=("grace", "jpeg-420"),
                probe_policy="exclude",
                grace_qualities=grid if None in grid or "own" in grid else [*grid, None],
            )
            try:
                cells.append(CrossCell(s.name, m, run_job(sub, cache)))
            except (ImportError, ValueError) as e:
                cells.append(CrossCell(s.name, m, None, f"not run: {e}"))
    return cells

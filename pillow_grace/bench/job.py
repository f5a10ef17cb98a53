"""One benchmark job, end to end: resolve the strategy, model and images, enforce the
probe/evaluation separation, build the codec settings, sweep and summarise.

The CLI (``grace bench``) and the results page both go through :func:`run_job`,
:func:`run_ablation` and :func:`run_cross_model`, so a number on the results
page is exactly what the equivalent command prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..registry import load_strategy
from ..strategy import Strategy
from . import codecs as codecs_mod
from .ablations import Ablation, AblationContext, build_variants
from .analysis import DEFAULT_BOOTSTRAP, Summary, summarize
from .images import (
    BenchImage,
    CaptureSpec,
    ImageSet,
    ProbeCheck,
    check_probe_overlap,
    labels_for,
    load_images,
    probe_fingerprints,
    read_labels,
)
from .runner import BenchModel, ResultCache, prepare_smart, run_sweep

DEFAULT_STRATEGY = "efficientnet-lite0"
DEFAULT_CAPTURE = "1280x720"

_models: dict[str, Any] = {}
_image_sets: dict[str, ImageSet] = {}


def load_model(name: str) -> BenchModel:
    """A zoo model by name (loaded once per process)."""
    if name not in _models:
        from ..zoo import available_models, get_model

        if name not in available_models():
            raise ValueError(f"unknown model {name!r}; zoo models: {', '.join(available_models())}")
        _models[name] = get_model(name)
    return _models[name]  # type: ignore[no-any-return]


def model_for_strategy(strategy: Strategy) -> str | None:
    """The zoo model a strategy was fitted for: provenance "model", else its name."""
    from ..zoo import available_models

    zoo = available_models()
    for candidate in (strategy.provenance.get("model"), strategy.name):
        if isinstance(candidate, str) and candidate in zoo:
            return candidate
    return None


def image_set(spec: str) -> ImageSet:
    if spec not in _image_sets:
        _image_sets[spec] = load_images(spec)
    return _image_sets[spec]


def spread(items: Sequence[Any], k: int | None) -> list[Any]:
    """``k`` items evenly spaced over ``items`` (all of them when k is None or large)."""
    if k is None or k >= len(items):
        return list(items)
    if k <= 0:
        return []
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


@dataclass
class BenchJob:
    """Everything that defines one ``grace bench`` run (defaults: the README's main job)."""

    strategy: str | Strategy = DEFAULT_STRATEGY
    model: str | BenchModel | None = None
    """Zoo model name or object; None: the model the strategy was fitted for."""
    images: str | Sequence[BenchImage] = "offline"
    capture: CaptureSpec = field(default_factory=lambda: CaptureSpec.parse(DEFAULT_CAPTURE))
    families: Sequence[str] = codecs_mod.FAMILIES
    grace_qualities: Sequence[codecs_mod.GraceSetting] = codecs_mod.GRACE_QUALITIES
    baseline_qualities: Sequence[int] = codecs_mod.BASELINE_QUALITIES
    labels: str | None = None
    probe_policy: str = "refuse"
    max_images: int | None = None
    bootstrap: int = DEFAULT_BOOTSTRAP
    seed: int = 0
    batch_size: int = 8
    threads: int | None = 2
    progress: bool = True


@dataclass
class Prepared:
    strategy: Strategy
    model: BenchModel
    images: list[BenchImage]
    skipped: list[tuple[str, str]]
    checks: list[ProbeCheck]
    notes: list[str]


def resolve_strategy(spec: str | Strategy) -> Strategy:
    return spec if isinstance(spec, Strategy) else load_strategy(spec)


def resolve_model(spec: str | BenchModel | None, strategy: Strategy) -> BenchModel:
    if spec is None:
        name = model_for_strategy(strategy)
        if name is None:
            raise ValueError(
                f"strategy {strategy.name!r} does not name a zoo model (provenance 'model'); pass --model"
            )
        return load_model(name)
    return load_model(spec) if isinstance(spec, str) else spec


def prepare(job: BenchJob, strategies: Sequence[Strategy] | None = None) -> Prepared:
    """Resolve names and select the evaluation images (probe separation enforced)."""
    strategy = resolve_strategy(job.strategy)
    model = resolve_model(job.model, strategy)
    notes: list[str] = []
    if isinstance(job.images, str):
        iset = image_set(job.images)
        images, skipped = list(iset.images), list(iset.skipped)
    else:
        images, skipped = list(job.images), []
    images, checks = check_probe_overlap(images, strategies or [strategy], policy=job.probe_policy)
    for chk in checks:
        if chk.status == "excluded":
            skipped += [(n, f"probe image of strategy {chk.strategy}") for n in chk.overlapping]
        if chk.status == "unverifiable":
            notes.append(
                f"strategy {chk.strategy!r} records no probe-image fingerprints; "
                "cannot verify that no evaluation image was used to fit it"
            )
        if chk.status == "overridden":
            notes.append(
                f"CONTAMINATED: {len(chk.overlapping)} evaluation image(s) were used to probe "
                f"{chk.strategy!r} (--allow-probe-overlap)"
            )
    if job.max_images is not None and len(images) > job.max_images:
        kept = spread(images, job.max_images)
        skipped += [(im.name, f"beyond --max-images {job.max_images}") for im in images if im not in kept]
        images = kept
    if not images:
        raise ValueError("no evaluation images left after filtering and probe-image exclusion")
    if strategy.task != model.task:
        notes.append(
            f"strategy {strategy.name!r} was fitted for a {strategy.task} model; evaluated with "
            f"{model.name} ({model.task}) on that model's own metric"
        )
    return Prepared(strategy, model, images, skipped, checks, notes)


def run_job(job: BenchJob, cache: ResultCache | None = None) -> Summary:
    """Run one benchmark; the summary carries the sweep and every comparison."""
    prep = prepare(job)
    return _sweep(job, prep, [("grace", prep.strategy)], cache)


def _sweep(
    job: BenchJob,
    prep: Prepared,
    curves: list[tuple[str, Strategy]],
    cache: ResultCache | None,
    tests: Sequence[str] | None = None,
    references: Sequence[str] | None = None,
) -> Summary:
    frame, _ = job.capture.apply(prep.images[0].image, prep.model.input_size)
    smart = None
    notes = list(prep.notes)
    if "smart-jpeg-420" in job.families:
        smart, note = prepare_smart(prep.model, frame)
        notes.append(note)
    codec_list, codec_notes = codecs_mod.build_codecs(
        curves,
        families=job.families,
        grace_qualities=job.grace_qualities,
        baseline_qualities=job.baseline_qualities,
        device_resize=smart.device_resize if smart else None,
    )
    notes += codec_notes
    if "jpegli" in job.families and codecs_mod.jpegli_available():
        sample = next(c for c in codec_list if c.curve == "jpegli")
        notes.append(
            f"jpegli: pyjpegli's default settings; it wrote "
            f"{codecs_mod.jpeg_subsampling(sample.encode(frame))} chroma subsampling"
        )
    labels = None
    if job.labels:
        labels = labels_for(prep.images, read_labels(job.labels))
    sweep = run_sweep(
        prep.model,
        prep.images,
        codec_list,
        capture=job.capture,
        labels=labels,
        smart=smart,
        batch_size=job.batch_size,
        threads=job.threads,
        progress=job.progress,
        cache=cache,
        notes=notes,
    )
    sweep.probe_checks = prep.checks
    sweep.skipped_images = prep.skipped
    sweep.strategies = [_strategy_info(label, s) for label, s in curves]
    return summarize(sweep, bootstrap=job.bootstrap, seed=job.seed, tests=tests, references=references)


def _strategy_info(curve: str, s: Strategy) -> dict[str, Any]:
    fps = probe_fingerprints(s)
    return {
        "curve": curve,
        "name": s.name,
        "content_hash": s.content_hash,
        "task": s.task,
        "weights": list(s.weights),
        "subsampling": s.subsampling,
        "allocation": s.allocation.to_json() if s.allocation else None,
        "probe_resolution": list(s.probe_resolution) if s.probe_resolution else None,
        "model_input_size": list(s.model_input_size) if s.model_input_size else None,
        "probe_images": len(fps) if fps is not None else None,
        "fit": {
            k: s.provenance.get(k)
            for k in ("model", "loss", "colour_median", "seed", "date")
            if k in s.provenance
        },
    }


# -- ablations ---------------------------------------------------------------------------------
def run_ablation(
    job: BenchJob,
    ablation: Ablation,
    *,
    probe_images: Sequence[BenchImage] = (),
    cache: ResultCache | None = None,
) -> Summary | str:
    """Sweep an ablation's reference and variants; a string says why it was skipped."""
    from .ablations import fitter_available

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
    sub = BenchJob(**{**job.__dict__, "families": ("grace",)})
    prep = prepare(sub, strategies)
    ref_label = curves[0][0]
    return _sweep(sub, prep, curves, cache, tests=[c for c, _ in curves[1:]], references=[ref_label])


# -- cross-model ---------------------------------------------------------------------------------
@dataclass
class CrossCell:
    strategy: str
    model: str
    summary: Summary | None
    note: str = ""


def run_cross_model(
    strategies: Sequence[str | Strategy],
    models: Sequence[str],
    job: BenchJob,
    cache: ResultCache | None = None,
) -> list[CrossCell]:
    """GRACE with the strategy fitted for model A, inference with model B, for every pair.

    Accuracy is always model B's own metric against B's output on the clean
    frame (whatever A's task): the question is whether a stream compressed
    for A serves B. Each cell is compared with JPEG 4:2:0 on the same images."""
    cells: list[CrossCell] = []
    for spec in strategies:
        s = resolve_strategy(spec)
        for m in models:
            sub = BenchJob(
                **{
                    **job.__dict__,
                    "strategy": s,
                    "model": m,
                    "families": ("grace", "jpeg-420"),
                    "probe_policy": "exclude",
                }
            )
            try:
                cells.append(CrossCell(s.name, m, run_job(sub, cache)))
            except (ImportError, ValueError) as e:
                cells.append(CrossCell(s.name, m, None, f"not run: {e}"))
    return cells

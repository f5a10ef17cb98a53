"""One benchmark job, end to end: resolve the strategy, model and images, enforce the
probe/evaluation separation, build the codec settings, sweep and summarise.

The CLI (``grace bench``) and the results page both go through :func:`run_job`
(and :mod:`~pillow_grace.bench.studies` for ablations and cross-model runs), so a
number on the results page is exactly what the equivalent command prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from pillow_grace.bench.ablations import AblationContext
from pillow_grace.bench.defaults import DEFAULT_CAPTURE, DEFAULT_IMAGES, DEFAULT_MAX_IMAGES, DEFAULT_STRATEGY
from pillow_grace.bench.report import skipped_text
from pillow_grace.bench.sources import load_images, probe_candidate_files
from pillow_grace.core.registry import load_strategy
from pillow_grace.core.strategy import FIT_ALLOCATIONS, Strategy
from pillow_grace.evaluate import codecs as codecs_mod
from pillow_grace.evaluate.analysis import DEFAULT_BOOTSTRAP, Summary, summarize
from pillow_grace.evaluate.capture import CaptureSpec
from pillow_grace.evaluate.labels import labels_for, read_labels
from pillow_grace.evaluate.models import ModelSpecError, load_model
from pillow_grace.evaluate.photos import BenchImage, ImageSet
from pillow_grace.evaluate.probes import (
    ProbeCheck,
    check_probe_overlap,
    locate_probe_images,
    probe_fingerprints,
)
from pillow_grace.evaluate.runner import BenchModel, ResultCache, prepare_smart, prepare_zeroed, run_sweep

_image_sets: dict[str, ImageSet] = {}


def model_for_strategy(strategy: Strategy) -> str | None:
    """The zoo model a strategy was fitted for: provenance "model", else its name."""
    from pillow_grace.zoo import available_models

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
    """Everything that defines one ``grace bench`` run. The defaults are the main job, the one
    ``grace bench`` runs with no arguments: the shipped strategy on ``DEFAULT_MAX_IMAGES`` photos
    of ``DEFAULT_IMAGES`` minus its probe images, quick quality grids."""

    strategy: str | Strategy = DEFAULT_STRATEGY
    model: str | BenchModel | None = None
    """Model name (see :mod:`pillow_grace.evaluate.models`) or object; None: the model the
    strategy was fitted for."""
    images: str | Sequence[BenchImage] = DEFAULT_IMAGES
    capture: CaptureSpec = field(default_factory=lambda: CaptureSpec.parse(DEFAULT_CAPTURE))
    families: Sequence[str] = codecs_mod.FAMILIES
    grace_qualities: Sequence[codecs_mod.GraceSetting] = codecs_mod.QUICK_GRACE_QUALITIES
    baseline_qualities: Sequence[int] = codecs_mod.QUICK_BASELINE_QUALITIES
    labels: str | None = None
    probe_policy: str = "exclude"
    """"exclude" the strategy's probe images, "refuse" to run on them, or "allow" (contaminated)."""
    max_images: int | None = DEFAULT_MAX_IMAGES
    bootstrap: int = DEFAULT_BOOTSTRAP
    seed: int = 0
    batch_size: int = 8
    threads: int | None = 2
    progress: bool = True
    probe_images: str | None = None
    """Directory holding the strategy's probe images (for refits; matched by fingerprint)."""
    refit_for_capture: bool = False
    """Also sweep the strategy refitted on its own probe images at this capture size,
    when that differs from its probe resolution (needs the fitter and the probe images)."""


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
    return as_bench_model(load_model(spec), spec, strategy) if isinstance(spec, str) else spec


@dataclass
class FactoryModel:
    """What a ``--model module:factory`` gave, completed into a :class:`BenchModel`."""

    name: str
    task: str
    input_size: tuple[int, int]
    module: Any
    description: str = ""
    source: str = ""
    decode: Any = None


_BENCH_FIELDS = ("name", "task", "input_size", "module")


def as_bench_model(obj: Any, spec: str, strategy: Strategy) -> BenchModel:
    """``obj`` as the sweep needs it. A factory may return a bare torch module or a ZooModel-like
    object with only some fields (as ``grace fit --model`` accepts): the task and the network's
    input size then come from the strategy, which recorded them when it was fitted."""
    if not isinstance(obj, torch.nn.Module) and all(hasattr(obj, f) for f in _BENCH_FIELDS):
        return obj  # a zoo model, or a complete ZooModel-like object
    wrapped = not isinstance(obj, torch.nn.Module) and hasattr(obj, "module")
    module = obj.module if wrapped else obj

    def field(name: str) -> Any:
        return getattr(obj, name, None) if wrapped else None

    if not callable(module):
        raise ModelSpecError(f"--model {spec!r}: the factory returned a {type(module).__name__}, "
                             "not a torch module (or an object with .module)")
    input_size = field("input_size") or strategy.model_input_size
    if input_size is None:
        raise ModelSpecError(
            f"--model {spec!r}: the network's input size is unknown (the factory's model has no "
            f"input_size and strategy {strategy.name!r} records none); return an object with .module "
            "and .input_size = (width, height), as pillow_grace.zoo.ZooModel has")
    return FactoryModel(
        name=field("name") or spec, task=field("task") or strategy.task,
        input_size=(int(input_size[0]), int(input_size[1])), module=module,
        description=field("description") or "", source=field("source") or f"--model {spec}",
        decode=field("decode"))


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
        raise ValueError("no evaluation images left after filtering and probe-image exclusion; "
                         + skipped_text(skipped))
    if strategy.probe_resolution is not None and job.capture.kind != "native":
        size = job.capture.target((0, 0), model.input_size)
        if size is not None and tuple(size) != tuple(strategy.probe_resolution):
            pw, ph = strategy.probe_resolution
            notes.append(
                f"strategy {strategy.name!r} was fitted for {pw}x{ph} captures; at {size[0]}x{size[1]} its "
                "tables are used outside the conditions they were fitted for"
            )
    if strategy.task != model.task:
        notes.append(
            f"strategy {strategy.name!r} was fitted for a {strategy.task} model; evaluated with "
            f"{model.name} ({model.task}) on that model's own metric"
        )
    return Prepared(strategy, model, images, skipped, checks, notes)


def run_job(job: BenchJob, cache: ResultCache | None = None) -> Summary:
    """Run one benchmark; the summary carries the sweep and every comparison."""
    prep = prepare(job)
    curves = [("grace", prep.strategy)]
    if job.refit_for_capture:
        refit, note = refit_at_capture(job, prep)
        if note:
            prep.notes.append(note)
        if refit is not None:
            curves.append(refit)
            prep.images, checks = check_probe_overlap(prep.images, [refit[1]], policy="exclude")
            prep.checks += checks
    summary = sweep_curves(job, prep, curves, cache)
    _note_ground_truth(summary)
    return summary


def refit_at_capture(job: BenchJob, prep: Prepared) -> tuple[tuple[str, Strategy] | None, str]:
    """The strategy refitted, with its own options, on its probe images at this job's capture size.

    A strategy is fitted for one capture resolution; evaluated at another, its
    tables answer a question that was not asked. The refit shows what GRACE
    does when fitted for the capture at hand."""
    s = prep.strategy
    size = job.capture.target((0, 0), prep.model.input_size) if job.capture.kind != "native" else None
    if size is None or s.probe_resolution is None or tuple(size) == tuple(s.probe_resolution):
        return None, ""  # fitted for this capture already (or the capture size varies): nothing to add
    probes = find_probe_images(job, s)
    ctx = AblationContext(
        base=s, model=prep.model, probe_images=probes, capture_size=tuple(size), seed=job.seed
    )
    if not ctx.can_fit:
        return (
            None,
            "refit: skipped (needs torch, pillow_grace.fit and the strategy's probe images among the photos)",
        )
    prov = s.provenance
    options: dict[str, Any] = {"subsampling": refit_subsampling(s)}
    if prov.get("allocation") in FIT_ALLOCATIONS:  # what the fit was asked for; "auto" measures again
        options["allocation"] = prov["allocation"]
    if prov.get("colour_median") in ("weighted", "plain"):
        options["colour_median"] = prov["colour_median"]
    if prov.get("loss") in ("sampled", "argmax"):
        options["loss"] = prov["loss"]
    label = f"grace[refit {size[0]}x{size[1]}]"
    refit = ctx.fit(f"refit-{size[0]}x{size[1]}", **options)
    return (label, refit), (
        f"{label}: {s.name} refitted with its own options on its {len(probes)} probe images at "
        f"{size[0]}x{size[1]} (it was fitted at {s.probe_resolution[0]}x{s.probe_resolution[1]})"
    )


def refit_subsampling(strategy: Strategy) -> str:
    """The subsampling option a refit passes: what the original fit was asked for.

    A fit that chose its subsampling by measurement ("auto") must choose again
    at the new capture size, not inherit the answer it found at another one
    (EfficientNet-Lite0 chose 4:2:0 at 1280x720; forced to keep it at 448x448
    its refit saved 9% against JPEG 4:4:4, left to choose, it takes 4:4:4).
    Strategies from before the option was recorded: "auto" where the fit was
    validated (the validation chose), else the strategy's subsampling."""
    prov = strategy.provenance
    asked = prov.get("subsampling_option")
    if isinstance(asked, str):
        return asked
    return "auto" if isinstance(prov.get("selection"), Mapping) else strategy.subsampling


def find_probe_images(job: BenchJob, strategy: Strategy) -> list[BenchImage]:
    """The strategy's own probe images, proven by fingerprint, for refits.

    Searched in ``job.probe_images`` (a directory) if given, the probe-photo places that
    installed photo sets register (the repository's: the shipped strategies' probe set,
    ``benchmarks/probe-set.txt``) and the evaluation photos."""
    candidates: list[Any] = []
    if job.probe_images:
        root = Path(job.probe_images)
        candidates += sorted(p for p in root.rglob("*") if p.is_file())
    candidates += probe_candidate_files()
    candidates += image_set(job.images).images if isinstance(job.images, str) else list(job.images)
    return locate_probe_images(strategy, candidates)


def _note_ground_truth(summary: Summary) -> None:
    """Say how much ground truth a detection mAP rests on."""
    sw = summary.sweep
    if sw.model.get("task") != "detection" or not sw.settings:
        return
    from pillow_grace.evaluate.metrics import DetectionScorer

    boxes, images = DetectionScorer.clean_detection_count(sw.settings[0].records)
    sw.notes.append(
        f"ground truth for mAP: {boxes} clean detection(s) (score >= 0.25) in {images} of {len(sw.images)} "
        "images" + ("; too few for mAP to mean much, see the class-score drift" if boxes < 20 else "")
    )


def sweep_curves(
    job: BenchJob,
    prep: Prepared,
    curves: list[tuple[str, Strategy]],
    cache: ResultCache | None,
    tests: Sequence[str] | None = None,
    references: Sequence[str] | None = None,
    rate_matched: Sequence[str] = (),
) -> Summary:
    """Sweep ``curves`` (plus the job's baselines); curves named in ``rate_matched``
    get their points at the sizes of the first curve's points instead of the quality grid."""
    frame, _ = job.capture.apply(prep.images[0].image, prep.model.input_size)
    smart = factors = None
    notes = list(prep.notes)
    smart_families = [f for f in codecs_mod.SMART_FAMILIES if f in job.families]
    if smart_families:
        smart, note = prepare_smart(prep.model, frame, smart_families)
        notes.append(note)
    if "jpeg-zeroed" in job.families:
        factors, note = prepare_zeroed(prep.model, frame)
        notes.append(note)
    codec_list, codec_notes = codecs_mod.build_codecs(
        curves,
        families=job.families,
        grace_qualities=job.grace_qualities,
        baseline_qualities=job.baseline_qualities,
        device_resize=smart.device_resize if smart else None,
        resize_factors=factors,
    )
    notes += codec_notes
    if rate_matched:
        codec_list, note = _rate_match(job, prep, curves, codec_list, rate_matched)
        notes.append(note)
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


def _rate_match(
    job: BenchJob,
    prep: Prepared,
    curves: list[tuple[str, Strategy]],
    codec_list: list[codecs_mod.Codec],
    matched: Sequence[str],
) -> tuple[list[codecs_mod.Codec], str]:
    """Replace the grids of the ``matched`` curves by rate-matched settings."""
    frames = [job.capture.apply(im.image, prep.model.input_size)[0] for im in spread(prep.images, 4)]
    pixels = sum(f.size[0] * f.size[1] for f in frames)
    ref_curve = curves[0][0]
    targets = [sum(8 * len(c.encode(f)) for f in frames) / pixels for c in codec_list if c.curve == ref_curve]
    out = [c for c in codec_list if c.curve not in matched]
    unreachable = []
    for label, strategy in curves:
        if label in matched:
            params = codecs_mod.rate_matched_tradeoffs(strategy, frames, targets)
            made = [
                codecs_mod.GraceCodec(strategy, curve=label, tradeoff=t, label=f"~{b:.3g}bpp")
                for t, b in zip(params, targets, strict=True)
            ]
            got = [sum(8 * len(c.encode(f)) for f in frames) / pixels for c in made]
            if any(abs(g / b - 1) > 0.2 for g, b in zip(got, targets, strict=True)):
                unreachable.append(f"{label} only reaches {min(got):.3g}..{max(got):.3g} bpp there")
            out += made
    note = (
        f"{', '.join(matched)}: settings placed at the sizes {ref_curve} reaches on {len(frames)} sample "
        f"frames ({', '.join(f'{b:.3g}' for b in targets)} bpp), since their trade-off parameter is on "
        "another scale" + (f"; {'; '.join(unreachable)}" if unreachable else "")
    )
    return out, note


def fit_record(provenance: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the fit chose and its verdict on held-out probe folds (for the probe-vs-evaluation
    gap): ``chosen``, its ``verdict``, the ``best_verdict`` of any candidate (a fallback keeps
    none) and ``best_upper_bound``; None for a strategy fitted without validation."""
    sel = provenance.get("selection")
    if not isinstance(sel, Mapping):
        return None
    verdicts = sel.get("verdict_vs_better_jpeg") or {}
    return {"chosen": sel.get("chosen"), "verdict": verdicts.get(sel.get("chosen")),
            "best_upper_bound": sel.get("best_upper_bound"),
            "best_verdict": min((v for v in verdicts.values() if v is not None), default=None)}


def _strategy_info(curve: str, s: Strategy) -> dict[str, Any]:
    fps = probe_fingerprints(s)
    return {
        "curve": curve,
        "name": s.name,
        "content_hash": s.content_hash,
        "task": s.task,
        "weights": list(s.weights),
        "subsampling": s.subsampling,
        "allocation": s.allocation.to_dict() if s.allocation else None,
        "probe_resolution": list(s.probe_resolution) if s.probe_resolution else None,
        "model_input_size": list(s.model_input_size) if s.model_input_size else None,
        "probe_images": len(fps) if fps is not None else None,
        "fit": {
            k: s.provenance.get(k)
            for k in ("model", "loss", "colour_median", "seed", "date")
            if k in s.provenance
        },
        "selection": fit_record(s.provenance),
    }

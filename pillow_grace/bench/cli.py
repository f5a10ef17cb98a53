"""``grace bench``: rate–accuracy evidence for a strategy against JPEG, WebP, jpegli
and resize-on-device.

With no arguments it runs the README's main job: the shipped
``efficientnet-lite0`` strategy with the zoo's EfficientNet-Lite0 on
``DEFAULT_MAX_IMAGES`` photos of the native ``native720`` set (photos at or
above 1280x720 in their own resolution, minus the strategy's probe images),
evenly spread, at a 1280x720 capture, with a modest quality grid; it prints the size/accuracy table and
BD-rates and writes JSON, a plot and a markdown report to ./bench-out/.

``pillow_grace.cli`` calls :func:`add_parser`; ``python -m pillow_grace.bench``
runs the same command standalone.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pillow_grace.core.errors import GraceError
from pillow_grace.evaluate import codecs as codecs_mod
from pillow_grace.evaluate.analysis import DEFAULT_BOOTSTRAP

DEFAULT_OUT = "bench-out"
#: The main job's photos: native photos, never upscaled (benchmarks/packaged-sets.toml).
DEFAULT_IMAGES = "native720"
#: The main job runs on this many of them, so that it stays a few minutes on 2 cores;
#: ``--images native720`` uses them all.
DEFAULT_MAX_IMAGES = 12


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to ``grace``'s subparsers; its handler returns an exit code."""
    p = subparsers.add_parser(
        "bench",
        help="rate-accuracy benchmark of a strategy against JPEG, WebP, jpegli and resize-on-device",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="With no arguments: the main job (efficientnet-lite0, 12 native720 photos, 1280x720). "
        "See docs/benchmarking.md.",
    )
    what = p.add_argument_group("what to measure")
    what.add_argument(
        "--strategy",
        default=None,
        help="strategy name or path to a strategy JSON (default: efficientnet-lite0; with --all: "
        "every shipped strategy)",
    )
    what.add_argument(
        "--model",
        default=None,
        help="zoo model to run inference with (default: the one the strategy was fitted for)",
    )
    what.add_argument(
        "--images",
        default=None,
        help="directory of photos, or a photo set of the repository's benchmarks/ tooling (from a "
        "source checkout): 'offline' (opencv-doc + scikit-image samples), 'opencv', 'skimage', and "
        "the packaged sets of benchmarks/packaged-sets.toml ('native720', 'vtest-frames', "
        "'scenetext', ...: python benchmarks/packaged_sets.py list); comma-separated to combine "
        f"(default: {DEFAULT_IMAGES}, at most {DEFAULT_MAX_IMAGES} of them)",
    )
    what.add_argument(
        "--capture-size",
        default="1280x720",
        help="WxH (centre-crop + Lanczos resize to it), 'model' (the model's input size) or "
        "'native' (as is, long side capped at 1920) (default: 1280x720)",
    )
    what.add_argument(
        "--labels",
        default=None,
        help="CSV of 'filename,class_index' lines: adds top-1 accuracy against labels (classification)",
    )
    what.add_argument(
        "--codecs",
        default=",".join(codecs_mod.FAMILIES),
        help=f"comma-separated codec families (default: all of {','.join(codecs_mod.FAMILIES)})",
    )
    what.add_argument(
        "--qualities",
        default=None,
        help="GRACE qualities, comma-separated; 'own' = the strategy's own tables",
    )
    what.add_argument(
        "--baseline-qualities", default=None, help="JPEG/WebP/jpegli qualities, comma-separated"
    )
    what.add_argument(
        "--full-grid",
        action="store_true",
        help=f"full quality grids (baselines {','.join(map(str, codecs_mod.BASELINE_QUALITIES))}) "
        "instead of the quick ones",
    )
    what.add_argument("--max-images", type=int, default=None, help="use at most N images, evenly spread")
    sep = what.add_mutually_exclusive_group()
    sep.add_argument(
        "--exclude-probe-images",
        action="store_true",
        help="drop images the strategy was probed on (default when --images is not given)",
    )
    sep.add_argument(
        "--allow-probe-overlap",
        action="store_true",
        help="evaluate on probe images anyway: results are marked CONTAMINATED",
    )
    extra = p.add_argument_group("more reports")
    extra.add_argument(
        "--ablations",
        action="store_true",
        help="also run the ablations (G-YUV vs BT.601, allocation, 4:4:4 vs 4:2:0, medians, "
        "probe labels; refits need torch)",
    )
    extra.add_argument(
        "--refit",
        action="store_true",
        help="also sweep the strategy refitted at this capture size if it was fitted at another "
        "(needs torch and its probe images)",
    )
    extra.add_argument(
        "--probe-images",
        default=None,
        metavar="DIR",
        help="where the strategy's probe images are, for --refit and refitted ablations (matched by "
        "fingerprint; default: benchmarks/probe-set.txt and the photos)",
    )
    extra.add_argument(
        "--cross-model",
        default=None,
        metavar="MODELS",
        help="also run the strategy with these zoo models for inference (comma-separated)",
    )
    extra.add_argument(
        "--all",
        action="store_true",
        help="regenerate the results page: every shipped strategy, two captures, cross-model, "
        "ablations (long: see docs/benchmarking.md)",
    )
    out = p.add_argument_group("output and run")
    out.add_argument("--out", default=None, help=f"output directory (default: ./{DEFAULT_OUT}/)")
    out.add_argument(
        "--markdown",
        default=None,
        help="write the markdown report here (with --all: the all-in-one page, default docs/ablations.md)",
    )
    out.add_argument("--no-plot", action="store_true", help="do not write the PNG plot")
    out.add_argument(
        "--bootstrap",
        type=int,
        default=DEFAULT_BOOTSTRAP,
        help=f"bootstrap resamples of the images for intervals (default {DEFAULT_BOOTSTRAP}; 0: none)",
    )
    out.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    out.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    out.add_argument("--batch-size", type=int, default=8, help="decoded frames per model forward (default 8)")
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def _ints(text: str | None, what: str) -> list[int] | None:
    if text is None:
        return None
    out: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= 100:
            raise ValueError(f"{what}: expected integers in 1..100, got {part!r}")
        out.append(int(part))
    if not out:
        raise ValueError(f"{what}: no qualities given")
    return out


def _grace_grid(text: str | None) -> list[codecs_mod.GraceSetting] | None:
    if text is None:
        return None
    out: list[codecs_mod.GraceSetting] = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            codecs_mod.parse_grace_setting(part)  # raises with the accepted forms
            out.append(part)
    if not out:
        raise ValueError("--qualities: no settings given")
    return out


def run(args: argparse.Namespace) -> int:
    """Handler of ``grace bench``; returns the exit code."""
    try:
        return _run(args)
    except (GraceError, ValueError, FileNotFoundError, ImportError) as e:
        print(f"grace bench: error: {e}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from pillow_grace.evaluate.capture import CaptureSpec

    if args.all:
        return _run_all(args)
    from pillow_grace.bench import report
    from pillow_grace.bench.export import slug, summary_json, write_json
    from pillow_grace.bench.job import DEFAULT_STRATEGY, BenchJob, run_job
    from pillow_grace.bench.plot import plot
    from pillow_grace.bench.studies import run_ablation, run_cross_model
    from pillow_grace.evaluate.runner import ResultCache

    families = [f.strip() for f in args.codecs.split(",") if f.strip()]
    bad = [f for f in families if f not in codecs_mod.FAMILIES]
    if bad:
        raise ValueError(f"--codecs: unknown {', '.join(bad)}; choose from {', '.join(codecs_mod.FAMILIES)}")
    gq = _grace_grid(args.qualities) or (
        codecs_mod.GRACE_QUALITIES if args.full_grid else codecs_mod.QUICK_GRACE_QUALITIES
    )
    bq = _ints(args.baseline_qualities, "--baseline-qualities") or (
        codecs_mod.BASELINE_QUALITIES if args.full_grid else codecs_mod.QUICK_BASELINE_QUALITIES
    )
    images = args.images or DEFAULT_IMAGES
    if args.images is None and args.max_images is None:
        args.max_images = DEFAULT_MAX_IMAGES
    if args.allow_probe_overlap:
        policy = "allow"
    elif args.exclude_probe_images or args.images is None:
        policy = "exclude"  # the default photo set: "minus the strategy's probe images"
    else:
        policy = "refuse"
    if args.allow_probe_overlap:
        print(
            "grace bench: WARNING: --allow-probe-overlap: images used to fit the strategy may be evaluated; "
            "results will be marked CONTAMINATED",
            file=sys.stderr,
        )
    job = BenchJob(
        strategy=args.strategy or DEFAULT_STRATEGY,
        model=args.model,
        images=images,
        capture=CaptureSpec.parse(args.capture_size),
        families=families,
        grace_qualities=gq,
        baseline_qualities=bq,
        labels=args.labels,
        probe_policy=policy,
        max_images=args.max_images,
        bootstrap=args.bootstrap,
        seed=args.seed,
        batch_size=args.batch_size,
        threads=args.threads,
        progress=not args.quiet,
        probe_images=args.probe_images,
        refit_for_capture=args.refit,
    )
    out = Path(args.out or DEFAULT_OUT)
    cache = ResultCache()
    summary = run_job(job, cache)
    print(report.render_text(summary))
    out.mkdir(parents=True, exist_ok=True)
    command = rerun_command(sys.argv[1:])
    write_json(summary_json(summary, extra={"command": command}), out / "summary.json")
    written = [out / "summary.json"]
    png = None if args.no_plot else plot(summary, out / "rate-accuracy.png")
    if png:
        written.append(png)
    md = [
        report.markdown_section(
            summary,
            title=f"{summary.sweep.model['name']} @ {summary.sweep.capture['label']}",
            image=png.name if png else None,
            command=command,
            level=2,
        )
    ]
    if args.ablations:
        from pillow_grace.bench.ablations import builtin_ablations
        from pillow_grace.bench.job import find_probe_images, resolve_strategy

        probes = find_probe_images(job, resolve_strategy(job.strategy))
        for abl in builtin_ablations():
            res = run_ablation(job, abl, probe_images=probes, cache=cache)
            if isinstance(res, str):
                print(f"\nablation {abl.name}: {res}")
                md.append(f"## Ablation: {abl.name}\n\n{abl.question}: {res}\n")
                continue
            print(f"\nablation {abl.name}: {abl.question}")
            print(report.text_table(*report.comparison_rows(res)))
            stem = f"ablation-{slug(abl.name)}"
            apng = None if args.no_plot else plot(res, out / f"{stem}.png")
            write_json(summary_json(res), out / f"{stem}.json")
            md.append(
                report.markdown_section(
                    res, title=f"Ablation: {abl.name}", image=apng.name if apng else None, level=2
                )
            )
    if args.cross_model:
        models = [m.strip() for m in args.cross_model.split(",") if m.strip()]
        cells = run_cross_model([job.strategy], models, job, cache)
        text = report.cross_model_markdown(cells)
        print("\n" + text)
        md.append(text)
    md_path = Path(args.markdown) if args.markdown else out / "report.md"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text("\n".join(md), encoding="utf-8")
    written.append(md_path)
    print("\nwrote " + ", ".join(str(w) for w in written))
    return 0


def _run_all(args: argparse.Namespace) -> int:
    from pillow_grace.bench.sources import repo_tooling

    results = repo_tooling("results", "grace bench --all (the repository's results page)")
    plan = results.ResultsPlan(
        images=args.images or DEFAULT_IMAGES,
        bootstrap=args.bootstrap,
        seed=args.seed,
        threads=args.threads,
        progress=not args.quiet,
        max_images=args.max_images,
        strategies=[args.strategy] if args.strategy else None,
        out=Path(args.out or f"{DEFAULT_OUT}/results"),
    )
    md = Path(args.markdown or "docs/ablations.md")
    results.build_results(plan, md)
    print(
        f"wrote {md}, {md.with_suffix('.json')}, plots under {md.parent / 'img'}, full JSON under {plan.out}"
    )
    return 0


def rerun_command(args: Sequence[str]) -> str:
    """The command that reruns this job on any checkout: ``grace bench`` and the arguments
    (not the script path this process was started by, which names one machine's tree)."""
    rest = list(args[1:] if args and args[0] == "bench" else args)
    return shlex.join(["grace", "bench", *rest])


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m pillow_grace.bench [options]``."""
    parser = argparse.ArgumentParser(prog="grace")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "bench":
        argv = ["bench", *argv]
    args = parser.parse_args(argv)
    return int(args.func(args))

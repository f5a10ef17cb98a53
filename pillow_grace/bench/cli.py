"""``grace bench``: rate–accuracy evidence for a strategy against JPEG, WebP, jpegli
and resize-on-device.

With no arguments it runs the README's main job (:class:`~pillow_grace.bench.job.BenchJob`'s
defaults): the shipped ``efficientnet-lite0`` strategy with the zoo's
EfficientNet-Lite0 on 12 photos of the native ``native720`` set (photos at or
above 1280x720 in their own resolution, minus the strategy's probe images),
evenly spread, at a 1280x720 capture, with a modest quality grid; it prints the
size/accuracy table and BD-rates and writes JSON, a plot and a markdown report
to ./bench-out/. ``--images DIR`` evaluates a folder of your own frames
(greyscale or colour) instead. The repository's results page is a repository
script, ``python benchmarks/results.py``.

``pillow_grace.cli`` calls :func:`add_parser`; ``python -m pillow_grace.bench``
runs the same command standalone.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pillow_grace.bench.defaults import (
    DEFAULT_CAPTURE,
    DEFAULT_IMAGES,
    DEFAULT_MAX_IMAGES,
    DEFAULT_OUT,
    DEFAULT_STRATEGY,
)
from pillow_grace.core.errors import GraceError
from pillow_grace.evaluate import codecs as codecs_mod
from pillow_grace.evaluate.analysis import DEFAULT_BOOTSTRAP

if TYPE_CHECKING:
    from pillow_grace.bench.job import BenchJob
    from pillow_grace.evaluate.analysis import Summary
    from pillow_grace.evaluate.runner import ResultCache



def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to ``grace``'s subparsers; its handler returns an exit code."""
    p = subparsers.add_parser(
        "bench",
        allow_abbrev=False,  # an old `grace bench --all` must not read as --allow-probe-overlap
        help="rate-accuracy benchmark of a strategy against JPEG, WebP, jpegli and resize-on-device",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=f"With no arguments: the main job ({DEFAULT_STRATEGY}, {DEFAULT_MAX_IMAGES} {DEFAULT_IMAGES} "
        f"photos, {DEFAULT_CAPTURE}). See docs/benchmarking.md.",
    )
    what = p.add_argument_group("what to measure")
    what.add_argument(
        "--strategy",
        default=None,
        help=f"strategy name or path to a strategy JSON (default: {DEFAULT_STRATEGY})",
    )
    what.add_argument(
        "--model",
        default=None,
        help="model to run inference with: a zoo name or module:factory, as for grace fit (default: the "
        "zoo model the strategy was fitted for)",
    )
    what.add_argument(
        "--images",
        default=None,
        help="a folder of your frames (greyscale or colour; every readable image is evaluated, and "
        "what is skipped is listed with the reason), or an installed photo set (the repository's: "
        "'native720', 'vtest-frames', 'offline', ...: pip install -e benchmarks from a checkout); "
        f"comma-separated to combine (default: {DEFAULT_IMAGES}, at most {DEFAULT_MAX_IMAGES} of them)",
    )
    what.add_argument(
        "--capture-size",
        default=DEFAULT_CAPTURE,
        help="WxH (centre-crop + Lanczos resize to it), 'model' (the model's input size) or "
        f"'native' (as is, long side capped at 1920) (default: {DEFAULT_CAPTURE})",
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
        "fingerprint; default: the probe photos installed photo sets register, and the photos)",
    )
    extra.add_argument(
        "--cross-model",
        default=None,
        metavar="MODELS",
        help="also run the strategy with these zoo models for inference (comma-separated)",
    )
    out = p.add_argument_group("output and run")
    out.add_argument("--out", default=None, help=f"output directory (default: ./{DEFAULT_OUT}/)")
    out.add_argument(
        "--markdown",
        default=None,
        help="write the markdown report here (default: report.md in the output directory)",
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


class MissingExtra(GraceError, ImportError):
    """``grace bench`` needs a package of the ``[bench]`` extra that is not installed."""


def require_torch() -> None:
    """Fail first, with the extra to install, where torch (which runs every model) is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingExtra("grace bench runs the models with torch, which is not installed: "
                           "pip install 'pillow-grace[bench]'") from None


def _run(args: argparse.Namespace) -> int:
    require_torch()  # before the imports below: job and runner import torch at module level
    from pillow_grace.bench import report
    from pillow_grace.bench.job import run_job
    from pillow_grace.evaluate.runner import ResultCache

    job = job_from_args(args)
    if job.probe_policy == "allow":
        print(
            "grace bench: WARNING: --allow-probe-overlap: images used to fit the strategy may be evaluated; "
            "results will be marked CONTAMINATED",
            file=sys.stderr,
        )
    out = Path(args.out or DEFAULT_OUT)
    cache = ResultCache()
    summary = run_job(job, cache)
    print(report.render_text(summary))
    print(report.skipped_text(summary.sweep.skipped_images))
    command = rerun_command(sys.argv[1:])
    written, md = write_outputs(summary, out, command, plots=not args.no_plot)
    if args.ablations:
        md += run_ablations(job, cache, out, plots=not args.no_plot)
    if args.cross_model:
        md.append(run_cross_models(job, args.cross_model, cache))
    md_path = Path(args.markdown) if args.markdown else out / "report.md"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text("\n".join(md), encoding="utf-8")
    written.append(md_path)
    print("\nwrote " + ", ".join(str(w) for w in written))
    return 0


def job_from_args(args: argparse.Namespace) -> BenchJob:
    """The job the options describe: :class:`BenchJob`'s defaults (the main job) with what was given.

    Without ``--images``: the main job's photos, minus the strategy's probe images. With it:
    every photo given (``--max-images`` to thin them), refusing probe images unless told."""
    from pillow_grace.bench.job import BenchJob
    from pillow_grace.evaluate.capture import CaptureSpec

    main = BenchJob()
    families = [f.strip() for f in args.codecs.split(",") if f.strip()]
    bad = [f for f in families if f not in codecs_mod.FAMILIES]
    if bad:
        raise ValueError(f"--codecs: unknown {', '.join(bad)}; choose from {', '.join(codecs_mod.FAMILIES)}")
    if args.allow_probe_overlap:
        policy = "allow"
    elif args.exclude_probe_images or args.images is None:
        policy = "exclude"
    else:
        policy = "refuse"
    max_images = args.max_images if args.max_images is not None or args.images else main.max_images
    return replace(
        main,
        strategy=args.strategy or main.strategy,
        model=args.model,
        images=args.images or main.images,
        capture=CaptureSpec.parse(args.capture_size),
        families=families,
        grace_qualities=_grace_grid(args.qualities)
        or (codecs_mod.GRACE_QUALITIES if args.full_grid else main.grace_qualities),
        baseline_qualities=_ints(args.baseline_qualities, "--baseline-qualities")
        or (codecs_mod.BASELINE_QUALITIES if args.full_grid else main.baseline_qualities),
        labels=args.labels,
        probe_policy=policy,
        max_images=max_images,
        bootstrap=args.bootstrap,
        seed=args.seed,
        batch_size=args.batch_size,
        threads=args.threads,
        progress=not args.quiet,
        probe_images=args.probe_images,
        refit_for_capture=args.refit,
    )


def write_outputs(summary: Summary, out: Path, command: str, *, plots: bool) -> tuple[list[Path], list[str]]:
    """Write the summary's JSON (and plot) to ``out``; (files written, markdown sections)."""
    from pillow_grace.bench import report
    from pillow_grace.bench.export import summary_json, write_json
    from pillow_grace.bench.plot import plot

    out.mkdir(parents=True, exist_ok=True)
    write_json(summary_json(summary, extra={"command": command}), out / "summary.json")
    written = [out / "summary.json"]
    png = plot(summary, out / "rate-accuracy.png") if plots else None
    if png:
        written.append(png)
    title = f"{summary.sweep.model['name']} @ {summary.sweep.capture['label']}"
    md = [report.markdown_section(summary, title=title, image=png.name if png else None, command=command,
                                  level=2)]
    return written, md


def run_ablations(job: BenchJob, cache: ResultCache, out: Path, *, plots: bool) -> list[str]:
    """Run the built-in ablations of ``job``'s strategy; print each, write its JSON (and plot),
    and return the markdown sections."""
    from pillow_grace.bench import report
    from pillow_grace.bench.ablations import builtin_ablations
    from pillow_grace.bench.export import slug, summary_json, write_json
    from pillow_grace.bench.job import find_probe_images, resolve_strategy
    from pillow_grace.bench.plot import plot
    from pillow_grace.bench.studies import run_ablation

    md = []
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
        png = plot(res, out / f"{stem}.png") if plots else None
        write_json(summary_json(res), out / f"{stem}.json")
        md.append(report.markdown_section(res, title=f"Ablation: {abl.name}", image=png.name if png else None,
                                          level=2))
    return md


def run_cross_models(job: BenchJob, models: str, cache: ResultCache) -> str:
    """The job's strategy with each of ``models`` (comma-separated) for inference; printed and returned
    as markdown."""
    from pillow_grace.bench import report
    from pillow_grace.bench.studies import run_cross_model

    names = [m.strip() for m in models.split(",") if m.strip()]
    text = report.cross_model_markdown(run_cross_model([job.strategy], names, job, cache))
    print("\n" + text)
    return text


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

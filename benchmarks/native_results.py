"""The results page on native photos and video frames: docs/results.md.

Runs (with ``--run``) one ``grace bench`` job per row of ``JOBS`` and writes
docs/results.md from their ``summary.json`` and markdown reports: a summary
table (GRACE's BD-rate on the task's continuous metric against each
alternative, 95% intervals, image and box counts), the probe-vs-evaluation
gap (the fit's cross-fitted verdict on held-out probe images beside the
benchmark's on the evaluation set), then every job's full report with the
exact command that produced it.

    python benchmarks/native_results.py --run          # all jobs (about 32 min on 2 cores)
    python benchmarks/native_results.py                # re-assemble from bench-out/
    python benchmarks/native_results.py --run --jobs enet-720,selfie-vtest   # rerun two, page from all
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

from benchmarks.results import zeroed_findings
from pillow_grace.bench.job import fit_record
from pillow_grace.evaluate.analysis import Comparison

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
CODECS = "grace,jpeg-420,jpeg-444,jpegli,smart-jpeg-420,smart-jpeg-444,jpeg-zeroed"
#: The continuous metric each task is judged on (the BD axis of the headline).
PRIMARY = {"classification": "kl", "detection": "score_drift", "segmentation": "pixel_agreement"}
ALTERNATIVES = ("jpeg-420", "jpeg-444", "jpegli", "jpeg-zeroed", "smart-jpeg-420", "smart-jpeg-444")


@dataclass(frozen=True)
class Job:
    name: str
    title: str
    args: tuple[str, ...]


JOBS = (
    Job("enet-720", "EfficientNet-Lite0, 1280x720 capture (5.7x its 224 input)",
        ("--strategy", "efficientnet-lite0", "--images", "native720", "--capture-size", "1280x720",
         "--exclude-probe-images")),
    Job("enet-720-labels", "EfficientNet-Lite0, 1280x720 capture, the photos with one ImageNet label "
        "(top-1 against labels in its report)",
        ("--strategy", "efficientnet-lite0", "--images", "native720-imagenet", "--capture-size", "1280x720",
         "--exclude-probe-images", "--labels", "benchmarks/native720-imagenet.csv")),
    Job("enet-448", "EfficientNet-Lite0, 448x448 capture (2x its input), refitted",
        ("--strategy", "efficientnet-lite0", "--images", "native720", "--capture-size", "448x448", "--refit",
         "--exclude-probe-images")),
    Job("enet-224", "EfficientNet-Lite0, capture = model input (224x224), refitted",
        ("--strategy", "efficientnet-lite0", "--images", "native720", "--capture-size", "model", "--refit",
         "--exclude-probe-images")),
    Job("selfie-vtest", "Person segmentation at full resolution (selfie-seg-full), vtest frames 768x576, "
        "fitted on the camera's frames 0..280, judged on frames 400..",
        ("--strategy", "selfie-seg-full", "--images", "vtest-late", "--capture-size", "native",
         "--exclude-probe-images", "--max-images", "60")),
    Job("yolo3-vtest", "YOLOv3-tiny COCO detector, vtest frames 768x576 (1.85x its 416 input), "
        "fitted on the camera's frames 0..280, judged on frames 400..",
        ("--strategy", "yolov3-tiny-coco", "--images", "vtest-late", "--capture-size", "native",
         "--exclude-probe-images", "--max-images", "60")),
    Job("blazeface-faces", "BlazeFace face detector, Pexels clip frames 640x360 (5x its 128 input), "
        "fitted on the clip's frames 0..140, judged on frames 200..",
        ("--strategy", "blazeface-short", "--images", "faces-late", "--capture-size", "native",
         "--exclude-probe-images", "--max-images", "60")),
    Job("dbnet-text", "DBNet text detection at full resolution, scene text and screens (native sizes)",
        ("--strategy", "dbnet-ppocrv4-det", "--images", "scenetext,text-screens-docs", "--capture-size",
         "native", "--exclude-probe-images", "--max-images", "12")),
)


def run(job: Job, out: Path) -> None:
    # Relative to the checkout where it can be: the command is printed in the page for anyone to rerun.
    out = out.resolve()
    out = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    cmd = [sys.executable, "-m", "pillow_grace.bench", *job.args, "--codecs", CODECS, "--out",
           str(out / job.name), "--markdown", str(out / f"{job.name}.md"), "--quiet"]
    print("running:", shlex.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.1f}%"


def headline_curve(summary: dict[str, Any]) -> str:
    """The GRACE curve a job stands for: the refit where the job refits the strategy
    for its capture (the shipped tables were fitted for another one), else ``grace``."""
    refits = [st["curve"] for st in summary["strategies"] if st["curve"].startswith("grace[refit")]
    return refits[0] if refits else "grace"


def _row(summary: dict[str, Any], test: str, reference: str, metric: str) -> dict[str, Any] | None:
    """The report's BD-rate row of ``test`` against ``reference`` on ``metric``, if it has one."""
    return next((r for r in summary["bd_rates"]
                 if r["test"] == test and r["reference"] == reference and r["metric"] == metric), None)


def _bd(summary: dict[str, Any], reference: str, metric: str) -> str:
    row = _row(summary, headline_curve(summary), reference, metric)
    if row is None:
        return "-"
    if row["bd_rate"] is None:
        return "n/a"
    lo, hi = row["interval_95"] or (None, None)
    ci = f" [{_pct(lo)}, {_pct(hi)}]" if lo is not None else ""
    return f"{_pct(row['bd_rate'])}{ci}"


def _counts(summary: dict[str, Any]) -> str:
    n = len(summary["images"])
    extra = [n_ for n_ in summary.get("notes", []) if "boxes" in n_ or "pixels" in n_]
    upscaled = sum(1 for im in summary["images"] if im.get("upscaled"))
    text = f"{n} images ({upscaled} upscaled)"
    return text + (f"; {extra[0]}" if extra else "")


def summary_table(done: list[tuple[Job, dict[str, Any]]]) -> str:
    head = ["job", "metric (BD axis)", "images", *(f"vs {a}" for a in ALTERNATIVES)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for job, s in done:
        metric = PRIMARY.get(s["model"]["task"], "kl")
        label = next((m["bd_axis"] for m in s["metrics"] if m["name"] == metric), metric)
        cells = [job.title, label, _counts(s), *(_bd(s, a, metric) for a in ALTERNATIVES)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gap_table(done: list[tuple[Job, dict[str, Any]]]) -> str:
    lines = ["| job | strategy | chosen by the fit | fit's verdict vs better JPEG (held-out probe folds; "
             "a fallback: its best candidate's) | "
             "benchmark vs better JPEG (evaluation set) |", "|---|---|---|---|---|"]
    for job, s in done:
        metric = PRIMARY.get(s["model"]["task"], "kl")
        for st in s["strategies"]:
            if st["curve"] != headline_curve(s):
                continue
            sel = st.get("selection") or _selection(ROOT / "strategies" / f"{st['name']}.json",
                                                    st["content_hash"])
            if not sel:
                continue
            # A fallback's "verdict" is the best candidate's, which it did not keep.
            fitted = sel.get("verdict") if sel.get("verdict") is not None else sel.get("best_verdict")
            bench = [_value(s, st["curve"], a, metric) for a in ("jpeg-420", "jpeg-444")]
            worst = max((b for b in bench if b is not None), default=None)
            row = [job.name, st["name"], str(sel.get("chosen")), _pct(fitted), _pct(worst)]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def resize_section(done: list[tuple[Job, dict[str, Any]]]) -> str:
    """One sentence per job and GRACE curve on whether it beats the zeroed-bins JPEG (standard
    tables with every bin the model's resize removes at 255): where it does not, the gradients
    add nothing beyond knowing the resize, and the page says so."""
    lines = []
    for job, s in done:
        comps = [Comparison.from_json(r) for r in s["bd_rates"]]
        has_zeroed = any(c.reference == "jpeg-zeroed" for c in comps)
        for sentence in zeroed_findings(f"`{job.name}`", has_zeroed, s.get("notes", []), comps):
            lines.append(f"* {sentence}")
    return "\n".join(lines)


def _selection(path: Path, content_hash: str) -> dict[str, Any] | None:
    """The fit's record from a shipped strategy file (reports written before the bench
    carried it); None where the file is another version of the strategy."""
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    if doc.get("content_hash") != content_hash:
        return None
    return fit_record(doc.get("provenance", {}))


def _value(summary: dict[str, Any], test: str, reference: str, metric: str) -> float | None:
    row = _row(summary, test, reference, metric)
    return None if row is None else row["bd_rate"]


def page(done: list[tuple[Job, dict[str, Any]]], out: Path) -> str:
    parts = [
        "# Results on native photos and video frames",
        "",
        "Generated by `python benchmarks/native_results.py` from one `grace bench` job per row; each "
        "section below is that job's report and starts with its exact command. Photos and frames are "
        "at their own resolution (never upscaled; see docs/evidence-sources.md for the sets, their "
        "packages and licences). BD-rates are on the task's continuous metric (KL divergence for the "
        "classifier, class-score drift for the detector, pixel agreement for the segmenter), with 95% "
        "bootstrap intervals over images; negative means GRACE needs fewer bits than the alternative for "
        "the same agreement with the model's output on the clean frame.",
        "",
        "## Summary",
        "",
        summary_table(done),
        "",
        "## Probe folds against the evaluation set",
        "",
        "The fit judges its candidates on held-out folds of its own probe images (docs/fitting.md); "
        "the benchmark judges the shipped strategy on the evaluation photos. The difference is how well "
        "the fit's choice carries over to new content.",
        "",
        gap_table(done),
        "",
        "## What the gradients add beyond knowing the resize",
        "",
        "GRACE against `jpeg-zeroed`, JPEG's Annex K tables at the same quality with every bin above the "
        "model's resize cutoff at 255 (no gradients involved), on every metric of each job:",
        "",
        resize_section(done),
        "",
    ]
    for job, _ in done:
        body = (out / f"{job.name}.md").read_text().split("\n", 1)[1].strip()
        plot = out / job.name / "rate-accuracy.png"
        if plot.is_file():
            IMG.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(plot, IMG / f"{job.name}.png")
            body = body.replace("](rate-accuracy.png)", f"](img/{job.name}.png)")
        parts += [f"## {job.title}", "", body, ""]
    return "\n".join(parts) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", action="store_true", help="run the jobs (else assemble existing outputs)")
    ap.add_argument("--jobs", default=",".join(j.name for j in JOBS),
                    help="jobs to run with --run (the page is assembled from every job with an output)")
    ap.add_argument("--out", default=str(ROOT / "bench-out"))
    ap.add_argument("--markdown", default=str(ROOT / "docs" / "results.md"))
    args = ap.parse_args()
    out = Path(args.out)
    wanted = set(args.jobs.split(","))
    done = []
    for job in JOBS:
        if args.run and job.name in wanted:
            run(job, out)
        summary = out / job.name / "summary.json"
        if summary.is_file():
            done.append((job, json.loads(summary.read_text())))
        else:
            print(f"{job.name}: no {summary}; run with --run", file=sys.stderr)
    Path(args.markdown).write_text(page(done, out))
    print(f"wrote {args.markdown} ({len(done)} jobs)")


if __name__ == "__main__":
    main()

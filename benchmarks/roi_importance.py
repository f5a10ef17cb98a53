"""The upper bound of a per-block importance ROI for the classifier (issue #19): an oracle.

    python benchmarks/roi_importance.py                  # writes docs/roi-importance.md and its JSON
    python benchmarks/roi_importance.py --images 3 --qualities 10,50 --out /tmp/ri.md   # a quick look
    python benchmarks/roi_importance.py --page-only      # rewrite the page from its JSON

Issue #19 proposes, as a hypothesis to measure, a per-block importance
predictor (cheap block features on the device, no network) for models where
neither motion nor boxes give an ROI: the classifier. Before anyone fits
one, this measures what the best such predictor could give: the ORACLE
importance, computed with the real model on the very frame being sent. Per
16x16 block, the sum of the squared gradient of the model's loss
(cross-entropy against its own clean top-1 class, its whole preprocessing
included) with respect to the capture-resolution pixels. A predictor can at
best rank blocks as well as this.

The ROI is the top ``p`` share of blocks by that importance (and a weight
map, the square root of each block's share of the largest importance);
every ROI curve is paired with a RANDOM ROI of the same share, so what the
gradients add is measured apart from what coarsening any blocks gives.
Curves over quality for the main job of ``grace bench`` (the shipped
``efficientnet-lite0`` strategy on its ``native720`` photos at their
1280x720 capture, the strategy's probe photos excluded, the same
``DEFAULT_MAX_IMAGES`` spread of them), scored as ``grace bench`` scores the
classifier (KL divergence to the output on the clean frame, on the
-log10 axis) and summarised by its own bootstrap over images.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    # One core: the machine is shared; BLAS threads off before numpy loads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import _path  # noqa: F401  (the checkout on sys.path)

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from benchmarks.roi_page import fmt_bd
from pillow_grace.bench.defaults import DEFAULT_MAX_IMAGES
from pillow_grace.bench.job import BenchJob, prepare
from pillow_grace.core.codec import EncodeOptions
from pillow_grace.core.roi import Roi, parse_background
from pillow_grace.core.strategy import Strategy
from pillow_grace.evaluate.analysis import DEFAULT_BOOTSTRAP, Summary, summarize
from pillow_grace.evaluate.codecs import Codec, GraceCodec, JpegCodec, write_grace
from pillow_grace.evaluate.runner import run_sweep
from pillow_grace.evaluate.smart import to_tensor

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "roi-importance.md"
#: The ROI's unit: one decision per 16x16 pixels (the MCU of the shipped 4:2:0 strategy).
BLOCK = 16
SHARES = (0.10, 0.25, 0.50)
#: coarse:2 too: the gentlest background, in case the bound needs one that loses little.
BACKGROUNDS = ("low:5", "dc", "coarse:4", "coarse:2")
#: The weight map is tried with these backgrounds (its weights land between the two codings).
WEIGHT_BACKGROUNDS = ("low:5", "dc")
#: Low qualities as well as the main job's: ROI curves lose accuracy at a given quality, and a
#: BD-rate needs the references to reach as low an accuracy as they do.
QUALITIES = (5, 10, 20, 30, 50, 70, 90, 95)
REFERENCES = ("grace", "jpeg-444")
METRIC = "kl"


# -- the oracle -----------------------------------------------------------------------
def block_importance(module: torch.nn.Module, x: torch.Tensor, block: int = BLOCK) -> np.ndarray:
    """Per ``block`` x ``block`` pixels of ``x`` (1 x 3 x H x W in [0, 1]), the sum of the squared
    gradient of cross-entropy against the model's own top-1 class on ``x``.

    The gradient goes through the model's whole preprocessing (its resize to
    the network input), so blocks it averages away get little importance, as
    a decoder-side judge would see them. Partial edge blocks sum what they have."""
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"x must be one frame, 1 x C x H x W; got shape {tuple(x.shape)}")
    with torch.enable_grad():
        inp = x.detach().clone().requires_grad_(True)
        logits = module(inp)
        target = logits.detach().argmax(dim=1)
        loss = torch.nn.functional.cross_entropy(logits, target)
        (grad,) = torch.autograd.grad(loss, inp)
    energy = grad.detach().double().pow(2).sum(dim=1)[0]  # H x W
    h, w = energy.shape
    rows, cols = -(-h // block), -(-w // block)
    padded = torch.nn.functional.pad(energy, (0, cols * block - w, 0, rows * block - h))
    return padded.reshape(rows, block, cols, block).sum(dim=(1, 3)).numpy()


def _count(n: int, share: float) -> int:
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    return min(n, max(1, round(share * n)))


def top_share(importance: np.ndarray, share: float) -> np.ndarray:
    """Boolean block map of the ``share`` most important blocks (ties: the first in raster order)."""
    flat = importance.ravel()
    order = np.argsort(-flat, kind="stable")
    mask = np.zeros(flat.size, bool)
    mask[order[: _count(flat.size, share)]] = True
    return mask.reshape(importance.shape)


def random_share(shape: tuple[int, int], share: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean block map of as many blocks as :func:`top_share` keeps, drawn at random: the control."""
    n = int(np.prod(shape))
    mask = np.zeros(n, bool)
    mask[rng.permutation(n)[: _count(n, share)]] = True
    return mask.reshape(shape)


def weight_map(importance: np.ndarray) -> np.ndarray:
    """Weights in [0, 1]: the square root of each block's share of the largest importance (so a
    block with a quarter of the peak keeps half the weight); all ones where nothing has any."""
    peak = float(importance.max())
    if not np.isfinite(peak) or peak <= 0:
        return np.ones(importance.shape, np.float32)
    return np.sqrt(np.clip(importance / peak, 0.0, 1.0)).astype(np.float32)


def energy_share(importance: np.ndarray, share: float) -> float:
    """The share of the total importance the top ``share`` of blocks hold (how concentrated it is)."""
    total = float(importance.sum())
    return float(importance[top_share(importance, share)].sum() / total) if total > 0 else float("nan")


# -- codecs ---------------------------------------------------------------------------
def frame_digest(image: Image.Image) -> str:
    """Identity of a frame's pixels: the sweep hands codecs frames, not image names."""
    return f"{image.size[0]}x{image.size[1]}:{hashlib.sha256(image.tobytes()).hexdigest()}"


@dataclass
class RoiGraceCodec(Codec):
    """GRACE with a per-frame ``roi=`` block map, looked up by the frame's pixels."""

    strategy: Strategy
    quality: int
    curve: str
    background: str
    maps: Mapping[str, np.ndarray] = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.curve}/{self.strategy.content_hash}/q{self.quality}"

    def encode(self, image: Image.Image) -> bytes:
        digest = frame_digest(image)
        if digest not in self.maps:
            raise KeyError(f"curve {self.curve!r}: no ROI map for frame {digest[:24]}...; compute the maps "
                           "on the same captures the sweep encodes (CaptureSpec.apply)")
        opts = EncodeOptions(quality=self.quality, roi=Roi(self.maps[digest]),
                             background=parse_background(self.background))
        return write_grace(image, self.strategy, opts)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "strategy": self.strategy.name, "background": self.background}


def roi_maps(module: torch.nn.Module, frames: Sequence[Image.Image], seed: int
             ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float], dict[str, list[float]]]:
    """(curve -> frame digest -> block map, curve -> mean ROI share, p -> per-frame energy share).

    Curve names: ``oracle-P/BG``, ``random-P/BG`` (the control, a fresh draw
    per frame from ``seed``) and ``oracle-weights/BG``."""
    maps: dict[str, dict[str, np.ndarray]] = {}
    roi_share: dict[str, list[float]] = {}
    energy: dict[str, list[float]] = {f"{p:.2f}": [] for p in SHARES}
    rng = np.random.default_rng(seed)

    def add(curve: str, digest: str, m: np.ndarray) -> None:
        maps.setdefault(curve, {})[digest] = m
        roi_share.setdefault(curve, []).append(float(m.mean()))

    for frame in frames:
        digest = frame_digest(frame)
        imp = block_importance(module, to_tensor(frame))
        for p in SHARES:
            energy[f"{p:.2f}"].append(energy_share(imp, p))
            oracle, control = top_share(imp, p), random_share(imp.shape, p, rng)
            for bg in BACKGROUNDS:
                add(f"oracle-{p:.2f}/{bg}", digest, oracle)
                add(f"random-{p:.2f}/{bg}", digest, control)
        for bg in WEIGHT_BACKGROUNDS:
            add(f"oracle-weights/{bg}", digest, weight_map(imp))
    return maps, {c: float(np.mean(v)) for c, v in roi_share.items()}, energy


# -- the run --------------------------------------------------------------------------
def measure(max_images: int, qualities: Sequence[int], bootstrap: int, seed: int) -> dict[str, Any]:
    """Sweep every curve on the main job's photos and summarise it (the page's JSON)."""
    t0 = time.perf_counter()
    job = BenchJob(max_images=max_images, bootstrap=bootstrap, seed=seed, threads=1)
    prep = prepare(job)
    frames = [job.capture.apply(im.image, prep.model.input_size)[0] for im in prep.images]
    torch.set_num_threads(1)
    t1 = time.perf_counter()
    maps, roi_share, energy = roi_maps(prep.model.module, frames, seed)
    importance_s = (time.perf_counter() - t1) / len(frames)
    codecs: list[Codec] = []
    for q in qualities:
        codecs.append(GraceCodec(prep.strategy, q))
        codecs.append(JpegCodec(q, "4:4:4"))
        for curve, curve_maps in maps.items():
            codecs.append(RoiGraceCodec(prep.strategy, q, curve, curve.split("/", 1)[1], curve_maps))
    sweep = run_sweep(prep.model, prep.images, codecs, capture=job.capture, threads=1,
                      progress=sys.stderr.isatty(), notes=prep.notes)
    roi_curves = list(maps)
    main = summarize(sweep, bootstrap=bootstrap, seed=seed, tests=["grace", *roi_curves],
                     references=list(REFERENCES), metrics=[METRIC])
    paired = []
    for curve in roi_curves:
        if curve.startswith("oracle-") and curve.replace("oracle-", "random-", 1) in maps:
            twin = curve.replace("oracle-", "random-", 1)
            paired += summarize(sweep, bootstrap=bootstrap, seed=seed, tests=[curve], references=[twin],
                                metrics=[METRIC]).comparisons
    return {
        "model": prep.model.name, "strategy": prep.strategy.name, "subsampling": prep.strategy.subsampling,
        "capture": sweep.capture["label"], "images": [im["name"] for im in sweep.images],
        "skipped": len(prep.skipped), "qualities": list(qualities), "bootstrap": bootstrap, "seed": seed,
        "shares": list(SHARES), "backgrounds": list(BACKGROUNDS), "block": BLOCK,
        "roi_share": roi_share, "energy_share": energy, "importance_s_per_frame": importance_s,
        "points": _points(main), "bd": [c.to_json() for c in main.comparisons],
        "bd_vs_random": [c.to_json() for c in paired], "elapsed_s": time.perf_counter() - t0,
    }


def _points(summary: Summary) -> dict[str, dict[str, list[Any]]]:
    out: dict[str, dict[str, list[Any]]] = {}
    for p in summary.points:
        if p.curve == "uncompressed":
            continue
        d = out.setdefault(p.curve, {"quality": [], "bpp": [], "kl": [], "top1": [], "encode_ms": []})
        d["quality"].append(p.codec.get("quality"))
        d["bpp"].append(p.bpp.value)
        d["kl"].append(p.metrics["kl"].value)
        d["top1"].append(p.metrics["top1"].value)
        d["encode_ms"].append(p.encode_ms)
    return out


# -- the page -------------------------------------------------------------------------
def _bd_cell(rows: list[dict[str, Any]], test: str, reference: str) -> str:
    for r in rows:
        if r["test"] == test and r["reference"] == reference:
            lo, hi = r["interval_95"] or (None, None)
            rng = r["accuracy_range"]
            span = f" over {rng[0]:.2f}..{rng[1]:.2f}" if rng else ""
            return f"{fmt_bd((r['bd_rate'], lo, hi))}{span} ({r['verdict']})"
    return "n/a"


def page(result: dict[str, Any], command: str) -> str:
    """The markdown page, from the JSON alone (``--page-only`` rewrites it)."""
    n = len(result["images"])
    pts, bd = result["points"], result["bd"]
    lines = [
        "# Region of interest for the classifier: the oracle bound of a per-block importance map", "",
        f"Generated by `{command}`; do not edit by hand.", "",
        f"Model `{result['model']}`, strategy `{result['strategy']}` ({result['subsampling']}), "
        f"{n} photos of `native720` (the main job of `grace bench`; {result['skipped']} left out: the "
        f"strategy's probe photos and those beyond its spread) at their {result['capture']} capture, "
        f"qualities {', '.join(map(str, result['qualities']))}. Metric: KL divergence (nats) of the "
        "softmax on the decoded frame from the one on the clean frame, BD-rates on its -log10 axis as "
        f"docs/results.md; 95% intervals from a bootstrap over the {n} images ({result['bootstrap']} "
        "resamples, the same for every curve).", "",
        f"Oracle importance of each {result['block']}x{result['block']} block: the sum of the squared "
        "gradient of the model's cross-entropy against its own clean top-1 class, through its whole "
        "preprocessing, with respect to the capture's pixels (torch autograd on the frame being sent; "
        f"{result['importance_s_per_frame']:.2f} s per frame here). `oracle-P/BG`: the top P share of "
        "blocks is the ROI, the rest is coded with `background=BG`; `random-P/BG`: as many blocks drawn "
        "at random (the control); `oracle-weights/BG`: every block weighted by the square root of its "
        "share of the largest importance. No device could compute this map: it is the upper bound of "
        "any predictor of it.", "",
        "How concentrated the importance is (mean over the photos, and the least concentrated one):", "",
        "| top share of blocks | share of the gradient energy they hold | least |", "|---|---|---|",
    ]
    for p, vals in result["energy_share"].items():
        lines.append(f"| {float(p):.0%} | {np.mean(vals):.1%} | {np.min(vals):.1%} |")
    lines += ["", f"## BD-rates ({n} images)", "",
              "Negative = fewer bits for the same KL. `grace` is GRACE without ROI, the same strategy and "
              "qualities. Each interval is over the shared -log10(KL) range shown.", "",
              "| curve | ROI share | vs grace | vs jpeg-444 | vs its random twin | best -log10(KL) |",
              "|---|---|---|---|---|---|"]
    for curve, d in pts.items():
        share = result["roi_share"].get(curve, 1.0)
        twin = curve.replace("oracle-", "random-", 1)
        cells = [_bd_cell(bd, curve, ref) if curve not in (ref, "jpeg-444") else "-" for ref in REFERENCES]
        has_twin = any(r["test"] == curve for r in result["bd_vs_random"])
        cells.append(_bd_cell(result["bd_vs_random"], curve, twin) if has_twin else "-")
        lines.append(f"| {curve} | {share:.0%} | {' | '.join(cells)} | {-np.log10(min(d['kl'])):.2f} |")
    lines += verdict_lines(result)
    lines += ["", "## Curves", "", "| curve | quality | bpp | KL (nats) | top-1 agreement | encode ms |",
              "|---|---|---|---|---|---|"]
    for curve, d in pts.items():
        for i, q in enumerate(d["quality"]):
            lines.append(f"| {curve} | {q} | {d['bpp'][i]:.4f} | {d['kl'][i]:.4g} | "
                         f"{100 * d['top1'][i]:.1f}% | {d['encode_ms'][i]:.1f} |")
    lines += ["", f"Images: {', '.join(result['images'])}. Run time {result['elapsed_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def verdict_lines(result: dict[str, Any]) -> list[str]:
    """What the figures say, computed from them: the best oracle curve against GRACE without ROI,
    and how many oracle curves beat their random twin with the whole interval."""
    vs_grace = [r for r in result["bd"] if r["reference"] == "grace" and r["test"].startswith("oracle-")
                and r["bd_rate"] is not None]
    lines = ["", "## What it says", ""]
    if not vs_grace:
        return [*lines, "No oracle curve has a defined BD-rate against GRACE without ROI."]
    best = min(vs_grace, key=lambda r: r["bd_rate"])
    lo, hi = best["interval_95"] or (None, None)
    better = [r for r in vs_grace if r["verdict"] == "test better"]
    twins = [r for r in result["bd_vs_random"] if r["verdict"] == "test better"]
    lines.append(
        f"* Best oracle curve against GRACE without ROI: `{best['test']}`, "
        f"{fmt_bd((best['bd_rate'], lo, hi))} ({best['verdict']}); {len(better)} of {len(vs_grace)} "
        "oracle curves save bits with the whole interval below zero.")
    lines.append(f"* {len(twins)} of {len(result['bd_vs_random'])} oracle curves beat their random twin "
                 "with the whole interval below zero (what the gradients add over coarsening any blocks).")
    lines.append("* Against jpeg-444 each curve is averaged over its own shared range, and ROI curves stop "
                 "at a lower best -log10(KL) than GRACE without ROI: read the `vs grace` column, not the "
                 "difference of two `vs jpeg-444` cells.")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--images", type=int, default=DEFAULT_MAX_IMAGES, help="photos of native720 (spread)")
    ap.add_argument("--qualities", default=",".join(map(str, QUALITIES)))
    ap.add_argument("--bootstrap", type=int, default=DEFAULT_BOOTSTRAP)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT, help="the page; its JSON is written next to it")
    ap.add_argument("--page-only", action="store_true", help="rewrite the page from its JSON")
    args = ap.parse_args(argv)
    data = args.out.with_suffix(".json")
    if args.page_only:
        result = json.loads(data.read_text(encoding="utf-8"))
    else:
        qualities = [int(q) for q in args.qualities.split(",") if q.strip()]
        result = measure(args.images, qualities, args.bootstrap, args.seed)
        result["command"] = " ".join(["python benchmarks/roi_importance.py", *(argv or sys.argv[1:])])
        data.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    args.out.write_text(page(result, result["command"]), encoding="utf-8")
    print(f"wrote {args.out}" + ("" if args.page_only else f" and {data}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

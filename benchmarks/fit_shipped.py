"""Refit the strategies shipped in strategies/ (one per zoo model).

Every shipped strategy is fitted on the same 15 probe photos listed in
benchmarks/probe-set.txt (from Debian's opencv-doc, outside the evaluation
sets), at 1280x720 capture (or the native frame size of the set a model is
judged on, ``CAPTURE_FOR``), with the default options of ``grace fit``:
sampled-label Fisher probe, colour and subsampling chosen by measurement on
cross-fitted folds, JPEG fallback, quality calibrated on measured loss,
Lagrangian tables at quality 75 (docs/fitting.md). Deterministic for the seed.

    python benchmarks/fit_shipped.py [--models efficientnet-lite0,...] [--out strategies]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from PIL import Image

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

from benchmarks.photo_sets import probe_set_entries
from pillow_grace.fit import fit_strategy
from pillow_grace.zoo import available_models, get_model

HERE = Path(__file__).resolve().parent
CAPTURE = (1280, 720)
#: Models benched on native frames of another size are fitted at that size (see
#: docs/evidence-sources.md: the sets each model is judged on).
CAPTURE_FOR = {
    "yolov3-tiny-coco": (768, 576),  # vtest-frames
    "selfie-seg-full": (768, 576),  # vtest-frames
    "blazeface-short": (960, 540),  # faces-frames
}


def probe_paths() -> list[Path]:
    paths = probe_set_entries()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"probe photos missing (apt-get install opencv-doc): {missing[:3]}")
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(available_models()))
    ap.add_argument("--out", default=str(HERE.parent / "strategies"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    images = [Image.open(p).convert("RGB") for p in probe_paths()]
    for name in args.models.split(","):
        model = get_model(name)
        start = time.perf_counter()
        strategy = fit_strategy(
            model,
            images,
            name=name,
            capture_size=CAPTURE_FOR.get(name, CAPTURE),
            seed=0,
            provenance={"probe_set": "benchmarks/probe-set.txt (opencv-doc)"},
        )
        out = Path(args.out) / f"{name}.json"
        strategy.save(out)
        w = ", ".join(f"{x:.3f}" for x in strategy.weights)
        print(f"{name}: weights ({w}), fitted in {time.perf_counter() - start:.1f} s -> {out}")


if __name__ == "__main__":
    main()

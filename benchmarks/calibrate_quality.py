"""Check what GRACE's quality means, on a real model.

Quality Q asks for the DNN loss that standard JPEG at quality Q would cause,
as predicted by the strategy's perception model (pillow_grace.core.tables). This
script encodes the held-out offline photos at 1280x720 with GRACE and with
JPEG 4:4:4 at the same qualities, and prints bits per pixel, top-1 agreement
with the clean image and mean KL divergence side by side, plus a sweep of the
raw parameters (lambda for the Lagrangian allocation, B for the paper's).

    python benchmarks/calibrate_quality.py [--strategy strategies/efficientnet-lite0.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

import pillow_grace as pg
from benchmarks.photo_sets import load_offline
from pillow_grace.core import tables
from pillow_grace.evaluate.images import fit_to_capture
from pillow_grace.evaluate.judge import kl_distance
from pillow_grace.evaluate.probes import check_probe_overlap
from pillow_grace.zoo import get_model

CAPTURE = (1280, 720)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strategy", default="efficientnet-lite0")
    args = ap.parse_args()
    torch.set_num_threads(2)
    strategy = pg.load_strategy(args.strategy)
    net = get_model("efficientnet-lite0").module
    photos = load_offline().images
    check_probe_overlap(photos, [strategy])
    frames = [fit_to_capture(p.image, CAPTURE) for p in photos]

    def logits(images: list[Image.Image]) -> torch.Tensor:
        out = []
        for i in range(0, len(images), 8):
            batch = [np.asarray(im, dtype=np.float32) / 255 for im in images[i : i + 8]]
            x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2)
            with torch.inference_mode():
                out.append(net(x))
        return torch.cat(out)

    clean = logits(frames)

    def evaluate(encode: Callable[[Image.Image, io.BytesIO], None]) -> str:
        decoded, nbytes = [], 0
        for frame in frames:
            buf = io.BytesIO()
            encode(frame, buf)
            nbytes += buf.tell()
            buf.seek(0)
            decoded.append(Image.open(buf).convert("RGB"))
        lp = logits(decoded)
        agree = (lp.argmax(1) == clean.argmax(1)).float().mean().item()
        kl = kl_distance(clean, lp)
        bpp = nbytes * 8 / len(frames) / (CAPTURE[0] * CAPTURE[1])
        return f"bpp={bpp:.4f} agreement={agree:.3f} kl={kl:.4f}"

    print(f"{len(frames)} held-out photos at {CAPTURE[0]}x{CAPTURE[1]}, strategy {strategy.name}")
    assert strategy.perception is not None
    for quality in (30, 50, 75, 90):
        lam = tables.quality_to_parameter("lagrangian", quality, strategy.perception)
        print(f"quality {quality} (lambda {lam:.3g})")
        print("  grace      " + evaluate(
            lambda im, b, q=quality: im.save(b, "GRACE", strategy=strategy, quality=q)))
        print("  jpeg 4:4:4 " + evaluate(
            lambda im, b, q=quality: im.save(b, "JPEG", quality=q, subsampling=0, optimize=True)))
    for lam in (1e5, 1e6, 1e7, 1e8, 1e9, 1e10):
        print(f"lagrangian lambda={lam:.0e}: "
              + evaluate(lambda im, b, lam=lam: im.save(b, "GRACE", strategy=strategy, tradeoff=lam)))
    paper = dataclasses.replace(strategy, allocation=pg.Allocation("paper", 1e-3, None))
    for budget in (1e-5, 1e-4, 1e-3, 1e-2):
        print(f"paper B={budget:.0e}: "
              + evaluate(lambda im, b, B=budget: im.save(b, "GRACE", strategy=paper, tradeoff=B)))


if __name__ == "__main__":
    main()

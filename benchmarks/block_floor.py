"""What every 8x8 block costs before it says anything: ``python benchmarks/block_floor.py``.

A baseline JPEG codes every block of every component: a DC difference and,
where all AC coefficients quantize to zero, an end-of-block code. When the
camera frame is several times larger than the network's input, the model
sees only the lowest few frequencies of each block, and those fixed costs
become a large part of a GRACE file. This script measures them on real
photos for a strategy at a few qualities:

* ``grace``: the strategy's file at quality Q (what ``img.save(..., "GRACE")`` writes);
* ``dc only``: the same planes, tables and subsampling with every AC step at
  255 (the DC as Q codes it, nearly no AC);
* ``all 255``: every step at 255, DC included: what the blocks cost on their own;
* ``jpeg 4:4:4``: Pillow's standard tables at Q, optimized, for scale.

It also prints the number of blocks, so the floor can be read in bits per
block. Resize-on-device does not pay this floor for the pixels it drops,
which is why it beats any per-block table at large downscales (docs/results.md).

    python benchmarks/block_floor.py --strategy efficientnet-lite0 --capture 1280x720 \\
        --images native720 --max-images 12
"""

from __future__ import annotations

import argparse
import io

import numpy as np
from PIL import Image

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

import pillow_grace  # registers "GRACE"
from benchmarks.photo_sets import PHOTO_SETS
from pillow_grace.core.codec import resolve_strategy, subsampling_for, tables_for, to_planes
from pillow_grace.core.options import PIL_SUBSAMPLING
from pillow_grace.evaluate.images import fit_to_capture, parse_size


def jpeg_size(planes: Image.Image, tables: np.ndarray, subsampling: str) -> int:
    """Bytes of a baseline, optimized-Huffman JPEG of ``planes`` with ``tables`` (3 x 64)."""
    buf = io.BytesIO()
    planes.save(buf, "JPEG", qtables=[[int(v) for v in t] for t in tables],
                subsampling=PIL_SUBSAMPLING[subsampling], optimize=True)
    return buf.tell()


def blocks(size: tuple[int, int], subsampling: str) -> int:
    """8x8 blocks of the three components (MCU padding included)."""
    w, h = size
    if subsampling == "4:2:0":
        mw, mh = -(-w // 16), -(-h // 16)
        return mw * mh * 6
    return 3 * -(-w // 8) * -(-h // 8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strategy", default="efficientnet-lite0")
    ap.add_argument("--capture", type=parse_size, default=(1280, 720))
    ap.add_argument("--images", default="native720", help=f"photo set: {', '.join(PHOTO_SETS)}")
    ap.add_argument("--max-images", type=int, default=12)
    ap.add_argument("--qualities", default="30,50,70,85")
    args = ap.parse_args()
    strategy = resolve_strategy(args.strategy)
    photos = [fit_to_capture(b.image, args.capture) for b in PHOTO_SETS[args.images]().images]
    photos = photos[: args.max_images]
    print(f"{strategy.name} at {args.capture[0]}x{args.capture[1]}, {len(photos)} photos of {args.images}; "
          "mean KiB per photo (share of the GRACE file)")
    print(f"{'quality':>7} {'sub':>5} {'grace':>8} {'dc only':>14} {'all 255':>14} {'jpeg 4:4:4':>10}"
          f" {'floor bits/block':>16}")
    for q in (int(v) for v in args.qualities.split(",")):
        tables = np.asarray(tables_for(strategy, q), dtype=np.int64).reshape(-1, 64)
        sub = subsampling_for(strategy, q)
        dc_only = tables.copy()
        dc_only[:, 1:] = 255
        flat = np.full_like(tables, 255)
        sizes = np.zeros(4)
        nblocks = 0
        for im in photos:
            buf = io.BytesIO()
            im.save(buf, "GRACE", strategy=strategy, quality=q)
            planes = to_planes(im, strategy)
            sizes += (buf.tell(), jpeg_size(planes, dc_only, sub), jpeg_size(planes, flat, sub),
                      jpeg_size(im, np.asarray(pillow_grace.core.tables.jpeg_reference_tables(q)), "4:4:4"))
            nblocks += blocks(im.size, sub)
        kib, share = sizes / len(photos) / 1024, sizes / sizes[0]
        print(f"{q:>7} {sub:>5} {kib[0]:>8.1f} {kib[1]:>7.1f} ({share[1]:>4.0%})"
              f" {kib[2]:>7.1f} ({share[2]:>4.0%}) {kib[3]:>10.1f} {8 * sizes[2] / nblocks:>16.2f}")


if __name__ == "__main__":
    main()

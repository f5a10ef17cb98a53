"""Measure how exactly GRACE-aware decoding restores RGB (docs/usage.md, "Decode accuracy").

All-ones quantization tables, 4:4:4: the only losses left are rounding the
G-YUV planes to 8 bits and libjpeg's integer DCT, amplified by the inverse
colour transform. Prints, per weight choice, the amplification A(w), the
bound 1.6 A(w) + 0.5 that tests/adapters/test_decode.py enforces, and the
measured max and mean |error| over the photos.

    python scripts/measure_decode_bound.py [photo ...]

Without arguments it uses the RGB photos of Debian's opencv-doc package
(/usr/share/doc/opencv-doc/examples/data/*.jpg), or synthetic images when
that is not installed.
"""

from __future__ import annotations

import glob
import io
import sys

import numpy as np
from PIL import Image

import pillow_grace
from pillow_grace.core.colour import BT601

WEIGHTS = [
    BT601,
    (1 / 3, 1 / 3, 1 / 3),
    (0.05, 0.05, 0.9),
    (0.9, 0.05, 0.05),
    (0.05, 0.9, 0.05),
    (0.05, 0.475, 0.475),
    (0.475, 0.05, 0.475),
]


def amplification(w: tuple[float, float, float]) -> float:
    """Largest sum of |coefficients| in a row of the inverse G-YUV matrix.

    An error of e in each stored plane becomes at most A(w) * e in R, G or B."""
    wr, wg, wb = w
    return max(1 + 2 * (1 - wr), 1 + 2 * (1 - wb), 1 + 2 * (wr * (1 - wr) + wb * (1 - wb)) / wg)


def bound(w: tuple[float, float, float]) -> float:
    return 1.6 * amplification(w) + 0.5


def photos(paths: list[str]) -> list[Image.Image]:
    if not paths:
        paths = sorted(glob.glob("/usr/share/doc/opencv-doc/examples/data/*.jpg"))
    images = [Image.open(p) for p in paths]
    images = [im.convert("RGB") for im in images if im.mode == "RGB"]
    if not images:
        sys.path.insert(0, "tests")
        from conftest import synthetic_photo

        images = [synthetic_photo(seed=s) for s in range(8)]
    return images


def main() -> None:
    images = photos(sys.argv[1:])
    print(f"{len(images)} photos, {sum(im.width * im.height for im in images) / 1e6:.1f} Mpixel, "
          "all-ones tables, 4:4:4\n")
    print("| weights (Wr, Wg, Wb) | A(w) | bound 1.6A+0.5 | max error | mean error |")
    print("|---|---|---|---|---|")
    for w in WEIGHTS:
        s = pillow_grace.Strategy(name="bound", task="other", weights=w, tables=((1,) * 64,) * 3)
        worst, total, count = 0, 0.0, 0
        for im in images:
            buf = io.BytesIO()
            im.save(buf, "GRACE", strategy=s)
            with Image.open(io.BytesIO(buf.getvalue())) as out:
                err = np.abs(np.asarray(out, dtype=np.int16) - np.asarray(im, dtype=np.int16))
            worst = max(worst, int(err.max()))
            total += float(err.sum())
            count += err.size
        label = ", ".join(f"{x:.3f}" for x in w)
        print(f"| ({label}) | {amplification(w):.2f} | {bound(w):.1f} | {worst} | {total / count:.3f} |")


if __name__ == "__main__":
    main()

"""The test photo of the speed and interop benchmarks: a 2048x1024 mosaic of
real photographs at (nearly) native resolution.

A frame of that size is what the speed targets of docs/speed.md are stated for, and
JPEG's cost depends on content (a smooth upscaled image entropy-codes far
faster than a photo), so the mosaic is built from photos, each resized by at
most 1.7x: scikit-image's sample photos (astronaut, coffee, motorcycle,
chelsea, rocket, Hubble deep field, immunohistochemistry), installed with the
``benchmarks`` extra. Without scikit-image, the opencv-doc sample photos are used
(``scripts/setup.sh`` installs them); without either, a synthetic image (the
result line says which).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from benchmarks.photo_sets import OPENCV_DIR

ROW_HEIGHT = 512
OPENCV_DOC_PHOTOS = ("building.jpg", "aloeL.jpg", "fruits.jpg", "baboon.jpg", "starry_night.jpg",
                     "pca_test1.jpg", "leuvenA.jpg")


def _sources() -> tuple[str, list[Image.Image]]:
    try:
        import skimage.data as data

        arrays = [data.astronaut(), data.coffee(), data.stereo_motorcycle()[0], data.chelsea(),
                  data.rocket(), data.hubble_deep_field(), data.immunohistochemistry()]
        return "scikit-image sample photos", [Image.fromarray(a).convert("RGB") for a in arrays]
    except Exception:  # any failure (not installed, no data files): next source
        pass
    files = [OPENCV_DIR / n for n in OPENCV_DOC_PHOTOS if (OPENCV_DIR / n).is_file()]
    if files:
        return "opencv-doc sample photos", [Image.open(f).convert("RGB") for f in files]
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:ROW_HEIGHT, 0:ROW_HEIGHT].astype(np.float64)
    imgs = []
    for k in range(4):
        base = np.stack([128 + 100 * np.sin(x / (7 + k) + c) * np.cos(y / (11 + k)) for c in range(3)], -1)
        imgs.append(Image.fromarray(np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)))
    return "synthetic (no scikit-image, no opencv-doc)", imgs


def benchmark_photo(width: int = 2048, height: int = 1024) -> tuple[Image.Image, str]:
    """(RGB image of the given size, description of its source)."""
    source, photos = _sources()
    canvas = Image.new("RGB", (width, height))
    i = 0
    for y in range(0, height, ROW_HEIGHT):
        x = 0
        while x < width:
            im = photos[i % len(photos)]
            i += 1
            im = im.resize((round(im.width * ROW_HEIGHT / im.height), ROW_HEIGHT), Image.Resampling.LANCZOS)
            canvas.paste(im, (x, y))
            x += im.width
    return canvas, f"{width}x{height} mosaic of {source}"

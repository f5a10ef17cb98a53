"""Probe images: normalising inputs, capture-size preparation, fingerprints. No torch.

The benchmark must never evaluate a strategy on the images it was fitted on;
:func:`image_fingerprint` is the shared definition of "the same image" that
``fit_strategy`` records in a strategy's provenance and the benchmark checks.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

#: File extensions read by :func:`list_image_files` (lower case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

ImageLike = Any  # PIL.Image.Image or an H x W x 3 uint8 array


def as_rgb_array(img: ImageLike, *, index: int | None = None) -> np.ndarray:
    """A C-contiguous H x W x 3 uint8 RGB array of a PIL image or an array.

    PIL images in any mode are converted to RGB (grey replicated, palette
    looked up, alpha dropped). Arrays must already be H x W x 3 uint8 (or
    H x W grey uint8): silently rescaling floats would hide a 0..1 vs 0..255
    mistake, so that is refused."""
    where = f"images[{index}]" if index is not None else "image"
    if isinstance(img, Image.Image):
        if img.mode != "RGB":
            img = img.convert("RGB")
        return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise TypeError(
            f"{where}: expected uint8 pixel values 0..255, got dtype {arr.dtype}; "
            "convert with (x * 255).round().astype(np.uint8) if it holds floats in [0, 1]"
        )
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{where}: expected an H x W x 3 RGB array, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{where}: image is empty ({arr.shape[1]}x{arr.shape[0]})")
    return np.ascontiguousarray(arr)


def image_fingerprint(img: ImageLike) -> str:
    """SHA-256 (hex) of an image's RGB pixel data: 8-bit samples, row-major, R G B interleaved.

    Only pixels count (no file format, metadata or encoder): the same picture
    decoded from a PNG or a lossless WebP has the same fingerprint, and anyone
    can recompute it with ``hashlib.sha256(np.asarray(im.convert("RGB")).tobytes())``.
    Images are compared at the resolution given, so fingerprint the image at
    the capture resolution (after :func:`fit_to_capture`) to compare with a
    strategy's ``provenance["probe_image_sha256"]``."""
    return hashlib.sha256(as_rgb_array(img).tobytes()).hexdigest()


def parse_size(text: str) -> tuple[int, int]:
    """"1280x720" -> (1280, 720)."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"size must look like WIDTHxHEIGHT, e.g. 1280x720; got {text!r}") from None
    if not (0 < w <= 65535 and 0 < h <= 65535):
        raise ValueError(f"size must have width and height in 1..65535, got {text!r}")
    return w, h


def fit_to_capture(img: ImageLike, size: tuple[int, int]) -> Image.Image:
    """Resize to *cover* ``size`` (keeping the aspect ratio), then centre-crop to it.

    This is what a camera pipeline does when its sensor aspect differs from
    the stream's: nothing is stretched and no black bars are invented (bars
    would be free to compress and would bias the statistics). Lanczos
    resampling, so downscaled probes do not alias."""
    if isinstance(img, Image.Image):
        im = img.convert("RGB") if img.mode != "RGB" else img
    else:
        im = Image.fromarray(as_rgb_array(img))
    return ImageOps.fit(im, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def list_image_files(directory: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``directory``, sorted by name (stable across machines)."""
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"image directory {str(d)!r} does not exist or is not a directory")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(
            f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {str(d)!r}; "
            "point --images at a folder of probe images"
        )
    return files


def choose_probe_files(files: Sequence[Path], count: int, seed: int) -> list[Path]:
    """``count`` files chosen uniformly at random (deterministic for ``seed``), in name order."""
    if count <= 0:
        raise ValueError(f"probe count must be >= 1, got {count}")
    if count >= len(files):
        return list(files)
    rng = np.random.default_rng(seed)
    idx = sorted(rng.choice(len(files), size=count, replace=False).tolist())
    return [files[i] for i in idx]


def upright(image: Image.Image) -> Image.Image:
    """``image`` turned by its EXIF orientation, as a camera shows it (unchanged where the
    orientation is absent or unreadable: a broken tag must not lose the photo)."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # malformed EXIF of any kind
        return image


def load_image(path: str | os.PathLike[str]) -> Image.Image:
    """Open an image file as RGB, applying its EXIF orientation: the one way every part of the
    library (fit, bench, photo sets) reads a photo from disk."""
    with Image.open(path) as im:
        im.load()
        return upright(im).convert("RGB")


def common_size(images: Iterable[ImageLike]) -> tuple[int, int]:
    """The most frequent (width, height); ties go to the larger area."""
    counts: dict[tuple[int, int], int] = {}
    for img in images:
        if isinstance(img, Image.Image):
            size = img.size
        else:
            shape = np.asarray(img).shape
            size = (shape[1], shape[0])
        counts[size] = counts.get(size, 0) + 1
    if not counts:
        raise ValueError("no images given")
    return max(counts, key=lambda s: (counts[s], s[0] * s[1], s))

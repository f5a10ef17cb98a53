"""The photos a benchmark runs on: the photo filter and loading a folder of photos.

Photo filter (documented in docs/benchmarking.md). A file is used when it

1. opens as a raster image (after its EXIF orientation is applied);
2. has 3 colour channels: RGB, or RGBA/LA/P whose alpha is fully opaque
   (greyscale, CMYK and 16-bit files are skipped: a camera frame is 8-bit RGB);
3. has a short side of at least ``MIN_SIDE`` = 200 px;
4. is in colour: mean |R-G| + |G-B| over 2 is at least ``MIN_CHROMA`` = 4
   (8-bit units), which skips grey images stored as RGB;
5. is not a flat graphic: under ``MAX_FLAT`` = 50 % of pixels equal their
   right neighbour exactly (logos, charts, rendered test patterns have large
   flat areas; photos, with sensor noise, almost none);
6. is not on the deny list its photo set gives (``load_directory(deny=...)``);
7. is not a pixel-exact duplicate of an earlier file (same fingerprint).

The filter curates photo sets (``load_directory(curated=True)``, the default,
and :meth:`ImageSet.add`). A folder of the user's own frames
(``grace bench --images DIR``) is taken as it is (``curated=False``): every
readable image is evaluated, greyscale ones as RGB with the grey replicated (a
fixed camera may well send near-greyscale frames); only unreadable files,
images with transparent pixels and duplicates are skipped.

Every skipped file is reported with its reason. Named photo sets (``offline``,
...) are in :mod:`~pillow_grace.bench.sources`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pillow_grace.evaluate.images import IMAGE_EXTENSIONS, image_fingerprint, upright

MIN_SIDE = 200
MIN_CHROMA = 4.0
MAX_FLAT = 0.5


@dataclass
class BenchImage:
    """One photo as loaded (full resolution, RGB) plus where it came from."""

    name: str
    """Unique, stable name, e.g. ``opencv:baboon.jpg`` or ``skimage:astronaut``."""
    image: Image.Image
    source: str
    fingerprint: str

    @classmethod
    def of(cls, name: str, image: Image.Image, source: str) -> BenchImage:
        return cls(name, image, source, image_fingerprint(image))

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "size": list(self.image.size),
        }


@dataclass
class ImageSet:
    """Photos that passed the filter, and the files that did not (with reasons)."""

    images: list[BenchImage] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def extend(self, other: ImageSet) -> None:
        seen = {im.fingerprint: im.name for im in self.images}
        for im in other.images:
            if im.fingerprint in seen:
                self.skipped.append((im.name, f"duplicate of {seen[im.fingerprint]}"))
            else:
                seen[im.fingerprint] = im.name
                self.images.append(im)
        self.skipped.extend(other.skipped)

    def add(self, name: str, image: Image.Image, source: str) -> None:
        """Add ``image`` under ``name`` if it passes the photo filter, else record why not."""
        photo, reason = to_photo(image)
        if photo is None:
            self.skipped.append((name, reason))
        else:
            self.extend(ImageSet([BenchImage.of(name, photo, source)]))


def to_photo(image: Image.Image) -> tuple[Image.Image | None, str]:
    """(RGB image, "") when ``image`` passes the photo filter, else (None, reason): a frame
    (:func:`to_frame`) that is 8-bit colour, large, colourful and not a flat graphic."""
    if not (_has_alpha(image) or image.mode in ("RGB", "P")):
        return None, f"mode {image.mode} (not 8-bit RGB)"
    frame, reason = to_frame(image)
    if frame is None:
        return None, reason
    image = frame
    w, h = image.size
    if min(w, h) < MIN_SIDE:
        return None, f"short side {min(w, h)} px < {MIN_SIDE}"
    a = np.asarray(image, dtype=np.int16)
    chroma = float((np.abs(a[..., 0] - a[..., 1]) + np.abs(a[..., 1] - a[..., 2])).mean() / 2)
    if chroma < MIN_CHROMA:
        return None, f"greyscale content (chroma {chroma:.1f} < {MIN_CHROMA})"
    flat = float((np.abs(np.diff(a, axis=1)).sum(axis=-1) == 0).mean())
    if flat >= MAX_FLAT:
        return None, f"flat graphic ({flat:.0%} of pixels equal their neighbour)"
    return image, ""


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _opaque(image: Image.Image) -> Image.Image | None:
    """``image`` as RGBA where every pixel is fully opaque, else None."""
    rgba = image.convert("RGBA")
    lo = rgba.getchannel("A").getextrema()[0]
    return rgba if isinstance(lo, (int, float)) and lo >= 255 else None


def to_frame(image: Image.Image) -> tuple[Image.Image | None, str]:
    """(RGB image, "") of any camera frame, greyscale or colour; (None, reason) only where it
    has transparent pixels (no camera sends those; dropping the alpha would invent content)."""
    image = upright(image)
    if _has_alpha(image):
        rgba = _opaque(image)
        if rgba is None:
            return None, "has transparent pixels"
        image = rgba
    if image.mode == "I;16":  # 16-bit grey: keep the top 8 bits, as an 8-bit camera would
        image = Image.fromarray((np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8))
    return (image if image.mode == "RGB" else image.convert("RGB")), ""


def load_file(path: Path, curated: bool = True) -> tuple[Image.Image | None, str]:
    """(RGB image, "") of an image file that passes the photo filter (``curated``) or is any
    frame (see :func:`to_frame`), else (None, reason)."""
    try:
        with Image.open(path) as im:
            im.load()
            return to_photo(im) if curated else to_frame(im)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        return None, f"not a readable image ({type(e).__name__})"


def load_directory(
    directory: str | os.PathLike[str],
    source: str | None = None,
    *,
    deny: Mapping[str, str] | None = None,
    curated: bool = True,
) -> ImageSet:
    """Every image in ``directory`` (recursively, sorted by path) that passes the photo filter
    (``curated``, for photo sets) or, with ``curated=False``, every readable frame.

    ``deny`` maps file names to skip onto the reason recorded for them."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"--images: {str(root)!r} is not a directory")
    source = source or root.name or "images"
    out = ImageSet()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    for p in files:
        name = f"{source}:{p.relative_to(root).as_posix()}"
        if deny and p.name in deny:
            out.skipped.append((name, deny[p.name]))
            continue
        photo, reason = load_file(p, curated)
        if photo is None:
            out.skipped.append((name, reason))
        else:
            out.extend(ImageSet([BenchImage.of(name, photo, source)]))
    return out

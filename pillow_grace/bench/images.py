"""The photos a benchmark runs on: loading, the photo filter, capture sizes, labels,
and the rule that images used to probe a strategy are never used to evaluate it.

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
6. is not on the short deny list of synthetic images that pass 1-5
   (``SYNTHETIC``: two rendered test patterns and a logo of the opencv-doc set);
7. is not a pixel-exact duplicate of an earlier file (same fingerprint).

Every skipped file is reported with its reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from ..errors import GraceError

MIN_SIDE = 200
MIN_CHROMA = 4.0
MAX_FLAT = 0.5
#: Files of the opencv-doc sample set that pass the numeric filter but are not photos.
SYNTHETIC = frozenset({"pic2.png", "pic4.png", "WindowsLogo.jpg"})
#: Longest side of a "native" capture; larger photos are downscaled to it.
NATIVE_CAP = 1920

OPENCV_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
#: Colour photographs among scikit-image's bundled samples (no download needed).
#: "cat" is left out: it is the same photo as "chelsea".
SKIMAGE_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "rocket",
    "stereo_motorcycle",
)
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


class ProbeOverlapError(GraceError, ValueError):
    """Evaluation images include images that were used to fit (probe) the strategy."""


@dataclass
class BenchImage:
    """One photo as loaded (full resolution, RGB) plus where it came from."""

    name: str
    """Unique, stable name, e.g. ``opencv:baboon.jpg`` or ``skimage:astronaut``."""
    image: Image.Image
    source: str
    fingerprint: str

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


def image_fingerprint(image: Image.Image) -> str:
    """SHA-256 (hex) of an image's 8-bit RGB pixels, row-major, R G B interleaved.

    The same definition as :func:`pillow_grace.fit.images.image_fingerprint`,
    which the fitter records for its probe images (used when importable, so
    both sides agree by construction)."""
    try:
        from ..fit.images import image_fingerprint as fit_fingerprint
    except ImportError:  # pragma: no cover - fitter not installed
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        return hashlib.sha256(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)).tobytes()).hexdigest()
    return str(fit_fingerprint(image))


def fit_to_size(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Cover ``size`` keeping the aspect ratio, centre-crop, Lanczos: how the fitter
    prepares probe images (``pillow_grace.fit.images.fit_to_capture``) and how a
    fixed capture size is made here, so fingerprints of the two agree."""
    im = image if image.mode == "RGB" else image.convert("RGB")
    if im.size == tuple(size):
        return im
    return ImageOps.fit(im, tuple(size), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


# -- loading and filtering ------------------------------------------------------------
def to_photo(image: Image.Image) -> tuple[Image.Image | None, str]:
    """(RGB image, "") when ``image`` passes the photo filter, else (None, reason)."""
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:
        pass
    mode = image.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        lo, _hi = rgba.getchannel("A").getextrema()  # type: ignore[misc]
        if lo < 255:
            return None, "has transparent pixels"
        image = rgba.convert("RGB")
    elif mode == "P":
        image = image.convert("RGB")
    elif mode != "RGB":
        return None, f"mode {mode} (not 8-bit RGB)"
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


def load_file(path: Path, source: str) -> tuple[BenchImage | None, str]:
    if path.name in SYNTHETIC and path.parent.resolve() == OPENCV_DIR.resolve():
        return None, "synthetic test pattern or logo (deny list)"
    try:
        with Image.open(path) as im:
            im.load()
            photo, reason = to_photo(im)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        return None, f"not a readable image ({type(e).__name__})"
    if photo is None:
        return None, reason
    return BenchImage(f"{source}:{path.name}", photo, source, image_fingerprint(photo)), ""


def load_directory(directory: str | os.PathLike[str], source: str | None = None) -> ImageSet:
    """Every photo in ``directory`` (recursively, sorted by path) that passes the filter."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"--images: {str(root)!r} is not a directory")
    source = source or root.name or "images"
    out = ImageSet()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES)
    for p in files:
        bench_image, reason = load_file(p, source)
        rel = p.relative_to(root).as_posix()
        if bench_image is None:
            out.skipped.append((f"{source}:{rel}", reason))
        else:
            bench_image.name = f"{source}:{rel}"
            out.extend(ImageSet([bench_image]))
    return out


def load_skimage() -> ImageSet:
    """scikit-image's bundled colour photographs (``SKIMAGE_PHOTOS``)."""
    out = ImageSet()
    try:
        import skimage.data as data
    except ImportError:
        out.skipped.append(("skimage:*", "scikit-image is not installed (pip install 'pillow-grace[bench]')"))
        return out
    for name in SKIMAGE_PHOTOS:
        fn = getattr(data, name, None)
        if fn is None:
            out.skipped.append((f"skimage:{name}", "not in this scikit-image version"))
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arr = fn()
        except Exception as e:
            out.skipped.append((f"skimage:{name}", f"not available offline ({type(e).__name__})"))
            continue
        if isinstance(arr, tuple):  # stereo pairs: take the left view
            arr = arr[0]
        photo, reason = to_photo(Image.fromarray(np.ascontiguousarray(arr)))
        if photo is None:
            out.skipped.append((f"skimage:{name}", reason))
        else:
            out.extend(ImageSet([BenchImage(f"skimage:{name}", photo, "skimage", image_fingerprint(photo))]))
    return out


def load_images(spec: str) -> ImageSet:
    """Images named by a CLI value: a directory, or ``offline`` (opencv-doc + scikit-image),
    ``opencv`` or ``skimage``; several separated by commas."""
    out = ImageSet()
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if part == "offline":
            if OPENCV_DIR.is_dir():
                out.extend(load_directory(OPENCV_DIR, "opencv"))
            else:
                out.skipped.append(("opencv:*", f"{OPENCV_DIR} not found (apt-get install opencv-doc)"))
            out.extend(load_skimage())
        elif part == "opencv":
            out.extend(load_directory(OPENCV_DIR, "opencv"))
        elif part == "skimage":
            out.extend(load_skimage())
        else:
            out.extend(load_directory(part))
    return out


# -- capture -------------------------------------------------------------------------
@dataclass(frozen=True)
class CaptureSpec:
    """How a photo becomes a camera frame.

    ``fixed``: centre-crop to the aspect ratio of ``size``, then Lanczos
    resize to exactly ``size`` (what a camera ISP's scaler produces);
    ``model``: the same, at the model's own input size; ``native``: the photo
    as it is, downscaled (Lanczos) so its long side is at most ``NATIVE_CAP``."""

    kind: str
    size: tuple[int, int] | None = None

    @classmethod
    def parse(cls, text: str) -> CaptureSpec:
        t = text.strip().lower()
        if t in ("model", "native"):
            return cls(t)
        parts = t.replace("×", "x").split("x")
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            w, h = int(parts[0]), int(parts[1])
            if 16 <= w <= 8192 and 16 <= h <= 8192:
                return cls("fixed", (w, h))
        raise ValueError(
            f"--capture-size must be WxH (e.g. 1280x720, sides 16..8192), 'model' or 'native'; got {text!r}"
        )

    def label(self, model_size: tuple[int, int] | None = None) -> str:
        if self.kind == "fixed" and self.size:
            return f"{self.size[0]}x{self.size[1]}"
        if self.kind == "model" and model_size:
            return f"{model_size[0]}x{model_size[1]} (model input)"
        return f"native (long side <= {NATIVE_CAP})" if self.kind == "native" else self.kind

    def target(self, size: tuple[int, int], model_size: tuple[int, int] | None) -> tuple[int, int] | None:
        """The capture size for a photo of ``size``; None keeps the photo's size."""
        if self.kind == "fixed":
            return self.size
        if self.kind == "model":
            if model_size is None:
                raise ValueError("capture 'model' needs the model's input size")
            return model_size
        w, h = size
        if max(w, h) <= NATIVE_CAP:
            return None
        s = NATIVE_CAP / max(w, h)
        return (max(1, round(w * s)), max(1, round(h * s)))

    def apply(
        self, image: Image.Image, model_size: tuple[int, int] | None = None
    ) -> tuple[Image.Image, bool]:
        """(frame, upscaled): the capture of ``image`` and whether it had to be enlarged."""
        target = self.target(image.size, model_size)
        if target is None:
            return image, False
        w, h = image.size
        tw, th = target
        scale = max(tw / w, th / h)  # cover: the crop keeps the larger scale
        return fit_to_size(image, target), scale > 1.0


# -- labels ----------------------------------------------------------------------------
def read_labels(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read a labels file: CSV lines ``filename,class_index``.

    ``filename`` is the file's name (or its path relative to ``--images``);
    ``class_index`` is the model's output index (0-based). Blank lines and
    lines starting with ``#`` are ignored; a first line whose first field is
    ``filename`` is a header."""
    labels: dict[str, int] = {}
    text = Path(path).read_text(encoding="utf-8")
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) != 2:
            raise ValueError(f"{path}:{n}: expected 'filename,class_index', got {','.join(row)!r}")
        name, idx = row[0].strip(), row[1].strip()
        if not labels and name.lower() in ("filename", "file", "name"):
            continue  # header
        if not idx.isdigit():
            raise ValueError(f"{path}:{n}: class_index must be a non-negative integer, got {idx!r}")
        if name in labels:
            raise ValueError(f"{path}:{n}: {name!r} is labelled twice")
        labels[name] = int(idx)
    if not labels:
        raise ValueError(f"{path}: no labels found (expected lines 'filename,class_index')")
    return labels


def labels_for(images: Sequence[BenchImage], labels: Mapping[str, int]) -> list[int]:
    """The label of each image, matched by file name or by the name after ``source:``.

    Every image must be labelled: a partial labels file would silently change
    which images the accuracy is measured on."""
    out: list[int] = []
    missing: list[str] = []
    for im in images:
        short = im.name.split(":", 1)[-1]
        for key in (im.name, short, Path(short).name):
            if key in labels:
                out.append(labels[key])
                break
        else:
            missing.append(im.name)
    if missing:
        raise ValueError(
            f"the labels file has no entry for {len(missing)} image(s): {', '.join(missing[:10])}"
            + (" ..." if len(missing) > 10 else "")
            + "; add them or remove those images from --images"
        )
    return out


# -- probe / evaluation separation -----------------------------------------------------------
#: Provenance keys (in this order) under which a strategy may list its probe images' fingerprints.
PROBE_FINGERPRINT_KEYS = (
    "probe_image_sha256",
    "probe_fingerprints",
    "probe_image_fingerprints",
    "probe_images_sha256",
)
PROBE_NAME_KEYS = ("probe_images", "probe_files", "probe_image_names")


def probe_fingerprints(strategy: Any) -> set[str] | None:
    """Fingerprints of the images the strategy was probed on, or None if it records none."""
    prov = getattr(strategy, "provenance", None) or {}
    found = _fingerprints_in(prov)
    if found is None and isinstance(prov.get("probe"), Mapping):
        found = _fingerprints_in(prov["probe"])
    return found


def _fingerprints_in(mapping: Mapping[str, Any]) -> set[str] | None:
    for key in PROBE_FINGERPRINT_KEYS:
        value = mapping.get(key)
        if isinstance(value, (list, tuple)):
            return {_strip_prefix(str(v)) for v in value}
        if isinstance(value, Mapping):  # name -> fingerprint
            return {_strip_prefix(str(v)) for v in value.values()}
    return None


def _strip_prefix(fp: str) -> str:
    return fp.split(":", 1)[1] if fp.startswith("sha256:") else fp


@dataclass
class ProbeCheck:
    """Outcome of the probe/evaluation separation check, recorded in every result."""

    strategy: str
    status: str  # "clean", "excluded", "overridden", "unverifiable"
    overlapping: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "status": self.status, "overlapping": list(self.overlapping)}


def check_probe_overlap(
    images: list[BenchImage], strategies: Iterable[Any], *, policy: str = "refuse"
) -> tuple[list[BenchImage], list[ProbeCheck]]:
    """Enforce that no evaluation image was used to probe any of ``strategies``.

    ``policy``: ``"refuse"`` raises :class:`ProbeOverlapError` naming the
    files; ``"exclude"`` drops them from the evaluation; ``"allow"`` keeps
    them (the results are then marked as contaminated). A strategy that
    records no fingerprints cannot be checked and is marked "unverifiable"."""
    if policy not in ("refuse", "exclude", "allow"):
        raise ValueError(f"policy must be refuse, exclude or allow, got {policy!r}")
    checks: list[ProbeCheck] = []
    drop: set[str] = set()
    for s in strategies:
        fps = probe_fingerprints(s)
        name = getattr(s, "name", str(s))
        if fps is None:
            checks.append(ProbeCheck(name, "unverifiable"))
            continue
        overlap = [im.name for im in images if fingerprints_for(im, s) & fps]
        if not overlap:
            checks.append(ProbeCheck(name, "clean"))
            continue
        if policy == "refuse":
            shown = ", ".join(overlap[:20]) + (" ..." if len(overlap) > 20 else "")
            raise ProbeOverlapError(
                f"{len(overlap)} evaluation image(s) were used to probe strategy {name!r}: {shown}. "
                "Evaluating a strategy on its own probe images overstates it. Remove them from --images, "
                "pass --exclude-probe-images to drop them, or --allow-probe-overlap to keep them "
                "(the results are then marked CONTAMINATED)"
            )
        checks.append(ProbeCheck(name, "excluded" if policy == "exclude" else "overridden", overlap))
        if policy == "exclude":
            drop.update(overlap)
    return [im for im in images if im.name not in drop], checks


def probe_images_in(images: Iterable[BenchImage], strategy: Any) -> list[BenchImage]:
    """The images among ``images`` that ``strategy`` was probed on (by fingerprint)."""
    fps = probe_fingerprints(strategy)
    if not fps:
        return []
    return [im for im in images if fingerprints_for(im, strategy) & fps]


def fingerprints_for(image: BenchImage, strategy: Any) -> set[str]:
    """The image's fingerprint as loaded and as the fitter would have prepared it for ``strategy``.

    The fitter fingerprints probe images after fitting them to the strategy's
    probe (capture) resolution, so a photo is compared both ways."""
    out = {image.fingerprint}
    size = getattr(strategy, "probe_resolution", None)
    if size and tuple(size) != image.image.size:
        out.add(image_fingerprint(fit_to_size(image.image, tuple(size))))
    return out


#: Where the shipped strategies' probe photos are listed (source checkout), relative to OPENCV_DOC_ROOT.
PROBE_SET_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "probe-set.txt"
OPENCV_DOC_ROOT = Path("/usr/share/doc/opencv-doc")


def probe_set_files() -> list[Path]:
    """The files of ``benchmarks/probe-set.txt`` that exist here (empty outside a source checkout)."""
    if not PROBE_SET_FILE.is_file():
        return []
    out = []
    for line in PROBE_SET_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and (OPENCV_DOC_ROOT / line).is_file():
            out.append(OPENCV_DOC_ROOT / line)
    return out


def locate_probe_images(strategy: Any, candidates: Iterable[Path | BenchImage]) -> list[BenchImage]:
    """The strategy's probe images among ``candidates``, proven by fingerprint.

    Refits (ablations, a strategy refitted for another capture size) must use
    exactly the images the strategy was fitted on, and nothing else: a file
    counts only when its pixels, prepared as the fitter prepares them, hash to
    one of the strategy's recorded fingerprints. Files are read as RGB both
    with and without their EXIF orientation applied (the fitter may do either)."""
    fps = probe_fingerprints(strategy)
    if not fps:
        return []
    found: dict[str, BenchImage] = {}
    for cand in candidates:
        if isinstance(cand, BenchImage):
            options = [cand]
        else:
            try:
                with Image.open(cand) as im:
                    im.load()
                    raw = im.convert("RGB")
                    turned = ImageOps.exif_transpose(im).convert("RGB")
            except (OSError, SyntaxError, ValueError):
                continue
            options = [
                BenchImage(f"probe:{cand.name}", img, "probe", image_fingerprint(img))
                for img in (raw, turned)
            ]
        for option in options:
            hit = fingerprints_for(option, strategy) & fps
            if hit:
                found.setdefault(next(iter(hit)), option)
                break
    return list(found.values())

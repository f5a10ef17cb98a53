"""Coverage-guided fuzz target for the GRACE header readers (atheris).

    python tests/adapters/atheris_headers.py -atheris_runs=20000

Each input edits a GRACE file (weights far from BT.601) in its headers:
bytes inserted, deleted or replaced, or the file cut short. Every reader
(``metadata.inspect``, ``Image.open`` + ``load``, ``grace_opencv.imdecode``)
must either refuse the file with one of the documented errors or give the
picture in its true colours (or, after edits to the weights in the JSON,
visibly other colours): never the G-YUV planes shown as BT.601, and never
an undocumented exception. ``tests/adapters/test_atheris_headers.py`` runs
it briefly in CI; atheris is in the ``dev`` extra (Linux wheels).
"""

from __future__ import annotations

import io
import sys
import warnings

import atheris
import numpy as np

from tests.support.header_edits import edit_headers

with atheris.instrument_imports(include=["pillow_grace.core.metadata", "pillow_grace.plugin"]):
    from PIL import Image

    from pillow_grace import GraceError, Strategy
    from pillow_grace.core import metadata

ALLOWED = (GraceError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def _seed() -> tuple[bytes, np.ndarray, np.ndarray, int]:
    strategy = Strategy(name="fuzz", task="other", weights=(0.7, 0.1, 0.2), tables=((1,) * 64,) * 3)
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (8, 16, 3), dtype=np.uint8)).save(buf, "GRACE", strategy=strategy)
    data = buf.getvalue()
    right = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.int16)
    bt601 = np.asarray(Image.open(io.BytesIO(data), formats=["JPEG"]).convert("RGB")).astype(np.int16)
    return data, right, bt601, data.find(b"\xff\xdb")


DATA, RIGHT, BT601, HEADER_END = _seed()


def _check(px: np.ndarray, reader: str) -> None:
    if px.shape == BT601.shape and not np.array_equal(px, RIGHT) and np.abs(px - BT601).max() <= 8:
        raise AssertionError(f"{reader} showed the G-YUV planes as BT.601")


def test_one_input(raw: bytes) -> None:
    data = edit_headers(atheris.FuzzedDataProvider(raw), DATA, HEADER_END)
    try:
        metadata.inspect(data)
    except ALLOWED:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(io.BytesIO(data)) as im:
                _check(np.asarray(im.convert("RGB")).astype(np.int16), "Image.open")
        except ALLOWED:
            pass
    try:
        import cv2

        import grace_opencv as gcv
    except ImportError:
        return
    try:
        out = gcv.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except (*ALLOWED, cv2.error):
        return
    if out is not None:
        _check(out[:, :, ::-1].astype(np.int16), "grace_opencv.imdecode")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()

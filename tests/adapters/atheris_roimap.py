"""Coverage-guided fuzz target for the ROI map reader and the receiver (atheris).

    python tests/adapters/atheris_roimap.py -atheris_runs=20000

Each input edits, in its headers, an ROI file written with ``roi_map=True``
(bytes inserted, deleted or replaced, or the file cut short) and hands it to
a :class:`pillow_grace.BackgroundFill` that holds a reference frame of the
same size. The receiver must either refuse the file with one of the
documented errors or return an RGB frame of the file's size: never an
undocumented exception, and never a frame of another shape.
``tests/adapters/test_atheris_headers.py`` runs it briefly in CI.
"""

from __future__ import annotations

import io
import sys
import warnings

import atheris
import numpy as np

from tests.support.header_edits import edit_headers

with atheris.instrument_imports(include=["pillow_grace.core.roimap", "pillow_grace.core.fill"]):
    from PIL import Image

    from pillow_grace import BackgroundFill, GraceError, Strategy

ALLOWED = (GraceError, OSError, SyntaxError, Image.DecompressionBombError)


def _seed() -> tuple[bytes, bytes, int]:
    strategy = Strategy(name="fuzz", task="other", weights=(0.299, 0.587, 0.114), tables=((4,) * 64,) * 3)
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    full, coarse = io.BytesIO(), io.BytesIO()
    Image.fromarray(pixels).save(full, "GRACE", strategy=strategy)
    Image.fromarray(pixels).save(coarse, "GRACE", strategy=strategy, roi=[(0, 0, 16, 16)], background="dc",
                                 roi_map=True)
    data = coarse.getvalue()
    return full.getvalue(), data, data.find(b"\xff\xdb")


FULL, DATA, HEADER_END = _seed()


def _raised_in_pillow(e: BaseException) -> bool:
    """Whether ``e`` was raised inside Pillow (its own errors for damaged data), not in our code."""
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and "/PIL/" in tb.tb_frame.f_code.co_filename.replace("\\", "/")


def test_one_input(raw: bytes) -> None:
    data = edit_headers(atheris.FuzzedDataProvider(raw), DATA, HEADER_END)
    fill = BackgroundFill()
    fill.decode(FULL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = fill.decode(data)
        except ValueError as e:
            if not _raised_in_pillow(e):  # numpy's shape errors are ValueErrors too: bugs here
                raise
            return
        except ALLOWED:
            return
        with Image.open(io.BytesIO(data)) as im:
            size = im.size
    if out.mode != "RGB" or out.size != size:
        raise AssertionError(f"BackgroundFill gave a {out.mode} {out.size} frame for a {size} file")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()

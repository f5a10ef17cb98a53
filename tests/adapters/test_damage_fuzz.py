"""Inserted and deleted bytes in a GRACE file's APP0/APP11 segments (issue #18,
item 4): no reader may ever show the G-YUV planes with BT.601 colours.

One byte inserted inside the identifier (``GRAC?E``) used to make the file
open as plain JPEG, 35-165 levels off. Every offset of both segments is tried
for deletion and for insertion, through ``Image.open`` and
``grace_opencv.imdecode``; hypothesis adds up to three mixed edits."""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from pillow_grace import GraceFileError, Strategy
from tests.support import jpegmarkers as jm

#: Far from BT.601, so that a BT.601 decode of the planes is many levels off.
FAR_WEIGHTS = (0.7, 0.1, 0.2)


@pytest.fixture(scope="module")
def grace_case(make_strategy: Any) -> tuple[bytes, np.ndarray, np.ndarray, range]:
    """(file, its right decode, the planes decoded as BT.601, offsets of APP0+APP11)."""
    strategy: Strategy = make_strategy("far-weights", weights=FAR_WEIGHTS, tables="ones", subsampling="4:4:4")
    rng = np.random.default_rng(5)
    image = Image.fromarray(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8), "RGB")
    buf = io.BytesIO()
    image.save(buf, "GRACE", strategy=strategy)
    data = buf.getvalue()
    right = _pixels(Image.open(io.BytesIO(data)))
    bt601 = _pixels(Image.open(io.BytesIO(data), formats=["JPEG"]))
    assert np.abs(right - bt601).max() > 60  # the oracle can tell the two apart
    app0, app11 = jm.find(data, 0xFFE0)[0], jm.find(data, 0xFFEB)[0]
    assert app0.offset < app11.offset
    return data, right, bt601, range(app0.offset, app11.offset + 4 + len(app11.payload))


def _pixels(im: Image.Image) -> np.ndarray:
    with im:
        return np.asarray(im.convert("RGB")).astype(np.int16)


def _decodes(data: bytes) -> list[tuple[str, np.ndarray | None]]:
    """What each reader makes of ``data``: pixels (RGB), None, or an exception name."""
    out: list[tuple[str, np.ndarray | None]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out.append(("Image.open", _pixels(Image.open(io.BytesIO(data)))))
        except (OSError, SyntaxError, ValueError, GraceFileError):
            out.append(("Image.open", None))
    cv2 = pytest.importorskip("cv2")
    import grace_opencv as gcv

    try:
        bgr = gcv.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except GraceFileError:
        bgr = None
    out.append(("imdecode", None if bgr is None else bgr[:, :, ::-1].astype(np.int16)))
    return out


def _edited(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    b = bytearray(data)
    for op, at, value in sorted(edits, key=lambda e: -e[1]):  # from the end: offsets stay valid
        if op == "insert":
            b.insert(at, value)
        elif op == "delete":
            del b[at]
        else:
            b[at] = value
    return bytes(b)


@pytest.mark.parametrize("op", ["delete", "insert 00", "insert ff", "insert 47"])
def test_one_byte_inserted_or_deleted_anywhere_in_app0_or_app11(
    grace_case: tuple[bytes, np.ndarray, np.ndarray, range], op: str
) -> None:
    """Either the right colours or no picture, at every offset."""
    data, right, _bt601, offsets = grace_case
    kind, _, value = op.partition(" ")
    wrong = []
    for at in [*offsets, offsets.stop] if kind == "insert" else offsets:
        damaged = _edited(data, [(kind, at, int(value or "0", 16))])
        for reader, px in _decodes(damaged):
            if px is not None and not (px.shape == right.shape and np.array_equal(px, right)):
                wrong.append((reader, at))
    assert not wrong, f"{op}: decoded with other colours at {wrong}"


_OPS = st.sampled_from(["insert", "delete", "replace"])
_EDIT = st.tuples(_OPS, st.integers(0, 10**6), st.integers(0, 255))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_EDIT, min_size=1, max_size=3))
def test_up_to_three_edits_never_give_bt601_colours(
    grace_case: tuple[bytes, np.ndarray, np.ndarray, range], edits: list[tuple[str, int, int]]
) -> None:
    """Mixed edits may change the weights in the JSON (other colours, visibly
    broken) but must never give the planes through BT.601."""
    data, right, bt601, offsets = grace_case
    placed = [(op, offsets.start + at % len(offsets), v) for op, at, v in edits]
    for reader, px in _decodes(_edited(data, placed)):
        if px is not None and px.shape == bt601.shape and not np.array_equal(px, right):
            assert np.abs(px - bt601).max() > 8, f"{reader} showed the planes as BT.601 after {placed}"

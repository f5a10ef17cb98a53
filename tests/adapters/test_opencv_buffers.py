"""grace_opencv.imdecode reads the bytes of every buffer type before the GRACE
check (issue #18, item 2): an int8 view, an mmap, an array.array, a list or a
tuple of a GRACE file used to skip the check and come back from cv2 with
BT.601 colours, up to 68 levels off."""

from __future__ import annotations

import array
import mmap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
import grace_opencv as gcv  # noqa: E402
from pillow_grace import Strategy  # noqa: E402


@pytest.fixture(scope="module")
def grace_file(make_strategy: Any) -> tuple[bytes, np.ndarray]:
    """A GRACE file with weights far from BT.601, and its uint8-buffer decode."""
    strategy: Strategy = make_strategy("buffers", weights=(0.7, 0.1, 0.2), tables="ones")
    bgr = np.random.default_rng(2).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    _ok, buf = gcv.imencode(".jpg", bgr, strategy=strategy)
    right = gcv.imdecode(buf, cv2.IMREAD_COLOR)
    assert np.abs(right.astype(int) - cv2.imdecode(buf, cv2.IMREAD_COLOR)).max() > 30  # oracle
    return buf.tobytes(), right


BUFFERS: dict[str, Callable[[bytes], Any]] = {
    "int8 view": lambda d: np.frombuffer(d, np.uint8).view(np.int8),
    "strided uint8": lambda d: np.repeat(np.frombuffer(d, np.uint8), 2)[::2],
    "uint8 column": lambda d: np.frombuffer(d, np.uint8).reshape(-1, 1),
    "int8 row": lambda d: np.frombuffer(d, np.int8).reshape(1, -1),
    "bytes": bytes,
    "bytearray": bytearray,
    "memoryview": memoryview,
    "memoryview of int8": lambda d: memoryview(d).cast("b"),
    "array.array B": lambda d: array.array("B", d),
    "array.array b": lambda d: array.array("b", d),
    "list": list,
    "tuple": tuple,
}


@pytest.mark.parametrize("kind", BUFFERS)
def test_every_buffer_type_decodes_grace_colours(grace_file: tuple[bytes, np.ndarray], kind: str) -> None:
    data, right = grace_file
    out = gcv.imdecode(BUFFERS[kind](data), cv2.IMREAD_COLOR)
    assert out is not None and np.array_equal(out, right)


def test_mmap_decodes_grace_colours(grace_file: tuple[bytes, np.ndarray], tmp_path: Path) -> None:
    data, right = grace_file
    path = tmp_path / "f.jpg"
    path.write_bytes(data)
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        out = gcv.imdecode(m, cv2.IMREAD_COLOR)
    assert out is not None and np.array_equal(out, right)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32, bool])
def test_wider_arrays_behave_as_in_cv2(grace_file: tuple[bytes, np.ndarray], dtype: Any) -> None:
    """Arrays whose items are not bytes are not the file's bytes: cv2 decides,
    and it returns None for them (never a BT.601 picture)."""
    data, _right = grace_file
    arr = np.frombuffer(data, np.uint8).astype(dtype)
    assert cv2.imdecode(arr, cv2.IMREAD_COLOR) is None
    assert gcv.imdecode(arr, cv2.IMREAD_COLOR) is None


def test_a_list_that_is_not_bytes_is_refused_clearly() -> None:
    with pytest.raises(TypeError, match=r"ints 0\.\.255"):
        gcv.imdecode([0xFF, 0xD8, 300], cv2.IMREAD_COLOR)


def test_a_2d_array_is_refused_as_cv2_refuses_it(grace_file: tuple[bytes, np.ndarray]) -> None:
    data, _right = grace_file
    square = np.frombuffer(data[: len(data) // 2 * 2], np.uint8).reshape(2, -1)
    with pytest.raises(cv2.error):
        cv2.imdecode(square, cv2.IMREAD_COLOR)
    with pytest.raises(cv2.error):
        gcv.imdecode(square, cv2.IMREAD_COLOR)

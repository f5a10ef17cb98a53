"""Regression tests for grace_opencv: damaged, truncated and big input (issue defects 1 and 5)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

cv2 = pytest.importorskip("cv2")
import grace_opencv as gcv  # noqa: E402
from pillow_grace import GraceFileError, Strategy  # noqa: E402


def tiny_bgr(w: int = 40, h: int = 24) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (h, w, 3), dtype=np.uint8)


def grace_bytes(strategy: Strategy) -> bytes:
    ok, buf = gcv.imencode(".jpg", tiny_bgr(), strategy=strategy)
    assert ok
    return buf.tobytes()


def test_damaged_app0_marker_is_never_decoded_with_bt601(strategy: Strategy) -> None:
    """Defect 1: imdecode fell back to cv2.imdecode and returned the planes as BT.601."""
    data = bytearray(grace_bytes(strategy))
    assert data[3] == 0xE0
    data[3] = 0x01
    with pytest.raises(GraceFileError):
        gcv.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_COLOR)


def test_truncated_grace_data_behaves_like_cv2(strategy: Strategy, tmp_path: Path) -> None:
    """Defect 5: OSError where cv2.imdecode returns None and cv2.imread a partial image."""
    _ok, buf = gcv.imencode(".jpg", tiny_bgr(16, 256), strategy=strategy)
    data = buf.tobytes()
    cut = data[: len(data) * 2 // 3]
    assert gcv.imdecode(np.frombuffer(cut, np.uint8), cv2.IMREAD_COLOR) is None
    path = tmp_path / "cut.jpg"
    path.write_bytes(cut)
    partial = gcv.imread(str(path))
    assert partial is not None and partial.shape == (256, 16, 3)
    full = gcv.imdecode(buf, cv2.IMREAD_COLOR)
    # rows before the cut decode as in the whole file (GRACE colours); the rest
    # is libjpeg's fill for missing data, mid-grey planes, i.e. grey 128
    assert np.array_equal(partial[:64], full[:64])
    assert (partial[-8:] == 128).all()


def test_plain_jpeg_has_no_pillow_bomb_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defect 5: plain JPEGs went through Pillow's decompression-bomb check."""
    ok, buf = cv2.imencode(".jpg", tiny_bgr(200, 200))
    assert ok
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    out = gcv.imdecode(buf, cv2.IMREAD_COLOR)
    assert out is not None and np.array_equal(out, cv2.imdecode(buf, cv2.IMREAD_COLOR))


def test_corrupt_plain_jpeg_headers_go_to_cv2() -> None:
    _ok, buf = cv2.imencode(".jpg", tiny_bgr())
    data = bytearray(buf.tobytes())
    data[3] = 0x01  # the same damage, on a file without a GRACE segment
    arr = np.frombuffer(bytes(data), np.uint8)
    expected = cv2.imdecode(arr, cv2.IMREAD_COLOR)
    got = gcv.imdecode(arr, cv2.IMREAD_COLOR)
    assert (got is None and expected is None) or np.array_equal(got, expected)


def test_oversized_frame_header_in_a_grace_file(strategy: Strategy) -> None:
    """Over cv2's 2**30 pixels: cv2.error, as cv2.imdecode raises for any file."""
    data = bytearray(grace_bytes(strategy))
    i = data.find(b"\xff\xc0")
    data[i + 5 : i + 9] = struct.pack(">HH", 65000, 65000)
    with pytest.raises(cv2.error):
        cv2.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_COLOR)
    with pytest.raises(cv2.error, match="limit"):
        gcv.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_COLOR)


def test_fuzz_imdecode_never_shows_grace_planes_as_bt601(make_strategy: Any) -> None:
    """Truncations anywhere and byte flips in APP0/APP11: the result is None,
    a GraceFileError, or the picture with its true colours; never the planes
    through BT.601 (which, with these weights, is tens of levels off)."""
    strategy = make_strategy(weights=(0.05, 0.9, 0.05), tables="ones")
    bgr = tiny_bgr(16, 16)
    data = grace_bytes_of(bgr, strategy)
    misread = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(misread.astype(int) - bgr).mean() > 10  # the oracle can tell
    end = data.find(b"\xff\xdb")  # APP0 and APP11 come before the first DQT
    rng = np.random.default_rng(11)
    cases = [data[:cut] for cut in range(1, len(data), 7)]
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            damaged[int(rng.integers(2, end))] ^= int(rng.integers(1, 256))
        cases.append(bytes(damaged))
    seen: dict[str, int] = {}
    for case in cases:
        try:
            out = gcv.imdecode(np.frombuffer(case, np.uint8), cv2.IMREAD_COLOR)
        except GraceFileError:
            kind = "GraceFileError"
        else:
            kind = "None" if out is None else "decoded"
            if out is not None:
                assert np.abs(out.astype(int) - bgr).mean() < 3, "decoded with the wrong colours"
        seen[kind] = seen.get(kind, 0) + 1
    assert seen.get("GraceFileError", 0) > 100 and seen.get("decoded", 0) > 10, seen


def grace_bytes_of(bgr: np.ndarray, strategy: Strategy) -> bytes:
    ok, buf = gcv.imencode(".jpg", bgr, strategy=strategy)
    assert ok
    return buf.tobytes()

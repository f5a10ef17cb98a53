"""grace_opencv follows cv2 where cv2's behaviour is defined (issue #18,
item 10). Each case is checked against the installed cv2 itself, so a cv2
that changes its mind shows up here; the differences that remain are listed,
with their reasons, in docs/interop.md ("OpenCV drop-in")."""

from __future__ import annotations

import contextlib
import os
import stat
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
import grace_opencv as gcv  # noqa: E402
from pillow_grace import EncodeOptionError, Strategy, UnsupportedModeError, WriteTargetError  # noqa: E402

Q = cv2.IMWRITE_JPEG_QUALITY


@pytest.fixture(scope="module")
def bgr() -> np.ndarray:
    return np.random.default_rng(4).integers(0, 256, (16, 24, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def far(make_strategy: Any) -> Strategy:
    return make_strategy("parity", weights=(0.6, 0.2, 0.2))


def _cv2_raises(fn: Any) -> bool:
    try:
        fn()
    except cv2.error:
        return True
    return False


@pytest.mark.parametrize(
    "params",
    [[Q, 50.7], [Q, True], [Q, np.float32(80.9)], [Q, False], [float(Q), 80], np.array([Q, 80.0]),
     np.array([[Q, 80]]), np.array([[Q], [80]]), [Q]],
    ids=["float", "True", "np.float32", "False", "float key", "float array", "2-D row", "2-D column", "odd"],
)
def test_params_cv2_refuses_are_refused(bgr: np.ndarray, far: Strategy, params: Any) -> None:
    assert _cv2_raises(lambda: cv2.imencode(".jpg", bgr, params))
    with pytest.raises(cv2.error) as caught:
        gcv.imencode(".jpg", bgr, params, strategy=far)
    assert isinstance(caught.value, EncodeOptionError)  # and pillow-grace's own type


@pytest.mark.parametrize("params", [(Q, 80), np.array([Q, 80]), [np.int64(Q), np.uint8(80)]])
def test_params_cv2_accepts_are_accepted(bgr: np.ndarray, far: Strategy, params: Any) -> None:
    assert cv2.imencode(".jpg", bgr, params)[0]
    assert gcv.imencode(".jpg", bgr, params, strategy=far)[1].tobytes() == _grace(bgr, far, [Q, 80])


@pytest.mark.parametrize(("asked", "same_as"), [(101, 100), (1000, 100), (-1, 0), (0, 1)])
def test_quality_out_of_range_is_clamped_as_cv2_does(
    bgr: np.ndarray, far: Strategy, asked: int, same_as: int
) -> None:
    plain = {q: cv2.imencode(".jpg", bgr, [Q, q])[1].tobytes() for q in (asked, same_as)}
    assert plain[asked] == plain[same_as]  # cv2's own rule
    with pytest.warns(RuntimeWarning) if not 0 <= asked <= 100 else contextlib.nullcontext():
        got = _grace(bgr, far, [Q, asked])
    assert got == _grace(bgr, far, [Q, same_as])


@pytest.mark.parametrize("key", [cv2.IMWRITE_JPEG_OPTIMIZE, cv2.IMWRITE_JPEG_PROGRESSIVE])
@pytest.mark.parametrize(("asked", "same_as"), [(2, 1), (5, 1), (-1, 0)])
def test_flags_out_of_range_fall_back_as_in_cv2(
    bgr: np.ndarray, far: Strategy, key: int, asked: int, same_as: int
) -> None:
    plain = {v: cv2.imencode(".jpg", bgr, [key, v])[1].tobytes() for v in (asked, same_as)}
    assert plain[asked] == plain[same_as]  # cv2's own rule
    with pytest.warns(RuntimeWarning, match="clamped"):
        got = _grace(bgr, far, [key, asked])
    assert got == _grace(bgr, far, [key, same_as])


@pytest.mark.parametrize("ext", ["jpg", "jpeg", ".jfif", ".JFIF"])
def test_extensions_cv2_has_no_encoder_for(
    bgr: np.ndarray, far: Strategy, ext: str, tmp_path: Path
) -> None:
    assert _cv2_raises(lambda: cv2.imencode(ext, bgr))
    with pytest.raises(cv2.error):
        gcv.imencode(ext, bgr)  # no strategy: cv2's own error
    with pytest.raises(cv2.error, match=r"'\.jpg'"):
        gcv.imencode(ext, bgr, strategy=far)
    if ext.startswith("."):
        path = tmp_path / f"out{ext}"
        assert _cv2_raises(lambda: cv2.imwrite(str(path), bgr))
        with pytest.raises(cv2.error):
            gcv.imwrite(path, bgr, strategy=far)
        assert not path.exists()


@pytest.mark.parametrize("ext", [".jpg", ".JPEG", ".Jpe"])
def test_jpeg_extensions_in_any_case(bgr: np.ndarray, far: Strategy, ext: str) -> None:
    assert cv2.imencode(ext, bgr)[0]
    assert gcv.imencode(ext, bgr, strategy=far)[1].tobytes() == _grace(bgr, far, None)


def test_header_over_cv2s_pixel_limit_raises_as_in_cv2(bgr: np.ndarray, far: Strategy) -> None:
    data = bytearray(_grace(bgr, far, None))
    i = data.find(b"\xff\xc0")
    data[i + 5 : i + 9] = struct.pack(">HH", 40000, 40000)  # 1.6e9 > 2**30 pixels
    arr = np.frombuffer(bytes(data), np.uint8)
    assert _cv2_raises(lambda: cv2.imdecode(arr, cv2.IMREAD_COLOR))
    with pytest.raises(cv2.error):
        gcv.imdecode(arr, cv2.IMREAD_COLOR)


def test_header_under_cv2s_limit_is_not_held_to_pillows(
    bgr: np.ndarray, far: Strategy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cv2 has no decompression-bomb limit below 2**30 pixels; Pillow's must not apply."""
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    data = _grace(bgr, far, None)
    out = gcv.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert out is not None and out.shape == bgr.shape


def test_file_cut_inside_its_headers_gives_none_as_in_cv2(
    bgr: np.ndarray, far: Strategy, tmp_path: Path
) -> None:
    data = _grace(bgr, far, None)
    app11 = data.find(b"\xff\xeb")
    for cut in (app11 + 4, app11 + 12, app11 + 40, data.find(b"\xff\xdb") + 20):
        arr = np.frombuffer(data[:cut], np.uint8)
        assert cv2.imdecode(arr, cv2.IMREAD_COLOR) is None
        assert gcv.imdecode(arr, cv2.IMREAD_COLOR) is None, cut
        path = tmp_path / "cut.jpg"
        path.write_bytes(data[:cut])
        assert cv2.imread(str(path)) is None
        assert gcv.imread(path) is None, cut


@pytest.mark.parametrize(
    ("dtype", "advice"),
    [(np.float32, r"img \* 255"), (np.float64, r"img \* 255"), (bool, "astype"), (np.uint16, "65535"),
     (np.int8, "np.clip")],
)
def test_other_depths_get_advice_for_their_type(far: Strategy, dtype: Any, advice: str) -> None:
    img = np.zeros((8, 8, 3), dtype=dtype)
    with pytest.raises(UnsupportedModeError, match=advice):
        gcv.imencode(".jpg", img, strategy=far)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_imwrite_to_a_fifo_cv2_writes_into_it_grace_refuses(
    bgr: np.ndarray, far: Strategy, tmp_path: Path
) -> None:
    """A listed difference (docs/interop.md): cv2 writes into a FIFO; grace_opencv
    writes a path all or nothing (temp file, rename), which would replace the
    FIFO with a regular file, so it refuses and names imencode."""
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a writer that opens it must not hang the test
    try:
        assert cv2.imwrite(str(fifo), bgr)
        assert os.read(reader, 1 << 16).startswith(b"\xff\xd8")
        with pytest.raises(WriteTargetError, match=r"a FIFO.*use imencode"):
            gcv.imwrite(fifo, bgr, strategy=far)
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def _grace(bgr: np.ndarray, strategy: Strategy, params: Any) -> bytes:
    ok, buf = gcv.imencode(".jpg", bgr, params, strategy=strategy)
    assert ok
    return buf.tobytes()

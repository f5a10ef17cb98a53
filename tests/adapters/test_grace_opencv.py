"""grace_opencv: cv2 conventions, parameter mapping, input checks, and
equality with the Pillow adapter (same bytes on encode, same pixels on decode)."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

cv2 = pytest.importorskip("cv2")
import grace_opencv as gcv  # noqa: E402
from pillow_grace import EncodeOptionError, Strategy, UnsupportedModeError  # noqa: E402


@pytest.fixture(scope="module")
def rgb(photo: Image.Image) -> np.ndarray:
    return np.asarray(photo.convert("RGB"))


@pytest.fixture(scope="module")
def image(rgb: np.ndarray) -> Image.Image:
    """The photo without its file metadata (a JPEG comment, EXIF...), which the
    Pillow adapter carries over and a bare array cannot have."""
    return Image.fromarray(rgb)


@pytest.fixture(scope="module")
def bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, :, ::-1])


def pillow_bytes(image: Image.Image, strategy: Strategy, **opts: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "GRACE", strategy=strategy, **opts)
    return out.getvalue()


def cv_bytes(img: np.ndarray, strategy: Strategy, params: list[int] | None = None) -> bytes:
    ok, buf = gcv.imencode(".jpg", img, params, strategy=strategy)
    assert ok is True
    return buf.tobytes()


# -- same file as the Pillow adapter --------------------------------------------
@pytest.mark.parametrize(
    ("weights", "subsampling"),
    [((0.299, 0.587, 0.114), "4:4:4"), ((0.25, 0.45, 0.30), "4:2:0"), ((0.4, 0.4, 0.2), "4:2:2"),
     ((0.05, 0.05, 0.9), "4:4:4")],
)
def test_byte_identical_to_pillow_adapter(
    image: Image.Image, bgr: np.ndarray, make_strategy: Callable[..., Strategy],
    weights: tuple[float, float, float], subsampling: str,
) -> None:
    strat = make_strategy(weights=weights, subsampling=subsampling)
    assert cv_bytes(bgr, strat) == pillow_bytes(image, strat)


def test_byte_identical_with_options(image: Image.Image, bgr: np.ndarray, strategy: Strategy) -> None:
    params = [cv2.IMWRITE_JPEG_QUALITY, 70, cv2.IMWRITE_JPEG_PROGRESSIVE, 1,
              cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
    expected = pillow_bytes(image, strategy, quality=70, progressive=True, subsampling="4:2:0")
    assert cv_bytes(bgr, strategy, params) == expected


def test_grey_byte_identical(image: Image.Image, strategy: Strategy) -> None:
    grey = image.convert("L")
    arr = np.asarray(grey)
    assert cv_bytes(arr, strategy) == pillow_bytes(grey, strategy)
    assert cv_bytes(arr[:, :, None], strategy) == pillow_bytes(grey, strategy)


def test_decode_same_pixels_as_pillow_adapter(
    image: Image.Image, make_strategy: Callable[..., Strategy]
) -> None:
    for subsampling in ("4:4:4", "4:2:0"):
        data = pillow_bytes(image, make_strategy(weights=(0.2, 0.5, 0.3), subsampling=subsampling))
        via_pillow = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        via_cv = gcv.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert via_cv.dtype == np.uint8 and via_cv.flags.writeable
        np.testing.assert_array_equal(via_cv[:, :, ::-1], via_pillow)
        np.testing.assert_array_equal(gcv.imdecode(data, cv2.IMREAD_COLOR_RGB), via_pillow)


# -- cv2 conventions ----------------------------------------------------------
def test_returns_true_and_1d_uint8_buffer_like_cv2(bgr: np.ndarray, strategy: Strategy) -> None:
    ok, buf = gcv.imencode(".JPEG", bgr, strategy=strategy)
    ref_ok, ref = cv2.imencode(".jpg", bgr)
    assert ok is True and ref_ok is True
    assert buf.ndim == ref.ndim == 1 and buf.dtype == ref.dtype == np.uint8
    assert buf.flags.writeable
    assert buf[:3].tobytes() == b"\xff\xd8\xff" and buf[-2:].tobytes() == b"\xff\xd9"


def test_non_jpeg_extension_goes_straight_to_cv2(bgr: np.ndarray) -> None:
    ok, buf = gcv.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    ok2, ref = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok and ok2 and buf.tobytes() == ref.tobytes()
    np.testing.assert_array_equal(gcv.imdecode(buf, cv2.IMREAD_COLOR), bgr)
    with pytest.raises(EncodeOptionError, match="JPEG only"):
        gcv.imencode(".png", bgr, strategy="anything")


def test_strategy_is_required_for_jpeg(bgr: np.ndarray) -> None:
    with pytest.raises(EncodeOptionError, match=r"needs a strategy.*available"):
        gcv.imencode(".jpg", bgr)
    with pytest.raises(EncodeOptionError, match="needs a strategy"):
        gcv.imwrite("/nonexistent-dir/x.jpg", bgr)


def test_plain_files_decode_exactly_as_cv2(bgr: np.ndarray) -> None:
    for ext in (".jpg", ".png"):
        _, buf = cv2.imencode(ext, bgr)
        for flags in (cv2.IMREAD_COLOR, cv2.IMREAD_GRAYSCALE, cv2.IMREAD_UNCHANGED,
                      cv2.IMREAD_REDUCED_COLOR_2):
            np.testing.assert_array_equal(gcv.imdecode(buf, flags), cv2.imdecode(buf, flags))
    assert gcv.imdecode(np.frombuffer(b"not an image", np.uint8), cv2.IMREAD_COLOR) is None
    assert gcv.imdecode(b"\xff\xd8\xff\xe0 truncated", cv2.IMREAD_COLOR) is None


@pytest.mark.parametrize(
    "flags",
    [cv2.IMREAD_COLOR, cv2.IMREAD_GRAYSCALE, cv2.IMREAD_UNCHANGED, cv2.IMREAD_ANYCOLOR,
     cv2.IMREAD_ANYDEPTH, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH, cv2.IMREAD_COLOR_RGB,
     cv2.IMREAD_REDUCED_COLOR_2, cv2.IMREAD_REDUCED_COLOR_4, cv2.IMREAD_REDUCED_GRAYSCALE_8,
     cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION],
)
def test_grace_decode_has_cv2_shapes(bgr: np.ndarray, strategy: Strategy, flags: int) -> None:
    # odd size, so that the reduced flags must round up like libjpeg
    img = np.ascontiguousarray(bgr[:237, :301])
    _, buf = gcv.imencode(".jpg", img, strategy=strategy)
    ours, plain = gcv.imdecode(buf, flags), cv2.imdecode(buf, flags)
    assert ours.shape == plain.shape and ours.dtype == plain.dtype == np.uint8
    # the plain decode reads the G-YUV planes as BT.601: close, not equal
    assert np.abs(ours.astype(int) - plain.astype(int)).mean() < 12


def test_grace_decode_grey_and_rgb_flags(bgr: np.ndarray, strategy: Strategy) -> None:
    _, buf = gcv.imencode(".jpg", bgr, strategy=strategy)
    colour = gcv.imdecode(buf, cv2.IMREAD_COLOR)
    grey = gcv.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(grey, cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY))
    np.testing.assert_array_equal(gcv.imdecode(buf, cv2.IMREAD_COLOR_RGB), colour[:, :, ::-1])
    np.testing.assert_array_equal(gcv.imdecode(buf, cv2.IMREAD_UNCHANGED), colour)
    with pytest.raises(ValueError, match="GDAL"):
        gcv.imdecode(buf, cv2.IMREAD_LOAD_GDAL)


def test_luma_only_grace_file(bgr: np.ndarray, strategy: Strategy) -> None:
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    _, buf = gcv.imencode(".jpg", grey, strategy=strategy)
    unchanged = gcv.imdecode(buf, cv2.IMREAD_UNCHANGED)
    assert unchanged.shape == grey.shape
    assert np.abs(unchanged.astype(int) - grey).mean() < 3
    colour = gcv.imdecode(buf, cv2.IMREAD_COLOR)
    assert colour.shape == (*grey.shape, 3)
    np.testing.assert_array_equal(colour[:, :, 1], unchanged)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_applied_like_cv2(image: Image.Image, strategy: Strategy, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = np.frombuffer(pillow_bytes(image.crop((0, 0, 200, 120)), strategy, exif=exif.tobytes()), np.uint8)
    ours, plain = gcv.imdecode(buf, cv2.IMREAD_COLOR), cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert ours.shape == plain.shape
    assert np.abs(ours.astype(int) - plain.astype(int)).mean() < 12  # same orientation, close colours
    raw = gcv.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    assert raw.shape == (120, 200, 3)
    rotate = {3: cv2.ROTATE_180, 6: cv2.ROTATE_90_CLOCKWISE, 8: cv2.ROTATE_90_COUNTERCLOCKWISE}[orientation]
    np.testing.assert_array_equal(ours, cv2.rotate(raw, rotate))


def test_imwrite_imread_roundtrip(tmp_path: Path, bgr: np.ndarray, strategy: Strategy) -> None:
    path = tmp_path / "frame.jpg"
    assert gcv.imwrite(path, bgr, [cv2.IMWRITE_JPEG_QUALITY, 90], strategy=strategy) is True
    _, buf = gcv.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90], strategy=strategy)
    assert path.read_bytes() == buf.tobytes()
    np.testing.assert_array_equal(gcv.imread(str(path)), gcv.imdecode(buf, cv2.IMREAD_COLOR))
    assert gcv.imread(path, cv2.IMREAD_GRAYSCALE).shape == bgr.shape[:2]
    png = tmp_path / "frame.png"
    assert gcv.imwrite(png, bgr) is True
    np.testing.assert_array_equal(gcv.imread(png), cv2.imread(str(png)))
    assert gcv.imread(tmp_path / "missing.jpg") is None


# -- parameters -------------------------------------------------------------------
def test_quality_maps_to_grace_quality(image: Image.Image, bgr: np.ndarray, strategy: Strategy) -> None:
    low = cv_bytes(bgr, strategy, [cv2.IMWRITE_JPEG_QUALITY, 20])
    high = cv_bytes(bgr, strategy, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert len(low) < len(high)
    assert low == pillow_bytes(image, strategy, quality=20)
    # as in cv2, 0 is libjpeg's 1 (cv2.imencode gives the same bytes for both)
    assert cv_bytes(bgr, strategy, [cv2.IMWRITE_JPEG_QUALITY, 0]) == pillow_bytes(image, strategy, quality=1)


def test_optimize_and_progressive_flags(bgr: np.ndarray, strategy: Strategy) -> None:
    default = cv_bytes(bgr, strategy)
    assert cv_bytes(bgr, strategy, [cv2.IMWRITE_JPEG_OPTIMIZE, 1]) == default  # GRACE optimises by default
    plain_huffman = cv_bytes(bgr, strategy, [cv2.IMWRITE_JPEG_OPTIMIZE, 0])
    assert len(plain_huffman) > len(default)
    progressive = cv_bytes(bgr, strategy, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert b"\xff\xc2" in progressive and b"\xff\xc2" not in default
    with pytest.warns(RuntimeWarning, match="clamped to 1"):  # as cv2: 2 falls back to 1
        assert cv_bytes(bgr, strategy, [cv2.IMWRITE_JPEG_OPTIMIZE, 2]) == default


@pytest.mark.parametrize(
    ("params", "message"),
    [([cv2.IMWRITE_JPEG_LUMA_QUALITY, 50], "LUMA_QUALITY"),
     ([cv2.IMWRITE_JPEG_CHROMA_QUALITY, 50], "CHROMA_QUALITY"),
     ([cv2.IMWRITE_JPEG_RST_INTERVAL, 4], "restart"),
     ([cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411], "_444, _422 or _420"),
     ([cv2.IMWRITE_PNG_COMPRESSION, 3], "not a JPEG parameter"),
     ([cv2.IMWRITE_JPEG_QUALITY], "pairs")],
)
def test_unsupported_params_raise(
    bgr: np.ndarray, strategy: Strategy, params: list[int], message: str
) -> None:
    with pytest.raises(EncodeOptionError, match=message):
        gcv.imencode(".jpg", bgr, params, strategy=strategy)


def test_params_as_numpy_array(bgr: np.ndarray, strategy: Strategy) -> None:
    params = np.array([cv2.IMWRITE_JPEG_QUALITY, 60], dtype=np.int32)
    assert cv_bytes(bgr, strategy, params) == cv_bytes(bgr, strategy, [cv2.IMWRITE_JPEG_QUALITY, 60])


# -- input checks ---------------------------------------------------------------------
def test_bgra_follows_the_rgba_policy(bgr: np.ndarray, strategy: Strategy) -> None:
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    assert cv_bytes(bgra, strategy) == cv_bytes(bgr, strategy)
    bgra[5, 7, 3] = 254
    with pytest.raises(UnsupportedModeError, match="transparent"):
        gcv.imencode(".jpg", bgra, strategy=strategy)


def test_non_contiguous_arrays_are_copied(bgr: np.ndarray, strategy: Strategy) -> None:
    for view in (bgr[:, ::-1], bgr[::2, ::3], np.asfortranarray(bgr)):
        assert not view.flags.c_contiguous
        assert cv_bytes(view, strategy) == cv_bytes(np.ascontiguousarray(view), strategy)


@pytest.mark.parametrize(
    ("img", "error", "message"),
    [(np.zeros((8, 8, 3), np.uint16), UnsupportedModeError, "uint16"),
     (np.zeros((8, 8, 3), np.float32), UnsupportedModeError, "8-bit"),
     (np.zeros((8, 8, 2), np.uint8), UnsupportedModeError, "shape"),
     (np.zeros((2, 8, 8, 3), np.uint8), UnsupportedModeError, "shape"),
     (np.zeros(64, np.uint8), UnsupportedModeError, "shape"),
     (np.zeros((0, 8, 3), np.uint8), EncodeOptionError, "empty"),
     (np.zeros((8, 0), np.uint8), EncodeOptionError, "empty"),
     ([[1, 2], [3, 4]], TypeError, "ndarray")],
)
def test_bad_arrays_raise(img: object, error: type[Exception], message: str, strategy: Strategy) -> None:
    with pytest.raises(error, match=message):
        gcv.imencode(".jpg", img, strategy=strategy)  # type: ignore[arg-type]


def test_core_path_same_bytes_and_pixels_without_cv2(tmp_path: Path) -> None:
    """The core uses cv2.transform when it can import cv2; a device without
    OpenCV writes the same bytes and decodes the same pixels."""
    code = (
        "import hashlib, io, sys\n"
        "if sys.argv[1] == 'block': sys.modules['cv2'] = None\n"
        "import numpy as np\n"
        "from PIL import Image\n"
        "import pillow_grace\n"
        "s = pillow_grace.Strategy(name='t', task='other', weights=(0.3, 0.5, 0.2),\n"
        "                          tables=((2,) * 64,) * 3)\n"
        "im = Image.fromarray(np.arange(640 * 480 * 3, dtype=np.uint8).reshape(480, 640, 3))\n"
        "b = io.BytesIO(); im.save(b, 'GRACE', strategy=s)\n"
        "px = Image.open(io.BytesIO(b.getvalue())).tobytes()\n"
        "print(hashlib.sha256(b.getvalue()).hexdigest(), hashlib.sha256(px).hexdigest(),\n"
        "      sys.modules.get('cv2') is not None)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code, mode], check=True, cwd=tmp_path, timeout=60,
                       capture_output=True, text=True).stdout.split()
        for mode in ("block", "allow")
    ]
    assert runs[0][2] == "False" and runs[1][2] == "True"
    assert runs[0][:2] == runs[1][:2]


# -- reused per-thread buffers ------------------------------------------------------
def test_buffers_reused_across_frames_and_sizes(bgr: np.ndarray, strategy: Strategy) -> None:
    frames = [bgr, np.ascontiguousarray(bgr[::-1]), np.ascontiguousarray(bgr[:100, :120]), bgr]
    expected = [pillow_bytes(Image.fromarray(np.ascontiguousarray(f[:, :, ::-1])), strategy) for f in frames]
    assert [cv_bytes(f, strategy) for f in frames] == expected
    decoded = [gcv.imdecode(e, cv2.IMREAD_COLOR) for e in expected]
    for d, e in zip(decoded, expected, strict=True):  # earlier results untouched by later decodes
        np.testing.assert_array_equal(d[:, :, ::-1], np.asarray(Image.open(io.BytesIO(e)).convert("RGB")))


def test_threads_get_their_own_buffers(bgr: np.ndarray, strategy: Strategy) -> None:
    from concurrent.futures import ThreadPoolExecutor

    frames = [np.ascontiguousarray(np.roll(bgr, 37 * k, axis=1)) for k in range(6)]
    expected = [cv_bytes(f, strategy) for f in frames]
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda f: cv_bytes(f, strategy), frames * 2))
        dec = list(pool.map(lambda b: gcv.imdecode(b, cv2.IMREAD_COLOR), expected * 2))
    assert got == expected * 2
    for d, e in zip(dec, expected * 2, strict=True):
        np.testing.assert_array_equal(d, gcv.imdecode(e, cv2.IMREAD_COLOR))

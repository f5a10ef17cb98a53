"""A GRACE file is an ordinary baseline JPEG: its markers are standard, every
plain decoder reads it (Pillow's JPEG path, cv2, libjpeg-turbo's djpeg) with
colours close to the original, and the GRACE-aware decode restores them.
Figures for the benchmark photo are in docs/interop.md (benchmarks/interop.py)."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pillow_grace import Strategy

# JPEG's zigzag order: ZIGZAG[k] is the natural (row-major) index of the k-th stored value.
# JPEG's zigzag order: ZIGZAG[k] is the natural (row-major) index of the k-th stored value.
from pillow_grace.core import colour
from pillow_grace.core.tables import jpeg_reference_tables

# JPEG's zigzag order: ZIGZAG[k] is the natural (row-major) index of the k-th stored value.
ZIGZAG = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
          20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58,
          59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63]
SAMPLING = {"4:4:4": (0x11, 0x11, 0x11), "4:2:2": (0x21, 0x11, 0x11), "4:2:0": (0x22, 0x11, 0x11)}
G_YUV = [(0.25, 0.45, 0.30), (0.2, 0.5, 0.3), (0.4, 0.4, 0.2)]


def segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) for every segment up to and including the first SOS,
    then every marker segment between scans (progressive files), then EOI."""
    assert data[:2] == b"\xff\xd8", "no SOI"
    out: list[tuple[int, bytes]] = [(0xD8, b"")]
    i = 2
    while i < len(data):
        assert data[i] == 0xFF, f"expected a marker at byte {i}"
        marker = data[i + 1]
        if marker == 0xD9:
            out.append((0xD9, b""))
            assert i + 2 == len(data), "data after EOI"
            return out
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        payload = data[i + 4 : i + 2 + length]
        out.append((marker, payload))
        i += 2 + length
        if marker == 0xDA:  # entropy-coded data: skip to the next real marker
            while not (data[i] == 0xFF and data[i + 1] not in (0x00, *range(0xD0, 0xD8))):
                i += 1
    raise AssertionError("no EOI")


def grace_bytes(image: Image.Image, strategy: Strategy, **opts: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "GRACE", strategy=strategy, **opts)
    return out.getvalue()


def plain_pillow(data: bytes) -> np.ndarray:
    im = Image.open(io.BytesIO(data), formats=["JPEG"])
    assert im.format == "JPEG"
    return np.asarray(im.convert("RGB"))


def aware(data: bytes) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    assert im.format == "GRACE"
    return np.asarray(im.convert("RGB"))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def image(photo: Image.Image) -> Image.Image:
    return Image.fromarray(np.asarray(photo.convert("RGB")))


# -- markers -------------------------------------------------------------------------
@pytest.mark.parametrize(("subsampling", "progressive"), [("4:4:4", False), ("4:2:0", False),
                                                          ("4:2:2", False), ("4:4:4", True)])
def test_file_is_a_standard_jfif(image: Image.Image, make_strategy: Callable[..., Strategy],
                                 subsampling: str, progressive: bool) -> None:
    strat = make_strategy(weights=(0.25, 0.45, 0.30), subsampling=subsampling)
    segs = segments(grace_bytes(image, strat, progressive=progressive))
    markers = [m for m, _ in segs]
    assert markers[0] == 0xD8 and markers[-1] == 0xD9
    assert segs[1][0] == 0xE0 and segs[1][1].startswith(b"JFIF\x00")  # APP0 JFIF right after SOI
    app11 = [p for m, p in segs if m == 0xEB]
    assert len(app11) == 1 and app11[0].startswith(b"GRACE\x00")
    sof = 0xC2 if progressive else 0xC0
    assert [m for m in markers if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC)] == [sof]
    first_sos = markers.index(0xDA)
    assert markers.index(0xEB) < markers.index(sof) < first_sos
    assert 0xC4 in markers  # DHT
    if not progressive:
        assert markers.count(0xDA) == 1 and markers.index(0xC4) < first_sos
    # DQT: 8-bit precision, the strategy's tables in zigzag order
    tables: dict[int, list[int]] = {}
    for m, p in segs:
        if m == 0xDB:
            j = 0
            while j < len(p):
                pq, tq = p[j] >> 4, p[j] & 15
                assert pq == 0, "16-bit quantization table: not baseline"
                tables[tq] = list(p[j + 1 : j + 65])
                j += 65
    # SOF: 8-bit samples, 3 components with the expected sampling and tables
    frame = next(p for m, p in segs if m == sof)
    precision, height, width, ncomp = struct.unpack(">BHHB", frame[:6])
    assert (precision, width, height, ncomp) == (8, image.width, image.height, 3)
    comps = [frame[6 + 3 * k : 9 + 3 * k] for k in range(3)]
    assert tuple(c[1] for c in comps) == SAMPLING[subsampling]
    for c, table in zip(comps, strat.tables, strict=True):
        stored = tables[c[2]]
        assert [stored[k] for k in np.argsort(ZIGZAG)] == list(table)


def test_luma_only_file_has_one_component(image: Image.Image, strategy: Strategy) -> None:
    segs = segments(grace_bytes(image.convert("L"), strategy))
    frame = next(p for m, p in segs if m == 0xC0)
    assert frame[5] == 1


# -- plain decoders -----------------------------------------------------------------
def test_plain_decoders_agree(image: Image.Image, make_strategy: Callable[..., Strategy]) -> None:
    cv2 = pytest.importorskip("cv2")
    data = grace_bytes(image, make_strategy(weights=(0.2, 0.5, 0.3)))
    via_pillow = plain_pillow(data)
    via_cv2 = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    assert np.abs(via_pillow.astype(int) - via_cv2).max() <= 1


@pytest.mark.interop
def test_djpeg_reads_it(tmp_path: Path, image: Image.Image, make_strategy: Callable[..., Strategy]) -> None:
    exe = shutil.which("djpeg")
    if exe is None:
        pytest.skip("djpeg not installed (Debian package libjpeg-turbo-progs)")
    for progressive in (False, True):
        data = grace_bytes(image, make_strategy(weights=(0.4, 0.4, 0.2)), progressive=progressive)
        src = tmp_path / "in.jpg"
        src.write_bytes(data)
        run = subprocess.run([exe, "-pnm", str(src)], check=True, capture_output=True, timeout=60)
        assert not run.stderr, run.stderr  # libjpeg warnings (corrupt data...) go to stderr
        decoded = np.asarray(Image.open(io.BytesIO(run.stdout)).convert("RGB"))
        assert decoded.shape == (image.height, image.width, 3)
        assert np.abs(decoded.astype(int) - plain_pillow(data)).max() <= 1


def test_bt601_weights_behave_like_a_normal_jpeg(
    image: Image.Image, make_strategy: Callable[..., Strategy]
) -> None:
    tables = jpeg_reference_tables(90).astype(int).tolist()
    data = grace_bytes(image, make_strategy(weights=colour.BT601, tables=tables))
    normal = io.BytesIO()
    image.save(normal, "JPEG", qtables=[list(t) for t in tables[:2]], subsampling=0, optimize=True)
    original = np.asarray(image)
    plain = plain_pillow(data)
    assert np.abs(plain.astype(int) - aware(data)).max() <= 1  # 10-bit vs libjpeg's 16-bit colour maths
    assert abs(psnr(plain, original) - psnr(plain_pillow(normal.getvalue()), original)) < 0.1
    assert abs(len(data) - len(normal.getvalue())) < 0.01 * len(data)


def misread(rgb: np.ndarray, weights: tuple[float, float, float]) -> np.ndarray:
    """What a plain decoder shows for a lossless GRACE file: G-YUV planes read as BT.601."""
    bt601_inverse = np.linalg.inv(colour.forward_matrix(colour.BT601)[:, :3])
    planes = colour.reference_transform(rgb, colour.forward_fixed(weights)).astype(np.float64)
    return np.clip(np.rint((planes - [0, 128, 128]) @ bt601_inverse.T), 0, 255)


@pytest.mark.parametrize("weights", G_YUV)
def test_plain_decode_stays_close(image: Image.Image, make_strategy: Callable[..., Strategy],
                                  weights: tuple[float, float, float]) -> None:
    tables = jpeg_reference_tables(90).astype(int).tolist()
    data = grace_bytes(image, make_strategy(weights=weights, tables=tables))
    normal = io.BytesIO()
    image.save(normal, "JPEG", qtables=[list(t) for t in tables[:2]], subsampling=0, optimize=True)
    original = np.asarray(image)
    jpeg_psnr = psnr(plain_pillow(normal.getvalue()), original)
    plain, exact = plain_pillow(data), aware(data)
    # a plain decoder reads G-YUV as BT.601: a colour shift, which is all it gets wrong
    # (docs/interop.md has the figures for a photo: 29-33 dB for these weights) ...
    assert psnr(plain, original) > 20
    assert psnr(plain, misread(original, weights)) > jpeg_psnr - 1.5
    # ... and which the GRACE-aware decode removes
    assert psnr(exact, original) > psnr(plain, original) + 3


@pytest.mark.parametrize("weights", [colour.BT601, *G_YUV, (0.1, 0.8, 0.1)])
def test_aware_decode_restores_rgb(image: Image.Image, make_strategy: Callable[..., Strategy],
                                   weights: tuple[float, float, float]) -> None:
    original = np.asarray(image)
    # all-2 tables (all-ones files of noisy images overflow Pillow's optimize
    # buffer): what is left is colour rounding plus a little quantization
    decoded = aware(grace_bytes(image, make_strategy(weights=weights, tables=((2,) * 64,) * 3)))
    err = np.abs(decoded.astype(int) - original)
    assert err.max() <= 8 and err.mean() < 1.0
    # with real tables it is as good as a normal JPEG with the same tables
    tables = jpeg_reference_tables(90).astype(int).tolist()
    normal = io.BytesIO()
    image.save(normal, "JPEG", qtables=[list(t) for t in tables[:2]], subsampling=0, optimize=True)
    exact = aware(grace_bytes(image, make_strategy(weights=weights, tables=tables)))
    assert psnr(exact, original) > psnr(plain_pillow(normal.getvalue()), original) - 0.6

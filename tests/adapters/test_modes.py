"""Every Pillow mode: a documented exact conversion, or a clear UnsupportedModeError."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pillow_grace
from pillow_grace import EncodeOptionError, GraceError, Strategy, UnsupportedModeError
from tests.support import jpegmarkers as jm

#: With all-ones tables and weights (0.3, 0.5, 0.2) the round trip is within this
#: many levels (docs/usage.md, "Decode accuracy").
TOLERANCE = 6


@pytest.fixture(scope="module")
def ones(make_strategy: Any) -> Strategy:
    return make_strategy("ones", tables="ones")


@pytest.fixture(scope="module")
def rgb(photo: Image.Image) -> Image.Image:
    return photo.resize((48, 32))


def roundtrip(image: Image.Image, strategy: Strategy) -> tuple[Image.Image, int]:
    buf = io.BytesIO()
    image.save(buf, "GRACE", strategy=strategy)
    components = len(jm.frame(buf.getvalue())[1]["components"])
    out = Image.open(io.BytesIO(buf.getvalue()))
    out.load()
    assert out.format == "GRACE"
    return out, components


def close(a: Image.Image, b: Image.Image) -> bool:
    diff = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16))
    return bool(diff.max() <= TOLERANCE)


def with_alpha(image: Image.Image, mode: str, transparent: bool) -> Image.Image:
    alpha = Image.new("L", image.size, 255)
    if transparent:
        alpha.putpixel((3, 3), 0)
    base = image.convert("RGB" if mode.startswith("RGB") else "L")
    im = base.copy()
    im.putalpha(alpha)  # RGBA or LA
    return im if mode in ("RGBA", "LA") else im.convert(mode)


def test_rgb(rgb: Image.Image, ones: Strategy) -> None:
    out, n = roundtrip(rgb, ones)
    assert (out.mode, n) == ("RGB", 3) and close(out, rgb)


@pytest.mark.parametrize("mode", ["L", "1"])
def test_grey_modes_store_luma_only(rgb: Image.Image, ones: Strategy, mode: str) -> None:
    src = rgb.convert(mode)
    out, n = roundtrip(src, ones)
    assert (out.mode, n) == ("L", 1) and close(out, src.convert("L"))


def test_palette_is_expanded(rgb: Image.Image, ones: Strategy) -> None:
    src = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    out, n = roundtrip(src, ones)
    assert (out.mode, n) == ("RGB", 3) and close(out, src.convert("RGB"))


@pytest.mark.parametrize("mode", ["RGBA", "RGBa", "LA", "La", "PA"])
def test_opaque_alpha_is_dropped_exactly(rgb: Image.Image, ones: Strategy, mode: str) -> None:
    src = with_alpha(rgb, "RGBA" if mode == "PA" else mode, transparent=False)
    if mode == "PA":
        src = src.convert("PA")
    out, n = roundtrip(src, ones)
    grey = mode in ("LA", "La")
    assert (out.mode, n) == (("L", 1) if grey else ("RGB", 3))
    expected = rgb.convert("L") if grey else rgb  # alpha is 255 everywhere
    if mode == "PA":
        expected = src.convert("RGB")
    assert close(out, expected)


@pytest.mark.parametrize("mode", ["RGBA", "RGBa", "LA", "La", "PA"])
def test_transparency_is_refused(rgb: Image.Image, ones: Strategy, mode: str, tmp_path: Path) -> None:
    src = with_alpha(rgb, "RGBA" if mode == "PA" else mode, transparent=True)
    if mode == "PA":
        src = src.convert("PA")
    target = tmp_path / "t.jpg"
    with pytest.raises(UnsupportedModeError, match=f"mode {mode} with transparent pixels.*composite"):
        src.save(target, "GRACE", strategy=ones)
    assert not target.exists()


def test_palette_transparency(rgb: Image.Image, ones: Strategy) -> None:
    src = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    used = src.getpixel((0, 0))
    unused = next(i for i in range(256) if i not in set(np.asarray(src).reshape(-1).tolist()))
    src.info["transparency"] = unused  # declared but no pixel uses it: still opaque
    out, _n = roundtrip(src, ones)
    assert close(out, src.convert("RGB"))
    src.info["transparency"] = used
    with pytest.raises(UnsupportedModeError, match="transparent pixels"):
        roundtrip(src, ones)


@pytest.mark.parametrize("mode", ["RGB", "L", "1"])
def test_colour_key_transparency_follows_the_palette_rule(
    rgb: Image.Image, ones: Strategy, mode: str, tmp_path: Path
) -> None:
    """A tRNS colour key (``info["transparency"]``, as Pillow reads it from a
    PNG) makes the pixels of that colour transparent: refused where a pixel
    has it, as for a palette entry, never silently written opaque."""
    src = rgb.convert(mode)
    used = src.getpixel((3, 3))
    free = (1, 2, 3) if mode == "RGB" else None
    if mode == "L":
        free = next(v for v in range(256) if v not in set(np.asarray(src).reshape(-1).tolist()))
    if free is not None:  # declared but no pixel has it: opaque, written as without the key
        src.info["transparency"] = free
        out, _n = roundtrip(src, ones)
        plain = src.copy()
        plain.info.pop("transparency")
        assert np.array_equal(np.asarray(out), np.asarray(roundtrip(plain, ones)[0]))
    src.info["transparency"] = used
    target = tmp_path / "keyed.jpg"
    with pytest.raises(UnsupportedModeError, match=r"colour key.*info.pop\('transparency'\)"):
        pillow_grace.check_encode(src, ones)
    with pytest.raises(UnsupportedModeError, match="transparent colour key"):
        pillow_grace.encode(src, target, ones)
    assert not target.exists()
    src.info.pop("transparency")  # what the message says to do when the key is not wanted
    pillow_grace.encode(src, target, ones)
    assert target.stat().st_size > 0


def test_colour_key_read_from_a_png_is_refused(rgb: Image.Image, ones: Strategy, tmp_path: Path) -> None:
    path = tmp_path / "keyed.png"
    rgb.save(path, transparency=rgb.getpixel((0, 0)))
    with Image.open(path) as im:
        assert im.info["transparency"] == rgb.getpixel((0, 0))
        with pytest.raises(UnsupportedModeError, match="transparent colour key"):
            im.save(io.BytesIO(), "GRACE", strategy=ones)


@pytest.mark.parametrize("mode", ["RGBX", "YCbCr"])
def test_modes_converted_to_rgb(rgb: Image.Image, ones: Strategy, mode: str) -> None:
    src = rgb.convert(mode)
    out, n = roundtrip(src, ones)
    assert (out.mode, n) == ("RGB", 3) and close(out, src.convert("RGB"))


@pytest.mark.parametrize(
    ("mode", "hint"),
    [
        ("CMYK", "ImageCms"),
        ("I;16", "8-bit samples"),
        ("I;16L", "8-bit samples"),
        ("I;16B", "8-bit samples"),
        ("I;16N", "8-bit samples"),
        ("I", "8-bit samples"),
        ("F", "8-bit samples"),
        ("LAB", "convert it to RGB or L"),
        ("HSV", "convert it to RGB or L"),
    ],
)
def test_refused_modes_explain_the_fix(ones: Strategy, mode: str, hint: str, tmp_path: Path) -> None:
    target = tmp_path / "x.jpg"
    with pytest.raises(UnsupportedModeError, match=hint) as e:
        Image.new(mode, (16, 16)).save(target, "GRACE", strategy=ones)
    assert isinstance(e.value, OSError) and isinstance(e.value, GraceError)
    assert f"mode {mode}" in str(e.value)
    assert not target.exists()


def test_the_suggested_16_bit_conversion_works(ones: Strategy) -> None:
    deep = Image.fromarray(np.arange(0, 65536, 64, dtype=np.uint16).reshape(32, 32))
    assert deep.mode.startswith("I;16")
    eight = Image.fromarray((np.asarray(deep) >> 8).astype("uint8"))
    out, n = roundtrip(eight, ones)
    assert n == 1 and close(out, eight)


@pytest.mark.parametrize("size", [(0, 0), (0, 10), (10, 0)])
def test_empty_image_is_refused(ones: Strategy, size: tuple[int, int]) -> None:
    with pytest.raises(EncodeOptionError, match="empty image"):
        Image.new("RGB", size).save(io.BytesIO(), "GRACE", strategy=ones)


def test_odd_sizes_and_tiny_images(ones: Strategy, photo: Image.Image) -> None:
    for size in [(1, 1), (1, 17), (17, 1), (9, 7), (63, 65)]:
        src = photo.resize(size)
        out, _n = roundtrip(src, ones)
        assert out.size == size and close(out, src)

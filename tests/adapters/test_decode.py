"""Pillow decode: GRACE files open with exact colours; every other JPEG exactly as before."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFile, JpegImagePlugin, MpoImagePlugin

from pillow_grace import GraceImageFile, Strategy
from pillow_grace.core import colour
from pillow_grace.core.colour import BT601
from pillow_grace.core.metadata import IDENTIFIER
from tests.support import jpegmarkers as jm

sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))
from measure_decode_bound import amplification, bound

EXTREME_WEIGHTS = [
    BT601,
    (1 / 3, 1 / 3, 1 / 3),
    (0.05, 0.05, 0.9),
    (0.9, 0.05, 0.05),
    (0.05, 0.9, 0.05),
    (0.475, 0.05, 0.475),
]


def grace_bytes(image: Image.Image, strategy: Strategy, **options: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "GRACE", strategy=strategy, **options)
    return buf.getvalue()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


@pytest.fixture(scope="module")
def small(photo: Image.Image) -> Image.Image:
    return photo.crop((64, 64, 64 + 200, 64 + 152))


@pytest.fixture(scope="module")
def skewed(make_strategy: Any) -> Strategy:
    """Far from BT.601, so a decode with the wrong weights shows."""
    return make_strategy("skewed", weights=(0.05, 0.15, 0.8), tables="ones")


@pytest.mark.parametrize("weights", EXTREME_WEIGHTS, ids=lambda w: "-".join(f"{x:.2f}" for x in w))
def test_exact_rgb_within_the_stated_bound(
    photos: list[Image.Image], make_strategy: Any, weights: Any
) -> None:
    """docs/usage.md "Decode accuracy": all-ones tables, max |error| <= 1.6 A(w) + 0.5."""
    s = make_strategy("bound", weights=weights, tables="ones")
    worst, total, count = 0, 0.0, 0
    for im in photos:
        with Image.open(io.BytesIO(grace_bytes(im, s))) as out:
            assert out.format == "GRACE" and out.mode == "RGB"
            err = np.abs(pixels(out) - pixels(im))
        worst = max(worst, int(err.max()))
        total += float(err.sum())
        count += err.size
    assert worst <= bound(weights), (worst, bound(weights))
    assert total / count <= 0.25 * amplification(weights)


def test_weights_come_from_the_file(small: Image.Image, skewed: Strategy) -> None:
    data = grace_bytes(small, skewed)
    with Image.open(io.BytesIO(data)) as im:
        assert im.info["grace"] == {
            "strategy": "skewed", "hash": skewed.content_hash, "weights": skewed.weights, "version": "1.0"
        }
        exact = pixels(im)
    with Image.open(io.BytesIO(data)) as raw:
        raw.draft("YCbCr", None)
        planes = raw.convert("YCbCr")  # loads the stored planes untouched
    assert np.array_equal(exact, pixels(colour.planes_to_rgb(planes, skewed.weights)))
    # Rewrite the segment with other (valid) weights: the decode follows them.
    seg = jm.find(data, 0xFFEB)[0]
    other = json.loads(seg.payload[8:])
    other["weights"] = [0.3, 0.4, 0.3]
    patched = jm.replace_segment(data, seg, seg.payload[:8] + json.dumps(other).encode())
    with Image.open(io.BytesIO(patched)) as im:
        assert np.array_equal(pixels(im), pixels(colour.planes_to_rgb(planes, (0.3, 0.4, 0.3))))


def test_plain_decoders_see_shifted_colours(small: Image.Image, skewed: Strategy) -> None:
    """formats=["JPEG"] bypasses GRACE: Pillow's BT.601 decode, the class and format of a JPEG."""
    data = grace_bytes(small, skewed)
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as plain:
        assert type(plain) is JpegImagePlugin.JpegImageFile and plain.format == "JPEG"
        plain_err = np.abs(pixels(plain) - pixels(small)).mean()
    with Image.open(io.BytesIO(data)) as grace:
        assert isinstance(grace, GraceImageFile) and grace.format == "GRACE"
        assert grace.get_format_mimetype() == "image/jpeg"
        grace_err = np.abs(pixels(grace) - pixels(small)).mean()
    assert plain_err > 10 * grace_err


def jpeg_variants(photo: Image.Image) -> dict[str, bytes]:
    def enc(im: Image.Image, **kw: Any) -> bytes:
        buf = io.BytesIO()
        im.save(buf, "JPEG", **kw)
        return buf.getvalue()

    small = photo.crop((0, 0, 96, 64))
    exif = Image.Exif()
    exif[0x010F] = "camera"
    exif[0x013B] = "GRACE"  # Artist: the word alone does not make a file GRACE
    jumbf = b"\xff\xeb\x00\x0cJP\x00\x01\x00\x00\x00\x01"  # a foreign APP11 (JPEG XT / JUMBF)
    data = enc(small)
    return {
        "rgb": data,
        "grey": enc(small.convert("L")),
        "cmyk": enc(small.convert("CMYK")),
        "progressive": enc(small, progressive=True, quality=80),
        "420-exif-comment": enc(small, subsampling=2, exif=exif, comment=b"GRACE\x00", dpi=(72, 72)),
        "foreign-app11": data[:2] + jumbf + data[2:],
    }


def describe(im: Image.Image) -> tuple[str, str, str, tuple[int, int], str, str]:
    info = {k: v for k, v in im.info.items() if k != "exif"}
    return (type(im).__name__, str(im.format), im.mode, im.size,
            hashlib.sha256(im.tobytes()).hexdigest(), repr(sorted(info.items())))


def test_ordinary_jpegs_open_exactly_as_before(photo: Image.Image, tmp_path: Path) -> None:
    """Same class, pixels and info as Pillow's JPEG plugin, in this process and in one
    that never imported pillow_grace."""
    variants = jpeg_variants(photo)
    here = {}
    for name, data in variants.items():
        with Image.open(io.BytesIO(data)) as im, Image.open(io.BytesIO(data), formats=["JPEG"]) as ref:
            assert type(im) is JpegImagePlugin.JpegImageFile and im.format == "JPEG"
            assert describe(im) == describe(ref), name
            assert im.info.get("exif") == ref.info.get("exif")
            assert im.applist == ref.applist and im.quantization == ref.quantization
            here[name] = describe(im)
        (tmp_path / f"{name}.jpg").write_bytes(data)
    script = (
        "import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom test_decode_helper import run\n"
        "print(json.dumps(run(sys.argv[2])))\n"
    )
    helper = tmp_path / "test_decode_helper.py"
    helper.write_text(
        "import hashlib, pathlib\nfrom PIL import Image\n"
        "def run(d):\n"
        "    import sys\n"
        "    assert 'pillow_grace' not in sys.modules\n"
        "    out = {}\n"
        "    for p in sorted(pathlib.Path(d).glob('*.jpg')):\n"
        "        im = Image.open(p)\n"
        "        info = {k: v for k, v in im.info.items() if k != 'exif'}\n"
        "        out[p.stem] = [type(im).__name__, str(im.format), im.mode, list(im.size),\n"
        "                       hashlib.sha256(im.tobytes()).hexdigest(), repr(sorted(info.items()))]\n"
        "    return out\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "pillow_grace" not in run.stderr
    without = json.loads(run.stdout)
    for name, desc in here.items():
        assert without[name] == [desc[0], desc[1], desc[2], list(desc[3]), desc[4], desc[5]], name


def test_mpo_still_opens_as_mpo(photo: Image.Image) -> None:
    left, right = photo.crop((0, 0, 64, 48)), photo.crop((64, 0, 128, 48))
    buf = io.BytesIO()
    left.save(buf, "MPO", save_all=True, append_images=[right])
    with Image.open(buf) as im:
        assert isinstance(im, MpoImagePlugin.MpoImageFile) and im.format == "MPO" and im.n_frames == 2
        im.seek(1)
        assert np.abs(pixels(im.convert("RGB")) - pixels(right)).mean() < 8


def test_path_bytesio_and_file_object(small: Image.Image, skewed: Strategy, tmp_path: Path) -> None:
    data = grace_bytes(small, skewed)
    path = tmp_path / "g.jpg"
    path.write_bytes(data)
    with Image.open(io.BytesIO(data)) as ref:
        expect = pixels(ref)
    with Image.open(path) as a, Image.open(str(path)) as b, open(path, "rb") as f, Image.open(f) as c:
        for im in (a, b, c):
            assert im.format == "GRACE" and np.array_equal(pixels(im), expect)


def test_draft_scaling_and_raw_planes(photo: Image.Image, skewed: Strategy) -> None:
    data = grace_bytes(photo, skewed)
    w, h = photo.size
    with Image.open(io.BytesIO(data)) as im:
        mode, box = im.draft("RGB", (w // 4, h // 4))
        assert (mode, im.size, box) == ("RGB", (w // 4, h // 4), (0, 0, w / 4, h / 4))
        assert im.draft("RGB", (w // 8, h // 8)) is None  # like JPEG: only the first draft counts
        scaled = pixels(im)
    reference = pixels(photo.reduce(4))
    assert np.abs(scaled - reference).mean() < 4  # right colours, DCT-scaled
    with Image.open(io.BytesIO(data)) as im:
        assert im.draft("YCbCr", None)[0] == "YCbCr"
        assert im.mode == "YCbCr"
        planes = pixels(im)
    expected_planes = pixels(colour.rgb_to_planes(photo, skewed.weights))
    assert np.abs(planes - expected_planes).max() <= 2
    with Image.open(io.BytesIO(data)) as im:
        assert im.draft("L", (w // 2, h // 2))[0] == "L"
        assert im.size == (w // 2, h // 2)
        luma = pixels(im)
    assert np.abs(luma - expected_planes[::2, ::2, 0]).mean() < 6


def test_thumbnail_copy_and_convert(photo: Image.Image, skewed: Strategy) -> None:
    data = grace_bytes(photo, skewed)
    with Image.open(io.BytesIO(data)) as im:
        im.thumbnail((128, 128))
        assert max(im.size) == 128 and im.mode == "RGB"
        thumb = pixels(im)
    reference = pixels(photo.resize(im.size, Image.Resampling.BICUBIC))
    assert np.abs(thumb - reference).mean() < 6
    with Image.open(io.BytesIO(data)) as im:
        copied = im.copy()
        assert np.array_equal(pixels(copied), pixels(im))
        assert np.array_equal(pixels(im.convert("L")), pixels(copied.convert("L")))
        assert np.array_equal(pixels(im.convert("RGB")), pixels(copied))
        assert copied.info["grace"]["strategy"] == "skewed"


def test_pickle_round_trip(small: Image.Image, skewed: Strategy) -> None:
    with Image.open(io.BytesIO(grace_bytes(small, skewed))) as im:
        expect = pixels(im)
        clone = pickle.loads(pickle.dumps(im))
    assert isinstance(clone, GraceImageFile) and clone.format == "GRACE"
    assert clone.info["grace"]["weights"] == skewed.weights
    assert np.array_equal(pixels(clone), expect)
    with Image.open(io.BytesIO(grace_bytes(small, skewed))) as unloaded:
        assert np.array_equal(pixels(pickle.loads(pickle.dumps(unloaded))), expect)


def test_truncated_file_never_shows_planes_as_rgb(photo: Image.Image, skewed: Strategy,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    data = grace_bytes(photo, skewed, optimize=False)
    with Image.open(io.BytesIO(data)) as full:
        expect = pixels(full)
    cut = data[: len(data) * 2 // 3]
    im = Image.open(io.BytesIO(cut))
    assert im.format == "GRACE"
    for access in (im.load, lambda: im.getpixel((0, 0)), im.tobytes, lambda: im.convert("L")):
        with pytest.raises(OSError, match="truncated"):
            access()  # every way to the pixels fails; none shows G-YUV planes as RGB
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with Image.open(io.BytesIO(cut)) as im:
        assert np.abs(pixels(im)[:100] - expect[:100]).max() <= 1


def test_reencoding_a_grace_image(small: Image.Image, skewed: Strategy, make_strategy: Any) -> None:
    other = make_strategy("other", weights=(0.3, 0.4, 0.3), tables="ones")
    with Image.open(io.BytesIO(grace_bytes(small, skewed))) as im:
        again = grace_bytes(im, other)
        first = pixels(im)
    with Image.open(io.BytesIO(again)) as im2:
        assert im2.info["grace"]["strategy"] == "other"
        assert np.abs(pixels(im2) - first).max() <= bound(other.weights)


def test_formats_grace_alone_does_not_filter_plain_jpegs(photo: Image.Image) -> None:
    """Documented: the GRACE opener is Pillow's JPEG parser plus a check."""
    buf = io.BytesIO()
    photo.crop((0, 0, 32, 32)).save(buf, "JPEG")
    with Image.open(buf, formats=["GRACE"]) as im:
        assert im.format == "JPEG"


def test_luma_grace_file_and_header_only_open(small: Image.Image, skewed: Strategy) -> None:
    data = grace_bytes(small.convert("L"), skewed)
    with Image.open(io.BytesIO(data)) as im:
        assert (im.format, im.mode) == ("GRACE", "L")
        assert im.info["grace"]["weights"] == skewed.weights
        assert np.abs(pixels(im) - pixels(small.convert("L"))).max() <= 2
    # Opening reads headers only; the segment is found before any pixel data.
    assert IDENTIFIER in data[: jm.header_end(data)]

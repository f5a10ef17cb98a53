"""Pillow encode: img.save(..., "GRACE", strategy=...) and its options."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms

import pillow_grace
from pillow_grace import EncodeOptionError, Strategy
from pillow_grace.core import codec, tables
from pillow_grace.core.metadata import IDENTIFIER
from pillow_grace.core.strategy import Allocation
from tests.support import jpegmarkers as jm

SOF0, SOF2, APP0, APP11 = 0xFFC0, 0xFFC2, 0xFFE0, 0xFFEB


def save(image: Image.Image, **options: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "GRACE", **options)
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def small(photo: Image.Image) -> Image.Image:
    return photo.crop((0, 0, 160, 120))


@pytest.fixture(scope="module")
def ramp_tables() -> tuple[tuple[int, ...], ...]:
    """Asymmetric tables: transposing or zigzag-confusing them would show."""
    return tuple(tuple(min(255, 1 + c * 3 + i) for i in range(64)) for c in range(3))


def test_strategy_by_name_path_or_object_gives_the_same_file(
    small: Image.Image, make_strategy: Any, isolated_registry: Path
) -> None:
    s = make_strategy("named")
    path = isolated_registry / "named.json"
    s.save(path)
    by_object = save(small, strategy=s)
    assert save(small, strategy="named") == by_object
    assert save(small, strategy=path) == by_object
    assert save(small, strategy=str(path)) == by_object
    buf = io.BytesIO()
    pillow_grace.encode(small, buf, s)
    assert buf.getvalue() == by_object
    assert save(small, strategy=s) == by_object  # deterministic


def test_file_structure_markers(small: Image.Image, strategy: Strategy) -> None:
    data = save(small, strategy=strategy)
    segs = jm.segments(data)
    assert segs[0].marker == 0xFFD8 and data.endswith(b"\xff\xd9")
    assert segs[1].marker == APP0 and segs[1].payload.startswith(b"JFIF\x00")
    sof, info = jm.frame(data)
    assert sof == SOF0 and info["precision"] == 8
    assert (info["width"], info["height"]) == small.size
    assert strategy.tables[1] == strategy.tables[2]  # U and V share a table: written once, as JPEG does
    assert [c[3] for c in info["components"]] == [0, 1, 1] and sorted(jm.dqt_tables(data)) == [0, 1]
    app11 = jm.find(data, APP11)
    assert len(app11) == 1 and app11[0].payload.startswith(IDENTIFIER + b"\x01\x00")
    meta = json.loads(app11[0].payload[len(IDENTIFIER) + 2 :])
    assert meta == {
        "strategy": strategy.name, "hash": strategy.content_hash, "weights": list(strategy.weights)
    }
    assert all(prec == 8 for prec, _t in jm.dqt_tables(data).values())


def test_own_tables_are_written_exactly(small: Image.Image, make_strategy: Any, ramp_tables: Any) -> None:
    s = make_strategy("ramp", tables=ramp_tables)
    data = save(small, strategy=s)
    written = jm.dqt_tables(data)
    assert [written[i] for i in range(3)] == [(8, list(t)) for t in ramp_tables]
    assert [c[3] for c in jm.frame(data)[1]["components"]] == [0, 1, 2]  # Y, U, V use tables 0, 1, 2
    with Image.open(io.BytesIO(data)) as im:
        # Pillow's .quantization is in natural order (it un-zigzags DQT), like strategy tables.
        assert [im.quantization[i] for i in range(3)] == [list(t) for t in ramp_tables]


def test_luma_image_uses_only_the_y_table(small: Image.Image, make_strategy: Any, ramp_tables: Any) -> None:
    data = save(small.convert("L"), strategy=make_strategy("ramp", tables=ramp_tables))
    _sof, info = jm.frame(data)
    assert len(info["components"]) == 1
    assert jm.dqt_tables(data) == {0: (8, list(ramp_tables[0]))}
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "GRACE" and im.mode == "L"


def test_quality_and_tradeoff_rederive_tables(small: Image.Image, strategy: Strategy) -> None:
    for q in (10, 50, 90):
        expect = tables.derive_tables(
            strategy.perception,  # type: ignore[arg-type]
            "lagrangian",
            tables.quality_to_parameter("lagrangian", q, strategy.perception),  # type: ignore[arg-type]
        )
        assert jm.component_tables(save(small, strategy=strategy, quality=q)) == [list(t) for t in expect]
    lam = 3.5e5
    expect = tables.derive_tables(strategy.perception, "lagrangian", lam)  # type: ignore[arg-type]
    assert jm.component_tables(save(small, strategy=strategy, tradeoff=lam)) == [list(t) for t in expect]
    assert codec.tables_for(strategy, tradeoff=lam) == expect


def test_paper_allocation_strategy_uses_its_own_method(small: Image.Image, make_strategy: Any) -> None:
    s = make_strategy("paper", allocation=Allocation("paper", 1e-3), tables="ones")
    b = 5e-2
    expect = tables.derive_tables(s.perception, "paper", b)
    assert jm.component_tables(save(small, strategy=s, tradeoff=b)) == [list(t) for t in expect]


def test_quality_is_monotone_in_size_and_fidelity(photo: Image.Image, strategy: Strategy) -> None:
    """Higher quality: strictly larger files and strictly smaller error vs the original."""
    original = np.asarray(photo, dtype=np.float64)
    sizes, errors = [], []
    for q in (5, 20, 35, 50, 65, 80, 95, 100):
        data = save(photo, strategy=strategy, quality=q)
        sizes.append(len(data))
        errors.append(float(((decode(data) - original) ** 2).mean()))
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes), sizes
    assert errors == sorted(errors, reverse=True) and len(set(errors)) == len(errors), errors


def test_quality_needs_a_perception_model(small: Image.Image, make_strategy: Any) -> None:
    s = make_strategy("bare", tables="ones", perception=None)
    save(small, strategy=s)  # own tables: fine
    with pytest.raises(EncodeOptionError, match="no perception model"):
        save(small, strategy=s, quality=50)


@pytest.mark.parametrize("quality", [0, 101, -1, 50.5, True, "high", "keep", "web_high"])
def test_bad_quality_is_refused(small: Image.Image, strategy: Strategy, quality: Any) -> None:
    with pytest.raises(EncodeOptionError, match=r"quality must be an integer in 1\.\.100"):
        save(small, strategy=strategy, quality=quality)


@pytest.mark.parametrize("tradeoff", [0, -1.0, float("nan"), float("inf"), 1e31, True, "1e5"])
def test_bad_tradeoff_is_refused(small: Image.Image, strategy: Strategy, tradeoff: Any) -> None:
    with pytest.raises(EncodeOptionError, match="tradeoff must be"):
        save(small, strategy=strategy, tradeoff=tradeoff)


def test_quality_and_tradeoff_are_exclusive(small: Image.Image, strategy: Strategy) -> None:
    with pytest.raises(EncodeOptionError, match="not both"):
        save(small, strategy=strategy, quality=50, tradeoff=1e5)


def test_subsampling(small: Image.Image, make_strategy: Any) -> None:
    def sampling(data: bytes) -> list[tuple[int, int]]:
        return [(h, v) for _id, h, v, _tq in jm.frame(data)[1]["components"]]

    s444, s420 = make_strategy("a"), make_strategy("b", subsampling="4:2:0")
    assert sampling(save(small, strategy=s444)) == [(1, 1)] * 3  # the default, as in the paper
    assert sampling(save(small, strategy=s420)) == [(2, 2), (1, 1), (1, 1)]  # the strategy's own
    assert sampling(save(small, strategy=s420, subsampling="4:4:4")) == [(1, 1)] * 3  # option wins
    assert sampling(save(small, strategy=s444, subsampling="4:2:2")) == [(2, 1), (1, 1), (1, 1)]
    assert sampling(save(small, strategy=s444, subsampling=2)) == [(2, 2), (1, 1), (1, 1)]  # Pillow's ints
    with pytest.raises(EncodeOptionError, match="subsampling must be one of"):
        save(small, strategy=s444, subsampling="4:1:1")


def test_optimize_is_on_by_default(photo: Image.Image, strategy: Strategy) -> None:
    default, optimized = save(photo, strategy=strategy), save(photo, strategy=strategy, optimize=True)
    plain = save(photo, strategy=strategy, optimize=False)
    assert default == optimized and len(plain) > len(default)
    assert np.array_equal(decode(plain), decode(default))


def test_progressive(small: Image.Image, strategy: Strategy) -> None:
    base = save(small, strategy=strategy)
    prog = save(small, strategy=strategy, progressive=True)
    assert jm.frame(base)[0] == SOF0 and jm.frame(prog)[0] == SOF2
    assert jm.frame(save(small, strategy=strategy, progression=True))[0] == SOF2  # Pillow's old spelling
    assert np.array_equal(decode(base), decode(prog))
    with Image.open(io.BytesIO(prog)) as im:
        assert im.format == "GRACE" and im.info.get("progressive") == 1


def test_metadata_options_round_trip(small: Image.Image, strategy: Strategy) -> None:
    exif = Image.Exif()
    exif[0x010F] = "GRACE test camera"  # Make
    exif[0x0131] = "pillow-grace"  # Software
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><grace/></x:xmpmeta>'
    data = save(small, strategy=strategy, exif=exif, icc_profile=icc, comment="frame 17", xmp=xmp,
                dpi=(300, 300))
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "GRACE"
        assert im.getexif()[0x010F] == "GRACE test camera" and im.getexif()[0x0131] == "pillow-grace"
        assert im.info["icc_profile"] == icc
        assert im.info["comment"] == b"frame 17"
        assert im.info["xmp"] == xmp
        assert im.info["dpi"] == (300, 300)
    assert save(small, strategy=strategy, exif=exif.tobytes()) == save(small, strategy=strategy, exif=exif)


def test_exif_is_not_copied_implicitly_but_comment_is(small: Image.Image, strategy: Strategy) -> None:
    """As Pillow's JPEG writer: exif only when given; a read image keeps its comment."""
    src = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "camera"
    small.save(src, "JPEG", exif=exif, comment=b"hello")
    with Image.open(src) as im:
        data = save(im, strategy=strategy)
    with Image.open(io.BytesIO(data)) as out:
        assert "exif" not in out.info and out.info["comment"] == b"hello"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"comment": b"x" * 70000}, "comment is 70000 bytes"),
        ({"exif": b"x" * 70000}, "exif is 70000 bytes"),
        ({"exif": 5}, "exif must be bytes"),
        ({"icc_profile": 1.5}, "icc_profile must be bytes"),
        ({"dpi": (0, 72)}, "dpi must be"),
        ({"dpi": 72}, "dpi must be"),
        ({"optimize": "yes"}, "optimize must be True or False"),
        ({"progressive": 2}, "progressive must be True or False"),
    ],
)
def test_bad_option_values(
    small: Image.Image, strategy: Strategy, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(EncodeOptionError, match=match):
        save(small, strategy=strategy, **options)


def test_missing_strategy_lists_the_available_ones(
    small: Image.Image, make_strategy: Any, isolated_registry: Path
) -> None:
    make_strategy("listed-one").save(isolated_registry / "listed-one.json")
    with pytest.raises(EncodeOptionError, match=r"needs a strategy.*available: .*listed-one"):
        save(small)
    with pytest.raises(pillow_grace.StrategyNotFoundError, match=r"available: .*listed-one"):
        save(small, strategy="not-there")
    with pytest.raises(EncodeOptionError, match="strategy must be a name"):
        pillow_grace.encode(small, io.BytesIO(), 3.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "match"),
    [
        ("qtables", "the strategy decides the tables"),
        ("keep_rgb", "never RGB"),
        ("streamtype", "complete JPEG"),
        ("smooth", "filter the image"),
        ("restart_marker_rows", "restart markers"),
        ("qualty", "unknown option 'qualty'.*supported: .*quality"),
    ],
)
def test_unknown_and_unsupported_options_are_refused(
    small: Image.Image, strategy: Strategy, option: str, match: str
) -> None:
    with pytest.raises(EncodeOptionError, match=match):
        save(small, strategy=strategy, **{option: [[1] * 64]})


def test_no_file_is_left_behind_on_error(small: Image.Image, strategy: Strategy, tmp_path: Path) -> None:
    target = tmp_path / "out.jpg"
    with pytest.raises(EncodeOptionError):
        small.save(target, "GRACE", strategy=strategy, quality=0)
    assert not target.exists()
    small.save(target, "GRACE", strategy=strategy)
    with Image.open(target) as im:
        assert im.format == "GRACE"
    plain = tmp_path / "plain.jpg"
    small.save(plain)  # the .jpg extension still means Pillow's JPEG writer
    with Image.open(plain) as im:
        assert im.format == "JPEG"


def test_encode_and_decode_never_import_torch_or_cv2(tmp_path: Path) -> None:
    """A device has neither: block both, then encode (with re-derived tables) and decode."""
    script = f"""
import sys
sys.modules["torch"] = None
sys.modules["cv2"] = None
import io
from PIL import Image
import pillow_grace as g
sys.path.insert(0, {str(Path(__file__).parents[1])!r})
from conftest import synthetic_perception, synthetic_photo
s = g.Strategy(name="dev", task="other", weights=(0.3, 0.5, 0.2), tables=((1,) * 64,) * 3,
               perception=synthetic_perception())
im = synthetic_photo(64, 48)
buf = io.BytesIO()
im.save(buf, "GRACE", strategy=s, quality=70)
im.save(io.BytesIO(), "GRACE", strategy=s, tradeoff=2e5)
out = Image.open(io.BytesIO(buf.getvalue()))
out.load()
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in ("torch", "cv2", "scipy", "onnx") and sys.modules[m])
print(out.format, heavy)
"""
    env = {**os.environ, "GRACE_STRATEGY_PATH": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "GRACE []"


def _fallback(make_strategy: Any, weights: tuple[float, float, float] = (0.299, 0.587, 0.114)) -> Strategy:
    """A fitter's fallback: libjpeg's standard tables at quality 75 and BT.601 colour."""
    ref = tuple(tuple(int(v) for v in t) for t in tables.jpeg_reference_tables(75))
    return make_strategy("plain-fallback", weights=weights, tables=ref, perception=None,
                         allocation=Allocation("reference", 75, 75))


def test_a_fallback_writes_exactly_standard_jpeg(small: Image.Image, make_strategy: Any) -> None:
    """Where the fit fell back to standard JPEG, the file is standard JPEG: no GRACE
    segment to pay for (about 155 bytes, 1-2 % of a 224x224 frame)."""
    fallback = _fallback(make_strategy)
    data = save(small, strategy=fallback)
    assert not jm.find(data, APP11)
    plain = io.BytesIO()  # standard JPEG: libjpeg's quality-75 tables, V sharing U's
    small.save(plain, "JPEG", quality=75, subsampling=0, optimize=True)
    assert data == plain.getvalue()
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG"
    kept = save(small, strategy=fallback, metadata=True)
    (segment,) = jm.find(kept, APP11)
    assert segment.payload.startswith(IDENTIFIER) and len(kept) == len(data) + 4 + len(segment.payload)
    with Image.open(io.BytesIO(kept)) as im:
        assert im.format == "GRACE"


def test_metadata_false_only_where_a_decoder_does_not_need_the_weights(
    small: Image.Image, make_strategy: Any, strategy: Strategy
) -> None:
    bt601 = make_strategy("bt601-own-tables", weights=(0.299, 0.587, 0.114))
    assert jm.find(save(small, strategy=bt601), APP11)  # fitted tables: the segment by default
    assert not jm.find(save(small, strategy=bt601, metadata=False), APP11)
    with pytest.raises(EncodeOptionError, match=r"metadata=False needs BT\.601 weights.*keep metadata=True"):
        save(small, strategy=strategy, metadata=False)
    with pytest.raises(EncodeOptionError, match=r"metadata=False needs BT\.601"):
        pillow_grace.check_encode(small, _fallback(make_strategy, (0.3, 0.5, 0.2)), metadata=False)
    with pytest.raises(EncodeOptionError, match="metadata must be True or False"):
        save(small, strategy=strategy, metadata="no")
    # A fallback with other weights (hand-made) still needs its segment.
    assert jm.find(save(small, strategy=_fallback(make_strategy, (0.3, 0.5, 0.2))), APP11)

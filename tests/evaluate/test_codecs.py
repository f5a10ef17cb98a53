"""Codec settings: GRACE grid entries, real files, rate matching."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from pillow_grace.core.strategy import Allocation
from pillow_grace.core.tables import jpeg_reference_tables, quality_to_parameter
from pillow_grace.evaluate.codecs import (
    BASELINE_QUALITIES,
    FAMILIES,
    QUICK_BASELINE_QUALITIES,
    GraceCodec,
    JpegCodec,
    SmartJpegCodec,
    WebPCodec,
    ZeroedJpegCodec,
    build_codecs,
    invisible_bins,
    jpeg_subsampling,
    parse_grace_setting,
    rate_matched_tradeoffs,
)
from tests.support.benchkit import hand_strategy, synthetic_photo


def test_grace_grid_entries() -> None:
    assert parse_grace_setting(50) == (50, None)
    assert parse_grace_setting("80") == (80, None)
    assert parse_grace_setting("own") == (None, None)
    assert parse_grace_setting("100x4") == (100, 4.0)
    for bad in ("100x0.5", "x4", "101", "high"):
        with pytest.raises(ValueError, match="GRACE"):
            parse_grace_setting(bad)


def test_beyond_100_is_a_larger_tradeoff_and_more_bytes() -> None:
    s = hand_strategy()
    frame = synthetic_photo(0, (160, 120))
    q100, x8 = GraceCodec(s, 100), GraceCodec(s, 100, beyond=8.0)
    assert x8.describe()["tradeoff"] == pytest.approx(
        8 * quality_to_parameter("lagrangian", 100, s.perception)
    )
    assert len(x8.encode(frame)) >= len(q100.encode(frame))  # equal once every step is 1
    assert x8.setting == "q100x8" and x8.key != q100.key
    decoded = x8.decode(x8.encode(frame))
    assert decoded.size == frame.size and decoded.mode == "RGB"


def test_baselines_write_what_they_claim() -> None:
    frame = synthetic_photo(1, (160, 120))
    assert jpeg_subsampling(JpegCodec(80, "4:2:0").encode(frame)) == "4:2:0"
    assert jpeg_subsampling(JpegCodec(80, "4:4:4").encode(frame)) == "4:4:4"
    with Image.open(io.BytesIO(WebPCodec(60).encode(frame))) as im:
        assert im.format == "WEBP"


def test_build_codecs_grid_and_notes() -> None:
    no_perception = hand_strategy(perception=None)
    codecs, notes = build_codecs(
        [("grace", no_perception)],
        families=("grace", "jpeg-420", "smart-jpeg-420"),
        grace_qualities=(50, 90),
        baseline_qualities=(30, 90),
    )
    assert [(c.curve, c.setting) for c in codecs] == [
        ("grace", "own tables"),
        ("jpeg-420", "q30"),
        ("jpeg-420", "q90"),
    ]
    assert any("no perception model" in n for n in notes)
    assert not any(c.curve == "smart-jpeg-420" for c in codecs)  # no device resize given
    with pytest.raises(ValueError, match="unknown codec families"):
        build_codecs([], families=("avif",))


@pytest.mark.parametrize("method", ["lagrangian", "paper"])
def test_rate_matching_hits_the_target_sizes(method: str) -> None:
    base = hand_strategy()
    s = hand_strategy(allocation=Allocation(method, quality_to_parameter(method, 75, base.perception), 75))
    frames = [synthetic_photo(i, (96, 64)) for i in range(2)]
    pixels = sum(f.size[0] * f.size[1] for f in frames)

    def bpp(q: int) -> float:
        return sum(8 * len(GraceCodec(s, q).encode(f)) for f in frames) / pixels

    # Targets inside what this allocation can reach (the paper's cannot go very low).
    lo, hi = bpp(30), bpp(100)
    assert lo < hi
    targets = [lo + 0.3 * (hi - lo), lo + 0.7 * (hi - lo)]
    params = rate_matched_tradeoffs(s, frames, targets)
    for t, target in zip(params, targets, strict=True):
        got = sum(8 * len(GraceCodec(s, tradeoff=t).encode(f)) for f in frames) / pixels
        assert got == pytest.approx(target, rel=0.15)


def test_detailed_frame_at_quality_100_444_encodes() -> None:
    # Pillow's optimize=True buffer guess (2 bytes/pixel at q >= 95) is too small for this.
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
    data = JpegCodec(100, "4:4:4").encode(noise)
    assert len(data) > 2 * 256 * 256
    assert JpegCodec(100, "4:4:4").decode(data).size == (256, 256)


def _shrink(size: tuple[int, int]) -> tuple[Fraction, Fraction]:
    """A model that resizes any frame to 40x30 (stretching): per-axis factors."""
    return Fraction(size[1], 30), Fraction(size[0], 40)


def test_cutoff_rule_known_answers() -> None:
    u, v = np.mgrid[0:8, 0:8]
    # f = 4: Nyquist 1/8 cycle/pixel = bin 2 (2/16); bins 3..7 on either axis are invisible.
    assert np.array_equal(invisible_bins(4), (u >= 3) | (v >= 3))
    assert not invisible_bins(1).any() and not invisible_bins(0.5).any()
    assert np.array_equal(invisible_bins(8), (u >= 2) | (v >= 2))  # bin 1 sits at Nyquist: kept
    assert invisible_bins(9).sum() == 63 and not invisible_bins(9)[0, 0]  # only DC survives
    assert not invisible_bins(8 / 7).any() and invisible_bins(Fraction(8, 7) + Fraction(1, 1000))[7, 0]
    # Per axis: u (rows) follows the vertical factor, v (columns) the horizontal one.
    assert np.array_equal(invisible_bins(2, 4), (u >= 5) | (v >= 3))
    # EfficientNet-Lite0 at 1280x720: its 630x630 centre crop goes to 224x224.
    assert np.array_equal(invisible_bins(Fraction(630, 224)), (u >= 3) | (v >= 3))


def test_zeroed_jpeg_writes_the_standard_tables_with_invisible_bins_at_255() -> None:
    frame = synthetic_photo(2, (160, 120))  # 4 x 4 against the 40x30 model input
    codec = ZeroedJpegCodec(75, _shrink)
    data = codec.encode(frame)
    mask = invisible_bins(4).reshape(-1)
    ref = jpeg_reference_tables(75)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and im.size == frame.size
        assert jpeg_subsampling(data) == "4:4:4"
        q = {k: np.asarray(t) for k, t in im.quantization.items()}  # natural order
        im.load()
    assert sorted(q) == [0, 1]
    for table, base in ((q[0], ref[0]), (q[1], ref[1])):
        assert np.all(table[mask] == 255)
        assert np.array_equal(table[~mask], base[~mask])
    assert np.array_equal(codec.tables(frame.size), np.stack([q[0], q[1]]))
    # Fewer bytes than JPEG 4:4:4 at the same quality; decodes as an ordinary JPEG.
    assert len(data) < len(JpegCodec(75, "4:4:4").encode(frame))
    assert codec.decode(data).size == frame.size and codec.key == "jpeg-zeroed/q75"


def test_zeroed_jpeg_without_a_resize_is_plain_jpeg_444() -> None:
    frame = synthetic_photo(3, (40, 30))  # the model's own input size: f = 1
    for q in (30, 90, 100):
        assert ZeroedJpegCodec(q, _shrink).encode(frame) == JpegCodec(q, "4:4:4").encode(frame)


def test_smart_jpeg_444_sends_the_small_image_in_444() -> None:
    frame = synthetic_photo(4, (160, 120))
    small = SmartJpegCodec(80, lambda im: im.resize((40, 30)), "4:4:4")
    assert small.curve == "smart-jpeg-444" and small.model_input
    data = small.encode(frame)
    assert jpeg_subsampling(data) == "4:4:4" and small.decode(data).size == (40, 30)
    assert small.describe()["subsampling"] == "4:4:4"


def test_new_baselines_sweep_the_same_qualities_as_jpeg_up_to_100() -> None:
    assert {"smart-jpeg-420", "smart-jpeg-444", "jpeg-zeroed"} <= set(FAMILIES)
    for grid in (QUICK_BASELINE_QUALITIES, BASELINE_QUALITIES):
        assert grid[-1] == 100
        codecs, _ = build_codecs(
            [],
            families=("jpeg-444", "smart-jpeg-420", "smart-jpeg-444", "jpeg-zeroed"),
            baseline_qualities=grid,
            device_resize=lambda im: im.resize((40, 30)),
            resize_factors=_shrink,
        )
        by_curve: dict[str, list[int | None]] = {}
        for c in codecs:
            by_curve.setdefault(c.curve, []).append(c.quality)
        assert by_curve == {
            f: list(grid) for f in ("jpeg-444", "smart-jpeg-420", "smart-jpeg-444", "jpeg-zeroed")
        }
    # Without the model's geometry the smart and zeroed families are left out (the job says why).
    codecs, _ = build_codecs([], families=("smart-jpeg-444", "jpeg-zeroed"), baseline_qualities=(50,))
    assert codecs == []

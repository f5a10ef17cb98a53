"""Codec settings: GRACE grid entries, real files, rate matching."""

from __future__ import annotations

import io

import numpy as np
import pytest
from benchkit import hand_strategy, synthetic_photo
from PIL import Image

from pillow_grace.bench.codecs import (
    GraceCodec,
    JpegCodec,
    WebPCodec,
    build_codecs,
    jpeg_subsampling,
    parse_grace_setting,
    rate_matched_tradeoffs,
)
from pillow_grace.strategy import Allocation
from pillow_grace.tables import quality_to_parameter


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

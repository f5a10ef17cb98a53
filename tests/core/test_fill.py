"""roi_map=True and BackgroundFill: the block map written with an ROI file, and
the receiver that completes background blocks from earlier frames."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import pillow_grace
from pillow_grace import BackgroundFill, GraceFileError
from pillow_grace.core import roimap

W, H = 160, 96  # whole MCUs: every block can be background


def scene(seed: int = 0) -> np.ndarray:
    """A textured still scene: detail a DC-only background loses."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W]
    base = 120 + 50 * np.sin(x / 3.0) * np.cos(y / 4.0) + 20 * np.sin((x + y) / 2.0)
    rgb = np.stack([base, base * 0.9 + 10, base * 0.7 + 30], axis=-1) + rng.normal(0, 1, (H, W, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def roi_box() -> list[tuple[int, int, int, int]]:
    return [(0, 0, 48, 32)]  # the top-left corner is the ROI; the rest is background


def save(a: np.ndarray, strategy: Any, **options: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "GRACE", strategy=strategy, quality=75, **options)
    return buf.getvalue()


def plain_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), np.float64)


def segments(data: bytes) -> list[tuple[str, bytes]]:
    with Image.open(io.BytesIO(data)) as im:
        return list(im.applist)


@pytest.fixture
def strategy(make_strategy):
    return make_strategy(subsampling="4:4:4")


# -- the map segment -------------------------------------------------------------
def test_the_map_is_written_only_when_asked_and_only_with_a_coarsened_block(strategy) -> None:
    a = scene()
    assert roimap.find(segments(save(a, strategy, roi=roi_box(), background="dc"))) is None
    full = [(0, 0, W, H)]
    assert save(a, strategy, roi=full, roi_map=True) == save(a, strategy)
    found = roimap.find(segments(save(a, strategy, roi=roi_box(), background="dc", roi_map=True)))
    assert found is not None
    assert found.mcu == (8, 8) and found.groups == ((1, 1),)
    expect = np.ones((H // 8, W // 8), np.uint8)
    expect[:4, :6] = 0
    np.testing.assert_array_equal(found.codes, expect)


def test_the_map_changes_no_pixel(make_strategy) -> None:
    strategy = make_strategy(subsampling="4:2:0")
    a = scene()
    without = save(a, strategy, roi=roi_box(), background="low:2")
    with_map = save(a, strategy, roi=roi_box(), background="low:2", roi_map=True)
    assert len(with_map) > len(without)
    np.testing.assert_array_equal(plain_decode(with_map), plain_decode(without))
    found = roimap.find(segments(with_map))
    assert found is not None and found.mcu == (16, 16) and found.groups == ((3, 1),)


def test_every_encoder_writes_the_same_mapped_file(strategy, tmp_path) -> None:
    cv2 = pytest.importorskip("cv2")
    import grace_opencv

    a = scene()
    via_pillow = save(a, strategy, roi=roi_box(), background="dc", roi_map=True)
    out = tmp_path / "f.jpg"
    pillow_grace.encode(Image.fromarray(a), out, strategy, quality=75, roi=roi_box(), background="dc",
                        roi_map=True)
    assert out.read_bytes() == via_pillow
    bgr = cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
    _, buf = grace_opencv.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 75], strategy=strategy,
                                   roi=roi_box(), background="dc", roi_map=True)
    assert buf.tobytes() == via_pillow


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 40), cols=st.integers(1, 40), n=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       mcu=st.sampled_from([(8, 8), (16, 16), (16, 8)]))
def test_a_map_reads_back_as_written(rows: int, cols: int, n: int, seed: int, mcu: tuple[int, int]) -> None:
    rng = np.random.default_rng(seed)
    groups = tuple((int(rng.integers(1, 65)), int(rng.integers(1, 65))) for _ in range(n))
    written = roimap.RoiMap(mcu, rng.integers(0, n + 1, (rows, cols)).astype(np.uint8), groups)
    segment = written.to_segment()
    assert struct.unpack(">H", segment[:2])[0] == 0xFFEB
    read = roimap.parse_payload(segment[4:])
    assert read is not None and read.mcu == mcu and read.groups == groups
    np.testing.assert_array_equal(read.codes, written.codes)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_a_damaged_map_raises_only_grace_file_error(tail: bytes) -> None:
    try:
        roimap.parse_payload(roimap.IDENTIFIER + tail)
    except GraceFileError:
        pass


def _payload(head: tuple[int, ...], groups: bytes, codes: bytes) -> bytes:
    return roimap.IDENTIFIER + struct.pack(">BBBBHHB", *head) + groups + codes


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (_payload((1, 0, 8, 8, 4, 2, 1), b"\x01\x01", zlib.compress(bytes(9))), "9 codes for 4x2"),
        (_payload((1, 0, 8, 8, 2, 2, 1), b"\x01\x01", zlib.compress(bytes(10**6))), "codes for 2x2"),
        (_payload((1, 0, 8, 8, 2, 2, 1), b"\x01\x01", zlib.compress(bytes([0, 1, 2, 0]))), "code 2 with 1"),
        (_payload((1, 0, 8, 8, 2, 2, 1), b"\x00\x01", zlib.compress(bytes(4))), "out of range"),
        (_payload((1, 0, 12, 8, 2, 2, 1), b"\x01\x01", zlib.compress(bytes(4))), "MCU 12x8"),
        (_payload((2, 0, 8, 8, 2, 2, 1), b"\x01\x01", zlib.compress(bytes(4))), "version 2.0"),
        (_payload((1, 0, 8, 8, 2, 2, 1), b"\x01\x01", b"not zlib"), "corrupt"),
    ],
)
def test_a_corrupt_map_is_named(payload: bytes, words: str) -> None:
    with pytest.raises(GraceFileError, match=words):
        roimap.parse_payload(payload)


def test_other_app11_payloads_are_not_maps() -> None:
    assert roimap.parse_payload(b"JP\x00\x00jumbf") is None
    assert roimap.find([("APP1", roimap.IDENTIFIER + b"\x01\x00")]) is None


# -- the receiver -----------------------------------------------------------------
def test_a_still_background_is_completed_from_the_last_full_frame(strategy) -> None:
    a, b = scene(0), scene(1)  # the same scene, fresh sensor noise
    fill = BackgroundFill()
    first = fill.decode(save(a, strategy))  # a refresh: no map, becomes the reference
    np.testing.assert_array_equal(np.asarray(first, np.float64), plain_decode(save(a, strategy)))
    coarse = save(b, strategy, roi=roi_box(), background="dc", roi_map=True)
    completed = np.asarray(fill.decode(coarse), np.float64)
    truth = b.astype(np.float64)
    as_sent = plain_decode(coarse)
    background = np.ones((H, W), bool)
    background[:32, :48] = False
    err_sent = np.abs(as_sent - truth)[background].mean()
    err_filled = np.abs(completed - truth)[background].mean()
    assert fill.filled_share > 0.9
    assert err_filled < err_sent / 3
    np.testing.assert_array_equal(completed[~background], as_sent[~background])  # the ROI is as sent


def test_a_block_whose_content_changed_is_not_filled(strategy) -> None:
    a, b = scene(0), scene(1)
    a[48:80, 96:144] = (250, 250, 250)  # an object in the reference, gone from the new frame
    fill = BackgroundFill()
    fill.decode(save(a, strategy))
    coarse = save(b, strategy, roi=roi_box(), background="dc", roi_map=True)
    completed = np.asarray(fill.decode(coarse), np.float64)
    gone = (slice(48, 80), slice(96, 144))
    np.testing.assert_array_equal(completed[gone], plain_decode(coarse)[gone])  # no ghost of it
    assert 0.5 < fill.filled_share < 1


def test_without_a_reference_frames_are_shown_as_sent(strategy) -> None:
    coarse = save(scene(), strategy, roi=roi_box(), background="dc", roi_map=True)
    fill = BackgroundFill()
    np.testing.assert_array_equal(np.asarray(fill.decode(coarse), np.float64), plain_decode(coarse))
    assert fill.filled_share == 0
    fill.decode(save(scene(), strategy))
    fill.reset()
    np.testing.assert_array_equal(np.asarray(fill.decode(coarse), np.float64), plain_decode(coarse))


def test_a_frame_of_another_size_starts_afresh(strategy) -> None:
    fill = BackgroundFill()
    fill.decode(save(scene()[:64], strategy))
    coarse = save(scene(1), strategy, roi=roi_box(), background="dc", roi_map=True)
    np.testing.assert_array_equal(np.asarray(fill.decode(coarse), np.float64), plain_decode(coarse))


def test_a_map_for_another_geometry_is_refused(strategy) -> None:
    a = scene()
    coarse = save(a, strategy, roi=roi_box(), background="dc", roi_map=True)
    wrong = roimap.RoiMap((8, 8), np.ones((3, 3), np.uint8), ((1, 1),)).to_segment()
    found = roimap.find(segments(coarse))
    assert found is not None
    start = coarse.index(roimap.IDENTIFIER) - 4
    length = struct.unpack(">H", coarse[start + 2 : start + 4])[0]
    swapped = coarse[:start] + wrong + coarse[start + 2 + length :]
    fill = BackgroundFill()
    fill.decode(save(a, strategy))
    with pytest.raises(GraceFileError, match="3x3 MCUs"):
        fill.decode(swapped)


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), "2", True])
def test_a_bad_tolerance_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        BackgroundFill(value)


def test_grace_fill_command(tmp_path, strategy, capsys) -> None:
    from pillow_grace.cli import main

    frames = tmp_path / "in"
    frames.mkdir()
    (frames / "f0.jpg").write_bytes(save(scene(0), strategy))
    (frames / "f1.jpg").write_bytes(save(scene(1), strategy, roi=roi_box(), background="dc", roi_map=True))
    assert main(["fill", str(frames), "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f0.png", "f1.png"]
    assert "2 frames to" in (said := capsys.readouterr().out) and "1 carried an ROI map" in said
    assert main(["fill", str(tmp_path / "out"), "--out", str(tmp_path / "x")]) == 2


def test_a_numpy_tolerance_is_a_number() -> None:
    assert BackgroundFill(np.float32(1.5)).tolerance == 1.5


@pytest.mark.parametrize(("subsampling", "background"),
                         [("4:4:4", "low:5"), ("4:2:0", "low:5"), ("4:2:0", "dc")])
def test_a_still_scene_stays_completed_frame_after_frame(make_strategy, subsampling, background) -> None:
    """The reference is each block as last sent in full: filling never feeds a frame's own
    decoding error back into it, so a still scene does not drift over a long run."""
    strategy = make_strategy(subsampling=subsampling)
    fill = BackgroundFill()
    fill.decode(save(scene(0), strategy))
    background_px = np.ones((H, W), bool)
    background_px[:32, :48] = False
    errors, sent = [], []
    for t in range(1, 25):
        frame = scene(t)
        data = save(frame, strategy, roi=roi_box(), background=background, roi_map=True)
        completed = np.asarray(fill.decode(data), np.float64)
        errors.append(np.abs(completed - frame)[background_px].mean())
        sent.append(np.abs(plain_decode(data) - frame)[background_px].mean())
    assert max(errors) < 1.1 * min(errors)
    assert max(errors) < min(sent)


def test_two_maps_in_one_file_are_damage(strategy) -> None:
    coarse = save(scene(), strategy, roi=roi_box(), background="dc", roi_map=True)
    found = roimap.find(segments(coarse))
    assert found is not None
    doubled = coarse[:2] + found.to_segment() + coarse[2:]
    with pytest.raises(GraceFileError, match="2 GRACE ROI map segments"):
        BackgroundFill().decode(doubled)


def test_bytes_after_the_codes_are_damage() -> None:
    good = roimap.RoiMap((8, 8), np.zeros((2, 2), np.uint8), ((1, 1),)).to_segment()[4:]
    with pytest.raises(GraceFileError, match="corrupt"):
        roimap.parse_payload(good + b"\x00")


def test_a_map_too_large_for_a_segment_names_the_option(strategy, monkeypatch) -> None:
    # A noisy per-8x8 weight map of a 4K frame takes ~100 KB, past a segment's 65533 bytes;
    # the same path, on a small frame, with the segment's limit lowered.
    monkeypatch.setattr(roimap, "MAX_PAYLOAD", 30)
    with pytest.raises(pillow_grace.EncodeOptionError, match="roi_map: the ROI map takes"):
        save(scene(), strategy, roi=roi_box(), background="dc", roi_map=True)
    assert save(scene(), strategy, roi=roi_box(), background="dc")  # without the map it writes


@pytest.mark.parametrize(("keep", "step"), [(0, 1.0), (65, 1.0), (1, 100.0), (1, 0.5), (True, 1.0)])
def test_a_background_out_of_range_is_refused(keep: Any, step: Any) -> None:
    from pillow_grace.core.roi import Background

    with pytest.raises(pillow_grace.EncodeOptionError, match="Background"):
        Background(keep, step)


def test_coarse_blocks_are_not_counted_as_filled(strategy) -> None:
    fill = BackgroundFill()
    fill.decode(save(scene(0), strategy))
    fill.decode(save(scene(1), strategy, roi=roi_box(), background="coarse:4", roi_map=True))
    assert fill.mapped and fill.filled_share == 0


@pytest.mark.parametrize("value", [None, 0.0, "", "yes"])
def test_every_encoder_refuses_a_roi_map_that_is_not_a_flag(strategy, value: Any) -> None:
    cv2 = pytest.importorskip("cv2")
    import grace_opencv

    a = scene()
    with pytest.raises(pillow_grace.EncodeOptionError, match="roi_map"):
        save(a, strategy, roi_map=value)
    with pytest.raises(pillow_grace.EncodeOptionError, match="roi_map"):
        grace_opencv.imencode(".jpg", cv2.cvtColor(a, cv2.COLOR_RGB2BGR), strategy=strategy, roi_map=value)

"""The colour step works on numpy buffers that are Pillow's own pixel memory
(pillow_grace.core._pixels): decoded images that own a numpy buffer, a
zero-copy view of the caller's image, strip-wise conversion in place. These
tests check that none of it changes a pixel or lets two images share memory."""

from __future__ import annotations

import gc
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import pillow_grace
from pillow_grace import Strategy
from pillow_grace.core import _pixels, colour

cv2 = pytest.importorskip("cv2")

WEIGHTS = (0.25, 0.45, 0.30)


def random_rgb(w: int, h: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_borrowed_view_is_the_images_memory_and_outlives_it() -> None:
    rgb = random_rgb(40, 24)
    im = Image.fromarray(rgb)
    view = _pixels.borrowed_pixels(im)
    assert view is not None and view.shape == (24, 40, 4)
    np.testing.assert_array_equal(view[:, :, :3], rgb)
    assert not view.flags.writeable
    im.putpixel((0, 0), (1, 2, 3))
    assert tuple(view[0, 0, :3]) == (1, 2, 3)  # the image's memory, not a copy
    del im
    gc.collect()
    assert tuple(view[0, 0, :3]) == (1, 2, 3)  # the export keeps the memory alive


def test_an_export_of_another_kind_is_not_read() -> None:
    real = Image.new("RGB", (8, 8))

    class OtherExport:  # hands out the schema capsule where the array's is expected
        def __arrow_c_array__(self) -> object:
            return real.im.__arrow_c_schema__()

    class Fake:
        size = (8, 8)
        im = OtherExport()

    assert _pixels.borrowed_pixels(Fake()) is None  # type: ignore[arg-type]


def test_images_in_several_blocks_are_not_lent_and_still_encode_exactly() -> None:
    # Pillow keeps rows of large images in several blocks: no zero-copy view,
    # the encoder copies, and the planes are the same.
    w, h = 4100, 2200
    rgb = random_rgb(w, h, seed=3)
    im = Image.fromarray(rgb)
    assert _pixels.borrowed_pixels(im) is None
    planes = colour.rgb_to_planes(im, WEIGHTS)
    expected = colour.reference_transform(rgb[::97], colour.forward_fixed(WEIGHTS))
    np.testing.assert_array_equal(np.asarray(planes)[::97], expected)


@settings(max_examples=40, deadline=None)
@given(w=st.integers(1, 90), h=st.integers(1, 200), seed=st.integers(0, 2**16))
def test_strips_equal_the_reference_for_any_size(w: int, h: int, seed: int) -> None:
    rgb = random_rgb(w, h, seed)
    matrix = colour.cv2_forward(WEIGHTS)
    expected = colour.reference_transform(rgb, colour.forward_fixed(WEIGHTS))
    four = np.zeros((h, w, 4), np.uint8)
    four[:, :, :3] = rgb
    three = colour.transform_rows(four, matrix, np.empty((h, w, 3), np.uint8))
    np.testing.assert_array_equal(three, expected)
    colour.transform_rows(four, matrix, four)  # in place, Pillow's layout
    np.testing.assert_array_equal(four[:, :, :3], expected)
    assert (four[:, :, 3] == 255).all()


def test_transform_rows_refuses_buffers_of_other_sizes() -> None:
    with pytest.raises(ValueError, match="one size"):
        colour.transform_rows(
            np.zeros((4, 4, 3), np.uint8), colour.cv2_forward(WEIGHTS), np.zeros((4, 5, 3), np.uint8)
        )


def test_image_on_refuses_what_is_not_pillows_layout() -> None:
    with pytest.raises(ValueError, match=r"\(h, w, 4\) uint8"):
        _pixels.image_on(np.zeros((4, 4, 3), np.uint8), "RGB")
    with pytest.raises(ValueError, match="3-band modes"):
        _pixels.image_on(np.zeros((4, 4, 4), np.uint8), "RGBA")


def grace_file(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    strategy = Strategy(name="skewed", task="other", weights=WEIGHTS, tables=[[4] * 64] * 3)
    pillow_grace.encode(Image.fromarray(rgb), out, strategy)
    return out.getvalue()


def test_decoded_images_own_their_memory() -> None:
    data_a, data_b = grace_file(random_rgb(64, 48, 1)), grace_file(random_rgb(64, 48, 2))
    a, b = Image.open(io.BytesIO(data_a)), Image.open(io.BytesIO(data_b))
    a.load()
    before = np.asarray(a).copy()
    b.load()  # same size, decoded after: must not touch a
    np.testing.assert_array_equal(np.asarray(a), before)
    b_before = np.asarray(b).copy()
    a.paste((0, 0, 0), (0, 0, 8, 8))  # writable, and only a changes
    assert a.getpixel((1, 1)) == (0, 0, 0)
    np.testing.assert_array_equal(np.asarray(b), b_before)
    again = Image.open(io.BytesIO(data_b))
    np.testing.assert_array_equal(np.asarray(again), np.asarray(b))
    assert a.copy().tobytes() == a.tobytes()


def test_opencv_decodes_do_not_share_the_threads_buffer() -> None:
    gcv = pytest.importorskip("grace_opencv")
    data_a, data_b = grace_file(random_rgb(64, 48, 1)), grace_file(random_rgb(64, 48, 2))
    first = gcv.imdecode(np.frombuffer(data_a, np.uint8), cv2.IMREAD_COLOR)
    kept = first.copy()
    second = gcv.imdecode(np.frombuffer(data_b, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(first, kept)
    assert not np.shares_memory(first, second)
    planes = Image.open(io.BytesIO(data_a))
    planes.draft("YCbCr", None)
    expected = colour.reference_transform(np.asarray(planes), colour.inverse_fixed(WEIGHTS))[:, :, ::-1]
    np.testing.assert_array_equal(first, expected)


def test_scratch_buffers_are_kept_per_shape_and_capped(monkeypatch) -> None:
    """A loop alternating two frame sizes gets its own buffers back for each
    (no reallocation per call), and buffers past the byte cap go, oldest first."""
    scratch = _pixels._Scratch()
    big, small = scratch.get("frame", (48, 64, 4)), scratch.get("frame", (24, 32, 4))
    floats = scratch.get("frame", (48, 64, 4), np.float32)
    assert floats is not big and floats.dtype == np.float32
    for _ in range(3):
        assert scratch.get("frame", (48, 64, 4)) is big
        assert scratch.get("frame", (24, 32, 4)) is small
    image = scratch.image("frame", "YCbCr", 64, 48)
    assert scratch.image("frame", "YCbCr", 64, 48) is image
    monkeypatch.setattr(_pixels._Scratch, "CAP", big.nbytes + small.nbytes)
    scratch.get("other", (10, 10, 4))  # over the cap now: the least recently used (floats) goes
    assert scratch.get("frame", (48, 64, 4), np.float32) is not floats
    scratch.get("huge", (200, 200, 4))  # the least recently used go until the rest fit
    assert scratch.get("frame", (48, 64, 4)) is not big
    assert scratch.image("frame", "YCbCr", 64, 48) is not image  # its image went with its buffer

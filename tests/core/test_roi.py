"""roi=: blocks outside the region coded coarsely in the same baseline JPEG."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pillow_grace
from pillow_grace import EncodeOptionError, Strategy
from pillow_grace.core import codec, colour, roi

W, H = 203, 138  # not a multiple of 8: the edge MCUs are partial


@pytest.fixture(scope="module")
def image(photo: Image.Image) -> Image.Image:
    return photo.crop((0, 0, W, H))


@pytest.fixture(params=["4:2:0", "4:2:2", "4:4:4", "bt601", "grey"])
def case(request: pytest.FixtureRequest, make_strategy: Callable[..., Strategy], image: Image.Image):
    """(image, strategy, options): G-YUV 4:2:0, 4:2:2 and 4:4:4, BT.601 (libjpeg
    converts the colours), and a grey image."""
    if request.param == "bt601":
        return image, make_strategy(weights=colour.BT601, subsampling="4:2:0"), {}
    if request.param == "grey":
        return image.convert("L"), make_strategy(), {}
    return image, make_strategy(subsampling=request.param), {}


def save(image: Image.Image, strategy: Strategy, **options: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "GRACE", strategy=strategy, **options)
    return buf.getvalue()


def full_rois() -> list[Any]:
    return [
        np.ones((H, W), bool),
        np.ones((H, W), np.float32),
        np.ones((-(-H // 16), -(-W // 16)), np.uint8),
        np.ones((-(-H // 8), -(-W // 8)), bool),
        [(0, 0, W, H)],
        [(-5, -5, W + 9, H + 9)],
        Image.new("L", (W, H), 255),
    ]


@pytest.mark.parametrize("which", range(len(full_rois())))
def test_full_roi_writes_the_bytes_written_without_roi(case, which: int) -> None:
    image, strategy, _ = case
    plain = save(image, strategy, quality=60)
    assert save(image, strategy, quality=60, roi=full_rois()[which]) == plain
    assert save(image, strategy, quality=60, roi=full_rois()[which], background="dc") == plain


def test_roi_missing_only_the_partial_edge_mcus_is_a_full_roi(case) -> None:
    image, strategy, _ = case
    mw, mh = roi.mcu_size(image.mode, strategy.subsampling)
    mask = np.zeros((H, W), bool)
    mask[: H // mh * mh, : W // mw * mw] = True
    assert save(image, strategy, quality=60, roi=mask) == save(image, strategy, quality=60)


def test_empty_roi_is_smaller_and_decodes_as_plain_jpeg(case) -> None:
    image, strategy, _ = case
    plain = save(image, strategy, quality=80)
    sizes = {
        bg: len(save(image, strategy, quality=80, roi=[], background=bg)) for bg in ("dc", "low:5", "low:20")
    }
    assert sizes["dc"] < sizes["low:5"] < sizes["low:20"] < len(plain)
    data = save(image, strategy, quality=80, roi=[])
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:  # Pillow's own JPEG reader
        im.load()
        assert im.size == (W, H)


def test_grace_reader_decodes_roi_files(case) -> None:
    image, strategy, _ = case
    data = save(image, strategy, quality=80, roi=[(0, 0, 64, 64)])
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "GRACE" or strategy.weights == colour.BT601
        assert np.asarray(im.convert("RGB")).shape == (H, W, 3)


def _luma(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
        im.draft("YCbCr", im.size)
        return np.asarray(im.convert("L") if im.mode == "L" else im.split()[0], dtype=np.int16)


def test_dc_background_blocks_are_flat_and_roi_blocks_unchanged(make_strategy, image) -> None:
    """Exactness where it can be seen in pixels: in 4:4:4 a block decodes from
    its own coefficients alone, so ROI blocks decode exactly as without roi
    and DC-only background blocks decode to one flat value."""
    strategy = make_strategy(subsampling="4:4:4")
    grey = image.convert("L")
    box = (32, 16, 96, 80)  # whole 8x8 blocks
    plain = np.asarray(Image.open(io.BytesIO(save(grey, strategy, quality=90))), dtype=np.int16)
    coded = np.asarray(
        Image.open(io.BytesIO(save(grey, strategy, quality=90, roi=[box], background="dc"))), dtype=np.int16
    )
    x0, y0, x1, y1 = box
    assert np.array_equal(coded[y0:y1, x0:x1], plain[y0:y1, x0:x1])
    whole = coded[: H // 8 * 8, : W // 8 * 8].reshape(H // 8, 8, W // 8, 8)
    spread = whole.max(axis=(1, 3)) - whole.min(axis=(1, 3))
    outside = np.ones(spread.shape, bool)
    outside[y0 // 8 : y1 // 8, x0 // 8 : x1 // 8] = False
    assert spread[outside].max() == 0
    assert spread[~outside].max() > 0  # the photo has detail: the ROI kept it


def test_low_background_keeps_only_the_low_frequencies(make_strategy, image) -> None:
    """The dropped coefficients of a background block come back (almost) zero:
    the DCT of the decoded blocks has next to no energy past the kept ones."""
    strategy = make_strategy(subsampling="4:4:4")
    grey = image.convert("L")
    coded = np.asarray(Image.open(io.BytesIO(save(grey, strategy, quality=50, roi=[], background="low:5"))))
    plain = np.asarray(Image.open(io.BytesIO(save(grey, strategy, quality=50))))

    n = np.arange(8)
    dct8 = np.cos((2 * n[None, :] + 1) * n[:, None] * np.pi / 16) * np.sqrt(2 / 8)
    dct8[0] /= np.sqrt(2)  # the orthonormal DCT-II; np.kron(dct8, dct8) acts on row-major blocks

    def high_energy(pixels: np.ndarray) -> float:
        blocks = pixels[: H // 8 * 8, : W // 8 * 8].astype(np.float64)
        blocks = blocks.reshape(H // 8, 8, W // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
        coef = blocks @ np.kron(dct8, dct8).T
        return float((coef[:, roi.ZIGZAG_RANK >= 6] ** 2).mean())

    assert high_energy(coded) < 0.02 * high_energy(plain)


@pytest.mark.parametrize("background", ["dc", "low:5", "coarse:3"])
def test_without_opencv_the_roi_file_is_the_same(case, background: str, monkeypatch) -> None:
    """The ROI transform uses OpenCV's kernels where cv2 is importable and numpy
    otherwise (a device may have neither torch nor cv2): the same file either way,
    for every mode, with a boolean ROI and with weights (several groups)."""
    image, strategy, _ = case
    rng = np.random.default_rng(5)
    rois = [[(40, 24, 120, 90)], rng.choice([0.0, 0.3, 0.7, 1.0], size=(-(-H // 8), -(-W // 8)))]
    fast = [save(image, strategy, quality=70, roi=r, background=background) for r in rois]
    monkeypatch.setattr(colour, "_cv2_module", None)
    assert [save(image, strategy, quality=70, roi=r, background=background) for r in rois] == fast


def test_the_callers_planes_are_never_written(make_strategy, image) -> None:
    """encode_planes reads the caller's planes in place; the ROI transform works on copies."""
    strategy = make_strategy(subsampling="4:2:0")
    planes = colour.rgb_to_planes(image, strategy.weights)
    before = planes.tobytes()
    out = io.BytesIO()
    codec.encode_planes(
        planes,
        out,
        strategy,
        codec.EncodeOptions(
            quality=50, roi=roi.Roi([(16, 16, 80, 64)]), background=roi.parse_background("dc")
        ),
    )
    assert planes.tobytes() == before
    assert len(out.getvalue()) < len(save(image, strategy, quality=50))


def test_weights_between_zero_and_one_land_between(make_strategy, image) -> None:
    strategy = make_strategy(subsampling="4:2:0")
    sizes = [len(save(image, strategy, quality=70, roi=np.full((H, W), w, np.float32))) for w in (0, 0.5, 1)]
    assert sizes[0] < sizes[1] < sizes[2]


def test_block_maps_and_boxes_mean_the_pixels_they_cover(make_strategy, image) -> None:
    strategy = make_strategy(subsampling="4:2:0")
    blocks = np.zeros((-(-H // 16), -(-W // 16)), bool)
    blocks[2:5, 3:7] = True
    pixels = np.zeros((H, W), bool)
    pixels[32:80, 48:112] = True
    by_blocks = save(image, strategy, quality=70, roi=blocks)
    assert save(image, strategy, quality=70, roi=pixels) == by_blocks
    assert save(image, strategy, quality=70, roi=[(48, 32, 112, 80)]) == by_blocks
    # One pixel inside an MCU claims the whole MCU.
    one_pixel = save(image, strategy, quality=70, roi=[(60, 40, 61, 41)])
    assert one_pixel != save(image, strategy, quality=70, roi=[])


def test_every_encoder_entry_point_writes_the_same_roi_file(make_strategy, image, tmp_path) -> None:
    strategy = make_strategy(subsampling="4:2:0")
    boxes = [(10, 10, 90, 70)]
    by_save = save(image, strategy, quality=70, roi=boxes, background="low:3")
    buf = io.BytesIO()
    pillow_grace.encode(image, buf, strategy, quality=70, roi=boxes, background="low:3")
    assert buf.getvalue() == by_save
    path = tmp_path / "f.jpg"
    pillow_grace.encode(
        image,
        path,
        strategy,
        pillow_grace.EncodeOptions.from_mapping({"quality": 70, "roi": boxes, "background": "low:3"}),
    )
    assert path.read_bytes() == by_save


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (np.ones((5, 7), bool), "roi map of shape (5, 7)"),
        (np.full((H, W), 1.5), "[0, 1]"),
        (np.full((H, W), np.nan), "[0, 1]"),
        (np.ones((H, W, 3), bool), "2-D"),
        ([(0, 0, 10)], "(x0, y0, x1, y1)"),
        ([(10, 0, 0, 10)], "x1 < x0"),
        ("everything", "roi must be"),
    ],
)
def test_bad_roi_is_refused_with_the_fix(make_strategy, image, value: Any, words: str) -> None:
    with pytest.raises(EncodeOptionError, match="roi") as err:
        save(image, make_strategy(), quality=50, roi=value)
    assert words in str(err.value)


@pytest.mark.parametrize(
    "value", ["dc:3", "low:64", "low:x", "coarse:1", "coarse:2.5", "coarse:nan", "medium", 3]
)
def test_bad_background_is_refused(make_strategy, image, value: Any) -> None:
    with pytest.raises(EncodeOptionError, match="background must be one of"):
        save(image, make_strategy(), quality=50, roi=[], background=value)


def test_background_names_round_trip() -> None:
    for name in ("dc", "low:5", "coarse:4"):
        assert roi.parse_background(name).name == name
    assert roi.parse_background(None) == roi.parse_background(roi.DEFAULT_BACKGROUND)


def test_options_without_roi_are_the_defaults() -> None:
    assert pillow_grace.EncodeOptions.from_mapping({}) == pillow_grace.EncodeOptions()
    opts = pillow_grace.EncodeOptions.from_mapping({"roi": [(0, 0, 8, 8)], "background": "dc"})
    assert opts.background == roi.Background(1, 1.0)
    assert opts.roi is not None and opts.roi.boxes == ((0, 0, 8, 8),)


def test_the_file_does_not_depend_on_how_the_products_are_sliced(make_strategy, image, monkeypatch) -> None:
    """The row products run in slices (one BLAS thread each); any slicing gives the same file."""
    from pillow_grace.core import _truncation

    strategy = make_strategy(subsampling="4:2:0")
    whole = save(image, strategy, quality=60, roi=[(30, 20, 90, 70)], background="coarse:2")
    monkeypatch.setattr(_truncation, "_ONE_THREAD_WORK", 8 * 8 * 37)  # 37 rows a slice: ragged ends
    assert save(image, strategy, quality=60, roi=[(30, 20, 90, 70)], background="coarse:2") == whole

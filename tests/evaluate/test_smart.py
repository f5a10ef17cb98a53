"""The smart baseline computes exactly what the model computes, minus the 8-bit rounding."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from pillow_grace.evaluate.codecs import invisible_bins
from pillow_grace.evaluate.runner import prepare_smart, prepare_zeroed
from pillow_grace.evaluate.smart import SmartBaselineUnsupported, split_pipeline, to_tensor
from pillow_grace.zoo._base import FrozenPipeline
from pillow_grace.zoo.preprocess import CenterCropFraction, PadToSquare, ResizeNormalize
from tests.support.benchkit import TinyModel, synthetic_photo, tiny_classifier


def _pipeline(*steps: torch.nn.Module) -> FrozenPipeline:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    return FrozenPipeline(torch.nn.Sequential(*steps), net.eval())


@pytest.mark.parametrize(
    "steps",
    [
        [ResizeNormalize((40, 30), (0.4, 0.5, 0.6), (0.2, 0.3, 0.25), mode="bicubic")],
        [CenterCropFraction(0.875), ResizeNormalize((32, 32), (0.5,) * 3, (0.5,) * 3, mode="bicubic")],
        [PadToSquare(), ResizeNormalize((32, 32), mode="bilinear", bgr=True)],
    ],
    ids=["resize", "crop+resize", "letterbox"],
)
def test_split_reproduces_the_model_exactly(steps: list[torch.nn.Module]) -> None:
    model = _pipeline(*steps)
    split = split_pipeline(model)
    frame = synthetic_photo(0, (160, 120))
    assert split.verify(model, frame) == 0.0
    x = to_tensor(frame)
    assert torch.equal(split.server(split.device(x)), model(x))
    small = split.device_resize(frame)
    assert small.size == steps[-1].size and small.mode == "RGB"


def test_unknown_step_is_refused() -> None:
    model = _pipeline(torch.nn.Identity(), ResizeNormalize((32, 32)))
    with pytest.raises(SmartBaselineUnsupported, match="Identity"):
        split_pipeline(model)


def test_not_applicable_when_the_model_does_not_shrink_the_capture() -> None:
    m = tiny_classifier(size=(48, 48))
    split, note = prepare_smart(m, synthetic_photo(1, (48, 48)))
    assert split is None and "not applicable" in note
    split, note = prepare_smart(m, synthetic_photo(1, (320, 240)))
    assert split is not None and "48x48" in note


def test_plain_module_has_no_split() -> None:
    m = TinyModel("plain", "classification", (8, 8), torch.nn.Sequential(torch.nn.Flatten()))
    split, note = prepare_smart(m, synthetic_photo(1))
    assert split is None and "not available" in note


def test_resize_factors_follow_the_models_crop_and_pad() -> None:
    crop = split_pipeline(_pipeline(CenterCropFraction(0.875), ResizeNormalize((32, 32))))
    assert crop.resize_factors((160, 128)) == (Fraction(112, 32), Fraction(112, 32))  # 0.875 * 128
    pad = split_pipeline(_pipeline(PadToSquare(), ResizeNormalize((40, 40))))
    assert pad.resize_factors((160, 120)) == (4, 4)  # letterboxed to 160x160
    stretch = split_pipeline(_pipeline(ResizeNormalize((40, 20))))
    assert stretch.resize_factors((160, 120)) == (6, 4)


def test_input_to_capture_undoes_the_models_crop_pad_and_resize() -> None:
    # MediaPipe's centred letterbox: 160x100 padded to 160x160 (30 rows on top), shown at 40x40.
    centred = split_pipeline(_pipeline(PadToSquare(centre=True), ResizeNormalize((40, 40))))
    assert centred.input_to_capture((160, 100)) == ((4.0, 4.0), (0.0, -30.0))
    corner = split_pipeline(_pipeline(PadToSquare(), ResizeNormalize((40, 40))))  # nudenet pads bottom/right
    assert corner.input_to_capture((160, 100)) == ((4.0, 4.0), (0.0, 0.0))
    crop = split_pipeline(_pipeline(CenterCropFraction(0.5), ResizeNormalize((25, 25))))
    assert crop.input_to_capture((160, 100)) == ((2.0, 2.0), (55.0, 25.0))  # a 50x50 crop from (55, 25)
    stretch = split_pipeline(_pipeline(ResizeNormalize((40, 20))))
    assert stretch.input_to_capture((160, 100)) == ((4.0, 5.0), (0.0, 0.0))


def test_zeroed_baseline_applies_only_where_the_model_shrinks_the_capture() -> None:
    m = tiny_classifier(size=(48, 48))  # stretches any frame to 48x48
    factors, note = prepare_zeroed(m, synthetic_photo(1, (192, 96)))
    assert factors is not None and factors((192, 96)) == (2, 4)
    assert "jpeg-zeroed" in note and "2 (vertical) x 4 (horizontal)" in note
    u, v = np.mgrid[0:8, 0:8]
    assert np.array_equal(invisible_bins(*factors((192, 96))), (u >= 5) | (v >= 3))
    factors, note = prepare_zeroed(m, synthetic_photo(1, (48, 48)))
    assert factors is None and "not applicable" in note and "plain JPEG 4:4:4" in note
    plain = TinyModel("plain", "classification", (40, 30), torch.nn.Sequential(torch.nn.Flatten()))
    factors, note = prepare_zeroed(plain, synthetic_photo(1, (160, 120)))  # no split: input_size
    assert factors is not None and factors((160, 120)) == (4, 4) and "input size 40x30" in note

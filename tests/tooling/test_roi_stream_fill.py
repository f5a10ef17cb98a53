"""The +fill curves of benchmarks/roi_stream.py: the files carry their block map, and the
server decodes them in order with BackgroundFill at the tolerance the run was given."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from benchmarks.roi_stream import GraceFrames, SmartRoiFrames, curves, jpeg_strategy
from pillow_grace import BackgroundFill
from pillow_grace.core import roimap
from pillow_grace.evaluate.smart import split_pipeline
from pillow_grace.zoo._base import FrozenPipeline
from pillow_grace.zoo.preprocess import ResizeNormalize
from tests.support.benchkit import synthetic_photo

FILL = ("grace+cmotion+feedback1+fill", "grace+cmotion+feedback1 bg=dc+fill")
SMART_FILL = ("smart-grace+cmotion+feedback1 bg=dc+fill", "smart-jpeg420+cmotion+feedback1 bg=dc+fill")


def _shrinking() -> FrozenPipeline:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    return FrozenPipeline(torch.nn.Sequential(ResizeNormalize((48, 32))), net.eval())


def _map(data: bytes) -> roimap.RoiMap | None:
    with Image.open(io.BytesIO(data)) as im:
        return roimap.find(im.applist)


def test_fill_curves_are_played_with_feedback_and_decode_through_background_fill() -> None:
    split = split_pipeline(_shrinking())
    played = {c.name: c for c in curves(jpeg_strategy(50), True, 30, split=split, fill_tolerance=0.5)}
    for name in FILL + SMART_FILL:
        receiver = played[name].receiver
        assert receiver is not None
        made = receiver()
        assert isinstance(made, BackgroundFill) and made.tolerance == 0.5
    assert all(played[name].receiver is None for name in played if not name.endswith("+fill"))
    without_feedback = {c.name for c in curves(jpeg_strategy(50), False, 30, split=split)}
    assert not without_feedback & set(FILL + SMART_FILL)


def test_fill_coders_write_the_map_and_the_others_do_not() -> None:
    frame = synthetic_photo(2, (160, 96))
    roi = np.zeros((6, 10), bool)
    roi[1:3, 2:5] = True
    mapped = GraceFrames(jpeg_strategy(40), None, "dc", roi_map=True).encode(frame, roi)
    found = _map(mapped)
    assert found is not None and found.groups == ((1, 1),)
    assert _map(GraceFrames(jpeg_strategy(40), None, "dc").encode(frame, roi)) is None
    small = SmartRoiFrames(jpeg_strategy(40, "4:2:0"), None, split_pipeline(_shrinking()), "dc", roi_map=True)
    found = _map(small.encode(frame, roi))
    assert found is not None and found.mcu == (16, 16) and found.codes.shape == (2, 3)

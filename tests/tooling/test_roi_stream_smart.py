"""The ROI on top of resize on the device (benchmarks/roi_stream.py's ``smart-`` curves):
the block map follows the frame through the model's own geometry, the file is the
network input's, and new objects are held to GRACE without ROI at the same geometry."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.roi_page import new_object_shortfall, no_roi_twin
from benchmarks.roi_stream import SmartRoiFrames, curves, device_mask, fit_at_network_size, jpeg_strategy
from pillow_grace.evaluate.smart import split_pipeline
from pillow_grace.zoo._base import FrozenPipeline
from pillow_grace.zoo.preprocess import PadToSquare, ResizeNormalize
from tests.support.benchkit import synthetic_photo


def _letterboxed() -> FrozenPipeline:
    """A 160x120 capture padded to 160x160 (20 rows above and below) and shrunk to 40x40."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    geometry = torch.nn.Sequential(PadToSquare(centre=True), ResizeNormalize((40, 40)))
    return FrozenPipeline(geometry, net.eval())


def test_block_map_follows_the_letterbox_and_the_resize() -> None:
    split = split_pipeline(_letterboxed())
    blocks = np.zeros((8, 10), bool)  # 16-pixel blocks of 160x120
    blocks[0, 0] = True  # capture pixels 0..15 x 0..15 -> input rows 5..8, columns 0..3
    carried = device_mask(split, blocks, (160, 120))
    assert carried.shape == (40, 40)
    rows, cols = np.nonzero(carried)
    assert rows.min() >= 4 and rows.max() <= 9 and cols.min() == 0 and cols.max() <= 4
    assert carried[6:8, 0:3].all()
    everything = device_mask(split, np.ones((8, 10), bool), (160, 120))
    assert not everything[:4].any() and not everything[36:].any()  # the padding is never ROI
    assert everything[6:34].all()
    assert not device_mask(split, np.zeros((8, 10), bool), (160, 120)).any()


def test_smart_roi_frames_write_the_network_input() -> None:
    split = split_pipeline(_letterboxed())
    frame = synthetic_photo(3, (160, 120))
    coder = SmartRoiFrames(jpeg_strategy(30), None, split)
    plain = coder.encode(frame, None)
    assert Image.open(io.BytesIO(plain)).size == (40, 40)
    # A full-frame ROI writes the bytes it writes without one; a small one writes fewer.
    assert coder.encode(frame, np.ones((8, 10), bool)) == plain
    small = np.zeros((8, 10), bool)
    small[3:5, 4:6] = True
    assert len(coder.encode(frame, small)) < len(plain)


def test_resize_on_device_curves_are_played_only_with_a_split() -> None:
    split = split_pipeline(_letterboxed())
    with_split = {c.name: c for c in curves(jpeg_strategy(50), True, 30, split=split)}
    for name in ("smart-jpeg-420", "smart-jpeg-444", "smart-grace", "smart-grace+cmotion+feedback1",
                 "smart-jpeg420+cmotion+feedback1", "smart-jpeg444+cmotion+feedback1"):
        assert with_split[name].server is split.server
    assert not [n for n in (c.name for c in curves(jpeg_strategy(50), True, 30)) if n.startswith("smart-")]


def test_new_objects_are_held_to_grace_without_roi_at_the_same_geometry() -> None:
    points = {
        "grace": {"bpp": [0.1, 1.0], "new_recall": [50.0, 60.0]},
        "smart-grace": {"bpp": [0.1, 1.0], "new_recall": [90.0, 99.0]},
        "grace+motion": {"bpp": [0.5], "new_recall": [54.0]},
        "smart-grace+cmotion+feedback1": {"bpp": [0.5], "new_recall": [90.0]},
    }
    assert no_roi_twin(points, "grace+motion") == "grace"
    assert no_roi_twin(points, "smart-grace+cmotion+feedback1") == "smart-grace"
    assert no_roi_twin({"grace": points["grace"]}, "smart-grace+cmotion+feedback1") == "grace"
    gap, at = new_object_shortfall(points, "smart-grace+cmotion+feedback1") or (None, None)
    assert at == 0.5 and gap is not None and abs(gap - (90.0 + 9.0 * 0.4 / 0.9 - 90.0)) < 1e-9
    gap, _ = new_object_shortfall(points, "grace+motion") or (None, None)
    assert gap is not None and abs(gap - (50.0 + 10.0 * 0.4 / 0.9 - 54.0)) < 1e-9


def test_smart_grace_curves_code_with_the_strategy_fitted_at_the_network_size() -> None:
    split = split_pipeline(_letterboxed())
    capture, network = jpeg_strategy(50), jpeg_strategy(20, "4:2:0")
    played = {c.name: c for c in curves(capture, True, 30, split=split, smart_strategy=network)}
    for name in ("smart-grace", "smart-grace+cmotion+feedback1"):
        coder = played[name].codec(30)
        assert isinstance(coder, SmartRoiFrames) and coder.strategy is network
    assert played["grace"].codec(30).strategy is capture  # type: ignore[attr-defined]
    default = {c.name: c for c in curves(capture, True, 30, split=split)}
    assert default["smart-grace"].codec(30).strategy is capture  # type: ignore[attr-defined]


def test_a_refit_at_the_network_size_needs_the_models_camera_frames() -> None:
    with pytest.raises(SystemExit, match=r"no camera probe frames.*CAMERA_PROBES"):
        fit_at_network_size(None, "a-model-without-a-camera", split_pipeline(_letterboxed()))

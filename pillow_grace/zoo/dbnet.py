"""DBNet text-region segmentation: PP-OCRv4 mobile det, from rapidocr-onnxruntime.

The weights are ``models/ch_PP-OCRv4_det_infer.onnx`` inside the PyPI wheel
``rapidocr-onnxruntime`` (installed with ``--no-deps``; only the file is used).
The Paddle2ONNX export keeps its weights in Constant nodes, which are moved to
initializers before onnx2torch converts the graph; the final Sigmoid is cut so
the module returns exact logits.

Preprocessing mirrors rapidocr 1.4.4 (``DetPreProcess`` with the shipped
config: ``limit_type=min``, ``limit_side_len=736``, mean = std = 0.5, BGR
channel order because rapidocr feeds ``cv2`` images): cv2 INTER_LINEAR resize
(= bilinear, no antialias, half-pixel centres) to sides that are multiples of
32, then ``(x - 0.5) / 0.5``.

Input size: rapidocr maps a 1280x720 frame to 1312x736 (short side raised to
736, then rounded to multiples of 32), so that is the fixed default; pass
``input_size=None`` to apply rapidocr's rule to whatever frame size comes in.
The output has the network input's resolution (h x w = 736 x 1312 by default).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pillow_grace.zoo._base import sigmoid_segmentation_model
from pillow_grace.zoo._onnx import constants_to_initializers, onnx_to_torch, strip_final_sigmoid
from pillow_grace.zoo._weights import dist_version, package_file, sha256_file
from pillow_grace.zoo.preprocess import ResizeNormalize, _check_image_batch, rapidocr_det_size

NAME = "dbnet-ppocrv4-det"
DEFAULT_INPUT_SIZE = (1312, 736)
_MEAN = (0.5, 0.5, 0.5)
_STD = (0.5, 0.5, 0.5)
_DIST = "rapidocr-onnxruntime"
_ONNX_PATH = "models/ch_PP-OCRv4_det_infer.onnx"


class RapidOCRDetPreprocess(nn.Module):
    """rapidocr's det preprocessing with the target size computed per frame.

    Used when ``input_size=None``: the network is fully convolutional, so each
    frame is resized exactly as rapidocr would resize it.
    """

    # buffers registered in __init__ (register_buffer), typed for the checker
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, limit_side_len: int = 736) -> None:
        super().__init__()
        self.limit_side_len = limit_side_len
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image_batch(x)
        w, h = rapidocr_det_size(x.shape[-1], x.shape[-2], self.limit_side_len)
        if (x.shape[-1], x.shape[-2]) != (w, h):
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=False)
        return (x.flip(1) - self.mean) / self.std


def load_onnx_as_torch() -> tuple[nn.Module, str]:
    """Convert the shipped ONNX detector to a frozen torch module returning 1-channel logits."""
    import onnx

    path = package_file(_DIST, "rapidocr_onnxruntime", _ONNX_PATH)
    model = onnx.load(str(path))
    constants_to_initializers(model)
    strip_final_sigmoid(model)
    net = onnx_to_torch(model)
    source = (
        f"PyPI {_DIST}=={dist_version(_DIST)} ({_ONNX_PATH}, sha256 {sha256_file(path)[:16]}), "
        "converted with onnx2torch"
    )
    return net, source


def load(input_size: tuple[int, int] | None = DEFAULT_INPUT_SIZE) -> dict[str, object]:
    """Build the frozen DBNet pipeline.

    Args:
        input_size: fixed (width, height) of the network input, multiples of
            32; ``None`` applies rapidocr's size rule to each input frame.

    Returns:
        keyword arguments for ``ZooModel``.
    """
    if input_size is not None:
        w, h = input_size
        if w % 32 or h % 32 or w <= 0 or h <= 0:
            raise ValueError(f"DBNet input_size must be positive multiples of 32, got {input_size}")
        preprocess: nn.Module = ResizeNormalize(
            (w, h), _MEAN, _STD, mode="bilinear", antialias=False, bgr=True
        )
        declared = (w, h)
        size_text = f"fixed {w}x{h}"
    else:
        preprocess = RapidOCRDetPreprocess()
        declared = DEFAULT_INPUT_SIZE
        size_text = "rapidocr rule per frame (1312x736 for 1280x720)"
    net, source = load_onnx_as_torch()
    description = (
        "PP-OCRv4 mobile DBNet text detector as 2-class per-pixel logits [0, z] "
        "(softmax class 1 = rapidocr's text probability map, threshold 0.3 in rapidocr). "
        f"Input: {size_text}, bilinear (cv2 INTER_LINEAR), BGR, (x-0.5)/0.5; "
        "output at network-input resolution."
    )
    return sigmoid_segmentation_model(NAME, declared, preprocess, net, description, source)

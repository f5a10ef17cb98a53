"""MediaPipe selfie (person) segmentation at the capture's full resolution.

Weights: ``mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite``
from the PyPI wheel ``mediapipe==0.10.14`` (Apache-2.0; installed with
``--no-deps``, only the file is read). The graph is rebuilt as torch ops by
``pillow_grace.zoo._tflite``.

Why this network: the paper's headline is semantic segmentation on
full-resolution street scenes (DRN-D-38 on Cityscapes). No scene-parsing
network ships its weights inside a Debian or PyPI package that installs here
(see docs/evidence-sources.md); this is the only semantic segmenter that does.
It has two classes (person, background).

Full resolution: the landscape model is fully convolutional (its squeeze-and-
excitation blocks pool globally with MEAN, its decoder upsamples by fixed
factors), so it runs on the whole capture with no resize: a 1280x720 frame
gives a 1280x720 mask (``input_size=None``, the default). Sides must be
multiples of its total stride, 16; other sizes are zero-padded at the bottom
and right and the output is cropped back. ``input_size=(256, 144)`` gives
MediaPipe's own pipeline instead (bilinear resize to 256x144, output at that
size).

Input RGB in [0, 1] (MediaPipe's selfie graph uses the [0, 1] tensor range).
Output: N x 2 x H x W logits [0, z] with class 1 = person: z is the logit of
MediaPipe's person confidence (the final sigmoid is cut, as for DBNet).
"""

from __future__ import annotations

import torch
from torch import nn

from pillow_grace.zoo._base import sigmoid_segmentation_model
from pillow_grace.zoo._tflite import TFLiteModule
from pillow_grace.zoo._weights import dist_version, package_file, sha256_file
from pillow_grace.zoo.preprocess import ResizeNormalize, _check_image_batch, _zero_pad_to

NAME = "selfie-seg-full"
STRIDE = 16
NOMINAL = (256, 144)
_DIST = "mediapipe"
_TFLITE_PATH = "modules/selfie_segmentation/selfie_segmentation_landscape.tflite"


class PadToStride(nn.Module):
    """Zero-pad bottom/right so both sides are multiples of ``stride``; the net crops back."""

    def __init__(self, stride: int = STRIDE) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image_batch(x)
        h, w = x.shape[-2:]
        return _zero_pad_to(x, h + -h % self.stride, w + -w % self.stride)


class CroppedNet(nn.Module):
    """Run ``net`` on the frame zero-padded to multiples of ``stride``; crop the output back to the frame."""

    def __init__(self, net: nn.Module, stride: int = STRIDE) -> None:
        super().__init__()
        self.net = net
        self.pad = PadToStride(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        out = self.net(self.pad(x))
        return out[..., :h, :w]


def load(input_size: tuple[int, int] | None = None) -> dict[str, object]:
    """Build the frozen pipeline.

    Args:
        input_size: None (default) runs at the capture's own resolution;
            (w, h) resizes to a fixed size first, e.g. (256, 144) as MediaPipe does.
    """
    path = package_file(_DIST, "mediapipe", _TFLITE_PATH)
    tfl = TFLiteModule(path, strip_final_logistic=True, relative_resize=True)
    if input_size is None:
        preprocess: nn.Module = nn.Identity()
        net: nn.Module = CroppedNet(tfl)
        declared = (1280, 720)
        size_text = "the capture's own resolution (no resize; padded to multiples of 16 and cropped back)"
    else:
        w, h = input_size
        if w % STRIDE or h % STRIDE or w <= 0 or h <= 0:
            raise ValueError(f"input_size sides must be positive multiples of {STRIDE}, got {input_size}")
        preprocess = ResizeNormalize((w, h), mode="bilinear")
        net = tfl
        declared = (w, h)
        size_text = f"bilinear resize to {w}x{h}"
    description = (
        f"MediaPipe selfie segmentation, landscape model (mediapipe {dist_version(_DIST)}): "
        "2-class per-pixel logits [0, z], class 1 = person. "
        f"Input: {size_text}, RGB in [0, 1]."
    )
    source = (
        f"PyPI {_DIST}=={dist_version(_DIST)} ({_TFLITE_PATH}, sha256 {sha256_file(path)[:16]}), "
        "rebuilt as torch ops by pillow_grace.zoo._tflite"
    )
    labels = ("background", "person")
    return sigmoid_segmentation_model(NAME, declared, preprocess, net, description, source, labels=labels)

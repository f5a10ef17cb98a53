"""BlazeFace face detector (MediaPipe short-range), from the TFLite file in the ``mediapipe`` wheel.

Weights: ``mediapipe/modules/face_detection/face_detection_short_range.tflite``
from the PyPI wheel ``mediapipe==0.10.14`` (Apache-2.0; installed with
``--no-deps``: only the file is read, nothing of mediapipe is imported). The
graph is rebuilt as torch ops by ``pillow_grace.zoo._tflite`` (checked against
the TFLite interpreter: max abs difference 5e-5 on the raw outputs).

Preprocessing mirrors MediaPipe's face-detection graph (ImageToTensor with
``keep_aspect_ratio``): centred zero-padding to a square, bilinear resize to
128x128 (no antialias), RGB scaled to [-1, 1].

Raw output: N x 5 x 896, YOLO-style like ``yolov8n-nudenet`` so the same
decoding, loss and bench metrics apply: rows 0..3 are cx, cy, w, h in pixels
of the 128x128 network input, row 4 the face probability (sigmoid of the
clipped logit, as MediaPipe's TensorsToDetections computes it). The 896
anchors are MediaPipe's SSD anchors for this model (strides 8, 16, 16, 16;
fixed size 1; offset 0.5): 16x16 cells x 2 and 8x8 cells x 6. MediaPipe's own
threshold is 0.5 with weighted NMS; the bench uses its usual 0.25 and greedy
NMS, which only changes which boxes count as the clean reference.

The 6 keypoints the model also predicts (eyes, ears, nose, mouth) are not in
the output. Short range means faces within about 2 m of a selfie camera: on a
1280x720 street frame (letterboxed to 128x72 pixels of content) only large
faces are found.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pillow_grace.zoo._tflite import TFLiteModule
from pillow_grace.zoo._weights import dist_version, package_file, sha256_file
from pillow_grace.zoo.preprocess import PadToSquare, ResizeNormalize
from pillow_grace.zoo.yolo import detection_model

NAME = "blazeface-short"
RESOLUTION = 128
_DIST = "mediapipe"
_TFLITE_PATH = "modules/face_detection/face_detection_short_range.tflite"
#: (feature-map side, anchors per cell) of the short-range model, in output order.
_LAYOUT = ((16, 2), (8, 6))


def ssd_anchor_centres(
    resolution: int = RESOLUTION, layout: tuple[tuple[int, int], ...] = _LAYOUT
) -> np.ndarray:
    """A x 2 anchor centres (x, y) in input pixels, in the order of the model's outputs."""
    rows = []
    for side, per_cell in layout:
        for y in range(side):
            for x in range(side):
                for _ in range(per_cell):
                    rows.append(((x + 0.5) / side * resolution, (y + 0.5) / side * resolution))
    return np.asarray(rows, dtype=np.float32)


class BlazeFaceHead(nn.Module):
    """(regressors N x A x 16, logits N x A x 1) -> N x 5 x A (cx, cy, w, h, probability)."""

    # buffers registered in __init__ (register_buffer), typed for the checker
    centres: torch.Tensor

    def __init__(self, resolution: int = RESOLUTION) -> None:
        super().__init__()
        self.register_buffer("centres", torch.from_numpy(ssd_anchor_centres(resolution)), persistent=False)

    def forward(self, outputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        reg, logit = outputs
        if reg.shape[1] != self.centres.shape[0]:
            raise ValueError(f"expected {self.centres.shape[0]} anchors, got {reg.shape[1]}")
        centre = reg[..., 0:2] + self.centres
        size = reg[..., 2:4]
        prob = torch.sigmoid(logit.clamp(-100.0, 100.0))
        return torch.cat([centre, size, prob], dim=-1).transpose(1, 2)


def load() -> dict[str, object]:
    """Build the frozen BlazeFace (short range) pipeline; keyword arguments for ``ZooModel``."""
    path = package_file(_DIST, "mediapipe", _TFLITE_PATH)
    net = TFLiteModule(path)
    preprocess = nn.Sequential(
        PadToSquare(centre=True),
        ResizeNormalize((RESOLUTION, RESOLUTION), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), mode="bilinear"),
    )
    return detection_model(
        NAME,
        RESOLUTION,
        preprocess,
        net,
        head=BlazeFaceHead(),
        description=(
            f"BlazeFace short-range face detector (mediapipe {dist_version(_DIST)}, 1 class 'face'). "
            "Input: centred zero-pad to square, bilinear resize to 128x128 (no antialias), RGB in [-1, 1]. "
            "Output N x 5 x 896: cx, cy, w, h (input pixels) + face probability."
        ),
        source=(
            f"PyPI {_DIST}=={dist_version(_DIST)} ({_TFLITE_PATH}, sha256 {sha256_file(path)[:16]}), "
            "rebuilt as torch ops by pillow_grace.zoo._tflite"
        ),
        labels=("face",),
    )

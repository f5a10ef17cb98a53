"""YOLOv8n detector (nudenet 3.4.2, 18 body-part classes), from the ONNX in the wheel.

Weights: ``nudenet/320n.onnx`` from the PyPI wheel ``nudenet`` (installed with
``--no-deps``; its code needs onnxruntime + OpenCV and is not used). It is an
Ultralytics 8.2.46 export (AGPL-3.0 per its metadata), input 320x320.

Preprocessing mirrors ``nudenet._read_image``: pad bottom/right with black to a
square (``cv2.copyMakeBorder``), then ``cv2.dnn.blobFromImage(..., 1/255,
(320, 320), swapRB=True)``, i.e. cv2 INTER_LINEAR resize (bilinear, no
antialias), scale to [0, 1], no mean/std.

Channel order: RGB by default, as Ultralytics trains and as nudenet intends.
Note that nudenet 3.4.2 given a 3-channel BGR image actually feeds BGR: its
``cv2.cvtColor(mat, COLOR_RGBA2BGR)`` swaps R and B on 3-channel input and
``swapRB=True`` swaps them back. ``bgr=True`` reproduces that bit-for-bit
behaviour; on test photos RGB gave equal or higher scores.

Raw output: N x (4 + 18) x 2100; rows 0..3 are cx, cy, w, h in pixels of the
320x320 network input, rows 4.. are per-class probabilities (already sigmoid).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pillow_grace.zoo._base import FrozenPipeline
from pillow_grace.zoo._onnx import onnx_to_torch
from pillow_grace.zoo._weights import dist_version, package_file, sha256_file
from pillow_grace.zoo.preprocess import PadToSquare, ResizeNormalize

NAME = "yolov8n-nudenet"
DEFAULT_RESOLUTION = 320
_DIST = "nudenet"
_ONNX_PATH = "320n.onnx"
_EPS = 1e-6


def detection_loss(
    output: torch.Tensor,
    clean_output: torch.Tensor,
    conf: float = 0.25,
    box_weight: float = 1.0,
    input_size: int = DEFAULT_RESOLUTION,
) -> torch.Tensor:
    """Probing loss for raw YOLOv8 outputs: class BCE vs clean pseudo-labels + box L1.

    * Class term: binary cross-entropy of every anchor/class probability
      against the clean probabilities hardened at ``conf`` (1 where the clean
      model is confident, else 0), summed and divided by the number of positive
      anchors (Ultralytics normalises by the target mass the same way). Hard
      targets keep the gradient non-zero at the clean frame; soft targets
      (the clean probabilities themselves) would give exactly zero there.
    * Box term: L1 distance between boxes (cx, cy, w, h divided by
      ``input_size``) on anchors the clean model is confident on, averaged
      over them. It is zero with zero gradient at the clean frame and grows as
      the input degrades.

    Returns a scalar; 0-dimensional even when nothing is detected.
    """
    if output.shape != clean_output.shape or output.dim() != 3:
        raise ValueError(
            "expected matching N x (4+C) x A outputs, "
            f"got {tuple(output.shape)} and {tuple(clean_output.shape)}"
        )
    clean = clean_output.detach()
    scores = output[:, 4:].clamp(_EPS, 1.0 - _EPS)
    clean_scores = clean[:, 4:]
    targets = (clean_scores >= conf).to(scores.dtype)
    positive = clean_scores.amax(dim=1) >= conf  # N x A
    n_pos = positive.sum().clamp(min=1).to(scores.dtype)
    cls_term = F.binary_cross_entropy(scores, targets, reduction="sum") / n_pos
    box_diff = (output[:, :4] - clean[:, :4]).abs().sum(dim=1) / float(input_size)  # N x A
    box_term = (box_diff * positive.to(box_diff.dtype)).sum() / n_pos
    return cls_term + box_weight * box_term


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, best score first."""
    x1, y1, x2, y2 = boxes.T
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        ih = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = iw * ih
        union = areas[i] + areas[rest] - inter
        overlap = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


def decode_detections(
    output: torch.Tensor | np.ndarray,
    conf: float = 0.25,
    iou: float = 0.45,
    agnostic: bool = True,
    max_det: int = 300,
) -> list[np.ndarray]:
    """Raw YOLOv8 output -> per image a K x 6 float32 array (x1, y1, x2, y2, score, class).

    Coordinates are in the network input (320x320 letterboxed square); use
    ``to_frame_coords`` to map them to the captured frame. NMS is
    class-agnostic by default because nudenet uses ``cv2.dnn.NMSBoxes`` over
    all classes at once; ``agnostic=False`` runs it per class.
    """
    arr = output.detach().cpu().numpy() if isinstance(output, torch.Tensor) else np.asarray(output)
    if arr.ndim != 3 or arr.shape[1] < 5:
        raise ValueError(f"expected N x (4+C) x A raw output, got shape {arr.shape}")
    results: list[np.ndarray] = []
    for pred in arr.astype(np.float32):
        rows = pred.T  # A x (4 + C)
        cls_scores = rows[:, 4:]
        cls = cls_scores.argmax(axis=1)
        score = cls_scores[np.arange(len(rows)), cls]
        mask = score >= conf
        if not mask.any():
            results.append(np.zeros((0, 6), dtype=np.float32))
            continue
        cx, cy, w, h = rows[mask, :4].T
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        score, cls = score[mask], cls[mask]
        # Offsetting boxes by class id makes one NMS pass behave per class.
        offset = 0.0 if agnostic else cls[:, None].astype(np.float32) * (boxes.max() + 1.0)
        keep = _nms(boxes + offset, score, iou)[:max_det]
        results.append(
            np.concatenate(
                [boxes[keep], score[keep, None], cls[keep, None].astype(np.float32)], axis=1
            ).astype(np.float32)
        )
    return results


def to_frame_coords(
    detections: np.ndarray, frame_size: tuple[int, int], resolution: int = DEFAULT_RESOLUTION
) -> np.ndarray:
    """Map ``decode_detections`` boxes from the network input to the (width, height) frame.

    The letterbox pads bottom/right only, so the mapping is a single scale
    ``max(width, height) / resolution``; boxes are clipped to the frame.
    """
    w, h = frame_size
    out = np.array(detections, dtype=np.float32, copy=True)
    out[:, :4] *= max(w, h) / float(resolution)
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, w)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, h)
    return out


def detection_model(
    name: str,
    resolution: int,
    preprocess: nn.Module,
    net: nn.Module,
    *,
    head: nn.Module | None = None,
    description: str,
    source: str,
    labels: tuple[str, ...],
    decode: Callable[..., list[np.ndarray]] = decode_detections,
) -> dict[str, object]:
    """``ZooModel`` keyword arguments for a detector on a square ``resolution`` input.

    The output contract is the one :func:`decode_detections` reads (N x (4 + C) x A:
    cx, cy, w, h in input pixels + class scores); the loss is :func:`detection_loss`.
    """
    return {
        "name": name,
        "task": "detection",
        "input_size": (resolution, resolution),
        "module": FrozenPipeline(preprocess, net, head),
        "description": description,
        "loss": functools.partial(detection_loss, input_size=resolution),
        "source": source,
        "labels": labels,
        "decode": decode,
    }


def _labels_from_metadata(model: object) -> tuple[str, ...]:
    """Class names from the Ultralytics ``names`` metadata entry (a dict literal)."""
    for prop in getattr(model, "metadata_props", []):
        if prop.key == "names":
            names = ast.literal_eval(prop.value)
            return tuple(names[i] for i in sorted(names))
    return ()


def load(
    resolution: int = DEFAULT_RESOLUTION, bgr: bool = False, antialias: bool = False
) -> dict[str, object]:
    """Build the frozen YOLOv8n pipeline.

    Args:
        resolution: side of the square network input (nudenet's
            ``inference_resolution``; the model was exported for 320).
        bgr: feed BGR like nudenet's code does on 3-channel images (see module doc).
        antialias: low-pass before the 4x downscale of a 1280-wide frame. Off in
            the real pipeline, which makes the input gradient non-zero on only
            1 of every 4 pixels (2 of 4 per axis) at 1280x720.

    Returns:
        keyword arguments for ``ZooModel``.
    """
    import onnx

    if resolution <= 0 or resolution % 32:
        raise ValueError(f"resolution must be a positive multiple of 32 (YOLO stride), got {resolution}")
    path = package_file(_DIST, "nudenet", _ONNX_PATH)
    model = onnx.load(str(path))
    labels = _labels_from_metadata(model)
    net = onnx_to_torch(model)
    preprocess = nn.Sequential(
        PadToSquare(),
        ResizeNormalize((resolution, resolution), mode="bilinear", antialias=antialias, bgr=bgr),
    )
    return detection_model(
        NAME,
        resolution,
        preprocess,
        net,
        description=(
            f"YOLOv8n (nudenet {dist_version(_DIST)}, {len(labels)} classes). "
            "Input: pad bottom/right with black to square, "
            f"bilinear resize to {resolution}x{resolution} (cv2 INTER_LINEAR, antialias={antialias}), "
            f"{'BGR' if bgr else 'RGB'} in [0, 1]. "
            f"Output N x {4 + len(labels)} x A: cx, cy, w, h (input pixels) + class probabilities."
        ),
        source=(
            f"PyPI {_DIST}=={dist_version(_DIST)} ({_ONNX_PATH}, sha256 {sha256_file(path)[:16]}), "
            "converted with onnx2torch"
        ),
        labels=labels,
    )

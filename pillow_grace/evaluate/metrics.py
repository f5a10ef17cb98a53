"""Accuracy without labels: how far a model's output on a decoded image is from its
output on the uncompressed capture.

Each task has a scorer that turns model outputs into small per-image records
(kept so results can be bootstrapped over images) and aggregates any
resample of those records into dataset-level numbers:

classification
    ``top1`` (agreement of the arg-max class with the clean one), ``kl``
    (mean KL(clean || decoded) of the softmax, nats), ``label_top1`` (only
    with a labels file).
segmentation
    ``miou`` (per-class IoU of the arg-max maps against the clean arg-max
    map, intersections and unions summed over images, averaged over the
    classes present in either), ``pixel_agreement``.
detection
    ``map50`` (mAP at IoU 0.5 with the clean detections at the model's
    operating threshold as ground truth; all-point interpolated AP per class,
    averaged over classes that have clean detections).

The pure measures the scorers aggregate are in :mod:`~pillow_grace.evaluate.measures`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pillow_grace.evaluate.measures import (
    ap_from_sorted,
    as_numpy,
    iou_counts,
    kl_divergence,
    match_detections,
    neglog10,
    top1_agreement,
)

#: Detections of the clean image at or above this score are the ground truth
#: (YOLOv8's / nudenet's default operating point).
DETECTION_GT_CONF = 0.25
#: Detections on decoded images are scored from this confidence up, so the
#: precision-recall curve extends below the operating point (as COCO does with 0.001;
#: 0.05 keeps the per-image lists short enough to bootstrap quickly).
DETECTION_PRED_CONF = 0.05
DETECTION_NMS_IOU = 0.45


@dataclass(frozen=True)
class MetricSpec:
    """One reported accuracy measure.

    ``axis`` maps the aggregated value onto a "higher is better" axis for
    BD-rate and plots: ``"linear"`` uses the value (in percent when
    ``percent``), ``"neglog10"`` uses -log10(value) for a divergence that
    spans orders of magnitude, so the BD average is not dominated by the
    worst-quality end."""

    name: str
    label: str
    higher_is_better: bool
    percent: bool = False
    axis: str = "linear"

    def to_axis(self, value: float | np.ndarray) -> np.ndarray:
        if self.axis == "neglog10":
            return neglog10(value)
        v = np.asarray(value, dtype=np.float64)
        return v * 100.0 if self.percent else v

    @property
    def axis_label(self) -> str:
        if self.axis == "neglog10":
            return f"-log10({self.label})"
        return f"{self.label} (%)" if self.percent else self.label


# -- task scorers ------------------------------------------------------------------
class TaskScorer(ABC):
    """Turns model outputs into per-image records and aggregates resamples of them.

    ``reference`` keeps only what is needed of the clean output (it is cached
    for every image); ``score`` compares a decoded image's output with it;
    ``stack`` packs one codec setting's records for fast resampling and
    ``aggregate`` evaluates B resamples at once, given as per-image counts
    (B x N; a row of ones is the plain dataset)."""

    task: str
    metrics: tuple[MetricSpec, ...]
    primary: str

    def spec(self, name: str) -> MetricSpec:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(
            f"metric {name!r} is not reported for {self.task}; choose from "
            f"{', '.join(m.name for m in self.metrics)}"
        )

    @abstractmethod
    def reference(self, output: Any) -> list[Any]:
        """Per image, what to keep of the clean output."""

    @abstractmethod
    def score(self, refs: Sequence[Any], output: Any, labels: Sequence[int | None]) -> list[Any]:
        """Per image, the record comparing a decoded image's output to its clean reference."""

    @abstractmethod
    def stack(self, records: Sequence[Any]) -> Any:
        """Pack one setting's per-image records (one per image, in image order)."""

    @abstractmethod
    def aggregate(self, stacked: Any, counts: np.ndarray) -> dict[str, np.ndarray]:
        """Metric name -> B values for the B resamples given as per-image counts (B x N)."""

    def per_image(self, stacked: Any) -> dict[str, list[float]]:
        """Per-image values worth publishing (JSON); empty where none are meaningful."""
        return {}


class ClassificationScorer(TaskScorer):
    task = "classification"
    primary = "top1"

    def __init__(self, with_labels: bool = False) -> None:
        specs = [
            MetricSpec("top1", "top-1 agreement", True, percent=True),
            MetricSpec("kl", "KL divergence (nats)", False, axis="neglog10"),
        ]
        if with_labels:
            specs.append(MetricSpec("label_top1", "top-1 accuracy (labels)", True, percent=True))
        self.metrics = tuple(specs)
        self.with_labels = with_labels

    def reference(self, output: Any) -> list[np.ndarray]:
        arr = as_numpy(output).astype(np.float32)
        if arr.ndim != 2:
            raise ValueError(f"a classification model must return N x C logits, got shape {arr.shape}")
        return list(arr)

    def score(
        self, refs: Sequence[np.ndarray], output: Any, labels: Sequence[int | None]
    ) -> list[dict[str, float]]:
        logits = as_numpy(output).astype(np.float64)
        clean = np.stack(refs).astype(np.float64)
        agree = top1_agreement(clean, logits)
        kl = kl_divergence(clean, logits)
        pred = logits.argmax(axis=1)
        out = []
        for i in range(len(logits)):
            rec = {"top1": float(agree[i]), "kl": float(kl[i]), "pred": int(pred[i])}
            if self.with_labels:
                lab = labels[i]
                rec["label_top1"] = math.nan if lab is None else float(pred[i] == lab)
            out.append(rec)
        return out

    def stack(self, records: Sequence[dict[str, float]]) -> dict[str, np.ndarray]:
        names = ["top1", "kl", "pred"] + (["label_top1"] if self.with_labels else [])
        return {n: np.asarray([r[n] for r in records], dtype=np.float64) for n in names}

    def aggregate(self, stacked: dict[str, np.ndarray], counts: np.ndarray) -> dict[str, np.ndarray]:
        counts = np.asarray(counts, dtype=np.float64)
        total = counts.sum(axis=1)
        out = {n: counts @ stacked[n] / total for n in ("top1", "kl")}
        if self.with_labels:
            out["label_top1"] = counts @ stacked["label_top1"] / total
        return out

    def per_image(self, stacked: dict[str, np.ndarray]) -> dict[str, list[float]]:
        keys = ["top1", "kl", "pred"] + (["label_top1"] if self.with_labels else [])
        return {k: [float(x) for x in stacked[k]] for k in keys}


class SegmentationScorer(TaskScorer):
    task = "segmentation"
    primary = "miou"
    metrics = (
        MetricSpec("miou", "mIoU vs clean", True, percent=True),
        MetricSpec("pixel_agreement", "pixel agreement", True, percent=True),
    )

    def reference(self, output: Any) -> list[np.ndarray]:
        arr = as_numpy(output)
        if arr.ndim != 4 or arr.shape[1] < 2:
            raise ValueError(
                f"a segmentation model must return N x C x h x w logits (C >= 2), got {arr.shape}"
            )
        self.num_classes = arr.shape[1]
        dtype = np.uint8 if arr.shape[1] <= 255 else np.int32
        return list(arr.argmax(axis=1).astype(dtype))

    def score(
        self, refs: Sequence[np.ndarray], output: Any, labels: Sequence[int | None]
    ) -> list[np.ndarray]:
        arr = as_numpy(output)
        c = arr.shape[1]
        maps = arr.argmax(axis=1)
        out = []
        for ref, m in zip(refs, maps, strict=True):
            inter, union = iou_counts(ref, m, c)
            out.append(np.concatenate([inter, union, [float(m.size)]]))
        return out

    def stack(self, records: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack(records)  # N x (2C + 1)

    def aggregate(self, stacked: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
        c = (stacked.shape[1] - 1) // 2
        sums = np.asarray(counts, dtype=np.float64) @ stacked  # B x (2C+1)
        inter, union, pixels = sums[:, :c], sums[:, c : 2 * c], sums[:, -1]
        present = union > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(present, inter / np.where(present, union, 1.0), 0.0)
            miou = iou.sum(axis=1) / present.sum(axis=1)
        return {"miou": miou, "pixel_agreement": inter.sum(axis=1) / pixels}

    def per_image(self, stacked: np.ndarray) -> dict[str, list[float]]:
        ones = np.eye(len(stacked))
        return {"miou": [float(x) for x in self.aggregate(stacked, ones)["miou"]]}


@dataclass
class _DetStack:
    scores: np.ndarray  # P, descending per class block
    tp: np.ndarray  # P
    image: np.ndarray  # P, image index
    cls: np.ndarray  # P
    gt: np.ndarray  # N x K ground-truth counts per class
    classes: np.ndarray  # K class ids
    drift: np.ndarray  # N, mean |class-score change| per image


class DetectionScorer(TaskScorer):
    """mAP@0.5 against the clean detections, plus the drift of the raw class scores.

    mAP needs clean detections to exist; on photos where the detector finds
    little (a body-part detector on landscapes) it is undefined or rests on a
    handful of boxes. ``score_drift``, the mean absolute change of every
    anchor's class scores (YOLO-style raw output N x (4 + C) x A, rows 4..),
    measures how much compression moves the detector's output everywhere, with
    or without detections, as the KL divergence does for a classifier."""

    task = "detection"
    primary = "map50"
    metrics = (
        MetricSpec("map50", "mAP@0.5 vs clean", True, percent=True),
        MetricSpec("score_drift", "class-score drift", False, axis="neglog10"),
    )

    def __init__(self, decode: Callable[..., list[np.ndarray]]) -> None:
        self.decode = decode

    def reference(self, output: Any) -> list[dict[str, Any]]:
        dets = self.decode(output, conf=DETECTION_GT_CONF, iou=DETECTION_NMS_IOU)
        raw = _class_scores(output)
        return [
            {
                "boxes": np.asarray(d, dtype=np.float32).reshape(-1, 6),
                "scores": None if raw is None else raw[i],
            }
            for i, d in enumerate(dets)
        ]

    def score(
        self, refs: Sequence[dict[str, Any]], output: Any, labels: Sequence[int | None]
    ) -> list[dict[str, Any]]:
        preds = self.decode(output, conf=DETECTION_PRED_CONF, iou=DETECTION_NMS_IOU)
        raw = _class_scores(output)
        out = []
        for i, (ref, pred) in enumerate(zip(refs, preds, strict=True)):
            gt = ref["boxes"]
            scores, cls, tp = match_detections(gt, pred)
            drift = math.nan
            if raw is not None and ref["scores"] is not None:
                drift = float(np.abs(raw[i].astype(np.float64) - ref["scores"]).mean())
            out.append(
                {
                    "scores": scores,
                    "cls": cls,
                    "tp": tp,
                    "gt_cls": np.asarray(gt)[:, 5].astype(np.int64),
                    "drift": drift,
                }
            )
        return out

    def stack(self, records: Sequence[dict[str, Any]]) -> _DetStack:
        all_cls = sorted({int(c) for r in records for c in r["gt_cls"]})
        classes = np.asarray(all_cls, dtype=np.int64)
        gt = np.zeros((len(records), len(classes)))
        for i, r in enumerate(records):
            for k, c in enumerate(classes):
                gt[i, k] = np.count_nonzero(r["gt_cls"] == c)
        scores = np.concatenate([r["scores"] for r in records]) if records else np.zeros(0)
        tp = np.concatenate([r["tp"] for r in records]) if records else np.zeros(0, bool)
        cls = np.concatenate([r["cls"] for r in records]) if records else np.zeros(0, np.int64)
        image = (
            np.concatenate([np.full(len(r["scores"]), i) for i, r in enumerate(records)])
            if records
            else np.zeros(0, np.int64)
        )
        order = np.argsort(-scores, kind="stable")
        drift = np.asarray([r["drift"] for r in records], dtype=np.float64)
        return _DetStack(
            scores[order],
            tp[order].astype(np.float64),
            image[order].astype(np.int64),
            cls[order],
            gt,
            classes,
            drift,
        )

    def aggregate(self, stacked: _DetStack, counts: np.ndarray) -> dict[str, np.ndarray]:
        counts = np.asarray(counts, dtype=np.float64)
        b = counts.shape[0]
        with np.errstate(invalid="ignore"):
            drift = counts @ stacked.drift / counts.sum(axis=1)
        if len(stacked.classes) == 0:
            return {"map50": np.full(b, np.nan), "score_drift": drift}
        n_gt = counts @ stacked.gt  # B x K
        aps = np.full((b, len(stacked.classes)), np.nan)
        for k, c in enumerate(stacked.classes):
            sel = stacked.cls == c
            w = counts[:, stacked.image[sel]]
            aps[:, k] = ap_from_sorted(stacked.tp[sel], w, n_gt[:, k])
        with np.errstate(invalid="ignore"):
            valid = ~np.isnan(aps)
            m = np.where(valid.any(axis=1), np.nansum(aps, axis=1) / np.maximum(valid.sum(axis=1), 1), np.nan)
        return {"map50": m, "score_drift": drift}

    def per_image(self, stacked: _DetStack) -> dict[str, list[float]]:
        return {
            "clean_detections": [float(x) for x in stacked.gt.sum(axis=1)],
            "score_drift": [float(x) for x in stacked.drift],
        }

    @staticmethod
    def clean_detection_count(stacked: _DetStack) -> tuple[int, int]:
        """(boxes, images with at least one box) of the clean ground truth."""
        per_image = stacked.gt.sum(axis=1)
        return int(per_image.sum()), int(np.count_nonzero(per_image))


def _class_scores(output: Any) -> np.ndarray | None:
    """Rows 4.. of a YOLO-style raw output (N x (4 + C) x A), or None for other outputs."""
    if output is None:
        return None
    arr = as_numpy(output)
    if arr.ndim != 3 or arr.shape[1] < 5:
        return None
    return arr[:, 4:].astype(np.float32)


def make_scorer(
    task: str, *, decode: Callable[..., list[np.ndarray]] | None = None, with_labels: bool = False
) -> TaskScorer:
    """The scorer for a model task (``decode`` is required for detection)."""
    if task == "classification":
        return ClassificationScorer(with_labels=with_labels)
    if with_labels:
        raise ValueError(f"a labels file is only supported for classification models, not {task}")
    if task == "segmentation":
        return SegmentationScorer()
    if task == "detection":
        if decode is None:
            raise ValueError("a detection model needs a decode(output, conf, iou) function to be benchmarked")
        return DetectionScorer(decode)
    raise ValueError(
        f"cannot benchmark a model of task {task!r}; supported: classification, segmentation, detection"
    )

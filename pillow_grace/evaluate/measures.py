"""The pure accuracy measures behind the task scorers of :mod:`~pillow_grace.evaluate.metrics`:
numpy in, numbers out, so each can be tested on hand-made inputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

#: IoU at which a detection matches a ground-truth box.
MATCH_IOU = 0.5


def as_numpy(output: Any) -> np.ndarray:
    """A model's output (a torch tensor, detached, as float32, or anything array-like) as numpy,
    so the measures below never need torch."""
    if hasattr(output, "detach"):
        output = output.detach().float().cpu().numpy()
    return np.asarray(output)


def top1_agreement(clean_logits: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Per image: 1.0 when the arg-max class equals the clean arg-max, else 0.0."""
    clean_logits = np.asarray(clean_logits)
    logits = np.asarray(logits)
    if clean_logits.shape != logits.shape:
        raise ValueError(f"logit shapes differ: {clean_logits.shape} vs {logits.shape}")
    return (clean_logits.argmax(axis=-1) == logits.argmax(axis=-1)).astype(np.float64)


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def kl_divergence(clean_logits: np.ndarray, logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """KL(p_clean || p_decoded) of the softmax distributions over ``axis``, in nats (float64).

    The one home of the divergence: per image for N x C class scores (the
    bench's scorer), per pixel with ``axis=1`` for N x C x H x W maps (the
    fit's validation averages those)."""
    lp = log_softmax(clean_logits, axis)
    lq = log_softmax(logits, axis)
    return np.maximum((np.exp(lp) * (lp - lq)).sum(axis=axis), 0.0)


#: Smallest divergence :func:`neglog10` tells apart (an exact decode scores 0).
NEGLOG10_FLOOR = 1e-12


def neglog10(value: ArrayLike) -> np.ndarray:
    """-log10 of a divergence: the "higher is better" axis on which BD-rates of divergences are
    taken (bench and fit alike), so that orders of magnitude count alike and the BD average is
    not dominated by the worst-quality end."""
    v = np.asarray(value, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.log10(np.maximum(v, NEGLOG10_FLOOR))


def iou_counts(
    clean_map: np.ndarray, pred_map: np.ndarray, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class (intersection, union) pixel counts of two label maps."""
    clean_map = np.asarray(clean_map).reshape(-1).astype(np.int64)
    pred_map = np.asarray(pred_map).reshape(-1).astype(np.int64)
    if clean_map.shape != pred_map.shape:
        raise ValueError(f"label maps differ in size: {clean_map.shape} vs {pred_map.shape}")
    conf = np.bincount(clean_map * num_classes + pred_map, minlength=num_classes * num_classes)
    conf = conf[: num_classes * num_classes].reshape(num_classes, num_classes)
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(axis=0) + conf.sum(axis=1) - np.diag(conf)
    return inter, union.astype(np.float64)


def miou_from_counts(inter: np.ndarray, union: np.ndarray) -> float:
    """Mean IoU over classes with a non-empty union; NaN if there are none."""
    inter = np.asarray(inter, dtype=np.float64)
    union = np.asarray(union, dtype=np.float64)
    present = union > 0
    if not present.any():
        return math.nan
    return float(np.mean(inter[present] / union[present]))


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of boxes (x1, y1, x2, y2): len(a) x len(b)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def match_detections(
    gt: np.ndarray, pred: np.ndarray, iou_threshold: float = MATCH_IOU
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match one image's predictions to its ground truth (both K x 6: x1, y1, x2, y2, score, class).

    Predictions are taken best score first; each is a true positive when an
    unmatched ground-truth box of the same class overlaps it with IoU >=
    ``iou_threshold`` (the best such box is consumed), as in COCO.
    Returns (scores, classes, is_tp) of the predictions in that order."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 6)
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 6)
    order = np.argsort(-pred[:, 4], kind="stable")
    pred = pred[order]
    tp = np.zeros(len(pred), dtype=bool)
    if len(gt) and len(pred):
        ious = box_iou(pred[:, :4], gt[:, :4])
        same = pred[:, 5][:, None] == gt[:, 5][None, :]
        taken = np.zeros(len(gt), dtype=bool)
        for i in range(len(pred)):
            cand = np.where(same[i] & ~taken & (ious[i] >= iou_threshold), ious[i], -1.0)
            j = int(np.argmax(cand))
            if cand[j] >= 0:
                tp[i] = True
                taken[j] = True
    return pred[:, 4].copy(), pred[:, 5].astype(np.int64), tp


def average_precision(
    scores: np.ndarray, is_tp: np.ndarray, n_gt: float, weights: np.ndarray | None = None
) -> float:
    """All-point interpolated AP (area under the precision envelope; VOC 2010+/COCO style).

    ``weights`` count each prediction several times (bootstrap resamples of
    images); ``n_gt`` is the (weighted) number of ground-truth boxes.
    NaN when there is no ground truth."""
    if n_gt <= 0:
        return math.nan
    scores = np.asarray(scores, dtype=np.float64)
    tp = np.asarray(is_tp, dtype=np.float64)
    w = np.ones_like(scores) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    return float(ap_from_sorted(tp[order], w[order][None, :], np.asarray([n_gt], dtype=np.float64))[0])


def ap_from_sorted(tp: np.ndarray, w: np.ndarray, n_gt: np.ndarray) -> np.ndarray:
    """AP for B weightings at once: tp (P,), w (B, P) in descending score order, n_gt (B,)."""
    if tp.size == 0:
        return np.where(n_gt > 0, 0.0, np.nan)
    tpc = np.cumsum(w * tp[None, :], axis=1)
    fpc = np.cumsum(w * (1.0 - tp)[None, :], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(tpc + fpc > 0, tpc / (tpc + fpc), 0.0)
    envelope = np.maximum.accumulate(prec[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ap = (w * tp[None, :] * envelope).sum(axis=1) / n_gt
    return np.where(n_gt > 0, ap, np.nan)

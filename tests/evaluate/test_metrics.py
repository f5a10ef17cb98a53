"""Accuracy measures on hand-made inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pillow_grace.evaluate.measures import (
    average_precision,
    iou_counts,
    kl_divergence,
    match_detections,
    miou_from_counts,
    top1_agreement,
)
from pillow_grace.evaluate.metrics import ClassificationScorer, DetectionScorer, SegmentationScorer


def test_top1_agreement() -> None:
    clean = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0], [0.0, 0.0, 5.0]])
    noisy = np.array([[2.0, 1.5, 0.0], [2.5, 2.0, 1.0], [0.0, 1.0, 4.0]])
    assert top1_agreement(clean, noisy).tolist() == [1.0, 0.0, 1.0]


def test_kl_divergence_known_value_and_zero_for_identical() -> None:
    # p = softmax([0, 0]) = (1/2, 1/2), q = softmax([log 3, 0]) = (3/4, 1/4).
    clean = np.array([[0.0, 0.0]])
    noisy = np.array([[math.log(3.0), 0.0]])
    expected = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert kl_divergence(clean, noisy)[0] == pytest.approx(expected, rel=1e-12)
    assert kl_divergence(clean, clean)[0] == 0.0
    # Shift invariance of logits.
    assert kl_divergence(clean + 7, noisy - 3)[0] == pytest.approx(expected, rel=1e-12)


def test_iou_counts_and_miou() -> None:
    clean = np.array([[0, 0, 1], [1, 1, 2]])
    pred = np.array([[0, 1, 1], [1, 2, 2]])
    inter, union = iou_counts(clean, pred, 3)
    assert inter.tolist() == [1, 2, 1]
    assert union.tolist() == [2, 4, 2]
    assert miou_from_counts(inter, union) == pytest.approx((1 / 2 + 2 / 4 + 1 / 2) / 3)
    # A class absent from both maps does not count.
    inter4, union4 = iou_counts(clean, pred, 4)
    assert miou_from_counts(inter4, union4) == pytest.approx(0.5)


def _box(x1: float, y1: float, x2: float, y2: float, score: float = 1.0, cls: int = 0) -> list[float]:
    return [x1, y1, x2, y2, score, cls]


def test_match_and_ap_on_hand_made_boxes() -> None:
    gt = np.array([_box(0, 0, 10, 10), _box(20, 20, 30, 30)])
    pred = np.array(
        [
            _box(0, 0, 10, 10, 0.9),  # TP (IoU 1)
            _box(50, 50, 60, 60, 0.8),  # FP (no overlap)
            _box(21, 21, 31, 31, 0.7),  # TP (IoU 81/119 = 0.68)
            _box(0, 0, 10, 10, 0.6),  # FP: duplicate of an already matched box
        ]
    )
    scores, _cls, tp = match_detections(gt, pred)
    assert scores.tolist() == [0.9, 0.8, 0.7, 0.6]
    assert tp.tolist() == [True, False, True, False]
    # PR: (P=1, R=.5), (1/2, .5), (2/3, 1), (2/4, 1); envelope: 1 up to R=.5, 2/3 up to R=1.
    assert average_precision(scores, tp, 2) == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)


def test_matching_is_per_class_and_needs_iou_half() -> None:
    gt = np.array([_box(0, 0, 10, 10, cls=1)])
    wrong_class = np.array([_box(0, 0, 10, 10, 0.9, cls=2)])
    assert match_detections(gt, wrong_class)[2].tolist() == [False]
    low_iou = np.array([_box(5, 0, 15, 10, 0.9, cls=1)])  # IoU 50/150 = 1/3
    assert match_detections(gt, low_iou)[2].tolist() == [False]
    assert average_precision(np.zeros(0), np.zeros(0, bool), 1) == 0.0
    assert math.isnan(average_precision(np.zeros(0), np.zeros(0, bool), 0))


def test_detection_scorer_map_over_images_and_bootstrap_weights() -> None:
    gts = [
        np.array([_box(0, 0, 10, 10, 0.9, 0)], np.float32),
        np.array([_box(0, 0, 10, 10, 0.9, 1)], np.float32),
    ]
    preds = [
        np.array([_box(0, 0, 10, 10, 0.8, 0)], np.float32),  # image 0: perfect
        np.array([_box(40, 40, 50, 50, 0.8, 1)], np.float32),  # image 1: miss
    ]
    outputs = iter([gts, preds])
    scorer = DetectionScorer(lambda out, conf, iou: next(outputs))
    refs = scorer.reference(None)
    recs = scorer.score(refs, None, [None, None])
    stacked = scorer.stack(recs)
    res = scorer.aggregate(stacked, np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]]))
    # class 0 AP 1, class 1 AP 0 -> mAP 0.5; resample with only image 0 -> 1; only image 1 -> 0.
    assert res["map50"].tolist() == pytest.approx([0.5, 1.0, 0.0])
    assert scorer.clean_detection_count(stacked) == (2, 2)


def test_detection_score_drift_on_raw_yolo_output() -> None:
    # N x (4 + C) x A raw output: rows 0..3 boxes, rows 4.. class scores.
    clean = np.zeros((1, 6, 3))
    clean[0, 4:] = [[0.9, 0.1, 0.0], [0.0, 0.2, 0.4]]
    noisy = clean.copy()
    noisy[0, 4:] += [[-0.3, 0.0, 0.0], [0.0, 0.0, 0.3]]
    noisy[0, :4] += 50.0  # box coordinates do not enter the drift
    scorer = DetectionScorer(lambda out, conf, iou: [np.zeros((0, 6), np.float32)])
    refs = scorer.reference(clean)
    stacked = scorer.stack(scorer.score(refs, noisy, [None]))
    res = scorer.aggregate(stacked, np.ones((1, 1)))
    assert res["score_drift"][0] == pytest.approx(0.6 / 6)
    assert np.isnan(res["map50"][0])  # no clean detections: mAP undefined


def test_classification_scorer_aggregates_resamples() -> None:
    scorer = ClassificationScorer(with_labels=True)
    clean = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    noisy = np.array([[2.0, 0.0], [2.0, 0.0], [1.0, 0.0]])
    refs = scorer.reference(clean)
    stacked = scorer.stack(scorer.score(refs, noisy, [0, 1, 1]))
    res = scorer.aggregate(stacked, np.array([[1.0, 1.0, 1.0], [0.0, 3.0, 0.0]]))
    assert res["top1"].tolist() == pytest.approx([2 / 3, 0.0])
    assert res["label_top1"].tolist() == pytest.approx([1 / 3, 0.0])
    assert res["kl"][1] == pytest.approx(kl_divergence(clean[1:2], noisy[1:2])[0])


def test_segmentation_scorer_sums_counts_over_images() -> None:
    scorer = SegmentationScorer()
    clean = np.zeros((2, 2, 2, 2))
    clean[:, 1, 0, :] = 1.0  # top row class 1, bottom row class 0
    noisy = clean.copy()
    noisy[1, 1, 1, 0] = 2.0  # image 1: one bottom pixel flips to class 1
    refs = scorer.reference(clean)
    stacked = scorer.stack(scorer.score(refs, noisy, [None, None]))
    res = scorer.aggregate(stacked, np.ones((1, 2)))
    # class 0: inter 3, union 4; class 1: inter 4, union 5.
    assert res["miou"][0] == pytest.approx((3 / 4 + 4 / 5) / 2)
    assert res["pixel_agreement"][0] == pytest.approx(7 / 8)

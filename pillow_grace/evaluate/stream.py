"""The stream benchmark: frames played in order, ROI state carried from frame
to frame, each frame judged against the model's output on the clean frame.

A still-image sweep (:mod:`.runner`) cannot measure ROI coding: the motion
source needs the frames before, the server's feedback needs the detections
on the *decoded* frames before, at the quality under test. Here every
(curve, quality) plays the whole clip with fresh state.

Per frame it records the bits, the task scorer's record (the same
:mod:`.metrics` scorers as ``grace bench``: score drift for detectors,
mIoU for segmenters) and, for detectors, the recall of the clean frame's
confident detections (score >= :data:`RECALL_SCORE`): a clean box counts as
recalled when a decoded detection of the same class at the model's
operating point overlaps it with IoU >= 0.5 (:func:`.measures.match_detections`),
also restricted to objects in their first :data:`NEW_FRAMES` frames after
they appear (tracked across the clean frames by IoU), because new objects
are where ROI coding fails.

Intervals: consecutive frames are strongly correlated (the lag-1
correlation of the per-frame metric is reported), so frames are resampled
in runs (a moving-block bootstrap, :func:`block_bootstrap_counts`), the same
resamples for every curve, and the BD-rate is recomputed on each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image

from pillow_grace.evaluate.bdrate import bd_rate
from pillow_grace.evaluate.codecs import read_rgb
from pillow_grace.evaluate.measures import box_iou, match_detections
from pillow_grace.evaluate.metrics import DETECTION_GT_CONF, DETECTION_NMS_IOU, MetricSpec, TaskScorer
from pillow_grace.evaluate.smart import to_tensor

#: Clean detections at or above this score are the objects whose recall is measured.
RECALL_SCORE = 0.5
#: An object is "new" in its first this many frames.
NEW_FRAMES = 10
#: IoU that links a clean detection to the same object in the previous frame.
TRACK_IOU = 0.3


class FrameCodec(Protocol):
    """One point of a curve: encodes a frame (with a block map, or None) into bytes."""

    def encode(self, frame: Image.Image, roi: np.ndarray | None) -> bytes: ...


class Receiver(Protocol):
    """The server's decoder of a stream, with state (:class:`pillow_grace.BackgroundFill`)."""

    def decode(self, data: bytes) -> Image.Image: ...


class RoiSource(Protocol):
    """Per-frame ROI state: ``mask(t, frame)`` before encoding frame ``t``,
    ``observe(t, boxes, foreground)`` with what the model found on the decoded
    frame ``t``: a detector's boxes, or a segmenter's foreground mask (boxes
    then empty)."""

    def mask(self, t: int, frame: np.ndarray) -> np.ndarray | None: ...

    def observe(self, t: int, boxes: np.ndarray, foreground: np.ndarray | None = None) -> None: ...


@dataclass
class Curve:
    """A rate-accuracy curve: a codec per quality and, for ROI curves, a
    factory of fresh ROI state (one per play of the clip)."""

    name: str
    codec: Callable[[int], FrameCodec]
    source: Callable[[], RoiSource] | None = None
    server: torch.nn.Module | None = None
    """What the server runs on the decoded frame when the device already ran
    the model's geometry (resize-on-device curves: :mod:`.smart`); None: the
    whole model."""
    receiver: Callable[[], Receiver] | None = None
    """A fresh server-side decoder per play (frames decoded in order with state);
    None: each file decoded on its own."""


@dataclass
class Play:
    """One (curve, quality) over the clip: per-frame arrays in frame order."""

    curve: str
    quality: int
    bits: np.ndarray
    encode_ms: np.ndarray
    roi_share: np.ndarray
    records: list[Any]
    hits: np.ndarray
    objects: np.ndarray
    new_hits: np.ndarray
    new_objects: np.ndarray


@dataclass
class StreamModel:
    """What the stream needs of a model: its torch module, the scorer of its
    task, and for detectors ``decode(output, conf, iou)`` plus the map from
    its box coordinates to frame pixels, ``frame = box * box_scale + box_offset``
    per axis (x, y): :meth:`.smart.SmartSplit.input_to_capture` gives it for a
    zoo model (a letterbox shifts the origin, a stretch only scales)."""

    module: torch.nn.Module
    scorer: TaskScorer
    decode: Callable[..., list[np.ndarray]] | None = None
    box_scale: tuple[float, float] = (1.0, 1.0)
    box_offset: tuple[float, float] = (0.0, 0.0)
    foreground: Callable[[Any], np.ndarray] | None = None
    """For segmenters: output -> boolean mask of the classes that matter (not
    background) over the frame, for the server's feedback ROI."""

    def run(self, frame: Image.Image, module: torch.nn.Module | None = None) -> Any:
        """The model (or ``module``, the server part of a split model) on ``frame``."""
        with torch.no_grad():
            return (module or self.module)(to_tensor(frame))

    def boxes(self, output: Any, conf: float) -> np.ndarray:
        """Detections (K x 6: x0, y0, x1, y1, score, class) in frame pixels."""
        if self.decode is None:
            return np.zeros((0, 6))
        d = np.asarray(self.decode(output, conf=conf, iou=DETECTION_NMS_IOU)[0], np.float64).reshape(-1, 6)
        d[:, [0, 2]] = d[:, [0, 2]] * self.box_scale[0] + self.box_offset[0]
        d[:, [1, 3]] = d[:, [1, 3]] * self.box_scale[1] + self.box_offset[1]
        return d


def segmentation_foreground(output: Any) -> np.ndarray:
    """A segmenter's N x C x h x w logits -> the first image's mask of every
    class but 0 (background): what its feedback ROI covers."""
    arr = output.detach().cpu().numpy() if isinstance(output, torch.Tensor) else np.asarray(output)
    if arr.ndim != 4 or arr.shape[1] < 2:
        raise ValueError(f"a segmenter's output must be N x C x h x w with C >= 2, got shape {arr.shape}")
    return np.asarray(arr[0].argmax(axis=0) != 0)


@dataclass
class CleanFrames:
    """The model on the clean frames: scorer references, confident boxes, and each box's age."""

    refs: list[Any]
    objects: list[np.ndarray]
    ages: list[np.ndarray]


def clean_references(frames: Sequence[Image.Image], model: StreamModel) -> CleanFrames:
    refs, objects, ages = [], [], []
    prev = np.zeros((0, 6))
    prev_age = np.zeros(0, np.int64)
    for t, frame in enumerate(frames):
        out = model.run(frame)
        refs.append(model.scorer.reference(out)[0])
        boxes = model.boxes(out, RECALL_SCORE)
        objects.append(boxes)
        # Objects already there when the clip starts are not new (their age is unknown).
        age = track_ages(prev, prev_age, boxes) if t else np.full(len(boxes), NEW_FRAMES, np.int64)
        ages.append(age)
        prev, prev_age = boxes, age
    return CleanFrames(refs, objects, ages)


def track_ages(prev: np.ndarray, prev_age: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Frames since each box's object first appeared: greedy IoU matching
    (same class, IoU >= TRACK_IOU) to the previous frame's boxes; unmatched = new (0)."""
    age = np.zeros(len(boxes), np.int64)
    if len(prev) and len(boxes):
        iou = box_iou(boxes[:, :4], prev[:, :4])
        iou[boxes[:, 5][:, None] != prev[:, 5][None, :]] = 0
        taken = np.zeros(len(prev), bool)
        for i in np.argsort(-iou.max(axis=1)):
            cand = np.where(taken, -1.0, iou[i])
            j = int(np.argmax(cand))
            if cand[j] >= TRACK_IOU:
                taken[j] = True
                age[i] = prev_age[j] + 1
    return age


def play(
    curve: Curve, quality: int, frames: Sequence[Image.Image], arrays: Sequence[np.ndarray],
    model: StreamModel, clean: CleanFrames,
) -> Play:
    """Encode, decode and judge every frame in order with fresh ROI state."""
    codec = curve.codec(quality)
    source = curve.source() if curve.source else None
    receiver = curve.receiver() if curve.receiver else None
    n = len(frames)
    bits, enc_ms, share = np.zeros(n), np.zeros(n), np.ones(n)
    hits, objs, new_hits, new_objs = (np.zeros(n) for _ in range(4))
    records = []
    for t, frame in enumerate(frames):
        mask = source.mask(t, arrays[t]) if source else None
        start = time.perf_counter()
        data = codec.encode(frame, mask)
        enc_ms[t] = (time.perf_counter() - start) * 1e3
        bits[t] = 8 * len(data)
        if mask is not None:
            share[t] = float(np.mean(mask))
        out = model.run(receiver.decode(data) if receiver else read_rgb(data), curve.server)
        records.append(model.scorer.score([clean.refs[t]], out, [None])[0])
        if model.decode is not None:
            pred = model.boxes(out, DETECTION_GT_CONF)
            gt, age = clean.objects[t], clean.ages[t]
            objs[t], hits[t] = len(gt), match_detections(gt, pred)[2].sum()
            new = gt[age < NEW_FRAMES]
            new_objs[t], new_hits[t] = len(new), match_detections(new, pred)[2].sum()
            if source:
                source.observe(t, pred)
        elif source:
            source.observe(t, np.zeros((0, 6)), model.foreground(out) if model.foreground else None)
    return Play(curve.name, quality, bits, enc_ms, share, records, hits, objs, new_hits, new_objs)


# -- summaries ------------------------------------------------------------------
def block_bootstrap_counts(n: int, block: int, resamples: int, seed: int = 0) -> np.ndarray:
    """(resamples, n) multiplicities of a moving-block bootstrap: runs of
    ``block`` consecutive frames drawn with replacement until n frames."""
    rng = np.random.default_rng(seed)
    block = max(1, min(block, n))
    runs = -(-n // block)
    counts = np.zeros((resamples, n))
    starts = rng.integers(0, n - block + 1, size=(resamples, runs))
    for b in range(resamples):
        idx = (starts[b][:, None] + np.arange(block)[None, :]).reshape(-1)[:n]
        np.add.at(counts[b], idx, 1.0)
    return counts


def lag1_correlation(x: np.ndarray) -> float:
    """Pearson correlation of a per-frame series with itself one frame later."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if len(x) < 3 or np.std(x[:-1]) == 0 or np.std(x[1:]) == 0:
        return float("nan")
    return float(np.corrcoef(x[:-1], x[1:])[0, 1])


@dataclass
class Metric:
    """One accuracy axis of the stream: its name, its higher-is-better value
    per (play, counts), and its per-frame series (for the correlation)."""

    name: str
    value: Callable[[Play, np.ndarray], np.ndarray]
    per_frame: Callable[[Play], np.ndarray]


def stream_metrics(scorer: TaskScorer, detector: bool) -> list[Metric]:
    """The scorer's metrics (on their higher-is-better axes) plus, for detectors, recall."""
    out = []
    for spec in scorer.metrics:
        def value(p: Play, counts: np.ndarray, spec: MetricSpec = spec) -> np.ndarray:
            agg = scorer.aggregate(scorer.stack(p.records), counts)[spec.name]
            return spec.to_axis(agg)

        def per_frame(p: Play, spec: MetricSpec = spec) -> np.ndarray:
            eye = np.eye(len(p.records))
            return spec.to_axis(scorer.aggregate(scorer.stack(p.records), eye)[spec.name])

        out.append(Metric(spec.name, value, per_frame))
    if detector:
        def ratio(num: str, den: str) -> Metric:
            def value(p: Play, counts: np.ndarray) -> np.ndarray:
                with np.errstate(invalid="ignore", divide="ignore"):
                    return 100 * (counts @ getattr(p, num)) / (counts @ getattr(p, den))

            def per_frame(p: Play) -> np.ndarray:
                with np.errstate(invalid="ignore", divide="ignore"):
                    return 100 * getattr(p, num) / getattr(p, den)

            return Metric("recall" if num == "hits" else "new_recall", value, per_frame)

        out += [ratio("hits", "objects"), ratio("new_hits", "new_objects")]
    return out


def measurable(metrics: Sequence[Metric], clean: CleanFrames) -> list[Metric]:
    """The metrics the clip can measure: recall needs a confident clean object, new-object
    recall one that appears after the first frame. On a clip whose one face is there from
    the start (BlazeFace's), new-object recall is 0/0 on every frame, and a curve of NaN
    would have no BD-rate and no best value, so it is left out rather than reported."""
    counts = {"recall": sum(len(o) for o in clean.objects),
              "new_recall": sum(int((a < NEW_FRAMES).sum()) for a in clean.ages)}
    return [m for m in metrics if counts.get(m.name, 1) > 0]


@dataclass
class StreamSummary:
    """Curves (bpp and each metric per quality), BD-rates with intervals, correlations."""

    pixels: int
    frames: int
    points: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    bd: dict[str, dict[str, tuple[float | None, float | None, float | None]]] = field(default_factory=dict)
    #: The same BD-rates against each further reference (``against=``): GRACE without ROI, for the ROI curves.
    bd_against: dict[str, dict[str, dict[str, tuple[float | None, float | None, float | None]]]] = field(
        default_factory=dict)
    lag1: dict[str, float] = field(default_factory=dict)
    encode_ms: dict[str, float] = field(default_factory=dict)
    roi_share: dict[str, float] = field(default_factory=dict)


def summarize(
    plays: Iterable[Play], metrics: Sequence[Metric], pixels: int, reference: str, *,
    block: int = 10, resamples: int = 200, seed: int = 0, against: Sequence[str] = (),
) -> StreamSummary:
    """Curve points, and the BD-rate of every curve against ``reference`` per
    metric with a 95% block-bootstrap interval (None where undefined); the same
    against each curve of ``against`` (into ``bd_against``), on the same resamples,
    since an interval cannot be rebuilt later from the stored curve points."""
    by_curve: dict[str, list[Play]] = {}
    for p in plays:
        by_curve.setdefault(p.curve, []).append(p)
    for ps in by_curve.values():
        ps.sort(key=lambda p: p.quality)
    n = len(next(iter(by_curve.values()))[0].bits)
    summary = StreamSummary(pixels, n)
    ones = np.ones((1, n))
    counts = block_bootstrap_counts(n, block, resamples, seed)
    rates: dict[str, np.ndarray] = {}
    values: dict[tuple[str, str], np.ndarray] = {}
    for name, ps in by_curve.items():
        summary.points[name] = {"quality": [p.quality for p in ps],
                                "bpp": [float(p.bits.mean() / pixels) for p in ps]}
        rates[name] = np.stack([counts @ p.bits / n / pixels for p in ps], axis=1)  # B x Q
        summary.encode_ms[name] = float(np.median(np.concatenate([p.encode_ms for p in ps])))
        summary.roi_share[name] = float(np.mean([p.roi_share.mean() for p in ps]))
        for m in metrics:
            summary.points[name][m.name] = [float(m.value(p, ones)[0]) for p in ps]
            values[(name, m.name)] = np.stack([m.value(p, counts) for p in ps], axis=1)
            if name == reference:
                mid = ps[len(ps) // 2]
                summary.lag1[m.name] = lag1_correlation(m.per_frame(mid))
    missing = [r for r in (reference, *against) if r not in by_curve]
    if missing:
        raise ValueError(f"summarize: reference curve(s) {missing} were not played; "
                         f"play them or pick among {sorted(by_curve)}")
    summary.bd = _bd_against(reference, summary.points, rates, values, metrics, counts)
    for ref in against:
        summary.bd_against[ref] = _bd_against(ref, summary.points, rates, values, metrics, counts)
    return summary


def _bd_against(
    reference: str, points: dict[str, dict[str, list[float]]], rates: dict[str, np.ndarray],
    values: dict[tuple[str, str], np.ndarray], metrics: Sequence[Metric], counts: np.ndarray,
) -> dict[str, dict[str, tuple[float | None, float | None, float | None]]]:
    """Every curve's BD-rate against ``reference`` per metric: the point from the curve
    points, the 95% interval from the bootstrap resamples (``rates``: B x Q bpp per curve,
    ``values``: B x Q per curve and metric)."""
    out: dict[str, dict[str, tuple[float | None, float | None, float | None]]] = {}
    for name in points:
        out[name] = {}
        for m in metrics:
            point = bd_rate(points[reference]["bpp"], points[reference][m.name],
                            points[name]["bpp"], points[name][m.name]).value
            boot = []
            for b in range(counts.shape[0]):
                r = bd_rate(rates[reference][b], values[(reference, m.name)][b],
                            rates[name][b], values[(name, m.name)][b]).value
                if r is not None:
                    boot.append(r)
            # An interval only where (nearly) every resample defines the BD-rate.
            if len(boot) >= 0.9 * counts.shape[0]:
                lo, hi = np.percentile(boot, [2.5, 97.5])
                out[name][m.name] = (point, float(lo), float(hi))
            else:
                out[name][m.name] = (point, None, None)
    return out

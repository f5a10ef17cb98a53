"""The sweep: every image, every codec setting, the model on every decoded image.

This is the real pipeline of a camera feeding a server-side DNN: the photo
becomes a capture-resolution frame, the device encodes it, the server decodes
it and runs the model *with its own preprocessing* (resize, normalisation)
on the decoded frame. The model's output on the uncompressed frame is the
reference every decoded output is scored against.

Performance: the model forward dominates, so decoded frames are batched,
run under ``torch.inference_mode`` with a fixed thread count, and clean
outputs and per-setting results are cached per (model, capture, image), so
baselines shared by several strategies (cross-model table, ablations) are
computed once per process.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image

from pillow_grace.evaluate.capture import CaptureSpec
from pillow_grace.evaluate.codecs import RAW_BITS_PER_PIXEL, Codec
from pillow_grace.evaluate.libjpeg import ResizeFactors, invisible_bins
from pillow_grace.evaluate.metrics import TaskScorer, make_scorer
from pillow_grace.evaluate.photos import BenchImage
from pillow_grace.evaluate.probes import ProbeCheck
from pillow_grace.evaluate.progress import make_progress
from pillow_grace.evaluate.smart import SmartBaselineUnsupported, split_pipeline, to_tensor


class BenchModel(Protocol):
    """What the sweep needs of a model; :class:`pillow_grace.zoo.ZooModel` has it."""

    name: str
    task: str
    input_size: tuple[int, int]
    module: torch.nn.Module
    description: str
    source: str


@dataclass
class SettingRun:
    """One codec setting over all images (per-image arrays in image order)."""

    codec: dict[str, Any]
    curve: str
    setting: str
    bits: np.ndarray
    encode_ms: np.ndarray
    decode_ms: np.ndarray
    records: Any
    """The scorer's stacked per-image records."""


@dataclass
class Sweep:
    """Everything measured by one run; :mod:`pillow_grace.evaluate.analysis` summarises it."""

    model: dict[str, Any]
    capture: dict[str, Any]
    images: list[dict[str, Any]]
    pixels: np.ndarray
    settings: list[SettingRun]
    scorer: TaskScorer
    notes: list[str] = field(default_factory=list)
    probe_checks: list[ProbeCheck] = field(default_factory=list)
    skipped_images: list[tuple[str, str]] = field(default_factory=list)
    strategies: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0


class ResultCache:
    """Clean references and per-(image, setting) results, shared across sweeps in a process.

    Keys include the model name, the capture label and the image fingerprint;
    GRACE settings include the strategy's content hash in their codec key, so
    nothing stale can be reused."""

    def __init__(self) -> None:
        self.refs: dict[tuple[str, str, str], Any] = {}
        self.results: dict[tuple[str, str, str, str], tuple[int, float, float, Any]] = {}


def prepare_smart(
    model: BenchModel, frame: Image.Image, families: Sequence[str] = ("smart-jpeg-420",)
) -> tuple[Any, str]:
    """(SmartSplit or None, note) for the smart baselines ``families`` at this capture."""
    label = ", ".join(families)
    try:
        split = split_pipeline(model.module)
        out_w, out_h = split.output_size(frame.size)
    except SmartBaselineUnsupported as e:
        return None, f"{label}: not available for {model.name}: {e}"
    if out_w * out_h >= frame.size[0] * frame.size[1]:
        return None, (
            f"{label}: not applicable: the model's input ({out_w}x{out_h}) is not smaller than "
            f"the capture ({frame.size[0]}x{frame.size[1]}), so there is nothing for the device to shrink"
        )
    try:
        err = split.verify(model.module, frame)
    except SmartBaselineUnsupported as e:
        return None, f"{label}: left out: {e}"
    return split, (
        f"{label}: the device sends {out_w}x{out_h} made by the model's own crop/pad/resize ops; "
        f"device+server split checked against the full model on a frame: relative error {err:.1e}"
    )


def prepare_zeroed(model: BenchModel, frame: Image.Image) -> tuple[ResizeFactors | None, str]:
    """(resize factors by frame size, or None, note) for the ``jpeg-zeroed`` baseline at this capture.

    The factors are those of the region the model resizes (after its own crop
    or pad) when its preprocessing splits (:meth:`SmartSplit.resize_factors`),
    else of the whole frame against ``model.input_size``. None where the model
    does not shrink this capture: then nothing is zeroed and the baseline is
    plain JPEG 4:4:4."""
    try:
        factors: ResizeFactors = functools.lru_cache(maxsize=64)(split_pipeline(model.module).resize_factors)
        how = "the frame (after its own crop or pad, if any)"
    except SmartBaselineUnsupported:
        in_w, in_h = model.input_size

        def factors(size: tuple[int, int]) -> tuple[Fraction, Fraction]:
            return Fraction(size[1], in_h), Fraction(size[0], in_w)

        how = f"the frame against its input size {in_w}x{in_h}"
    fy, fx = factors(frame.size)
    mask = invisible_bins(fy, fx)
    size = f"{frame.size[0]}x{frame.size[1]}"
    if not mask.any():
        return None, (
            f"jpeg-zeroed: not applicable: {model.name} does not shrink the {size} capture "
            f"(factors {float(fy):.3g} x {float(fx):.3g}), so nothing is invisible to it and the "
            "baseline would be plain JPEG 4:4:4"
        )
    rows = int((~mask).any(axis=1).sum())
    cols = int((~mask).any(axis=0).sum())
    return factors, (
        f"jpeg-zeroed: {model.name} shrinks {how} by {float(fy):.3g} (vertical) x {float(fx):.3g} "
        f"(horizontal) at {size}; Annex-K tables with {int(mask.sum())} of 64 bins at 255 "
        f"(kept: u < {rows}, v < {cols})"
    )


def run_sweep(
    model: BenchModel,
    images: Sequence[BenchImage],
    codecs: Sequence[Codec],
    *,
    capture: CaptureSpec,
    labels: Sequence[int] | None = None,
    smart: Any = None,
    batch_size: int = 8,
    threads: int | None = 2,
    progress: bool = True,
    cache: ResultCache | None = None,
    notes: Sequence[str] = (),
) -> Sweep:
    """Encode, decode and score every image with every codec setting.

    ``smart`` is the :class:`~pillow_grace.evaluate.smart.SmartSplit` whose
    server side runs on images from codecs with ``model_input`` set."""
    if not images:
        raise ValueError("no images to benchmark (all were filtered out or excluded?)")
    if not codecs:
        raise ValueError("no codec settings to benchmark")
    if labels is not None and len(labels) != len(images):
        raise ValueError("labels must give one class index per image")
    if any(c.model_input for c in codecs) and smart is None:
        raise ValueError("codecs that send model-input images need the smart split (smart=...)")
    if threads:
        torch.set_num_threads(threads)
    cache = cache or ResultCache()
    scorer = make_scorer(model.task, decode=getattr(model, "decode", None), with_labels=labels is not None)
    cap_label = capture.label(model.input_size)
    n, s = len(images), len(codecs)
    bits = np.zeros((s, n), dtype=np.int64)
    enc = np.zeros((s, n))
    dec = np.zeros((s, n))
    records: list[list[Any]] = [[None] * n for _ in range(s)]
    nets = {False: model.module, True: smart.server if smart is not None else None}
    clean_records: list[Any] = []
    pixels = np.zeros(n)
    image_info: list[dict[str, Any]] = []
    label_list: list[int | None] = list(labels) if labels is not None else [None] * n
    t_start = time.perf_counter()
    bar = make_progress(progress, n * s, f"{model.name} @ {cap_label}", unit="frame", leave=False)
    with torch.inference_mode():
        for i, bench_image in enumerate(images):
            frame, upscaled = capture.apply(bench_image.image, model.input_size)
            pixels[i] = frame.size[0] * frame.size[1]
            info = bench_image.describe()
            info.update(capture_size=list(frame.size), upscaled=upscaled)
            image_info.append(info)
            ref_key = (model.name, cap_label, bench_image.fingerprint)
            if ref_key not in cache.refs:
                clean_out = model.module(to_tensor(frame))
                ref = scorer.reference(clean_out)[0]
                cache.refs[ref_key] = (ref, scorer.score([ref], clean_out, [None])[0])
            ref, clean_record = cache.refs[ref_key]
            if labels is not None:  # classification only: the reference is the clean logits
                clean_record = scorer.score([ref], ref[None], [label_list[i]])[0]
            clean_records.append(clean_record)
            pending: dict[bool, list[tuple[int, Image.Image]]] = {False: [], True: []}
            for j, codec in enumerate(codecs):
                res_key = (model.name, cap_label, bench_image.fingerprint, codec.key)
                hit = cache.results.get(res_key) if labels is None else None
                if hit is not None:
                    bits[j, i], enc[j, i], dec[j, i], records[j][i] = hit
                    bar.update(1)
                    continue
                t0 = time.perf_counter()
                data = codec.encode(frame)
                t1 = time.perf_counter()
                decoded = codec.decode(data)
                t2 = time.perf_counter()
                bits[j, i] = 8 * len(data)
                enc[j, i] = (t1 - t0) * 1e3
                dec[j, i] = (t2 - t1) * 1e3
                queue = pending[codec.model_input]
                queue.append((j, decoded))
                if len(queue) >= batch_size:
                    _flush(queue, nets[codec.model_input], scorer, ref, label_list[i], records, i, bar)
            for model_input, queue in pending.items():
                _flush(queue, nets[model_input], scorer, ref, label_list[i], records, i, bar)
            if labels is None:
                for j, codec in enumerate(codecs):
                    key = (model.name, cap_label, bench_image.fingerprint, codec.key)
                    cache.results[key] = (int(bits[j, i]), float(enc[j, i]), float(dec[j, i]), records[j][i])
    bar.close()
    settings = [
        SettingRun(
            codec.describe(), codec.curve, codec.setting, bits[j], enc[j], dec[j], scorer.stack(records[j])
        )
        for j, codec in enumerate(codecs)
    ]
    settings.insert(
        0,
        SettingRun(
            {"curve": "uncompressed", "setting": "raw RGB", "quality": None},
            "uncompressed",
            "raw RGB",
            (pixels * RAW_BITS_PER_PIXEL).astype(np.int64),
            np.zeros(n),
            np.zeros(n),
            scorer.stack(clean_records),
        ),
    )
    return Sweep(
        model={
            "name": model.name,
            "task": model.task,
            "input_size": list(model.input_size),
            "description": getattr(model, "description", ""),
            "source": getattr(model, "source", ""),
        },
        capture={
            "kind": capture.kind,
            "size": list(capture.size) if capture.size else None,
            "label": cap_label,
        },
        images=image_info,
        pixels=pixels,
        settings=settings,
        scorer=scorer,
        notes=list(notes),
        elapsed_s=time.perf_counter() - t_start,
    )


def _flush(
    queue: list[tuple[int, Image.Image]],
    net: torch.nn.Module,
    scorer: TaskScorer,
    ref: Any,
    label: int | None,
    records: list[list[Any]],
    i: int,
    bar: Any,
) -> None:
    """Run the queued decoded frames of image ``i`` through ``net`` and score them."""
    for group in _same_size_groups(queue):
        x = torch.cat([to_tensor(im) for _, im in group])
        recs = scorer.score([ref] * len(group), net(x), [label] * len(group))
        for (j, _), rec in zip(group, recs, strict=True):
            records[j][i] = rec
        bar.update(len(group))
    queue.clear()


def _same_size_groups(queue: list[tuple[int, Image.Image]]) -> list[list[tuple[int, Image.Image]]]:
    groups: dict[tuple[int, int], list[tuple[int, Image.Image]]] = {}
    for item in queue:
        groups.setdefault(item[1].size, []).append(item)
    return list(groups.values())

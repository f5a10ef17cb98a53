"""``fit_strategy``: probe a DNN, fit G-YUV weights, allocate tables, record provenance.

This is Algorithm 2 of the paper with three deliberate changes, each
selectable so it can be compared with the paper:

* 8x8 blocks (baseline JPEG), not 16x16;
* the colour weights use the *weighted* median that solves the paper's own
  LAD problem (``colour_median="plain"`` for the paper's plain median);
* tables come from the Fisher/Lagrangian allocation (``allocation="paper"``
  for Algorithm 1), with the Fisher diagonal estimated from labels sampled
  from the model's own output (``loss="argmax"`` for the paper's NLL of the
  top-1 label, whose gradient vanishes where the model is confident).

Only one gradient pass is made, in RGB; the G-YUV statistics follow exactly
from it (see :mod:`pillow_grace.fit.probe`).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch

from .. import tables as tables_mod
from .._version import __version__
from ..strategy import ALLOCATIONS, MAX_PROVENANCE_ITEMS, TASKS, Perception, Strategy
from .colourfit import MEDIANS, ColourFit, fit_weights, fixed_weights
from .images import ImageLike, as_rgb_array, fit_to_capture, image_fingerprint
from .probe import LOSS_KINDS, MAX_STORED_VALUES, RGBProbe, geometry, plane_statistics, probe_rgb
from .progress import ProgressArg

#: Quality the strategy's own tables are derived at when neither ``quality``
#: nor ``tradeoff`` is given.
DEFAULT_QUALITY = tables_mod.DEFAULT_QUALITY
#: Default number of sampled labels per image (plus the top-1 label exactly,
#: for classification). Each costs one backward pass, the bulk of a fit's time.
DEFAULT_LABEL_SAMPLES = 4
#: Most probe images a fit accepts: each one's SHA-256 (and, from the CLI, its
#: file name) goes into the provenance, which strategy.py caps in size.
MAX_PROBE_IMAGES = (MAX_PROVENANCE_ITEMS - 200) // 2


def fit_strategy(
    model: Any,
    images: Sequence[ImageLike],
    *,
    name: str,
    task: str | None = None,
    loss: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    allocation: str | None = None,
    quality: int | None = None,
    tradeoff: float | None = None,
    subsampling: str = "4:4:4",
    seed: int = 0,
    model_input_size: tuple[int, int] | None = None,
    capture_size: tuple[int, int] | None = None,
    label_samples: int = DEFAULT_LABEL_SAMPLES,
    colour_median: str = "weighted",
    weights: str | Sequence[float] | None = None,
    description: str | None = None,
    batch_size: int | None = None,
    max_stored_values: int = MAX_STORED_VALUES,
    progress: ProgressArg = False,
    provenance: Mapping[str, Any] | None = None,
) -> Strategy:
    """Fit a GRACE strategy for ``model`` from unlabelled probe ``images``.

    Args:
        model: a differentiable torch callable taking float32 N x 3 x H x W RGB
            in [0, 1] at *capture* resolution and returning logits (N x C for
            classification, N x C x h x w for segmentation), with its own
            preprocessing inside (see :mod:`pillow_grace.fit.pipelines`); or a
            ``ZooModel``-like object with ``.module`` (and optionally
            ``.task``, ``.input_size``, ``.loss``, ``.description``), whose
            fields fill the arguments left as None.
        images: PIL images or H x W x 3 uint8 arrays at the resolution the
            device captures (or give ``capture_size`` to resize-to-cover and
            centre-crop them). Labels are never needed.
        name: strategy name (ASCII letters, digits, ``-_.``).
        task: "classification" (default), "segmentation", "detection", "other".
        loss: "sampled" (default: Fisher, labels sampled from the model's own
            output on the clean image), "argmax" (the paper's NLL of the clean
            top-1), or ``fn(output, clean_output) -> scalar`` (required for
            detection/other; called per image).
        allocation: "lagrangian" (default) or "paper" (Algorithm 1).
        quality: 1..100, the quality the stored tables are derived at
            (default :data:`DEFAULT_QUALITY`); or give ``tradeoff`` (the raw
            lambda or budget B) instead.
        subsampling: chroma subsampling the strategy encodes with; the chroma
            statistics are measured in that block geometry.
        seed: makes label sampling and any block subsampling reproducible.
        model_input_size: (width, height) the network itself consumes.
        label_samples: sampled labels per image (each one backward pass).
        colour_median: "weighted" (exact LAD solution, default) or "plain" (paper).
        weights: fixed (Wr, Wg, Wb) or "bt601" instead of fitting them (ablations).
        max_stored_values: cap on stored gradient values (float32) for the
            medians and E|g|; beyond it a seeded random subset of MCUs is used
            (E[g^2] and E|s| always use every block).
        progress: True for a progress bar, or a ``fn(done, total)`` callback.
        provenance: extra facts merged into the recorded provenance.

    Returns:
        A validated :class:`~pillow_grace.strategy.Strategy` carrying its
        perception statistics, so tables for other qualities can be derived
        at encode time without torch.
    """
    t0 = time.monotonic()
    module, task, loss, model_input_size, description, model_name = _resolve_model(
        model, task, loss, model_input_size, description
    )
    allocation = allocation or "lagrangian"
    _check_options(name, task, loss, allocation, quality, tradeoff, subsampling, colour_median, label_samples)
    colour_fixed = fixed_weights(weights) if weights is not None else None

    arrays = [as_rgb_array(im, index=i) for i, im in enumerate(images)]
    if not arrays:
        raise ValueError("images is empty: give at least one probe image (the paper uses 15)")
    if len(arrays) > MAX_PROBE_IMAGES:
        raise ValueError(
            f"{len(arrays)} probe images is more than {MAX_PROBE_IMAGES}: their fingerprints would not "
            "fit the strategy's provenance limits (and the statistics settle after a few dozen images)"
        )
    if capture_size is not None:
        arrays = [np.array(fit_to_capture(a, capture_size)) for a in arrays]
    h, w = arrays[0].shape[:2]
    sizes = sorted({(a.shape[1], a.shape[0]) for a in arrays})
    if len(sizes) > 1:
        raise ValueError(
            f"probe images have different sizes {sizes}; they must all be at the capture resolution. "
            "Pass capture_size=(width, height) to resize-to-cover and centre-crop them"
        )
    fingerprints = [image_fingerprint(a) for a in arrays]

    was_training = isinstance(module, torch.nn.Module) and module.training
    if was_training:
        module.eval()
    try:
        with torch.enable_grad():
            probe = probe_rgb(
                module,
                arrays,
                task=task,
                loss=loss,
                label_samples=label_samples,
                subsampling=subsampling,
                seed=seed,
                batch_size=batch_size,
                max_stored_values=max_stored_values,
                progress=progress,
            )
    finally:
        if was_training:
            module.train(True)

    fit = colour_fixed or _fit_colour(probe, colour_median)
    stats = plane_statistics(probe, fit.weights)
    perception = Perception(
        grad_abs_mean=_rows(stats["grad_abs_mean"]),
        grad_sq_mean=_rows(stats["grad_sq_mean"]),
        coef_abs_mean=_rows(stats["coef_abs_mean"]),
    )
    if tradeoff is None and quality is None:
        quality = DEFAULT_QUALITY
    tables, alloc = tables_mod.derive_allocation(perception, allocation, quality=quality, parameter=tradeoff)

    rgb_total = probe.grad_abs_rgb.sum(axis=1)
    prov: dict[str, Any] = {
        "fitter": "pillow_grace.fit.fit_strategy",
        "library_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "loss": probe.loss_kind if not callable(loss) else f"custom:{getattr(loss, '__qualname__', 'loss')}",
        "label_samples": probe.label_samples,
        "fisher_estimator": probe.estimator,
        "colour_median": fit.method,
        "weights_raw": list(fit.raw_weights) if fit.raw_weights else None,
        "colour_ratios": list(fit.ratios) if fit.ratios else None,
        "weights_clamped": fit.clamped,
        "rgb_sensitivity": [float(x) for x in rgb_total / rgb_total.sum()] if rgb_total.sum() > 0 else None,
        "probe_images": len(arrays),
        "probe_image_sha256": fingerprints,
        "probe_blocks": {"luma": probe.luma_blocks, "chroma": probe.chroma_blocks},
        "stored_gradient_fraction": probe.stored_fraction,
        "padding": "edge-replicated to whole MCUs (libjpeg); padding gets zero gradient",
        "allocation": allocation,
        "quality": alloc.quality,
        "elapsed_s": 0.0,
    }
    if model_name:
        prov["model"] = model_name  # the zoo name: the benchmark looks the model up by it
    if fit.note:
        prov["colour_note"] = fit.note
    if provenance:
        prov.update(dict(provenance))
    prov["elapsed_s"] = round(time.monotonic() - t0, 3)
    strategy = Strategy(
        name=name,
        task=task,
        weights=fit.weights,
        tables=tables,  # type: ignore[arg-type]
        subsampling=subsampling,
        perception=perception,
        allocation=alloc,
        description=description,
        model_input_size=model_input_size,
        probe_resolution=(w, h),
        provenance=prov,
    )
    # Round-trip through the validator: what we return is exactly what a device loads.
    return Strategy.from_dict(strategy.to_dict(), source=f"fitted strategy {name!r}")


def _fit_colour(probe: RGBProbe, kind: str) -> ColourFit:
    g = probe.stored_chroma  # (M, 3, 64): minimise what the chroma planes are coded with
    sw = probe.stored_chroma_w[:, None]
    return fit_weights(g[:, 0, :], g[:, 1, :], g[:, 2, :], kind, sample_weights=sw)


def _rows(a: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(x) for x in row) for row in np.asarray(a, dtype=np.float64))


def _resolve_model(
    model: Any, task: str | None, loss: Any, input_size: tuple[int, int] | None, description: str | None
) -> tuple[Any, str, Any, tuple[int, int] | None, str, str | None]:
    """Unwrap a ZooModel-like object; fill defaults from it."""
    module = model
    model_name = None
    if not isinstance(model, torch.nn.Module) and hasattr(model, "module"):
        module = model.module
        model_name = getattr(model, "name", None)
        task = task or getattr(model, "task", None)
        if input_size is None and getattr(model, "input_size", None) is not None:
            input_size = tuple(int(v) for v in model.input_size)  # type: ignore[assignment]
        if description is None:
            description = getattr(model, "description", None)
        if loss is None and task not in ("classification", "segmentation"):
            loss = getattr(model, "loss", None)
    if not callable(module):
        raise TypeError(f"model must be a torch callable (e.g. an nn.Module), got {type(module).__name__}")
    task = task or "classification"
    if loss is None:
        if task not in ("classification", "segmentation"):
            raise ValueError(
                f"task {task!r} needs loss=fn(output, clean_output) -> scalar tensor; "
                "the built-in 'sampled'/'argmax' losses exist for classification and segmentation"
            )
        loss = "sampled"
    if input_size is not None:
        input_size = (int(input_size[0]), int(input_size[1]))
    return module, task, loss, input_size, description or "", model_name


def _check_options(name: str, task: str, loss: Any, allocation: str, quality: int | None,
                   tradeoff: float | None, subsampling: str, colour_median: str, label_samples: int) -> None:
    """Fail before the (slow) probe, with messages that name the argument."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    # The strategy validator is the single definition of a valid name.
    dummy = Strategy(name=name, task="other", weights=(0.299, 0.587, 0.114), tables=((1,) * 64,) * 3)
    Strategy.from_dict(dummy.to_dict(), source="fit_strategy(name=...)")
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if isinstance(loss, str) and loss not in LOSS_KINDS:
        raise ValueError(f"loss must be one of {', '.join(LOSS_KINDS)} or a callable; got {loss!r}")
    if not isinstance(loss, str) and not callable(loss):
        raise TypeError(f"loss must be a string or a callable, got {type(loss).__name__}")
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {', '.join(ALLOCATIONS)}; got {allocation!r}")
    if quality is not None and tradeoff is not None:
        raise ValueError("give quality or tradeoff, not both")
    if quality is not None:
        tables_mod.validate_quality(quality)
    geometry(subsampling)
    if colour_median not in MEDIANS:
        raise ValueError(f"colour_median must be one of {', '.join(MEDIANS)}; got {colour_median!r}")
    if isinstance(label_samples, bool) or not isinstance(label_samples, int) or label_samples < 1:
        raise ValueError(f"label_samples must be an integer >= 1, got {label_samples!r}")

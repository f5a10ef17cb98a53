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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch

from pillow_grace._version import __version__
from pillow_grace.core import tables as tables_mod
from pillow_grace.core.colour import BT601
from pillow_grace.core.strategy import (
    MAX_PROVENANCE_ITEMS,
    Allocation,
    Perception,
    Strategy,
)
from pillow_grace.evaluate.images import ImageLike, as_rgb_array, fit_to_capture, image_fingerprint
from pillow_grace.evaluate.judge import Judge, kl_distance, loss_distance
from pillow_grace.evaluate.progress import ProgressArg, make_progress
from pillow_grace.fit.arguments import check_options, resolve_model
from pillow_grace.fit.calibration import allocation_for, calibration_anchors
from pillow_grace.fit.colourfit import ColourFit, fit_weights, fixed_weights
from pillow_grace.fit.planes import perception_for
from pillow_grace.fit.probe import MAX_STORED_VALUES, RGBProbe, merge_probes, probe_rgb
from pillow_grace.fit.select import (
    COLOUR_SEARCH_QUALITIES,
    Candidate,
    Selection,
    colour_candidates,
    predicted_cost,
)
from pillow_grace.fit.select import validate as validate_candidates

#: Quality the strategy's own tables are derived at when neither ``quality``
#: nor ``tradeoff`` is given.
DEFAULT_QUALITY = tables_mod.DEFAULT_QUALITY
#: Default number of sampled labels per image (plus the top-1 label exactly,
#: for classification). Each costs one backward pass, the bulk of a fit's time.
DEFAULT_LABEL_SAMPLES = 4
#: Most probe images a fit accepts: each one's SHA-256 (and, from the CLI, its
#: file name) goes into the provenance, which strategy.py caps in size.
MAX_PROBE_IMAGES = (MAX_PROVENANCE_ITEMS - 200) // 2
#: The allocations a fit measures against each other unless told which to use (the
#: first is used where nothing is measured, ``validate=False``): the measured
#: rate-distortion curves won by 3-6 points of BD-rate on real probe sets
#: (docs/fitting.md, ``benchmarks/allocation_experiments.py``), the Laplacian
#: model is steadier on a few small images.
MEASURED_ALLOCATIONS = ("empirical", "lagrangian")
#: Folds of the cross-fitted validation (fewer when there are fewer probe images).
VALIDATION_FOLDS = 3
#: Probe images the forward-free colour search encodes (a spread-out subset).
COLOUR_SEARCH_IMAGES = 6


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
    subsampling: str = "auto",
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
    validate: bool = True,
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
        allocation: None (default: "empirical" and "lagrangian" both measured
            by the validation, the better kept), "empirical" (the per-bin
            Lagrangian on rate and distortion measured on the probe images),
            "lagrangian" (the same on a Laplacian model of them) or "paper"
            (Algorithm 1).
        quality: 1..100, the quality the stored tables are derived at
            (default :data:`DEFAULT_QUALITY`); or give ``tradeoff`` (the raw
            lambda or budget B) instead.
        subsampling: "auto" (default: 4:4:4 or 4:2:0, whichever the
            validation finds cheaper for the model), or the chroma
            subsampling to encode with; the chroma statistics are measured
            in that block geometry.
        seed: makes label sampling and any block subsampling reproducible.
        model_input_size: (width, height) the network itself consumes.
        label_samples: sampled labels per image (each one backward pass).
        colour_median: "weighted" (exact LAD solution, default) or "plain" (paper).
        weights: None (default: chosen by rate among Theorem 2's weights,
            BT.601 and points between, see :mod:`pillow_grace.fit.select`),
            "theorem2" (the paper's fit, no search), or fixed (Wr, Wg, Wb) /
            "bt601".
        max_stored_values: cap on stored gradient values (float32) for the
            medians and E|g|; beyond it a seeded random subset of MCUs is used
            (E[g^2] and E|s| always use every block).
        progress: True for a progress bar, or a ``fn(done, total)`` callback.
        provenance: extra facts merged into the recorded provenance.
        validate: judge candidates by the model on held-out probe images
            (cross-fitted folds), fall back to standard JPEG tables where
            none saves bits, and calibrate quality on measured loss (needs
            2+ probe images; see :mod:`pillow_grace.fit.select`). False:
            predicted loss only (faster; the paper's procedure). A fit
            given ``tradeoff`` (a raw parameter) is not validated.

    Returns:
        A validated :class:`~pillow_grace.core.strategy.Strategy` carrying its
        perception statistics, so tables for other qualities can be derived
        at encode time without torch.
    """
    t0 = time.monotonic()
    module, task, loss, model_input_size, description, model_name = resolve_model(
        model, task, loss, model_input_size, description
    )
    check_options(name, task, loss, allocation, quality, tradeoff, subsampling, colour_median, label_samples)
    arrays = _probe_frames(images, capture_size)
    h, w = arrays[0].shape[:2]
    # Asked for one allocation: that one. Else the validation measures both Lagrangians (the
    # measured curves need many probe blocks to beat the Laplacian model) and keeps the better.
    methods = (allocation,) if allocation else MEASURED_ALLOCATIONS
    subsamplings = ["4:4:4", "4:2:0"] if subsampling == "auto" else [subsampling]
    folds_wanted = min(VALIDATION_FOLDS, len(arrays)) if validate and tradeoff is None else 1
    validate = validate and folds_wanted >= 2
    colour_choice = _colour_choice(weights)

    with _eval_mode(module):
        folds = _probe_folds(module, arrays, folds_wanted, subsamplings, task=task, loss=loss,
                             label_samples=label_samples, seed=seed, batch_size=batch_size,
                             max_stored_values=max_stored_values, progress=progress)
        probe = merge_probes(folds)
        fitted = colour_choice or _fit_colour(probe, colour_median)
        candidates, search = _candidates(probe, fitted, colour_choice is None and weights != "theorem2",
                                         subsamplings, methods)
        selection = _validate(module, loss, folds, candidates, progress) if validate else None

    if tradeoff is None and quality is None:
        quality = DEFAULT_QUALITY
    final_weights, final_sub, perception, alloc = _final_choice(
        probe, candidates[0] if selection is None else selection.chosen, selection, quality, tradeoff
    )
    prov = _provenance(
        probe=probe, fitted=fitted, loss=loss, allocation=allocation or "auto", alloc=alloc, seed=seed,
        fingerprints=[image_fingerprint(a) for a in arrays], model_name=model_name, search=search,
        selection=selection, extra=provenance,
    )
    prov["subsampling_option"] = subsampling  # what was asked ("auto": chosen by measurement)
    prov["elapsed_s"] = round(time.monotonic() - t0, 3)
    strategy = Strategy(name=name, task=task, weights=final_weights,
                        tables=tables_mod.derive_tables(perception, alloc.method, alloc.parameter),
                        subsampling=final_sub, perception=perception, allocation=alloc,
                        description=description, model_input_size=model_input_size, probe_resolution=(w, h),
                        provenance=prov)
    # Round-trip through the validator: what we return is exactly what a device loads.
    return Strategy.from_dict(strategy.to_dict(), source=f"fitted strategy {name!r}")


# -- the steps of a fit ---------------------------------------------------------------------
def _probe_frames(images: Sequence[ImageLike], capture_size: tuple[int, int] | None) -> list[np.ndarray]:
    """The probe images as RGB arrays at the capture resolution (all one size)."""
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
    sizes = sorted({(a.shape[1], a.shape[0]) for a in arrays})
    if len(sizes) > 1:
        raise ValueError(
            f"probe images have different sizes {sizes}; they must all be at the capture resolution. "
            "Pass capture_size=(width, height) to resize-to-cover and centre-crop them"
        )
    return arrays


@contextmanager
def _eval_mode(module: Any) -> Iterator[None]:
    """The model in eval mode for the probe and the validation; a training model is given back
    in training mode."""
    was_training = isinstance(module, torch.nn.Module) and module.training
    if was_training:
        module.eval()
    try:
        yield
    finally:
        if was_training:
            module.train(True)


def _probe_folds(module: Any, arrays: Sequence[np.ndarray], folds: int, subsamplings: Sequence[str], *,
                 seed: int, max_stored_values: int, **options: Any) -> list[RGBProbe]:
    """One gradient probe per validation fold (every ``folds``-th image; one fold without validation).

    One probe geometry serves every candidate: 4:2:0 also measures the 8x8 (4:4:4) blocks."""
    geometry_for_probe = "4:2:0" if "4:2:0" in subsamplings else subsamplings[0]
    with torch.enable_grad():
        return [
            probe_rgb(module, arrays[k::folds], subsampling=geometry_for_probe, seed=seed + k,
                      max_stored_values=max(1, max_stored_values // folds), **options)
            for k in range(folds)
        ]


def _validate(module: Any, loss: Any, folds: Sequence[RGBProbe], candidates: Sequence[Candidate],
              progress: ProgressArg) -> Selection:
    """The cross-fitted validation (:func:`pillow_grace.fit.select.validate`), judged by the model:
    its own loss where one was given, else the KL divergence of its outputs."""
    judge = Judge(module, loss_distance(loss) if callable(loss) else kl_distance)
    ticks = make_progress(progress, len(folds) * (len(candidates) + 2), "validating")
    try:
        return validate_candidates(
            judge, folds, candidates,
            lambda p, c: perception_for(p, c.weights, c.subsampling, measured=c.method == "empirical"),
            merge_probes,
            lambda: ticks.update(1),
        )
    finally:
        ticks.close()


def _final_choice(probe: RGBProbe, chosen: Candidate | None, selection: Selection | None, quality: int | None,
                  tradeoff: float | None) -> tuple[tuple[float, float, float], str, Perception, Allocation]:
    """(weights, subsampling, perception, allocation) of the strategy: the chosen candidate, calibrated
    on the measured curves, or standard JPEG where nothing beat it on held-out probe images."""
    if chosen is None:
        assert selection is not None and quality is not None
        sub = selection.fallback_subsampling
        return BT601, sub, perception_for(probe, BT601, sub), Allocation("reference", float(quality), quality)
    method = chosen.method
    perception = perception_for(probe, chosen.weights, chosen.subsampling, measured=method == "empirical")
    calibration, above = None, None
    if selection is not None:
        calibration = calibration_anchors(selection.effective_qualities(), method, perception)
        above = selection.reference_above()
    if tradeoff is not None:
        alloc = Allocation(method, float(tradeoff), None, None, above)
    else:
        assert quality is not None
        alloc = allocation_for(method, quality, perception, calibration, above)
    return chosen.weights, chosen.subsampling, perception, alloc


def _colour_choice(weights: str | Sequence[float] | None) -> ColourFit | None:
    """Fixed weights asked for, or None where they are fitted ("theorem2") or searched (None)."""
    if weights is None or weights == "theorem2":
        return None
    return fixed_weights(weights)


def _candidates(probe: RGBProbe, fitted: ColourFit, search: bool, subsamplings: Sequence[str],
                methods: Sequence[str]) -> tuple[list[Candidate], dict[str, Any] | None]:
    """The candidates the validation measures, and the colour search's record.

    With the search, per subsampling: the weights needing the fewest real bytes
    at matched predicted loss, plus BT.601 (free true colours in every decoder)."""
    if not search:
        return [Candidate(f"{_label(fitted)}-{s}-{m}", fitted.weights, s, m)
                for s in subsamplings for m in methods], None
    sample = probe.images[:: max(1, len(probe.images) // COLOUR_SEARCH_IMAGES)][:COLOUR_SEARCH_IMAGES]
    record: dict[str, Any] = {"images": len(sample), "qualities": list(COLOUR_SEARCH_QUALITIES),
                              "log_bytes": {}}
    out: list[Candidate] = []
    # The ranking of colours needs no measured curves (five per subsampling): the
    # empirical allocation is searched with the Laplacian model it refines.
    search_method = "paper" if methods == ("paper",) else "lagrangian"
    for sub in subsamplings:
        costs = {}
        for label, wts in colour_candidates(fitted.weights):
            perception = perception_for(probe, wts, sub)
            costs[label] = (predicted_cost(perception, search_method, wts, sub, sample), wts)
        record["log_bytes"][sub] = {k: round(v[0], 5) for k, v in costs.items()}
        best = min(costs, key=lambda k: costs[k][0])
        colours = [best] + (["bt601"] if best != "bt601" and "bt601" in costs else [])
        out += [Candidate(f"{c}-{sub}-{m}", costs[c][1], sub, m) for c in colours for m in methods]
    return out, record


def _label(fit: ColourFit) -> str:
    if tuple(fit.weights) == tuple(BT601):
        return "bt601"
    return "fixed" if fit.method == "fixed" else "theorem2"


def _provenance(*, probe: RGBProbe, fitted: ColourFit, loss: Any, allocation: str, alloc: Allocation,
                seed: int, fingerprints: list[str], model_name: str | None, search: dict[str, Any] | None,
                selection: Selection | None, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """Everything worth knowing about how the strategy was made (stored with it)."""
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
        "colour_median": fitted.method,
        "theorem2_weights": list(fitted.weights),
        "weights_raw": list(fitted.raw_weights) if fitted.raw_weights else None,
        "colour_ratios": list(fitted.ratios) if fitted.ratios else None,
        "weights_clamped": fitted.clamped,
        "rgb_sensitivity": [float(x) for x in rgb_total / rgb_total.sum()] if rgb_total.sum() > 0 else None,
        "probe_images": len(fingerprints),
        "probe_image_sha256": fingerprints,
        "probe_blocks": {"luma": probe.luma_blocks, "chroma": probe.chroma_blocks},
        "stored_gradient_fraction": probe.stored_fraction,
        "padding": "edge-replicated to whole MCUs (libjpeg); padding gets zero gradient",
        "allocation": allocation,  # what was asked ("auto": measured); the method used is allocation.method
        "quality": alloc.quality,
        "colour_search": search,
        "selection": selection.record() if selection else "not validated",
        "elapsed_s": 0.0,
    }
    if model_name:
        prov["model"] = model_name  # the zoo name: the benchmark looks the model up by it
    if fitted.note:
        prov["colour_note"] = fitted.note
    if extra:
        prov.update(dict(extra))
    return prov


def _fit_colour(probe: RGBProbe, kind: str) -> ColourFit:
    g = probe.stored_chroma  # (M, 3, 64): minimise what the chroma planes are coded with
    sw = probe.stored_chroma_w[:, None]
    return fit_weights(g[:, 0, :], g[:, 1, :], g[:, 2, :], kind, sample_weights=sw)

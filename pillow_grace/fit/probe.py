"""The perception probe (paper §4.3 on 8x8 blocks): one gradient pass in RGB.

For every probe image the model runs once; then, for each *label sample*, one
backward pass gives the gradient of the loss w.r.t. the RGB pixels, which the
block DCT turns into the gradient w.r.t. every RGB block-DCT coefficient
(``dct.py``: for an orthonormal DCT that is the forward DCT of the pixel
gradient).

Why one RGB pass is enough for G-YUV (Algorithm 2 lines 6-8): the colour
transform is linear per pixel and the block DCT linear per channel, so for
any weights, per coefficient, ``s_planes = M s_rgb`` (the offsets vanish after
libjpeg's level shift because the Y row of ``M`` sums to 1 and the U, V rows to
0) and, by the chain rule, ``g_planes = M^-T g_rgb`` (precisely: the
transpose of the decoder's inverse matrix, see :func:`plane_matrices`). This
module therefore
keeps RGB-domain data from which :func:`plane_statistics` computes the G-YUV
statistics for the fitted weights exactly:

* the 3x3 second-moment matrix ``E[g g^T]`` of RGB gradients per bin, from
  which ``E[g_c^2] = a_c^T E[g g^T] a_c`` for each plane row ``a_c`` of
  ``M^-T`` (the Fisher diagonal, exact for every block);
* the RGB gradient blocks themselves (all of them, or a seeded uniform random
  subset of MCUs when they would exceed ``max_stored_values``), for the
  colour medians and for ``E|g_c|``, which is not a quadratic form;
* the probe images, from which the plane coefficients are recomputed.

Images are edge-padded (replicated last row/column) to a whole number of
MCUs, as libjpeg does; the model only ever sees the unpadded image, so the
padding pixels get zero gradient, and they are counted as blocks, since the
encoder codes them.

Chroma subsampling (4:2:2, 4:2:0) is modelled as libjpeg's box-average
downsampling of the chroma planes; the gradient w.r.t. a subsampled chroma
coefficient is taken as the DCT of the box *sum* of the full-resolution
chroma gradient (the adjoint of replicating upsampling; libjpeg's "fancy"
triangle upsampling spreads it slightly further).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from pillow_grace.evaluate.progress import ProgressArg, make_progress
from pillow_grace.fit.blocks import ProbeAccumulator, ProbeGrid, geometry
from pillow_grace.fit.labels import LOSS_KINDS, Labels, LossArg

#: Default cap on stored RGB gradient values (float32): 64 MiB. Millions of
#: coefficients are far more than a median or a mean needs.
MAX_STORED_VALUES = 1 << 24

#: Default total pixels per forward batch (4 frames of 1280x720).
BATCH_PIXELS = 4 * 1280 * 720


@dataclass
class RGBProbe:
    """RGB-domain results of one probe pass; see the module docstring.

    Means are over blocks (padding blocks included) and over label samples
    (weighted by each sample's probability weight), so a mean is what one
    coded block contributes on average."""

    subsampling: str
    images: list[np.ndarray]
    luma_blocks: int
    chroma_blocks: int
    moment_luma: np.ndarray
    """(3, 3, 64) E[g_i g_j] of RGB coefficient gradients, 8x8 blocks at full resolution."""
    moment_chroma: np.ndarray
    """(3, 3, 64) the same for the chroma block geometry (equal to moment_luma at 4:4:4)."""
    grad_abs_rgb: np.ndarray
    """(3, 64) E|g| per RGB channel at full resolution (the paper's Fig. 6 measure)."""
    stored_luma: np.ndarray
    """(M, 3, 64) float32 RGB gradient blocks kept for medians and E|g|."""
    stored_luma_w: np.ndarray
    """(M,) each stored block's label-sample weight."""
    stored_chroma: np.ndarray
    stored_chroma_w: np.ndarray
    stored_fraction: float
    """Fraction of MCUs whose gradients were stored (1.0: exact)."""
    stored_luma_at: np.ndarray
    """(M, 2) int64: each stored luma block's image (index into ``images``) and block
    (row-major index in the image's padded 8x8 grid): pairs it with its coefficients."""
    stored_chroma_at: np.ndarray
    """(M, 2) the same for the chroma block geometry."""
    loss_kind: str
    label_samples: int
    estimator: str
    extra: dict[str, Any] = field(default_factory=dict)


def _model_device(model: Any) -> torch.device:
    params = getattr(model, "parameters", None)
    if callable(params):
        for p in params():
            return p.device
    return torch.device("cpu")


def probe_rgb(
    model: Callable[[torch.Tensor], Any],
    images: Sequence[np.ndarray],
    *,
    task: str = "classification",
    loss: LossArg = "sampled",
    label_samples: int = 4,
    subsampling: str = "4:4:4",
    seed: int = 0,
    batch_size: int | None = None,
    max_stored_values: int = MAX_STORED_VALUES,
    progress: ProgressArg = False,
) -> RGBProbe:
    """Run the model over ``images`` (H x W x 3 uint8, all the same size) and collect RGB statistics.

    ``loss``: ``"sampled"`` (Fisher: labels drawn from the model's own output
    on the clean image), ``"argmax"`` (NLL of the clean top-1, as in the
    paper), or ``fn(output, clean_output) -> scalar``."""
    _check_probe(images, task, loss, label_samples)
    geometry(subsampling)  # the error that names the option, before any work
    h, w = images[0].shape[:2]
    grid = ProbeGrid(h, w, subsampling)
    if batch_size is None:
        batch_size = 1 if callable(loss) else max(1, min(16, BATCH_PIXELS // (h * w)))
    samples = 1 if callable(loss) or loss == "argmax" else label_samples + (task == "classification")
    keep = grid.kept_mcus(len(images), samples, max_stored_values)
    device = _model_device(model)
    rng = np.random.default_rng(seed)
    labels = Labels(loss, task, label_samples, torch.Generator().manual_seed(seed))
    acc = ProbeAccumulator(grid)
    used_samples = 0
    bar = make_progress(progress, len(images), "probing")
    try:
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            masks = grid.masks(rng, len(batch), keep)

            def take(g: torch.Tensor, ws: torch.Tensor, masks: list[torch.Tensor] = masks,
                     first: int = start) -> None:
                acc.add(g, ws, masks, first)

            used_samples = _backward_passes(model, batch, labels, device, take)
            bar.update(len(batch))
    finally:
        bar.close()
    kind, estimator = _estimator(loss, task, labels, label_samples)
    hp, wp = grid.padded
    return RGBProbe(**acc.means(images, keep), loss_kind=kind,
                    label_samples=label_samples if kind == "sampled" else 1, estimator=estimator,
                    extra={"backward_passes_per_image": used_samples, "padded_size": [wp, hp]})


def _check_probe(images: Sequence[np.ndarray], task: str, loss: LossArg, label_samples: int) -> None:
    if not images:
        raise ValueError("no probe images given")
    if isinstance(loss, str) and loss not in LOSS_KINDS:
        raise ValueError(f"loss must be one of {', '.join(LOSS_KINDS)} or a callable; got {loss!r}")
    if isinstance(loss, str) and task not in ("classification", "segmentation"):
        raise ValueError(
            f"task {task!r} has no built-in loss; pass loss=fn(output, clean_output) (e.g. ZooModel.loss)"
        )
    if label_samples < 1:
        raise ValueError(f"label_samples must be >= 1, got {label_samples}")
    h, w = images[0].shape[:2]
    for i, im in enumerate(images):
        if im.shape != (h, w, 3) or im.dtype != np.uint8:
            raise ValueError(
                f"images[{i}] is {im.shape} {im.dtype}, expected {(h, w, 3)} uint8 like images[0]; "
                "all probe images must be at the capture resolution (see capture_size=)"
            )


def _backward_passes(model: Callable[[torch.Tensor], Any], batch: Sequence[np.ndarray], labels: Labels,
                     device: torch.device, take: Callable[[torch.Tensor, torch.Tensor], None]) -> int:
    """One forward pass of ``batch``, then one backward pass per label sample; ``take(g, weights)``
    gets each sample's pixel gradients (0..255 units, float32, on the CPU). Returns the passes made."""
    x = torch.from_numpy(np.stack(batch)).to(device).permute(0, 3, 1, 2).float().div_(255.0)
    x = x.contiguous().requires_grad_(True)
    out = model(x)
    closures, weights = labels.plan(out, len(batch))
    for s, closure in enumerate(closures):
        (g,) = torch.autograd.grad(closure(out), x, retain_graph=s < len(closures) - 1)
        with torch.no_grad():
            # float32 per sample (the accumulator sums into float64).
            take(g.detach().float().cpu() / 255.0, weights[s])
    return len(closures)


def _estimator(loss: LossArg, task: str, labels: Labels, label_samples: int) -> tuple[str, str]:
    """(loss kind, how the Fisher diagonal was estimated), for the provenance."""
    if callable(loss):
        return "custom", "custom loss, one backward per image"
    if loss == "argmax":
        return "argmax", "NLL of the clean top-1 label (paper)"
    if task == "classification" and labels.exact:
        return "sampled", "exact expectation over all classes"
    if task == "classification":
        return "sampled", f"top-1 label exactly + {label_samples} labels sampled from the rest"
    return "sampled", f"{label_samples} label maps sampled per pixel"


def merge_probes(probes: Sequence[RGBProbe]) -> RGBProbe:
    """One probe from probes of disjoint image sets (same subsampling and loss):
    means are re-weighted by block counts, stored blocks and images concatenated.

    The fitter probes its images fold by fold, so that tables fitted without a
    fold can be judged on it, and merges the folds for the final fit: the
    result is what one probe of all the images would have measured."""
    if not probes:
        raise ValueError("merge_probes needs at least one probe")
    first = probes[0]
    if any(p.subsampling != first.subsampling for p in probes):
        raise ValueError("cannot merge probes made for different subsamplings")
    luma = np.array([p.luma_blocks for p in probes], dtype=np.float64)
    chroma = np.array([p.chroma_blocks for p in probes], dtype=np.float64)

    def mean(name: str, w: np.ndarray) -> np.ndarray:
        return sum(getattr(p, name) * (wi / w.sum()) for p, wi in zip(probes, w, strict=True))

    offsets = np.cumsum([0] + [len(p.images) for p in probes[:-1]])

    def positions(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) + np.array([off, 0]) for p, off in zip(probes, offsets,
                                                                                        strict=True)])

    return replace(
        first,
        images=[im for p in probes for im in p.images],
        stored_luma_at=positions("stored_luma_at"),
        stored_chroma_at=positions("stored_chroma_at"),
        luma_blocks=int(luma.sum()),
        chroma_blocks=int(chroma.sum()),
        moment_luma=mean("moment_luma", luma),
        moment_chroma=mean("moment_chroma", chroma),
        grad_abs_rgb=mean("grad_abs_rgb", luma),
        stored_luma=np.concatenate([p.stored_luma for p in probes]),
        stored_luma_w=np.concatenate([p.stored_luma_w for p in probes]),
        stored_chroma=np.concatenate([p.stored_chroma for p in probes]),
        stored_chroma_w=np.concatenate([p.stored_chroma_w for p in probes]),
        stored_fraction=float(np.average([p.stored_fraction for p in probes], weights=luma)),
    )


def as_subsampling(probe: RGBProbe, subsampling: str) -> RGBProbe:
    """The probe as seen by another chroma geometry it also measured.

    A probe made for 4:2:0 or 4:2:2 holds the full-resolution (8x8) moments and
    blocks too, which are exactly what 4:4:4 chroma is coded with, so one probe
    serves both sides of the 4:4:4-vs-4:2:0 choice."""
    if subsampling == probe.subsampling:
        return probe
    if subsampling != "4:4:4":
        raise ValueError(f"a probe made for {probe.subsampling} cannot serve {subsampling}; probe for it")
    return replace(
        probe,
        subsampling="4:4:4",
        chroma_blocks=probe.luma_blocks,
        moment_chroma=probe.moment_luma,
        stored_chroma=probe.stored_luma,
        stored_chroma_w=probe.stored_luma_w,
        stored_chroma_at=probe.stored_luma_at,
    )

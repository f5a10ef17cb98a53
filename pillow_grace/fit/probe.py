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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pillow_grace.evaluate.progress import ProgressArg, make_progress
from pillow_grace.fit.dct import block_dct
from pillow_grace.fit.labels import LOSS_KINDS, Labels, LossArg

#: (MCU width, MCU height) and chroma (horizontal, vertical) subsampling factors.
GEOMETRY = {"4:4:4": ((8, 8), (1, 1)), "4:2:2": ((16, 8), (2, 1)), "4:2:0": ((16, 16), (2, 2))}

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


def geometry(subsampling: str) -> tuple[tuple[int, int], tuple[int, int]]:
    try:
        return GEOMETRY[subsampling]
    except KeyError:
        raise ValueError(f"subsampling must be one of {', '.join(GEOMETRY)}; got {subsampling!r}") from None


def _padded(h: int, w: int, subsampling: str) -> tuple[int, int]:
    (mw, mh), _ = geometry(subsampling)
    return math.ceil(h / mh) * mh, math.ceil(w / mw) * mw


def _box_sum(x: torch.Tensor, fx: int, fy: int) -> torch.Tensor:
    if fx == 1 and fy == 1:
        return x
    *lead, h, w = x.shape
    return x.reshape(*lead, h // fy, fy, w // fx, fx).sum(dim=(-3, -1))


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
    (mw, mh), (fx, fy) = geometry(subsampling)
    hp, wp = _padded(h, w, subsampling)
    hm, wm = hp // mh, wp // mw
    luma_per_image = (hp // 8) * (wp // 8)
    chroma_per_image = (hp // fy // 8) * (wp // fx // 8)
    subsampled = (fx, fy) != (1, 1)

    if batch_size is None:
        batch_size = 1 if callable(loss) else max(1, min(16, BATCH_PIXELS // (h * w)))
    if isinstance(loss, str) and loss == "argmax":
        samples = 1
    elif callable(loss):
        samples = 1
    else:
        samples = label_samples + (1 if task == "classification" else 0)
    per_block = 3 * 64
    blocks_per_image = luma_per_image + (chroma_per_image if subsampled else 0)
    total_values = len(images) * samples * per_block * blocks_per_image
    fraction = min(1.0, max_stored_values / max(total_values, 1))
    keep_mcus = hm * wm if fraction >= 1.0 else max(1, round(fraction * hm * wm))

    device = _model_device(model)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    labels = Labels(loss, task, label_samples, gen)

    m_luma = torch.zeros(3, 3, 64, dtype=torch.float64)
    m_chroma = torch.zeros(3, 3, 64, dtype=torch.float64)
    abs_rgb = torch.zeros(3, 64, dtype=torch.float64)
    st_luma: list[torch.Tensor] = []
    st_luma_w: list[torch.Tensor] = []
    st_chroma: list[torch.Tensor] = []
    st_chroma_w: list[torch.Tensor] = []
    st_luma_at: list[np.ndarray] = []
    st_chroma_at: list[np.ndarray] = []
    used_samples = 0

    bar = make_progress(progress, len(images), "probing")
    try:
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            n = len(batch)
            # Which MCUs of each image keep their gradient blocks (same for every label sample).
            masks = []
            for _ in range(n):
                chosen = np.zeros(hm * wm, dtype=bool)
                if keep_mcus < hm * wm:
                    chosen[rng.choice(hm * wm, size=keep_mcus, replace=False)] = True
                else:
                    chosen[:] = True
                masks.append(torch.from_numpy(chosen.reshape(hm, wm)))
            luma_masks = [m.repeat_interleave(mh // 8, 0).repeat_interleave(mw // 8, 1) for m in masks]

            x = torch.from_numpy(np.stack(batch)).to(device).permute(0, 3, 1, 2).float().div_(255.0)
            x = x.contiguous().requires_grad_(True)
            out = model(x)
            closures, weights = labels.plan(out, n)
            used_samples = len(closures)
            for s, closure in enumerate(closures):
                value = closure(out)
                (g,) = torch.autograd.grad(value, x, retain_graph=s < len(closures) - 1)
                with torch.no_grad():
                    ws = weights[s]
                    # d loss / d sample in 0..255 units, zero on the padding (the model never sees it).
                    # float32 per sample (the sums below go into float64 accumulators).
                    g = g.detach().float().cpu() / 255.0
                    if (hp, wp) != (h, w):
                        g = F.pad(g, (0, wp - w, 0, hp - h))
                    coef = block_dct(g)  # (n, 3, Hb, Wb, 64)
                    _accumulate(coef, ws, m_luma, abs_rgb)
                    for i in range(n):
                        st_luma.append(coef[i][:, luma_masks[i]].permute(1, 0, 2).float())
                        st_luma_w.append(_filled(int(luma_masks[i].sum()), float(ws[i])))
                        st_luma_at.append(_positions(start + i, luma_masks[i]))
                    if subsampled:
                        coef_c = block_dct(_box_sum(g, fx, fy))
                        _accumulate(coef_c, ws, m_chroma, None)
                        for i in range(n):
                            st_chroma.append(coef_c[i][:, masks[i]].permute(1, 0, 2).float())
                            st_chroma_w.append(_filled(int(masks[i].sum()), float(ws[i])))
                            st_chroma_at.append(_positions(start + i, masks[i]))
            del out, x
            bar.update(n)
    finally:
        bar.close()

    n_img = len(images)
    stored_luma = torch.cat(st_luma).numpy()
    stored_luma_w = torch.cat(st_luma_w).numpy()
    stored_luma_at = np.concatenate(st_luma_at)
    if subsampled:
        stored_chroma = torch.cat(st_chroma).numpy()
        stored_chroma_w = torch.cat(st_chroma_w).numpy()
        stored_chroma_at = np.concatenate(st_chroma_at)
        moment_chroma = (m_chroma / (n_img * chroma_per_image)).numpy()
    else:
        stored_chroma, stored_chroma_w, stored_chroma_at = stored_luma, stored_luma_w, stored_luma_at
        moment_chroma = (m_luma / (n_img * luma_per_image)).numpy()
    if callable(loss):
        kind, estimator = "custom", "custom loss, one backward per image"
    elif loss == "argmax":
        kind, estimator = "argmax", "NLL of the clean top-1 label (paper)"
    elif task == "classification" and labels.exact:
        kind, estimator = "sampled", "exact expectation over all classes"
    elif task == "classification":
        kind, estimator = "sampled", f"top-1 label exactly + {label_samples} labels sampled from the rest"
    else:
        kind, estimator = "sampled", f"{label_samples} label maps sampled per pixel"
    return RGBProbe(
        subsampling=subsampling,
        images=list(images),
        luma_blocks=n_img * luma_per_image,
        chroma_blocks=n_img * chroma_per_image,
        moment_luma=(m_luma / (n_img * luma_per_image)).numpy(),
        moment_chroma=moment_chroma,
        grad_abs_rgb=(abs_rgb / (n_img * luma_per_image)).numpy(),
        stored_luma=stored_luma,
        stored_luma_w=stored_luma_w,
        stored_chroma=stored_chroma,
        stored_chroma_w=stored_chroma_w,
        stored_fraction=keep_mcus / (hm * wm),
        stored_luma_at=stored_luma_at,
        stored_chroma_at=stored_chroma_at,
        loss_kind=kind,
        label_samples=label_samples if kind == "sampled" else 1,
        estimator=estimator,
        extra={"backward_passes_per_image": used_samples, "padded_size": [wp, hp]},
    )


def _positions(image: int, mask: torch.Tensor) -> np.ndarray:
    """(count, 2) [image, row-major block index] of the blocks ``mask`` keeps, in the
    order ``tensor[..., mask]`` lists them."""
    where = np.flatnonzero(mask.numpy().reshape(-1))
    return np.stack([np.full(len(where), image, dtype=np.int64), where.astype(np.int64)], axis=1)


def _filled(n: int, value: float) -> torch.Tensor:
    return torch.full((n,), value, dtype=torch.float64)


def _accumulate(coef: torch.Tensor, ws: torch.Tensor, moment: torch.Tensor,
                abs_sum: torch.Tensor | None) -> None:
    """Add sample-weighted block sums: moment[c, d, k] += sum w g_c g_d, abs_sum[c, k] += sum w |g_c|.

    Sums over blocks come first (per image), the per-image weights after, so
    no weighted copy of the big coefficient tensor is ever made."""
    n = coef.shape[0]
    flat = coef.reshape(n, 3, -1, 64)
    wv = ws.view(n, 1).double()
    # Six products (the matrix is symmetric): much faster than one einsum on CPU.
    for c in range(3):
        for d in range(c, 3):
            prod = ((flat[:, c] * flat[:, d]).sum(dim=1).double() * wv).sum(dim=0)
            moment[c, d] += prod
            if c != d:
                moment[d, c] += prod
    if abs_sum is not None:
        abs_sum += (flat.abs().sum(dim=2).double() * wv.view(n, 1, 1)).sum(dim=0)


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

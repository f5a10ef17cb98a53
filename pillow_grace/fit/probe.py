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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import colour
from .dct import block_dct
from .progress import ProgressArg, make_progress

LossArg = str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSS_KINDS = ("sampled", "argmax")

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


class _Labels:
    """Label samples and their weights for one batch (see ``probe_rgb``)."""

    def __init__(self, kind: LossArg, task: str, k: int, gen: torch.Generator) -> None:
        self.kind, self.task, self.k, self.gen = kind, task, k, gen
        self.exact = False  # set when the expectation over classes was taken exactly

    def plan(self, out: Any, n: int) -> tuple[list[Callable[[Any], torch.Tensor]], torch.Tensor]:
        """Loss closures (one backward each) and an (S, n) tensor of sample weights."""
        if callable(self.kind):
            if n > 1 and not (isinstance(out, torch.Tensor) and out.dim() >= 1 and out.shape[0] == n):
                raise ValueError(
                    "the model's output is not one tensor with the batch first, so a custom loss cannot "
                    "be applied per image; use batch_size=1"
                )
            return [self._custom], torch.ones(1, n, dtype=torch.float64)
        if self.task == "classification":
            return self._classification(out)
        return self._segmentation(out)

    def _custom(self, out: Any) -> torch.Tensor:
        clean = out.detach() if isinstance(out, torch.Tensor) else _detach(out)
        fn = self.kind
        assert callable(fn)
        if isinstance(out, torch.Tensor) and out.dim() >= 1 and out.shape[0] > 1 and clean.shape[0] > 1:
            # Sum of per-image losses: each image gets its own loss gradient,
            # whatever reduction the user's loss applies over the batch.
            return sum(fn(out[i : i + 1], clean[i : i + 1]) for i in range(out.shape[0]))  # type: ignore[return-value]
        return fn(out, clean)

    def _classification(self, out: torch.Tensor) -> tuple[list[Any], torch.Tensor]:
        if out.dim() != 2:
            raise ValueError(
                f"task='classification' needs N x C logits from the model, got shape {tuple(out.shape)}; "
                "use task='segmentation' for N x C x H x W output, or pass a custom loss"
            )
        logp64 = torch.log_softmax(out.detach().double(), dim=1).cpu()
        p = logp64.exp()
        n, c = p.shape
        top = p.argmax(dim=1)
        if self.kind == "argmax":
            return [_nll(top)], torch.ones(1, n, dtype=torch.float64)
        if c - 1 <= self.k:
            # Few classes: the expectation over labels is computed exactly.
            self.exact = True
            labels = [torch.full((n,), y, dtype=torch.long) for y in range(c)]
            weights = p.T.clone()
            return [_nll(y) for y in labels], weights
        # Stratified on the top class: E_y[f(g_y)] = p_top f(g_top) + (1 - p_top) E_{y != top}[f(g_y)].
        # The second term is sampled from the renormalised remaining classes, so a
        # confident model (p_top ~ 1) still contributes the rare labels that carry
        # most of its Fisher information, instead of drawing the top class K times.
        rest = p.clone()
        rest[torch.arange(n), top] = 0.0
        rest_mass = rest.sum(dim=1)
        safe = torch.where(rest_mass[:, None] > 0, rest, torch.ones_like(rest))
        draws = torch.multinomial(safe, self.k, replacement=True, generator=self.gen)  # (n, k)
        closures = [_nll(top)] + [_nll(draws[:, j]) for j in range(self.k)]
        weights = torch.cat([(1.0 - rest_mass)[None, :], (rest_mass / self.k)[None, :].expand(self.k, n)])
        return closures, weights

    def _segmentation(self, out: torch.Tensor) -> tuple[list[Any], torch.Tensor]:
        if out.dim() != 4:
            raise ValueError(
                f"task='segmentation' needs N x C x H x W logits from the model, got shape {tuple(out.shape)}"
            )
        logits = out.detach().double().cpu()
        n, c, h, w = logits.shape
        if self.kind == "argmax":
            return [_pixel_nll(logits.argmax(dim=1))], torch.ones(1, n, dtype=torch.float64)
        # Whole label maps, each pixel drawn independently from its own
        # distribution: the per-pixel terms are independent with zero mean, so
        # E[g g^T] of the map gradient is the sum of per-pixel Fishers.
        p = torch.softmax(logits, dim=1).permute(0, 2, 3, 1).reshape(-1, c)
        draws = torch.multinomial(p, self.k, replacement=True, generator=self.gen)  # (n h w, k)
        maps = draws.T.reshape(self.k, n, h, w)
        weights = torch.full((self.k, n), 1.0 / self.k, dtype=torch.float64)
        return [_pixel_nll(maps[j]) for j in range(self.k)], weights


def _detach(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.detach()
    if isinstance(out, (list, tuple)):
        return type(out)(_detach(o) for o in out)
    if isinstance(out, dict):
        return {k: _detach(v) for k, v in out.items()}
    return out


def _nll(labels: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    def loss(out: torch.Tensor) -> torch.Tensor:
        # Sum over images of each image's NLL: the gradient w.r.t. image i is its own.
        return F.cross_entropy(out, labels.to(out.device), reduction="sum")

    return loss


def _pixel_nll(labels: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    def loss(out: torch.Tensor) -> torch.Tensor:
        per_pixel = F.cross_entropy(out, labels.to(out.device), reduction="none")  # (n, h, w)
        return per_pixel.mean(dim=(1, 2)).sum()

    return loss


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
    labels = _Labels(loss, task, label_samples, gen)

    m_luma = torch.zeros(3, 3, 64, dtype=torch.float64)
    m_chroma = torch.zeros(3, 3, 64, dtype=torch.float64)
    abs_rgb = torch.zeros(3, 64, dtype=torch.float64)
    st_luma: list[torch.Tensor] = []
    st_luma_w: list[torch.Tensor] = []
    st_chroma: list[torch.Tensor] = []
    st_chroma_w: list[torch.Tensor] = []
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
                    if subsampled:
                        coef_c = block_dct(_box_sum(g, fx, fy))
                        _accumulate(coef_c, ws, m_chroma, None)
                        for i in range(n):
                            st_chroma.append(coef_c[i][:, masks[i]].permute(1, 0, 2).float())
                            st_chroma_w.append(_filled(int(masks[i].sum()), float(ws[i])))
            del out, x
            bar.update(n)
    finally:
        bar.close()

    n_img = len(images)
    stored_luma = torch.cat(st_luma).numpy()
    stored_luma_w = torch.cat(st_luma_w).numpy()
    if subsampled:
        stored_chroma = torch.cat(st_chroma).numpy()
        stored_chroma_w = torch.cat(st_chroma_w).numpy()
        moment_chroma = (m_chroma / (n_img * chroma_per_image)).numpy()
    else:
        stored_chroma, stored_chroma_w = stored_luma, stored_luma_w
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
        loss_kind=kind,
        label_samples=label_samples if kind == "sampled" else 1,
        estimator=estimator,
        extra={"backward_passes_per_image": used_samples, "padded_size": [wp, hp]},
    )


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


def plane_matrices(weights: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(M, A): M maps RGB coefficients to G-YUV ones, A maps RGB gradients to plane gradients.

    M is the encoder's forward matrix (what the planes really are) and
    ``A = N^T`` with N the decoder's inverse matrix: a plane error e reaches the
    model as the RGB error N e, so dL/de = N^T dL/drgb exactly. With real
    weights N = M^-1 and A = M^-T; :mod:`pillow_grace.colour` rounds both to
    1/1024, so they agree to about 1e-3."""
    m = colour.forward_matrix(weights)[:, :3]
    return m, colour.inverse_matrix(weights)[:, :3].T


def plane_statistics(probe: RGBProbe, weights: tuple[float, float, float]) -> dict[str, np.ndarray]:
    """The G-YUV perception (3 x 64 each) for ``weights``, from one RGB probe.

    Returns ``grad_abs_mean``, ``grad_sq_mean`` and ``coef_abs_mean``: Y over
    full-resolution blocks, U and V over the chroma block geometry."""
    _, a = plane_matrices(weights)
    sq = np.empty((3, 64))
    sq[0] = np.einsum("i,ijk,j->k", a[0], probe.moment_luma, a[0])
    for c in (1, 2):
        sq[c] = np.einsum("i,ijk,j->k", a[c], probe.moment_chroma, a[c])
    sq = np.maximum(sq, 0.0)  # a quadratic form of a PSD matrix; clip float round-off
    ab = np.empty((3, 64))
    ab[0] = _weighted_abs_mean(probe.stored_luma, probe.stored_luma_w, a[0])
    for c in (1, 2):
        ab[c] = _weighted_abs_mean(probe.stored_chroma, probe.stored_chroma_w, a[c])
    coef = coefficient_abs_mean(probe.images, weights, probe.subsampling)
    return {"grad_abs_mean": ab, "grad_sq_mean": sq, "coef_abs_mean": coef}


def _weighted_abs_mean(blocks: np.ndarray, w: np.ndarray, row: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(blocks).double()  # (M, 3, 64)
    g = torch.einsum("c,mck->mk", torch.from_numpy(row), t).abs()
    wt = torch.from_numpy(w)
    return (torch.einsum("m,mk->k", wt, g) / wt.sum()).numpy()


def coefficient_abs_mean(images: Sequence[np.ndarray], weights: tuple[float, float, float],
                         subsampling: str) -> np.ndarray:
    """(3, 64) E|s| of the level-shifted G-YUV plane coefficients, as libjpeg would code them.

    Planes are computed without rounding (the Laplacian scale does not care),
    edge-padded to whole MCUs, chroma box-averaged when subsampled."""
    m, _ = plane_matrices(weights)
    mt = torch.from_numpy(m)
    (_, _), (fx, fy) = geometry(subsampling)
    h, w = images[0].shape[:2]
    hp, wp = _padded(h, w, subsampling)
    sums = torch.zeros(3, 64, dtype=torch.float64)
    for im in images:
        rgb = torch.tensor(im, dtype=torch.float64).permute(2, 0, 1) - 128.0  # (3, h, w); copies
        planes = torch.einsum("cd,dhw->chw", mt, rgb)
        planes = F.pad(planes[None], (0, wp - w, 0, hp - h), mode="replicate")[0]
        sums[0] += block_dct(planes[0]).abs().sum(dim=(0, 1))
        chroma = _box_sum(planes[1:], fx, fy) / (fx * fy)
        sums[1:] += block_dct(chroma).abs().sum(dim=(1, 2))
    luma_blocks = len(images) * (hp // 8) * (wp // 8)
    chroma_blocks = len(images) * (hp // fy // 8) * (wp // fx // 8)
    out = sums.numpy()
    out[0] /= luma_blocks
    out[1:] /= chroma_blocks
    return out

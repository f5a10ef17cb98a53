"""Which labels the probe differentiates, and with what weight.

The Fisher information E_y[g g^T] is an expectation over labels y drawn from
the model's own output. For a classifier it is taken with the top-1 label
exactly and a few labels sampled from the rest (stratified, so a confident
model still contributes the rare labels that carry most of its Fisher
information); for a segmenter, whole label maps are sampled pixel by pixel.
The paper's "argmax" loss (NLL of the clean top-1) and custom losses are
the alternatives. Each closure here costs one backward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

LossArg = str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSS_KINDS = ("sampled", "argmax")


class Labels:
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

"""Pieces shared by all zoo adapters: the frozen pipeline wrapper and probing losses.

Losses compare the model's output on a (possibly degraded) frame with its output
on the clean frame. Targets are *hardened* (argmax / thresholded) on purpose:
a loss whose target is the clean output itself (soft targets) has its minimum,
and hence a zero gradient, exactly at the clean frame, which is where GRACE
takes its gradients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pillow_grace.zoo.preprocess import _check_image_batch


class FrozenPipeline(nn.Module):
    """``preprocess -> net -> head`` as one module that stays in eval mode.

    Args:
        preprocess: differentiable frame -> network-input transform.
        net: the network proper (parameters frozen by the caller).
        head: optional differentiable map of the raw network output to the
            zoo contract (e.g. 1-channel logits -> 2-class logits).
    """

    def __init__(self, preprocess: nn.Module, net: nn.Module, head: nn.Module | None = None) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.net = net
        self.head = head if head is not None else nn.Identity()
        super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image_batch(x)
        return self.head(self.net(self.preprocess(x)))

    def train(self, mode: bool = True) -> FrozenPipeline:
        """Refuse training mode: BatchNorm would switch to batch statistics and break probing."""
        if mode:
            raise RuntimeError(
                "zoo models are frozen inference pipelines; fine-tune the underlying network "
                "(ZooModel.module.net) on a copy instead of calling .train() on the pipeline"
            )
        return super().train(False)


class SigmoidToTwoClassLogits(nn.Module):
    """Map 1-channel logits z to 2-class logits [0, z].

    softmax([0, z]) = (1 - sigmoid(z), sigmoid(z)), so class 1 is "text" with
    exactly the probability the original sigmoid head gives.
    """

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 4 or z.shape[1] != 1:
            raise ValueError(f"expected N x 1 x h x w logits, got {tuple(z.shape)}")
        return torch.cat([torch.zeros_like(z), z], dim=1)


def classification_loss(output: torch.Tensor, clean_output: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of ``output`` logits against the clean top-1 class (pseudo-label)."""
    target = clean_output.detach().argmax(dim=1)
    return F.cross_entropy(output, target)


def segmentation_loss(output: torch.Tensor, clean_output: torch.Tensor) -> torch.Tensor:
    """Per-pixel cross-entropy against the clean per-pixel argmax (pseudo-labels), averaged."""
    if output.shape != clean_output.shape:
        raise ValueError(f"output {tuple(output.shape)} and clean_output {tuple(clean_output.shape)} differ")
    target = clean_output.detach().argmax(dim=1)
    return F.cross_entropy(output, target)


def sigmoid_segmentation_model(
    name: str,
    input_size: tuple[int, int],
    preprocess: nn.Module,
    net: nn.Module,
    description: str,
    source: str,
    **extra: object,
) -> dict[str, object]:
    """``ZooModel`` keyword arguments for a segmenter whose net ends in 1-channel logits.

    The head maps them to 2-class logits [0, z] (:class:`SigmoidToTwoClassLogits`),
    the loss is :func:`segmentation_loss`; ``extra`` (e.g. ``labels``) is passed through.
    """
    return {
        "name": name,
        "task": "segmentation",
        "input_size": input_size,
        "module": FrozenPipeline(preprocess, net, SigmoidToTwoClassLogits()),
        "description": description,
        "loss": segmentation_loss,
        "source": source,
        **extra,
    }

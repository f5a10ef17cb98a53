"""Tiny models with known perception, and probe images, for the fitter's tests.

Also importable as ``grace_fit_models:<factory>`` by ``grace fit --model`` in
the CLI tests (pytest puts this folder on sys.path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pillow_grace.fit.dct import block_dct, block_idct


def _init(module: nn.Module, seed: int, scale: float = 0.5) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
    return module.eval()


def head(in_ch: int = 3, classes: int = 10, seed: int = 0) -> nn.Module:
    """conv -> relu -> conv -> global pool -> linear: a small but nonlinear classifier."""
    return _init(nn.Sequential(
        nn.Conv2d(in_ch, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, classes),
    ), seed)


class Classifier(nn.Module):
    """(x - 0.5) / 0.25 -> head; ``temperature`` < 1 makes it confident."""

    def __init__(self, classes: int = 10, seed: int = 0, temperature: float = 1.0) -> None:
        super().__init__()
        self.net = head(3, classes, seed)
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - 0.5) / 0.25) / self.temperature


class BlockDC(nn.Module):
    """Sees only each aligned 8x8 block's mean: blind to every AC frequency."""

    def __init__(self, classes: int = 10, seed: int = 0) -> None:
        super().__init__()
        self.net = head(3, classes, seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((F.avg_pool2d(x, 8) - 0.5) / 0.25)


class LowPass(nn.Module):
    """Keeps block-DCT bins with u < cut and v < cut: blind to the rest."""

    def __init__(self, cut: int = 4, classes: int = 10, seed: int = 0) -> None:
        super().__init__()
        self.net = head(3, classes, seed)
        u, v = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
        self.register_buffer("mask", torch.tensor(((u < cut) & (v < cut)).reshape(-1), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = x[..., : h - h % 8, : w - w % 8]
        y = block_idct(block_dct(x) * self.mask)
        return self.net((y - 0.5) / 0.25)


class Luma(nn.Module):
    """Sees only Y = wr R + wg G + wb B: colour-blind with known G-YUV weights."""

    def __init__(self, weights: tuple[float, float, float] = (0.2, 0.5, 0.3), classes: int = 10,
                 seed: int = 0) -> None:
        super().__init__()
        self.net = head(1, classes, seed)
        self.register_buffer("w", torch.tensor(weights, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(((x * self.w).sum(1, keepdim=True) - 0.5) / 0.25)


class BlueBlind(nn.Module):
    """Ignores the blue channel entirely."""

    def __init__(self, classes: int = 10, seed: int = 0) -> None:
        super().__init__()
        self.net = head(2, classes, seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x[:, :2] - 0.5) / 0.25)


class Segmenter(nn.Module):
    """N x C x H/2 x W/2 logits."""

    def __init__(self, classes: int = 3, seed: int = 0) -> None:
        super().__init__()
        self.net = _init(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                                       nn.Conv2d(8, classes, 3, stride=2, padding=1)), seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - 0.5) / 0.25)


def images(n: int = 3, size: tuple[int, int] = (64, 48), seed: int = 0) -> list[np.ndarray]:
    """Photo-like uint8 frames: smooth colour fields, a few discs, sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = []
    for _ in range(n):
        img = np.empty((h, w, 3))
        for c in range(3):
            fx, fy = rng.uniform(0.02, 0.2, 2)
            img[..., c] = 128 + 70 * np.sin(fx * x + fy * y + rng.uniform(0, 6.3))
        for _ in range(3):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(4, 14)
            img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 8, img.shape)
        out.append(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return out


# -- factories for ``grace fit --model grace_fit_models:<name>`` --------------------
def tiny_factory() -> nn.Module:
    return Classifier(classes=20)


@dataclass
class ZooLike:
    name: str
    task: str
    input_size: tuple[int, int]
    module: nn.Module
    description: str = "tiny zoo-like test model"
    loss: Any = None


def zoo_like_factory() -> ZooLike:
    return ZooLike("tiny-zoo", "classification", (32, 24), Classifier(classes=20, seed=3))

"""Helpers for the benchmark tests: a tiny classifier, a hand-built strategy, synthetic photos.

Everything is built here, offline and in milliseconds, so these tests never need
the model zoo or the fitter. (A module with a unique name rather than conftest.py:
several test packages have a conftest, and ``from conftest import`` would be ambiguous.)"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from pillow_grace.core import tables
from pillow_grace.core.strategy import Perception, Strategy
from pillow_grace.evaluate.images import image_fingerprint
from pillow_grace.evaluate.photos import BenchImage

try:
    import torch

    from pillow_grace.bench.job import FactoryModel as TinyModel  # what --model module:factory gives
    from pillow_grace.zoo._base import FrozenPipeline
    from pillow_grace.zoo.preprocess import ResizeNormalize
except ImportError:  # conftest.py skips the modules that need torch
    torch = None  # type: ignore[assignment]


def tiny_classifier(seed: int = 0, size: tuple[int, int] = (48, 48)) -> TinyModel:
    """A random conv classifier behind a real zoo resize/normalise step."""
    g = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 10),
    )
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    pre = ResizeNormalize(size, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), mode="bilinear")
    module = FrozenPipeline(pre, net.eval())
    return TinyModel(f"tiny-cls-{seed}", "classification", size, module, "tiny test model", "tests")


def synthetic_photo(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Smooth colour gradients, a few blobs and sensor-like noise: passes the photo filter."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        fx, fy = rng.uniform(0.005, 0.05, 2).tolist()
        ph = rng.uniform(0, 6.28)
        img[..., c] = 128 + 80 * np.sin(fx * x + fy * y + ph)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 60)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        img[mask] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 6, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def bench_images(n: int = 4, size: tuple[int, int] = (320, 240), start: int = 0) -> list[BenchImage]:
    out = []
    for i in range(start, start + n):
        im = synthetic_photo(i, size)
        out.append(BenchImage(f"synthetic:photo{i}.png", im, "synthetic", image_fingerprint(im)))
    return out


def hand_strategy(name: str = "hand", provenance: dict[str, Any] | None = None, **changes: Any) -> Strategy:
    """A strategy with a made-up perception model, so qualities re-derive tables."""
    u, v = np.meshgrid(np.arange(8), np.arange(8))
    f = (u + v).reshape(-1).astype(np.float64)
    gsq = np.stack([1e-6 * np.exp(-f / 3), 1e-7 * np.exp(-f / 2), 1e-7 * np.exp(-f / 2)])
    cabs = np.stack([30 * np.exp(-f / 4) + 1, 10 * np.exp(-f / 3) + 0.5, 10 * np.exp(-f / 3) + 0.5])
    cabs[:, 0] = [300.0, 50.0, 50.0]
    per = Perception(tuple(map(tuple, np.sqrt(gsq))), tuple(map(tuple, gsq)), tuple(map(tuple, cabs)))
    tabs, alloc = tables.derive_allocation(per, "lagrangian", quality=75)
    kw: dict[str, Any] = dict(
        name=name,
        task="classification",
        weights=(0.3, 0.5, 0.2),
        tables=tabs,
        subsampling="4:4:4",
        perception=per,
        allocation=alloc,
        model_input_size=(48, 48),
        probe_resolution=(320, 240),
        provenance=provenance or {},
    )
    kw.update(changes)
    return Strategy(**kw)

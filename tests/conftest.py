"""Fixtures shared by every test package. Keep this small, generic and stable:
other test packages import these names.

* ``photo`` - a real RGB photo (Debian's opencv-doc ``fruits.jpg``, 512x480)
  or, where that package is missing, a synthetic 512x480 image with edges,
  gradients, texture and saturated colours.
* ``photos`` - a few such images (real when available), for measurements
  that should not hinge on one picture.
* ``make_strategy`` - factory for a valid hand-built :class:`Strategy` with a
  synthetic but plausible perception model; every field can be overridden.
* ``strategy`` - ``make_strategy()`` with the defaults.
* ``isolated_registry`` - an empty ``GRACE_STRATEGY_PATH`` directory (yielded)
  and freshly reset plugin state, restored after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pillow_grace
from pillow_grace import Strategy
from pillow_grace.core import registry
from pillow_grace.core import tables as grace_tables
from pillow_grace.core.strategy import Allocation, Perception

PHOTO_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
PHOTO_NAMES = ("fruits.jpg", "baboon.jpg", "building.jpg", "HappyFish.jpg")


def synthetic_photo(width: int = 512, height: int = 480, seed: int = 0) -> Image.Image:
    """Deterministic RGB image with what JPEG finds hard: sharp edges, smooth
    gradients, fine texture, saturated colours."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.empty((height, width, 3))
    img[..., 0] = 255 * x / width
    img[..., 1] = 128 + 100 * np.sin(x / 9.0) * np.cos(y / 13.0)
    img[..., 2] = 255 * y / height
    # Sharp-edged saturated blocks and a disc.
    img[height // 8 : height // 3, width // 8 : width // 3] = (230, 20, 30)
    img[height // 2 : height // 2 + 60, width // 2 : width // 2 + 90] = (20, 40, 220)
    disc = (x - 0.75 * width) ** 2 + (y - 0.3 * height) ** 2 < (height / 7) ** 2
    img[disc] = (250, 230, 10)
    # Fine texture.
    img += rng.normal(0, 12, size=img.shape)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")


def _load_photos() -> list[Image.Image]:
    found = [PHOTO_DIR / n for n in PHOTO_NAMES if (PHOTO_DIR / n).is_file()]
    if found:
        return [Image.open(p).convert("RGB") for p in found]
    return [synthetic_photo(seed=s) for s in range(len(PHOTO_NAMES))]


@pytest.fixture(scope="session")
def photos() -> list[Image.Image]:
    """A few RGB photos (real when opencv-doc is installed). Do not modify them."""
    return _load_photos()


@pytest.fixture(scope="session")
def photo(photos: list[Image.Image]) -> Image.Image:
    """One RGB photo (fruits.jpg when available). Do not modify it; .copy() first."""
    return photos[0]


def synthetic_perception(chroma: float = 0.3) -> Perception:
    """A perception model shaped like a real one: sensitivity and coefficient
    magnitude fall with frequency, chroma matters ``chroma`` times as much as
    luma. Scaled so that quality 1..100 spans tables from coarse to all-ones."""
    u, v = np.meshgrid(np.arange(8), np.arange(8))
    r = (u + v).reshape(-1).astype(np.float64)
    coef = np.stack([60 / (1 + r) ** 1.3 + 0.5, 25 / (1 + r) ** 1.6 + 0.3, 25 / (1 + r) ** 1.6 + 0.3])
    coef[:, 0] = (200.0, 40.0, 40.0)
    g_sq = np.stack([s * 4e-6 * np.exp(-r / 4) for s in (1.0, chroma, chroma)])
    return Perception(np.sqrt(g_sq) * 0.8, g_sq, coef)


@pytest.fixture(scope="session")
def make_strategy() -> Callable[..., Strategy]:
    """``make_strategy(name=..., weights=..., tables=..., perception=..., **fields)``.

    Defaults: name "test-strategy", task "classification", weights
    (0.3, 0.5, 0.2), the synthetic perception model, and tables derived
    from it at quality 50 with the Lagrangian allocation (recorded in
    ``allocation``). ``tables="ones"`` gives all-ones tables;
    ``perception=None`` makes a strategy without a perception model."""
    sentinel: Any = object()

    def make(
        name: str = "test-strategy",
        *,
        weights: tuple[float, float, float] = (0.3, 0.5, 0.2),
        tables: Any = None,
        perception: Any = sentinel,
        task: str = "classification",
        quality: int = 50,
        **fields: Any,
    ) -> Strategy:
        if perception is sentinel:
            perception = synthetic_perception()
        allocation = fields.pop("allocation", None)
        if tables == "ones":
            tables = ((1,) * 64,) * 3
        if tables is None:
            if perception is None:
                raise ValueError("give tables when perception is None")
            param = grace_tables.quality_to_parameter("lagrangian", quality, perception)
            tables = grace_tables.derive_tables(perception, "lagrangian", param)
            allocation = allocation or Allocation("lagrangian", param, quality)
        fields.setdefault("description", "hand-built test strategy")
        fields.setdefault("provenance", {"probe_images": 0, "library_version": pillow_grace.__version__})
        return Strategy(
            name=name, task=task, weights=weights, tables=tables, perception=perception,
            allocation=allocation, **fields,
        )

    return make



@pytest.fixture
def strategy(make_strategy: Callable[..., Strategy]) -> Strategy:
    return make_strategy()


@pytest.fixture
def isolated_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty strategy directory as the only GRACE_STRATEGY_PATH entry, and
    plugin state reset before and after (entry points are re-scanned)."""
    d = tmp_path / "strategies"
    d.mkdir()
    monkeypatch.setenv(registry.ENV_VAR, str(d))
    registry.reset_plugins()
    yield d
    registry.reset_plugins()

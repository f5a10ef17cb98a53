"""The engine's inner loop for one model: encode -> decode -> model -> distance.

The fit's validation (:mod:`pillow_grace.fit.select`) judges candidate
tables with it on held-out probe images; ``grace bench`` runs the same steps
in bulk (:mod:`.runner`, with task scorers instead of one distance). Both
write files with the same writers (:func:`.codecs.write_grace`,
:func:`.libjpeg.write_jpeg`), decode them as a server would
(:func:`.codecs.read_rgb`) and feed the model the same tensor
(:func:`.smart.to_tensor`); the divergence is :func:`.measures.kl_divergence`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from pillow_grace.evaluate.codecs import read_rgb
from pillow_grace.evaluate.measures import as_numpy, kl_divergence
from pillow_grace.evaluate.smart import to_tensor

#: Bytes a device sends for one RGB frame (H x W x 3 uint8).
Encoder = Callable[[np.ndarray], bytes]
#: How far a decoded frame's output lands from the clean one (0: no damage).
Distance = Callable[[Any, Any], float]


def kl_distance(clean: Any, out: Any) -> float:
    """KL(clean || decoded) of class scores (N x C) or per-pixel maps (N x C x H x W), averaged
    over images and pixels (the default distance of the built-in tasks)."""
    return float(kl_divergence(as_numpy(clean), as_numpy(out), axis=1).mean())


def loss_distance(loss: Callable[[Any, Any], torch.Tensor]) -> Distance:
    """The model's own loss between decoded and clean outputs, minus its value on the clean
    output itself (detection and custom tasks).

    A probing loss need not vanish at the clean output (a BCE against the clean
    scores as soft labels is their entropy there), so only the excess measures
    damage: zero for a perfect decode, like the KL of the built-in tasks."""

    def distance(clean: Any, out: Any) -> float:
        return max(float(loss(out, clean)) - float(loss(clean, clean)), 0.0)

    return distance


class Judge:
    """Runs the model on decoded frames and measures how far each lands from the clean output.

    Clean outputs are computed once per image ``key`` (the caller's index)."""

    def __init__(self, module: Any, distance: Distance) -> None:
        self.module = module
        self.distance = distance
        self._clean: dict[int, Any] = {}

    @torch.no_grad()
    def _run(self, image: Any) -> Any:
        return self.module(to_tensor(image))

    def loss(self, key: int, image: np.ndarray, data: bytes) -> float:
        """The distance of the model's output on ``data`` decoded from its output on ``image``."""
        if key not in self._clean:
            self._clean[key] = self._run(image)
        return self.distance(self._clean[key], self._run(read_rgb(data)))

    def points(self, images: Sequence[tuple[int, np.ndarray]], encode: Encoder) -> list[tuple[float, float]]:
        """(bits, distance) of each keyed image encoded by ``encode``."""
        out = []
        for key, image in images:
            data = encode(image)
            out.append((8.0 * len(data), self.loss(key, image, data)))
        return out

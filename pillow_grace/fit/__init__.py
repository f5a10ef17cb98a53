"""Offline fitting of GRACE strategies (needs torch; ``pip install pillow-grace[fit]``).

Usage::

    from pillow_grace.fit import fit_strategy, resize_normalize
    model = resize_normalize(my_net, (224, 224))      # frame in [0, 1] -> logits
    strategy = fit_strategy(model, frames, name="my-net", model_input_size=(224, 224))
    strategy.save("my-net.json")

:func:`image_fingerprint` and the merge helpers work without torch; torch is
imported only when a torch-backed name (``fit_strategy``, ``probe_rgb``,
``resize_normalize``, ...) is first used. See ``docs/fitting.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

from pillow_grace.evaluate.images import fit_to_capture, image_fingerprint
from pillow_grace.fit.merge import merge_strategies

# name -> submodule that defines it (imported on first use: these need torch).
_LAZY = {
    "fit_strategy": ".fitter",
    "DEFAULT_QUALITY": ".fitter",
    "DEFAULT_LABEL_SAMPLES": ".fitter",
    "probe_rgb": ".probe",
    "plane_statistics": ".planes",
    "perception_for": ".planes",
    "RGBProbe": ".probe",
    "resize_normalize": ".pipelines",
    "imagenet_classifier": ".pipelines",
}

__all__ = ["fit_to_capture", "image_fingerprint", "merge_strategies", *_LAZY]


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    try:
        mod = importlib.import_module(module, __name__)
    except ModuleNotFoundError as e:
        if e.name == "torch":
            raise ImportError(
                f"pillow_grace.fit.{name} needs torch; install it with: pip install 'pillow-grace[fit]'"
            ) from e
        raise
    return getattr(mod, name)

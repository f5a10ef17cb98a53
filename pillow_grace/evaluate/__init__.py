"""The evaluation engine: encode -> decode -> model -> distance, and the statistics on top.

Used by the fit's validation and by ``grace bench`` alike. It holds the
codec settings under test and the reference JPEG writer (:mod:`.codecs`,
:mod:`.libjpeg`), loading photos as camera frames (:mod:`.images`,
:mod:`.photos`, :mod:`.capture`, :mod:`.labels`, :mod:`.probes`), the
device/server split of a model's preprocessing (:mod:`.smart`), the
distances and per-task scorers (:mod:`.measures`, :mod:`.metrics`), the
sweep (:mod:`.runner`), its one-model form for the fit's validation
(:mod:`.judge`) and its frame-by-frame form for ROI coding (:mod:`.stream`),
how a model is named and loaded (:mod:`.models`), BD-rate and bootstrap
summaries (:mod:`.bdrate`, :mod:`.analysis`) and progress bars
(:mod:`.progress`).

Importing this package is cheap; torch is imported by the modules that run models.
"""

from __future__ import annotations

from pillow_grace.evaluate.bdrate import BDResult, bd_rate, pareto_frontier

__all__ = ["BDResult", "bd_rate", "pareto_frontier"]

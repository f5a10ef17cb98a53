"""``grace bench``: rate–accuracy evidence for GRACE against what users would pick instead.

Modules, one job each:

* :mod:`~pillow_grace.bench.images`: photo sets, the photo filter, capture sizes, labels,
  probe/evaluation separation;
* :mod:`~pillow_grace.bench.codecs`: the codec settings under test (GRACE, JPEG 4:2:0/4:4:4,
  WebP, jpegli, smart resize-on-device JPEG);
* :mod:`~pillow_grace.bench.smart`: the device/server split of a model's preprocessing;
* :mod:`~pillow_grace.bench.metrics`: accuracy measures against the clean output;
* :mod:`~pillow_grace.bench.runner`: the sweep (encode, decode, model, score);
* :mod:`~pillow_grace.bench.bdrate`, :mod:`~pillow_grace.bench.analysis`: BD-rate and bootstrap;
* :mod:`~pillow_grace.bench.report`: tables, JSON, plots, markdown;
* :mod:`~pillow_grace.bench.ablations`, :mod:`~pillow_grace.bench.job`,
  :mod:`~pillow_grace.bench.results`: ablations, one job end to end, the results page;
* :mod:`~pillow_grace.bench.cli`: the ``grace bench`` command.

Importing this package is cheap; torch is imported by the modules that run models.
"""

from __future__ import annotations

from .bdrate import BDResult, bd_rate, pareto_frontier

__all__ = ["BDResult", "bd_rate", "pareto_frontier"]

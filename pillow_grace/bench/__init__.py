"""``grace bench``: rate–accuracy evidence for GRACE against what users would pick instead.

An evaluation engine over the public API: it knows no photo collection, no
machine and no results page (those are the repository's ``benchmarks/``
tooling, which registers its photo sets with :mod:`~pillow_grace.bench.sources`).
Modules, one job each:

* :mod:`~pillow_grace.bench.photos`: the photo filter, loading a folder of photos;
* :mod:`~pillow_grace.bench.sources`: named photo sets and probe-photo places (a registry);
* :mod:`~pillow_grace.bench.capture`: how a photo becomes a camera frame;
* :mod:`~pillow_grace.bench.labels`: ground-truth labels files;
* :mod:`~pillow_grace.bench.probes`: probe/evaluation separation by fingerprint;
* :mod:`~pillow_grace.bench.codecs`: the codec settings under test (GRACE, JPEG 4:2:0/4:4:4,
  WebP, jpegli, smart resize-on-device JPEG);
* :mod:`~pillow_grace.bench.smart`: the device/server split of a model's preprocessing;
* :mod:`~pillow_grace.bench.measures`, :mod:`~pillow_grace.bench.metrics`: accuracy measures
  against the clean output, and the per-task scorers built on them;
* :mod:`~pillow_grace.bench.runner`: the sweep (encode, decode, model, score);
* :mod:`~pillow_grace.bench.bdrate`, :mod:`~pillow_grace.bench.analysis`: BD-rate and bootstrap;
* :mod:`~pillow_grace.bench.report`, :mod:`~pillow_grace.bench.export`,
  :mod:`~pillow_grace.bench.plot`: text and markdown, JSON, the PNG plot;
* :mod:`~pillow_grace.bench.job`: one job end to end;
* :mod:`~pillow_grace.bench.ablations`, :mod:`~pillow_grace.bench.studies`: ablation variants,
  and studies of several sweeps (an ablation, the cross-model table);
* :mod:`~pillow_grace.bench.cli`: the ``grace bench`` command.

Importing this package is cheap; torch is imported by the modules that run models.
"""

from __future__ import annotations

from .bdrate import BDResult, bd_rate, pareto_frontier

__all__ = ["BDResult", "bd_rate", "pareto_frontier"]

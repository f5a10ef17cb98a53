"""The main job: what ``grace bench`` measures with no arguments (the README's command).

One home for these values, read by :class:`~pillow_grace.bench.job.BenchJob`
(its defaults) and by the command line's help (:mod:`~pillow_grace.bench.cli`,
which must stay cheap to import: no torch here).
"""

from __future__ import annotations

#: The shipped strategy ...
DEFAULT_STRATEGY = "efficientnet-lite0"
#: ... at this capture ...
DEFAULT_CAPTURE = "1280x720"
#: ... on native photos, never upscaled (a set of benchmarks/packaged-sets.toml, installed with
#: the repository's photo sets: see :mod:`pillow_grace.bench.sources`) ...
DEFAULT_IMAGES = "native720"
#: ... at most this many of them, evenly spread, so that it stays a few minutes on 2 cores
#: (``--images native720`` uses them all).
DEFAULT_MAX_IMAGES = 12
#: Where ``grace bench`` writes its JSON, plot and markdown.
DEFAULT_OUT = "bench-out"

"""The repository's benchmark tooling: not shipped in the wheel.

Photo sets (:mod:`benchmarks.photo_sets`), the results page
(:mod:`benchmarks.results`), machine facts (:mod:`benchmarks.machine`) and the
timing scripts (``speed.py``, ``fit_timing.py``, ...). They build on the
library's evaluation engine, :mod:`pillow_grace.bench`. Scripts run as
``python benchmarks/NAME.py`` from the checkout (see :mod:`benchmarks._path`).
"""

"""Regenerate docs/results.md (tables, plots under docs/img/, docs/results.json).

    python benchmarks/results.py               # every shipped strategy, ~1 h on 2 cores
    python benchmarks/results.py --quiet       # without progress bars

Any further options are passed to ``grace bench --all`` (see docs/benchmarking.md),
e.g. ``--max-images 8 --bootstrap 200`` for a quick check of the page generator.
Full JSON with per-image values lands in bench-out/results/.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pillow_grace.bench.cli import main

if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    args = [
        "bench",
        "--all",
        "--markdown",
        str(root / "docs" / "results.md"),
        "--out",
        str(root / "bench-out" / "results"),
        *sys.argv[1:],
    ]
    sys.exit(main(args))

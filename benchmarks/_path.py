"""Make ``import benchmarks.X`` work for a script run as ``python benchmarks/NAME.py``.

Python puts the script's folder, not the checkout, on ``sys.path``; a script
imports this module (found in its own folder) before importing ``benchmarks``."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

"""The sweep tests need torch for the tiny model; without it only the torch-free ones run."""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("torch") is None:
    collect_ignore = ["test_sweep.py", "test_smart.py"]

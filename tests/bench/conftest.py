"""The ``grace bench`` tests need torch for the tiny model; without it they are not collected."""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("torch") is None:
    collect_ignore = ["test_cli.py"]

"""The [bench] extra names exactly what the installed package's bench and
evaluation engine import beyond the core dependencies: no more (a user would
download packages nothing imports), no fewer (``grace bench`` would fail)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).parents[2]
#: Import name -> distribution name, where they differ.
DISTRIBUTION = {"PIL": "pillow", "cv2": "opencv-python-headless"}
OWN = {"pillow_grace", "grace_opencv"}


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def imported_distributions(*folders: str) -> set[str]:
    found: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    tops = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    tops = [node.module.split(".")[0]]
                else:
                    continue
                found.update(DISTRIBUTION.get(t, t).lower() for t in tops
                             if t not in sys.stdlib_module_names and t not in OWN)
    return found


def test_bench_extra_is_what_bench_and_the_engine_import() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = requirement_names(project["dependencies"])
    bench = requirement_names(project["optional-dependencies"]["bench"])
    imported = imported_distributions("pillow_grace/bench", "pillow_grace/evaluate")
    assert imported - core == bench

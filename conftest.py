"""Every Python block of README.md, CONTRIBUTING.md and docs/*.md is a test (sybil).

A reader pastes one block into a fresh interpreter in an empty directory, so
each block runs exactly so: alone (its own namespace, nothing carried over
from the block above) and with an empty temporary directory as the working
directory. A block that needs an optional extra (torch for fitting, OpenCV
for ``grace_opencv``) is skipped where that extra is not installed, as the
rest of the suite is. A block that cannot run by nature (a signature) is
marked ``<!-- skip: next -->`` in the page; keep those rare.

The generated pages under docs/ subdirectories are not collected.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from sybil import Example, Sybil
    from sybil.evaluators.python import pad
    from sybil.parsers.markdown import CodeBlockParser, SkipParser
except ImportError:  # the dev extra is not installed: the pages are reported as skipped below
    Sybil = None

ROOT = Path(__file__).resolve().parent
#: The pages whose Python blocks are tests.
PATTERNS = ("README.md", "CONTRIBUTING.md", "docs/*.md")

#: Top-level module a block imports -> the module that must be importable to run it.
OPTIONAL = {"torch": "torch", "torchvision": "torchvision", "cv2": "cv2", "grace_opencv": "cv2"}
#: Submodules that import an optional module themselves when used.
OPTIONAL_SUBMODULES = {"pillow_grace.fit": "torch"}


def _needs(source: str) -> set[str]:
    """Optional modules the block imports, directly or through a submodule that needs them."""
    needed = set()
    # Only the block's own imports: one inside a function runs only where it is called.
    for node in ast.parse(source).body:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in OPTIONAL:
                needed.add(OPTIONAL[top])
            needed.update(dep for prefix, dep in OPTIONAL_SUBMODULES.items()
                          if name == prefix or name.startswith(prefix + "."))
    return needed


def run_alone(example: Example) -> None:
    """Run one block in a fresh namespace with an empty working directory."""
    for module in sorted(_needs(example.parsed)):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module}, which is not installed")
    example.namespace["monkeypatch"].chdir(example.namespace["tmp_path"])
    source = pad(example.parsed, example.line + example.parsed.line_offset)
    try:
        exec(compile(source, example.path, "exec", dont_inherit=True), {"__name__": "__main__"})
    except Exception as e:
        # sybil's pytest report trims each traceback of a chain to the example's frames and
        # fails on a chained one that has none (an error raised from or while handling
        # another): report the error the block raised, without its cause or context.
        e.__cause__ = None
        e.__suppress_context__ = True
        raise


class _NeedsSybil(pytest.Item):
    def runtest(self) -> None:
        pytest.skip("the doc examples need sybil: pip install -e '.[dev]'")


class _PageWithoutSybil(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield _NeedsSybil.from_parent(self, name="examples")


def _pytest_collect_without_sybil(file_path: Path, parent: Any) -> pytest.File | None:
    relative = file_path.resolve().relative_to(ROOT) if file_path.resolve().is_relative_to(ROOT) else None
    if relative is not None and any(relative.match(p) for p in PATTERNS):
        return _PageWithoutSybil.from_parent(parent, path=file_path)
    return None


if Sybil is None:
    pytest_collect_file = _pytest_collect_without_sybil
else:
    pytest_collect_file = Sybil(
        parsers=[CodeBlockParser("python", run_alone), SkipParser()],
        patterns=list(PATTERNS),
        fixtures=["tmp_path", "monkeypatch"],
    ).pytest()

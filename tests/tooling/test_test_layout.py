"""The test suite's own rules: shared helpers live in tests/support (or a conftest),
never in another test module, so that each test module can be read, run and
moved on its own."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parents[1]


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.extend([base] if node.module else [f"{base}{a.name}" for a in node.names])
    return names


def test_no_test_module_imports_another() -> None:
    offenders = [
        f"{path.relative_to(TESTS)} imports {name}"
        for path in sorted(TESTS.rglob("test_*.py"))
        for name in imported_modules(path)
        if name.rsplit(".", 1)[-1].startswith("test_")
    ]
    assert offenders == [], "move shared helpers to tests/support: " + "; ".join(offenders)

"""docs/architecture.md lists every module and script, and nothing that is gone.

The page is how a contributor finds where a rule lives; a module added
without a line there, or a line left for a module removed, makes it lie.
Names are matched by file name in backticks (``plan.py``), as the page
writes them in its tables.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"
#: The trees the page describes, and the kinds of file it names there.
TREES = ("pillow_grace", "grace_opencv", "benchmarks", "scripts")
KINDS = (".py", ".sh", ".toml", ".txt", ".csv")
#: Files no contributor looks for on the page: package markers and generated data.
UNLISTED = {"__init__.py", "_version.py"}
#: Names the page uses as placeholders in commands (``python benchmarks/NAME.py``,
#: ``path/to/file.py:factory``); a real file name starts with a lower-case letter or ``_``.
PLACEHOLDERS = {"file.py"}


def _files() -> set[str]:
    names = set()
    for tree in TREES:
        for path in (ROOT / tree).rglob("*"):
            built = "__pycache__" in path.parts or any(part.endswith(".egg-info") for part in path.parts)
            if path.is_file() and path.suffix in KINDS and not built:
                names.add(path.name)
    return names - UNLISTED


def _named_on_page() -> set[str]:
    text = PAGE.read_text(encoding="utf-8")
    found = set()
    for code in re.findall(r"`([^`\n]+)`", text):
        for word in re.findall(r"[A-Za-z0-9_./-]+", code):
            name = word.rsplit("/", 1)[-1]
            if name.endswith(KINDS) and re.match(r"[a-z_][\w.-]*\.\w+$", name) and name not in PLACEHOLDERS:
                found.add(name)
    return found


def test_every_module_and_script_is_on_the_page() -> None:
    missing = sorted(_files() - _named_on_page())
    assert not missing, f"docs/architecture.md does not name: {missing}"


def test_the_page_names_no_file_that_is_gone() -> None:
    everything = {p.name for p in ROOT.rglob("*") if p.is_file() and ".git" not in p.parts}
    gone = sorted(_named_on_page() - everything)
    assert not gone, f"docs/architecture.md names files that do not exist: {gone}"

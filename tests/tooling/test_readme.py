"""The README stays a short page for users: what it is, install, use, one results table, links."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_short() -> None:
    lines = README.splitlines()
    assert len(lines) <= 110, f"README.md has {len(lines)} lines; move detail to docs/ (issue #17: <= 110)"


def test_the_readme_keeps_the_two_fresh_machine_commands() -> None:
    assert "bash scripts/setup.sh && .venv/bin/grace bench" in README
    assert "bash scripts/setup.sh && .venv/bin/python -m pytest" in README


def test_the_readme_holds_no_history() -> None:
    """History (what changed, before/after figures, commit ids) goes to CHANGELOG.md and design notes."""
    commit_ids = re.findall(r"\bcommit [0-9a-f]{7,40}\b", README)
    assert not commit_ids, f"README.md names commits {commit_ids}; history belongs in CHANGELOG.md"
    assert not re.search(r"^#+ .*(what changed|history)", README, re.I | re.M)

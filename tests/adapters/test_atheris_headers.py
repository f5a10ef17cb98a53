"""Runs the atheris fuzz target for the header readers briefly (issue #18, item 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")  # dev extra; Linux wheels only

TARGET = Path(__file__).with_name("atheris_headers.py")


def test_header_readers_survive_a_short_fuzzing_run(tmp_path: Path) -> None:
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(TARGET), "-atheris_runs=6000", "-seed=1", f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Done 6000 " in proc.stderr

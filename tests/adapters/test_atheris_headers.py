"""Runs the atheris fuzz targets for the header readers (issue #18, item 4) and the
ROI map reader (issue #19) briefly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")  # dev extra; Linux wheels only

TARGETS = {name: Path(__file__).with_name(name) for name in ("atheris_headers.py", "atheris_roimap.py")}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_readers_survive_a_short_fuzzing_run(tmp_path: Path, target: str) -> None:
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(TARGETS[target]), "-atheris_runs=6000", "-seed=1",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Done 6000 " in proc.stderr

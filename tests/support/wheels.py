"""Building a project as a wheel and installing it where a test can use it, offline.

``pip wheel --no-deps --no-build-isolation --no-index`` builds with this
environment's setuptools (the recipes ask for >= 77, which builds wheels without
the separate ``wheel`` package); ``pip install --target`` puts the wheel in a
throwaway directory that a fresh interpreter can be given as its path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def pip(*args: str, cwd: Path | None = None) -> None:
    """Run pip offline and without dependencies; fail the test with pip's output."""
    done = subprocess.run([sys.executable, "-m", "pip", *args, "--no-index", "--no-deps", "-q"],
                          cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def build_and_install(project: Path, tmp_path: Path) -> Path:
    """Build ``project`` as a wheel and install it into a fresh target directory; returns it.

    The build runs in ``project``, leaving ``build/`` and an egg-info there: pass a copy.
    """
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip("wheel", "--no-build-isolation", "--wheel-dir", str(wheels), str(project))
    (wheel,) = wheels.glob("*.whl")
    pip("install", "--target", str(site), str(wheel))
    return site

"""Plugin packages as users build them: wheels, installed, found through their entry points.

Each test builds a wheel offline (``pip wheel --no-deps --no-build-isolation
--no-index``), installs it into a throwaway target directory and asks a fresh
interpreter, with that directory on its path, for the strategy: ``grace list``,
``load_strategy`` and ``Image.save(..., strategy=...)``. The packages are the
third-party recipe of docs/usage.md ("Plugins"), copied verbatim, and the
sample package tests/plugins/grace_test_plugin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from pillow_grace import Strategy
from tests.support.wheels import build_and_install

ROOT = Path(__file__).parents[2]
USAGE = ROOT / "docs" / "usage.md"
SAMPLE_PLUGIN = ROOT / "tests" / "plugins" / "grace_test_plugin"

pytestmark = pytest.mark.slow  # builds and installs wheels (the quick run skips it)


def recipe_block(first_line: str) -> str:
    """The fenced block of docs/usage.md whose first line is ``first_line``, verbatim."""
    for block in re.findall(r"```[a-z]*\n(.*?)```", USAGE.read_text(), flags=re.S):
        if block.startswith(first_line + "\n"):
            return str(block)
    raise AssertionError(f"docs/usage.md has no code block starting with {first_line!r}")


def run_with(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter that sees the installed plugin (and this checkout's pillow_grace)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    env.pop("GRACE_STRATEGY_PATH", None)
    return subprocess.run([sys.executable, *args], cwd=site.parent, env=env,
                          capture_output=True, text=True, check=False, timeout=120)


USE_IT = textwrap.dedent("""
    import io, sys
    from pathlib import Path
    from PIL import Image
    import pillow_grace
    from pillow_grace import load_strategy, strategy_sources

    name, site = sys.argv[1], Path(sys.argv[2]).resolve()
    (found_name, origin, location), *_ = strategy_sources(name)
    assert origin == "plugin", origin
    assert site in Path(location).resolve().parents, f"{location} is not in the installed wheel"
    assert load_strategy(name).name == name
    buf = io.BytesIO()
    Image.new("RGB", (32, 16), (200, 40, 90)).save(buf, "GRACE", strategy=name)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        assert im.format == "GRACE" and im.info["grace"]["strategy"] == name, im.info
    print("ok", location)
""")


def check_installed(site: Path, name: str) -> None:
    listed = run_with(site, "-m", "pillow_grace.cli", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if row.split()[:1] == [name])
    assert line.split()[1] == "plugin" and str(site) in line
    used = run_with(site, "-c", USE_IT, name, str(site))
    assert used.returncode == 0 and used.stdout.startswith("ok"), used.stderr


def write_recipe(project: Path, strategy: Strategy, *, package_data: bool = True) -> None:
    """The docs' recipe as a user copies it: its two files verbatim, an empty
    ``__init__.py`` and the strategy file the layout names."""
    pkg = project / "my_package"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "grace_plugin.py").write_text(recipe_block("# my_package/grace_plugin.py"))
    toml = recipe_block("# pyproject.toml of my_package")
    if not package_data:
        toml = toml.split("[tool.setuptools.package-data]")[0]
    (project / "pyproject.toml").write_text(toml)
    strategy.save(pkg / "my-model.json")


@pytest.fixture
def my_model(make_strategy: Callable[..., Strategy]) -> Strategy:
    return make_strategy("my-model")


@pytest.fixture(autouse=True)
def _offline_build_needs_setuptools() -> None:
    # Offline and without build isolation, pip builds with this environment's setuptools;
    # the recipe asks for >= 77 (which builds wheels without the separate `wheel` package).
    pytest.importorskip("setuptools", minversion="77")


def test_the_docs_recipe_copied_verbatim_works_from_its_wheel(my_model: Strategy, tmp_path: Path) -> None:
    project = tmp_path / "my-package"
    write_recipe(project, my_model)
    check_installed(build_and_install(project, tmp_path), "my-model")


def test_a_plugin_wheel_without_its_json_makes_grace_list_fail(my_model: Strategy, tmp_path: Path) -> None:
    """What the recipe without package data produced: the entry point lists a
    file that is not in the wheel. `grace list` says so and exits 1."""
    project = tmp_path / "my-package"
    write_recipe(project, my_model, package_data=False)
    site = build_and_install(project, tmp_path)
    assert not list(site.rglob("my-model.json"))
    listed = run_with(site, "-m", "pillow_grace.cli", "list")
    assert listed.returncode == 1
    assert "my-model" in listed.stderr and "package data" in listed.stderr, listed.stderr
    assert "BROKEN" in next(row for row in listed.stdout.splitlines() if row.startswith("my-model"))


def test_the_sample_plugin_package_works_from_its_wheel(tmp_path: Path) -> None:
    # Built from a copy: building in place would leave build/ and an egg-info in the checkout.
    project = tmp_path / "grace_test_plugin"
    shutil.copytree(SAMPLE_PLUGIN, project, ignore=shutil.ignore_patterns("*.egg-info", "build"))
    check_installed(build_and_install(project, tmp_path), "plugin-test")

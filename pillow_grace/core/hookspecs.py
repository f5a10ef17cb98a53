"""pluggy hook specifications: how installed packages contribute strategies.

A package that ships a trained model can ship its GRACE strategy with it::

    # in the plugin package
    import pillow_grace
    @pillow_grace.hookimpl
    def grace_strategies():
        return [Path(__file__).with_name("my-model.json")]

    # in its pyproject.toml
    [project.entry-points.pillow_grace]
    my_model = "my_package.grace_plugin"

``tests/plugins/grace_test_plugin`` is a complete example package. The
registry (:mod:`pillow_grace.core.registry`) loads entry points on first use, in
order of entry-point name, and calls each plugin's hook separately, in
registration order, so that one broken plugin is skipped with a warning
instead of breaking every lookup.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pillow_grace.core.strategy import Strategy

PROJECT = "pillow_grace"
#: Entry-point group scanned for plugins.
ENTRY_POINT_GROUP = "pillow_grace"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def grace_strategies() -> Iterable[str | os.PathLike[str] | Strategy]:
    """Return strategies this plugin provides: paths to JSON files or Strategy objects.

    A path is registered under its file name without ``.json`` (which must
    match the file's ``name`` field), an object under its ``name``. Files are
    read only when their name is looked up, so returning many is cheap."""
    return ()  # a specification: pluggy calls the plugins' implementations, never this body

"""Finding strategies by name.

Search order (the first match wins; a later strategy with the same name is
shadowed, and :func:`strategy_sources` lists every candidate so a shadowed
one can be found):

1. the strategies shipped inside pillow-grace (``strategies/*.json``,
   installed as the package ``pillow_grace.strategies``);
2. the directories in ``GRACE_STRATEGY_PATH`` (``os.pathsep``-separated, in
   the order given), file ``<name>.json``; directories that do not exist are
   skipped, like entries of ``PATH``;
3. strategies contributed by installed packages through the
   ``grace_strategies`` pluggy hook, entry-point group ``pillow_grace``:
   first the entry points in order of entry-point name, then plugins
   registered at run time with ``plugin_manager().register(obj)``, in
   registration order.

A name is looked up lazily, source by source, so a broken plugin cannot stop
a shipped strategy from loading. A plugin that fails to import or whose hook
raises is skipped with a :class:`RuntimeWarning` naming it, rather than
breaking every lookup.

Anything that is a ``PathLike``, contains a path separator or ends in
``.json`` is treated as a path, never as a name; except a
:class:`~pillow_grace.core._fields.StrategyName` (a name read from an image
file, ``info["grace"]["strategy"]``), which is only ever looked up by name.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from importlib import metadata as importlib_metadata
from importlib import resources
from pathlib import Path
from typing import Any

import pluggy

from pillow_grace.core import hookspecs
from pillow_grace.core._fields import NAME_RULE, StrategyName, is_plain_name
from pillow_grace.core.errors import StrategyError, StrategyNotFoundError
from pillow_grace.core.strategy import Strategy

ENV_VAR = "GRACE_STRATEGY_PATH"
_SHIPPED_PACKAGE = "pillow_grace.strategies"

#: Where a strategy came from, as reported by :func:`strategy_sources`.
ORIGINS = ("shipped", "path", "plugin")

_lock = threading.RLock()
_manager: pluggy.PluginManager | None = None
_cache: dict[tuple[str, int, int], Strategy] = {}

Location = Path | Strategy


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with entry points loaded on first use.

    Applications (and tests) may ``register()`` their own plugin objects on
    it; they are consulted after the entry-point plugins."""
    global _manager
    with _lock:
        if _manager is None:
            pm = pluggy.PluginManager(hookspecs.PROJECT)
            pm.add_hookspecs(hookspecs)
            _load_entry_points(pm)
            _manager = pm
        return _manager


def reset_plugins() -> None:
    """Forget loaded plugins and cached strategies; the next lookup re-scans
    entry points. For a long-running process after installing a plugin, and
    for tests."""
    global _manager
    with _lock:
        _manager = None
        _cache.clear()


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    eps = importlib_metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP)
    # Sorted so that the winner of a name conflict between two plugins does
    # not depend on the order sys.path lists their distributions.
    for ep in sorted(eps, key=lambda e: (e.name, e.value)):
        if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
            continue  # the same distribution seen twice on sys.path
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as e:
            warnings.warn(
                f"pillow-grace plugin {ep.name!r} ({ep.value}) failed to load and is skipped: "
                f"{type(e).__name__}: {e}",
                RuntimeWarning,
                stacklevel=3,
            )


def _shipped() -> Iterator[tuple[str, Location]]:
    try:
        root = resources.files(_SHIPPED_PACKAGE)
    except ModuleNotFoundError:  # pragma: no cover - broken install
        return
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json") and not entry.name.startswith("."):
            yield entry.name[: -len(".json")], Path(str(entry))


def _env_dirs() -> list[Path]:
    value = os.environ.get(ENV_VAR, "")
    return [Path(p) for p in value.split(os.pathsep) if p]


def _from_env() -> Iterator[tuple[str, Location]]:
    for d in _env_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.json")):
                # regular files only: a FIFO would block the reader
                if not f.name.startswith(".") and f.is_file():
                    yield f.stem, f


def _from_plugins() -> Iterator[tuple[str, Location]]:
    hook = plugin_manager().hook.grace_strategies
    # get_hookimpls() is in registration order; pluggy would *call* them in
    # reverse, so each is called here in turn (which also isolates failures).
    for impl in hook.get_hookimpls():
        try:
            result: Any = impl.function()
            items = list(result or ())
        except Exception as e:
            warnings.warn(
                f"pillow-grace plugin {impl.plugin_name!r}: grace_strategies() raised "
                f"{type(e).__name__}: {e}; its strategies are skipped",
                RuntimeWarning,
                stacklevel=3,
            )
            continue
        for item in items:
            if isinstance(item, Strategy):
                yield item.name, item
            elif isinstance(item, (str, os.PathLike)):
                p = Path(item)
                yield p.stem, p
            else:
                warnings.warn(
                    f"pillow-grace plugin {impl.plugin_name!r}: grace_strategies() returned "
                    f"{type(item).__name__}; expected a path to a .json file or a Strategy",
                    RuntimeWarning,
                    stacklevel=3,
                )


def _sources() -> Iterator[tuple[str, str, Location]]:
    for origin, it in (("shipped", _shipped), ("path", _from_env), ("plugin", _from_plugins)):
        for n, loc in it():
            yield n, origin, loc


def strategy_sources(name: str | None = None) -> list[tuple[str, str, Location]]:
    """Every ``(name, origin, location)`` in search order, shadowed ones included.

    ``origin`` is one of :data:`ORIGINS`; ``location`` is a file path or, for
    plugins that return objects, the :class:`Strategy` itself."""
    return [(n, o, loc) for n, o, loc in _sources() if name is None or n == name]


def available_strategies() -> list[str]:
    """Names that :func:`load_strategy` resolves, each once, in search order."""
    seen: dict[str, None] = {}
    for n, _origin, _loc in _sources():
        seen.setdefault(n, None)
    return list(seen)


def is_path_like(value: Any) -> bool:
    """Whether ``load_strategy`` treats ``value`` as a path rather than a name."""
    if isinstance(value, os.PathLike):
        return True
    text = str(value)
    return os.sep in text or "/" in text or (os.altsep is not None and os.altsep in text) \
        or text.endswith(".json")


def load_strategy(name_or_path: str | os.PathLike[str] | Strategy) -> Strategy:
    """Load a strategy by name (see the module doc for the search order) or by path.

    Raises :class:`StrategyNotFoundError` listing the available names when
    the name is unknown, and :class:`StrategyError` naming the bad field when
    the file found is invalid."""
    if isinstance(name_or_path, Strategy):
        return name_or_path
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise StrategyError(
            f"a strategy is given by name, path or Strategy object, got {type(name_or_path).__name__}"
        )
    if isinstance(name_or_path, StrategyName):
        if not is_plain_name(name_or_path):
            raise StrategyError(
                f"strategy name {str(name_or_path)[:60]!r} read from a file is not a plain name "
                f"({NAME_RULE}); names from files are looked up by name only, never opened as paths: "
                "the file is damaged or was made to look so",
                field="strategy",
            )
    elif is_path_like(name_or_path):
        return _load_path(Path(os.fspath(name_or_path)))
    text = str(name_or_path)
    for n, _origin, loc in _sources():
        if n == text:
            return load_source(n, loc)
    names = ", ".join(available_strategies()) or "none"
    raise StrategyNotFoundError(
        f"unknown strategy {text!r}; available: {names}. Pass a path to a .json file, "
        f"or add its directory to {ENV_VAR}"
    )


def load_source(name: str, location: Location) -> Strategy:
    """The strategy at one ``(name, location)`` of :func:`strategy_sources`, checked as
    a lookup of ``name`` checks it (``grace list`` checks every listed file this way)."""
    if isinstance(location, Strategy):
        return location
    strategy = _load_path(location)
    if strategy.name != name:
        raise StrategyError(
            f"{location}: found under the name {name!r} but its 'name' field says {strategy.name!r}; "
            f"rename the file to {strategy.name}.json or fix the field",
            field="name",
        )
    return strategy


def _load_path(path: Path) -> Strategy:
    try:
        st = path.stat()
    except OSError as e:
        raise StrategyError(f"cannot read strategy file {str(path)!r}: {e.strerror or e}") from e
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _lock:
        hit = _cache.get(key)
    if hit is None:
        hit = Strategy.load(path)
        with _lock:
            if len(_cache) > 256:
                _cache.clear()
            _cache[key] = hit
    return hit

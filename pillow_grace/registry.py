"""Finding strategies by name.

Search order (the first match wins, later ones with the same name are
shadowed; ``strategy_sources(name)`` lists every candidate):

1. the strategies shipped inside pillow-grace (``strategies/*.json``);
2. the directories in ``GRACE_STRATEGY_PATH`` (``os.pathsep``-separated, in
   order), file ``<name>.json``;
3. strategies contributed by installed packages through the
   ``grace_strategies`` pluggy hook (entry-point group ``pillow_grace``), in
   plugin registration order.

Anything that contains a path separator or ends in ``.json`` is treated as a
path, never as a name.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pluggy

from . import hookspecs
from .errors import StrategyError, StrategyNotFoundError
from .strategy import Strategy

ENV_VAR = "GRACE_STRATEGY_PATH"
_SHIPPED_PACKAGE = "pillow_grace.strategies"

_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
_cache: dict[tuple[str, float], Strategy] = {}


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with entry points loaded once."""
    global _manager
    with _lock:
        if _manager is None:
            pm = pluggy.PluginManager(hookspecs.PROJECT)
            pm.add_hookspecs(hookspecs)
            pm.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
            _manager = pm
        return _manager


def _shipped() -> Iterator[tuple[str, Path]]:
    try:
        root = resources.files(_SHIPPED_PACKAGE)
    except ModuleNotFoundError:  # pragma: no cover - broken install
        return
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            yield entry.name[: -len(".json")], Path(str(entry))


def _env_dirs() -> list[Path]:
    value = os.environ.get(ENV_VAR, "")
    return [Path(p) for p in value.split(os.pathsep) if p]


def _from_env() -> Iterator[tuple[str, Path]]:
    for d in _env_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.json")):
                yield f.stem, f


def _from_plugins() -> Iterator[tuple[str, Path | Strategy]]:
    for result in plugin_manager().hook.grace_strategies():
        for item in result or ():
            if isinstance(item, Strategy):
                yield item.name, item
            else:
                p = Path(item)
                yield p.stem, p


def strategy_sources(name: str | None = None) -> list[tuple[str, str, Path | Strategy]]:
    """Every (name, origin, location) in search order; origin is shipped/path/plugin."""
    out: list[tuple[str, str, Path | Strategy]] = []
    for origin, it in (("shipped", _shipped()), ("path", _from_env()), ("plugin", _from_plugins())):
        for n, loc in it:
            if name is None or n == name:
                out.append((n, origin, loc))
    return out


def available_strategies() -> list[str]:
    """Names that :func:`load_strategy` resolves, each once, in search order."""
    seen: dict[str, None] = {}
    for n, _origin, _loc in strategy_sources():
        seen.setdefault(n, None)
    return list(seen)


def load_strategy(name_or_path: str | os.PathLike[str] | Strategy) -> Strategy:
    """Load a strategy by name (see module doc for the search order) or by path."""
    if isinstance(name_or_path, Strategy):
        return name_or_path
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, os.PathLike) or os.sep in text or "/" in text or text.endswith(".json"):
        return _load_path(Path(text))
    for n, _origin, loc in strategy_sources(text):
        if isinstance(loc, Strategy):
            return loc
        strategy = _load_path(loc)
        if strategy.name != n:
            raise StrategyError(
                f"{loc}: file is found under the name {n!r} but its 'name' field says "
                f"{strategy.name!r}; rename the file to {strategy.name}.json"
            )
        return strategy
    names = ", ".join(available_strategies()) or "none"
    raise StrategyNotFoundError(
        f"unknown strategy {text!r}; available: {names}. Pass a path to a .json file, "
        f"or add its directory to {ENV_VAR}"
    )


def _load_path(path: Path) -> Strategy:
    try:
        mtime = path.stat().st_mtime
    except OSError as e:
        raise StrategyError(f"cannot read strategy file {str(path)!r}: {e.strerror}") from e
    key = (str(path.resolve()), mtime)
    with _lock:
        hit = _cache.get(key)
    if hit is None:
        hit = Strategy.load(path)
        with _lock:
            _cache[key] = hit
    return hit

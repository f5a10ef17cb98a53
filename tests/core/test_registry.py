"""Lookup by name: search order, conflicts, errors, and plugins (pluggy and entry points)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import pillow_grace
from pillow_grace import (
    Strategy,
    StrategyError,
    StrategyNotFoundError,
    available_strategies,
    load_strategy,
    strategy_sources,
)
from pillow_grace.core import registry

PLUGIN_DIR = Path(__file__).parents[1] / "plugins" / "grace_test_plugin"
PLUGIN_MODULE = "grace_test_plugin"


def write(make_strategy: Callable[..., Strategy], directory: Path, name: str, **kw: Any) -> Strategy:
    s = make_strategy(name, tables="ones", perception=None, **kw)
    s.save(directory / f"{name}.json")
    return s


@pytest.fixture
def fake_shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Replace the shipped strategies by a directory the test fills."""
    d = tmp_path / "shipped"
    d.mkdir()

    def shipped() -> Iterator[tuple[str, Path]]:
        for f in sorted(d.glob("*.json")):
            yield f.stem, f

    monkeypatch.setattr(registry, "_shipped", shipped)
    return d


class ObjectPlugin:
    """A plugin registered at run time that returns Strategy objects."""

    def __init__(self, *strategies: Any) -> None:
        self.strategies = strategies

    @pillow_grace.hookimpl
    def grace_strategies(self) -> list[Any]:
        return list(self.strategies)


def test_unknown_name_lists_the_available_ones(isolated_registry: Path, make_strategy: Any) -> None:
    write(make_strategy, isolated_registry, "alpha")
    write(make_strategy, isolated_registry, "beta")
    with pytest.raises(StrategyNotFoundError) as e:
        load_strategy("gamma")
    msg = str(e.value)
    assert "unknown strategy 'gamma'" in msg and "alpha" in msg and "beta" in msg
    assert registry.ENV_VAR in msg
    assert isinstance(e.value, LookupError) and isinstance(e.value, ValueError)


def test_names_paths_and_objects(isolated_registry: Path, make_strategy: Any, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    s = write(make_strategy, isolated_registry, "by-name")
    assert load_strategy("by-name") == s
    assert load_strategy(isolated_registry / "by-name.json") == s  # PathLike
    assert load_strategy(str(isolated_registry / "by-name.json")) == s  # str with a separator
    monkeypatch.chdir(isolated_registry)
    assert load_strategy("by-name.json") == s  # relative, ends in .json
    assert load_strategy(s) is s
    with pytest.raises(StrategyError, match="cannot read"):
        load_strategy("../no/such.json")
    with pytest.raises(StrategyError, match="by name, path or Strategy"):
        load_strategy(42)  # type: ignore[arg-type]


def test_strategy_path_order_and_missing_dirs(tmp_path: Path, make_strategy: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    a = write(make_strategy, first, "same", weights=(0.2, 0.6, 0.2))
    b = write(make_strategy, second, "same", weights=(0.4, 0.2, 0.4))
    write(make_strategy, second, "only-second")
    missing = tmp_path / "missing"
    monkeypatch.setenv(registry.ENV_VAR, os.pathsep.join([str(missing), str(first), str(second)]))
    registry.reset_plugins()
    assert load_strategy("same") == a != b
    assert load_strategy("only-second").name == "only-second"
    assert [loc for _n, _o, loc in strategy_sources("same")] == [first / "same.json", second / "same.json"]
    assert available_strategies().count("same") == 1


def test_search_order_shipped_then_path_then_plugin(
    isolated_registry: Path, fake_shipped: Path, make_strategy: Any
) -> None:
    shipped = write(make_strategy, fake_shipped, "dup", weights=(0.3, 0.4, 0.3))
    on_path = write(make_strategy, isolated_registry, "dup", weights=(0.2, 0.6, 0.2))
    from_plugin = make_strategy("dup", tables="ones", perception=None, weights=(0.1, 0.8, 0.1))
    registry.plugin_manager().register(ObjectPlugin(from_plugin), name="objects")
    assert [o for _n, o, _l in strategy_sources("dup")] == ["shipped", "path", "plugin"]
    assert load_strategy("dup") == shipped
    (fake_shipped / "dup.json").unlink()
    assert load_strategy("dup") == on_path
    (isolated_registry / "dup.json").unlink()
    assert load_strategy("dup") is from_plugin
    assert available_strategies() == ["dup"]


def test_first_registered_plugin_wins(isolated_registry: Path, make_strategy: Any) -> None:
    one = make_strategy("p", tables="ones", perception=None, weights=(0.2, 0.6, 0.2))
    two = make_strategy("p", tables="ones", perception=None, weights=(0.6, 0.2, 0.2))
    pm = registry.plugin_manager()
    pm.register(ObjectPlugin(one), name="one")
    pm.register(ObjectPlugin(two), name="two")
    assert load_strategy("p") is one
    assert [loc for _n, _o, loc in strategy_sources("p")] == [one, two]


def test_file_name_must_match_name_field(isolated_registry: Path, make_strategy: Any) -> None:
    make_strategy("inner", tables="ones", perception=None).save(isolated_registry / "outer.json")
    with pytest.raises(StrategyError, match=r"rename the file to inner\.json") as e:
        load_strategy("outer")
    assert e.value.field == "name"


def test_invalid_file_on_path_names_file_and_field(isolated_registry: Path) -> None:
    (isolated_registry / "broken.json").write_text('{"format": "grace-strategy", "version": "1.0"}')
    with pytest.raises(StrategyError) as e:
        load_strategy("broken")
    assert str(isolated_registry / "broken.json") in str(e.value) and e.value.field == "name"


def test_changed_file_is_reloaded(isolated_registry: Path, make_strategy: Any) -> None:
    write(make_strategy, isolated_registry, "live", weights=(0.2, 0.6, 0.2))
    assert load_strategy("live").weights == (0.2, 0.6, 0.2)
    write(make_strategy, isolated_registry, "live", weights=(0.25, 0.5, 0.25))
    assert load_strategy("live").weights == (0.25, 0.5, 0.25)


def load_plugin_module_from_file(name: str) -> ModuleType:
    """The test plugin's module, imported from its file under ``name``, with nothing
    added to sys.path: the plugin's folder may hold the ``grace_test_plugin.egg-info``
    that `pip install tests/plugins/grace_test_plugin` leaves behind, whose entry
    point would register the same module under its entry-point name."""
    spec = importlib.util.spec_from_file_location(name, PLUGIN_DIR / PLUGIN_MODULE / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pluggy_registration_of_the_test_plugin_module(isolated_registry: Path) -> None:
    module = load_plugin_module_from_file("grace_test_plugin_registered_at_run_time")
    registry.plugin_manager().register(module)
    s = load_strategy("plugin-test")
    assert s.name == "plugin-test" and s.weights == (0.25, 0.5, 0.25)
    assert strategy_sources("plugin-test")[0][1] == "plugin"


def make_dist_info(site: Path, entry_points: str, name: str = "grace-test-plugin") -> None:
    dist = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_entry_point_discovery_with_a_dist_info(
    isolated_registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `pip install tests/plugins/grace_test_plugin` produces: package + dist-info with
    an entry point in group "pillow_grace", found through importlib.metadata."""
    site = tmp_path / "site"
    make_dist_info(site, f"[pillow_grace]\n{PLUGIN_MODULE} = {PLUGIN_MODULE}\n")
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, PLUGIN_MODULE, raising=False)
    registry.reset_plugins()
    assert "plugin-test" in available_strategies()
    assert load_strategy("plugin-test").name == "plugin-test"
    assert registry.plugin_manager().has_plugin(PLUGIN_MODULE)


def test_broken_plugins_warn_and_do_not_break_lookup(
    isolated_registry: Path,
    fake_shipped: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_strategy: Any,
) -> None:
    site = tmp_path / "site"
    make_dist_info(site, "[pillow_grace]\nbroken = no_such_module_for_grace\n", name="broken-plugin")
    monkeypatch.syspath_prepend(str(site))
    registry.reset_plugins()
    write(make_strategy, isolated_registry, "on-path")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_strategy("on-path")  # found before plugins are consulted: no warning at all
    with pytest.warns(RuntimeWarning, match="'broken'.*failed to load"):
        names = available_strategies()
    assert names == ["on-path"]

    class Raising:
        @pillow_grace.hookimpl
        def grace_strategies(self) -> list[Any]:
            raise RuntimeError("plugin bug")

    registry.plugin_manager().register(Raising(), name="raising")
    registry.plugin_manager().register(ObjectPlugin(42), name="wrong-type")
    with pytest.warns(RuntimeWarning) as record:
        with pytest.raises(StrategyNotFoundError):
            load_strategy("nowhere")
    messages = " ".join(str(w.message) for w in record)
    assert "'raising'" in messages and "plugin bug" in messages and "'wrong-type'" in messages


def can_build_offline() -> bool:
    """setuptools in this environment, and able to build a wheel without downloads
    (before 70.1 that took the separate ``wheel`` package)."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(x) for x in version.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.mark.slow
@pytest.mark.skipif(not can_build_offline(), reason="needs setuptools (>= 70.1, or wheel) to build offline")
def test_real_pip_install_of_the_test_plugin(tmp_path: Path) -> None:
    """Build and install the plugin package with pip (offline), then look its strategy
    up in a fresh interpreter that has only the install target added to its path."""
    source = tmp_path / "src"  # a copy: building in place would leave build/ in the repo
    shutil.copytree(PLUGIN_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = tmp_path / "target"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    if pip.returncode != 0 and "No module named pip" in pip.stderr:
        pytest.skip("pip is not available in this interpreter")
    assert pip.returncode == 0, pip.stderr
    code = (
        "import pillow_grace as g; s = g.load_strategy('plugin-test'); "
        "print(s.name, [o for _n, o, _l in g.strategy_sources('plugin-test')])"
    )
    env = {**os.environ, "PYTHONPATH": str(target), "GRACE_STRATEGY_PATH": ""}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "plugin-test ['plugin']"


def test_grace_list_fails_on_a_listed_file_that_does_not_load(
    isolated_registry: Path, make_strategy: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from pillow_grace import cli

    write(make_strategy, isolated_registry, "fine")
    assert cli.main(["list"]) == 0
    (isolated_registry / "broken.json").write_text('{"format": "grace-strategy", "version": "1.0"}')
    make_strategy("inner", tables="ones", perception=None).save(isolated_registry / "outer.json")
    capsys.readouterr()
    assert cli.main(["list"]) == cli.EXIT_ERROR
    out, err = capsys.readouterr()
    assert str(isolated_registry / "broken.json") in err and "rename the file to inner.json" in err
    assert [row.split()[0] for row in out.splitlines() if "BROKEN" in row] == ["broken", "outer"]

"""The shape of the house, read from the source with ``ast`` (nothing is imported):

* layers: core < plugin, grace_opencv < zoo < evaluate < fit < bench < cli, and no module
  imports one of a higher layer (lazy imports inside functions count too);
* no import circle among the modules of ``pillow_grace`` and ``grace_opencv``;
* the library never reaches into the repository: no import of ``benchmarks``, no ``sys.path`` edit;
* small parts: no package module over ``MAX_MODULE_LINES`` lines, no function over ``MAX_FUNCTION_LINES``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pillow_grace", "grace_opencv")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 130

#: Layer of each top-level part, lowest first; a module may import its own layer or lower ones.
LAYERS = {
    "pillow_grace._version": 0,
    "pillow_grace.core": 0,
    "pillow_grace.schema": 0,
    "pillow_grace.plugin": 1,
    "grace_opencv": 1,
    "pillow_grace": 1,  # the package's public namespace: core and the plugin
    "pillow_grace.zoo": 2,
    "pillow_grace.evaluate": 3,
    "pillow_grace.fit": 4,
    "pillow_grace.bench": 5,
    "pillow_grace.cli": 6,
    "pillow_grace._stream_cli": 6,  # grace stream / grace fill, split out of cli.py
}


def module_files() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = module_files()
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in MODULES.items()}


def layer(module: str) -> int:
    """The layer of ``module``: that of its longest listed prefix."""
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def imported(module: str, tree: ast.Module) -> set[str]:
    """Modules named by the import statements of ``module`` (anywhere in it), resolved to files
    of this house where ``from X import Y`` names a submodule; other modules as written."""
    is_package = MODULES[module].name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in MODULES else base)
    return out


def graph() -> dict[str, set[str]]:
    return {m: {t for t in imported(m, tree) if t in MODULES and t != m} for m, tree in TREES.items()}


def test_the_parser_sees_imports() -> None:
    """Guards the guard: known edges are found, so an empty graph cannot pass for a clean one."""
    g = graph()
    assert "pillow_grace.core.strategy" in g["pillow_grace.core.codec"]
    assert "pillow_grace.evaluate.codecs" in g["pillow_grace.evaluate.judge"]
    assert layer("pillow_grace.bench.cli") == 5 and layer("pillow_grace.cli") == 6


def test_no_import_runs_up_a_layer() -> None:
    upward = [
        f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})"
        for m, targets in graph().items()
        for t in sorted(targets)
        if layer(t) > layer(m)
    ]
    assert not upward, "\n".join(upward)


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``g`` (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(g):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def _sys_path_edits(tree: ast.Module) -> list[int]:
    def is_sys_path(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "path"
                and isinstance(node.value, ast.Name) and node.value.id == "sys")

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if is_sys_path(node.func.value) or node.func.attr == "addsitedir":
                lines.append(node.lineno)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if is_sys_path(t) or (isinstance(t, ast.Subscript) and is_sys_path(t.value)):
                    lines.append(node.lineno)
    return lines


def _tooling_imports(tree: ast.Module, module: str) -> list[int]:
    def tooling(name: str) -> bool:
        return name == "benchmarks" or name.startswith("benchmarks.")

    lines = [n.lineno for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
             and any(tooling(t) for t in imported(module, ast.Module([n], [])))]
    for node in ast.walk(tree):  # importlib.import_module("benchmarks...")
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            value = node.args[0].value
            if isinstance(value, str) and tooling(value):
                lines.append(node.lineno)
    return lines


def test_the_library_never_reaches_into_the_repository() -> None:
    found = [f"{MODULES[m].relative_to(ROOT)}:{line}: imports the repository's benchmarks/"
             for m, tree in TREES.items() for line in _tooling_imports(tree, m)]
    found += [f"{MODULES[m].relative_to(ROOT)}:{line}: edits sys.path"
              for m, tree in TREES.items() for line in _sys_path_edits(tree)]
    assert not found, "\n".join(found)


def test_the_checks_catch_what_they_look_for() -> None:
    tree = ast.parse("import sys\nsys.path.insert(0, '.')\nsys.path = []\nfrom benchmarks import x\n"
                     "importlib.import_module('benchmarks.photo_sets')\n")
    assert sorted(_sys_path_edits(tree)) == [2, 3]
    assert sorted(_tooling_imports(tree, "pillow_grace.cli")) == [4, 5]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_and_functions_stay_small(module: str) -> None:
    path = MODULES[module]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)}: {lines} lines > {MAX_MODULE_LINES}"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"  # type: ignore[operator]
            for node in ast.walk(TREES[module])
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]  # type: ignore[operator]
    assert not long, f"{path.relative_to(ROOT)}: functions over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"

"""The shape of the package: imports flow one way, and the training core stays small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ganforge"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every ganforge module ``path`` imports, wherever the import statement is (also under
    TYPE_CHECKING and inside functions: a cycle there is still a cycle in the design)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def import_graph() -> dict[str, set[str]]:
    """ganforge module -> the ganforge modules it imports (a package's __init__ counts as the package)."""
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    return {name: _imports(path, set(files)) - {name} for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_inside_imports_the_public_facade_or_the_package_root():
    graph = import_graph()
    for module, imported in graph.items():
        if module not in ("ganforge", "ganforge.__main__"):
            assert "ganforge" not in imported, f"{module} imports the package root"
            assert "ganforge.gan" not in imported, f"{module} imports gan.py (the facade)"


# Declarative tables that read best whole (none today): "module.py:name".
LONG_ON_PURPOSE: set[str] = set()


@pytest.mark.parametrize("module", sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")))
def test_classes_and_functions_are_short_everywhere(module):
    tree = ast.parse((SRC / module).read_text())
    for node in ast.walk(tree):
        length = getattr(node, "end_lineno", 0) - getattr(node, "lineno", 0) + 1
        if f"{module}:{getattr(node, 'name', '')}" in LONG_ON_PURPOSE:
            continue
        if isinstance(node, ast.ClassDef):
            assert length <= 200, f"class {node.name} in {module} has {length} lines"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert length <= 50, f"function {node.name} in {module} has {length} lines"


def test_benchmarks_and_scripts_import_the_library_not_the_tests():
    root = SRC.parents[1]
    for path in [*root.glob("benchmarks/**/*.py"), *root.glob("scripts/*.py"), *root.glob("examples/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("tests"), f"{path.relative_to(root)} imports {node.module}"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("tests") for a in node.names), path

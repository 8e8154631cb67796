"""The import structure: no circle between the project's modules, counting imports inside functions
too, and the package rules (`budget`, `labelers` and `train` never import each other or `acquire`)."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGES = ("acquire", "budget", "labelers", "train")
INDEPENDENT = ("budget", "labelers", "train")


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the four packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name an `import` or `from ... import` anywhere in the file may load (relative
    imports resolved; for `from X import Y` both X and X.Y, since Y may be a submodule)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports (a name resolves to its longest module prefix)."""

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {resolve(name) for name in imported_names(module, path)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def rule_violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports from an independent package into another project package."""
    bad = []
    for module, targets in graph.items():
        top = module.split(".")[0]
        if top in INDEPENDENT:
            bad += [f"{module} imports {t}" for t in sorted(targets) if t.split(".")[0] != top]
    return bad


def test_no_import_cycle() -> None:
    graph = import_graph(project_modules())
    assert len(graph) > 50 and "acquire.labeling.store" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_package_rules() -> None:
    assert rule_violations(import_graph(project_modules())) == []


def test_checks_find_what_they_look_for(tmp_path) -> None:
    """The checks themselves: a function-level circle and a forbidden import are caught."""
    (tmp_path / "budget").mkdir()
    (tmp_path / "budget" / "__init__.py").write_text("")
    (tmp_path / "budget" / "a.py").write_text("def f():\n    from budget.b import g\n")
    (tmp_path / "budget" / "b.py").write_text("from . import a\nimport train.x\n")
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "__init__.py").write_text("")
    (tmp_path / "train" / "x.py").write_text("")
    graph = import_graph(project_modules(tmp_path))
    assert find_cycle(graph) in (["budget.a", "budget.b", "budget.a"], ["budget.b", "budget.a", "budget.b"])
    assert rule_violations(graph) == ["budget.b imports train.x"]

"""No package of the domain imports one that imports it back, however far round.

The graph is built from the source (every import, including those inside functions, so a
cycle cannot hide in a function body): one node per package of ``telecare`` (``alert``,
``escalation``, ...) and per top-level module (``bus``, ``catalog``, ``handlers``, ...).
Alembic's ``storage/migrations`` are scripts Alembic runs from their directory, not modules
of the package, so they are not part of the graph (``env.py`` imports ``telecare.models`` to
see every table).
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "telecare"
NOT_IMPORTED = (DOMAIN / "storage" / "migrations",)


def _node(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "telecare" and len(parts) > 1 else None


def _module_of(path: Path) -> list[str]:
    parts = list(path.relative_to(DOMAIN.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def import_graph() -> dict[str, dict[str, list[str]]]:
    """node -> node it imports -> where (file:line)."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(DOMAIN.rglob("*.py")):
        if any(path.is_relative_to(p) for p in NOT_IMPORTED):
            continue
        module = _module_of(path)
        package = module if path.name == "__init__.py" else module[:-1]
        source = _node(".".join(module))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                prefix = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module or ""
                # "from telecare import bus" imports the module telecare.bus
                targets = [prefix] if node.module or not node.level else []
                targets += [f"{prefix}.{a.name}" for a in node.names] if prefix == "telecare" else []
            for target in targets:
                dest = _node(target)
                if source and dest and dest != source:
                    graph[source][dest].append(f"{path.relative_to(DOMAIN.parent)}:{node.lineno}")
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, {})):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_no_cycle_between_domain_packages():
    graph = import_graph()
    cycle = find_cycle(graph)
    if cycle:
        hops = [f"  {a} -> {b}: {', '.join(graph[a][b][:3])}" for a, b in zip(cycle, cycle[1:], strict=False)]
        raise AssertionError("the domain's packages import each other in a circle:\n" + "\n".join(hops))


def test_the_cycle_check_sees_imports_inside_functions():
    assert find_cycle({"a": {"b": ["a.py:1"]}, "b": {"a": ["b.py:9 (inside a function)"]}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b": []}, "b": {"c": []}}) is None

"""Who imports whom among the domain's packages (``telecare/``), as text.

    .venv/bin/python -m tools.package_graph                # this checkout's telecare/
    .venv/bin/python -m tools.package_graph /other/tree    # another checkout (e.g. a git worktree)

One line per package (``alert``, ``escalation``, ...) or top-level module (``bus``, ``catalog``, ...):
``name -> what it imports``, then ``nobody`` for a package that imports no other; pairs that import
each other are listed after, and the first cycle found. The graph is read from the source, every
import (inside functions too). tests/test_package_cycles.py fails on any cycle with the same graph.
Alembic's ``storage/migrations`` are scripts Alembic runs from their directory, not modules of the
package, so they are not part of the graph.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "telecare"


def _node(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "telecare" and len(parts) > 1 else None


def _module_of(path: Path, domain: Path) -> list[str]:
    parts = list(path.relative_to(domain.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def import_graph(domain: Path = DOMAIN) -> dict[str, dict[str, list[str]]]:
    """node -> node it imports -> where (file:line), for the ``telecare`` package at ``domain``."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    not_imported = (domain / "storage" / "migrations",)
    for path in sorted(domain.rglob("*.py")):
        if any(path.is_relative_to(p) for p in not_imported):
            continue
        module = _module_of(path, domain)
        package = module if path.name == "__init__.py" else module[:-1]
        source = _node(".".join(module))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                prefix = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module or ""
                # "from telecare import bus" imports the module telecare.bus
                targets = [prefix] if node.module or not node.level else []
                targets += [f"{prefix}.{a.name}" for a in node.names] if prefix == "telecare" else []
            for target in targets:
                dest = _node(target)
                if source and dest and dest != source:
                    graph[source][dest].append(f"{path.relative_to(domain.parent)}:{node.lineno}")
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
                return stack[stack.index(m) :] + [m]
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


def render(graph: dict[str, dict[str, list[str]]], domain: Path = DOMAIN) -> str:
    nodes = sorted(
        {
            p.stem if p.suffix == ".py" else p.name
            for p in domain.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())
        }
        | set(graph)
        | {d for ds in graph.values() for d in ds}
    )
    width = max(map(len, nodes))
    lines = [f"{n:<{width}} -> {', '.join(sorted(graph.get(n, {}))) or 'nobody'}" for n in nodes]
    both = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if a in graph.get(b, {})})
    lines.append(
        f"pairs importing each other: {len(both)}" + (": " + ", ".join(f"{a}<->{b}" for a, b in both) if both else "")
    )
    cycle = find_cycle(graph)
    lines.append("cycle: " + (" -> ".join(cycle) if cycle else "none"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    domain = Path(args[0]).resolve() / "telecare" if args else DOMAIN
    print(render(import_graph(domain), domain))
    return 0


if __name__ == "__main__":
    sys.exit(main())

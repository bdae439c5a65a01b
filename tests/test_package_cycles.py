"""No package of the domain imports one that imports it back, however far round.

(The graph: tools/package_graph.py, which also prints it.)

The graph is built from the source (every import, including those inside functions, so a
cycle cannot hide in a function body): one node per package of ``telecare`` (``alert``,
``escalation``, ...) and per top-level module (``bus``, ``catalog``, ``handlers``, ...).
Alembic's ``storage/migrations`` are scripts Alembic runs from their directory, not modules
of the package, so they are not part of the graph (``env.py`` imports ``telecare.models`` to
see every table).
"""

from __future__ import annotations

from tools.package_graph import find_cycle, import_graph


def test_no_cycle_between_domain_packages():
    graph = import_graph()
    cycle = find_cycle(graph)
    if cycle:
        hops = [f"  {a} -> {b}: {', '.join(graph[a][b][:3])}" for a, b in zip(cycle, cycle[1:], strict=False)]
        raise AssertionError("the domain's packages import each other in a circle:\n" + "\n".join(hops))


def test_the_cycle_check_sees_imports_inside_functions():
    assert find_cycle({"a": {"b": ["a.py:1"]}, "b": {"a": ["b.py:9 (inside a function)"]}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b": []}, "b": {"c": []}}) is None

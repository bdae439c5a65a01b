"""Configuration is read once: only hub/config.py reads the hub's environment (telecare/ and
actions/ read none). Copying the environment whole for a child process (``dict(os.environ)``)
passes it on rather than reading it, and is allowed."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READER = ROOT / "hub" / "config.py"


def _reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    passed_on = {
        id(n.args[0])
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "dict" and n.args
    }
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "environb")
            and id(node) not in passed_on
        ):
            out.append(f"{path.relative_to(ROOT)}:{node.lineno} reads os.{node.attr}")
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and {a.name for a in node.names} & {"environ", "getenv"}
        ):
            out.append(f"{path.relative_to(ROOT)}:{node.lineno} imports os.environ/getenv")
    return out


def test_only_hub_config_reads_the_environment():
    offenders = [
        line
        for package in ("hub", "telecare", "actions")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != READER
        for line in _reads(path)
    ]
    assert offenders == []
    assert _reads(READER)  # the check sees a read where there is one

"""YAML files people write by hand (the site file, the directory of services), checked with line numbers.

PyYAML's node tree gives each key and value its line and catches a key written twice (which
``safe_load`` would drop silently); pydantic's errors are turned into problems that name the
line and the place ("residents[0] (betty) > home > devices[2] (bed-1) > watch"). The loaders
(``telecare/site/loader.py``, ``telecare/directory/loader.py``) add their own whole-file checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError


@dataclass
class Problem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class YamlSyntaxError(ValueError):
    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def read(text: str) -> tuple[Any, Any]:
    """(node tree, data); the tree is None for an empty file. Raises YamlSyntaxError with the line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlSyntaxError(Problem(mark.line + 1 if mark else None, f"not valid YAML: {problem}")) from None


def line_map(
    node: yaml.Node, problems: list[Problem], path: tuple[Any, ...] = (), out: dict[tuple[Any, ...], int] | None = None
) -> dict[tuple[Any, ...], int]:
    """The line of every key (and, under ``key + ("__value__",)``, of its value); keys written
    twice in one block are added to ``problems``."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for k, v in node.value:
            key = k.value
            if key in seen:
                problems.append(
                    Problem(k.start_mark.line + 1, f"'{key}' appears twice in this block (first on line {seen[key]})")
                )
            seen[key] = k.start_mark.line + 1
            out[path + (key,)] = k.start_mark.line + 1
            line_map(v, problems, path + (key,), out)
            out[path + (key, "__value__")] = v.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            line_map(item, problems, path + (i,), out)
    return out


def _plain(loc: tuple[Any, ...], aliases: dict[str, str]) -> tuple[Any, ...]:
    return tuple(aliases.get(p, p) if isinstance(p, str) else p for p in loc)


def line_for(
    lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...], aliases: dict[str, str] | None = None
) -> int | None:
    """The line of ``loc``, or of the nearest enclosing key that has one."""
    loc = _plain(loc, aliases or {})
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def describe(data: Any, loc: tuple[Any, ...], aliases: dict[str, str] | None = None) -> str:
    """'services[3] (age-uk-befriending) > needs[1]' for an error message."""
    parts: list[str] = []
    cur = data
    for p in _plain(loc, aliases or {}):
        if isinstance(p, int):
            label = f"[{p}]"
            try:
                cur = cur[p]
                if isinstance(cur, dict) and "id" in cur:
                    label += f" ({cur['id']})"
            except (IndexError, KeyError, TypeError):
                cur = None
            if parts:
                parts[-1] += label
            else:
                parts.append(label)
        else:
            parts.append(str(p))
            try:
                cur = cur[p]
            except (KeyError, TypeError, IndexError):
                cur = None
    return " > ".join(parts)


def validation_problems(
    exc: ValidationError, data: Any, lines: dict[tuple[Any, ...], int], aliases: dict[str, str] | None = None
) -> list[Problem]:
    """pydantic's errors as problems with lines, in plain words."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field '{loc[-1]}' (is it misspelt?)"
        elif err["type"] == "literal_error":
            msg = f"{err.get('input')!r} is not allowed; {err['msg'].lower()}"
        problems.append(Problem(line_for(lines, loc, aliases), f"{describe(data, loc, aliases)}: {msg}"))
    return problems

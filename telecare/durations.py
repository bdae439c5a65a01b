"""Durations as staff write them: ``30s``, ``2m``, ``1h30m``, ``1d``."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+)\s*([dhms])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[dhms]\s*)+$")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str | int | float) -> int:
    """Return whole seconds. Raises ValueError with a message staff can act on."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration (write it like 30s, 2m or 1h30m)")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return int(text)
    s = str(text).strip().lower()
    if not s or not _WHOLE.match(s):
        raise ValueError(f"{text!r} is not a duration (write it like 30s, 2m or 1h30m)")
    return sum(int(n) * _UNIT[u] for n, u in _PART.findall(s))


_PERIOD = re.compile(r"^\s*(\d+)\s*([yw])\s*$")


def parse_period(text: str | int | float) -> int:
    """A retention period in whole seconds: a duration (``90d``) or ``Nw``/``Ny`` (a year is 365 days).
    At least one day, so a slip of the pen (``30m`` for thirty months) cannot empty a table."""
    m = _PERIOD.match(str(text).lower()) if isinstance(text, str) else None
    seconds = int(m.group(1)) * (7 if m.group(2) == "w" else 365) * 86400 if m else parse_duration(text)
    if seconds < 86400:
        raise ValueError(f"{text!r} is shorter than a day; write a retention period like 30d, 12w or 7y")
    return seconds


def format_duration(seconds: int) -> str:
    seconds = int(seconds)
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)

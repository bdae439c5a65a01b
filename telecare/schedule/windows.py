"""Does a local weekly window cover an instant?

A window is ``days`` + ``from``/``to`` in local time. ``to`` earlier than ``from`` crosses
midnight (the shift belongs to the day it starts), ``from: "00:00", to: "24:00"`` is the
whole day. Evaluated in the zone's wall-clock time, so a 20:00–08:00 shift stays 20:00–08:00
across the clock changes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def covers(days: list[str], start: str, end: str, when: datetime, tz: str = "Europe/London") -> bool:
    local = when.astimezone(ZoneInfo(tz))
    minute = local.hour * 60 + local.minute
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local.weekday() - 1) % 7]
    s, e = _minutes(start), _minutes(end)
    if s == e:  # 00:00-00:00 or 24:00-24:00: treat as whole day
        return today in days
    if s < e:
        return today in days and s <= minute < e
    # crosses midnight: the evening part belongs to today, the morning part to yesterday's shift
    return (today in days and minute >= s) or (yesterday in days and minute < e)


def next_change(when: datetime, tz: str = "Europe/London") -> datetime:
    """The next local minute boundary (used by coverage reports)."""
    return when + timedelta(minutes=1)


__all__ = ["covers", "DAYS", "time"]

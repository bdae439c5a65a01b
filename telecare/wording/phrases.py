"""The pieces of wording shared by SMS and voice: what an alert type is called, first names, times of day."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class AlertLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def opened_at(self) -> datetime: ...


class ResidentLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def postcode(self) -> str | None: ...
    @property
    def access(self) -> str | None: ...
    @property
    def timezone(self) -> str: ...


WHAT = {
    "pendant": "pressed their alarm button",
    "fall": "may have FALLEN",
    "smoke": "has a SMOKE alarm",
    "co": "has a CARBON MONOXIDE alarm",
    "gas": "has a GAS alarm",
    "flood": "has a FLOOD alarm",
    "temperature_high": "is too HOT at home",
    "temperature_low": "is too COLD at home",
    "bed_absence": "has been out of bed a long time tonight",
    "inactivity": "has not moved about for hours",
    "door_exit": "went out of the front door at night",
    "low_battery": "has an alarm with a low battery",
    "tamper": "has an alarm device that was tampered with",
    "device_offline": "has an alarm that has gone quiet",
    "missed_checkin": "missed their daily check-in call",
    "no_response": "needs help and nobody has answered",
    "checkin_help": "asked for HELP on their daily check-in",
}


def what(alert_type: str) -> str:
    return WHAT.get(alert_type, alert_type.replace("_", " "))


def local_time(alert: AlertLike, resident: ResidentLike | None) -> str:
    tz = ZoneInfo(resident.timezone if resident else "Europe/London")
    return alert.opened_at.astimezone(tz).strftime("%H:%M")


def first_name(name: str) -> str:
    return (name or "").split()[0] if name and name.split() else (name or "")


def part_of_day(now: datetime, tz: str) -> str:
    h = now.astimezone(ZoneInfo(tz)).hour
    return "morning" if h < 12 else "afternoon" if h < 18 else "evening"


def spoken_time(when: datetime, tz: str, now: datetime) -> str:
    """'tomorrow at 10 o'clock', 'on Friday at 10:30', 'on 14 April at 10 o'clock'."""
    zone = ZoneInfo(tz)
    local, today = when.astimezone(zone), now.astimezone(zone).date()
    clock = f"{local.hour % 12 or 12} o'clock" if local.minute == 0 else local.strftime("%-H:%M")
    if local.minute == 0:
        clock += " in the morning" if local.hour < 12 else " in the afternoon" if local.hour < 18 else " in the evening"
    days = (local.date() - today).days
    if days == 0:
        return f"later today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if days < 7:
        return f"on {local.strftime('%A')} at {clock}"
    return f"on {local.day} {local.strftime('%B')} at {clock}"

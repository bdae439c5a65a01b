"""The words we send. Plain, short, one SMS where it can be."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from telecare.alert.models import Alert
from telecare.site.models import Resident
from telecare.storage.secrets import ACCESS_PLACEHOLDER

WHAT = {
    "pendant": "pressed their alarm button", "fall": "may have FALLEN", "smoke": "has a SMOKE alarm",
    "co": "has a CARBON MONOXIDE alarm", "gas": "has a GAS alarm", "flood": "has a FLOOD alarm",
    "temperature_high": "is too HOT at home", "temperature_low": "is too COLD at home",
    "bed_absence": "has been out of bed a long time tonight", "inactivity": "has not moved about for hours",
    "door_exit": "went out of the front door at night", "low_battery": "has an alarm with a low battery",
    "tamper": "has an alarm device that was tampered with", "device_offline": "has an alarm that has gone quiet",
    "missed_checkin": "missed their daily check-in call", "no_response": "needs help and nobody has answered",
    "checkin_help": "asked for HELP on their daily check-in",
}


def local_time(alert: Alert, resident: Resident | None) -> str:
    tz = ZoneInfo(resident.timezone if resident else "Europe/London")
    return alert.opened_at.astimezone(tz).strftime("%H:%M")


def alert_sms(alert: Alert, resident: Resident | None) -> str:
    who = resident.name if resident else "A resident"
    where = ", ".join(p for p in ((resident.address if resident else None), (resident.postcode if resident else None)) if p)
    what = WHAT.get(alert.type, alert.type.replace("_", " "))
    return (f"LINKAGE ALERT {alert.id}: {who} {what} at {local_time(alert, resident)}"
            + (f", {where}" if where else "") + ". Reply 1 if you can go, 2 if you can't.")


def alert_speech(alert: Alert, resident: Resident | None) -> str:
    who = resident.name if resident else "a resident"
    what = WHAT.get(alert.type, alert.type.replace("_", " ")).lower()
    where = f" at {resident.address}" if resident and resident.address else ""
    return (f"This is Linkage, with an alert. {who}{where} {what}, at {local_time(alert, resident)}. "
            "Press 1, or say yes, if you can go. Press 2, or say no, if you can't.")


def access_sms(alert: Alert, resident: Resident | None, name: str, *, stored: bool = False) -> str:
    """The acceptor's message. ``stored``: the copy the database keeps, with the note as
    ``[access note]`` (the dispatcher puts the note in as it hands the message over:
    telecare.notification.service.claim)."""
    where = ", ".join(p for p in ((resident.address if resident else None), (resident.postcode if resident else None)) if p)
    held = resident.access if resident and resident.access and resident.access.strip() else None
    access = (ACCESS_PLACEHOLDER if stored else held) if held else "no access notes held"
    return (f"Thank you {name.split()[0]}, alert {alert.id} is yours. {resident.name if resident else 'The resident'}"
            + (f", {where}" if where else "") + f". Access: {access}. Please go now.")

"""Site-wide settings staff can change at run time."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from telecare.durations import format_duration, parse_duration

from .models import Setting

DEFAULTS = {
    "heartbeat_grace": "5m",   # how long past a missed heartbeat before device_offline
}
VALIDATORS = {
    "heartbeat_grace": parse_duration,
}


def get(session: Session, key: str) -> str:
    row = session.get(Setting, key)
    return row.value if row else DEFAULTS[key]


def get_seconds(session: Session, key: str) -> int:
    return parse_duration(get(session, key))


def put(session: Session, key: str, value: str, actor: str, now: datetime) -> str:
    if key not in DEFAULTS:
        raise KeyError(f"unknown setting {key!r}; known: {', '.join(DEFAULTS)}")
    seconds = VALIDATORS[key](value)
    value = format_duration(seconds)
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value, updated_at=now, updated_by=actor))
    else:
        row.value, row.updated_at, row.updated_by = value, now, actor
    return value

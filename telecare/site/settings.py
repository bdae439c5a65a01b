"""Site-wide settings staff can change at run time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from telecare.durations import format_duration, parse_duration, parse_period

from .models import Setting

# How long each kind of record is kept (telecare.retention; docs/data-protection.md says why).
# The site file's ``retention:`` block sets them (its keys without the prefix), as do staff here.
RETENTION_DEFAULTS = {
    "activity_events": "90d",  # raw device events that opened no alert: deleted
    "dead_letters": "30d",  # refused MQTT messages: deleted (counted in a tally)
    "notification_bodies": "30d",  # text of outbound messages and of replies: blanked, rows kept
    "conversation_text": "365d",  # helpline: what people wrote, and their names and numbers: blanked
    "closed_alerts": "2555d",  # resolved/cancelled alerts with their timelines (care records, 7 years)
}
RETENTION_PREFIX = "retention_"

DEFAULTS = {
    "heartbeat_grace": "5m",  # how long past a missed heartbeat before device_offline
    **{RETENTION_PREFIX + k: v for k, v in RETENTION_DEFAULTS.items()},
}
VALIDATORS = {
    "heartbeat_grace": parse_duration,
    **{RETENTION_PREFIX + k: parse_period for k in RETENTION_DEFAULTS},
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

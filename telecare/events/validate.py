"""Validation of an event payload against the contract. Cheap: this runs for every message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import orjson

from telecare.catalog import EVENT_TYPES

MAX_PAYLOAD = 4096
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
EVENT_ID_MAX = 128


class Rejected(Exception):
    """A message that goes to the dead-letter table. ``kind`` is a short code, ``reason`` plain words."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(slots=True)
class EventPayload:
    event_id: str
    type: str
    ts: datetime
    battery: int | None = None
    location: str | None = None
    value: float | None = None
    cid: str | None = None


def parse_ts(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise Rejected("bad_field", "field 'ts' must be an RFC 3339 string like 2026-11-23T02:14:05Z")
    s = raw
    if len(s) < 20 or s[10] not in "Tt ":
        raise Rejected("bad_field", f"field 'ts' {raw!r} is not RFC 3339 (date, 'T', time and offset)")
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise Rejected("bad_field", f"field 'ts' {raw!r} is not RFC 3339") from None
    if dt.tzinfo is None:
        raise Rejected("bad_field", f"field 'ts' {raw!r} has no time-zone offset (add Z or +00:00)")
    return dt.astimezone(timezone.utc)


def parse_event(payload: bytes) -> EventPayload:
    if len(payload) > MAX_PAYLOAD:
        raise Rejected("too_large", f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD}")
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected("bad_json", "payload is not UTF-8") from None
        raise Rejected("bad_json", f"payload is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Rejected("bad_json", f"payload must be a JSON object, not {type(data).__name__}")
    for field in ("event_id", "type", "ts"):
        if field not in data or data[field] is None:
            raise Rejected("missing_field", f"required field '{field}' is missing")
    event_id = data["event_id"]
    if not isinstance(event_id, str) or not event_id or len(event_id) > EVENT_ID_MAX or "\x00" in event_id:
        raise Rejected("bad_field", f"field 'event_id' must be a non-empty string of at most {EVENT_ID_MAX} characters")
    etype = data["type"]
    if not isinstance(etype, str):
        raise Rejected("bad_field", "field 'type' must be a string")
    if etype not in EVENT_TYPES:
        raise Rejected("unknown_type", f"event type {etype!r} is not one the hub knows")
    ts = parse_ts(data["ts"])
    battery = data.get("battery")
    if battery is not None:
        if isinstance(battery, bool) or not isinstance(battery, (int, float)) or not 0 <= battery <= 100:
            raise Rejected("bad_field", f"field 'battery' must be a percentage 0-100, not {battery!r}")
        battery = int(battery)
    value = data.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise Rejected("bad_field", f"field 'value' must be a number or null, not {value!r}")
    location = data.get("location")
    if location is not None and (not isinstance(location, str) or len(location) > 100 or "\x00" in location):
        raise Rejected("bad_field", "field 'location' must be a string of at most 100 characters, without NUL")
    cid = data.get("cid")
    if cid is not None:
        if isinstance(cid, int) and not isinstance(cid, bool):
            cid = str(cid)
        if not isinstance(cid, str) or len(cid) > 16 or "\x00" in cid:
            raise Rejected("bad_field", "field 'cid' must be a SIA Contact ID code string")
    return EventPayload(event_id, etype, ts, battery, location, None if value is None else float(value), cid)


def payload_text(payload: bytes) -> str:
    """Keep what arrived, readable: UTF-8 with undecodable bytes and NUL (which PostgreSQL text
    cannot hold) escaped."""
    return payload.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")

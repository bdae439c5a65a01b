"""The wellbeing watch: bed absence, the front door at night and daytime inactivity,
computed by the hub from raw activity events (``bed_exit``, ``bed_enter``, ``door_open``,
``motion``) against each device's ``watch`` window, as telecare platforms' "virtual
sensors" do. Devices that compute these alarms themselves still send them as before.

A device is watched when it has a ``watch:`` block (an empty one takes the defaults):

* bed sensor ``{from, to, absence}``: the resident got out of bed inside the window and was
  not back within ``absence`` (the whole absence inside the window: getting up at 06:50 for
  the day with a 07:00 window end is not an alarm) -> ``bed_absence``.
* door sensor ``{from, to}``: the door opened inside the window -> ``door_exit`` (openings
  within 10 minutes of the last alarm are the same going-out).
* motion sensor ``{from, to, inactivity}``: no movement for ``inactivity`` inside one day's
  window (counted from the later of the last movement and the window's start) ->
  ``inactivity``.

Each is raised once per occurrence (one night's absence, one opening, one quiet spell)
through ``telecare.alert.service.raise_alarm``, like the device's own alarm; the alert's
timeline says it was computed by the hub and from which device. Nothing is written to
``events``: that table is the devices' own record (and ingest's hot path).

``sweep`` is periodic (the hub runs it every few seconds; tests call it with a FakeClock). It
reads new events from ``events`` by id with a cursor (``sweep_cursors``), never touching
ingest; events younger than ``SETTLE`` wait for the next sweep so a batch still committing
a lower id is not stepped over. Time-driven alarms (absence, inactivity) wait on
``watch_states.due_at``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from telecare.alert import service as alerts
from telecare.catalog import EVENT_TYPES
from telecare.checkin.schedule import local_at
from telecare.domain_events import DeviceWatchChanged
from telecare.durations import format_duration, parse_duration
from telecare.events.models import Event
from telecare.schedule.windows import DAYS, covers
from telecare.site.models import Device, Home, Resident

from .models import SweepCursor, WatchState

log = logging.getLogger("linkage.watch")

KINDS = {"bed_sensor": "bed", "door_sensor": "door", "motion_sensor": "motion"}
TYPES = {"bed": ("bed_exit", "bed_enter"), "door": ("door_open",), "motion": ("motion",)}
DEFAULTS: dict[str, dict[str, Any]] = {
    "bed": {"from": "22:00", "to": "07:00", "absence": 30 * 60},
    "door": {"from": "23:00", "to": "06:00"},
    "motion": {"from": "08:00", "to": "20:00", "inactivity": 4 * 3600},
}
DOOR_DEBOUNCE = timedelta(minutes=10)
SETTLE = 2.0  # seconds
CURSOR = "watch"


def watch_config(device: Device) -> dict[str, Any] | None:
    kind = KINDS.get(device.kind)
    if kind is None or not isinstance(device.watch, dict):
        return None
    cfg = dict(DEFAULTS[kind])
    cfg.update({k: v for k, v in device.watch.items() if v is not None})
    for key in ("absence", "inactivity"):
        if key in cfg:
            cfg[key] = parse_duration(cfg[key])
    cfg.setdefault("days", list(DAYS))
    cfg["kind"] = kind
    return cfg


# -- windows --------------------------------------------------------------------------------------------
def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def occurrences(cfg: dict[str, Any], around: datetime, tz: str, ahead: int = 8) -> list[tuple[datetime, datetime]]:
    """The window's occurrences (UTC start, end) from the day before ``around`` on, in order.
    Same reading as telecare.schedule.windows.covers: ``to`` before ``from`` crosses midnight
    and belongs to the day it starts; ``from`` equal to ``to`` is the whole day."""
    zone = ZoneInfo(tz)
    base = around.astimezone(zone).date()
    out = []
    for i in range(-1, ahead + 1):
        d = base + timedelta(days=i)
        if DAYS[d.weekday()] not in cfg["days"]:
            continue
        a, b = _minutes(cfg["from"]), _minutes(cfg["to"])
        if a == b:
            start, end = local_at(d, "00:00", zone), local_at(d, "24:00", zone)
        elif a < b:
            start, end = local_at(d, cfg["from"], zone), local_at(d, cfg["to"], zone)
        else:
            start, end = local_at(d, cfg["from"], zone), local_at(d + timedelta(days=1), cfg["to"], zone)
        out.append((start, end))
    return out


def bed_due(cfg: dict[str, Any], left_at: datetime, tz: str) -> datetime | None:
    for start, end in occurrences(cfg, left_at, tz, ahead=1):
        if start <= left_at < end:
            due = left_at + timedelta(seconds=cfg["absence"])
            return due if due <= end else None
    return None


def quiet_since(st: WatchState) -> datetime:
    return max(st.last_ts, st.since_at) if st.last_ts else st.since_at


def motion_due(cfg: dict[str, Any], quiet_from: datetime, tz: str) -> datetime | None:
    for start, end in occurrences(cfg, quiet_from, tz):
        if end <= quiet_from:
            continue
        begin = max(start, quiet_from)
        if begin + timedelta(seconds=cfg["inactivity"]) <= end:
            return begin + timedelta(seconds=cfg["inactivity"])
    return None


# -- configuration -----------------------------------------------------------------------------------------
def _tz(s: Session, home_id: int) -> str:
    tz = s.scalar(select(Resident.timezone).join(Home, Home.resident_id == Resident.id).where(Home.id == home_id))
    return tz or "Europe/London"


def _ensure_cursor(s: Session) -> SweepCursor:
    cur = s.get(SweepCursor, CURSOR)
    if cur is None:
        # the watch starts from now: what happened before it was switched on is not looked at
        cur = SweepCursor(name=CURSOR, value=s.scalar(select(func.coalesce(func.max(Event.id), 0))))
        s.add(cur)
        s.flush()
    return cur


def _recompute(st: WatchState, cfg: dict[str, Any], tz: str) -> None:
    if st.kind == "bed":
        st.due_at = bed_due(cfg, st.left_at, tz) if st.in_bed is False and st.left_at else None
        if st.due_at is not None and st.raised_key == _bed_key(st):
            st.due_at = None
    elif st.kind == "motion":
        st.due_at = motion_due(cfg, quiet_since(st), tz)
        if st.due_at is not None and st.raised_key == _motion_key(st):
            st.due_at = None
    else:
        st.due_at = None


def when_watch_changed(s: Session, e: DeviceWatchChanged) -> None:
    """Subscribed to ``DeviceWatchChanged`` (the site loader)."""
    device = s.get(Device, e.device_id)
    if device is not None:
        configure(s, device, e.at)


def configure(s: Session, device: Device, now: datetime) -> WatchState | None:
    """A device's watch was set or changed."""
    cfg = watch_config(device)
    st = s.get(WatchState, device.id) if device.id is not None else None
    if cfg is None:
        if st is not None:
            s.delete(st)
        return None
    _ensure_cursor(s)
    if st is None or st.kind != cfg["kind"]:
        if st is not None:
            s.delete(st)
            s.flush()
        st = WatchState(device_id=device.id, home_id=device.home_id, kind=cfg["kind"], since_at=now, updated_at=now)
        s.add(st)
    _recompute(st, cfg, _tz(s, device.home_id))
    st.updated_at = now
    return st


def sync_missing(s: Session, now: datetime) -> int:
    """Watched devices without a state (loaded before the watch existed): watch them from now."""
    rows = s.scalars(
        select(Device)
        .outerjoin(WatchState, WatchState.device_id == Device.id)
        .where(WatchState.device_id.is_(None), Device.kind.in_(list(KINDS)), Device.watch.is_not(None))
    ).all()
    n = 0
    for d in rows:
        if watch_config(d) is not None:
            configure(s, d, now)
            n += 1
    return n


def next_due(s: Session) -> datetime | None:
    return s.scalar(select(func.min(WatchState.due_at)))


# -- the sweep ---------------------------------------------------------------------------------------------
def _bed_key(st: WatchState) -> str:
    return f"bed:{st.left_at.isoformat()}" if st.left_at else "bed:"


def _motion_key(st: WatchState) -> str:
    return f"motion:{quiet_since(st).isoformat()}"


def _hhmm(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def _raise(s: Session, st: WatchState, device: Device, type: str, key: str, detail: str, now: datetime) -> int:
    home = s.get(Home, st.home_id)
    priority = EVENT_TYPES[type][1]
    assert priority is not None  # the catalog gives each watch alarm a priority
    alert, _ = alerts.raise_alarm(
        s,
        home_id=st.home_id,
        resident_id=home.resident_id if home else None,
        device_id=st.device_id,
        type=type,
        priority=priority,
        now=now,
        detail=detail,
    )
    st.raised_key, st.raised_at = key, now
    log.info("wellbeing watch: %s on device %s, alert %s", type, device.ext_id, alert.id)  # the detail is health
    return alert.id


def sweep(s: Session, now: datetime, batch: int = 5000) -> list[int]:
    """Read new activity, then raise what is due. Returns the alerts raised or joined."""
    raised: list[int] = []
    cur = s.get(SweepCursor, CURSOR)
    if cur is None:
        _ensure_cursor(s)
        return raised
    if s.scalar(select(WatchState.device_id).limit(1)) is None:
        # nothing is watched: keep up with the table without reading it
        cur.value = s.execute(select(func.coalesce(func.max(Event.id), 0))).scalar_one()
        return raised
    settled = now.timestamp() - SETTLE
    rows = s.execute(
        select(Event.id, Event.device_id, Event.type, Event.ts, Event.received_epoch, Event.event_id)
        .where(Event.id > cur.value)
        .order_by(Event.id)
        .limit(batch)
    ).all()
    take = []
    for row in rows:
        if row.received_epoch > settled:
            break
        take.append(row)
    if take:
        cur.value = take[-1].id
        dev_ids = {r.device_id for r in take if r.device_id is not None}
        states = (
            {
                st.device_id: st
                for st in s.scalars(select(WatchState).where(WatchState.device_id.in_(dev_ids)).with_for_update())
            }
            if dev_ids
            else {}
        )
        per_device: dict[int, list[_EventRow]] = defaultdict(list)
        for r in take:
            st = states.get(r.device_id)
            if st is not None and r.type in TYPES[st.kind]:
                per_device[r.device_id].append(r)
        for device_id, events in per_device.items():
            st = states[device_id]
            device = s.get_one(Device, device_id)
            cfg = watch_config(device)
            if cfg is None:
                continue
            tz = _tz(s, st.home_id)
            for r in sorted(events, key=lambda e: (e.ts, e.id)):
                raised += _apply(s, st, device, cfg, tz, r, now)
            _recompute(st, cfg, tz)
            st.updated_at = now
    for st in s.scalars(
        select(WatchState).where(WatchState.due_at <= now).order_by(WatchState.due_at).limit(batch).with_for_update()
    ):
        device = s.get_one(Device, st.device_id)
        cfg = watch_config(device)
        if cfg is None:
            st.due_at = None
            continue
        tz = _tz(s, st.home_id)
        if st.kind == "bed" and st.in_bed is False and st.left_at and st.raised_key != _bed_key(st):
            detail = (
                f"out of bed since {_hhmm(st.left_at, tz)} and not back after "
                f"{format_duration(cfg['absence'])} (bed watch {cfg['from']}-{cfg['to']}; computed by the hub "
                f"from {device.ext_id})"
            )
            raised.append(_raise(s, st, device, "bed_absence", _bed_key(st), detail, now))
        elif st.kind == "motion" and st.raised_key != _motion_key(st):
            assert st.due_at is not None  # selected by due_at <= now
            begin = st.due_at - timedelta(seconds=cfg["inactivity"])
            last = (
                f"; last movement {st.last_ts.astimezone(ZoneInfo(tz)).strftime('%a %H:%M')}"
                if st.last_ts and st.last_ts < begin
                else ""
            )
            detail = (
                f"no movement since {_hhmm(begin, tz)}: {format_duration(cfg['inactivity'])} in the day watch "
                f"{cfg['from']}-{cfg['to']}{last} (computed by the hub from {device.ext_id})"
            )
            raised.append(_raise(s, st, device, "inactivity", _motion_key(st), detail, now))
        st.due_at = None
        st.updated_at = now
    return raised


_EventRow = Row[int, int | None, str, datetime, float, str]  # id, device_id, type, ts, received_epoch, event_id


def _apply(
    s: Session, st: WatchState, device: Device, cfg: dict[str, Any], tz: str, r: _EventRow, now: datetime
) -> list[int]:
    received = datetime.fromtimestamp(r.received_epoch, tz=timezone.utc)
    ts = min(r.ts, received)  # a device clock running fast does not put activity in the future
    if ts < st.since_at:
        return []
    newest = st.last_ts is None or ts >= st.last_ts
    out: list[int] = []
    if r.type == "door_open":
        if covers(cfg["days"], cfg["from"], cfg["to"], ts, tz) and (
            st.raised_at is None or abs(ts - st.raised_at) >= DOOR_DEBOUNCE
        ):
            detail = (
                f"front door opened at {_hhmm(ts, tz)} in the night watch {cfg['from']}-{cfg['to']} "
                f"(computed by the hub from {device.ext_id}, event {r.event_id})"
            )
            out.append(_raise(s, st, device, "door_exit", f"door:{r.id}", detail, now))
            st.raised_at = ts
    elif not newest:
        return out  # an older bed or motion event arriving late changes nothing now
    elif r.type == "bed_exit":
        st.in_bed, st.left_at = False, ts
    elif r.type == "bed_enter":
        st.in_bed, st.left_at = True, None
    if newest:
        st.last_ts = ts
    return out

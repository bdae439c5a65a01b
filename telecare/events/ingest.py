"""Ingest: a batch of inbound device messages in, one transaction out.

The adapter (hub/mqtt) hands over batches and acknowledges them to the broker only after
``process`` returns, i.e. after commit. Within a batch:

* malformed messages become dead letters with their reason;
* heartbeats only move the device's ``last_seen``, kept in memory and written for all
  devices heard from in one executemany every few seconds (no row per heartbeat);
* other events are inserted with ON CONFLICT DO NOTHING on (device, event_id), so a
  redelivered event is recognised whatever path it came by, and only new ones act;
* alarms open or join alerts, ``help_arrived`` and ``cancel`` move them;
* any message from a device marked offline brings it back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from telecare import bus
from telecare.alert import service as alerts
from telecare.alert.models import Alert
from telecare.alert.states import ACTIVE_STATES
from telecare.catalog import EVENT_TYPES, HOME_UNIT_OFFLINE_PRIORITY, HUB_EVENT_PRIORITY, Handling
from telecare.clock import Clock, SystemClock
from telecare.domain_events import DeviceWentQuiet
from telecare.site import last_seen
from telecare.site.device_cache import DeviceCache, DeviceInfo
from telecare.site.models import Device, Home, Resident

from .models import DeadLetter, Event
from .validate import EventPayload, Rejected, parse_event, payload_text

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

log = logging.getLogger("linkage.ingest")

LOW_BATTERY = 20  # percent


@dataclass(slots=True)
class Inbound:
    """One message as the adapter saw it. ``kind`` is event, status or bad_topic."""

    kind: str
    topic: str
    payload: bytes
    home: str | None = None
    device: str | None = None
    reason: str | None = None  # for bad_topic
    received: datetime | None = None
    token: Any = None  # the adapter's own handle (the MQTT mid)


@dataclass
class BatchResult:
    accepted: int = 0
    heartbeats: int = 0
    duplicates: int = 0
    dead: int = 0
    alerts_opened: list[int] = field(default_factory=list)
    alerts_changed: list[int] = field(default_factory=list)
    outbox: int = 0


def _insert_ignore(session: Session, table: Table) -> PgInsert | SqliteInsert:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


DEAD_LETTER_KEEP = 4096  # bytes of a refused payload kept for staff to see (the size says how much came)


def dead_letter(session: Session, topic: str, payload: bytes, kind: str, reason: str, now: datetime) -> None:
    """Keep a refused message: its reason, its size, and only the start of its payload (a 1 MiB message
    is kept as 4 KiB: enough to see what it was, too little to carry much personal data)."""
    session.add(
        DeadLetter(
            received_at=now,
            topic=topic[:1024],
            payload=payload_text(payload[:DEAD_LETTER_KEEP]),
            payload_size=len(payload),
            kind=kind,
            reason=reason,
        )
    )


def _describe(ev: EventPayload, info: DeviceInfo) -> str:
    where = f" in the {ev.location}" if ev.location else ""
    extra = f", reading {ev.value:g}" if ev.value is not None else ""
    cid = f", SIA CID {ev.cid}" if ev.cid else ""
    return (
        f"{ev.type.replace('_', ' ')} from {info.ext_id}{where} at {ev.ts.strftime('%H:%M:%S')}Z"
        f"{extra}{cid} (event {ev.event_id})"
    )


class IngestService:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        devices: DeviceCache,
        clock: Clock | None = None,
        low_battery: int = LOW_BATTERY,
        flush_every: float = 5.0,
    ) -> None:
        self.sessions = session_factory
        self.devices = devices
        self.clock = clock or SystemClock()
        self.low_battery = low_battery
        self.flush_every = flush_every  # seconds between bulk writes of last_seen
        self._last_flush = 0.0

    # -- the batch -------------------------------------------------------------------
    def process(self, batch: Sequence[Inbound]) -> BatchResult:
        res = BatchResult()
        after_commit: list[Callable[[], None]] = []
        with self.devices.lock, self.sessions(autoflush=False) as s, s.begin():
            now = self.clock.now()
            now_epoch = now.timestamp()
            dirty = self.devices.dirty
            activity: list[tuple[Any, ...]] = []  # stored, nothing else: one executemany
            rows: list[dict[str, Any]] = []  # events that act (alarms, device care, help arrived, cancel)
            meta: list[tuple[DeviceInfo, EventPayload, Inbound]] = []
            seen: set[tuple[int, str]] = set()
            statuses: list[Inbound] = []
            batteries: list[tuple[DeviceInfo, int]] = []
            sqlite = s.get_bind().dialect.name == "sqlite"
            for m in batch:
                if m.kind == "bad_topic":
                    dead_letter(
                        s, m.topic, m.payload, "wrong_topic", m.reason or "topic is not part of the contract", now
                    )
                    res.dead += 1
                    continue
                if m.kind == "status":
                    statuses.append(m)
                    continue
                try:
                    ev = parse_event(m.payload)
                except Rejected as r:
                    dead_letter(s, m.topic, m.payload, r.kind, r.reason, now)
                    res.dead += 1
                    continue
                assert m.home is not None and m.device is not None  # an event's topic names both
                info = self.devices.device(s, m.home, m.device)
                if info is None:
                    if self.devices.home(s, m.home) is None:
                        kind, reason = "unknown_home", f"home {m.home!r} is not registered"
                    else:
                        kind, reason = (
                            "unknown_device",
                            (
                                f"device {m.device!r} is not registered in home {m.home!r}: "
                                "an unregistered device is sending events"
                            ),
                        )
                    dead_letter(s, m.topic, m.payload, kind, reason, now)
                    res.dead += 1
                    continue
                info.seen = now_epoch
                dirty[info.id] = info
                if not info.online:
                    self._restore(
                        s, info, f"{ev.type.replace('_', ' ')} received from {info.ext_id}", now, after_commit, res
                    )
                if ev.battery is not None:
                    self._check_battery(s, info, ev, now, res)
                    batteries.append((info, ev.battery))
                handling = EVENT_TYPES[ev.type][0]
                if handling is Handling.HEARTBEAT:
                    res.heartbeats += 1
                    continue
                key = (info.id, ev.event_id)
                if key in seen:
                    res.duplicates += 1
                    continue
                seen.add(key)
                if handling is Handling.ACTIVITY:
                    ts = ev.ts.replace(tzinfo=None)
                    activity.append(
                        (
                            info.id,
                            info.home_id,
                            ev.event_id,
                            ev.type,
                            ts.isoformat(" ", "microseconds") if sqlite else ts,
                            now_epoch,
                            ev.battery,
                            ev.location,
                            ev.value,
                            ev.cid,
                        )
                    )
                    continue
                rows.append(
                    {
                        "device_id": info.id,
                        "home_id": info.home_id,
                        "event_id": ev.event_id,
                        "type": ev.type,
                        "ts": ev.ts,
                        "received_epoch": now_epoch,
                        "battery": ev.battery,
                        "location": ev.location,
                        "value": ev.value,
                        "cid": ev.cid,
                    }
                )
                meta.append((info, ev, m))

            if activity:
                inserted = self._insert_activity(s, activity, sqlite)
                res.accepted += inserted
                res.duplicates += len(activity) - inserted
            if rows:
                stmt = (
                    _insert_ignore(s, Event.__table__)
                    .on_conflict_do_nothing(index_elements=["device_id", "event_id"])
                    .returning(Event.__table__.c.id, Event.__table__.c.device_id, Event.__table__.c.event_id)
                )
                new = {(r[1], r[2]): r[0] for r in s.execute(stmt, rows)}
                res.duplicates += len(rows) - len(new)
                res.accepted += len(new)
                links = []
                for info, ev, m in meta:
                    row_id = new.get((info.id, ev.event_id))
                    if row_id is None:
                        continue
                    alert_id = self._act(s, info, ev, now, res, m)
                    if alert_id is not None:
                        links.append({"e_id": row_id, "a_id": alert_id})
                if links:
                    s.execute(
                        update(Event.__table__)
                        .where(Event.__table__.c.id == bindparam("e_id"))
                        .values(alert_id=bindparam("a_id"))
                        .execution_options(synchronize_session=False),
                        links,
                    )
            for m in statuses:
                self._status(s, m, now, after_commit, res)
            if batteries:

                def apply_batteries(batteries: list[tuple[DeviceInfo, int]] = batteries) -> None:
                    for info, battery in batteries:
                        info.battery = battery

                after_commit.append(apply_batteries)
        for fn in after_commit:
            fn()
        if now_epoch - self._last_flush >= self.flush_every:
            self.flush_seen()
        return res

    def flush_seen(self) -> int:
        """Write pending last_seen times now (see telecare.site.last_seen)."""
        self._last_flush = self.clock.now().timestamp()
        return last_seen.flush(self.sessions, self.devices)

    @staticmethod
    def _insert_activity(s: Session, rows: list[tuple[Any, ...]], sqlite: bool) -> int:
        cols = "device_id, home_id, event_id, type, ts, received_epoch, battery, location, value, cid"
        if sqlite:
            sql = f"INSERT OR IGNORE INTO events ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        else:
            sql = (
                f"INSERT INTO events ({cols}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (device_id, event_id) DO NOTHING"
            )
        result = s.connection().exec_driver_sql(sql, rows)
        return result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(rows)

    def dead_letter_now(self, one: Inbound, kind: str, reason: str) -> None:
        """Keep a message the batch could not take, in a transaction of its own."""
        with self.sessions() as s, s.begin():
            dead_letter(s, one.topic, one.payload, kind, reason, self.clock.now())

    # -- what an accepted event does ---------------------------------------------------
    def _act(
        self, s: Session, info: DeviceInfo, ev: EventPayload, now: datetime, res: BatchResult, m: Inbound | None = None
    ) -> int | None:
        handling, priority = EVENT_TYPES[ev.type]
        if (
            handling in (Handling.ALARM, Handling.DEVICE_CARE)
            and info.resident_id is not None
            and s.scalar(select(Resident.state).where(Resident.id == info.resident_id)) == "left"
        ):
            # read from the database, not the device cache: ``linkage load`` in another process archives residents.
            # Never silent: staff see it with the dead letters (and the event row is kept)
            dead_letter(
                s,
                m.topic if m else f"telecare/v1/{info.home_ext}/{info.ext_id}/event",
                m.payload if m else ev.event_id.encode(),
                "resident_left",
                f"{ev.type} from {info.ext_id}: the home's resident has left the service, so no alert was "
                "raised; collect the equipment or register the home to someone else",
                now,
            )
            res.dead += 1
            return None
        alert: Alert | None
        if handling is Handling.ALARM:
            assert priority is not None  # the catalog gives every alarm a priority
            alert, opened = alerts.raise_alarm(
                s,
                home_id=info.home_id,
                resident_id=info.resident_id,
                device_id=info.id,
                type=ev.type,
                priority=priority,
                now=now,
                detail=_describe(ev, info),
            )
            (res.alerts_opened if opened else res.alerts_changed).append(alert.id)
            res.outbox += 1
            return alert.id
        if handling is Handling.DEVICE_CARE:
            assert priority is not None  # and every device-care event
            alert, opened = alerts.raise_device_care(
                s,
                home_id=info.home_id,
                resident_id=info.resident_id,
                device_id=info.id,
                type=ev.type,
                priority=priority,
                now=now,
                detail=_describe(ev, info),
            )
            if opened:
                res.alerts_opened.append(alert.id)
                res.outbox += 1
            return alert.id
        if handling in (Handling.HELP_ARRIVED, Handling.CANCEL):
            alert = alerts.find_active(s, info.home_id, "alarm", for_update=True)
            if alert is None:
                log.warning("%s from %s/%s with no active alarm", ev.type, info.home_ext, info.ext_id)
                return None
            actor = f"device {info.ext_id}"
            if handling is Handling.HELP_ARRIVED:
                if alert.state in ("open", "acknowledged"):
                    alerts.arrived(s, alert.id, actor, now, via="device")
                else:
                    alerts.note(s, alert, "device", f"help arrived signalled again by {info.ext_id}", now, actor)
            else:
                if alert.state in ("open", "acknowledged"):
                    alerts.cancel(
                        s,
                        alert.id,
                        "resident",
                        now,
                        reason=f"cancel pressed on {info.ext_id}",
                        outcome="cancelled_by_resident",
                    )
                else:
                    alerts.note(
                        s,
                        alert,
                        "device",
                        f"cancel pressed on {info.ext_id} while help is attending; the alert stays with the responder",
                        now,
                        actor,
                    )
            res.alerts_changed.append(alert.id)
            res.outbox += 1
            return alert.id
        return None  # activity: stored, nothing else yet

    def _check_battery(self, s: Session, info: DeviceInfo, ev: EventPayload, now: datetime, res: BatchResult) -> None:
        assert ev.battery is not None  # the caller checks
        priority = EVENT_TYPES["low_battery"][1]
        assert priority is not None
        before = info.battery
        if (
            ev.battery < self.low_battery
            and (before is None or before >= self.low_battery)
            and ev.type != "low_battery"
        ):
            alert, opened = alerts.raise_device_care(
                s,
                home_id=info.home_id,
                resident_id=info.resident_id,
                device_id=info.id,
                type="low_battery",
                priority=priority,
                now=now,
                detail=f"battery of {info.ext_id} reported at {ev.battery}% (below {self.low_battery}%)",
            )
            if opened:
                res.alerts_opened.append(alert.id)

    def _restore(
        self,
        s: Session,
        info: DeviceInfo,
        why: str,
        now: datetime,
        after_commit: list[Callable[[], None]],
        res: BatchResult,
    ) -> None:
        s.execute(update(Device).where(Device.id == info.id).values(online=True))
        for alert in s.scalars(
            select(Alert).where(
                Alert.device_id == info.id, Alert.type == "device_offline", Alert.state.in_(ACTIVE_STATES)
            )
        ):
            alerts.note(s, alert, "restored", f"device back: {why}", now, "hub")
            alerts.resolve(s, alert.id, "hub", "device_restored", now)
            res.alerts_changed.append(alert.id)

        def apply(info: DeviceInfo = info) -> None:
            info.online = True

        after_commit.append(apply)

    def _status(
        self, s: Session, m: Inbound, now: datetime, after_commit: list[Callable[[], None]], res: BatchResult
    ) -> None:
        if not m.payload:  # a retained status being cleared
            return
        assert m.home is not None  # a status topic names its home
        text = m.payload.decode("utf-8", errors="replace").strip().lower()
        if text not in ("online", "offline"):
            dead_letter(s, m.topic, m.payload, "bad_status", "status must be 'online' or 'offline'", now)
            res.dead += 1
            return
        home = self.devices.home(s, m.home)
        if home is None:
            dead_letter(s, m.topic, m.payload, "unknown_home", f"home {m.home!r} is not registered", now)
            res.dead += 1
            return
        s.execute(update(Home).where(Home.id == home.id).values(status=text))
        home.status = text
        found = [
            self.devices.device(s, m.home, ext)
            for ext in s.scalars(select(Device.ext_id).where(Device.home_id == home.id, Device.kind == "home_unit"))
        ]
        units = [u for u in found if u is not None]
        if text == "online":
            for u in units:
                if not u.online:
                    self._restore(s, u, "home unit reported online", now, after_commit, res)
            if not units:  # a home-level offline alert, if one was raised
                for alert in s.scalars(
                    select(Alert).where(
                        Alert.home_id == home.id,
                        Alert.device_id.is_(None),
                        Alert.type == "device_offline",
                        Alert.state.in_(ACTIVE_STATES),
                    )
                ):
                    alerts.resolve(s, alert.id, "hub", "device_restored", now)
            return
        targets: list[DeviceInfo | None] = [u for u in units if u.online] or ([None] if not units else [])
        for target in targets:
            self.mark_offline(
                s,
                home_id=home.id,
                resident_id=home.resident_id,
                info=target,
                now=now,
                detail=f"home unit {target.ext_id if target else 'of ' + m.home} went offline "
                "(its Last Will): no alarm from this home can get through",
                priority=HOME_UNIT_OFFLINE_PRIORITY,
                after_commit=after_commit,
                res=res,
            )

    @staticmethod
    def mark_offline(
        s: Session,
        *,
        home_id: int,
        resident_id: int | None,
        info: DeviceInfo | None,
        now: datetime,
        detail: str,
        priority: str,
        after_commit: list[Callable[[], None]],
        res: BatchResult | None = None,
    ) -> Alert:
        device_id = info.id if info else None
        if info is not None:
            s.execute(update(Device).where(Device.id == info.id).values(online=False))
            s.add(
                Event(
                    device_id=info.id,
                    home_id=home_id,
                    event_id=f"hub-offline-{now.timestamp():.3f}",
                    type="device_offline",
                    ts=now,
                    received_epoch=now.timestamp(),
                )
            )

            def apply(info: DeviceInfo = info) -> None:
                info.online = False

            after_commit.append(apply)
        alert, opened = alerts.raise_device_care(
            s,
            home_id=home_id,
            resident_id=resident_id,
            device_id=device_id,
            type="device_offline",
            priority=priority,
            now=now,
            detail=detail,
        )
        bus.record(s, DeviceWentQuiet(home_id, device_id, alert.id))
        if res is not None and opened:
            res.alerts_opened.append(alert.id)
        return alert


DEVICE_OFFLINE_PRIORITY = HUB_EVENT_PRIORITY["device_offline"]

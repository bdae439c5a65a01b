from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from telecare.catalog import HOME_UNIT_OFFLINE_PRIORITY, HUB_EVENT_PRIORITY
from telecare.clock import Clock, SystemClock, from_epoch
from telecare.durations import format_duration
from telecare.events.ingest import IngestService
from telecare.site import settings
from telecare.site.device_cache import DeviceCache
from telecare.site.last_seen import flush
from telecare.site.models import Device, Home, Resident

log = logging.getLogger("linkage.supervision")


class Supervisor:
    """Finds devices overdue on their heartbeat. ``started`` is when the hub came up: a device
    is not called silent for time the hub itself was not listening."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        devices: DeviceCache,
        clock: Clock | None = None,
        started: datetime | None = None,
    ):
        self.sessions = session_factory
        self.devices = devices
        self.clock = clock or SystemClock()
        self.started = (started or self.clock.now()).timestamp()
        self.last_run: datetime | None = None

    def run_once(self) -> list[int]:
        opened: list[int] = []
        after_commit: list[Callable[[], None]] = []
        flush(self.sessions, self.devices)  # the database must know every device heard from
        with self.devices.lock, self.sessions() as s, s.begin():
            now = self.clock.now()
            now_e = now.timestamp()
            grace = settings.get_seconds(s, "heartbeat_grace")
            allowance = Device.heartbeat_s + func.coalesce(Device.grace_s, grace)
            seen = func.coalesce(Device.last_seen_epoch, Device.registered_epoch)
            q = (
                select(
                    Device.id,
                    Device.ext_id,
                    Device.kind,
                    Device.heartbeat_s,
                    Device.grace_s,
                    Device.last_seen_epoch,
                    Home.id,
                    Home.ext_id,
                    Home.resident_id,
                )
                .join(Home, Home.id == Device.home_id)
                .outerjoin(Resident, Resident.id == Home.resident_id)
                .where(or_(Resident.id.is_(None), Resident.state != "left"))  # left the service: not supervised
                .where(
                    and_(
                        Device.online.is_(True),
                        Device.heartbeat_s.is_not(None),
                        seen + allowance < now_e,
                        self.started + allowance < now_e,
                    )
                )
            )
            for _d_id, d_ext, kind, hb, g, last, home_id, home_ext, resident_id in s.execute(q).all():
                assert hb is not None  # the query keeps devices with a heartbeat
                info = self.devices.device(s, home_ext, d_ext)
                since = f"since {from_epoch(last).strftime('%d %b %H:%M')}Z" if last else "since it was registered"
                detail = (
                    f"no heartbeat from {d_ext} {since} (expected every {format_duration(hb)}, "
                    f"grace {format_duration(g if g is not None else grace)})"
                )
                if kind == "home_unit":
                    detail += ": no alarm from this home can get through"
                priority = HOME_UNIT_OFFLINE_PRIORITY if kind == "home_unit" else HUB_EVENT_PRIORITY["device_offline"]
                alert = IngestService.mark_offline(
                    s,
                    home_id=home_id,
                    resident_id=resident_id,
                    info=info,
                    now=now,
                    detail=detail,
                    priority=priority,
                    after_commit=after_commit,
                )
                opened.append(alert.id)
                log.warning("device offline: %s/%s", home_ext, d_ext)
        for fn in after_commit:
            fn()
        self.last_run = now
        return opened

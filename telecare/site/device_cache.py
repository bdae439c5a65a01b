"""The device cache: an in-memory index of registered devices, so ingest resolves a topic
without a query. (Not the directory of services: that is ``telecare.directory``.)

About 100 bytes a device: 100,000 devices fit in a few tens of MB. Devices registered
after start (``linkage load`` in another process) are found on first sight by one query;
unknown ones are remembered for a short while so a chatty stranger cannot load the DB.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Device, Home


class DeviceInfo:
    __slots__ = (
        "id",
        "home_id",
        "home_ext",
        "ext_id",
        "kind",
        "resident_id",
        "online",
        "battery",
        "heartbeat_s",
        "seen",
    )

    def __init__(
        self,
        id: int,
        home_id: int,
        home_ext: str,
        ext_id: str,
        kind: str,
        resident_id: int | None,
        online: bool,
        battery: int | None,
        heartbeat_s: int | None,
        seen: float | None = None,
    ) -> None:
        self.id = id
        self.home_id = home_id
        self.home_ext = home_ext
        self.ext_id = ext_id
        self.kind = kind
        self.resident_id = resident_id
        self.online = online
        self.battery = battery
        self.heartbeat_s = heartbeat_s
        self.seen = seen  # epoch seconds of the last message; written to the database in batches


class HomeInfo:
    __slots__ = ("id", "ext_id", "resident_id", "status")

    def __init__(self, id: int, ext_id: str, resident_id: int | None, status: str | None) -> None:
        self.id, self.ext_id, self.resident_id, self.status = id, ext_id, resident_id, status


_COLUMNS = (
    Device.id,
    Device.home_id,
    Home.ext_id,
    Device.ext_id,
    Device.kind,
    Home.resident_id,
    Device.online,
    Device.battery,
    Device.heartbeat_s,
    Device.last_seen_epoch,
)


class DeviceCache:
    NEGATIVE_TTL = 30.0

    def __init__(self) -> None:
        self.devices: dict[tuple[str, str], DeviceInfo] = {}
        self.homes: dict[str, HomeInfo] = {}
        self._missing: dict[tuple[str, str | None], float] = {}
        self.lock = threading.RLock()  # held by ingest batches and supervision
        # devices heard from since their last_seen/battery were last written (id -> info)
        self.dirty: dict[int, DeviceInfo] = {}

    def load(self, session: Session) -> int:
        devices: dict[tuple[str, str], DeviceInfo] = {}
        for row in session.execute(select(*_COLUMNS).join(Home, Home.id == Device.home_id)):
            devices[(row[2], row[3])] = DeviceInfo(*row)  # type: ignore[call-arg]  # stubs: select(*cols)'s rows are open-ended
        homes = {
            r[1]: HomeInfo(*r) for r in session.execute(select(Home.id, Home.ext_id, Home.resident_id, Home.status))
        }
        with self.lock:
            self.devices, self.homes = devices, homes
            self._missing.clear()
        return len(devices)

    def home(self, session: Session, home_ext: str) -> HomeInfo | None:
        info = self.homes.get(home_ext)
        if info is not None:
            return info
        key = (home_ext, None)
        if self._missing.get(key, 0) > time.monotonic():
            return None
        row = session.execute(
            select(Home.id, Home.ext_id, Home.resident_id, Home.status).where(Home.ext_id == home_ext)
        ).first()
        if row is None:
            self._missing[key] = time.monotonic() + self.NEGATIVE_TTL
            return None
        info = self.homes[home_ext] = HomeInfo(*row)
        return info

    def device(self, session: Session, home_ext: str, device_ext: str) -> DeviceInfo | None:
        key = (home_ext, device_ext)
        info = self.devices.get(key)
        if info is not None:
            return info
        if self._missing.get(key, 0) > time.monotonic():
            return None
        row = session.execute(
            select(*_COLUMNS)
            .join(Home, Home.id == Device.home_id)
            .where(Home.ext_id == home_ext, Device.ext_id == device_ext)
        ).first()
        if row is None:
            self._missing[key] = time.monotonic() + self.NEGATIVE_TTL
            return None
        info = self.devices[key] = DeviceInfo(*row)  # type: ignore[call-arg]  # as in load()
        return info

    def forget_missing(self) -> None:
        self._missing.clear()

    def __len__(self) -> int:
        return len(self.devices)

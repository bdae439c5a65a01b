"""Last-seen times, kept in memory by ingest and written in bulk.

Heartbeats are most of the traffic. Ingest only notes on the in-memory device record when
it last heard from a device; this writes ``last_seen_epoch`` and ``battery`` for every
device heard from since the previous write in one executemany. A crash loses at most one
interval of last-seen times, which supervision's start-up grace absorbs.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from .device_cache import DeviceCache


def flush(sessions: sessionmaker[Session], devices: DeviceCache) -> int:
    with devices.lock:
        dirty = devices.dirty
        if not dirty:
            return 0
        snapshot = [(i, i.seen) for i in dirty.values()]
        with sessions() as s, s.begin():
            ph = "?" if s.get_bind().dialect.name == "sqlite" else "%s"
            s.connection().exec_driver_sql(
                f"UPDATE devices SET last_seen_epoch = {ph}, battery = {ph} WHERE id = {ph}",
                [(seen, i.battery, i.id) for i, seen in snapshot],
            )
        for i, seen in snapshot:
            if dirty.get(i.id) is i and i.seen == seen:
                del dirty[i.id]
        return len(snapshot)

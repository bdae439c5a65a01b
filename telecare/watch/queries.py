"""Read models for the watch: what it is watching, device by device."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare.site.models import Device, Home
from telecare.watch.models import WatchState


def watch_states(s: Session, *, home: str | None = None, limit: int = 1000) -> list[tuple[WatchState, Device, str]]:
    """(state, device, home id) by home and device id."""
    q = (
        select(WatchState, Device, Home.ext_id)
        .join(Device, Device.id == WatchState.device_id)
        .join(Home, Home.id == WatchState.home_id)
        .order_by(Home.ext_id, Device.ext_id)
        .limit(limit)
    )
    if home:
        q = q.where(Home.ext_id == home)
    return [(st, d, h) for st, d, h in s.execute(q).all()]

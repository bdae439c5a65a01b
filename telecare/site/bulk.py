"""Register many homes at once (the simulator and benchmarks), in bulk inserts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .models import Device, Home, Resident

# What a simulated home has: (device id, kind, heartbeat seconds or None)
SIM_DEVICES = (
    ("pendant-1", "pendant", None),
    ("fall-1", "fall_detector", None),
    ("bed-1", "bed_sensor", None),
    ("door-1", "door_sensor", None),
    ("motion-1", "motion_sensor", None),
    ("unit-1", "home_unit", 900),
)


def sim_home_id(i: int) -> str:
    return f"sim-{i:06d}"


def register_sim_homes(
    session: Session,
    n: int,
    now: datetime,
    devices: Sequence[tuple[str, str, int | None]] = SIM_DEVICES,
    chunk: int = 5000,
) -> int:
    """Make homes sim-000000.. sim-(n-1) with a resident and devices each; returns how many were new."""
    existing = set(session.scalars(select(Home.ext_id).where(Home.ext_id.like("sim-%"))))
    todo = [i for i in range(n) if sim_home_id(i) not in existing]
    epoch = now.timestamp()
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        session.execute(
            insert(Resident),
            [
                {"ext_id": f"simres-{i:06d}", "name": f"Simulated Resident {i}", "timezone": "Europe/London"}
                for i in part
            ],
        )
        res_ids = dict(
            session.execute(
                select(Resident.ext_id, Resident.id).where(Resident.ext_id.in_([f"simres-{i:06d}" for i in part]))
            ).all()
        )
        session.execute(
            insert(Home), [{"ext_id": sim_home_id(i), "resident_id": res_ids[f"simres-{i:06d}"]} for i in part]
        )
        home_ids = dict(
            session.execute(select(Home.ext_id, Home.id).where(Home.ext_id.in_([sim_home_id(i) for i in part]))).all()
        )
        session.execute(
            insert(Device),
            [
                {
                    "home_id": home_ids[sim_home_id(i)],
                    "ext_id": d,
                    "kind": k,
                    "heartbeat_s": hb,
                    "registered_epoch": epoch,
                    "online": True,
                }
                for i in part
                for d, k, hb in devices
            ],
        )
    return len(todo)

"""Register many residents with daily check-ins at once (the check-in benchmark)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from telecare.site.models import Resident

from .models import CheckinSchedule
from .schedule import next_due


def bench_resident_id(i: int) -> str:
    return f"ckres-{i:06d}"


def register_checkin_residents(
    session: Session,
    ats: list[str],
    now: datetime,
    chunk: int = 5000,
    retry: int = 600,
    attempts: int = 3,
    via: str = "voice",
    tz: str = "Europe/London",
) -> int:
    """Residents ckres-000000.. with a phone and a daily check-in at ``ats[i]`` (local HH:MM),
    and their schedules, in bulk inserts. Returns how many were made."""
    cache: dict[str, datetime | None] = {}
    for start in range(0, len(ats), chunk):
        part = range(start, min(start + chunk, len(ats)))
        session.execute(
            insert(Resident),
            [
                {
                    "ext_id": bench_resident_id(i),
                    "name": f"Check-in Resident {i}",
                    "timezone": tz,
                    "phone": f"+4477{i:08d}",
                    "checkin": {
                        "at": ats[i],
                        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                        "via": via,
                        "attempts": attempts,
                        "retry": retry,
                        "policy": None,
                    },
                }
                for i in part
            ],
        )
        ids = dict(
            session.execute(
                select(Resident.ext_id, Resident.id).where(Resident.ext_id.in_([bench_resident_id(i) for i in part]))
            ).all()
        )
        rows = []
        for i in part:
            at = ats[i]
            if at not in cache:
                cache[at] = next_due({"at": at}, tz, now)
            rows.append(
                {
                    "resident_id": ids[bench_resident_id(i)],
                    "next_due_at": cache[at],
                    "updated_at": now,
                    "updated_by": "bench",
                }
            )
        session.execute(insert(CheckinSchedule), rows)
    return len(ats)

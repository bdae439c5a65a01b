"""Frequent false alarms (DESIGN.md's "Betty pattern"): a resident who presses the pendant
(or sets off another alarm) often without an emergency is usually telling us something
else: that nobody rings them. Staff see it (``GET /api/wellbeing/betty``, a public path
kept as it was) and can offer a daily call.

Counted per resident over ``days`` (30 by default): alarm alerts closed as ``false_alarm`` or
``cancelled_by_resident``. Helpline contacts will count too once the assistant records
enquiries against residents.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telecare.alert.models import Alert
from telecare.site.models import Resident

from .schedule import config

NOT_AN_EMERGENCY = ("false_alarm", "cancelled_by_resident")
DAYS = 30
AT_LEAST = 3


def frequent_callers(
    s: Session, now: datetime, days: int = DAYS, at_least: int = AT_LEAST, resident: str | None = None
) -> list[dict[str, Any]]:
    since = now - timedelta(days=days)
    q = (
        select(Alert.resident_id, Alert.type, Alert.outcome, func.count(), func.max(Alert.opened_at))
        .where(
            Alert.category == "alarm",
            Alert.resident_id.is_not(None),
            Alert.outcome.in_(NOT_AN_EMERGENCY),
            Alert.opened_at >= since,
        )
        .group_by(Alert.resident_id, Alert.type, Alert.outcome)
    )
    if resident:
        q = q.join(Resident, Resident.id == Alert.resident_id).where(Resident.ext_id == resident)
    per: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"count": 0, "by_type": defaultdict(int), "by_outcome": defaultdict(int), "last_at": None}
    )
    for rid, type_, outcome, n, last in s.execute(q).all():
        assert rid is not None  # the query keeps alerts with a resident
        p = per[rid]
        p["count"] += n
        p["by_type"][type_] += n
        p["by_outcome"][outcome] += n
        p["last_at"] = max(filter(None, (p["last_at"], last)))
    ids = [rid for rid, p in per.items() if p["count"] >= at_least]
    residents = {r.id: r for r in s.scalars(select(Resident).where(Resident.id.in_(ids)))} if ids else {}
    out = []
    for rid in ids:
        p, r = per[rid], residents[rid]
        has_checkin = config(r) is not None
        out.append(
            {
                "resident": r.ext_id,
                "name": r.name,
                "count": p["count"],
                "days": days,
                "by_type": dict(p["by_type"]),
                "by_outcome": dict(p["by_outcome"]),
                "last_at": p["last_at"],
                "has_checkin": has_checkin,
                "suggestion": None
                if has_checkin
                else f"{r.name} has no daily check-in: offer a daily call (and a befriender)",
            }
        )
    out.sort(key=lambda x: (-x["count"], x["resident"]))
    return out

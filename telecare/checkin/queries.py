"""Read models for check-ins: recent check-ins, a resident's pauses, drift flags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare.checkin.models import Checkin, CheckinPause, DriftFlag
from telecare.site.models import Resident


def checkins(
    s: Session,
    *,
    resident: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[tuple[Checkin, Resident]]:
    """Newest due first."""
    q = select(Checkin, Resident).join(Resident, Resident.id == Checkin.resident_id)
    if resident:
        q = q.where(Resident.ext_id == resident)
    if state:
        q = q.where(Checkin.state == state)
    if since:
        q = q.where(Checkin.due_at >= since)
    return [(c, r) for c, r in s.execute(q.order_by(Checkin.due_at.desc(), Checkin.id.desc()).limit(limit)).all()]


def pauses(s: Session, resident_id: int, *, include_removed: bool = False) -> list[CheckinPause]:
    q = (
        select(CheckinPause)
        .where(CheckinPause.resident_id == resident_id)
        .order_by(CheckinPause.start, CheckinPause.id)
    )
    if not include_removed:
        q = q.where(CheckinPause.removed_at.is_(None))
    return list(s.scalars(q))


def drift_flags(s: Session, *, open_only: bool = True, resident: str | None = None) -> list[tuple[DriftFlag, Resident]]:
    """Newest raised first."""
    q = select(DriftFlag, Resident).join(Resident, Resident.id == DriftFlag.resident_id)
    if open_only:
        q = q.where(DriftFlag.cleared_at.is_(None))
    if resident:
        q = q.where(Resident.ext_id == resident)
    return [(f, r) for f, r in s.execute(q.order_by(DriftFlag.raised_at.desc(), DriftFlag.id.desc()))]


def outcome_counts(s: Session, since: datetime) -> dict[str, int]:
    """Check-ins due since ``since`` by outcome (or state, while they have none)."""
    counts: dict[str, int] = {}
    for c in s.scalars(select(Checkin).where(Checkin.due_at >= since)):
        key = c.outcome or c.state
        counts[key] = counts.get(key, 0) + 1
    return counts

"""When check-ins are due: the resident's ``checkin: {at, days, ...}`` in their own time zone,
minus pauses.

``at`` is wall-clock time where the resident lives (Europe/London by default): 10:00 stays
10:00 across the clock changes (09:00 UTC in summer, 10:00 UTC in winter). A time the clocks
skip (01:30 on the last Sunday of March) happens at the same offset as before the change,
i.e. an hour later by the new clock; a time that happens twice (01:30 on the last Sunday of
October) is the first of the two.

``checkin_schedules.next_due_at`` is the truth the hub's timer reads. It is recomputed
whenever the configuration or the pauses change (``configure``) and after each start.
A day that already had its scheduled check-in never gets a second one, however the time
is edited that day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from telecare.domain_events import ResidentCheckinChanged
from telecare.notification.models import Notification
from telecare.schedule.windows import DAYS
from telecare.site.models import Policy, Resident

from .models import CANCELLED, PENDING, Checkin, CheckinAttempt, CheckinPause, CheckinSchedule

DEFAULTS = {"via": "voice", "attempts": 3, "retry": 600, "days": list(DAYS), "policy": None}
HORIZON_DAYS = 400  # a schedule with every day paused for longer than this has no next due time


class CheckinError(ValueError):
    """A check-in request that cannot be met (no such resident, no phone, one already under way)."""


def config(resident: Resident) -> dict[str, Any] | None:
    """The resident's check-in configuration with defaults filled in, or None (also for one who has left)."""
    if (resident.state or "active") == "left":
        return None
    return config_of(resident.checkin)


def config_of(cfg: dict[str, Any] | None) -> dict[str, Any] | None:
    """``residents.checkin`` (as stored) with defaults filled in, or None."""
    if not cfg or not isinstance(cfg, dict) or not cfg.get("at"):
        return None
    out = dict(DEFAULTS)
    out.update({k: v for k, v in cfg.items() if v is not None})
    return out


def local_at(day: date, at: str, tz: ZoneInfo) -> datetime:
    """``at`` (HH:MM, "24:00" is the end of the day) on a local date, as aware UTC."""
    if at == "24:00":
        local = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
    else:
        h, m = at.split(":")
        local = datetime.combine(day, time(int(h), int(m)), tzinfo=tz)
    return local.astimezone(timezone.utc)


def paused_on(pauses: Sequence[CheckinPause], day: date) -> CheckinPause | None:
    for p in pauses:
        if p.removed_at is None and p.start <= day and (p.end is None or day <= p.end):
            return p
    return None


def next_due(
    cfg: dict[str, Any], tz: str, after: datetime, pauses: Sequence[CheckinPause] = (), not_on: date | None = None
) -> datetime | None:
    """The first due time strictly after ``after`` on a chosen day that is not paused (and not
    ``not_on``: the local date that has had its scheduled check-in already)."""
    zone = ZoneInfo(tz)
    days = cfg.get("days") or list(DAYS)
    first = after.astimezone(zone).date()
    for i in range(HORIZON_DAYS):
        day = first + timedelta(days=i)
        if DAYS[day.weekday()] not in days or day == not_on or paused_on(pauses, day):
            continue
        due = local_at(day, cfg["at"], zone)
        if due > after:
            return due
    return None


def pauses_for(s: Session, resident_id: int, today: date | None = None) -> list[CheckinPause]:
    q = select(CheckinPause).where(CheckinPause.resident_id == resident_id, CheckinPause.removed_at.is_(None))
    if today is not None:
        q = q.where(or_(CheckinPause.end.is_(None), CheckinPause.end >= today))
    return list(s.scalars(q.order_by(CheckinPause.start)))


def last_scheduled(s: Session, resident_id: int) -> Checkin | None:
    return s.scalars(
        select(Checkin)
        .where(Checkin.resident_id == resident_id, Checkin.kind == "scheduled")
        .order_by(Checkin.due_at.desc())
        .limit(1)
    ).first()


def configure(s: Session, resident: Resident, now: datetime, actor: str | None = None) -> CheckinSchedule | None:
    """(Re)compute the resident's next due time after a change of configuration or pauses."""
    sched = s.get(CheckinSchedule, resident.id)
    cfg = config(resident)
    if resident.state == "left":  # left the service: a check-in under way stops too
        for c in s.scalars(select(Checkin).where(Checkin.resident_id == resident.id, Checkin.state == PENDING)):
            cancel(s, c, "the resident has left the service", now)
    if cfg is None:
        if sched is not None:
            sched.next_due_at, sched.updated_at, sched.updated_by = None, now, actor
        return sched
    if sched is None:
        sched = CheckinSchedule(resident_id=resident.id, updated_at=now)
        s.add(sched)
    zone = ZoneInfo(resident.timezone or "Europe/London")
    today = now.astimezone(zone).date()
    last = last_scheduled(s, resident.id)
    not_on = date.fromisoformat(last.local_date) if last is not None else None
    sched.next_due_at = next_due(
        cfg,
        resident.timezone or "Europe/London",
        now,
        pauses_for(s, resident.id, today),
        not_on=not_on if not_on is not None and not_on >= today else None,
    )
    sched.updated_at, sched.updated_by = now, actor
    return sched


def sync_missing(s: Session, now: datetime) -> int:
    """Residents with a check-in configuration but no schedule row (loaded before check-ins
    existed, or written by something other than the loader): give them one. Returns how many."""
    rows = s.execute(
        select(Resident.id, Resident.checkin)
        .outerjoin(CheckinSchedule, CheckinSchedule.resident_id == Resident.id)
        .where(CheckinSchedule.resident_id.is_(None))
    ).all()
    todo = [rid for rid, cfg in rows if config_of(cfg) is not None]  # most residents have none: no objects
    for rid in todo:
        configure(s, s.get_one(Resident, rid), now, actor="hub")
    return len(todo)


def policy_id(s: Session, cfg: dict[str, Any]) -> int | None:
    if not cfg.get("policy"):
        return None
    return s.scalars(select(Policy.id).where(Policy.ext_id == cfg["policy"])).first()


def add_pause(
    s: Session, resident: Resident, start: date, end: date | None, reason: str, actor: str, now: datetime
) -> CheckinPause:
    if end is not None and end < start:
        raise CheckinError(f"the pause ends ({end}) before it starts ({start})")
    if not reason or not reason.strip():
        raise CheckinError("a pause needs a reason (for example: in hospital, on holiday)")
    p = CheckinPause(
        resident_id=resident.id, start=start, end=end, reason=reason.strip(), created_at=now, created_by=actor
    )
    s.add(p)
    s.flush()
    zone = ZoneInfo(resident.timezone or "Europe/London")
    today = now.astimezone(zone).date()
    if start <= today and (end is None or today <= end):
        # today's check-in, if it is under way, stops: nobody is to be rung in hospital
        for c in s.scalars(select(Checkin).where(Checkin.resident_id == resident.id, Checkin.state == PENDING)):
            cancel(s, c, f"paused: {p.reason}", now)
    configure(s, resident, now, actor)
    return p


def cancel(s: Session, c: Checkin, reason: str, now: datetime) -> None:
    """Stop a check-in under way (a pause, staff); its queued attempts are withdrawn."""
    if c.state != PENDING:
        return
    c.state, c.next_at, c.note = CANCELLED, None, reason
    for a in c.attempts:
        if a.outcome is None:
            a.outcome, a.ended_at = "closed", now
            _withdraw(s, a)


def _withdraw(s: Session, a: CheckinAttempt) -> None:
    """An attempt that is over must not be sent late (the dispatcher was behind or down)."""
    if a.notification_id is not None:
        s.execute(
            update(Notification)
            .where(Notification.id == a.notification_id, Notification.status == "queued")
            .values(status="canceled", detail="withdrawn: the check-in attempt was over before it was sent")
        )


def remove_pause(s: Session, resident: Resident, pause_id: int, actor: str, now: datetime) -> CheckinPause:
    p = s.get(CheckinPause, pause_id)
    if p is None or p.resident_id != resident.id:
        raise CheckinError(f"pause {pause_id} is not one of {resident.ext_id}'s")
    if p.removed_at is None:
        p.removed_at, p.removed_by = now, actor
        s.flush()
        configure(s, resident, now, actor)
    return p


def when_resident_changed(s: Session, e: ResidentCheckinChanged) -> None:
    """Subscribed to ``ResidentCheckinChanged`` (the site loader): when the next check-in is due."""
    resident = s.get(Resident, e.resident_id)
    if resident is not None:
        configure(s, resident, e.at, actor=e.actor)

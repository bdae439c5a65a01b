"""Noticing drift: the early-action point of the service.

Two rules, looked at whenever a check-in closes (answered or missed):

* ``low_mood``: at least 3 answers of "not so good" (or "help") in the last 7 days;
* ``late_or_missed``: the last 3 scheduled check-ins were all missed or answered late (only
  after a retry, or after the missed-check-in alert).

A flag is raised once: while a flag of that kind is open for the resident no other is raised,
and after staff clear it only answers newer than it count towards the next one, so the same
three days never flag twice. Raising a flag sends the befriender one SMS (if there is a
befriender with a phone) and shows it to staff (``GET /api/wellbeing/drift``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare.notification.models import Notification
from telecare.site.models import Contact, Resident

from .models import ANSWERED, HELP, MISSED, NOT_SO_GOOD, Checkin, DriftFlag

LOW_MOOD, LATE_OR_MISSED = "low_mood", "late_or_missed"
KINDS = (LOW_MOOD, LATE_OR_MISSED)
LOW_MOOD_AT_LEAST = 3
LOW_MOOD_WINDOW = timedelta(days=7)
RUN = 3


def _days(checkins: list[Checkin], tz: str) -> str:
    zone = ZoneInfo(tz)
    return ", ".join(c.due_at.astimezone(zone).strftime("%a %-d %b") for c in sorted(checkins, key=lambda c: c.due_at))


def _low_mood(s: Session, r: Resident, now: datetime, since: datetime) -> list[Checkin]:
    rows = list(
        s.scalars(
            select(Checkin).where(
                Checkin.resident_id == r.id,
                Checkin.answered_at > since,
                Checkin.answered_at >= now - LOW_MOOD_WINDOW,
                Checkin.outcome.in_((NOT_SO_GOOD, HELP)),
            )
        )
    )
    return rows if len(rows) >= LOW_MOOD_AT_LEAST else []


def _late_or_missed(s: Session, r: Resident, since: datetime) -> list[Checkin]:
    rows = list(
        s.scalars(
            select(Checkin)
            .where(Checkin.resident_id == r.id, Checkin.kind == "scheduled", Checkin.state.in_((ANSWERED, MISSED)))
            .order_by(Checkin.due_at.desc())
            .limit(RUN)
        )
    )
    if len(rows) < RUN or any(c.started_at <= since for c in rows):
        return []
    return rows if all(c.state == MISSED or c.late for c in rows) else []


def evaluate(s: Session, r: Resident, now: datetime) -> list[DriftFlag]:
    s.flush()  # the check-in that just closed counts
    raised = []
    tz = r.timezone or "Europe/London"
    for kind in KINDS:
        last = s.scalars(
            select(DriftFlag)
            .where(DriftFlag.resident_id == r.id, DriftFlag.kind == kind)
            .order_by(DriftFlag.raised_at.desc(), DriftFlag.id.desc())
            .limit(1)
        ).first()
        if last is not None and last.cleared_at is None:
            continue  # one flag at a time: the befriender has been told
        since = last.raised_at if last is not None else datetime.min.replace(tzinfo=now.tzinfo)
        if kind == LOW_MOOD:
            evidence = _low_mood(s, r, now, since)
            detail = (
                f"{r.name} said they were not so good on {len(evidence)} check-ins in the last 7 days "
                f"({_days(evidence, tz)})"
            )
            sms = (
                f"Linkage: {r.name} has said they're not so good on {len(evidence)} check-ins this week "
                f"({_days(evidence, tz)}). You might give them a ring or pop round. Staff can see this too."
            )
        else:
            evidence = _late_or_missed(s, r, since)
            missed = sum(1 for c in evidence if c.state == MISSED)
            detail = (
                f"{r.name}'s last {len(evidence)} check-ins were missed or answered late "
                f"({_days(evidence, tz)}; {missed} missed)"
            )
            sms = (
                f"Linkage: {r.name} has missed or answered late their last {len(evidence)} check-in calls "
                f"({_days(evidence, tz)}). You might give them a ring or pop round. Staff can see this too."
            )
        if not evidence:
            continue
        flag = DriftFlag(
            resident_id=r.id, kind=kind, raised_at=now, detail=detail, evidence=sorted(c.id for c in evidence)
        )
        befriender = s.get(Contact, r.befriender_id) if r.befriender_id else None
        if befriender is not None and befriender.phone:
            n = Notification(
                alert_id=None,
                contact_id=befriender.id,
                to=befriender.phone,
                channel="sms",
                purpose="drift",
                body=sms,
                status="queued",
                created_at=now,
            )
            s.add(n)
            s.flush()
            flag.notification_id = n.id
        else:
            flag.detail += " (no befriender with a phone to tell)"
        s.add(flag)
        raised.append(flag)
    return raised


def clear(s: Session, flag_id: int, actor: str, now: datetime, note: str = "") -> DriftFlag | None:
    flag = s.get(DriftFlag, flag_id)
    if flag is None:
        return None
    if flag.cleared_at is None:
        flag.cleared_at, flag.cleared_by, flag.clear_note = now, actor, note or None
    return flag

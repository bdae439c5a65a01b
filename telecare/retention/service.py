"""The retention run: find what has outlived its period (``plan``), then remove or blank exactly
that (``apply``). ``linkage retention run --dry-run`` prints the plan; the hub's scheduler applies it
once a day (``run_if_due``). Nothing here reads or prints personal data: a plan is row ids and counts.

What each kind means (periods in ``telecare.site.settings.RETENTION_DEFAULTS``):

- ``activity_events``: device events that are part of no alert (bed, door, motion, low battery...)
  are deleted. Events that opened or joined an alert stay with the alert.
- ``dead_letters``: refused MQTT messages are deleted; a tally by kind keeps their count.
- ``notification_bodies``: the text of messages sent (``notifications.body``, once no longer queued)
  and of replies received and answered (``replies.body``, ``replies.answer``) is blanked; the rows,
  with status, channel and times, stay for the counts and the alert timelines.
- ``conversation_text``: what people told the helpline (an enquiry's first message) and the names and
  numbers on helpline records (enquiries, introductions, closed call-back and check-in requests) are
  blanked; needs, outcomes and times stay, so the helpline figures do not change.
- ``closed_alerts``: resolved or cancelled alerts closed before the cut-off are deleted with their
  timelines, events, notifications and replies; a tally by state keeps ``alerts_by_state``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telecare.alert.models import Alert, TimelineEntry
from telecare.alert.states import ACTIVE_STATES
from telecare.checkin.models import Checkin, CheckinAttempt, DriftFlag
from telecare.durations import parse_period
from telecare.enquiry.models import CallbackRequest, CheckinRequest, Enquiry, Introduction
from telecare.events.models import DeadLetter, Event
from telecare.notification.models import Notification, Reply
from telecare.site import settings as site_settings

from .models import RetentionRun, RetentionTally

KINDS = tuple(site_settings.RETENTION_DEFAULTS)
BATCH = 2000  # ids per statement (well under SQLite's and PostgreSQL's parameter limits)
RUN_HOUR_UTC = 3  # the scheduled run: the first check after 03:00 UTC each day


@dataclass
class Item:
    """One table's share of a kind: the rows (ids) to delete or blank."""

    kind: str
    table: str
    action: str  # "deleted" | "blanked"
    ids: list[int] = field(default_factory=list)


@dataclass
class Plan:
    now: datetime
    cutoffs: dict[str, datetime]
    items: list[Item] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {k: {} for k in KINDS}
        for it in self.items:
            out[it.kind][it.table] = len(it.ids)
        return out

    @property
    def total(self) -> int:
        return sum(len(it.ids) for it in self.items)

    def lines(self) -> list[str]:
        """What the CLI prints: per kind the cut-off and rows per table; no personal data."""
        out = []
        for kind in KINDS:
            cut = self.cutoffs[kind].strftime("%Y-%m-%d %H:%M UTC")
            parts = [f"{it.table} {len(it.ids)} {it.action}" for it in self.items if it.kind == kind]
            out.append(f"{kind}: before {cut}: " + ", ".join(parts))
        return out


def periods(s: Session) -> dict[str, int]:
    """Seconds to keep each kind, from the site settings."""
    return {k: parse_period(site_settings.get(s, site_settings.RETENTION_PREFIX + k)) for k in KINDS}


def _ids(s: Session, q: Select[Any]) -> list[int]:
    return [int(i) for i in s.scalars(q)]


def plan(s: Session, now: datetime) -> Plan:
    keep = periods(s)
    cut = {k: now - timedelta(seconds=v) for k, v in keep.items()}
    p = Plan(now=now, cutoffs=cut)
    add = p.items.append

    # closed alerts first: what goes with them is not counted again under the other kinds
    c = cut["closed_alerts"]
    closed = (
        select(Alert.id)
        .where(Alert.state.not_in(ACTIVE_STATES), Alert.resolved_at.is_not(None), Alert.resolved_at < c)
        .order_by(Alert.id)
    )
    alert_ids = _ids(s, closed)
    add(Item("closed_alerts", "alerts", "deleted", alert_ids))
    add(
        Item(
            "closed_alerts",
            "alert_timeline",
            "deleted",
            _chunked_ids(s, alert_ids, lambda b: select(TimelineEntry.id).where(TimelineEntry.alert_id.in_(b))),
        )
    )
    add(
        Item(
            "closed_alerts",
            "events",
            "deleted",
            _chunked_ids(s, alert_ids, lambda b: select(Event.id).where(Event.alert_id.in_(b))),
        )
    )
    # an alert's messages, unless a check-in, a drift flag or an introduction still points at one
    held = or_(
        exists().where(CheckinAttempt.notification_id == Notification.id),
        exists().where(DriftFlag.notification_id == Notification.id),
        exists().where(Introduction.follow_up_notification_id == Notification.id),
    )
    notes = _chunked_ids(s, alert_ids, lambda b: select(Notification.id).where(Notification.alert_id.in_(b), ~held))
    add(
        Item(
            "closed_alerts",
            "replies",
            "deleted",
            sorted(
                set(
                    _chunked_ids(s, alert_ids, lambda b: select(Reply.id).where(Reply.alert_id.in_(b)))
                    + _chunked_ids(s, notes, lambda b: select(Reply.id).where(Reply.notification_id.in_(b)))
                )
            ),
        )
    )
    add(Item("closed_alerts", "notifications", "deleted", notes))
    add(
        Item(
            "closed_alerts",
            "notifications kept for a check-in",
            "blanked",
            sorted(
                set(_chunked_ids(s, alert_ids, lambda b: select(Notification.id).where(Notification.alert_id.in_(b))))
                - set(notes)
            ),
        )
    )
    gone_alerts = set(alert_ids)
    gone_notes = set(notes)

    c = cut["activity_events"]
    add(
        Item(
            "activity_events",
            "events",
            "deleted",
            _ids(
                s,
                select(Event.id)
                .where(Event.alert_id.is_(None), Event.received_epoch < c.timestamp())
                .order_by(Event.id),
            ),
        )
    )

    c = cut["dead_letters"]
    add(
        Item(
            "dead_letters",
            "dead_letters",
            "deleted",
            _ids(s, select(DeadLetter.id).where(DeadLetter.received_at < c).order_by(DeadLetter.id)),
        )
    )

    c = cut["notification_bodies"]
    nq = (
        select(Notification.id, Notification.alert_id)
        .where(Notification.created_at < c, Notification.body != "", Notification.status != "queued")
        .order_by(Notification.id)
    )
    add(
        Item(
            "notification_bodies",
            "notifications",
            "blanked",
            [i for i, a in s.execute(nq) if a not in gone_alerts and i not in gone_notes],
        )
    )
    rq = (
        select(Reply.id, Reply.alert_id, Reply.notification_id)
        .where(Reply.received_at < c, or_(Reply.body.is_not(None), Reply.answer.is_not(None)))
        .order_by(Reply.id)
    )
    add(
        Item(
            "notification_bodies",
            "replies",
            "blanked",
            [i for i, a, n in s.execute(rq) if a not in gone_alerts and n not in gone_notes],
        )
    )

    c = cut["conversation_text"]
    add(
        Item(
            "conversation_text",
            "enquiries",
            "blanked",
            _ids(
                s,
                select(Enquiry.id)
                .where(Enquiry.started_at < c, or_(Enquiry.first_message.is_not(None), Enquiry.phone.is_not(None)))
                .order_by(Enquiry.id),
            ),
        )
    )
    add(
        Item(
            "conversation_text",
            "introductions",
            "blanked",
            _ids(
                s,
                select(Introduction.id)
                .where(
                    Introduction.created_at < c,
                    or_(Introduction.name.is_not(None), Introduction.phone != ""),
                    or_(Introduction.follow_up_due_at.is_(None), Introduction.follow_up_sent_at.is_not(None)),
                )
                .order_by(Introduction.id),
            ),
        )
    )
    add(
        Item(
            "conversation_text",
            "callback_requests",
            "blanked",
            _ids(
                s,
                select(CallbackRequest.id)
                .where(
                    CallbackRequest.created_at < c,
                    CallbackRequest.status != "open",
                    or_(
                        CallbackRequest.name.is_not(None),
                        CallbackRequest.phone.is_not(None),
                        CallbackRequest.detail.is_not(None),
                        CallbackRequest.note.is_not(None),
                    ),
                )
                .order_by(CallbackRequest.id),
            ),
        )
    )
    add(
        Item(
            "conversation_text",
            "checkin_requests",
            "blanked",
            _ids(
                s,
                select(CheckinRequest.id)
                .where(
                    CheckinRequest.created_at < c,
                    CheckinRequest.status != "pending",
                    or_(
                        CheckinRequest.name.is_not(None),
                        CheckinRequest.phone.is_not(None),
                        CheckinRequest.preferred_time.is_not(None),
                        CheckinRequest.note.is_not(None),
                    ),
                )
                .order_by(CheckinRequest.id),
            ),
        )
    )
    return p


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), BATCH):
        yield list(ids[i : i + BATCH])


def _chunked_ids(s: Session, ids: Sequence[int], query: Any) -> list[int]:
    out: list[int] = []
    for b in _chunks(ids):
        out.extend(_ids(s, query(b)))
    return sorted(out)


def _tally(s: Session, kind: str, counts: dict[str, int]) -> None:
    for key, n in counts.items():
        row = s.get(RetentionTally, (kind, key))
        if row is None:
            s.add(RetentionTally(kind=kind, key=key, n=n))
        else:
            row.n += n
    s.flush()


def tally(s: Session, kind: str) -> dict[str, int]:
    """Rows of ``kind`` retention has deleted, by key (dead letters by kind, alerts by state)."""
    return {k: n for k, n in s.execute(select(RetentionTally.key, RetentionTally.n).where(RetentionTally.kind == kind))}


def apply(s: Session, p: Plan, *, by: str, scheduled_day: str | None = None) -> RetentionRun:
    """Remove or blank exactly the rows in ``p``, and record the run. The caller commits."""
    items = {(it.kind, it.table): it.ids for it in p.items}
    alerts = items[("closed_alerts", "alerts")]
    for b in _chunks(alerts):
        _tally(
            s,
            "alerts",
            dict(s.execute(select(Alert.state, func.count()).where(Alert.id.in_(b)).group_by(Alert.state)).all()),
        )
        s.execute(update(Checkin).where(Checkin.alert_id.in_(b)).values(alert_id=None))
        s.execute(update(Checkin).where(Checkin.help_alert_id.in_(b)).values(help_alert_id=None))
    _delete(s, Reply, items[("closed_alerts", "replies")])
    _delete(s, Notification, items[("closed_alerts", "notifications")])
    # notifications of these alerts that a check-in, drift flag or introduction points at stay, unlinked
    _blank(s, Notification, items[("closed_alerts", "notifications kept for a check-in")], alert_id=None, body="")
    _delete(s, TimelineEntry, items[("closed_alerts", "alert_timeline")])
    _delete(s, Event, items[("closed_alerts", "events")])
    _delete(s, Alert, alerts)

    _delete(s, Event, items[("activity_events", "events")])
    dead = items[("dead_letters", "dead_letters")]
    for b in _chunks(dead):
        _tally(
            s,
            "dead_letters",
            dict(
                s.execute(
                    select(DeadLetter.kind, func.count()).where(DeadLetter.id.in_(b)).group_by(DeadLetter.kind)
                ).all()
            ),
        )
    _delete(s, DeadLetter, dead)

    _blank(s, Notification, items[("notification_bodies", "notifications")], body="")
    _blank(s, Reply, items[("notification_bodies", "replies")], body=None, answer=None)
    _blank(s, Enquiry, items[("conversation_text", "enquiries")], first_message=None, phone=None)
    _blank(s, Introduction, items[("conversation_text", "introductions")], name=None, phone="")
    _blank(
        s,
        CallbackRequest,
        items[("conversation_text", "callback_requests")],
        name=None,
        phone=None,
        detail=None,
        note=None,
    )
    _blank(
        s,
        CheckinRequest,
        items[("conversation_text", "checkin_requests")],
        name=None,
        phone=None,
        preferred_time=None,
        note=None,
    )
    run = RetentionRun(
        ran_at=p.now,
        by=by,
        scheduled_day=scheduled_day,
        removed=p.counts(),
        cutoffs={k: v.isoformat() for k, v in p.cutoffs.items()},
    )
    s.add(run)
    s.flush()
    return run


def _delete(s: Session, model: Any, ids: Sequence[int]) -> None:
    for b in _chunks(ids):
        s.execute(delete(model).where(model.id.in_(b)).execution_options(synchronize_session=False))


def _blank(s: Session, model: Any, ids: Sequence[int], **values: Any) -> None:
    for b in _chunks(ids):
        s.execute(update(model).where(model.id.in_(b)).values(**values).execution_options(synchronize_session=False))


def run(s: Session, now: datetime, *, by: str, dry_run: bool = False) -> Plan:
    """Plan, and unless ``dry_run`` apply, in the caller's transaction."""
    p = plan(s, now)
    if not dry_run:
        apply(s, p, by=by)
    return p


def due_day(s: Session, now: datetime) -> str | None:
    """The UTC day whose scheduled run is due at ``now``, or None (before 03:00, or already run)."""
    if now.hour < RUN_HOUR_UTC:
        return None
    day = now.strftime("%Y-%m-%d")
    done = s.scalar(select(func.count()).select_from(RetentionRun).where(RetentionRun.scheduled_day == day))
    return None if done else day


def run_if_due(s: Session, now: datetime) -> Plan | None:
    """The scheduler's daily run: at most once per UTC day, whichever hub gets there first (the day is
    unique in ``retention_runs``; a hub that loses the race rolls back and does nothing)."""
    day = due_day(s, now)
    if day is None:
        return None
    p = plan(s, now)
    try:
        with s.begin_nested():
            apply(s, p, by="scheduler", scheduled_day=day)
    except IntegrityError:
        return None
    return p


def last_runs(s: Session, limit: int = 10) -> list[RetentionRun]:
    return list(s.scalars(select(RetentionRun).order_by(RetentionRun.id.desc()).limit(limit)))

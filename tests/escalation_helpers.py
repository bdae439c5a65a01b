"""Helpers for driving the escalation engine with the FakeClock: no real time, no sleeps.

The hub's scheduler calls ``engine.fire`` at each alert's ``esc_next_at``; ``run_until``
does the same by moving the clock from one timer to the next, so a night of escalation
runs in milliseconds and every notification lands at an exact, checkable instant."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import func, select, update

from telecare.alert.models import Alert, OutboxMessage
from telecare.alert.states import ACTIVE_STATES
from telecare.escalation import engine
from telecare.events.ingest import Inbound
from telecare.notification import service as notify
from telecare.notification.models import Notification
from telecare.notification.replies import ReplyResult, handle_reply

LONDON = ZoneInfo("Europe/London")
HOME = "home-0001"

# the sample site's phones
SUE, JIM, ANNE, RHYS, PRIYA = "+447700900201", "+447700900202", "+447700900203", "+447700900101", "+447700900102"
NAME = {SUE: "Sue Smith", JIM: "Jim Brown", ANNE: "Anne Okafor", RHYS: "Rhys Jones", PRIYA: "Priya Patel"}

_ids = itertools.count(1)


def local(text: str) -> datetime:
    """'2026-11-20 19:59' in Europe/London -> aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).astimezone(timezone.utc)


# -- time ---------------------------------------------------------------------------------------------
def next_timer(sessions) -> datetime | None:
    with sessions() as s:
        return s.scalar(select(func.min(Alert.esc_next_at)).where(Alert.state.in_(ACTIVE_STATES)))


def run_until(clock, sessions, until: datetime) -> None:
    """Move the clock to ``until``, stopping at each escalation timer on the way and firing
    whatever is due there, in a transaction, as the hub's scheduler does."""
    for _ in range(10_000):
        nxt = next_timer(sessions)
        if nxt is None or nxt > until:
            break
        if nxt > clock.now():
            clock.set(nxt)
        with sessions() as s, s.begin():
            now = clock.now()
            for alert_id in engine.due(s, now):
                engine.fire(s, alert_id, now)
    else:  # pragma: no cover - a timer that never moves on is a bug, not a hang
        raise AssertionError("escalation timers did not settle")
    if until > clock.now():
        clock.set(until)


def advance(clock, sessions, delta: timedelta | float) -> datetime:
    if not isinstance(delta, timedelta):
        delta = timedelta(seconds=delta)
    run_until(clock, sessions, clock.now() + delta)
    return clock.now()


# -- devices ------------------------------------------------------------------------------------------
def event(device: str, type: str, home: str = HOME, **fields) -> Inbound:
    body = {"event_id": f"e-{next(_ids)}", "type": type, "ts": "2026-11-23T02:14:05Z", **fields}
    return Inbound(
        kind="event", topic=f"telecare/v1/{home}/{device}/event", payload=orjson.dumps(body), home=home, device=device
    )


def alarm(ingest, device: str = "fall-1", type: str = "fall") -> int:
    """An alarm arrives now; returns the alert it opened (or joined)."""
    result = ingest.process([event(device, type)])
    (alert_id,) = result.alerts_opened or result.alerts_changed
    return alert_id


# -- what happened ------------------------------------------------------------------------------------
def get_alert(sessions, alert_id: int) -> Alert:
    with sessions() as s:
        return s.get(Alert, alert_id)


def notifications(sessions, alert_id: int | None = None, purpose: str | None = "escalation") -> list[Notification]:
    with sessions() as s:
        q = select(Notification).order_by(Notification.id)
        if alert_id is not None:
            q = q.where(Notification.alert_id == alert_id)
        if purpose is not None:
            q = q.where(Notification.purpose == purpose)
        return list(s.scalars(q))


def sent_log(sessions, alert_id: int, t0: datetime) -> list[tuple]:
    """(to, channel, seconds after t0) for each escalation notification, in order."""
    return [(n.to, n.channel, int((n.created_at - t0).total_seconds())) for n in notifications(sessions, alert_id)]


def timeline(sessions, alert_id: int, *kinds: str) -> list[tuple[str, str]]:
    with sessions() as s:
        return [(t.kind, t.detail) for t in s.get(Alert, alert_id).timeline if not kinds or t.kind in kinds]


def timeline_at(sessions, alert_id: int, *kinds: str) -> list[tuple[datetime, str, str]]:
    with sessions() as s:
        return [(t.at, t.kind, t.detail) for t in s.get(Alert, alert_id).timeline if not kinds or t.kind in kinds]


def outbox_changes(sessions, alert_id: int) -> list[dict]:
    with sessions() as s:
        bodies = [orjson.loads(m.payload) for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    return [b for b in bodies if b["alert_id"] == alert_id]


# -- the phone side -----------------------------------------------------------------------------------
def mark_sent(sessions, notification_id: int, sid: str) -> None:
    """What the dispatcher would have done: handed over, with the provider's id."""
    with sessions() as s, s.begin():
        s.execute(
            update(Notification).where(Notification.id == notification_id).values(status="sent", provider_sid=sid)
        )


def callback(sessions, clock, sid: str, status: str, answered_by: str | None = None) -> Notification | None:
    with sessions() as s, s.begin():
        return notify.status_update(s, sid, status, clock.now(), answered_by=answered_by)


def reply(sessions, clock, phone: str, body: str | None = None, **kw) -> ReplyResult:
    with sessions() as s, s.begin():
        return handle_reply(s, phone=phone, now=clock.now(), body=body, **kw)


def last_to(sessions, alert_id: int, phone: str) -> Notification:
    return [n for n in notifications(sessions, alert_id) if n.to == phone][-1]

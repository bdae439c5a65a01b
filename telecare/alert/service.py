"""What can happen to an alert. Each function works inside the caller's transaction,
records the change on the timeline and in the outbox (published after commit), and records
a domain event (``telecare.domain_events``) for whoever reacts: escalation starts, moves and
stops on them (``telecare.handlers``), without this module knowing it exists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare import bus
from telecare.catalog import more_urgent
from telecare.domain_events import (
    AlertAcknowledged,
    AlertChanged,
    AlertClosed,
    AlertOpened,
    HelpArrived,
    PriorityRaised,
)
from telecare.site.models import Device, Home, Resident

from .models import Alert, OutboxMessage, TimelineEntry
from .states import (
    ACKNOWLEDGED,
    ACTIVE_STATES,
    ALLOWED_FROM,
    ATTENDING,
    CANCELLED,
    OPEN,
    OUTCOMES,
    RESOLVED,
    AlertNotFound,
    InvalidTransition,
)


def note(
    session: Session,
    alert: Alert,
    kind: str,
    detail: str,
    now: datetime,
    actor: str | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    entry = TimelineEntry(alert_id=alert.id, at=now, kind=kind, detail=detail, actor=actor, data=data)
    session.add(entry)
    return entry


def publish(session: Session, alert: Alert, change: str, now: datetime) -> None:
    """Queue the alert's new state for ``telecare/v1/{home}/alert``."""
    home, resident, device = session.execute(
        select(Home.ext_id, Resident.ext_id, Device.ext_id)
        .select_from(Home)
        .outerjoin(Resident, Resident.id == alert.resident_id)
        .outerjoin(Device, Device.id == alert.device_id)
        .where(Home.id == alert.home_id)
    ).one()
    body = {
        "alert_id": alert.id,
        "change": change,
        "home": home,
        "resident": resident,
        "device": device,
        "type": alert.type,
        "priority": alert.priority,
        "state": alert.state,
        "no_response": alert.no_response,
        "outcome": alert.outcome,
        "at": now.isoformat().replace("+00:00", "Z"),
    }
    session.add(OutboxMessage(created_at=now, topic=f"telecare/v1/{home}/alert", payload=orjson.dumps(body).decode()))
    bus.record(session, AlertChanged(alert.id, change))


def find_active(
    session: Session,
    home_id: int,
    category: str,
    *,
    device_id: int | None = None,
    type: str | None = None,
    for_update: bool = False,
) -> Alert | None:
    q = select(Alert).where(Alert.home_id == home_id, Alert.category == category, Alert.state.in_(ACTIVE_STATES))
    if device_id is not None:
        q = q.where(Alert.device_id == device_id)
    if type is not None:
        q = q.where(Alert.type == type)
    q = q.order_by(Alert.id.desc()).limit(1)
    if for_update:
        q = q.with_for_update()
    return session.scalars(q).first()


def open_alert(
    session: Session,
    *,
    category: str,
    home_id: int,
    resident_id: int | None,
    device_id: int | None,
    type: str,
    priority: str,
    now: datetime,
    detail: str,
    actor: str | None = None,
    policy_id: int | None = None,
) -> Alert:
    """``policy_id``: escalate by this policy rather than the resident's or the priority's
    (a missed check-in goes through the check-in's own ``policy``)."""
    alert = Alert(
        category=category,
        home_id=home_id,
        resident_id=resident_id,
        device_id=device_id,
        type=type,
        priority=priority,
        state=OPEN,
        opened_at=now,
    )
    session.add(alert)
    session.flush()
    note(session, alert, "opened", detail, now, actor)
    publish(session, alert, "opened", now)
    bus.record(session, AlertOpened(alert.id, now, policy_id))  # the policy starts in the same transaction
    return alert


def raise_alarm(
    session: Session,
    *,
    home_id: int,
    resident_id: int | None,
    device_id: int | None,
    type: str,
    priority: str,
    now: datetime,
    detail: str,
) -> tuple[Alert, bool]:
    """Open an alarm alert, or join the home's active one. Returns (alert, opened)."""
    alert = find_active(session, home_id, "alarm", for_update=True)
    if alert is None:
        return open_alert(
            session,
            category="alarm",
            home_id=home_id,
            resident_id=resident_id,
            device_id=device_id,
            type=type,
            priority=priority,
            now=now,
            detail=detail,
        ), True
    note(session, alert, "joined", detail, now, data={"type": type, "priority": priority})
    new_priority = more_urgent(alert.priority, priority)
    if new_priority != alert.priority:
        note(session, alert, "priority", f"priority raised from {alert.priority} to {new_priority} by {type}", now)
        alert.priority = new_priority
        alert.type = type
        bus.record(session, PriorityRaised(alert.id, now))
    publish(session, alert, "joined", now)
    return alert, False


def raise_device_care(
    session: Session,
    *,
    home_id: int,
    resident_id: int | None,
    device_id: int | None,
    type: str,
    priority: str,
    now: datetime,
    detail: str,
) -> tuple[Alert, bool]:
    """One active device-care alert per device and type; a repeat goes on its timeline."""
    alert = find_active(session, home_id, "device", device_id=device_id, type=type, for_update=True)
    if alert is None:
        return open_alert(
            session,
            category="device",
            home_id=home_id,
            resident_id=resident_id,
            device_id=device_id,
            type=type,
            priority=priority,
            now=now,
            detail=detail,
        ), True
    note(session, alert, "repeated", detail, now)
    return alert, False


def get(session: Session, alert_id: int, *, for_update: bool = False) -> Alert:
    q = select(Alert).where(Alert.id == alert_id)
    if for_update:
        q = q.with_for_update()
    alert = session.scalars(q).first()
    if alert is None:
        raise AlertNotFound(f"alert {alert_id} does not exist")
    return alert


def _check(alert: Alert, action: str) -> None:
    if alert.state not in ALLOWED_FROM[action]:
        who = ""
        if alert.state == ACKNOWLEDGED and alert.acknowledged_by:
            who = f" by {alert.acknowledged_by}"
        allowed = ", ".join(ALLOWED_FROM[action])
        raise InvalidTransition(f"alert {alert.id} is {alert.state}{who}; '{action}' needs it to be {allowed}")


def acknowledge(session: Session, alert_id: int, actor: str, now: datetime, via: str = "api") -> Alert:
    alert = get(session, alert_id, for_update=True)
    _check(alert, "acknowledge")
    alert.state, alert.acknowledged_at, alert.acknowledged_by = ACKNOWLEDGED, now, actor
    if alert.no_response:
        alert.no_response = False  # someone has it now; the timeline keeps the history
    note(session, alert, "acknowledged", f"accepted by {actor} via {via}", now, actor)
    publish(session, alert, "acknowledged", now)
    bus.record(session, AlertAcknowledged(alert.id, now))
    return alert


def arrived(session: Session, alert_id: int, actor: str, now: datetime, via: str = "api") -> Alert:
    alert = get(session, alert_id, for_update=True)
    _check(alert, "arrived")
    alert.state, alert.attending_at = ATTENDING, now
    note(session, alert, "arrived", f"help arrived ({actor} via {via})", now, actor)
    publish(session, alert, "attending", now)
    bus.record(session, HelpArrived(alert.id, now))
    return alert


def resolve(session: Session, alert_id: int, actor: str, outcome: str, now: datetime, detail: str = "") -> Alert:
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is not one of: {', '.join(OUTCOMES)}")
    alert = get(session, alert_id, for_update=True)
    _check(alert, "resolve")
    alert.state, alert.resolved_at, alert.resolved_by, alert.outcome = RESOLVED, now, actor, outcome
    note(
        session,
        alert,
        "resolved",
        f"resolved by {actor}: {outcome.replace('_', ' ')}" + (f" — {detail}" if detail else ""),
        now,
        actor,
    )
    publish(session, alert, "resolved", now)
    bus.record(session, AlertClosed(alert.id, now, RESOLVED))
    return alert


def cancel(
    session: Session, alert_id: int, actor: str, now: datetime, reason: str = "", outcome: str | None = None
) -> Alert:
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is not one of: {', '.join(OUTCOMES)}")
    alert = get(session, alert_id, for_update=True)
    _check(alert, "cancel")
    alert.state, alert.resolved_at, alert.resolved_by = CANCELLED, now, actor
    alert.outcome = outcome or alert.outcome or "cancelled"
    note(session, alert, "cancelled", f"cancelled by {actor}" + (f": {reason}" if reason else ""), now, actor)
    publish(session, alert, "cancelled", now)
    bus.record(session, AlertClosed(alert.id, now, CANCELLED))
    return alert


__all__ = [
    "note",
    "publish",
    "find_active",
    "open_alert",
    "raise_alarm",
    "raise_device_care",
    "get",
    "acknowledge",
    "arrived",
    "resolve",
    "cancel",
    "ATTENDING",
    "CANCELLED",
    "OPEN",
    "RESOLVED",
]

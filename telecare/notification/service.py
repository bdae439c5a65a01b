"""Handing queued notifications to a notifier, and recording what becomes of them."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare import bus
from telecare.alert.models import Alert
from telecare.consent import service as consent
from telecare.domain_events import NotificationFailed
from telecare.site.models import Resident
from telecare.storage.secrets import ACCESS_PLACEHOLDER

from .models import FINAL_FAILURES, Notification
from .ports import Notifier, Sent

log = logging.getLogger("linkage.notify")

# provider statuses (Twilio's words) -> ours
STATUS_MAP = {
    "queued": "sent",
    "accepted": "sent",
    "sending": "sent",
    "sent": "sent",
    "scheduled": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "receiving": "sent",
    "received": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "initiated": "sent",
    "ringing": "sent",
    "in-progress": "answered",
    "answered": "answered",
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no-answer",
    "canceled": "canceled",
}
WHY = {
    "failed": "the message failed",
    "undelivered": "the message was not delivered",
    "busy": "the line was busy",
    "no-answer": "no answer",
    "canceled": "the call was cancelled",
    "machine": "an answering machine answered",
}


def claim(s: Session, now: datetime, limit: int = 100) -> list[tuple[int, str, str, str]]:
    """Mark queued notifications as being sent; returns (id, channel, to, body) to send
    outside the transaction (a slow provider must not hold the database)."""
    rows = list(
        s.scalars(
            select(Notification)
            .where(Notification.status == "queued")
            .order_by(Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    stopped = consent.opted_out_of(s, [n.to for n in rows if _stoppable(n)]) if rows else set()
    out = []
    for n in rows:
        if n.to in stopped and _stoppable(n):
            n.status, n.updated_at, n.detail = "canceled", now, "not sent: the number replied STOP"
            bus.record(s, NotificationFailed(n.id, n.purpose, "canceled", "the number replied STOP", now))
            continue
        n.status, n.handed_at, n.updated_at = "sending", now, now
        out.append((n.id, n.channel, n.to, outgoing_body(s, n)))
    return out


def outgoing_body(s: Session, n: Notification) -> str:
    """The text that goes out. An access message is stored with ``[access note]`` in place of the
    note (the database keeps no copy of a key-safe code but the resident's encrypted one); the
    note goes in here, on its way to the one contact who accepted."""
    if n.purpose != "access" or ACCESS_PLACEHOLDER not in n.body or n.alert_id is None:
        return n.body
    access = s.scalar(
        select(Resident.access).join(Alert, Alert.resident_id == Resident.id).where(Alert.id == n.alert_id)
    )
    return n.body.replace(ACCESS_PLACEHOLDER, access) if access and access.strip() else n.body


def _stoppable(n: Notification) -> bool:
    """What STOP stops: every SMS, and calls other than a resident's own check-in call (a service they
    arranged with staff; leaving it is ``state: left``) and the access note to whoever accepted an alert."""
    if n.channel == "sms":
        return n.purpose != "access"
    return n.channel == "voice" and n.purpose not in ("checkin", "access")


def send(notifier: Notifier, item: tuple[int, str, str, str]) -> Sent:
    n_id, channel, to, body = item
    try:
        if channel == "voice":
            return notifier.call(n_id, to, body)
        return notifier.send_sms(n_id, to, body)
    except Exception as exc:  # noqa: BLE001  (a notifier error is a failed attempt, not a crash)
        log.exception("notifier failed for notification %s", n_id)
        return Sent(None, "failed", f"{type(exc).__name__}: {exc}")


def record_sent(s: Session, n_id: int, sent: Sent, now: datetime) -> None:
    n = s.get(Notification, n_id)
    if n is None or n.status != "sending":
        return
    n.updated_at = now
    if sent.status != "failed":
        n.status, n.provider_sid, n.detail = "sent", sent.provider_sid, sent.detail
        return
    n.status, n.detail = "failed", sent.detail
    # escalation tries the next channel or person, a check-in counts a missed attempt (telecare.handlers)
    bus.record(s, NotificationFailed(n.id, n.purpose, "failed", f"could not be sent ({n.detail})", now))


def requeue_stuck(s: Session) -> int:
    """After a crash: anything left 'sending' is sent again (at least once beats never)."""
    rows = list(s.scalars(select(Notification).where(Notification.status == "sending")))
    for n in rows:
        n.status = "queued"
    return len(rows)


def status_update(
    s: Session,
    provider_sid: str,
    provider_status: str,
    now: datetime,
    answered_by: str | None = None,
    notification_id: int | None = None,
) -> Notification | None:
    """A delivery or call status callback. Failures move the escalation on at once.
    ``notification_id`` (from the callback URL) matches a callback that arrives before the
    dispatcher has stored the provider's id."""
    n = s.scalars(select(Notification).where(Notification.provider_sid == provider_sid)).first()
    if n is None and notification_id is not None:
        n = s.get(Notification, notification_id)
        if n is not None and n.provider_sid in (None, provider_sid):
            n.provider_sid = provider_sid
        elif n is not None:
            n = None  # the id names another provider message: not ours to change
    if n is None:
        return None
    status = STATUS_MAP.get(provider_status, provider_status)
    if answered_by and answered_by.startswith("machine") or answered_by == "fax":
        status = "machine"
    if n.status in ("accepted", "passed", "replied") or n.status in FINAL_FAILURES:
        return n  # already settled; a repeated or late callback changes nothing
    if n.channel == "voice" and status == "completed":
        # the call ended without a keypress that accepted: treat as not reached
        status = "no-answer" if n.status != "accepted" else n.status
        n.detail = (n.detail or "") + " call ended without acceptance"
    n.status, n.updated_at = status, now
    if status in FINAL_FAILURES:  # escalation moves on at once; a missed check-in attempt is retried later
        bus.record(s, NotificationFailed(n.id, n.purpose, status, WHY.get(status, status), now))
    return n

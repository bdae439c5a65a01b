"""Answers from phones: "1", "yes", "ok", "accept", "ACK 42" accept; "2", "no", "pass" pass.

The first acceptance wins; the winner alone is sent the access notes; a later acceptor is
told who has it; a reply that matches no pending alert gets a helpful answer, never
silence. A reply with a provider id we have seen before is answered as before and does
nothing again (webhooks can be called twice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare import bus
from telecare.alert import service as alerts
from telecare.alert.models import Alert
from telecare.alert.states import ACTIVE_STATES, OPEN
from telecare.domain_events import NotificationAnswered, NotificationFailed
from telecare.site.models import Contact, Resident
from telecare.wording import sms

from .models import Notification, Reply

ACCEPT_WORDS = {
    "1",
    "yes",
    "y",
    "yeah",
    "yep",
    "ok",
    "okay",
    "k",
    "accept",
    "accepted",
    "ack",
    "going",
    "coming",
    "omw",
    "sure",
    "will go",
    "on my way",
}
PASS_WORDS = {"2", "no", "n", "nope", "pass", "cant", "can't", "cannot", "busy", "decline", "unable", "not able"}
# "ACK 42", "ack42", "accept #42", "1 42"; but "12" is not "1 for alert 2" (a double tap, or a typo)
_CODE = re.compile(r"^(?:(?P<word>[a-z']+)\s*#?\s*|(?P<digit>[12])(?:\s+#?\s*|\s*#\s*))(?P<id>\d+)$")
ACCEPT_PHRASES = ("on my way", "no problem", "no worries", "will do", "i'll go", "i will go", "i can go")
PASS_PHRASES = ("not able", "can not", "i can't", "i cannot", "i cant")
PENDING_WINDOW = timedelta(hours=12)
NOTHING_PENDING = sms.NOTHING_PENDING


def interpret(text: str | None, digits: str | None = None) -> tuple[str, int | None]:
    """-> (accept | pass | unknown, alert id if the reply named one)."""
    if digits:
        d = digits.strip()[:1]
        return ("accept" if d == "1" else "pass" if d == "2" else "unknown"), None
    t = (text or "").lower().replace("\u2019", "'")  # phones often send a curly apostrophe: can\u2019t
    t = re.sub(r"[^\w\s#']", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    if not t:
        return "unknown", None
    m = _CODE.match(t)
    if m:
        word = m.group("word") or m.group("digit")
        if word in ACCEPT_WORDS:
            return "accept", int(m.group("id"))
        if word in PASS_WORDS:
            return "pass", int(m.group("id"))
    if t.startswith(PASS_PHRASES):
        return "pass", None
    if t.startswith(ACCEPT_PHRASES) or t in ACCEPT_WORDS or t.split()[0] in ACCEPT_WORDS:
        return "accept", None
    if t in PASS_WORDS or t.split()[0] in PASS_WORDS:
        return "pass", None
    return "unknown", None


@dataclass
class ReplyResult:
    meaning: str
    answer: str
    alert_id: int | None = None
    accepted: bool = False


def _name(s: Session, n: Notification | None, phone: str) -> str:
    if n and n.contact_id:
        c = s.get(Contact, n.contact_id)
        if c:
            return c.name
    c = s.scalars(select(Contact).where(Contact.phone == phone)).first()
    return c.name if c else phone


def pending_notification(s: Session, phone: str, now: datetime, alert_id: int | None = None) -> Notification | None:
    """The newest escalation notification to ``phone`` (for ``alert_id``, if given) in the last
    ``PENDING_WINDOW`` whose alert is still active: what a reply from that phone answers."""
    q = (
        select(Notification)
        .where(
            Notification.to == phone,
            Notification.purpose == "escalation",
            Notification.alert_id.is_not(None),
            Notification.created_at >= now - PENDING_WINDOW,
        )
        .order_by(Notification.id.desc())
    )
    if alert_id is not None:
        q = q.where(Notification.alert_id == alert_id)
    return s.scalars(q.join(Alert, Alert.id == Notification.alert_id).where(Alert.state.in_(ACTIVE_STATES))).first()


def handle_reply(
    s: Session,
    *,
    phone: str,
    now: datetime,
    body: str | None = None,
    digits: str | None = None,
    channel: str = "sms",
    provider_sid: str | None = None,
    notification_id: int | None = None,
) -> ReplyResult:
    if provider_sid:
        seen = s.scalars(select(Reply).where(Reply.provider_sid == provider_sid)).first()
        if seen is not None:
            return ReplyResult(seen.meaning, seen.answer or "", seen.alert_id)
    meaning, named = interpret(body, digits)
    n: Notification | None = s.get(Notification, notification_id) if notification_id else None
    if n is None:
        n = pending_notification(s, phone, now, named)
    result = _act(s, n, meaning, named, phone, now, channel)
    s.add(
        Reply(
            received_at=now,
            from_=phone,
            channel=channel,
            body=body,
            digits=digits,
            provider_sid=provider_sid,
            alert_id=result.alert_id,
            notification_id=n.id if n else None,
            meaning=meaning,
            answer=result.answer,
        )
    )
    return result


def _act(
    s: Session, n: Notification | None, meaning: str, named: int | None, phone: str, now: datetime, channel: str
) -> ReplyResult:
    if n is None:
        if named is not None:
            return ReplyResult(meaning, sms.not_waiting(named))
        return ReplyResult(meaning, NOTHING_PENDING)
    alert = s.scalars(select(Alert).where(Alert.id == n.alert_id).with_for_update()).one()
    name = _name(s, n, phone)
    if meaning == "unknown":
        return ReplyResult(meaning, sms.not_understood(alert.id), alert.id)
    alerts.note(s, alert, "reply", f"{name} replied '{meaning}' by {channel}", now, name)
    if meaning == "pass":
        if alert.state != OPEN:
            return ReplyResult(meaning, sms.covered(alert.id, alert.acknowledged_by, alert.state), alert.id)
        n.status, n.updated_at = "passed", now
        bus.record(s, NotificationFailed(n.id, n.purpose, "passed", "passed", now))  # escalation asks the next
        return ReplyResult(meaning, sms.NEXT_PERSON, alert.id)
    # accept
    if alert.state in ("resolved", "cancelled"):
        return ReplyResult(meaning, sms.already_closed(alert.id, alert.state), alert.id)
    if alert.state != OPEN:
        who = alert.acknowledged_by or "someone else"
        resident = s.get(Resident, alert.resident_id) if alert.resident_id else None
        tz = ZoneInfo(resident.timezone if resident else "Europe/London")
        when = alert.acknowledged_at.astimezone(tz).strftime("%H:%M") if alert.acknowledged_at else ""
        if alert.acknowledged_by == name:
            return ReplyResult(meaning, sms.already_yours(alert.id), alert.id)
        return ReplyResult(meaning, sms.already_accepted(alert.id, who, when), alert.id)
    alerts.acknowledge(s, alert.id, name, now, via=channel)
    alert.acknowledged_contact_id = n.contact_id  # who may read the access notes (telecare.auth.scope)
    n.status, n.updated_at = "accepted", now
    bus.record(s, NotificationAnswered(n.id, alert.id, name, phone, now))  # escalation sends the access notes
    return ReplyResult(meaning, "", alert.id, accepted=True)

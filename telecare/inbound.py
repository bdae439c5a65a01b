"""Every answer from a phone (an SMS, or a reply typed into the sandbox) comes in here.

One message, one owner, tried in this order:

0. STOP ("stop contacting me", "unsubscribe"..., the whole message): the number's consent is
   withdrawn (``telecare.consent``), its follow-ups stop, an alert page waiting for its answer
   is passed on to the next person, and it gets one confirmation (a second STOP gets none);
1. the resident's own check-in (or a contact answering on their behalf), and a provider
   message id seen before (answered as before, nothing done again):
   ``telecare.checkin.replies.route``;
2. an alert notification waiting for this phone's answer ("1", "yes", "ACK 42"):
   ``replies.handle_reply``;
3. a follow-up of an introduction waiting for this phone's answer ("yes they rang",
   "no"): ``telecare.enquiry.followup.route_reply``;
4. nothing waiting: ``handle_reply``'s helpful answer (with the 999 advice).

An alert comes before a follow-up: a responder's "yes" to a fall must never be taken as
"yes, the lunch club rang me".
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare import bus
from telecare.alert import service as alerts
from telecare.alert.models import Alert
from telecare.checkin import replies as checkin_replies
from telecare.consent import service as consent
from telecare.domain_events import NotificationFailed
from telecare.enquiry import followup
from telecare.notification.models import Notification, Reply
from telecare.notification.replies import ReplyResult, handle_reply, pending_notification
from telecare.site.models import Contact
from telecare.wording.sms import STOPPED

log = logging.getLogger("linkage.inbound")


def stop(
    s: Session, *, phone: str, now: datetime, body: str | None, channel: str = "sms", provider_sid: str | None = None
) -> ReplyResult:
    """The number asked us to stop. Recorded, and acted on at once, in the caller's transaction."""
    phone = "".join((phone or "").split())
    if provider_sid:
        seen = s.scalars(select(Reply).where(Reply.provider_sid == provider_sid)).first()
        if seen is not None:  # Twilio retried the webhook: answered as before, nothing done again
            return ReplyResult(seen.meaning, seen.answer or "", seen.alert_id)
    first, _ = consent.withdraw(s, phone=phone, now=now, via=channel, words=body)
    followup.stop(s, phone, now)
    n = pending_notification(s, phone, now)
    alert_id = None
    if n is not None and n.status in ("queued", "sending", "sent", "delivered"):
        alert = s.get(Alert, n.alert_id)
        n.status, n.updated_at = "passed", now
        bus.record(s, NotificationFailed(n.id, n.purpose, "passed", "passed", now))  # the next person is asked
        if alert is not None:
            alert_id = alert.id
            alerts.note(s, alert, "opted_out", f"{_who(s, n)} replied STOP: not paged again by Linkage", now)
    answer = STOPPED if first else ""
    s.add(
        Reply(
            received_at=now,
            from_=phone,
            channel=channel,
            body=(body or "")[:40],
            digits=None,
            provider_sid=provider_sid,
            alert_id=alert_id,
            notification_id=n.id if n else None,
            meaning="stop",
            answer=answer,
        )
    )
    log.info("a number replied STOP (%s)", "recorded" if first else "again")
    return ReplyResult("stop", answer, alert_id)


def _who(s: Session, n: Notification) -> str:
    c = s.get(Contact, n.contact_id) if n.contact_id else None
    return c.name if c is not None else "the person paged"


def route(
    s: Session,
    *,
    phone: str,
    now: datetime,
    body: str | None = None,
    digits: str | None = None,
    channel: str = "sms",
    provider_sid: str | None = None,
) -> ReplyResult:
    if not digits and consent.is_stop(body):
        return stop(s, phone=phone, now=now, body=body, channel=channel, provider_sid=provider_sid)
    result = checkin_replies.route(
        s, phone=phone, now=now, body=body, digits=digits, channel=channel, provider_sid=provider_sid
    )
    if result is not None:
        return result
    if pending_notification(s, phone, now) is None:
        result = followup.route_reply(
            s, phone=phone, body=body, digits=digits, now=now, channel=channel, provider_sid=provider_sid
        )
        if result is not None:
            return result
    return handle_reply(s, phone=phone, now=now, body=body, digits=digits, channel=channel, provider_sid=provider_sid)


__all__ = ["route", "stop", "STOPPED"]

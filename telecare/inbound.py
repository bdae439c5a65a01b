"""Every answer from a phone (an SMS, or a reply typed into the sandbox) comes in here.

One message, one owner, tried in this order:

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

from datetime import datetime

from sqlalchemy.orm import Session

from telecare.checkin import replies as checkin_replies
from telecare.enquiry import followup
from telecare.notification.replies import ReplyResult, handle_reply, pending_notification


def route(s: Session, *, phone: str, now: datetime, body: str | None = None, digits: str | None = None,
          channel: str = "sms", provider_sid: str | None = None) -> ReplyResult:
    result = checkin_replies.route(s, phone=phone, now=now, body=body, digits=digits, channel=channel,
                                   provider_sid=provider_sid)
    if result is not None:
        return result
    if pending_notification(s, phone, now) is None:
        result = followup.route_reply(s, phone=phone, body=body, digits=digits, now=now, channel=channel,
                                      provider_sid=provider_sid)
        if result is not None:
            return result
    return handle_reply(s, phone=phone, now=now, body=body, digits=digits, channel=channel, provider_sid=provider_sid)


__all__ = ["route"]

"""Routing answers from phones to check-ins, before escalation replies.

Order (``route`` returns None when the message is not a check-in's, and the caller then hands
it to ``telecare.notification.replies.handle_reply`` exactly as before):

1. A provider message id seen before: answered as before, nothing done again.
2. A keypress or speech on a check-in call (``notification_id`` of purpose ``checkin``).
3. The phone is a resident's, and they have a check-in under way or started in the last
   12 hours: their answer ("fine thanks", "not too good today", "2", "could do with a chat").
   A follow-up after answering ("actually, I'd like a chat") still counts.
4. The phone is a contact's (family, neighbour, befriender) of a resident with a check-in
   today, and the message speaks about the resident ("I'm with Mum, she's fine"): an answer on
   their behalf. If today's call has not been made yet it is not made. But a contact who has
   an alert waiting for their answer and replies with alert words ("1", "yes", "no", "ACK 42")
   is answering the alert, and a bare keypress from a contact is never a check-in.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from telecare.alert.models import Alert
from telecare.alert.states import ACTIVE_STATES
from telecare.notification.models import Notification, Reply
from telecare.notification.replies import PENDING_WINDOW, ReplyResult, interpret
from telecare.site.models import Contact, Resident, ResidentContact
from telecare.wording import sms, voice

from . import service, words
from .models import PENDING, Checkin
from .schedule import config


def _record(
    s: Session,
    *,
    phone: str,
    now: datetime,
    channel: str,
    body: str | None,
    digits: str | None,
    provider_sid: str | None,
    result: ReplyResult,
    notification_id: int | None,
) -> ReplyResult:
    s.add(
        Reply(
            received_at=now,
            from_=phone,
            channel=channel,
            body=body,
            digits=digits,
            provider_sid=provider_sid,
            alert_id=result.alert_id,
            notification_id=notification_id,
            meaning=result.meaning[:16],
            answer=result.answer,
        )
    )
    return result


def route(
    s: Session,
    *,
    phone: str,
    now: datetime,
    body: str | None = None,
    digits: str | None = None,
    channel: str = "sms",
    provider_sid: str | None = None,
    notification_id: int | None = None,
) -> ReplyResult | None:
    if provider_sid:
        seen = s.scalars(select(Reply).where(Reply.provider_sid == provider_sid)).first()
        if seen is not None:
            return ReplyResult(seen.meaning, seen.answer or "", seen.alert_id)
    if notification_id is not None:
        n = s.get(Notification, notification_id)
        if n is None or n.purpose != "checkin":
            return None
        c = service.for_notification(s, n)
        if c is None:
            return None
        r = s.get_one(Resident, c.resident_id)
        result = resident_answer(s, c, r, now, body=body, digits=digits, channel=channel, notification=n)
        return _record(
            s,
            phone=phone,
            now=now,
            channel=channel,
            body=body,
            digits=digits,
            provider_sid=provider_sid,
            result=result,
            notification_id=n.id,
        )
    residents = list(s.scalars(select(Resident).where(Resident.phone == phone)))
    if residents:
        c = service.open_for_replies(s, [r.id for r in residents], now)
        if c is not None:
            r = next(x for x in residents if x.id == c.resident_id)
            n = _current_notification(c)
            result = resident_answer(s, c, r, now, body=body, digits=digits, channel=channel, notification=n)
            return _record(
                s,
                phone=phone,
                now=now,
                channel=channel,
                body=body,
                digits=digits,
                provider_sid=provider_sid,
                result=result,
                notification_id=n.id if n else None,
            )
    contacts = list(s.scalars(select(Contact).where(Contact.phone == phone)))
    if contacts and not digits:
        if interpret(body)[0] != "unknown" and _alert_waiting(s, phone, now):
            return None
        behalf = on_behalf(s, contacts, now, body=body, channel=channel)
        if behalf is not None:
            return _record(
                s,
                phone=phone,
                now=now,
                channel=channel,
                body=body,
                digits=digits,
                provider_sid=provider_sid,
                result=behalf,
                notification_id=None,
            )
    return None


def _current_notification(c: Checkin) -> Notification | None:
    for a in reversed(c.attempts):
        if a.notification is not None:
            return a.notification
    return None


def _alert_waiting(s: Session, phone: str, now: datetime) -> bool:
    return (
        s.scalars(
            select(Notification.id)
            .join(Alert, Alert.id == Notification.alert_id)
            .where(
                Notification.to == phone,
                Notification.purpose == "escalation",
                Notification.created_at >= now - PENDING_WINDOW,
                Alert.state.in_(ACTIVE_STATES),
            )
            .limit(1)
        ).first()
        is not None
    )


def resident_answer(
    s: Session,
    c: Checkin,
    r: Resident,
    now: datetime,
    *,
    body: str | None,
    digits: str | None,
    channel: str,
    notification: Notification | None,
) -> ReplyResult:
    meanings = words.understand_all(body, digits)
    was_open = c.state == PENDING or c.state == "missed"
    text = body if body else (f"pressed {digits}" if digits else None)
    done = service.answer(
        s, c, meanings, now, by=r.name, resident=True, via=channel, text=text, notification=notification
    )
    meaning = done["meaning"]
    said = voice if channel == "voice" else sms  # the words for the channel it came by
    befriender = r.befriender.name if r.befriender is not None else None
    if meaning == words.UNKNOWN and not was_open:
        answer = said.checkin_after(r.name)
    else:
        answer = said.checkin_answer(
            meaning, r.name, befriender=befriender, next_time=service.next_time_words(s, r, now)
        )
    alert = done["help_alert"]
    return ReplyResult(meaning, answer, alert.id if alert is not None else None)


def _residents_of(s: Session, contacts: list[Contact]) -> list[Resident]:
    ids = [c.id for c in contacts]
    linked = select(ResidentContact.resident_id).where(ResidentContact.contact_id.in_(ids))
    return list(
        s.scalars(
            select(Resident).where(or_(Resident.id.in_(linked), Resident.befriender_id.in_(ids))).order_by(Resident.id)
        )
    )


def on_behalf(
    s: Session, contacts: list[Contact], now: datetime, *, body: str | None, channel: str
) -> ReplyResult | None:
    residents = _residents_of(s, contacts)
    if not residents:
        return None
    names = tuple(n for r in residents for n in (r.name, words.first_name(r.name)))
    meanings = words.on_behalf(body, names)
    if not meanings:
        return None
    t = (body or "").lower()
    named = [
        r
        for r in residents
        if re.search(rf"\b{re.escape(words.first_name(r.name).lower())}\b", t) or r.name.lower() in t
    ]
    candidates = named or residents
    c = service.open_for_replies(s, [r.id for r in candidates], now)
    early = False
    if c is None:
        for r in candidates:
            if config(r) is not None:
                c = service.due_today_unstarted(s, r, now)
                if c is not None:
                    early = True
                    break
    if c is None:
        return None
    r = next(x for x in candidates if x.id == c.resident_id)
    contact = next(
        (x for x in contacts if any(link.contact_id == x.id for link in r.contact_links) or r.befriender_id == x.id),
        contacts[0],
    )
    done = service.answer(s, c, meanings, now, by=contact.name, resident=False, via=channel, text=body)
    if early:
        c.note = f"answered on {words.first_name(r.name)}'s behalf by {contact.name} before the call was due"
    alert = done["help_alert"]
    return ReplyResult(
        done["meaning"],
        sms.on_behalf(done["meaning"], contact.name, r.name, early and c.state != PENDING),
        alert.id if alert is not None else None,
    )


__all__ = ["route", "resident_answer", "on_behalf", "PENDING"]

"""Following up introductions: "Have they been in touch?" a week later, and the answer.

``send_due`` (the hub calls it every minute or so with its clock) queues one SMS (or one call)
per phone for the introductions whose follow-up is due: several introductions due together for one
phone are one message naming every service, and one answer answers them all. Messages go
out only between 09:00 and 20:00 UK time (``SEND_HOURS``); a follow-up that falls due at
night waits for the morning. A queued notification is a ``NotificationQueued`` event, so
the hub's dispatcher sends it after the commit.

By voice call instead of SMS (``VOICE``) for a UK landline (``+441``, ``+442``, ``+443``: it
cannot show a text) and for an introduction made on a call (``Introduction.follow_up_by``:
someone who rang us is rung back). The call is answered like the check-in call
(hub/web/followup_twiml.py): the same question spoken, yes/no said or pressed (1 / 2), and the
answer goes through ``route_reply`` with ``channel="voice"``.

An unanswered follow-up call (no answer, busy, failed, an answering machine, or answered and
hung up on without a word) is tried again (``when_notification_failed``, subscribed to
``NotificationFailed``): up to ``CALL_ATTEMPTS`` calls, ``RETRY_AFTER`` apart, only in sending
hours (a retry that would fall after 20:00 waits for 09:00). After the last call the question
goes by SMS when the number takes texts (a mobile), and otherwise to the console's call-back
list (reason ``followup``) for staff to ring. A call that reached someone who said something
(a ``Reply``) is not retried: that person has been spoken to.

``route_reply`` takes an SMS (or spoken, or keyed) answer to the newest follow-up sent to that phone in the last
14 days that has not been answered (``telecare.inbound.route`` calls it when
the message was not a check-in answer or an alert reply):

* yes ("yes", "they did", "1"): recorded as ``worked``, and a thank-you;
* no ("no", "not yet", "they haven't", "2"): recorded as ``not_contacted``, and a call-back
  request (reason ``followup``) for staff to sort it out;
* anything else: asked again, and the follow-up stays open for the next answer.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from telecare.consent import service as consent
from telecare.directory import search as directory
from telecare.directory.models import Service
from telecare.domain_events import NotificationFailed
from telecare.notification.models import Notification, Reply
from telecare.notification.replies import ReplyResult
from telecare.wording import sms, voice

from . import service
from .models import Enquiry, Introduction

ANSWER_WINDOW = timedelta(days=14)  # a reply counts as the answer this long after the follow-up was sent
SEND_HOURS = (time(9, 0), time(20, 0))  # local time: nobody gets a follow-up text at night
TZ = ZoneInfo("Europe/London")
CALL_ATTEMPTS = 3  # follow-up calls to one number before texting it or asking staff to ring
RETRY_AFTER = timedelta(hours=2)

LANDLINE = ("+441", "+442", "+443")  # UK geographic and non-geographic landline numbers


def is_landline(phone: str | None) -> bool:
    return phone is not None and "".join(phone.split()).startswith(LANDLINE)


_YES_WORDS = {"yes", "y", "yeah", "yep", "yup", "yes please", "1", "they did", "they have", "they've", "done"}
_YES_PHRASES = (
    "yes",
    "they did",
    "they have",
    "they've",
    "they rang",
    "they called",
    "they phoned",
    "they came",
    "they visited",
    "been in touch",
    "they got in touch",
    "they were in touch",
)
_NO_WORDS = {"no", "n", "nope", "2", "not yet", "nobody", "no one", "never", "nothing"}
_NO_PHRASES = (
    "no ",
    "not yet",
    "nobody",
    "no one",
    "haven't",
    "havent",
    "have not",
    "hasn't",
    "hasnt",
    "didn't",
    "didnt",
    "did not",
    "not heard",
    "heard nothing",
    "not been",
    "never",
)


def interpret(body: str | None, digits: str | None = None) -> str:
    """-> "worked", "not_contacted" or "unknown". A "no" anywhere wins over a "yes": a missed
    introduction costs more than an extra call from the team."""
    if digits:
        d = digits.strip()[:1]
        return "worked" if d == "1" else "not_contacted" if d == "2" else "unknown"
    t = (body or "").lower().replace("\u2019", "'")
    t = re.sub(r"[^\w\s']", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    if not t:
        return "unknown"
    if t in _NO_WORDS or (t + " ").startswith(_NO_PHRASES) or any(p in t for p in _NO_PHRASES[1:]):
        return "not_contacted"
    if t in _YES_WORDS or t.startswith(_YES_PHRASES) or any(p in t for p in _YES_PHRASES[1:]):
        return "worked"
    return "unknown"


def in_sending_hours(now: datetime) -> bool:
    local = now.astimezone(TZ).time()
    return SEND_HOURS[0] <= local < SEND_HOURS[1]


def next_sending_time(t: datetime) -> datetime:
    """``t`` if it is in sending hours, else the next 09:00 UK time after it."""
    if in_sending_hours(t):
        return t
    local = t.astimezone(TZ)
    day = local.date() if local.time() < SEND_HOURS[0] else local.date() + timedelta(days=1)
    return datetime.combine(day, SEND_HOURS[0], tzinfo=TZ).astimezone(t.tzinfo)


def _first_name(name: str | None) -> str | None:
    if not name or name == "not given":
        return None
    return name.split()[0]


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _ago(created: datetime, now: datetime) -> str:
    days = max(1, (now.astimezone(TZ).date() - created.astimezone(TZ).date()).days)  # calendar days, as people count
    return "A week ago" if days == 7 else "Two weeks ago" if days == 14 else f"{days} days ago"


def message(council: str, name: str | None, services: list[Service], created: datetime, now: datetime) -> str:
    return sms.followup(name, _who(council), _ago(created, now), _named(services))


def _who(council: str) -> str:
    return f"{council} Linkage" if council and council != directory.NO_COUNCIL.name else "Linkage"


def _named(services: list[Service]) -> str | None:
    """The services we asked, or None for the daily check-in calls asked for."""
    if all(svc.ext_id == service.CHECKIN_SERVICE for svc in services):
        return None
    return _names([svc.name for svc in services])


def spoken(council: str, name: str | None, services: list[Service], created: datetime, now: datetime) -> str:
    """The follow-up as a call says it: the same question, answered by speech or keypad."""
    return voice.followup(name, _who(council), _ago(created, now), _named(services))


def send_due(s: Session, now: datetime, limit: int = 200) -> int:
    """Queue the follow-ups due by ``now`` (in sending hours). Returns how many messages."""
    if not in_sending_hours(now):
        return 0
    rows = list(
        s.execute(
            select(Introduction, Service)
            .join(Service, Service.id == Introduction.service_id)
            .where(Introduction.follow_up_due_at <= now, Introduction.follow_up_sent_at.is_(None))
            .order_by(Introduction.follow_up_due_at, Introduction.id)
            .limit(limit)
            .with_for_update(of=Introduction, skip_locked=True)
        ).all()
    )
    if not rows:
        return 0
    by_phone: dict[str, list[tuple[Introduction, Service]]] = {}
    stopped = consent.opted_out_of(s, {intro.phone for intro, _ in rows})
    for intro, svc in rows:
        if intro.phone in stopped:  # replied STOP since: never followed up (telecare.inbound stops them at once)
            intro.follow_up_due_at = None
            continue
        by_phone.setdefault(intro.phone, []).append((intro, svc))
    council = directory.council(s).name
    for phone, group in by_phone.items():
        name = next((_first_name(i.name) for i, _ in group if _first_name(i.name)), None)
        services = list({svc.id: svc for _, svc in group}.values())
        by_voice = is_landline(phone) or any(i.follow_up_by == "voice" for i, _ in group)
        words = spoken if by_voice else message
        n = Notification(
            alert_id=None,
            contact_id=None,
            to=phone,
            channel="voice" if by_voice else "sms",
            purpose="followup",
            body=words(council, name, services, min(i.created_at for i, _ in group), now),
            status="queued",
            created_at=now,
        )
        s.add(n)
        s.flush()
        for intro, _ in group:
            intro.follow_up_sent_at, intro.follow_up_notification_id = now, n.id
            if by_voice:
                intro.follow_up_calls = (intro.follow_up_calls or 0) + 1
    return len(by_phone)


def stop(s: Session, phone: str, now: datetime) -> int:
    """The number replied STOP: its follow-ups not yet sent never will be, and one queued (SMS or call)
    is withdrawn before the dispatcher sends it. Returns how many introductions' follow-ups stopped."""
    phone = "".join((phone or "").split())
    intros = list(
        s.scalars(
            select(Introduction).where(
                Introduction.phone == phone,
                Introduction.follow_up_sent_at.is_(None),
                Introduction.follow_up_due_at.is_not(None),
            )
        )
    )
    for intro in intros:
        intro.follow_up_due_at = None
    s.execute(
        update(Notification)
        .where(Notification.to == phone, Notification.purpose == "followup", Notification.status == "queued")
        .values(status="canceled", detail="withdrawn: the number replied STOP", updated_at=now)
    )
    return len(intros)


def when_notification_failed(s: Session, e: NotificationFailed) -> None:
    """Subscribed to ``NotificationFailed``: a follow-up call that reached nobody."""
    if e.purpose == "followup":
        call_failed(s, e.notification_id, e.status, e.at)


def call_failed(s: Session, notification_id: int, status: str, now: datetime) -> str | None:
    """A follow-up call not answered: call again later, or (after ``CALL_ATTEMPTS`` calls) text
    the question to a mobile, or ask staff to ring a landline. Returns what was done ("retry",
    "sms", "callback") or None when there is nothing to do (not a call, answered, or spoken to)."""
    n = s.get(Notification, notification_id)
    if n is None or n.channel != "voice" or status in ("passed", "canceled"):
        return None
    if consent.opted_out(s, n.to):
        return None  # the number replied STOP: no further calls, texts or call-backs about it
    intros = list(
        s.scalars(
            select(Introduction)
            .where(Introduction.follow_up_notification_id == n.id, Introduction.follow_up_answer.is_(None))
            .order_by(Introduction.id)
            .with_for_update()
        )
    )
    if not intros:
        return None
    if s.scalars(select(Reply.id).where(Reply.notification_id == n.id).limit(1)).first() is not None:
        return None  # someone came to the phone and spoke: the console shows it unanswered, as a text would be
    calls = max(i.follow_up_calls or 1 for i in intros)
    if calls < CALL_ATTEMPTS:
        when = next_sending_time(now + RETRY_AFTER)
        for intro in intros:
            intro.follow_up_sent_at, intro.follow_up_due_at, intro.follow_up_by = None, when, "voice"
        return "retry"
    services = [svc for svc in (s.get(Service, i.service_id) for i in intros) if svc is not None]
    name = next((_first_name(i.name) for i in intros if _first_name(i.name)), None)
    if not is_landline(n.to):
        text = message(directory.council(s).name, name, services, min(i.created_at for i in intros), now)
        sms = Notification(
            alert_id=None,
            contact_id=None,
            to=n.to,
            channel="sms",
            purpose="followup",
            body=text,
            status="queued",
            created_at=now,
        )
        s.add(sms)
        s.flush()
        for intro in intros:
            intro.follow_up_sent_at, intro.follow_up_notification_id = now, sms.id
        return "sms"
    first = intros[0]
    enquiry = s.get(Enquiry, first.enquiry_id) if first.enquiry_id else None
    service.request_callback(
        s,
        enquiry_id=first.enquiry_id,
        reason="followup",
        urgent=False,
        name=first.name,
        phone=n.to,
        resident_id=enquiry.resident_id if enquiry else None,
        now=now,
        detail=f"{_names([svc.name for svc in services])}: the follow-up of the introduction of "
        f"{first.created_at.astimezone(TZ):%d %B %Y} was not answered after {calls} calls "
        f"(last: {status}); please ring to ask whether they have been in touch",
    )
    return "callback"


def pending(s: Session, phone: str, now: datetime) -> list[Introduction]:
    """The introductions the newest unanswered follow-up to ``phone`` asked about ([] if none)."""
    newest = s.scalars(
        select(Introduction)
        .where(
            Introduction.phone == phone,
            Introduction.follow_up_sent_at >= now - ANSWER_WINDOW,
            Introduction.follow_up_answer.is_(None),
        )
        .order_by(Introduction.follow_up_sent_at.desc(), Introduction.id.desc())
        .limit(1)
    ).first()
    if newest is None:
        return []
    if newest.follow_up_notification_id is None:
        return [newest]
    return list(
        s.scalars(
            select(Introduction)
            .where(
                Introduction.follow_up_notification_id == newest.follow_up_notification_id,
                Introduction.follow_up_answer.is_(None),
            )
            .order_by(Introduction.id)
        )
    )


def route_reply(
    s: Session,
    *,
    phone: str,
    body: str | None,
    digits: str | None,
    now: datetime,
    channel: str = "sms",
    provider_sid: str | None = None,
) -> ReplyResult | None:
    """The answer to a follow-up, or None when no follow-up to this phone awaits one."""
    phone = "".join((phone or "").split())
    intros = pending(s, phone, now)
    if not intros:
        return None
    meaning = interpret(body, digits)
    helpline = directory.council(s).helpline
    if meaning == "unknown":
        answer = sms.FOLLOWUP_ASK_AGAIN if channel != "voice" else voice.FOLLOWUP_ASK_AGAIN
    elif meaning == "worked":
        answer = sms.followup_thanks(helpline)  # said as texted on a call
    else:
        answer = sms.FOLLOWUP_SORRY
    for intro in intros if meaning != "unknown" else ():
        intro.follow_up_answer, intro.answered_at = meaning, now
    if meaning == "not_contacted":
        first = intros[0]
        enquiry = s.get(Enquiry, first.enquiry_id) if first.enquiry_id else None
        names = _names([s.get_one(Service, i.service_id).name for i in intros])
        service.request_callback(
            s,
            enquiry_id=first.enquiry_id,
            reason="followup",
            urgent=False,
            name=first.name,
            phone=phone,
            resident_id=enquiry.resident_id if enquiry else None,
            now=now,
            detail=f"{names} had not been in touch after the introduction of "
            f"{first.created_at.astimezone(TZ):%d %B %Y} "
            f"({'said on the follow-up call' if channel == 'voice' else 'said by SMS'}: "
            f"{(body or digits or '')[:200]!r})",
        )
    s.add(
        Reply(
            received_at=now,
            from_=phone,
            channel=channel,
            body=body,
            digits=digits,
            provider_sid=provider_sid,
            alert_id=None,
            notification_id=intros[0].follow_up_notification_id,
            meaning=meaning,
            answer=answer,
        )
    )
    return ReplyResult(meaning, answer)


__all__ = [
    "send_due",
    "stop",
    "route_reply",
    "call_failed",
    "when_notification_failed",
    "next_sending_time",
    "interpret",
    "pending",
    "message",
    "spoken",
    "is_landline",
]

"""Recording what the helpline's conversations find and lead to.

Every function works in the caller's transaction (the assistant's turn, an API request) and
leaves the commit to it.

* ``start`` records an enquiry at the first turn of a conversation; ``update`` is called
  once on every turn after that (it counts the turns). Needs and services offered are only
  ever added, in the order found, without repeats. The outcome only ever rises
  (``OUTCOME_RANK``: unresolved < signposted < introduced < handoff < emergency): a
  conversation that reached a person stays a hand-off even if it ends with a thank-you.
  Consent is the last explicit answer (None leaves it as it was).
* ``introduce`` passes someone's name and number to a service that accepts introductions.
  It is the consent: the enquiry's consent becomes True and its outcome at least
  ``introduced``. A follow-up is due a week later (``FOLLOW_UP_AFTER``, or the service's own
  ``intro_days`` if longer); ``followup.send_due`` sends it. An introduction to the
  "Linkage daily check-in call" service is also a check-in request for staff to confirm.
* ``request_callback`` and ``request_checkins`` record work for staff; ``close_callback`` and
  ``decide_checkin_request`` record that it was done. Asking twice in one conversation
  gives the same open request, not two.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from telecare import bus
from telecare.consent import service as consent
from telecare.directory.categories import NEEDS
from telecare.directory.models import Service
from telecare.domain_events import CallbackClosed, CallbackRequested

from .models import CALLBACK_REASONS, CHANNELS, OUTCOMES, CallbackRequest, CheckinRequest, Enquiry, Introduction

log = logging.getLogger("linkage.enquiry")

OUTCOME_RANK = {"unresolved": 0, "signposted": 1, "introduced": 2, "handoff": 3, "emergency": 4}
FOLLOW_UP_AFTER = timedelta(days=7)
CHECKIN_SERVICE = "linkage-daily-checkin"
FIRST_MESSAGE_MAX = 500


class EnquiryError(Exception):
    """Something asked of the helpline's records that cannot be done (HTTP 409)."""


class NotFound(EnquiryError, LookupError):
    """No such enquiry, call-back request or check-in request (HTTP 404)."""


def _enquiry(s: Session, enquiry_id: int) -> Enquiry:
    e = s.get(Enquiry, enquiry_id)
    if e is None:
        raise NotFound(f"enquiry {enquiry_id} does not exist")
    return e


def _add(have: list[str] | None, new: Iterable[str] | None) -> list[str]:
    out = list(have or [])
    for x in new or ():
        if x and x not in out:
            out.append(x)
    return out


def _phone(phone: str | None) -> str | None:
    return "".join(phone.split()) if phone else None


def start(
    s: Session,
    *,
    channel: str,
    conversation_id: str | None,
    phone: str | None,
    resident_id: int | None,
    now: datetime,
    first_message: str | None = None,
) -> Enquiry:
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    e = Enquiry(
        channel=channel,
        conversation_id=conversation_id,
        phone=_phone(phone),
        resident_id=resident_id,
        started_at=now,
        updated_at=now,
        needs=[],
        services=[],
        outcome="unresolved",
        consent=None,
        on_behalf=False,
        first_message=(first_message or None) and first_message[:FIRST_MESSAGE_MAX],
        turns=0,
    )
    s.add(e)
    s.flush()
    return e


def update(
    s: Session,
    enquiry_id: int,
    *,
    now: datetime,
    needs: Iterable[str] | None = (),
    services: Iterable[str] | None = (),
    outcome: str | None = None,
    consent: bool | None = None,
    on_behalf: bool | None = None,
    district: str | None = None,
    age: int | None = None,
) -> Enquiry:
    """One turn's findings. Needs and services are added; the outcome only rises."""
    unknown = [n for n in needs or () if n not in NEEDS]
    if unknown:
        raise ValueError(f"not need categories: {', '.join(map(repr, unknown))}")
    if outcome is not None and outcome not in OUTCOME_RANK:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    e = _enquiry(s, enquiry_id)
    e.needs = _add(e.needs, needs)
    e.services = _add(e.services, services)
    if outcome is not None and OUTCOME_RANK[outcome] > OUTCOME_RANK[e.outcome or "unresolved"]:
        e.outcome = outcome
    if consent is not None:
        e.consent = consent
    if on_behalf is not None:
        e.on_behalf = on_behalf
    if district:
        e.district = district.strip().upper()[:8]
    if age is not None and not isinstance(age, bool) and 18 <= int(age) <= 120:
        e.age = int(age)
    e.turns = (e.turns or 0) + 1
    e.updated_at = now
    return e


def follow_up_by_voice(s: Session, enquiry_id: int | None) -> int:
    """The person asked to be rung rather than texted: the follow-ups of this enquiry's
    introductions not yet sent are calls. Returns how many introductions changed."""
    if enquiry_id is None:
        return 0
    rows = list(
        s.scalars(
            select(Introduction).where(Introduction.enquiry_id == enquiry_id, Introduction.follow_up_sent_at.is_(None))
        )
    )
    for intro in rows:
        intro.follow_up_by = "voice"
    return len(rows)


def introduce(
    s: Session,
    enquiry_id: int | None,
    service_ext_id: str,
    *,
    name: str | None,
    phone: str,
    now: datetime,
    follow_up_by: str | None = None,
    wording: str | None = None,
    channel: str | None = None,
) -> Introduction:
    """Pass ``name`` and ``phone`` to the service, with consent given now. The same service
    twice in one enquiry is one introduction. The consent is kept as a record
    (``telecare.consent``): ``wording`` is the question exactly as it was put."""
    svc = s.scalars(select(Service).where(Service.ext_id == service_ext_id)).first()
    if svc is None:
        raise NotFound(f"service {service_ext_id!r} is not in the directory")
    if not svc.introductions:
        raise EnquiryError(f"{svc.name} does not accept introductions; give its contact details instead")
    phone = _phone(phone) or ""
    if not phone:
        raise ValueError("an introduction needs a phone number the service can call")
    e = _enquiry(s, enquiry_id) if enquiry_id is not None else None
    if e is not None:
        same = s.scalars(
            select(Introduction).where(Introduction.enquiry_id == e.id, Introduction.service_id == svc.id)
        ).first()
        if same is not None:
            return same
    after = max(FOLLOW_UP_AFTER, timedelta(days=svc.intro_days or 0))
    intro = Introduction(
        enquiry_id=e.id if e else None,
        service_id=svc.id,
        name=name or None,
        phone=phone,
        consent_at=now,
        created_at=now,
        follow_up_due_at=now + after,
        follow_up_by="voice" if follow_up_by == "voice" else None,
    )
    s.add(intro)
    consent.give(
        s,
        service=svc.ext_id,
        wording=wording,
        channel=channel or (e.channel if e else None),
        now=now,
        by="resident" if e is not None and e.resident_id else "enquiry" if e is not None else "phone",
        phone=phone,
        enquiry_id=e.id if e else None,
        resident_id=e.resident_id if e else None,
    )
    if e is not None:
        e.consent = True
        e.services = _add(e.services, [svc.ext_id])
        if OUTCOME_RANK[e.outcome or "unresolved"] < OUTCOME_RANK["introduced"]:
            e.outcome = "introduced"
        e.updated_at = now
    if svc.ext_id == CHECKIN_SERVICE:
        request_checkins(
            s,
            enquiry_id=e.id if e else None,
            name=name,
            phone=phone,
            resident_id=e.resident_id if e else None,
            preferred_time=None,
            now=now,
        )
    s.flush()
    log.info("introduction %s: enquiry %s to %s", intro.id, enquiry_id, svc.ext_id)
    return intro


def request_callback(
    s: Session,
    *,
    enquiry_id: int | None,
    reason: str,
    urgent: bool,
    name: str | None,
    phone: str | None,
    resident_id: int | None,
    detail: str | None,
    now: datetime,
) -> CallbackRequest:
    if reason not in CALLBACK_REASONS:
        raise ValueError(f"reason must be one of {', '.join(CALLBACK_REASONS)}, not {reason!r}")
    if enquiry_id is not None:
        _enquiry(s, enquiry_id)
        same = s.scalars(
            select(CallbackRequest).where(
                CallbackRequest.enquiry_id == enquiry_id,
                CallbackRequest.reason == reason,
                CallbackRequest.status == "open",
            )
        ).first()
        if same is not None:  # asked again in the same conversation: one request, as urgent as either
            same.urgent = same.urgent or bool(urgent)
            same.phone = same.phone or _phone(phone)
            same.name = same.name or name
            if detail and detail not in (same.detail or ""):
                same.detail = f"{same.detail}\n{detail}" if same.detail else detail
            bus.record(s, CallbackRequested(same.id, same.urgent))
            return same
    cb = CallbackRequest(
        enquiry_id=enquiry_id,
        resident_id=resident_id,
        name=name or None,
        phone=_phone(phone),
        reason=reason,
        urgent=bool(urgent),
        detail=detail or None,
        created_at=now,
        status="open",
    )
    s.add(cb)
    s.flush()
    bus.record(s, CallbackRequested(cb.id, cb.urgent))  # the board counts the urgent ones waiting
    (log.warning if urgent else log.info)("call-back request %s (%s%s)", cb.id, reason, ", urgent" if urgent else "")
    return cb


def request_checkins(
    s: Session,
    *,
    enquiry_id: int | None,
    name: str | None,
    phone: str | None,
    resident_id: int | None,
    preferred_time: str | None,
    now: datetime,
) -> CheckinRequest:
    if enquiry_id is not None:
        same = s.scalars(
            select(CheckinRequest).where(CheckinRequest.enquiry_id == enquiry_id, CheckinRequest.status == "pending")
        ).first()
        if same is not None:
            same.name = name or same.name
            same.phone = _phone(phone) or same.phone
            same.preferred_time = preferred_time or same.preferred_time
            return same
    req = CheckinRequest(
        enquiry_id=enquiry_id,
        resident_id=resident_id,
        name=name or None,
        phone=_phone(phone),
        preferred_time=preferred_time or None,
        created_at=now,
        status="pending",
    )
    s.add(req)
    s.flush()
    return req


def close_callback(s: Session, id: int, by: str, now: datetime, note: str | None = None) -> CallbackRequest:
    cb = s.scalars(select(CallbackRequest).where(CallbackRequest.id == id).with_for_update()).first()
    if cb is None:
        raise NotFound(f"call-back request {id} does not exist")
    if cb.status == "done":
        raise EnquiryError(f"call-back request {id} was already done by {cb.done_by}")
    cb.status, cb.done_by, cb.done_at, cb.note = "done", by, now, (note or None)
    bus.record(s, CallbackClosed(cb.id))
    return cb


def decide_checkin_request(
    s: Session, id: int, by: str, now: datetime, confirmed: bool, note: str | None = None
) -> CheckinRequest:
    req = s.scalars(select(CheckinRequest).where(CheckinRequest.id == id).with_for_update()).first()
    if req is None:
        raise NotFound(f"check-in request {id} does not exist")
    if req.status != "pending":
        raise EnquiryError(f"check-in request {id} was already {req.status} by {req.decided_by}")
    req.status = "confirmed" if confirmed else "declined"
    req.decided_by, req.decided_at, req.note = by, now, (note or None)
    return req


# -- caps on what anonymous conversations may queue (docs/security.md, "The assistant") ----------------------
ANONYMOUS_WINDOW = timedelta(hours=1)
ANONYMOUS_PER_HOUR = 30  # call-back requests and introductions, all anonymous conversations together
URGENT_PER_CONVERSATION = 1
INTRODUCTIONS_PER_CONVERSATION = 3


def _anonymous(s: Session, model: type[CallbackRequest] | type[Introduction], since: datetime) -> int:
    return (
        s.scalar(
            select(func.count())
            .select_from(model)
            .join(Enquiry, model.enquiry_id == Enquiry.id)
            .where(Enquiry.phone.is_(None), model.created_at >= since)
        )
        or 0
    )


def anonymous_requests_since(s: Session, since: datetime) -> int:
    """Call-back requests and introductions queued since ``since`` by anonymous conversations
    (an enquiry with no phone proven by a signed Twilio request: ``Enquiry.phone`` is None).
    Counted from the database, so the cap holds across processes."""
    return _anonymous(s, CallbackRequest, since) + _anonymous(s, Introduction, since)


def _conversation(e: Enquiry) -> ColumnElement[bool]:
    """The enquiries of ``e``'s conversation (a conversation may start afresh: several enquiries)."""
    if e.conversation_id:
        return Enquiry.conversation_id == e.conversation_id
    return Enquiry.id == e.id


def anonymous_allowance(
    s: Session,
    enquiry_id: int,
    *,
    what: str,
    now: datetime,
    urgent: bool = False,
    reason: str | None = None,
    service_ext_id: str | None = None,
    per_hour: int = ANONYMOUS_PER_HOUR,
    urgent_per_conversation: int = URGENT_PER_CONVERSATION,
    introductions_per_conversation: int = INTRODUCTIONS_PER_CONVERSATION,
) -> str | None:
    """May an anonymous conversation queue this ``what`` ("callback" or "introduction")? None: yes;
    else why not: "conversation" (this conversation already has its urgent call-back, or its
    introductions) or "hourly" (``per_hour`` reached across all anonymous conversations).

    Asking again for what is already queued (the same open call-back reason, the same service)
    adds no row and is always allowed: it only updates the request staff already have."""
    if what not in ("callback", "introduction"):
        raise ValueError(f"what must be callback or introduction, not {what!r}")
    e = _enquiry(s, enquiry_id)
    if what == "callback":
        same = s.scalar(
            select(func.count())
            .select_from(CallbackRequest)
            .where(
                CallbackRequest.enquiry_id == e.id, CallbackRequest.reason == reason, CallbackRequest.status == "open"
            )
        )
        if same:
            return None
        if urgent:
            had = (
                s.scalar(
                    select(func.count())
                    .select_from(CallbackRequest)
                    .join(Enquiry, CallbackRequest.enquiry_id == Enquiry.id)
                    .where(_conversation(e), CallbackRequest.urgent.is_(True))
                )
                or 0
            )
            if had >= urgent_per_conversation:
                return "conversation"
    else:
        svc = s.scalars(select(Service).where(Service.ext_id == service_ext_id)).first()
        if svc is not None and s.scalar(
            select(func.count())
            .select_from(Introduction)
            .where(Introduction.enquiry_id == e.id, Introduction.service_id == svc.id)
        ):
            return None
        had = (
            s.scalar(
                select(func.count())
                .select_from(Introduction)
                .join(Enquiry, Introduction.enquiry_id == Enquiry.id)
                .where(_conversation(e))
            )
            or 0
        )
        if had >= introductions_per_conversation:
            return "conversation"
    if anonymous_requests_since(s, now - ANONYMOUS_WINDOW) >= per_hour:
        return "hourly"
    return None


def list_enquiries(s: Session, since: datetime | None = None, limit: int = 500) -> list[Enquiry]:
    """Newest first; ``since``: those started at or after it."""
    q = select(Enquiry).order_by(Enquiry.started_at.desc(), Enquiry.id.desc()).limit(limit)
    if since is not None:
        q = q.where(Enquiry.started_at >= since)
    return list(s.scalars(q))


def summary(s: Session, since: datetime | None = None) -> dict[str, Any]:
    """The dashboard's figures for enquiries started since ``since`` (all when None)."""
    q = select(Enquiry.channel, Enquiry.needs, Enquiry.outcome)
    if since is not None:
        q = q.where(Enquiry.started_at >= since)
    by_channel: Counter[str] = Counter()
    by_need: Counter[str] = Counter()
    by_outcome: Counter[str] = Counter({o: 0 for o in OUTCOMES})
    total = 0
    for channel, needs, outcome in s.execute(q):
        total += 1
        by_channel[channel] += 1
        by_outcome[outcome] += 1
        for n in needs or ():
            by_need[n] += 1
    resolved = by_outcome["signposted"] + by_outcome["introduced"]
    intro_q = select(Introduction.follow_up_answer, func.count()).group_by(Introduction.follow_up_answer)
    if since is not None:
        intro_q = intro_q.where(Introduction.created_at >= since)
    answers = {a: n for a, n in s.execute(intro_q)}
    return {
        "since": since.isoformat() if since else None,
        "total": total,
        "by_channel": dict(by_channel.most_common()),
        "by_need": dict(by_need.most_common()),
        "by_outcome": dict(by_outcome),
        "resolved_first_contact_share": round(resolved / total, 3) if total else None,
        "introductions": sum(answers.values()),
        "follow_up_answers": {"worked": answers.get("worked", 0), "not_contacted": answers.get("not_contacted", 0)},
        "callbacks_open": s.scalar(
            select(func.count()).select_from(CallbackRequest).where(CallbackRequest.status == "open")
        ),
        "checkin_requests_pending": s.scalar(
            select(func.count()).select_from(CheckinRequest).where(CheckinRequest.status == "pending")
        ),
    }


__all__ = [
    "OUTCOME_RANK",
    "start",
    "update",
    "introduce",
    "follow_up_by_voice",
    "request_callback",
    "request_checkins",
    "close_callback",
    "decide_checkin_request",
    "list_enquiries",
    "summary",
    "EnquiryError",
    "NotFound",
    "anonymous_requests_since",
    "anonymous_allowance",
]

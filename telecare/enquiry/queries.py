"""Read models for the helpline's records: enquiries, introductions and their follow-ups, call-backs and
check-in requests, as the API and the console list them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Row, String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from telecare.directory.models import Service
from telecare.enquiry.followup import ANSWER_WINDOW
from telecare.enquiry.models import CallbackRequest, CheckinRequest, Enquiry, Introduction


def introductions(
    s: Session, *, service: str | None = None, since: datetime | None = None, limit: int = 500
) -> list[tuple[Introduction, Service]]:
    """Newest first."""
    q = (
        select(Introduction, Service)
        .join(Service, Service.id == Introduction.service_id)
        .order_by(Introduction.created_at.desc(), Introduction.id.desc())
        .limit(limit)
    )
    if service:
        q = q.where(Service.ext_id == service)
    if since is not None:
        q = q.where(Introduction.created_at >= since)
    return [(i, svc) for i, svc in s.execute(q).all()]


def callbacks(s: Session, *, status: str = "open", limit: int = 500) -> list[CallbackRequest]:
    """``status`` open (urgent first, then oldest first), done or all (newest first)."""
    q = select(CallbackRequest).limit(limit)
    if status == "open":
        q = q.where(CallbackRequest.status == "open").order_by(
            CallbackRequest.urgent.desc(), CallbackRequest.created_at, CallbackRequest.id
        )
    else:
        if status == "done":
            q = q.where(CallbackRequest.status == "done")
        q = q.order_by(CallbackRequest.created_at.desc(), CallbackRequest.id.desc())
    return list(s.scalars(q))


def checkin_requests(s: Session, *, status: str = "pending", limit: int = 500) -> list[CheckinRequest]:
    """``status`` pending, confirmed, declined or all; oldest first."""
    q = select(CheckinRequest).order_by(CheckinRequest.created_at, CheckinRequest.id).limit(limit)
    if status != "all":
        q = q.where(CheckinRequest.status == status)
    return list(s.scalars(q))


# -- the console's pages -----------------------------------------------------------------------------------------
def enquiries_page(
    s: Session,
    *,
    outcome: str | None = None,
    channel: str | None = None,
    need: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[Enquiry]]:
    """(how many match, one page of them, newest first): started in [start, end)."""
    q = select(Enquiry)
    if outcome:
        q = q.where(Enquiry.outcome == outcome)
    if channel:
        q = q.where(Enquiry.channel == channel)
    if need:  # the JSON list as text holds '"need"' (quotes included, so no other need matches)
        q = q.where(cast(Enquiry.needs, String).like(f'%"{need}"%'.replace("_", r"\_"), escape="\\"))
    if start:
        q = q.where(Enquiry.started_at >= start)
    if end:
        q = q.where(Enquiry.started_at < end)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = list(s.scalars(q.order_by(Enquiry.started_at.desc(), Enquiry.id.desc()).offset(offset).limit(limit)))
    return total, rows


@dataclass
class EnquiryRecords:
    """What one enquiry led to."""

    offered: dict[str, Service]  # service id -> the service, for those still in the directory
    introductions: list[Row[Introduction, Service]]  # (introduction, service)
    callbacks: list[CallbackRequest]
    checkin_requests: list[CheckinRequest]


def records_of(s: Session, e: Enquiry) -> EnquiryRecords:
    offered = {svc.ext_id: svc for svc in s.scalars(select(Service).where(Service.ext_id.in_(e.services or [])))}
    intros = s.execute(
        select(Introduction, Service)
        .join(Service, Service.id == Introduction.service_id)
        .where(Introduction.enquiry_id == e.id)
        .order_by(Introduction.id)
    ).all()
    callbacks = list(
        s.scalars(select(CallbackRequest).where(CallbackRequest.enquiry_id == e.id).order_by(CallbackRequest.id))
    )
    requests = list(
        s.scalars(select(CheckinRequest).where(CheckinRequest.enquiry_id == e.id).order_by(CheckinRequest.id))
    )
    return EnquiryRecords(offered, list(intros), callbacks, requests)


def callbacks_done_recently(s: Session, limit: int = 20) -> list[CallbackRequest]:
    return list(
        s.scalars(
            select(CallbackRequest)
            .where(CallbackRequest.status == "done")
            .order_by(CallbackRequest.done_at.desc(), CallbackRequest.id.desc())
            .limit(limit)
        )
    )


def checkin_requests_decided_recently(s: Session, limit: int = 20) -> list[CheckinRequest]:
    return list(
        s.scalars(
            select(CheckinRequest)
            .where(CheckinRequest.status != "pending")
            .order_by(CheckinRequest.decided_at.desc(), CheckinRequest.id.desc())
            .limit(limit)
        )
    )


def followup_conditions(now: datetime) -> dict[str, ColumnElement[bool]]:
    """Where an introduction's follow-up is, as WHERE clauses (telecare.enquiry.followup's states)."""
    window = now - ANSWER_WINDOW
    sent, answer = Introduction.follow_up_sent_at, Introduction.follow_up_answer
    return {
        "not_contacted": answer == "not_contacted",
        "worked": answer == "worked",
        "due": and_(answer.is_(None), sent.is_(None)),
        "waiting": and_(answer.is_(None), sent >= window),
        "no_answer": and_(answer.is_(None), sent < window),
    }


def followups_page(
    s: Session, now: datetime, *, show: str = "", offset: int = 0, limit: int = 50
) -> tuple[dict[str, int], int, list[Row[Introduction, Service]]]:
    """(count per state, how many match ``show``, one page of (introduction, service)): those that
    need someone (not contacted) first, then newest."""
    conditions = followup_conditions(now)
    q = select(Introduction, Service).join(Service, Service.id == Introduction.service_id)
    if show in conditions:
        q = q.where(conditions[show])
    counts = {k: s.scalar(select(func.count()).select_from(Introduction).where(c)) or 0 for k, c in conditions.items()}
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    first = case((Introduction.follow_up_answer == "not_contacted", 0), else_=1)
    rows = s.execute(
        q.order_by(first, Introduction.created_at.desc(), Introduction.id.desc()).offset(offset).limit(limit)
    ).all()
    return counts, total, list(rows)


def followup_callbacks(s: Session, wanted: list[Introduction]) -> dict[tuple[str, int | str | None], CallbackRequest]:
    """The call-backs a "no" opened: same enquiry (or, without one, same phone), reason followup;
    keyed ("enquiry", id) or ("phone", number)."""
    callbacks: dict[tuple[str, int | str | None], CallbackRequest] = {}
    if wanted:
        cond = or_(
            CallbackRequest.enquiry_id.in_([i.enquiry_id for i in wanted if i.enquiry_id]),
            CallbackRequest.phone.in_([i.phone for i in wanted]),
        )
        for cb in s.scalars(
            select(CallbackRequest).where(CallbackRequest.reason == "followup", cond).order_by(CallbackRequest.id)
        ):
            callbacks[("enquiry", cb.enquiry_id) if cb.enquiry_id else ("phone", cb.phone)] = cb
    return callbacks


def callbacks_waiting(s: Session) -> tuple[int, int]:
    """(open call-back requests, of which urgent)."""
    counts = dict(
        s.execute(
            select(CallbackRequest.urgent, func.count())
            .where(CallbackRequest.status == "open")
            .group_by(CallbackRequest.urgent)
        ).all()
    )
    return sum(counts.values()), counts.get(True, 0)

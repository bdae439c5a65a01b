"""The directory of services and the helpline's records, over HTTP (routes stay thin:
telecare.directory and telecare.enquiry decide).

- ``GET  /api/services?need=&postcode=``            the directory (any token)
- ``GET  /api/enquiries?since=``                     one per conversation with the assistant
- ``GET  /api/enquiries/summary?since=``             the dashboard's figures
- ``GET  /api/introductions?service=&since=``        names and numbers passed on, with consent
- ``GET  /api/callbacks?status=open|done|all``       people to ring back (urgent first)
- ``POST /api/callbacks/{id}/done``                  rung back
- ``GET  /api/checkin-requests?status=pending|confirmed|declined|all``
- ``POST /api/checkin-requests/{id}/confirm|decline``

The helpline's records hold what residents told us, so only staff and admin tokens read or
change them; a responder's token may read the directory.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query

from telecare.audit import service as audit
from telecare.auth.tokens import CAN_CONFIGURE
from telecare.directory import postcode as postcodes
from telecare.directory import search as directory
from telecare.directory.categories import NEEDS
from telecare.directory.models import Service
from telecare.enquiry import followup, queries
from telecare.enquiry import service as enquiries
from telecare.enquiry.models import CallbackRequest, CheckinRequest
from telecare.site import queries as site_queries

from ..auth import Caller, caller
from ..deps import Runtime
from .schemas.helpline import (
    CallbackOut,
    CheckinRequestOut,
    Eligibility,
    EnquiryOut,
    IntroductionOut,
    NoteIn,
    ServiceOut,
)

router = APIRouter()


def helpline_staff(who: Caller = Depends(caller)) -> Caller:
    if who.role not in CAN_CONFIGURE:
        raise HTTPException(403, f"a {who.role} token cannot see or change the helpline's records; staff or admin can")
    return who


def _service_out(svc: Service) -> ServiceOut:
    return ServiceOut(
        id=svc.ext_id,
        name=svc.name,
        description=svc.description,
        needs=list(svc.needs),
        areas=list(svc.areas),
        phone=svc.phone,
        web=svc.web,
        email=svc.email,
        hours=svc.hours,
        eligibility=Eligibility(**svc.eligibility),
        introductions=svc.introductions,
        intro_days=svc.intro_days,
    )


def _since(since: str | None) -> datetime | None:
    if not since:
        return None
    try:
        when = datetime.fromisoformat(since.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise HTTPException(422, f"since: {since!r} is not a date and time like 2026-11-23T09:00:00Z") from None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


# -- the directory ---------------------------------------------------------------------------------------
@router.get(
    "/api/services",
    response_model=list[ServiceOut],
    tags=["directory"],
    summary="The directory of services; with a postcode, those that serve its district",
)
def services(
    hub: Runtime,
    need: str | None = Query(None, description=", ".join(NEEDS)),
    postcode: str | None = Query(None, description="a full postcode or a district: AV1 2AB, AV1"),
    who: Caller = Depends(caller),
):
    if need is not None and need not in NEEDS:
        raise HTTPException(422, f"need: {need!r} is not a need category; use one of {', '.join(NEEDS)}")
    district = None
    if postcode is not None:
        pc = postcodes.parse(postcode)
        if pc is None:
            raise HTTPException(422, f"postcode: {postcode!r} is not a UK postcode or postcode district")
        district = pc.district
    with hub.sessions() as s:
        return [_service_out(svc) for svc in directory.all_services(s, need=need, district=district)]


# -- enquiries --------------------------------------------------------------------------------------------
@router.get(
    "/api/enquiries",
    response_model=list[EnquiryOut],
    tags=["helpline"],
    summary="One per conversation with the assistant, newest first",
)
def list_enquiries(
    hub: Runtime,
    since: str | None = Query(None, description="started at or after (ISO 8601)"),
    limit: int = Query(500, ge=1, le=5000),
    who: Caller = Depends(helpline_staff),
):
    when = _since(since)
    with hub.sessions() as s:
        return [
            EnquiryOut(
                id=e.id,
                channel=e.channel,
                started_at=e.started_at,
                updated_at=e.updated_at,
                needs=list(e.needs or []),
                services=list(e.services or []),
                outcome=e.outcome,
                consent=e.consent,
                on_behalf=e.on_behalf,
                turns=e.turns,
                district=e.district,
                age=e.age,
            )
            for e in enquiries.list_enquiries(s, since=when, limit=limit)
        ]


@router.get(
    "/api/enquiries/summary",
    tags=["helpline"],
    summary="Enquiries by channel, need and outcome, and the share resolved at first contact",
)
def enquiry_summary(
    hub: Runtime,
    since: str | None = Query(None, description="started at or after (ISO 8601)"),
    who: Caller = Depends(helpline_staff),
):
    when = _since(since)
    with hub.sessions() as s:
        return enquiries.summary(s, since=when)


@router.get(
    "/api/introductions",
    response_model=list[IntroductionOut],
    tags=["helpline"],
    summary="Introductions made with consent, and what their follow-ups heard, newest first",
)
def list_introductions(
    hub: Runtime,
    service: str | None = None,
    since: str | None = Query(None, description="made at or after (ISO 8601)"),
    limit: int = Query(500, ge=1, le=5000),
    who: Caller = Depends(helpline_staff),
):
    when = _since(since)
    with hub.sessions() as s:
        return [
            IntroductionOut(
                id=i.id,
                enquiry=i.enquiry_id,
                service=svc.ext_id,
                service_name=svc.name,
                name=i.name,
                phone=i.phone,
                consent_at=i.consent_at,
                follow_up_due_at=i.follow_up_due_at,
                follow_up_sent_at=i.follow_up_sent_at,
                follow_up_answer=i.follow_up_answer,
                answered_at=i.answered_at,
                follow_up_by="voice" if i.follow_up_by == "voice" or followup.is_landline(i.phone) else "sms",
            )
            for i, svc in queries.introductions(s, service=service, since=when, limit=limit)
        ]


# -- call-backs -------------------------------------------------------------------------------------------
def _callback_out(cb: CallbackRequest, residents: dict[int, str]) -> CallbackOut:
    return CallbackOut(
        id=cb.id,
        enquiry=cb.enquiry_id,
        resident=residents.get(cb.resident_id),
        name=cb.name,
        phone=cb.phone,
        reason=cb.reason,
        urgent=cb.urgent,
        detail=cb.detail,
        created_at=cb.created_at,
        status=cb.status,
        done_by=cb.done_by,
        done_at=cb.done_at,
        note=cb.note,
    )


@router.get(
    "/api/callbacks",
    response_model=list[CallbackOut],
    tags=["helpline"],
    summary="People to ring back: open ones urgent first, then oldest first",
)
def list_callbacks(
    hub: Runtime,
    status: Literal["open", "done", "all"] = "open",
    limit: int = Query(500, ge=1, le=5000),
    who: Caller = Depends(helpline_staff),
):
    with hub.sessions() as s:
        rows = queries.callbacks(s, status=status, limit=limit)
        residents = site_queries.resident_ext_ids(s, (cb.resident_id for cb in rows))
        return [_callback_out(cb, residents) for cb in rows]


def _records_error(exc: enquiries.EnquiryError) -> HTTPException:
    return HTTPException(404 if isinstance(exc, enquiries.NotFound) else 409, str(exc))


@router.post("/api/callbacks/{callback_id}/done", response_model=CallbackOut, tags=["helpline"])
def callback_done(
    callback_id: int, hub: Runtime, body: NoteIn | None = Body(None), who: Caller = Depends(helpline_staff)
):
    note = body.note.strip() if body else ""
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            cb = enquiries.close_callback(s, callback_id, who.name, now, note or None)
            audit.record(
                s,
                actor=who.name,
                role=who.role,
                via="api",
                action="callback.done",
                target=f"callback:{callback_id}",
                summary=f"rang back ({cb.reason})" + (f": {note}" if note else ""),
                now=now,
            )
            out = _callback_out(cb, site_queries.resident_ext_ids(s, [cb.resident_id]))
    except enquiries.EnquiryError as exc:
        raise _records_error(exc) from None
    return out


# -- check-in requests --------------------------------------------------------------------------------------
@router.get(
    "/api/checkin-requests",
    response_model=list[CheckinRequestOut],
    tags=["helpline"],
    summary="Requests for daily check-in calls, oldest first",
)
def list_checkin_requests(
    hub: Runtime,
    status: Literal["pending", "confirmed", "declined", "all"] = "pending",
    limit: int = Query(500, ge=1, le=5000),
    who: Caller = Depends(helpline_staff),
):
    with hub.sessions() as s:
        rows = queries.checkin_requests(s, status=status, limit=limit)
        residents = site_queries.resident_ext_ids(s, (r.resident_id for r in rows))
        return [_checkin_request_out(r, residents) for r in rows]


def _checkin_request_out(r: CheckinRequest, residents: dict[int, str]) -> CheckinRequestOut:
    return CheckinRequestOut(
        id=r.id,
        enquiry=r.enquiry_id,
        resident=residents.get(r.resident_id),
        name=r.name,
        phone=r.phone,
        preferred_time=r.preferred_time,
        created_at=r.created_at,
        status=r.status,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        note=r.note,
    )


@router.post(
    "/api/checkin-requests/{request_id}/{decision}",
    response_model=CheckinRequestOut,
    tags=["helpline"],
    summary="Confirm (the calls are set up) or decline a request for daily check-in calls",
)
def decide_checkin_request(
    request_id: int,
    decision: Literal["confirm", "decline"],
    hub: Runtime,
    body: NoteIn | None = Body(None),
    who: Caller = Depends(helpline_staff),
):
    note = body.note.strip() if body else ""
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            req = enquiries.decide_checkin_request(s, request_id, who.name, now, decision == "confirm", note or None)
            audit.record(
                s,
                actor=who.name,
                role=who.role,
                via="api",
                action=f"checkin_request.{decision}",
                target=f"checkin_request:{request_id}",
                summary=req.status + (f": {note}" if note else ""),
                now=now,
            )
            out = _checkin_request_out(req, site_queries.resident_ext_ids(s, [req.resident_id]))
    except enquiries.EnquiryError as exc:
        raise _records_error(exc) from None
    return out


__all__ = ["router"]

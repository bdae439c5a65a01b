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

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from telecare.audit import service as audit
from telecare.auth.tokens import CAN_CONFIGURE
from telecare.directory import postcode as postcodes
from telecare.directory import search as directory
from telecare.directory.categories import NEEDS
from telecare.directory.models import Service
from telecare.enquiry import followup
from telecare.enquiry import service as enquiries
from telecare.enquiry.models import OUTCOMES, CallbackRequest, CheckinRequest, Introduction
from telecare.site.models import Resident

from .auth import Caller, caller

router = APIRouter()


def helpline_staff(who: Caller = Depends(caller)) -> Caller:
    if who.role not in CAN_CONFIGURE:
        raise HTTPException(403, f"a {who.role} token cannot see or change the helpline's records; staff or admin can")
    return who


# -- bodies ---------------------------------------------------------------------------------------------
class Eligibility(BaseModel):
    min_age: int | None
    carers: bool = Field(description="only for unpaid carers")
    residents_only: bool = Field(description="only for people who live in the council's area")


class ServiceOut(BaseModel):
    id: str
    name: str
    description: str
    needs: list[str]
    areas: list[str] = Field(description="postcode districts, 'council' (the whole council area) or 'national'")
    phone: str | None
    web: str | None
    email: str | None
    hours: str | None
    eligibility: Eligibility
    introductions: bool = Field(description="the service accepts introductions (name and number, with consent)")
    intro_days: int | None


class EnquiryOut(BaseModel):
    id: int
    channel: str
    started_at: datetime
    updated_at: datetime
    needs: list[str]
    services: list[str] = Field(description="service ids offered")
    outcome: str = Field(description=", ".join(OUTCOMES))
    consent: bool | None
    on_behalf: bool
    turns: int
    district: str | None
    age: int | None = Field(default=None, description="the age the person gave, if they did")


class IntroductionOut(BaseModel):
    id: int
    enquiry: int | None
    service: str
    service_name: str
    name: str | None
    phone: str
    consent_at: datetime
    follow_up_due_at: datetime | None
    follow_up_sent_at: datetime | None
    follow_up_answer: str | None = Field(description="worked, not_contacted, or None (not asked or not answered)")
    answered_at: datetime | None
    follow_up_by: str = Field(default="sms", description="sms, or voice (a landline, or someone who rang us)")


class CallbackOut(BaseModel):
    id: int
    enquiry: int | None
    resident: str | None
    name: str | None
    phone: str | None
    reason: str
    urgent: bool
    detail: str | None
    created_at: datetime
    status: str
    done_by: str | None
    done_at: datetime | None
    note: str | None


class CheckinRequestOut(BaseModel):
    id: int
    enquiry: int | None
    resident: str | None
    name: str | None
    phone: str | None
    preferred_time: str | None
    created_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=1000)


def _service_out(svc: Service) -> ServiceOut:
    return ServiceOut(id=svc.ext_id, name=svc.name, description=svc.description, needs=list(svc.needs),
                      areas=list(svc.areas), phone=svc.phone, web=svc.web, email=svc.email, hours=svc.hours,
                      eligibility=Eligibility(**svc.eligibility), introductions=svc.introductions,
                      intro_days=svc.intro_days)


def _since(since: str | None) -> datetime | None:
    if not since:
        return None
    try:
        when = datetime.fromisoformat(since.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise HTTPException(422, f"since: {since!r} is not a date and time like 2026-11-23T09:00:00Z") from None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _resident_ids(s, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(s.execute(select(Resident.id, Resident.ext_id).where(Resident.id.in_(ids))).all())


# -- the directory ---------------------------------------------------------------------------------------
@router.get("/api/services", response_model=list[ServiceOut], tags=["directory"],
            summary="The directory of services; with a postcode, those that serve its district")
def services(request: Request, need: str | None = Query(None, description=", ".join(NEEDS)),
             postcode: str | None = Query(None, description="a full postcode or a district: AV1 2AB, AV1"),
             who: Caller = Depends(caller)):
    if need is not None and need not in NEEDS:
        raise HTTPException(422, f"need: {need!r} is not a need category; use one of {', '.join(NEEDS)}")
    district = None
    if postcode is not None:
        pc = postcodes.parse(postcode)
        if pc is None:
            raise HTTPException(422, f"postcode: {postcode!r} is not a UK postcode or postcode district")
        district = pc.district
    with request.app.state.hub.sessions() as s:
        return [_service_out(svc) for svc in directory.all_services(s, need=need, district=district)]


# -- enquiries --------------------------------------------------------------------------------------------
@router.get("/api/enquiries", response_model=list[EnquiryOut], tags=["helpline"],
            summary="One per conversation with the assistant, newest first")
def list_enquiries(request: Request, since: str | None = Query(None, description="started at or after (ISO 8601)"),
                   limit: int = Query(500, ge=1, le=5000), who: Caller = Depends(helpline_staff)):
    when = _since(since)
    with request.app.state.hub.sessions() as s:
        return [EnquiryOut(id=e.id, channel=e.channel, started_at=e.started_at, updated_at=e.updated_at,
                           needs=list(e.needs or []), services=list(e.services or []), outcome=e.outcome,
                           consent=e.consent, on_behalf=e.on_behalf, turns=e.turns, district=e.district, age=e.age)
                for e in enquiries.list_enquiries(s, since=when, limit=limit)]


@router.get("/api/enquiries/summary", tags=["helpline"],
            summary="Enquiries by channel, need and outcome, and the share resolved at first contact")
def enquiry_summary(request: Request, since: str | None = Query(None, description="started at or after (ISO 8601)"),
                    who: Caller = Depends(helpline_staff)):
    when = _since(since)
    with request.app.state.hub.sessions() as s:
        return enquiries.summary(s, since=when)


@router.get("/api/introductions", response_model=list[IntroductionOut], tags=["helpline"],
            summary="Introductions made with consent, and what their follow-ups heard, newest first")
def list_introductions(request: Request, service: str | None = None,
                       since: str | None = Query(None, description="made at or after (ISO 8601)"),
                       limit: int = Query(500, ge=1, le=5000), who: Caller = Depends(helpline_staff)):
    when = _since(since)
    q = (select(Introduction, Service).join(Service, Service.id == Introduction.service_id)
         .order_by(Introduction.created_at.desc(), Introduction.id.desc()).limit(limit))
    if service:
        q = q.where(Service.ext_id == service)
    if when is not None:
        q = q.where(Introduction.created_at >= when)
    with request.app.state.hub.sessions() as s:
        return [IntroductionOut(id=i.id, enquiry=i.enquiry_id, service=svc.ext_id, service_name=svc.name, name=i.name,
                                phone=i.phone, consent_at=i.consent_at, follow_up_due_at=i.follow_up_due_at,
                                follow_up_sent_at=i.follow_up_sent_at, follow_up_answer=i.follow_up_answer,
                                answered_at=i.answered_at,
                                follow_up_by="voice" if i.follow_up_by == "voice" or followup.is_landline(i.phone)
                                else "sms")
                for i, svc in s.execute(q).all()]


# -- call-backs -------------------------------------------------------------------------------------------
def _callback_out(cb: CallbackRequest, residents: dict[int, str]) -> CallbackOut:
    return CallbackOut(id=cb.id, enquiry=cb.enquiry_id, resident=residents.get(cb.resident_id), name=cb.name,
                       phone=cb.phone, reason=cb.reason, urgent=cb.urgent, detail=cb.detail, created_at=cb.created_at,
                       status=cb.status, done_by=cb.done_by, done_at=cb.done_at, note=cb.note)


@router.get("/api/callbacks", response_model=list[CallbackOut], tags=["helpline"],
            summary="People to ring back: open ones urgent first, then oldest first")
def list_callbacks(request: Request, status: Literal["open", "done", "all"] = "open",
                   limit: int = Query(500, ge=1, le=5000), who: Caller = Depends(helpline_staff)):
    q = select(CallbackRequest).limit(limit)
    if status == "open":
        q = q.where(CallbackRequest.status == "open").order_by(CallbackRequest.urgent.desc(),
                                                               CallbackRequest.created_at, CallbackRequest.id)
    else:
        if status == "done":
            q = q.where(CallbackRequest.status == "done")
        q = q.order_by(CallbackRequest.created_at.desc(), CallbackRequest.id.desc())
    with request.app.state.hub.sessions() as s:
        rows = list(s.scalars(q))
        residents = _resident_ids(s, (cb.resident_id for cb in rows))
        return [_callback_out(cb, residents) for cb in rows]


def _records_error(exc: enquiries.EnquiryError) -> HTTPException:
    return HTTPException(404 if isinstance(exc, enquiries.NotFound) else 409, str(exc))


@router.post("/api/callbacks/{callback_id}/done", response_model=CallbackOut, tags=["helpline"])
def callback_done(callback_id: int, request: Request, body: NoteIn | None = Body(None),
                  who: Caller = Depends(helpline_staff)):
    hub = request.app.state.hub
    note = body.note.strip() if body else ""
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            cb = enquiries.close_callback(s, callback_id, who.name, now, note or None)
            audit.record(s, actor=who.name, role=who.role, via="api", action="callback.done",
                         target=f"callback:{callback_id}", summary=f"rang back ({cb.reason})"
                         + (f": {note}" if note else ""), now=now)
            out = _callback_out(cb, _resident_ids(s, [cb.resident_id]))
    except enquiries.EnquiryError as exc:
        raise _records_error(exc) from None
    return out


# -- check-in requests --------------------------------------------------------------------------------------
@router.get("/api/checkin-requests", response_model=list[CheckinRequestOut], tags=["helpline"],
            summary="Requests for daily check-in calls, oldest first")
def list_checkin_requests(request: Request, status: Literal["pending", "confirmed", "declined", "all"] = "pending",
                          limit: int = Query(500, ge=1, le=5000), who: Caller = Depends(helpline_staff)):
    q = select(CheckinRequest).order_by(CheckinRequest.created_at, CheckinRequest.id).limit(limit)
    if status != "all":
        q = q.where(CheckinRequest.status == status)
    with request.app.state.hub.sessions() as s:
        rows = list(s.scalars(q))
        residents = _resident_ids(s, (r.resident_id for r in rows))
        return [_checkin_request_out(r, residents) for r in rows]


def _checkin_request_out(r: CheckinRequest, residents: dict[int, str]) -> CheckinRequestOut:
    return CheckinRequestOut(id=r.id, enquiry=r.enquiry_id, resident=residents.get(r.resident_id), name=r.name,
                             phone=r.phone, preferred_time=r.preferred_time, created_at=r.created_at,
                             status=r.status, decided_by=r.decided_by, decided_at=r.decided_at, note=r.note)


@router.post("/api/checkin-requests/{request_id}/{decision}", response_model=CheckinRequestOut, tags=["helpline"],
             summary="Confirm (the calls are set up) or decline a request for daily check-in calls")
def decide_checkin_request(request_id: int, decision: Literal["confirm", "decline"], request: Request,
                           body: NoteIn | None = Body(None), who: Caller = Depends(helpline_staff)):
    hub = request.app.state.hub
    note = body.note.strip() if body else ""
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            req = enquiries.decide_checkin_request(s, request_id, who.name, now, decision == "confirm", note or None)
            audit.record(s, actor=who.name, role=who.role, via="api", action=f"checkin_request.{decision}",
                         target=f"checkin_request:{request_id}", summary=req.status + (f": {note}" if note else ""),
                         now=now)
            out = _checkin_request_out(req, _resident_ids(s, [req.resident_id]))
    except enquiries.EnquiryError as exc:
        raise _records_error(exc) from None
    return out


__all__ = ["router"]

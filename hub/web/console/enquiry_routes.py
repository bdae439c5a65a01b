"""The helpline in the console (issue 6): enquiries from the assistant and what they led to,
call-backs waiting for a person, requests for daily check-in calls, and the follow-ups of
introductions. Staff and admin only (the records hold what residents told us).

The decisions are telecare.enquiry's (``close_callback``, ``decide_checkin_request``); these
routes read, render and audit, as the JSON API (hub/web/api/helpline.py) does."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import String, and_, case, cast, func, or_, select

from telecare.audit.service import record
from telecare.directory.categories import NEEDS
from telecare.directory.models import Service
from telecare.enquiry import service as enquiries
from telecare.enquiry.followup import ANSWER_WINDOW
from telecare.enquiry.models import CHANNELS, OUTCOMES, CallbackRequest, CheckinRequest, Enquiry, Introduction
from telecare.site.models import Resident

from .security import Forbidden, check_csrf, staff_required
from .templating import CONSOLE_TZ, render

router = APIRouter(include_in_schema=False)
PAGE = 50
NOTE_MAX = 1000
FOLLOWUP_STATES = ("not_contacted", "waiting", "due", "worked", "no_answer")


def _hub(request: Request):
    return request.app.state.hub


def _residents(s, ids) -> dict[int, Resident]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {r.id: r for r in s.scalars(select(Resident).where(Resident.id.in_(sorted(ids))))}


def _service_names(s) -> dict[str, str]:
    return dict(s.execute(select(Service.ext_id, Service.name)).all())


def _day(value: str, field: str, problems: dict) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems[field] = f"{value!r} is not a date like 2026-11-23"
        return None


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=CONSOLE_TZ).astimezone(timezone.utc)


def followup_state(intro: Introduction, now: datetime) -> str:
    """Where an introduction's follow-up is: due (not asked yet), waiting (asked, no answer
    yet), no_answer (asked, the answer window has passed), worked or not_contacted."""
    if intro.follow_up_answer in ("worked", "not_contacted"):
        return intro.follow_up_answer
    if intro.follow_up_sent_at is None:
        return "due"
    return "waiting" if now - intro.follow_up_sent_at <= ANSWER_WINDOW else "no_answer"


# -- enquiries ------------------------------------------------------------------------------------------------
@router.get("/console/enquiries")
def enquiries_page(request: Request, outcome: str = "", channel: str = "", need: str = "", date_from: str = "",
                   date_to: str = "", page: int = 0, user=Depends(staff_required)):
    problems: dict[str, str] = {}
    q = select(Enquiry)
    if outcome in OUTCOMES:
        q = q.where(Enquiry.outcome == outcome)
    if channel in CHANNELS:
        q = q.where(Enquiry.channel == channel)
    if need in NEEDS:  # the JSON list as text holds '"need"' (quotes included, so no other need matches)
        q = q.where(cast(Enquiry.needs, String).like(f'%"{need}"%'.replace("_", r"\_"), escape="\\"))
    start, end = _day(date_from, "date_from", problems), _day(date_to, "date_to", problems)
    if start:
        q = q.where(Enquiry.started_at >= _local_midnight(start))
    if end:
        q = q.where(Enquiry.started_at < _local_midnight(end + timedelta(days=1)))
    if start and end and end < start:
        problems["date_to"] = "the end of the range is before its start"
    page = max(page, 0)
    with _hub(request).sessions() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        rows = list(s.scalars(q.order_by(Enquiry.started_at.desc(), Enquiry.id.desc())
                              .offset(page * PAGE).limit(PAGE)))
        residents = _residents(s, (e.resident_id for e in rows))
        names = _service_names(s)
    filters = {"outcome": outcome, "channel": channel, "need": need, "date_from": date_from, "date_to": date_to}
    pager_query = urlencode({k: v for k, v in filters.items() if v}) + "&" if any(filters.values()) else ""
    return render(request, "console/enquiries.html", {
        "rows": rows, "residents": residents, "names": names, "total": total, "page": page,
        "pages": (total + PAGE - 1) // PAGE, "pager_query": pager_query, "problems": problems,
        "outcomes": OUTCOMES, "channels": CHANNELS, "needs": NEEDS, **filters},
        status=422 if problems else 200)


@router.get("/console/enquiries/{enquiry_id}")
def enquiry_page(request: Request, enquiry_id: int, user=Depends(staff_required)):
    hub = _hub(request)
    with hub.sessions() as s:
        e = s.get(Enquiry, enquiry_id)
        if e is None:
            raise Forbidden(f"There is no enquiry {enquiry_id}.", status=404)
        offered = {svc.ext_id: svc for svc in s.scalars(select(Service).where(Service.ext_id.in_(e.services or [])))}
        intros = s.execute(select(Introduction, Service).join(Service, Service.id == Introduction.service_id)
                           .where(Introduction.enquiry_id == e.id).order_by(Introduction.id)).all()
        callbacks = list(s.scalars(select(CallbackRequest).where(CallbackRequest.enquiry_id == e.id)
                                   .order_by(CallbackRequest.id)))
        requests = list(s.scalars(select(CheckinRequest).where(CheckinRequest.enquiry_id == e.id)
                                  .order_by(CheckinRequest.id)))
        residents = _residents(s, [e.resident_id] + [c.resident_id for c in callbacks]
                               + [r.resident_id for r in requests])
        now = hub.clock.now()
        return render(request, "console/enquiry.html", {
            "e": e, "resident": residents.get(e.resident_id),
            "offered": [offered.get(x) or x for x in e.services or []],
            "intros": [(i, svc, followup_state(i, now)) for i, svc in intros], "callbacks": callbacks,
            "requests": requests, "residents": residents})


# -- call-backs ---------------------------------------------------------------------------------------------------
def _callbacks_page(request: Request, *, ok: str = "", problems: dict | None = None, error: str | None = None,
                    status: int = 200):
    with _hub(request).sessions() as s:
        open_rows = list(s.scalars(select(CallbackRequest).where(CallbackRequest.status == "open")
                                   .order_by(CallbackRequest.urgent.desc(), CallbackRequest.created_at,
                                             CallbackRequest.id)))
        done = list(s.scalars(select(CallbackRequest).where(CallbackRequest.status == "done")
                              .order_by(CallbackRequest.done_at.desc(), CallbackRequest.id.desc()).limit(20)))
        residents = _residents(s, (c.resident_id for c in open_rows + done))
    urgent = sum(1 for c in open_rows if c.urgent)
    return render(request, "console/callbacks.html", {
        "rows": open_rows, "done": done, "residents": residents, "urgent": urgent, "ok": ok,
        "problems": problems or {}, "error": error}, status=status)


@router.get("/console/callbacks")
def callbacks_page(request: Request, ok: str = "", user=Depends(staff_required)):
    return _callbacks_page(request, ok=ok)


@router.post("/console/callbacks/{callback_id}/done")
async def callback_done(request: Request, callback_id: int, user=Depends(staff_required)):
    await check_csrf(request, user)
    form = await request.form()
    note = str(form.get("note") or "").strip()[:NOTE_MAX]
    if not note:
        return _callbacks_page(request, problems={callback_id: "Say what happened on the call (a short note)."},
                               status=422)
    hub = _hub(request)
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            cb = enquiries.close_callback(s, callback_id, user.name, now, note)
            record(s, actor=user.name, role=user.role, action="callback.done", target=f"callback:{callback_id}",
                   summary=f"rang back ({cb.reason}{', urgent' if cb.urgent else ''}): {note}", now=now)
    except enquiries.NotFound:
        raise Forbidden(f"There is no call-back request {callback_id}.", status=404) from None
    except enquiries.EnquiryError as exc:
        return _callbacks_page(request, error=f"{exc}.", status=409)
    hub.changed()  # the board shows the urgent ones waiting
    return RedirectResponse(f"/console/callbacks?ok=done-{callback_id}", status_code=303)


# -- check-in requests -------------------------------------------------------------------------------------------
def _checkin_requests_page(request: Request, *, ok: str = "", shown: int | None = None, problems: dict | None = None,
                           error: str | None = None, status: int = 200):
    with _hub(request).sessions() as s:
        pending = list(s.scalars(select(CheckinRequest).where(CheckinRequest.status == "pending")
                                 .order_by(CheckinRequest.created_at, CheckinRequest.id)))
        decided = list(s.scalars(select(CheckinRequest).where(CheckinRequest.status != "pending")
                                 .order_by(CheckinRequest.decided_at.desc(), CheckinRequest.id.desc()).limit(20)))
        just = s.get(CheckinRequest, shown) if shown else None
        residents = _residents(s, [r.resident_id for r in pending + decided] + [just.resident_id if just else None])
    return render(request, "console/checkin_requests.html", {
        "pending": pending, "decided": decided, "residents": residents, "ok": ok, "just": just,
        "problems": problems or {}, "error": error}, status=status)


@router.get("/console/checkin-requests")
def checkin_requests_page(request: Request, ok: str = "", id: int | None = None, user=Depends(staff_required)):
    return _checkin_requests_page(request, ok=ok, shown=id)


@router.post("/console/checkin-requests/{request_id}")
async def checkin_request_decide(request: Request, request_id: int, user=Depends(staff_required)):
    await check_csrf(request, user)
    form = await request.form()
    decision = str(form.get("decision") or "")
    note = str(form.get("note") or "").strip()[:NOTE_MAX]
    if decision not in ("confirm", "decline"):
        return _checkin_requests_page(request, problems={request_id: "Choose Confirm or Decline."}, status=422)
    if decision == "decline" and not note:
        return _checkin_requests_page(request, problems={request_id: "Say why it is declined (a short note)."},
                                      status=422)
    hub = _hub(request)
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            req = enquiries.decide_checkin_request(s, request_id, user.name, now, decision == "confirm", note or None)
            record(s, actor=user.name, role=user.role, action=f"checkin_request.{decision}",
                   target=f"checkin_request:{request_id}", summary=req.status + (f": {note}" if note else ""),
                   now=now)
    except enquiries.NotFound:
        raise Forbidden(f"There is no check-in request {request_id}.", status=404) from None
    except enquiries.EnquiryError as exc:
        return _checkin_requests_page(request, error=f"{exc}.", status=409)
    return RedirectResponse(f"/console/checkin-requests?ok={req.status}&id={request_id}", status_code=303)


# -- follow-ups of introductions ------------------------------------------------------------------------------------
@router.get("/console/followups")
def followups_page(request: Request, show: str = "", page: int = 0, user=Depends(staff_required)):
    hub = _hub(request)
    now = hub.clock.now()
    window = now - ANSWER_WINDOW
    sent, answer = Introduction.follow_up_sent_at, Introduction.follow_up_answer
    conditions = {
        "not_contacted": answer == "not_contacted",
        "worked": answer == "worked",
        "due": and_(answer.is_(None), sent.is_(None)),
        "waiting": and_(answer.is_(None), sent >= window),
        "no_answer": and_(answer.is_(None), sent < window),
    }
    q = select(Introduction, Service).join(Service, Service.id == Introduction.service_id)
    if show in conditions:
        q = q.where(conditions[show])
    page = max(page, 0)
    with hub.sessions() as s:
        counts = {k: s.scalar(select(func.count()).select_from(Introduction).where(c)) for k, c in conditions.items()}
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        first = case((answer == "not_contacted", 0), else_=1)  # the ones that need someone first
        rows = s.execute(q.order_by(first, Introduction.created_at.desc(), Introduction.id.desc())
                         .offset(page * PAGE).limit(PAGE)).all()
        # the call-back a "no" opened: same enquiry (or, without one, same phone), reason followup
        wanted = [i for i, _ in rows if i.follow_up_answer == "not_contacted"]
        callbacks: dict = {}
        if wanted:
            cond = or_(CallbackRequest.enquiry_id.in_([i.enquiry_id for i in wanted if i.enquiry_id]),
                       CallbackRequest.phone.in_([i.phone for i in wanted]))
            for cb in s.scalars(select(CallbackRequest).where(CallbackRequest.reason == "followup", cond)
                                .order_by(CallbackRequest.id)):
                callbacks[("enquiry", cb.enquiry_id) if cb.enquiry_id else ("phone", cb.phone)] = cb
        out = []
        for i, svc in rows:
            state = followup_state(i, now)
            cb = None
            if state == "not_contacted":
                cb = callbacks.get(("enquiry", i.enquiry_id) if i.enquiry_id else ("phone", i.phone))
            out.append((i, svc, state, cb))
    return render(request, "console/followups.html", {
        "rows": out, "counts": counts, "show": show, "states": FOLLOWUP_STATES, "total": total, "page": page,
        "pages": (total + PAGE - 1) // PAGE, "pager_query": f"show={show}&" if show else ""})


__all__ = ["router", "followup_state"]

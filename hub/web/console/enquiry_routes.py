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

from telecare.audit.service import record
from telecare.consent import service as consent
from telecare.directory import queries as directory_queries
from telecare.directory.categories import NEEDS
from telecare.enquiry import queries
from telecare.enquiry import service as enquiries
from telecare.enquiry.followup import ANSWER_WINDOW
from telecare.enquiry.models import CHANNELS, OUTCOMES, CheckinRequest, Enquiry, Introduction
from telecare.site import queries as site_queries

from ..deps import Runtime, runtime
from .security import Forbidden, check_csrf, staff_required
from .templating import CONSOLE_TZ, render

router = APIRouter(include_in_schema=False)
PAGE = 50
NOTE_MAX = 1000
FOLLOWUP_STATES = ("not_contacted", "waiting", "due", "worked", "no_answer")


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
def enquiries_page(
    request: Request,
    hub: Runtime,
    outcome: str = "",
    channel: str = "",
    need: str = "",
    date_from: str = "",
    date_to: str = "",
    page: int = 0,
    user=Depends(staff_required),
):
    problems: dict[str, str] = {}
    start, end = _day(date_from, "date_from", problems), _day(date_to, "date_to", problems)
    if start and end and end < start:
        problems["date_to"] = "the end of the range is before its start"
    page = max(page, 0)
    with hub.sessions() as s:
        total, rows = queries.enquiries_page(
            s,
            outcome=outcome if outcome in OUTCOMES else None,
            channel=channel if channel in CHANNELS else None,
            need=need if need in NEEDS else None,
            start=_local_midnight(start) if start else None,
            end=_local_midnight(end + timedelta(days=1)) if end else None,
            offset=page * PAGE,
            limit=PAGE,
        )
        residents = site_queries.residents_by_id(s, (e.resident_id for e in rows))
        names = directory_queries.service_names(s)
    filters = {"outcome": outcome, "channel": channel, "need": need, "date_from": date_from, "date_to": date_to}
    pager_query = urlencode({k: v for k, v in filters.items() if v}) + "&" if any(filters.values()) else ""
    return render(
        request,
        "console/enquiries.html",
        {
            "rows": rows,
            "residents": residents,
            "names": names,
            "total": total,
            "page": page,
            "pages": (total + PAGE - 1) // PAGE,
            "pager_query": pager_query,
            "problems": problems,
            "outcomes": OUTCOMES,
            "channels": CHANNELS,
            "needs": NEEDS,
            **filters,
        },
        status=422 if problems else 200,
    )


@router.get("/console/enquiries/{enquiry_id}")
def enquiry_page(request: Request, hub: Runtime, enquiry_id: int, user=Depends(staff_required)):
    with hub.sessions() as s:
        e = s.get(Enquiry, enquiry_id)
        if e is None:
            raise Forbidden(f"There is no enquiry {enquiry_id}.", status=404)
        records = queries.records_of(s, e)
        offered, intros = records.offered, records.introductions
        callbacks, requests = records.callbacks, records.checkin_requests
        residents = site_queries.residents_by_id(
            s, [e.resident_id] + [c.resident_id for c in callbacks] + [r.resident_id for r in requests]
        )
        now = hub.clock.now()
        return render(
            request,
            "console/enquiry.html",
            {
                "e": e,
                "resident": residents.get(e.resident_id),
                "offered": [offered.get(x) or x for x in e.services or []],
                "intros": [(i, svc, followup_state(i, now)) for i, svc in intros],
                "callbacks": callbacks,
                "requests": requests,
                "residents": residents,
                "consents": consent.history(s, enquiry_id=e.id, phone=e.phone),
            },
        )


# -- call-backs ---------------------------------------------------------------------------------------------------
def _callbacks_page(
    request: Request, *, ok: str = "", problems: dict | None = None, error: str | None = None, status: int = 200
):
    with runtime(request).sessions() as s:
        open_rows = queries.callbacks(s, status="open", limit=None)
        done = queries.callbacks_done_recently(s, limit=20)
        residents = site_queries.residents_by_id(s, (c.resident_id for c in open_rows + done))
    urgent = sum(1 for c in open_rows if c.urgent)
    return render(
        request,
        "console/callbacks.html",
        {
            "rows": open_rows,
            "done": done,
            "residents": residents,
            "urgent": urgent,
            "ok": ok,
            "problems": problems or {},
            "error": error,
        },
        status=status,
    )


@router.get("/console/callbacks")
def callbacks_page(request: Request, ok: str = "", user=Depends(staff_required)):
    return _callbacks_page(request, ok=ok)


@router.post("/console/callbacks/{callback_id}/done")
async def callback_done(request: Request, hub: Runtime, callback_id: int, user=Depends(staff_required)):
    await check_csrf(request, user)
    form = await request.form()
    note = str(form.get("note") or "").strip()[:NOTE_MAX]
    if not note:
        return _callbacks_page(
            request, problems={callback_id: "Say what happened on the call (a short note)."}, status=422
        )
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            cb = enquiries.close_callback(s, callback_id, user.name, now, note)
            record(
                s,
                actor=user.name,
                role=user.role,
                action="callback.done",
                target=f"callback:{callback_id}",
                summary=f"rang back ({cb.reason}{', urgent' if cb.urgent else ''}): {note}",
                now=now,
            )
    except enquiries.NotFound:
        raise Forbidden(f"There is no call-back request {callback_id}.", status=404) from None
    except enquiries.EnquiryError as exc:
        return _callbacks_page(request, error=f"{exc}.", status=409)
    return RedirectResponse(f"/console/callbacks?ok=done-{callback_id}", status_code=303)


# -- check-in requests -------------------------------------------------------------------------------------------
def _checkin_requests_page(
    request: Request,
    *,
    ok: str = "",
    shown: int | None = None,
    problems: dict | None = None,
    error: str | None = None,
    status: int = 200,
):
    with runtime(request).sessions() as s:
        pending = queries.checkin_requests(s, status="pending", limit=None)
        decided = queries.checkin_requests_decided_recently(s, limit=20)
        just = s.get(CheckinRequest, shown) if shown else None
        residents = site_queries.residents_by_id(
            s, [r.resident_id for r in pending + decided] + [just.resident_id if just else None]
        )
    return render(
        request,
        "console/checkin_requests.html",
        {
            "pending": pending,
            "decided": decided,
            "residents": residents,
            "ok": ok,
            "just": just,
            "problems": problems or {},
            "error": error,
        },
        status=status,
    )


@router.get("/console/checkin-requests")
def checkin_requests_page(request: Request, ok: str = "", id: int | None = None, user=Depends(staff_required)):
    return _checkin_requests_page(request, ok=ok, shown=id)


@router.post("/console/checkin-requests/{request_id}")
async def checkin_request_decide(request: Request, hub: Runtime, request_id: int, user=Depends(staff_required)):
    await check_csrf(request, user)
    form = await request.form()
    decision = str(form.get("decision") or "")
    note = str(form.get("note") or "").strip()[:NOTE_MAX]
    if decision not in ("confirm", "decline"):
        return _checkin_requests_page(request, problems={request_id: "Choose Confirm or Decline."}, status=422)
    if decision == "decline" and not note:
        return _checkin_requests_page(
            request, problems={request_id: "Say why it is declined (a short note)."}, status=422
        )
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            req = enquiries.decide_checkin_request(s, request_id, user.name, now, decision == "confirm", note or None)
            record(
                s,
                actor=user.name,
                role=user.role,
                action=f"checkin_request.{decision}",
                target=f"checkin_request:{request_id}",
                summary=req.status + (f": {note}" if note else ""),
                now=now,
            )
    except enquiries.NotFound:
        raise Forbidden(f"There is no check-in request {request_id}.", status=404) from None
    except enquiries.EnquiryError as exc:
        return _checkin_requests_page(request, error=f"{exc}.", status=409)
    return RedirectResponse(f"/console/checkin-requests?ok={req.status}&id={request_id}", status_code=303)


# -- follow-ups of introductions ------------------------------------------------------------------------------------
@router.get("/console/followups")
def followups_page(request: Request, hub: Runtime, show: str = "", page: int = 0, user=Depends(staff_required)):
    now = hub.clock.now()
    page = max(page, 0)
    with hub.sessions() as s:
        counts, total, rows = queries.followups_page(s, now, show=show, offset=page * PAGE, limit=PAGE)
        # the call-back a "no" opened: same enquiry (or, without one, same phone), reason followup
        callbacks = queries.followup_callbacks(s, [i for i, _ in rows if i.follow_up_answer == "not_contacted"])
        out = []
        for i, svc in rows:
            state = followup_state(i, now)
            cb = None
            if state == "not_contacted":
                cb = callbacks.get(("enquiry", i.enquiry_id) if i.enquiry_id else ("phone", i.phone))
            out.append((i, svc, state, cb))
    return render(
        request,
        "console/followups.html",
        {
            "rows": out,
            "counts": counts,
            "show": show,
            "states": FOLLOWUP_STATES,
            "total": total,
            "page": page,
            "pages": (total + PAGE - 1) // PAGE,
            "pager_query": f"show={show}&" if show else "",
        },
    )


__all__ = ["router", "followup_state"]

"""Check-ins (issue 4) in the console: recent check-ins and their outcomes, drift flags to
look into and clear, residents who often press the pendant without an emergency (the Betty
pattern), and "call now"."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from telecare.audit.service import record
from telecare.checkin import drift, frequent_false_alarms, queries
from telecare.checkin import service as checkins
from telecare.checkin.models import STATES
from telecare.checkin.schedule import CheckinError
from telecare.site import queries as site_queries

from ..deps import Runtime, runtime
from .security import Forbidden, check_csrf, staff_required
from .templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, *, state: str = "", resident: str = "", ok: str = "", error: str | None = None, status: int = 200
):
    hub = runtime(request)
    with hub.sessions() as s:
        rows = queries.checkins(s, state=state if state in STATES else None, resident=resident or None, limit=200)
        flags = queries.drift_flags(s, open_only=True)
        frequent = frequent_false_alarms.frequent_callers(s, hub.clock.now())
        counts = queries.outcome_counts(s, hub.clock.now() - timedelta(days=7))
        return render(
            request,
            "console/checkins.html",
            {
                "rows": rows,
                "flags": flags,
                "frequent": frequent,
                "states": STATES,
                "state": state,
                "resident": resident,
                "counts": counts,
                "ok": ok,
                "error": error,
            },
            status=status,
        )


@router.get("/console/checkins")
def checkins_page(request: Request, state: str = "", resident: str = "", ok: str = "", user=Depends(staff_required)):
    return _page(request, state=state, resident=resident, ok=ok)


@router.post("/console/checkins/{resident}/start")
async def start(request: Request, hub: Runtime, resident: str, user=Depends(staff_required)):
    await check_csrf(request, user)
    try:
        with hub.sessions() as s, s.begin():
            if site_queries.resident(s, resident) is None:
                raise Forbidden(f"There is no resident {resident!r}.", status=404)
            now = hub.clock.now()
            c = checkins.start_now(s, resident, now, actor=user.name)
            record(
                s,
                actor=user.name,
                role=user.role,
                action="checkin.start",
                target=f"resident:{resident}",
                summary=f"check-in {c.id} started",
                now=now,
            )
    except CheckinError as exc:
        return _page(request, resident=resident, error=str(exc), status=409)
    return RedirectResponse(f"/console/checkins?resident={resident}&ok=started", status_code=303)


@router.post("/console/drift/{flag_id}/clear")
async def clear(request: Request, hub: Runtime, flag_id: int, user=Depends(staff_required)):
    await check_csrf(request, user)
    form = await request.form()
    note = str(form.get("note") or "").strip()[:500]
    with hub.sessions() as s, s.begin():
        now = hub.clock.now()
        flag = drift.clear(s, flag_id, user.name, now, note)
        if flag is None:
            raise Forbidden(f"There is no drift flag {flag_id}.", status=404)
        record(
            s, actor=user.name, role=user.role, action="drift.clear", target=f"drift:{flag_id}", summary=note, now=now
        )
    return RedirectResponse("/console/checkins?ok=cleared", status_code=303)

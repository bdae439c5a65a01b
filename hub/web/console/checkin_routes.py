"""Check-ins (issue 4) in the console: recent check-ins and their outcomes, drift flags to
look into and clear, residents who often press the pendant without an emergency (the Betty
pattern), and "call now"."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from telecare.audit.service import record
from telecare.checkin import drift, frequent_false_alarms
from telecare.checkin import service as checkins
from telecare.checkin.models import STATES, Checkin, DriftFlag
from telecare.checkin.schedule import CheckinError
from telecare.site.models import Resident

from .security import Forbidden, check_csrf, staff_required
from .templating import render

router = APIRouter(include_in_schema=False)


def _page(request: Request, *, state: str = "", resident: str = "", ok: str = "", error: str | None = None,
          status: int = 200):
    hub = request.app.state.hub
    q = (select(Checkin, Resident).join(Resident, Resident.id == Checkin.resident_id)
         .order_by(Checkin.due_at.desc(), Checkin.id.desc()).limit(200))
    if state in STATES:
        q = q.where(Checkin.state == state)
    if resident:
        q = q.where(Resident.ext_id == resident)
    with hub.sessions() as s:
        rows = list(s.execute(q).all())
        flags = list(s.execute(select(DriftFlag, Resident).join(Resident, Resident.id == DriftFlag.resident_id)
                               .where(DriftFlag.cleared_at.is_(None))
                               .order_by(DriftFlag.raised_at.desc())).all())
        frequent = frequent_false_alarms.frequent_callers(s, hub.clock.now())
        week = hub.clock.now() - timedelta(days=7)
        counts: dict[str, int] = {}
        for c in s.scalars(select(Checkin).where(Checkin.due_at >= week)):
            key = c.outcome or c.state
            counts[key] = counts.get(key, 0) + 1
        return render(request, "console/checkins.html", {
            "rows": rows, "flags": flags, "frequent": frequent, "states": STATES, "state": state,
            "resident": resident, "counts": counts, "ok": ok, "error": error}, status=status)


@router.get("/console/checkins")
def checkins_page(request: Request, state: str = "", resident: str = "", ok: str = "",
                  user=Depends(staff_required)):
    return _page(request, state=state, resident=resident, ok=ok)


@router.post("/console/checkins/{resident}/start")
async def start(request: Request, resident: str, user=Depends(staff_required)):
    await check_csrf(request, user)
    hub = request.app.state.hub
    try:
        with hub.sessions() as s, s.begin():
            if s.scalar(select(Resident.id).where(Resident.ext_id == resident)) is None:
                raise Forbidden(f"There is no resident {resident!r}.", status=404)
            now = hub.clock.now()
            c = checkins.start_now(s, resident, now, actor=user.name)
            record(s, actor=user.name, role=user.role, action="checkin.start", target=f"resident:{resident}",
                   summary=f"check-in {c.id} started", now=now)
    except CheckinError as exc:
        return _page(request, resident=resident, error=str(exc), status=409)
    return RedirectResponse(f"/console/checkins?resident={resident}&ok=started", status_code=303)


@router.post("/console/drift/{flag_id}/clear")
async def clear(request: Request, flag_id: int, user=Depends(staff_required)):
    await check_csrf(request, user)
    form = await request.form()
    note = str(form.get("note") or "").strip()[:500]
    hub = request.app.state.hub
    with hub.sessions() as s, s.begin():
        now = hub.clock.now()
        flag = drift.clear(s, flag_id, user.name, now, note)
        if flag is None:
            raise Forbidden(f"There is no drift flag {flag_id}.", status=404)
        record(s, actor=user.name, role=user.role, action="drift.clear", target=f"drift:{flag_id}", summary=note,
               now=now)
    return RedirectResponse("/console/checkins?ok=cleared", status_code=303)

"""The live alert board, an alert's page and its actions, and the notifications list."""
from __future__ import annotations

import weakref

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sse_starlette.sse import EventSourceResponse

from telecare.alert.models import Alert
from telecare.alert.states import ACTIVE_STATES, ALLOWED_FROM, OUTCOMES, AlertNotFound, InvalidTransition
from telecare.notification.models import Notification
from telecare.site.models import Contact, Device, Home, Resident

from .actions import alert_action
from .redaction import shown_rows
from .security import Forbidden, check_csrf, login_required, staff_required
from .templating import render

router = APIRouter(include_in_schema=False)


def board_rows(s, limit: int = 500) -> list[dict]:
    d = aliased(Device)
    q = (select(Alert, Home.ext_id, Resident, d.ext_id, d.kind).join(Home, Home.id == Alert.home_id)
         .outerjoin(Resident, Resident.id == Alert.resident_id).outerjoin(d, d.id == Alert.device_id)
         .where(Alert.state.in_(ACTIVE_STATES))
         .order_by(Alert.no_response.desc(), Alert.priority, Alert.opened_at).limit(limit))
    return [dict(alert=a, home=h, resident=r, device=dev, device_kind=kind) for a, h, r, dev, kind in s.execute(q)]


@router.get("/console")
def board(request: Request, user=Depends(staff_required)):
    hub = request.app.state.hub
    with hub.sessions() as s:
        rows = board_rows(s)
    return render(request, "console/board.html", {"rows": rows})


@router.get("/console/board/fragment")
def board_fragment(request: Request, user=Depends(staff_required)):
    hub = request.app.state.hub
    with hub.sessions() as s:
        rows = board_rows(s)
    return render(request, "console/_board_rows.html", {"rows": rows})


@router.get("/console/events")
async def events(request: Request, user=Depends(login_required)):
    feed = request.app.state.live
    slot = feed.open_slot(user.id)
    if slot is None:
        return JSONResponse({"detail": f"at most {feed.max_per_user} live streams per user; close another tab"},
                            status_code=429, headers={"Retry-After": "30"})
    stream = feed.events(request, slot=slot)
    weakref.finalize(stream, slot.release)  # given back even if the stream never starts
    return EventSourceResponse(stream, headers={"Cache-Control": "no-store"})


def alert_context(s, alert_id: int, viewer_contact_id: int | None = None) -> dict:
    a = s.get(Alert, alert_id)
    if a is None:
        raise AlertNotFound(f"alert {alert_id} does not exist")
    home = s.get(Home, a.home_id)
    resident = s.get(Resident, a.resident_id) if a.resident_id else None
    device = s.get(Device, a.device_id) if a.device_id else None
    notes = list(s.execute(select(Notification, Contact.name).outerjoin(Contact, Contact.id == Notification.contact_id)
                           .where(Notification.alert_id == alert_id).order_by(Notification.id)).all())
    notes = shown_rows(s, notes, viewer_contact_id)  # access notes: "[access note]" but for their recipient
    devices = list(home.devices) if home else []
    return dict(alert=a, home=home, resident=resident, device=device, timeline=list(a.timeline),
                notifications=notes, devices=devices, outcomes=OUTCOMES,
                can={k: a.state in v for k, v in ALLOWED_FROM.items()})


@router.get("/console/alerts/{alert_id}")
def alert_page(request: Request, alert_id: int, ok: str = "", user=Depends(staff_required)):
    hub = request.app.state.hub
    with hub.sessions() as s:
        try:
            ctx = alert_context(s, alert_id, user.contact_id)
        except AlertNotFound as exc:
            raise Forbidden(str(exc), status=404) from None
        return render(request, "console/alert.html", dict(ctx, ok=ok))


@router.post("/console/alerts/{alert_id}/{action}")
async def alert_post(request: Request, alert_id: int, action: str, user=Depends(staff_required)):
    await check_csrf(request, user)
    form = await request.form()
    hub = request.app.state.hub
    try:
        alert_action(hub, user, alert_id, action, outcome=form.get("outcome") or None, note=form.get("note") or "")
    except (InvalidTransition, ValueError) as exc:
        with hub.sessions() as s:
            ctx = alert_context(s, alert_id, user.contact_id)
            return render(request, "console/alert.html", dict(ctx, error=str(exc)),
                          status=409 if isinstance(exc, InvalidTransition) else 422)
    except AlertNotFound as exc:
        raise Forbidden(str(exc), status=404) from None
    return RedirectResponse(f"/console/alerts/{alert_id}?ok={action}", status_code=303)


@router.get("/console/notifications")
def notifications(request: Request, alert: int | None = None, to: str | None = None, user=Depends(staff_required)):
    hub = request.app.state.hub
    q = (select(Notification, Contact.name).outerjoin(Contact, Contact.id == Notification.contact_id)
         .order_by(Notification.id.desc()).limit(300))
    if alert is not None:
        q = q.where(Notification.alert_id == alert)
    if to:
        q = q.where(Notification.to == to.replace(" ", ""))
    with hub.sessions() as s:
        rows = shown_rows(s, s.execute(q).all(), user.contact_id)
    return render(request, "console/notifications.html", {"rows": rows, "alert_filter": alert, "to_filter": to or ""})

"""The live alert board, an alert's page and its actions, and the notifications list."""

from __future__ import annotations

import weakref

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sse_starlette.sse import EventSourceResponse

from telecare.alert import queries as alert_queries
from telecare.alert.models import Alert
from telecare.alert.states import ALLOWED_FROM, OUTCOMES, AlertNotFound, InvalidTransition
from telecare.notification import queries as notification_queries
from telecare.site.models import Device, Home, Resident

from ..deps import Runtime
from .actions import alert_action
from .redaction import shown_rows
from .security import Forbidden, check_csrf, login_required, staff_required
from .templating import render

router = APIRouter(include_in_schema=False)


def board_rows(s, limit: int = 500) -> list[dict]:
    return alert_queries.board(s, limit)


@router.get("/console")
def board(request: Request, hub: Runtime, user=Depends(staff_required)):
    with hub.sessions() as s:
        rows = board_rows(s)
    return render(request, "console/board.html", {"rows": rows})


@router.get("/console/board/fragment")
def board_fragment(request: Request, hub: Runtime, user=Depends(staff_required)):
    with hub.sessions() as s:
        rows = board_rows(s)
    return render(request, "console/_board_rows.html", {"rows": rows})


@router.get("/console/events")
async def events(request: Request, user=Depends(login_required)):
    feed = request.app.state.live
    slot = feed.open_slot(user.id)
    if slot is None:
        return JSONResponse(
            {"detail": f"at most {feed.max_per_user} live streams per user; close another tab"},
            status_code=429,
            headers={"Retry-After": "30"},
        )
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
    notes = notification_queries.with_contact_names(s, alert=alert_id)
    notes = shown_rows(s, notes, viewer_contact_id)  # access notes: "[access note]" but for their recipient
    devices = list(home.devices) if home else []
    return dict(
        alert=a,
        home=home,
        resident=resident,
        device=device,
        timeline=list(a.timeline),
        notifications=notes,
        devices=devices,
        outcomes=OUTCOMES,
        can={k: a.state in v for k, v in ALLOWED_FROM.items()},
    )


@router.get("/console/alerts/{alert_id}")
def alert_page(request: Request, hub: Runtime, alert_id: int, ok: str = "", user=Depends(staff_required)):
    with hub.sessions() as s:
        try:
            ctx = alert_context(s, alert_id, user.contact_id)
        except AlertNotFound as exc:
            raise Forbidden(str(exc), status=404) from None
        return render(request, "console/alert.html", dict(ctx, ok=ok))


@router.post("/console/alerts/{alert_id}/{action}")
async def alert_post(request: Request, hub: Runtime, alert_id: int, action: str, user=Depends(staff_required)):
    await check_csrf(request, user)
    form = await request.form()
    try:
        alert_action(hub, user, alert_id, action, outcome=form.get("outcome") or None, note=form.get("note") or "")
    except (InvalidTransition, ValueError) as exc:
        with hub.sessions() as s:
            ctx = alert_context(s, alert_id, user.contact_id)
            return render(
                request,
                "console/alert.html",
                dict(ctx, error=str(exc)),
                status=409 if isinstance(exc, InvalidTransition) else 422,
            )
    except AlertNotFound as exc:
        raise Forbidden(str(exc), status=404) from None
    return RedirectResponse(f"/console/alerts/{alert_id}?ok={action}", status_code=303)


@router.get("/console/notifications")
def notifications(
    request: Request, hub: Runtime, alert: int | None = None, to: str | None = None, user=Depends(staff_required)
):
    with hub.sessions() as s:
        rows = shown_rows(
            s,
            notification_queries.with_contact_names(
                s, alert=alert, to=to.replace(" ", "") if to else None, newest_first=True, limit=300
            ),
            user.contact_id,
        )
    return render(request, "console/notifications.html", {"rows": rows, "alert_filter": alert, "to_filter": to or ""})

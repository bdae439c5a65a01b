"""The responder's view, for a phone in a car: my open alerts, accept, arrived, resolve; the
address with a map link; the access notes only once I have accepted.

"Mine" is decided by the login's contact id (telecare.auth.scope): the alerts my contact record
was notified about (team steps notify every on-call member), or that my contact accepted; never
by display names or phone numbers."""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from telecare.alert import queries as alert_queries
from telecare.alert import service as alerts
from telecare.alert.models import Alert
from telecare.alert.states import ALLOWED_FROM, OUTCOMES, AlertNotFound, InvalidTransition
from telecare.auth import scope
from telecare.site.models import Device, Home, Resident

from ..deps import Runtime
from .actions import alert_action
from .security import Forbidden, check_csrf, login_required
from .templating import render

router = APIRouter(include_in_schema=False)


def _taken_by_other(alert: Alert, user) -> bool:
    return bool(alert.acknowledged_by) and alert.acknowledged_contact_id != user.contact_id


def map_link(resident: Resident | None) -> str | None:
    if not resident or not (resident.address or resident.postcode):
        return None
    where = ", ".join(p for p in (resident.address, resident.postcode) if p)
    return "https://www.google.com/maps/search/?api=1&query=" + quote_plus(where)


@router.get("/m")
def my_alerts(request: Request, hub: Runtime, user=Depends(login_required)):
    with hub.sessions() as s:
        rows = alert_queries.active_with_residents(s, scope.in_scope(user.contact_id))
    return render(
        request, "console/m_list.html", {"rows": rows, "linked": bool(user.contact_id), "my_contact": user.contact_id}
    )


def _alert_or_404(s, alert_id: int, user) -> Alert:
    alert = s.get(Alert, alert_id)
    if alert is None or (not user.is_staff and not scope.may_see(s, user.contact_id, alert_id)):
        raise Forbidden("This alert is not one of yours.", status=404)
    return alert


@router.get("/m/alerts/{alert_id}")
def my_alert(request: Request, hub: Runtime, alert_id: int, ok: str = "", user=Depends(login_required)):
    with hub.sessions() as s:
        alert = _alert_or_404(s, alert_id, user)
        resident = s.get(Resident, alert.resident_id) if alert.resident_id else None
        device = s.get(Device, alert.device_id) if alert.device_id else None
        home = s.get(Home, alert.home_id)
        mine = scope.accepted_by(alert, user.contact_id)  # the access notes: only the contact who accepted
        return render(
            request,
            "console/m_alert.html",
            {
                "alert": alert,
                "resident": resident,
                "device": device,
                "home": home,
                "mine": mine,
                "ok": ok,
                "map": map_link(resident),
                "outcomes": OUTCOMES,
                "can": {k: alert.state in v for k, v in ALLOWED_FROM.items()},
                "taken_by_other": _taken_by_other(alert, user),
            },
        )


@router.post("/m/alerts/{alert_id}/{action}")
async def act(request: Request, hub: Runtime, alert_id: int, action: str, user=Depends(login_required)):
    await check_csrf(request, user)
    form = await request.form()
    action = {"accept": "acknowledge"}.get(action, action)
    if action not in ("acknowledge", "arrived", "resolve"):
        raise Forbidden("Unknown action.", status=404)
    with hub.sessions() as s:
        alert = _alert_or_404(s, alert_id, user)
        if action != "acknowledge" and _taken_by_other(alert, user) and not user.is_staff:
            raise Forbidden(f"{alert.acknowledged_by} has this alert.", status=409)
    try:
        alert_action(
            hub,
            user,
            alert_id,
            action,
            outcome=form.get("outcome") or None,
            note=form.get("note") or "",
            via="phone view",
        )
        if action == "acknowledge":
            with hub.sessions() as s, s.begin():
                a = s.get(Alert, alert_id)
                alerts.note(
                    s, a, "access", f"access notes shown to {user.name} only (phone view)", hub.clock.now(), user.name
                )
    except (InvalidTransition, ValueError) as exc:
        return RedirectResponse(f"/m/alerts/{alert_id}?ok=" + quote_plus("error: " + str(exc)), status_code=303)
    except AlertNotFound:
        raise Forbidden("This alert does not exist.", status=404) from None
    return RedirectResponse(f"/m/alerts/{alert_id}?ok={action}", status_code=303)

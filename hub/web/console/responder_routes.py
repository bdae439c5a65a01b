"""The responder's view, for a phone in a car: my open alerts, accept, arrived, resolve; the
address with a map link; the access notes only once I have accepted."""
from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import or_, select

from telecare.alert import service as alerts
from telecare.alert.models import Alert
from telecare.alert.states import ACTIVE_STATES, ALLOWED_FROM, OUTCOMES, AlertNotFound, InvalidTransition
from telecare.notification.models import Notification
from telecare.site.models import Contact, Device, Home, Resident

from .actions import alert_action
from .security import Forbidden, check_csrf, login_required
from .templating import render

router = APIRouter(include_in_schema=False)


def _offered_ids(s, user) -> set[int]:
    """Alerts this person was asked to go to (by SMS or call to their contact record)."""
    if not user.contact_id:
        return set()
    phone = s.scalar(select(Contact.phone).where(Contact.id == user.contact_id))
    cond = Notification.contact_id == user.contact_id
    if phone:
        cond = or_(cond, Notification.to == phone)
    return set(s.scalars(select(Notification.alert_id).where(cond, Notification.purpose == "escalation",
                                                             Notification.alert_id.is_not(None)).distinct()))


def _mine(s, user, alert: Alert, offered: set[int]) -> bool:
    return alert.acknowledged_by == user.name or alert.id in offered


def map_link(resident: Resident | None) -> str | None:
    if not resident or not (resident.address or resident.postcode):
        return None
    where = ", ".join(p for p in (resident.address, resident.postcode) if p)
    return "https://www.google.com/maps/search/?api=1&query=" + quote_plus(where)


@router.get("/m")
def my_alerts(request: Request, user=Depends(login_required)):
    hub = request.app.state.hub
    with hub.sessions() as s:
        offered = _offered_ids(s, user)
        q = (select(Alert, Resident).outerjoin(Resident, Resident.id == Alert.resident_id)
             .where(Alert.state.in_(ACTIVE_STATES))
             .where(or_(Alert.acknowledged_by == user.name, Alert.id.in_(offered or {-1})))
             .order_by(Alert.priority, Alert.opened_at))
        rows = list(s.execute(q).all())
    return render(request, "console/m_list.html", {"rows": rows, "linked": bool(user.contact_id)})


def _alert_or_404(s, alert_id: int, user) -> tuple[Alert, set[int]]:
    alert = s.get(Alert, alert_id)
    offered = _offered_ids(s, user)
    if alert is None or (not user.is_staff and not _mine(s, user, alert, offered)):
        raise Forbidden("This alert is not one of yours.", status=404)
    return alert, offered


@router.get("/m/alerts/{alert_id}")
def my_alert(request: Request, alert_id: int, ok: str = "", user=Depends(login_required)):
    hub = request.app.state.hub
    with hub.sessions() as s:
        alert, _ = _alert_or_404(s, alert_id, user)
        resident = s.get(Resident, alert.resident_id) if alert.resident_id else None
        device = s.get(Device, alert.device_id) if alert.device_id else None
        home = s.get(Home, alert.home_id)
        mine = alert.acknowledged_by == user.name and alert.state in ("acknowledged", "attending")
        return render(request, "console/m_alert.html", {
            "alert": alert, "resident": resident, "device": device, "home": home, "mine": mine, "ok": ok,
            "map": map_link(resident), "outcomes": OUTCOMES,
            "can": {k: alert.state in v for k, v in ALLOWED_FROM.items()},
            "taken_by_other": alert.acknowledged_by and alert.acknowledged_by != user.name})


@router.post("/m/alerts/{alert_id}/{action}")
async def act(request: Request, alert_id: int, action: str, user=Depends(login_required)):
    await check_csrf(request, user)
    form = await request.form()
    hub = request.app.state.hub
    action = {"accept": "acknowledge"}.get(action, action)
    if action not in ("acknowledge", "arrived", "resolve"):
        raise Forbidden("Unknown action.", status=404)
    with hub.sessions() as s:
        alert, _ = _alert_or_404(s, alert_id, user)
        if action != "acknowledge" and alert.acknowledged_by not in (None, user.name) and not user.is_staff:
            raise Forbidden(f"{alert.acknowledged_by} has this alert.", status=409)
    try:
        alert_action(hub, user, alert_id, action, outcome=form.get("outcome") or None, note=form.get("note") or "",
                     via="phone view")
        if action == "acknowledge":
            with hub.sessions() as s, s.begin():
                a = s.get(Alert, alert_id)
                alerts.note(s, a, "access", f"access notes shown to {user.name} only (phone view)",
                            hub.clock.now(), user.name)
    except (InvalidTransition, ValueError) as exc:
        return RedirectResponse(f"/m/alerts/{alert_id}?ok=" + quote_plus("error: " + str(exc)), status_code=303)
    except AlertNotFound:
        raise Forbidden("This alert does not exist.", status=404) from None
    return RedirectResponse(f"/m/alerts/{alert_id}?ok={action}", status_code=303)

"""Alerts: list, read and act on them (DESIGN.md, "HTTP API"). A responder token sees only the
alerts it was asked to take (telecare.auth.scope); an access note only after it accepted.

- ``GET  /api/alerts?state=open|all&resident=ID``  newest first within priority
- ``GET  /api/alerts/{id}``                        the same plus the timeline
- ``POST /api/alerts/{id}/acknowledge | arrived | resolve | cancel``
"""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, HTTPException, Query

from telecare.alert import queries
from telecare.alert import service as alerts
from telecare.alert.models import Alert
from telecare.alert.states import ALL_STATES, OUTCOMES, AlertNotFound, InvalidTransition
from telecare.audit import service as audit
from telecare.auth import scope

from ..auth import Caller, caller
from ..deps import Runtime
from .schemas.alerts import AlertDetail, AlertOut, CancelIn, ResolveIn, TimelineOut

router = APIRouter(tags=["alerts"])


@router.get("/api/alerts", response_model=list[AlertOut])
def list_alerts(
    hub: Runtime,
    state: str = Query("open", description="open (any active state), all, or one state"),
    resident: str | None = None,
    priority: str | None = None,
    limit: int = Query(500, ge=1, le=5000),
    who: Caller = Depends(caller),
):
    if state not in ("open", "all", *ALL_STATES):
        raise HTTPException(422, f"state must be open, all or one of {', '.join(ALL_STATES)}")
    # a responder: only the alerts they were asked to take
    visible = None if who.is_staff else scope.in_scope(who.contact_id)
    with hub.sessions() as s:
        return [
            r.fields()
            for r in queries.alerts(s, state=state, resident=resident, priority=priority, visible=visible, limit=limit)
        ]


def _visible(s, alert_id: int, who: Caller | None) -> None:
    """404 for an alert this caller was never asked to take, the same as for one that does not exist."""
    if who is not None and not who.is_staff and not scope.may_see(s, who.contact_id, alert_id):
        raise AlertNotFound(f"alert {alert_id} does not exist")


def _detail(hub, alert_id: int, who: Caller | None = None) -> dict:
    with hub.sessions() as s:
        _visible(s, alert_id, who)
        row = queries.alert(s, alert_id)
        if row is None:
            raise AlertNotFound(f"alert {alert_id} does not exist")
        out = row.fields()
        access = (
            None
            if (who and scope.accepted_by(row.alert, who.contact_id))
            else scope.access_texts(s, [alert_id]).get(alert_id)
        )
        out["timeline"] = [
            TimelineOut(at=t.at, kind=t.kind, detail=scope.redact(t.detail, access) or "", actor=t.actor)
            for t in row.alert.timeline
        ]
        return out


@router.get("/api/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(alert_id: int, hub: Runtime, who: Caller = Depends(caller)):
    return _detail(hub, alert_id, who)


def _act(hub, alert_id: int, fn, who: Caller | None = None, action: str = "") -> dict:
    with hub.sessions() as s, s.begin():
        _visible(s, alert_id, who)
        if who is not None and not who.is_staff and action != "acknowledge":
            a = s.get(Alert, alert_id)
            if a.acknowledged_by and a.acknowledged_contact_id != who.contact_id:
                raise InvalidTransition(
                    f"alert {alert_id} is {a.state} by {a.acknowledged_by}; only they or the control room can do that"
                )
        fn(s)
        if action == "acknowledge" and who is not None:
            s.get(Alert, alert_id).acknowledged_contact_id = who.contact_id  # the one shown the access notes
        if who is not None:  # the audit trail, in the same transaction
            audit.record(
                s,
                actor=who.name,
                role=who.role,
                via="api",
                action=f"alert.{action}",
                target=f"alert:{alert_id}",
                now=hub.clock.now(),
            )
    return _detail(hub, alert_id, who)


@router.post("/api/alerts/{alert_id}/acknowledge", response_model=AlertDetail)
def acknowledge(alert_id: int, hub: Runtime, who: Caller = Depends(caller)):
    return _act(hub, alert_id, lambda s: alerts.acknowledge(s, alert_id, who.name, hub.clock.now()), who, "acknowledge")


@router.post("/api/alerts/{alert_id}/arrived", response_model=AlertDetail)
def arrived(alert_id: int, hub: Runtime, who: Caller = Depends(caller)):
    return _act(hub, alert_id, lambda s: alerts.arrived(s, alert_id, who.name, hub.clock.now()), who, "arrived")


@router.post("/api/alerts/{alert_id}/resolve", response_model=AlertDetail)
def resolve(alert_id: int, body: ResolveIn, hub: Runtime, who: Caller = Depends(caller)):
    if body.outcome not in OUTCOMES:
        raise HTTPException(422, f"outcome {body.outcome!r} is not one of: {', '.join(OUTCOMES)}")
    return _act(
        hub,
        alert_id,
        lambda s: alerts.resolve(s, alert_id, who.name, body.outcome, hub.clock.now(), body.detail),
        who,
        "resolve",
    )


@router.post("/api/alerts/{alert_id}/cancel", response_model=AlertDetail)
def cancel(alert_id: int, hub: Runtime, body: CancelIn | None = Body(None), who: Caller = Depends(caller)):
    reason = body.reason if body else ""
    return _act(hub, alert_id, lambda s: alerts.cancel(s, alert_id, who.name, hub.clock.now(), reason), who, "cancel")

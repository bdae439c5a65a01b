"""Read models for alerts: what the API, the console and the dashboard list and count. Plain
SELECTs on a session. Who may see what stays in telecare.auth.scope: a caller narrows a list
with its clause (``visible=scope.in_scope(contact_id)``), so this module does not import
auth (which imports alert)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, aliased

from telecare.alert.models import Alert, TimelineEntry
from telecare.alert.states import ACTIVE_STATES
from telecare.site.models import Device, Home, Resident


@dataclass(frozen=True)
class AlertRow:
    """An alert with the outside ids of its home, resident and device."""

    alert: Alert
    home: str
    resident: str | None
    device: str | None

    def fields(self) -> dict[str, Any]:
        a = self.alert
        return dict(
            id=a.id,
            resident=self.resident,
            home=self.home,
            device=self.device,
            type=a.type,
            priority=a.priority,
            state=a.state,
            category=a.category,
            no_response=a.no_response,
            opened_at=a.opened_at,
            acknowledged_at=a.acknowledged_at,
            acknowledged_by=a.acknowledged_by,
            attending_at=a.attending_at,
            resolved_at=a.resolved_at,
            outcome=a.outcome,
        )


def _alert_query() -> Select[Alert, str, str, str]:  # the outer-joined ids may be None
    d = aliased(Device)
    return (
        select(Alert, Home.ext_id, Resident.ext_id, d.ext_id)
        .join(Home, Home.id == Alert.home_id)
        .outerjoin(Resident, Resident.id == Alert.resident_id)
        .outerjoin(d, d.id == Alert.device_id)
    )


def alerts(
    s: Session,
    *,
    state: str = "open",
    resident: str | None = None,
    priority: str | None = None,
    visible: ColumnElement[bool] | None = None,
    limit: int = 500,
) -> list[AlertRow]:
    """``state``: "open" (any active state), "all", or one state; ``visible``: a WHERE clause on
    Alert that narrows the list (a responder's scope). Most urgent first, then newest."""
    q = _alert_query()
    if state == "open":
        q = q.where(Alert.state.in_(ACTIVE_STATES))
    elif state != "all":
        q = q.where(Alert.state == state)
    if resident:
        q = q.where(Resident.ext_id == resident)
    if priority:
        q = q.where(Alert.priority == priority)
    if visible is not None:
        q = q.where(visible)
    q = q.order_by(Alert.priority, Alert.opened_at.desc()).limit(limit)
    return [AlertRow(*r) for r in s.execute(q).all()]


def alert(s: Session, alert_id: int) -> AlertRow | None:
    row = s.execute(_alert_query().where(Alert.id == alert_id)).first()
    return AlertRow(*row) if row is not None else None


def count_by_state(s: Session) -> dict[str, int]:
    return dict(s.execute(select(Alert.state, func.count()).group_by(Alert.state)).all())


def board(s: Session, limit: int = 500) -> list[dict[str, Any]]:
    """The control room's board: active alerts, those that ran out of people first, then by priority
    and age; each with its home id, resident, device id and kind."""
    d = aliased(Device)
    q = (
        select(Alert, Home.ext_id, Resident, d.ext_id, d.kind)
        .join(Home, Home.id == Alert.home_id)
        .outerjoin(Resident, Resident.id == Alert.resident_id)
        .outerjoin(d, d.id == Alert.device_id)
        .where(Alert.state.in_(ACTIVE_STATES))
        .order_by(Alert.no_response.desc(), Alert.priority, Alert.opened_at)
        .limit(limit)
    )
    return [dict(alert=a, home=h, resident=r, device=dev, device_kind=kind) for a, h, r, dev, kind in s.execute(q)]


def active_with_residents(s: Session, visible: ColumnElement[bool]) -> list[tuple[Alert, Resident | None]]:
    """Active alerts narrowed by ``visible`` (a responder's scope), with their residents, by priority and age."""
    q = (
        select(Alert, Resident)
        .outerjoin(Resident, Resident.id == Alert.resident_id)
        .where(Alert.state.in_(ACTIVE_STATES))
        .where(visible)
        .order_by(Alert.priority, Alert.opened_at)
    )
    return [(a, r) for a, r in s.execute(q).all()]


def recent_for_resident(s: Session, resident_id: int, limit: int = 20) -> list[Alert]:
    """A resident's latest alerts, newest first."""
    return list(s.scalars(select(Alert).where(Alert.resident_id == resident_id).order_by(Alert.id.desc()).limit(limit)))


def change_mark(s: Session) -> tuple[int | None, int | None]:
    """(the last timeline entry's id, the last alert's id): changes when any alert changes or opens."""
    return (s.scalar(select(func.max(TimelineEntry.id))), s.scalar(select(func.max(Alert.id))))

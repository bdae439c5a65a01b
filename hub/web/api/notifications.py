"""Every outbound message or call: ``GET /api/notifications?alert=ID&to=PHONE``. A responder token
sees only the messages sent to its own contact; an access note only where it was sent to them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from telecare.auth import scope
from telecare.notification import queries

from ..auth import Caller, caller
from ..deps import Runtime
from .schemas.alerts import NotificationOut

router = APIRouter(tags=["notifications"])


@router.get("/api/notifications", response_model=list[NotificationOut])
def notifications(
    hub: Runtime,
    alert: int | None = None,
    to: str | None = None,
    limit: int = Query(500, ge=1, le=5000),
    who: Caller = Depends(caller),
):
    with hub.sessions() as s:
        # a responder: only the messages sent to them
        visible = None if who.is_staff else scope.own_notifications(s, who.contact_id)
        rows = queries.notifications(s, alert=alert, to=to, visible=visible, limit=limit)
        access = scope.access_texts(s, {n.alert_id for n, _ in rows})
        # an access note is shown only to the contact it was sent to: "[access note]" for everyone else
        return [
            NotificationOut(
                id=n.id,
                alert=n.alert_id,
                contact=c,
                to=n.to,
                channel=n.channel,
                purpose=n.purpose,
                body=scope.notification_body(n, who.contact_id, access.get(n.alert_id)),
                status=n.status,
                detail=n.detail,
                created_at=n.created_at,
                handed_at=n.handed_at,
            )
            for n, c in rows
        ]

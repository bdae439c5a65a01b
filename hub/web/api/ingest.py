"""``GET /api/deadletters``: MQTT messages ingest refused, with the reason (staff and admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from telecare.events import queries

from ..auth import Caller, staff_only
from ..deps import Runtime
from .schemas.site import DeadLetterOut

router = APIRouter(tags=["ingest"])


@router.get("/api/deadletters", response_model=list[DeadLetterOut])
def deadletters(
    hub: Runtime, kind: str | None = None, limit: int = Query(200, ge=1, le=5000), who: Caller = Depends(staff_only)
):
    with hub.sessions() as s:
        return [
            DeadLetterOut(
                id=d.id,
                received_at=d.received_at,
                topic=d.topic,
                payload=d.payload,
                payload_size=d.payload_size,
                kind=d.kind,
                reason=d.reason,
            )
            for d in queries.dead_letters(s, kind=kind, limit=limit)
        ]

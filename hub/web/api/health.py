"""``GET /api/health`` (no token): broker, database and scheduler status; 503 when any is down."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text

from ..deps import Runtime
from .schemas.site import Health

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=Health)
def health(response: Response, hub: Runtime):
    db = {"ok": True}
    try:
        with hub.sessions() as s:
            s.execute(text("SELECT 1"))
            db["dialect"] = s.bind.dialect.name
    except Exception as exc:  # noqa: BLE001
        db = {"ok": False, "error": str(exc)}
    broker = hub.broker_status()
    sched = hub.scheduler_status()
    ok = db["ok"] and broker["ok"] and sched["ok"]
    if not ok:
        response.status_code = 503
    return Health(
        status="ok" if ok else "degraded",
        database=db,
        broker=broker,
        scheduler=sched,
        devices_registered=len(hub.devices),
        notifier=getattr(hub.notifier, "name", None) or type(hub.notifier).__name__,
    )

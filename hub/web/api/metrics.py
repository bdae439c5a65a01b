"""The figures: ``GET /api/metrics/summary`` (the dashboard's) and ``GET /metrics`` (Prometheus,
``authorization: {type: Bearer, ...}`` in its scrape config). Staff and admin only."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from telecare.alert.models import Alert
from telecare.enquiry.service import summary as enquiry_summary
from telecare.events.models import DeadLetter
from telecare.site.models import Device

from ..auth import Caller, staff_only
from ..deps import Runtime

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def prometheus(who: Caller = Depends(staff_only)):  # Prometheus: authorization: {type: Bearer, ...}
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/metrics/summary")
def summary(hub: Runtime, who: Caller = Depends(staff_only)):
    with hub.sessions() as s:
        by_state = dict(s.execute(select(Alert.state, func.count()).group_by(Alert.state)).all())
        offline = s.scalar(select(func.count()).select_from(Device).where(Device.online.is_(False)))
        dead = s.scalar(select(func.count()).select_from(DeadLetter))
        helpline = enquiry_summary(s)  # enquiries by channel, need and outcome; resolved at first contact
    return {"alerts_by_state": by_state, "devices_offline": offline, "dead_letters": dead,
            "devices_registered": len(hub.directory), "enquiries": helpline}

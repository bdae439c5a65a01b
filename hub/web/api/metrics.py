"""The figures: ``GET /api/metrics/summary`` (the dashboard's) and ``GET /metrics`` (Prometheus,
``authorization: {type: Bearer, ...}`` in its scrape config). Staff and admin only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from telecare.alert import queries as alert_queries
from telecare.enquiry.service import summary as enquiry_summary
from telecare.events import queries as event_queries
from telecare.retention.service import tally
from telecare.site import queries as site_queries

from ..auth import Caller, staff_only
from ..deps import Runtime

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def prometheus(who: Caller = Depends(staff_only)):  # Prometheus: authorization: {type: Bearer, ...}
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/metrics/summary")
def summary(hub: Runtime, who: Caller = Depends(staff_only)):
    with hub.sessions() as s:
        # counts over all time include the rows retention has since deleted (its tallies), so a run
        # changes no figure here
        by_state = alert_queries.count_by_state(s)
        for state, n in tally(s, "alerts").items():
            by_state[state] = by_state.get(state, 0) + n
        offline = site_queries.offline_count(s)
        dead = event_queries.dead_letter_count(s) + sum(tally(s, "dead_letters").values())
        helpline = enquiry_summary(s)  # enquiries by channel, need and outcome; resolved at first contact
    return {
        "alerts_by_state": by_state,
        "devices_offline": offline,
        "dead_letters": dead,
        "devices_registered": len(hub.devices),
        "enquiries": helpline,
    }

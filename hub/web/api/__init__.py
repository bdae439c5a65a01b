"""The JSON API (DESIGN.md, "HTTP API"): one module-level router per resource, schemas in
``schemas/`` (one module per area). Routes stay thin: they read through the domain's query
modules and change things through its services; the runtime comes from ``hub.web.deps``.

``routers(hub)`` is what ``create_app`` includes: the sandbox reply only while the hub sends
through the sandbox notifier.
"""

from __future__ import annotations

from fastapi import APIRouter

from . import alerts, checkins, health, helpline, ingest, metrics, notifications, sandbox, site


def routers(hub) -> list[APIRouter]:
    out = [
        health.router,
        alerts.router,
        notifications.router,
        ingest.router,
        site.router,
        checkins.router,
        helpline.router,
        metrics.router,
    ]
    if sandbox.in_use(hub):  # the route exists only while the sandbox is in use
        out.append(sandbox.router)
    return out

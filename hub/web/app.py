"""The FastAPI application: ``create_app`` assembles it. Routes live in module-level routers
(hub/web/api/ for the JSON API, hub/web/console/ for pages, the Twilio webhooks and the Rasa
actions endpoint) and are thin: they call ``telecare`` services and query modules, and reach
the running hub through one dependency (hub/web/deps.py)."""

from __future__ import annotations

from fastapi import FastAPI

from . import api, console, docs, errors
from .assistant_routes import router as assistant_router
from .limits import BodyLimitMiddleware
from .twilio_routes import router as twilio_router


def create_app(hub) -> FastAPI:
    """``hub`` is a hub.runtime.HubRuntime (sessions, clock, consumer, supervisor...)."""
    app = FastAPI(
        title="Linkage hub",
        version="0.1.0",
        description="Telecare alerts, escalation and the helpline's records. "
        "Every endpoint but /api/health needs `Authorization: Bearer <token>`.",
        docs_url=None,
        redoc_url=None,
    )  # /docs and /redoc from local files: hub/web/docs.py
    app.state.hub = hub  # read only through hub.web.deps
    app.add_middleware(BodyLimitMiddleware)  # request bodies capped per route: hub/web/limits.py
    errors.install(app)  # 422s in the documented shape, out-of-range ids are 404s, errors in OpenAPI
    docs.install(app)
    app.include_router(twilio_router)  # /twilio/* webhooks: Twilio-signed, not bearer tokens
    for router in api.routers(hub):  # /api/*, /metrics: bearer tokens (hub/web/auth.py)
        app.include_router(router)
    app.include_router(assistant_router)  # /assistant/actions/webhook: the Rasa server's custom actions
    console.install(app)  # the staff console and responder view: /login, /console/*, /m/*, /static/*
    return app

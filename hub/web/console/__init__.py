"""The staff console and the responder's phone view: server-rendered pages on the hub's
FastAPI app. ``install(app)`` adds them; the JSON API is untouched.

Pages are plain HTML forms (they work without script); a little script makes the board
live (server-sent events) and nothing is loaded from another site.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from ..deps import hub_of
from .live import LiveFeed
from .security import ConsoleConfig, Forbidden, LoginGate, LoginRequired
from .templating import render

STATIC = Path(__file__).resolve().parent.parent / "static"


def _wants_html(request: Request) -> bool:
    return (
        request.method == "GET"
        and "application/json" not in request.headers.get("accept", "")
        and not request.url.path.endswith(("/fragment", "/events"))
    )


def install(app: FastAPI) -> None:
    hub = hub_of(app)
    app.state.console_config = ConsoleConfig.from_settings(getattr(getattr(hub, "settings", None), "console", None))
    app.state.login_gate = LoginGate(app.state.console_config.login_concurrency)
    app.state.live = LiveFeed(hub)
    hub.change_listeners.append(app.state.live.poke)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    from . import (  # noqa: PLC0415
        alert_routes,
        auth_routes,
        checkin_pages,
        directory_routes,
        enquiry_routes,
        escalation_routes,
        ops_routes,
        person_routes,
        responder_routes,
        site_routes,
    )

    for module in (
        auth_routes,
        alert_routes,
        checkin_pages,
        site_routes,
        directory_routes,
        enquiry_routes,
        escalation_routes,
        ops_routes,
        responder_routes,
        person_routes,
    ):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        if _wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return JSONResponse({"detail": "log in first (your session may have expired)"}, status_code=401)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden):
        heading = {403: "Not allowed", 404: "Not found", 429: "Too many"}.get(exc.status, "Refused")
        return render(
            request,
            "console/error.html",
            {"status": exc.status, "heading": heading, "message": exc.message},
            status=exc.status,
        )

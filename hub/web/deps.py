"""FastAPI dependencies for the web layer: the one way a route reaches the running hub.

``create_app(hub)`` keeps the hub.runtime.HubRuntime on ``app.state.hub``; routes never read
it there themselves but ask for it, ``hub: Runtime`` (the same as ``hub = Depends(runtime)``),
so a route says in its signature what it uses and a test can override one dependency.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from hub.runtime import HubRuntime


def hub_of(app: FastAPI) -> HubRuntime:
    """The runtime an app was made with, for code that has the app and no request (install, startup)."""
    return app.state.hub


def runtime(request: Request) -> HubRuntime:
    """The running hub: sessions, clock, notifier, device cache, change listeners."""
    return request.app.state.hub


Runtime = Annotated[HubRuntime, Depends(runtime)]

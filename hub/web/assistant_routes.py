"""The assistant's custom actions, served by the hub (Rasa's action server protocol).

Rasa (in .venv-rasa) POSTs each action call here; rasa_sdk's executor runs the action from
``actions/`` in this process, on the hub's database sessions and clock, so an emergency
alert the assistant raises starts escalating at once like any other alert.

The caller must present ``LINKAGE_ACTIONS_TOKEN`` (assistant/endpoints.yml sends it as
``?token=``); with no token configured only loopback callers are served.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from .. import metrics

log = logging.getLogger("linkage.assistant")
router = APIRouter(tags=["assistant"])


class ActionHost:
    """One executor per hub, built on first use (rasa_sdk is imported only if the assistant is used)."""

    def __init__(self, hub):
        self.hub = hub
        self._executor = None

    def executor(self):
        if self._executor is None:
            from rasa_sdk.executor import ActionExecutor

            from actions import context
            from actions.frontdoor import ACTIONS

            context.configure(self.hub.sessions, self.hub.clock)
            ex = ActionExecutor()
            for cls in ACTIONS:
                ex.register_action(cls)
            self._executor = ex
        return self._executor


def _authorised(request: Request) -> bool:
    expected = os.environ.get("LINKAGE_ACTIONS_TOKEN", "")
    if expected:
        return hmac.compare_digest(request.query_params.get("token", ""), expected)
    return bool(request.client) and request.client.host in ("127.0.0.1", "::1", "localhost", "testclient")


@router.post("/assistant/actions/webhook", include_in_schema=True, summary="Rasa action server protocol")
def run_action(request: Request, action_call: dict):
    if not _authorised(request):
        raise HTTPException(403, "not our assistant: LINKAGE_ACTIONS_TOKEN does not match")
    from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

    hub = request.app.state.hub
    host = getattr(request.app.state, "action_host", None)
    if host is None:
        host = request.app.state.action_host = ActionHost(hub)
    name = action_call.get("next_action", "?")
    started = time.perf_counter()
    try:
        result = asyncio.run(host.executor().run(action_call))
    except ActionNotFoundException as exc:
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=404)
    except ActionExecutionRejection as exc:
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=400)
    finally:
        metrics.ASSISTANT_ACTION_SECONDS.labels(action=name).observe(time.perf_counter() - started)
    hub.changed()
    return result.model_dump() if result else {"events": [], "responses": []}

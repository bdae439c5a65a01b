"""The assistant's custom actions, served by the hub (Rasa's action server protocol).

Rasa (in .venv-rasa) POSTs each action call here; rasa_sdk's executor runs the action from
``actions/`` in this process, on the hub's database sessions and clock, so an emergency
alert the assistant raises starts escalating at once like any other alert.

Who may call (docs/security.md, "The assistant"): only a caller presenting
``LINKAGE_ACTIONS_TOKEN`` in ``Authorization: Bearer …`` (``assistant/endpoints.yml`` sends it;
``linkage assistant`` and ``make run`` give both processes the same value). In order, before
anything runs:

1. no token configured on this hub (``Settings.actions_token``): 404, the assistant's
   actions are off (said in a log line at start); loopback callers get nothing either;
2. no ``Authorization: Bearer`` header: 401 (a ``?token=`` in the query string counts for
   nothing); a wrong token: 403; compared with ``hmac.compare_digest``, and the body has
   not been read yet (the route declares no body parameter);
3. a body over ``MAX_BODY`` (1 MiB): 413 (hub/web/limits.py refuses a declared
   Content-Length before this route runs; the route itself stops reading past the cap);
   a body that is not a JSON object: 400;
4. an action name the hub does not serve: 404, and no metrics label is made for it
   (``linkage_assistant_action_seconds`` is observed for known names only).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from contextlib import asynccontextmanager

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .. import metrics
from .deps import Runtime

log = logging.getLogger("linkage.assistant")

PATH = "/assistant/actions/webhook"
MAX_BODY = 1024 * 1024  # the Rasa server sends the whole tracker; keep in step with hub/web/limits.py
OFF_MESSAGE = (
    "the assistant's actions are off on this hub: LINKAGE_ACTIONS_TOKEN is not set (give `linkage hub` "
    "and `linkage assistant` the same value; `make run` does)"
)


def actions_token(app) -> str | None:
    hub = getattr(app.state, "hub", None)
    settings = getattr(hub, "settings", None)
    return getattr(settings, "actions_token", None) or None


def announce(app) -> None:
    """The log line at start: whether this hub serves the assistant's actions."""
    if actions_token(app):
        log.info("assistant actions: served at %s to a caller with LINKAGE_ACTIONS_TOKEN", PATH)
    else:
        log.warning(
            "assistant actions: off (LINKAGE_ACTIONS_TOKEN is not set); %s answers 404 and the assistant "
            "cannot raise alerts or record enquiries through this hub",
            PATH,
        )


@asynccontextmanager
async def _lifespan(app):
    announce(app)
    yield


router = APIRouter(tags=["assistant"], lifespan=_lifespan)


def _count_capped(what: str, why: str) -> None:
    metrics.ASSISTANT_ANONYMOUS_CAPPED.labels(what=what, why=why).inc()


def hub_caps(hub):
    """What anonymous conversations may queue on this hub (``LINKAGE_ANONYMOUS_REQUESTS_PER_HOUR``),
    and the Prometheus counter for each refusal."""
    from telecare.assistant import frontdoor

    per_hour = getattr(getattr(hub, "settings", None), "anonymous_requests_per_hour", None)
    return frontdoor.Caps(per_hour=frontdoor.Caps.per_hour if per_hour is None else per_hour, on_capped=_count_capped)


class ActionHost:
    """One executor per hub, built on first use (rasa_sdk is imported only if the assistant is used)."""

    def __init__(self, hub):
        self.hub = hub
        self._executor = None
        self.context = None  # actions.context.ActionContext: this hub's sessions and clock
        self.caps = None  # telecare.assistant.frontdoor.Caps for this hub

    def executor(self):
        if self._executor is None:
            from rasa_sdk.executor import ActionExecutor

            from actions import context
            from actions.frontdoor import ACTIONS

            # set per call (``_run``), not process-wide: two hubs in one process keep apart
            self.context = context.ActionContext(self.hub.sessions, self.hub.clock)
            self.caps = hub_caps(self.hub)
            ex = ActionExecutor()
            for cls in ACTIONS:
                ex.register_action(cls)
            self._executor = ex
        return self._executor

    def known(self, name) -> bool:
        return isinstance(name, str) and name in self.executor().actions


def _error(status: int, detail: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _refusal(request: Request) -> JSONResponse | None:
    """Why this caller may not run an action (from the headers alone), or None."""
    expected = actions_token(request.app)
    if not expected:
        return _error(404, OFF_MESSAGE)
    scheme, _, presented = (request.headers.get("authorization") or "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return _error(
            401,
            "the assistant's actions need Authorization: Bearer <LINKAGE_ACTIONS_TOKEN>",
            {"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(presented.encode("utf-8", "replace"), expected.encode("utf-8")):
        return _error(403, "not our assistant: that is not this hub's LINKAGE_ACTIONS_TOKEN")
    return None


async def _read_body(request: Request) -> bytes | None:
    """The body, or None once it passes ``MAX_BODY`` (reading stops there)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


@router.post(
    PATH,
    include_in_schema=True,
    summary="Rasa action server protocol",
    description="For the assistant's Rasa server only: `Authorization: Bearer <LINKAGE_ACTIONS_TOKEN>`. "
    "The body is Rasa's action call (`next_action`, `tracker`, `domain`, ...).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
        }
    },
    responses={
        400: {"description": "The body is not a JSON object", **_ERROR},
        401: {"description": "No Authorization: Bearer header", **_ERROR},
        403: {"description": "Not this hub's LINKAGE_ACTIONS_TOKEN", **_ERROR},
        404: {"description": "No such action, or the actions are off on this hub", **_ERROR},
    },
)
async def run_action(request: Request, hub: Runtime):
    refused = _refusal(request)  # before a byte of the body is read
    if refused is not None:
        return refused
    body = await _read_body(request)
    if body is None:
        return _error(413, f"request body too large: the assistant's actions accept at most {MAX_BODY} bytes")
    try:
        action_call = orjson.loads(body)
    except orjson.JSONDecodeError:
        action_call = None
    if not isinstance(action_call, dict):
        return _error(400, "the body must be a JSON object: Rasa's action call")
    host = getattr(request.app.state, "action_host", None)
    if host is None:
        host = request.app.state.action_host = ActionHost(hub)
    name = action_call.get("next_action")
    if not host.known(name):  # no metrics label, nothing run
        return JSONResponse({"error": "no such action on this hub", "action_name": None}, status_code=404)
    started = time.perf_counter()
    try:
        return await run_in_threadpool(_run, hub, host, action_call)
    finally:
        metrics.ASSISTANT_ACTION_SECONDS.labels(action=name).observe(time.perf_counter() - started)


def _run(hub, host: ActionHost, action_call: dict):
    from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

    from actions import context
    from telecare.assistant import frontdoor

    executor = host.executor()
    ctx_token, caps_token = context.use(host.context), frontdoor.use_caps(host.caps)
    try:
        result = asyncio.run(executor.run(action_call))
    except ActionNotFoundException as exc:
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=404)
    except ActionExecutionRejection as exc:
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=400)
    finally:
        context.reset(ctx_token)
        frontdoor.reset_caps(caps_token)
    return result.model_dump() if result else {"events": [], "responses": []}

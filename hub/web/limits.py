"""Request body caps on every route: a pure-ASGI middleware (docs/security.md, "Limits").

A request whose ``Content-Length`` is over the cap for its route is refused with 413 before
a byte of the body is read. A body without ``Content-Length`` (chunked, or a lying client) is
counted as the application reads it (``receive`` is wrapped): the moment it passes the cap,
reading stops and the answer is 413, whatever the route was about to do with the body (a
route's own 400 or 500 for the broken read is replaced). API, webhook and action callers get
JSON in the documented error shape; console pages get a plain page.

After refusing, up to ``DRAIN`` more bytes of the body are read and thrown away (for at most
``DRAIN_SECONDS``) so that a client still sending gets the 413 rather than a reset connection;
the connection is then closed.
"""

from __future__ import annotations

import anyio
import orjson

KIB = 1024
MIB = 1024 * KIB
DEFAULT_LIMIT = 64 * KIB
DRAIN = 1 * MIB  # read and discard at most this much of a refused body before closing...
DRAIN_SECONDS = 1.0  # ...for at most this long: a client that promises a body and never sends it is not waited for

# (method or None for any, path prefix, cap in bytes). The longest matching prefix wins;
# anything not listed gets DEFAULT_LIMIT. Keep docs/security.md's table in step.
LIMITS: tuple[tuple[str | None, str, int], ...] = (
    (None, "/twilio/", 64 * KIB),  # Twilio's form posts are a few KB
    (None, "/assistant/actions/webhook", 1 * MIB),  # the Rasa server sends the whole tracker
    ("PUT", "/api/site", 2 * MIB),  # site YAML, as `linkage load`
    (None, "/console/site/import", 2 * MIB),  # site YAML: upload or pasted
    (None, "/console/directory/import", 2 * MIB),  # directory YAML: upload or pasted
)


def limit_for(method: str, path: str) -> int:
    best, best_len = DEFAULT_LIMIT, -1
    for m, prefix, cap in LIMITS:
        if (m is None or m == method) and path.startswith(prefix) and len(prefix) > best_len:
            best, best_len = cap, len(prefix)
    return best


def is_console(path: str) -> bool:
    """The staff console and the responder's view (HTML pages), as against the JSON API and webhooks."""
    return path in ("/", "/m", "/console", "/login", "/logout") or path.startswith(("/console/", "/m/"))


class BodyTooLarge(Exception):
    """Raised from the wrapped ``receive`` once a body passes its cap."""

    def __init__(self, limit: int):
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


def _message(limit: int) -> str:
    size = f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit // KIB} KiB"
    return f"request body too large: this route accepts at most {size} ({limit} bytes)"


def too_large_response(path: str, limit: int) -> tuple[dict, bytes]:
    """The 413's start message and body for ``path``."""
    msg = _message(limit)
    if is_console(path):
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too large</title></head>'
            f"<body><h1>Too large</h1><p>{msg}.</p><p>Go back and send less (a smaller file, or split it).</p>"
            "</body></html>"
        ).encode()
        ctype = b"text/html; charset=utf-8"
    else:
        body = orjson.dumps({"detail": [{"loc": ["body"], "msg": msg, "type": "body_too_large"}]})
        ctype = b"application/json"
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), (b"connection", b"close")],
    }
    return start, body


class BodyLimitMiddleware:
    """Caps request bodies per route (``LIMITS``); see the module's docstring."""

    def __init__(self, app, limits=None):
        self.app = app
        self.limit_for = limits or limit_for  # (method, path) -> cap in bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        limit = self.limit_for(scope.get("method", "GET"), path)
        declared = None
        expect_continue = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
            elif name == b"expect" and value.lower() == b"100-continue":
                expect_continue = True
        if declared is not None and declared > limit:
            # not a byte read; drain a small overrun so the client sees the answer, unless it waits for 100
            if not expect_continue and declared <= limit + DRAIN:
                await _drain(receive, DRAIN)
            return await _refuse(send, path, limit)

        received = 0
        tripped = False
        started = False
        body_done = False

        async def limited_receive():
            nonlocal received, tripped, body_done
            if tripped:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    body_done = True
                if received > limit:
                    tripped = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message):
            nonlocal started
            if tripped:
                return  # whatever the route answered to a broken read, the answer is 413 (sent below)
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not tripped:
                raise
        # (tripped after a streaming response had begun before the body was read: nothing more can be said)
        if tripped and not started:
            if not body_done:
                await _drain(receive, DRAIN)
            await _refuse(send, path, limit)


async def _drain(receive, budget: int) -> None:
    with anyio.move_on_after(DRAIN_SECONDS):
        while budget > 0:
            message = await receive()
            if message["type"] != "http.request":
                return
            budget -= len(message.get("body", b""))
            if not message.get("more_body", False):
                return


async def _refuse(send, path: str, limit: int) -> None:
    start, body = too_large_response(path, limit)
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})

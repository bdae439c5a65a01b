"""The web chat page: GET /webhooks/webchat/ and its files under /webhooks/webchat/static/.

The page (``assistant/webchat/``) talks to Rasa's Socket.IO channel on the same server
(``/socket.io``, configured in ``assistant/credentials.yml``), so ``WebChatInput`` only serves
files. The Socket.IO client is the npm package ``socket.io-client`` (v4, protocol 5, which
python-socketio 5 speaks), served from ``node_modules/``: never from a CDN.

``SocketIOInput`` is Rasa 3.6's own channel (same name ``socketio``, same settings) with two
fixes for the python-socketio that Rasa 3.6.21 installs (5.18):

* ``AsyncServer.enter_room`` became a coroutine (python-socketio 5.10); Rasa calls it without
  ``await``, so with ``session_persistence`` the browser never joined its session's room and
  never saw a reply. Ours awaits it.
* Rasa's output sends custom JSON as keyword arguments of ``emit`` (a TypeError); ours sends
  ``{"custom": …}`` as the message.

Headers: a Content-Security-Policy allowing only this origin (scripts, styles, the socket),
no framing, nosniff; the page itself is not cached so a new release is picked up at once.
"""
from __future__ import annotations

import inspect
import json
import logging
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
PAGE_DIR = ROOT / "assistant" / "webchat"
SOCKET_IO_DIST = ROOT / "node_modules" / "socket.io-client" / "dist"

FILES = {
    "chat.css": (PAGE_DIR / "chat.css", "text/css; charset=utf-8"),
    "chat.js": (PAGE_DIR / "chat.js", "text/javascript; charset=utf-8"),
    "socket.io.min.js": (SOCKET_IO_DIST / "socket.io.min.js", "text/javascript; charset=utf-8"),
    "socket.io.min.js.map": (SOCKET_IO_DIST / "socket.io.min.js.map", "application/json"),
}


def security_headers(request: Request) -> Dict[str, str]:
    host = request.host
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' ws://{host} wss://{host}; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'; object-src 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


class WebChatInput(InputChannel):
    """Serves the accessible web chat page; messages go over Rasa's socketio channel."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls()

    def __init__(self) -> None:
        if not (SOCKET_IO_DIST / "socket.io.min.js").exists():
            logger.error("webchat: %s is missing: run `npm ci` in %s (the page cannot connect without it)",
                         SOCKET_IO_DIST / "socket.io.min.js", ROOT)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("linkage_webchat", __name__)

        @bp.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            # the page's links are relative: it must be served at …/webchat/ (with the slash)
            if not request.path.endswith("/"):
                query = f"?{request.query_string}" if request.query_string else ""
                return response.redirect(request.path + "/" + query, status=301)
            headers = security_headers(request)
            headers["Cache-Control"] = "no-cache"
            return await response.file(PAGE_DIR / "index.html", headers=headers,
                                       mime_type="text/html; charset=utf-8")

        @bp.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            found = FILES.get(name)
            if found is None or not found[0].is_file():
                return response.text("Not found", status=404)
            path, mime = found
            headers = security_headers(request)
            headers["Cache-Control"] = "no-cache"
            return await response.file(path, headers=headers, mime_type=mime)

        return bp


class SocketIOOutput(rasa_socketio.SocketIOOutput):
    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class SocketIOInput(rasa_socketio.SocketIOInput):
    """Rasa's socketio channel, fixed for python-socketio >= 5.10 (see the module's docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return super().get_output_channel()
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        sio = self.sio
        namespace = self.namespace

        # registering an event again replaces Rasa's handler
        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not session_id.strip() or len(session_id) > 128:
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=namespace)
                if inspect.isawaitable(entered):
                    await entered
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            logger.debug("socketio: %s joined session %s", sid, session_id)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: Text, data: Dict) -> None:
            data = data if isinstance(data, dict) else {}
            if self.session_persistence:
                if not data.get("session_id"):
                    logger.warning("socketio: a message without a session_id was ignored (send session_request first)")
                    return
                sender_id = str(data["session_id"])
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            await on_new_message(UserMessage(
                str(data.get("message") or ""), SocketIOOutput(sio, self.bot_message_evt), sender_id,
                input_channel=self.name(), metadata=metadata if isinstance(metadata, dict) else {},
            ))

        return bp

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

and with the server, not the browser, deciding who the conversation is:

* The conversation id is ``web:<session>``. A session id the browser kept (so a reload carries
  on) is accepted only if it looks like one this server issued (32-128 url-safe characters;
  ``new_session`` makes 43); anything else (``voice:+44…:CA…``, ``betty``) gets a new one. Each
  socket speaks only in the conversation it was confirmed in (``session_request``), whatever
  ``session_id`` a later message carries, and the browser's ``metadata`` is not passed on.
* engine.io's origin check is on again (Rasa turns it off): only the page's own origin, or
  ``PUBLIC_BASE_URL``'s, may connect; no CORS credentials. A packet is at most 64 KiB.
* A message is cut at ``limits.MAX_MESSAGE_CHARS`` before NLU (the bot first says
  ``limits.CUT_NOTICE``); turns are rate-limited per conversation and per client address
  (``LINKAGE_CHAT_LIMITS``): too many gets a bot message asking to wait, and no NLU.

Headers: a Content-Security-Policy allowing only this origin (scripts, styles, the socket),
no framing, nosniff; the page itself is not cached so a new release is picked up at once.
"""

from __future__ import annotations

import inspect
import logging
import re
import secrets
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Text
from urllib.parse import urlsplit

from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from . import chat_text, client_address, guard_api, setting
from .limits import CUT_NOTICE, ChatLimits, cut
from .rest import wait_text

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
PAGE_DIR = ROOT / "assistant" / "webchat"
SOCKET_IO_DIST = ROOT / "node_modules" / "socket.io-client" / "dist"
MAX_PACKET_BYTES = 64 * 1024  # one Socket.IO packet (a chat message is cut at 1,000 characters anyway)

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
            logger.error(
                "webchat: %s is missing: run `npm ci` in %s (the page cannot connect without it)",
                SOCKET_IO_DIST / "socket.io.min.js",
                ROOT,
            )

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
            return await response.file(PAGE_DIR / "index.html", headers=headers, mime_type="text/html; charset=utf-8")

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


# A session id the browser keeps is accepted only if it looks like one this server issued
# (``new_session``: 32 random bytes, url-safe base64, 43 characters); anything else (another
# channel's id such as "sms:+44…", a guessable word) is replaced by a new one.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{32,128}")
PREFIX = "web:"


def new_session() -> str:
    return secrets.token_urlsafe(32)


def valid_session(session_id: Any) -> bool:
    return isinstance(session_id, str) and SESSION_ID.fullmatch(session_id) is not None


def origin_of(url: Optional[str]) -> Optional[str]:
    parts = urlsplit((url or "").strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}".lower()
    return None


def same_origin(public_url: Optional[str]) -> Callable[..., bool]:
    """engine.io's origin check: the page's own origin (the Host it was asked for, over http or
    https, or the proxy's X-Forwarded-Host) or ``PUBLIC_BASE_URL``'s origin; never another site."""
    public = origin_of(public_url)

    def allowed(origin: Optional[str], environ: Optional[Dict[str, Any]] = None) -> bool:
        if not origin:
            return True  # not a browser: the Origin check is a browser's protection
        origin = origin.strip().lower()
        if public and origin == public:
            return True
        environ = environ or {}
        hosts = {environ.get("HTTP_HOST", "")}
        forwarded = environ.get("HTTP_X_FORWARDED_HOST")
        if forwarded:
            hosts.add(forwarded.split(",")[0].strip())
        return any(h and origin in (f"http://{h}".lower(), f"https://{h}".lower()) for h in hosts)

    return allowed


class SocketIOInput(rasa_socketio.SocketIOInput):
    """Rasa's socketio channel, fixed for python-socketio >= 5.10 and with a conversation id the
    server makes (``web:<session>``, see the module's docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        channel.public_url = setting(credentials, "public_url", "PUBLIC_BASE_URL")
        channel.limits = ChatLimits.from_env()
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.public_url: Optional[str] = None
        self.limits: Optional[ChatLimits] = None
        # per socket (sid): the conversation it was confirmed and the client's address
        self.sessions: Dict[str, str] = {}
        self.clients: Dict[str, str] = {}

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return super().get_output_channel()
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        guard_api(bp)
        sio = self.sio
        namespace = self.namespace
        if self.limits is None:
            self.limits = ChatLimits.from_env()
        limits = self.limits
        # Rasa disables engine.io's origin check (cors_allowed_origins=[]): any web site could
        # script a visitor's browser into the chat. Only the page's own origin may connect.
        sio.eio.cors_allowed_origins = same_origin(self.public_url)
        sio.eio.cors_credentials = False
        sio.eio.max_http_buffer_size = MAX_PACKET_BYTES

        async def bot_says(room: str, text: str) -> None:
            await sio.emit(self.bot_message_evt, {"text": text}, room=room, namespace=namespace)

        # registering an event again replaces Rasa's handler
        @sio.on("connect", namespace=namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if self.jwt_key:
                logger.error("socketio: jwt_key is not supported by Linkage's web chat; refusing connections")
                return False
            request = (environ or {}).get("sanic.request")
            self.clients[sid] = client_address(request) if request is not None else "unknown"
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: Text, *_: Any) -> None:
            self.sessions.pop(sid, None)
            self.clients.pop(sid, None)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not valid_session(session_id):
                session_id = new_session()
            conversation = PREFIX + session_id
            old = self.sessions.get(sid)
            if old and old != conversation:
                left = sio.leave_room(sid, old, namespace=namespace)
                if inspect.isawaitable(left):
                    await left
            entered = sio.enter_room(sid, conversation, namespace=namespace)
            if inspect.isawaitable(entered):
                await entered
            self.sessions[sid] = conversation
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: Text, data: Dict) -> None:
            data = data if isinstance(data, dict) else {}
            conversation = self.sessions.get(sid)
            if conversation is None:
                logger.warning("socketio: a message before session_request was ignored")
                return
            message = data.get("message")
            if not isinstance(message, str):
                return
            wait = limits.admit(conversation, self.clients.get(sid, "unknown"))
            if wait is not None:
                logger.info("socketio: a turn was refused by the chat limits (retry in %.0f s)", wait)
                await sio.emit(self.bot_message_evt, {"text": wait_text(wait)}, room=sid, namespace=namespace)
                return
            text, was_cut = cut(chat_text(message))
            if was_cut:
                await bot_says(conversation, CUT_NOTICE)
            # the browser's metadata is not passed on: nothing it sends says who the person is
            await on_new_message(
                UserMessage(
                    text,
                    SocketIOOutput(sio, self.bot_message_evt),
                    conversation,
                    input_channel=self.name(),
                    metadata={},
                )
            )

        return bp

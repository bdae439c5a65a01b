"""Linkage's Rasa input channels: signed Twilio SMS and voice, and the web chat page.

Rasa's own Twilio channels do not check ``X-Twilio-Signature``; these do, and refuse an
unsigned or wrongly signed request with 403 before anything reaches the assistant.

Configured in ``assistant/credentials.yml`` (keys below) with the environment as fallback,
so the same file serves a developer's machine, the tests and production:

``auth_token``   Twilio auth token; else ``TWILIO_AUTH_TOKEN``. Without one every Twilio
                 request is refused (403) and the reason is logged: never accept unsigned.
``public_url``   the public base URL Twilio calls (``https://linkage.example.org``, maybe with
                 a path prefix if a proxy mounts Rasa under one); else ``PUBLIC_BASE_URL``.
                 Twilio signs the exact URL it requested, so the URL checked is this base +
                 the request's path (+ ``?query``). Without it, the URL as this server saw it.
``helpline``     the helpline number said when a call ends in silence; else ``LINKAGE_HELPLINE``.

This module holds what the channels share (Twilio signatures, the client's address, the guard
that keeps Rasa's HTTP API to this machine); it is imported only by the Rasa server
(``.venv-rasa``).

Conversation ids are made here, never taken from the caller: ``rest:<sender>`` (REST),
``web:<session>`` (web chat), and only the signed Twilio channels make ``sms:<From>`` and
``voice:<From>:<CallSid>``. The actions treat a conversation as a phone number's only when its
id has that form *and* its latest message came in on the signed channel.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections import OrderedDict
from typing import Any, Dict, Generic, List, Optional, Tuple, TypeVar

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from hub import twilio_signature as signatures
from hub.twilio_signature import SIGNATURE_HEADER, FormParams
from telecare.privacy import mask_phones

logger = logging.getLogger(__name__)


class NoPeopleInLogs(logging.Filter):
    """On every handler of the assistant's process (docs/data-protection.md, "Logs"): Rasa's and
    Sanic's DEBUG lines are dropped (Rasa logs each user message, its slots and the tracker there,
    so ``rasa run --debug`` would write what people told us), and any phone number left in a line,
    a conversation id for one, is masked but for its last three digits."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO and record.name.split(".")[0] in ("rasa", "rasa_sdk", "sanic", "apscheduler"):
            return False
        message = record.getMessage()
        masked = mask_phones(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def guard_logs() -> None:
    """Install ``NoPeopleInLogs`` on the root logger's handlers (Rasa has made them by the time it
    loads the channels); idempotent."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, NoPeopleInLogs) for f in handler.filters):
            handler.addFilter(NoPeopleInLogs())


guard_logs()

DEFAULT_HELPLINE = "01632 960000"

K = TypeVar("K")
V = TypeVar("V")


def setting(credentials: Optional[Dict[str, Any]], key: str, env: str, default: Optional[str] = None) -> Optional[str]:
    """A credentials value, else the environment variable, else ``default`` (blank counts as unset)."""
    value = (credentials or {}).get(key)
    if value is not None and str(value).strip():
        return str(value).strip()
    value = os.environ.get(env, "")
    if value.strip():
        return value.strip()
    return default


def form_params(request: Request) -> FormParams:
    """The form Twilio posted, blanks kept (Sanic's ``request.form`` drops them; Twilio signs them)."""
    return FormParams.from_pairs(signatures.form_pairs(request.body, request.content_type))


class TwilioSignature:
    """Checks ``X-Twilio-Signature`` of a webhook request against the public URL and the form
    (the check itself is ``hub/twilio_signature.py``, shared with the hub's /twilio routes)."""

    def __init__(self, channel: str, auth_token: Optional[str], public_url: Optional[str]) -> None:
        self.channel = channel
        self.auth_token = auth_token or None
        self.public_url = (public_url or "").strip().rstrip("/") or None
        if self.auth_token is None:
            logger.error(
                "%s: no Twilio auth token (credentials 'auth_token' or TWILIO_AUTH_TOKEN); "
                "every request to this channel will be refused with 403",
                channel,
            )
        if self.public_url is None:
            logger.warning(
                "%s: no public URL (credentials 'public_url' or PUBLIC_BASE_URL); signatures are "
                "checked against the URL this server sees, which fails behind a proxy",
                channel,
            )

    def url(self, request: Request) -> str:
        """The URL Twilio requested, as it signed it."""
        return signatures.public_url(self.public_url, request.path, request.query_string, seen=request.url)

    def webhook_url(self, request: Request) -> str:
        """This webhook's public URL without the query (for <Gather action=…>)."""
        url = self.url(request)
        return url.split("?", 1)[0]

    def verify(self, request: Request) -> Tuple[bool, FormParams]:
        params = form_params(request)
        url = self.url(request)
        why = signatures.refusal(
            self.auth_token,
            url,
            params,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(signatures.SETTINGS_HEADER),
        )
        if why == signatures.WRONG_SIGNATURE:
            logger.warning("%s: refused %s: %s (checked against %s)", self.channel, request.path, why, url)
        elif why:
            logger.warning("%s: refused %s: %s", self.channel, request.path, why)
        return why is None, params


class LRU(Generic[K, V]):
    """A small bounded map: the oldest entries go first."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> Optional[V]:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def pop(self, key: K) -> Optional[V]:
        return self._items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


def bot_texts(messages: List[Dict[str, Any]]) -> List[str]:
    """The text of what the bot said (buttons' titles appended as choices), in order."""
    out: List[str] = []
    for m in messages:
        text = (m.get("text") or "").strip()
        buttons = m.get("buttons") or m.get("quick_replies") or []
        titles = [str(b.get("title", "")).strip() for b in buttons if b.get("title")]
        if titles:
            choices = " or ".join(titles) if len(titles) <= 2 else ", ".join(titles[:-1]) + " or " + titles[-1]
            text = (text + " " if text else "") + f"({choices})"
        if text:
            out.append(text)
    return out


def wants_hangup(messages: List[Dict[str, Any]]) -> bool:
    return any(isinstance(m.get("custom"), dict) and m["custom"].get("hangup") for m in messages)


def user_text(text: Optional[str]) -> str:
    """What a caller typed or said, never read as a Rasa command: "/intent{…}" would skip NLU
    and the emergency rules, so leading slashes are dropped."""
    return (text or "").strip().lstrip("/").strip()


GREET = "/greet"  # what a channel says to start a conversation (the web chat page, a call's first request)


def chat_text(text: Optional[str]) -> str:
    """What someone typed in the web chat or sent over REST: like ``user_text``, except that the
    page's own opening "/greet" passes as it is."""
    raw = (text or "").strip() if isinstance(text, str) else ""
    return GREET if raw == GREET else user_text(raw)


def client_address(request: Request) -> str:
    """The client's address for rate limits: Sanic's ``remote_addr`` when it is configured to
    trust a proxy (``SANIC_PROXIES_COUNT`` / ``SANIC_REAL_IP_HEADER`` / ``SANIC_FORWARDED_SECRET``),
    else the socket's peer. Forwarded headers are never read on their own (they are forgeable)."""
    try:
        return request.remote_addr or request.ip or "unknown"
    except Exception:  # noqa: BLE001 - a request without a transport (tests)
        return "unknown"


# --- Rasa's HTTP API: this machine only -----------------------------------------------------------
PUBLIC_PATHS = ("/webhooks/", "/socket.io")  # the channels; everything else is Rasa's HTTP API
FORWARDED_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip", "x-forwarded-host")


def is_public_path(path: str) -> bool:
    return path.startswith(PUBLIC_PATHS)


def is_loopback(address: Optional[str]) -> bool:
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


async def api_guard(request: Request) -> Optional[HTTPResponse]:
    """A Sanic request middleware: Rasa's HTTP API (everything but the channels) answers only a
    client on this machine that came directly, not through a reverse proxy (a proxy adds
    X-Forwarded-For / Forwarded). The API's token is checked by Rasa as well."""
    if is_public_path(request.path):
        return None
    if is_loopback(request.ip) and not any(h in request.headers for h in FORWARDED_HEADERS):
        return None
    logger.warning(
        "refused %s %s from a non-local client: Rasa's HTTP API answers only on this machine",
        request.method,
        request.path.split("/")[1] if "/" in request.path else "",
    )
    return response.json(
        {
            "status": "failure",
            "reason": "Forbidden",
            "message": "Rasa's HTTP API answers only on this machine; the channels are under "
            "/webhooks/ and /socket.io/",
        },
        status=403,
    )


def guard_api(bp) -> None:
    """Install ``api_guard`` on the whole app from a channel's blueprint (once per app)."""

    @bp.listener("before_server_start")
    async def _install(app, _loop) -> None:
        if getattr(app.ctx, "linkage_api_guard", False):
            return
        app.ctx.linkage_api_guard = True
        app.register_middleware(api_guard, "request")
        logger.info("Rasa's HTTP API is limited to direct local clients; channels under %s", " and ".join(PUBLIC_PATHS))

"""REST: POST /webhooks/rest/webhook {"sender": …, "message": …}, answered with the bot's messages.

Rasa's own REST channel with what it trusted taken away:

* The conversation id is ``rest:<sender>``: a REST client keeps its conversation over several
  turns by sending the same ``sender``, but can never name a conversation of another channel
  (``sms:+44…`` is the signed Twilio channel's). The sender is 1 to 128 printable characters.
* The input channel is always ``rest`` (Rasa's takes ``input_channel`` from the body), and the
  body's ``metadata`` is not passed on: nothing the caller sends says who they are.
* ``stream`` is not offered; the answer is always the JSON list of messages.
* A message is cut at ``limits.MAX_MESSAGE_CHARS`` before NLU (the reply starts with
  ``limits.CUT_NOTICE``), and turns are rate-limited per conversation and per client address
  (``LINKAGE_CHAT_LIMITS``): too many is HTTP 429 with ``Retry-After`` and a polite message.
* A leading "/" is dropped (a typed "/intent" would skip NLU and the emergency rules), except
  the opening "/greet".

This blueprint also installs the guard that keeps Rasa's HTTP API to this machine
(``assistant/connectors/__init__.py``, ``api_guard``).
"""

from __future__ import annotations

import logging
import math
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from . import chat_text, client_address, guard_api
from .limits import CUT_NOTICE, ChatLimits, cut

logger = logging.getLogger(__name__)

PREFIX = "rest:"
SENDER_MAX = 128


def wait_text(seconds: float) -> str:
    wait = max(1, math.ceil(seconds))
    unit = "second" if wait == 1 else "seconds"
    return (
        f"You're sending messages faster than I can answer. Please wait {wait} {unit} and try again. "
        "In an emergency, call 999."
    )


def valid_sender(sender: Any) -> bool:
    return (
        isinstance(sender, str) and 0 < len(sender) <= SENDER_MAX and sender.isprintable() and sender.strip() == sender
    )


class RestInput(RasaRestInput):
    """Rasa's REST channel, with the conversation id namespaced by the server."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(limits=ChatLimits.from_env())

    def __init__(self, limits: Optional[ChatLimits] = None) -> None:
        self.limits = limits if limits is not None else ChatLimits.from_env()

    @staticmethod
    def conversation_id(sender: str) -> str:
        return PREFIX + sender

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("linkage_rest", __name__)
        guard_api(bp)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except SanicException:
                body = None
            if not isinstance(body, dict):
                return response.json({"error": 'send JSON: {"sender": "…", "message": "…"}'}, status=400)
            sender, message = body.get("sender"), body.get("message")
            if not valid_sender(sender):
                return response.json({"error": f"sender must be 1 to {SENDER_MAX} printable characters"}, status=400)
            if not isinstance(message, str):
                return response.json({"error": "message must be a string"}, status=400)
            conversation = self.conversation_id(sender)
            wait = self.limits.admit(conversation, client_address(request))
            if wait is not None:
                logger.info("rest: a turn was refused by the chat limits (retry in %.0f s)", wait)
                return response.json(
                    [{"recipient_id": conversation, "text": wait_text(wait)}],
                    status=429,
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
            text, was_cut = cut(chat_text(message))
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, conversation, input_channel=self.name(), metadata=None)
                )
            except Exception:  # noqa: BLE001 - the caller still gets an answer (what was said so far)
                logger.exception("rest: the assistant failed on a turn")
            messages = list(collector.messages)
            if was_cut:
                messages.insert(0, {"recipient_id": conversation, "text": CUT_NOTICE})
            return response.json(messages)

        return bp

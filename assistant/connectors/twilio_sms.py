"""Signed Twilio SMS: POST /webhooks/twilio_sms/webhook, answered with TwiML in the response.

* ``X-Twilio-Signature`` is checked first (see ``assistant/connectors/__init__.py``): missing or
  wrong is 403 and nothing reaches the assistant.
* The conversation is the number's: sender id ``sms:<From>``, metadata ``phone``, ``channel``
  and ``message_sid``. Only this channel (and the voice one) makes ``sms:`` ids, and the actions
  believe the number only when the message came in on this channel.
* A message is cut at ``limits.MAX_MESSAGE_CHARS`` before NLU; the reply starts with
  ``limits.CUT_NOTICE``. (No rate limit: Twilio signs every request.)
* The bot's replies are joined and split into <Message> parts of at most 153 characters at
  sentence and line ends (``telecare.assistant.sms.split``), at most 6 parts.
* Twilio retries a webhook that timed out or failed: a MessageSid already seen is not given to
  the assistant again; the retry gets the same TwiML (waiting for the first if it is still
  being answered). A bounded in-memory LRU of the last few thousand sids is enough for that.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.messaging_response import MessagingResponse

from telecare.assistant import sms
from telecare.privacy import mask_phone

from . import DEFAULT_HELPLINE, LRU, TwilioSignature, bot_texts, setting, user_text
from .limits import CUT_NOTICE, cut

logger = logging.getLogger(__name__)

SMS_LIMIT = 153
MAX_PARTS = 6
RETRY_WAIT = 12.0  # seconds a retry waits for the first delivery's answer (Twilio gives up at 15)


def twiml(parts: List[str]) -> str:
    r = MessagingResponse()
    for part in parts:
        r.message(part)
    return str(r)


EMPTY_TWIML = twiml([])


class TwilioSmsInput(InputChannel):
    """Twilio SMS, signed, answered in the webhook's response."""

    @classmethod
    def name(cls) -> Text:
        return "twilio_sms"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(
            auth_token=setting(credentials, "auth_token", "TWILIO_AUTH_TOKEN"),
            public_url=setting(credentials, "public_url", "PUBLIC_BASE_URL"),
            helpline=setting(credentials, "helpline", "LINKAGE_HELPLINE", DEFAULT_HELPLINE),
        )

    def __init__(
        self,
        auth_token: Optional[str] = None,
        public_url: Optional[str] = None,
        helpline: str = DEFAULT_HELPLINE,
        seen_size: int = 5000,
    ) -> None:
        self.signature = TwilioSignature(self.name(), auth_token, public_url)
        self.helpline = helpline
        self.seen: LRU[str, asyncio.Future[str]] = LRU(seen_size)

    def apology(self) -> str:
        return (
            f"Sorry, I can't answer just now. Please call the Linkage helpline on {self.helpline}. "
            "In an emergency call 999."
        )

    def reply_twiml(self, messages: List[Dict[str, Any]], notice: Optional[str] = None) -> str:
        texts = [sms.plain(t) for t in ([notice] if notice else []) + bot_texts(messages)]
        if not texts:
            return EMPTY_TWIML
        return twiml(sms.split("\n".join(texts), limit=SMS_LIMIT, max_parts=MAX_PARTS))

    async def answer(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], form) -> str:
        sender = form.first("From", "").strip()
        sid = form.first("MessageSid") or form.first("SmsSid")
        text, was_cut = cut(user_text(form.first("Body")))
        if not text:
            media = (form.first("NumMedia") or "0").strip()
            if media.isdigit() and int(media) > 0:
                return twiml(["Sorry, I can only read text messages. Please tell me in words what would help."])
            return EMPTY_TWIML
        collector = CollectingOutputChannel()
        try:
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    f"sms:{sender}",
                    input_channel=self.name(),
                    message_id=sid,
                    metadata={"phone": sender, "channel": "sms", "message_sid": sid},
                )
            )
        except Exception:  # noqa: BLE001 - the person still gets an answer
            logger.exception("twilio_sms: the assistant failed on %s", sid)
            return twiml([self.apology()])
        if not collector.messages:
            logger.warning("twilio_sms: the assistant said nothing to %s (%s)", sid, mask_phone(sender))
            return twiml([self.apology()])
        return self.reply_twiml(collector.messages, CUT_NOTICE if was_cut else None)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("linkage_twilio_sms", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            ok, form = self.signature.verify(request)
            if not ok:
                return response.text("Forbidden: X-Twilio-Signature is missing or wrong", status=403)
            if not form.first("From"):
                return response.text(EMPTY_TWIML, content_type="text/xml")
            sid = form.first("MessageSid") or form.first("SmsSid")
            if sid:
                earlier = self.seen.get(sid)
                if earlier is not None:
                    logger.info("twilio_sms: %s again (a retry): not processed twice", sid)
                    try:
                        body = await asyncio.wait_for(asyncio.shield(earlier), RETRY_WAIT)
                    except asyncio.TimeoutError:
                        body = EMPTY_TWIML
                    return response.text(body, content_type="text/xml")
                done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
                self.seen.put(sid, done)
            try:
                body = await self.answer(on_new_message, form)
            except BaseException:
                body = EMPTY_TWIML
                raise
            finally:
                if sid and not done.done():
                    done.set_result(body)
            return response.text(body, content_type="text/xml")

        return bp

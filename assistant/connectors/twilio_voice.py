"""Signed Twilio voice: POST /webhooks/twilio_voice/webhook, a spoken conversation by <Say> and <Gather>.

* ``X-Twilio-Signature`` is checked first (see ``assistant/connectors/__init__.py``): missing or
  wrong is 403 and nothing reaches the assistant.
* A call is its own conversation: sender id ``voice:<From>:<CallSid>`` (an SMS conversation
  with the same number carries on undisturbed). Metadata ``phone``, ``channel``, ``call_sid``.
* What the caller said is cut at ``limits.MAX_MESSAGE_CHARS`` before NLU (the answer first says
  ``limits.CUT_NOTICE``).
* The call's first request (no SpeechResult or Digits) says "/greet" to the assistant; later
  requests carry what the caller said (SpeechResult) or keyed (Digits).
* Each bot message is a <Say voice="Polly.Amy" language="en-GB"> at 85% speed, made speakable
  (no web addresses; phone numbers digit by digit, ``telecare.assistant.sms.speakable``), then a
  <Gather> (speech or keypad) posts the answer back here. Silence once: "sorry, I didn't hear
  anything" and the last question again; silence twice in a row: goodbye with the helpline
  number and <Hangup/>. A bot message with custom data {"hangup": true} ends the call after
  it has been said.

The silence count and the last thing said are kept per CallSid in a bounded in-memory LRU;
whether a call has started is also read from the tracker, so a restart mid-call does not
greet the caller again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.voice_response import Gather, Say, VoiceResponse

from telecare.assistant import sms
from telecare.privacy import mask_phone

from . import DEFAULT_HELPLINE, LRU, TwilioSignature, bot_texts, setting, user_text, wants_hangup
from .limits import CUT_NOTICE, cut

logger = logging.getLogger(__name__)

VOICE = "Polly.Amy"
LANGUAGE = "en-GB"
RATE = "85%"
GATHER_TIMEOUT = 6  # seconds of silence before the Gather gives up
SILENCES_BEFORE_GOODBYE = 2
ENDED = {"completed", "busy", "failed", "no-answer", "canceled"}
GREET = "/greet"


@dataclass
class CallState:
    started: bool = False
    silences: int = 0
    last: List[str] = field(default_factory=list)
    hints: str = ""  # the speech hints of the last question, for asking it again


MAX_HINTS = 500  # Twilio's limits: 500 phrases of at most 100 characters, comma-separated


def speech_hints(messages: List[Dict[str, Any]]) -> str:
    """The ``hints`` for the next <Gather>: what the actions expect the caller to say next (a
    postcode: the council's districts and towns), sent as custom ``{"hints": [...]}``."""
    phrases: List[str] = []
    for m in messages:
        custom = m.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("hints"), list):
            phrases += [" ".join(str(h).replace(",", " ").split())[:100] for h in custom["hints"] if isinstance(h, str)]
    return ", ".join(dict.fromkeys(p for p in phrases if p))[:20_000] if phrases else ""


class TwilioVoiceInput(InputChannel):
    """Twilio voice, signed, answered with TwiML."""

    @classmethod
    def name(cls) -> Text:
        return "twilio_voice"

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
        calls_size: int = 2000,
    ) -> None:
        self.signature = TwilioSignature(self.name(), auth_token, public_url)
        self.helpline = helpline
        self.calls: LRU[str, CallState] = LRU(calls_size)

    # --- what is said -------------------------------------------------------------------

    @staticmethod
    def say(target, text: str) -> None:
        spoken = sms.speakable(text)
        if not spoken:
            return
        s = Say(voice=VOICE, language=LANGUAGE)
        s.prosody(spoken, rate=RATE)
        target.append(s)

    def goodbye_text(self) -> str:
        return (
            f"I haven't heard anything, so I'll say goodbye for now. If you need us, please call the "
            f"Linkage helpline on {self.helpline}. In an emergency, call 999. Goodbye."
        )

    def apology_text(self) -> str:
        return (
            f"Sorry, I can't answer just now. Please call the Linkage helpline on {self.helpline}. "
            "In an emergency, call 999. Goodbye."
        )

    def conversation(self, texts: List[str], action: str, hints: str = "") -> str:
        r = VoiceResponse()
        for text in texts:
            self.say(r, text)
        extra = {"hints": hints} if hints else {}
        r.append(
            Gather(
                input="speech dtmf",
                action=action,
                method="POST",
                speech_timeout="auto",
                language=LANGUAGE,
                timeout=GATHER_TIMEOUT,
                action_on_empty_result=True,
                **extra,
            )
        )
        return str(r)

    def ending(self, texts: List[str]) -> str:
        r = VoiceResponse()
        for text in texts:
            self.say(r, text)
        r.hangup()
        return str(r)

    # --- the assistant ------------------------------------------------------------------

    async def ask(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        sender_id: str,
        caller: str,
        call_sid: str,
    ) -> Optional[List[Dict[str, Any]]]:
        collector = CollectingOutputChannel()
        try:
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender_id,
                    input_channel=self.name(),
                    metadata={"phone": caller, "channel": "voice", "call_sid": call_sid},
                )
            )
        except Exception:  # noqa: BLE001 - the caller still hears something
            logger.exception("twilio_voice: the assistant failed on call %s", call_sid)
            return None
        return collector.messages

    @staticmethod
    async def call_has_started(request: Request, sender_id: str) -> bool:
        """Whether this conversation already has a user turn (the in-memory state may be gone)."""
        try:
            tracker = await request.app.ctx.agent.tracker_store.retrieve(sender_id)
        except Exception:  # noqa: BLE001
            logger.exception("twilio_voice: could not read the tracker of %s", mask_phone(sender_id))
            return False
        return bool(tracker) and any(isinstance(e, UserUttered) for e in tracker.events)

    @staticmethod
    async def last_bot_text(request: Request, sender_id: str) -> Optional[str]:
        try:
            tracker = await request.app.ctx.agent.tracker_store.retrieve(sender_id)
        except Exception:  # noqa: BLE001
            return None
        if not tracker:
            return None
        for e in reversed(tracker.events):
            if isinstance(e, BotUttered) and e.text:
                return e.text
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("linkage_twilio_voice", __name__)

        def xml(body: str) -> HTTPResponse:
            return response.text(body, content_type="text/xml")

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            ok, form = self.signature.verify(request)
            if not ok:
                return response.text("Forbidden: X-Twilio-Signature is missing or wrong", status=403)
            call_sid = (form.first("CallSid") or "").strip()
            caller = (form.first("From") or "").strip()
            status = (form.first("CallStatus") or "").strip().lower()
            if not call_sid or status in ENDED:
                if call_sid:
                    self.calls.pop(call_sid)
                return xml(str(VoiceResponse()))
            sender_id = f"voice:{caller}:{call_sid}"
            action = self.signature.webhook_url(request)
            state = self.calls.get(call_sid)
            if state is None:
                state = CallState(started=await self.call_has_started(request, sender_id))
                self.calls.put(call_sid, state)

            said, was_cut = cut(user_text(form.first("SpeechResult")) or user_text(form.first("Digits")))
            if said:
                state.silences = 0
                messages = await self.ask(on_new_message, said, sender_id, caller, call_sid)
            elif not state.started:
                state.started = True
                messages = await self.ask(on_new_message, GREET, sender_id, caller, call_sid)
            else:
                state.silences += 1
                if state.silences >= SILENCES_BEFORE_GOODBYE:
                    logger.info("twilio_voice: call %s silent %d times: goodbye", call_sid, state.silences)
                    self.calls.pop(call_sid)
                    return xml(self.ending([self.goodbye_text()]))
                last = state.last[-1:] or [t for t in [await self.last_bot_text(request, sender_id)] if t]
                return xml(self.conversation(["Sorry, I didn't hear anything.", *last], action, state.hints))

            state.started = True
            texts = bot_texts(messages or [])
            if said and was_cut and texts:
                texts.insert(0, CUT_NOTICE)
            if not texts:
                logger.warning("twilio_voice: the assistant said nothing on call %s", call_sid)
                self.calls.pop(call_sid)
                return xml(self.ending([self.apology_text()]))
            state.last = [t for t in texts if t != CUT_NOTICE]  # said again after a silence
            state.hints = speech_hints(messages or [])
            if wants_hangup(messages or []):
                self.calls.pop(call_sid)
                return xml(self.ending(texts))
            return xml(self.conversation(texts, action, state.hints))

        return bp

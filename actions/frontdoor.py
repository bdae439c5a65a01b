"""One action per kind of request; each is a thin call of ``telecare.assistant.frontdoor.turn``.

The conversation's harmless state (what was asked last, postcode, needs) lives in the
unfeaturized slot ``conversation``; what the person said, and on which channel, comes from the
tracker. Who the caller is never comes from the slot: the phone from ``caller`` (signed Twilio
only), and the enquiry and resident from the hub's own record of the conversation id
(``telecare.assistant.frontdoor``).
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from telecare.assistant import frontdoor
from telecare.enquiry.channels import Channel

from .context import current

# Rasa input channel -> the enquiry's channel
CHANNELS = {
    "twilio_sms": Channel.SMS,
    "twilio_voice": Channel.VOICE,
    "socketio": Channel.WEB,
    "webchat": Channel.WEB,
    "rest": Channel.REST,
}
# the signed Twilio channels, and the conversation ids only they make
SIGNED = {Channel.SMS: "twilio_sms", Channel.VOICE: "twilio_voice"}
PHONE = re.compile(r"\+[1-9][0-9]{6,15}")


def caller(tracker: Tracker) -> tuple[Channel, str | None]:
    """(channel, phone). A phone number is believed only when BOTH the conversation id has the
    form the signed Twilio channels give it (``sms:+44…``, ``voice:+44…:CA…``) AND the latest
    message came in on that signed channel. Every other conversation is anonymous: REST
    (``rest:…``) and web chat (``web:…``) ids are made by our channels, so a caller cannot
    choose ``sms:+44…``, and the channel check stands even if an id were forged some other way."""
    sender = tracker.sender_id or ""
    latest = tracker.get_latest_input_channel() or ""
    prefix, _, rest = sender.partition(":")
    anonymous = Channel.REST if sender.startswith("rest:") else Channel.WEB
    if prefix in SIGNED and latest == SIGNED[Channel(prefix)]:
        number = rest.split(":")[0]
        if PHONE.fullmatch(number) and (prefix == Channel.SMS or rest.count(":") == 1):
            return Channel(prefix), number
    channel = CHANNELS.get(latest, anonymous)
    if channel.signed:  # a Twilio channel's name on a conversation that is not its own
        channel = anonymous
    return channel, None


class FrontDoorAction(Action):
    """Every front-door action: one class, one instance per name (``ACTIONS``). rasa_sdk's executor
    registers an instance by its ``name()`` (hub/web/assistant_routes.py registers ``ACTIONS``)."""

    def __init__(self, action_name: str) -> None:
        self.action_name = action_name

    def name(self) -> str:
        return self.action_name

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        ctx = current()
        message = tracker.latest_message or {}
        channel, phone = caller(tracker)
        guess = message.get("intent") or {}
        confidence = guess.get("confidence")
        t = frontdoor.Turn(
            intent=guess.get("name"),
            text=message.get("text") or "",
            channel=channel,
            phone=phone,
            conversation_id=tracker.sender_id,
            confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
            ranking=tuple((message.get("intent_ranking") or [])[:10]),
        )
        with ctx.sessions() as s, s.begin():
            reply = frontdoor.turn(s, t, tracker.get_slot("conversation"), ctx.clock.now())
        for i, text in enumerate(reply.messages):
            if i == len(reply.messages) - 1 and reply.buttons:
                dispatcher.utter_message(text=text, buttons=reply.buttons)  # the web chat's quick replies
            else:
                dispatcher.utter_message(text=text)
        if reply.hints and channel == "voice":
            dispatcher.utter_message(json_message={"hints": reply.hints})  # for the next <Gather>
        if reply.hangup and channel == "voice":
            dispatcher.utter_message(json_message={"hangup": True})
        return [SlotSet("conversation", reply.state)]


ACTION_NAMES = (
    "action_greet",
    "action_goodbye",
    "action_thank",
    "action_yes",
    "action_no",
    "action_bot_challenge",
    "action_cannot_help",
    "action_take_postcode",
    "action_handoff",
    "action_checkin_signup",
    "action_emergency",
    "action_safeguarding",
    "action_signpost",
)
ACTIONS = [FrontDoorAction(n) for n in ACTION_NAMES]

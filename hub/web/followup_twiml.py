"""TwiML for an introduction's follow-up call (a Notification of purpose ``followup`` on the voice
channel: a landline, or someone who rang the helpline), served from the same signed webhooks as
alert and check-in calls (``/twilio/voice/{id}`` and ``/twilio/voice/{id}/gather``).

Like the check-in call: the question said slowly ("... Have they been in touch? If they have, say
yes or press 1. If not, say no or press 2."), asked twice, one key or a few words heard. The
answer goes through ``telecare.enquiry.followup.route_reply`` exactly as a texted one would: yes
is recorded as ``worked``; no as ``not_contacted`` with a call-back for staff; anything else is
asked once more. Nothing heard: goodbye, and the follow-up stays unanswered on the console.
"""
from __future__ import annotations

from fastapi import Request
from twilio.twiml.voice_response import VoiceResponse

from telecare.consent import service as consent
from telecare.enquiry import followup
from telecare.notification.models import Notification

from .checkin_twiml import LANGUAGE, say

HINTS = "yes, yes they have, they rang, no, not yet, they haven't, nobody rang"
NOT_HEARD = "We didn't hear an answer. If you need us, ring the Linkage helpline. Goodbye."
GONE = "This is Linkage. This call is no longer needed. Goodbye."


def _ask(vr: VoiceResponse, notification_id: int, words: str, again: str | None, base_url: str) -> None:
    listen = dict(input="dtmf speech", num_digits=1, timeout=8, method="POST", hints=HINTS, language=LANGUAGE,
                  speech_timeout="auto", action=base_url + f"/twilio/voice/{notification_id}/gather")
    say(vr.gather(**listen), words, slow=True)
    if again:
        say(vr.gather(**listen), again, slow=True)
    say(vr, NOT_HEARD, slow=True)
    vr.hangup()


def _question(n: Notification) -> str:
    return n.body.split(". ", 1)[-1] if ". " in n.body else n.body


def call(request: Request, s, n: Notification, *, now, base_url: str) -> VoiceResponse:
    """The call has been answered by a person: the follow-up's question."""
    vr = VoiceResponse()
    if not followup.pending(s, n.to, now) or consent.opted_out(s, n.to):  # replied STOP since it was placed
        say(vr, GONE)
        vr.hangup()
        return vr
    _ask(vr, n.id, n.body, "I'll say that again. " + _question(n), base_url)
    return vr


def gather(request: Request, s, n: Notification, *, now, digits: str | None, speech: str | None,
           provider_sid: str | None, base_url: str) -> VoiceResponse:
    """What the person pressed or said."""
    vr = VoiceResponse()
    if not digits and not speech:
        _ask(vr, n.id, "Sorry, I didn't catch that. " + _question(n), None, base_url)
        return vr
    # On a call we placed, Twilio's From is our own number: the person is the one we called.
    result = followup.route_reply(s, phone=n.to, body=speech, digits=digits, now=now, channel="voice",
                                  provider_sid=provider_sid)
    if result is None:
        say(vr, GONE)
        vr.hangup()
        return vr
    if result.meaning == "unknown":
        _ask(vr, n.id, result.answer, None, base_url)
        return vr
    n.status, n.updated_at = "replied", now
    say(vr, result.answer + " Goodbye.", slow=True)
    vr.hangup()
    return vr


__all__ = ["call", "gather"]

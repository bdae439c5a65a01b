"""TwiML for an introduction's follow-up call (a Notification of purpose ``followup`` on the voice
channel: a landline, or someone who rang the helpline), served from the same signed webhooks as
alert and check-in calls (``/twilio/voice/{id}`` and ``/twilio/voice/{id}/gather``).

Like the check-in call (the same builder, voice_twiml.py): the question said slowly ("... Have
they been in touch? If they have, say yes or press 1. If not, say no or press 2."), asked twice,
one key or a few words heard. The answer goes through ``telecare.enquiry.followup.route_reply``
exactly as a texted one would: yes is recorded as ``worked``; no as ``not_contacted`` with a
call-back for staff; anything else is asked once more. Nothing heard: goodbye, and the follow-up
stays unanswered on the console. The words: telecare/wording/voice.py.
"""

from __future__ import annotations

from fastapi import Request
from twilio.twiml.voice_response import VoiceResponse

from telecare.consent import service as consent
from telecare.enquiry import followup
from telecare.notification.models import Notification
from telecare.wording import voice as words

from .voice_twiml import ask, end, gather_url, gone


def _ask(vr: VoiceResponse, n: Notification, text: str, again: str | None, base_url: str) -> VoiceResponse:
    return ask(
        vr, gather_url(base_url, n.id), text, again, hints=words.FOLLOWUP_HINTS, goodbye=words.FOLLOWUP_NOT_HEARD
    )


def _question(n: Notification) -> str:
    return n.body.split(". ", 1)[-1] if ". " in n.body else n.body


def call(request: Request, s, n: Notification, *, now, base_url: str) -> VoiceResponse:
    """The call has been answered by a person: the follow-up's question."""
    if not followup.pending(s, n.to, now) or consent.opted_out(s, n.to):  # replied STOP since it was placed
        return gone()
    return _ask(VoiceResponse(), n, n.body, words.SAY_AGAIN + _question(n), base_url)


def gather(
    request: Request,
    s,
    n: Notification,
    *,
    now,
    digits: str | None,
    speech: str | None,
    provider_sid: str | None,
    base_url: str,
) -> VoiceResponse:
    """What the person pressed or said."""
    vr = VoiceResponse()
    if not digits and not speech:
        return _ask(vr, n, words.NOT_CAUGHT + _question(n), None, base_url)
    # On a call we placed, Twilio's From is our own number: the person is the one we called.
    result = followup.route_reply(
        s, phone=n.to, body=speech, digits=digits, now=now, channel="voice", provider_sid=provider_sid
    )
    if result is None:
        return gone()
    if result.meaning == "unknown":
        return _ask(vr, n, result.answer, None, base_url)
    n.status, n.updated_at = "replied", now
    return end(vr, result.answer + words.GOODBYE, slow=True)


__all__ = ["call", "gather"]

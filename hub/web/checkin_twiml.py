"""TwiML for a check-in call (a Notification of purpose ``checkin``), served from the same
signed webhooks as alert calls (``/twilio/voice/{id}`` and ``/twilio/voice/{id}/gather``).

The call greets the resident by name, slowly (SSML prosody), asks how they are and listens for
one key or a few words: 1 / "I'm fine", 2 / "I need help", 3 / "I'd like a chat". It asks
twice; if nothing is heard it says goodbye, the call completes unanswered and the attempt
counts as missed (the hub rings again after ``retry``). "Not so good" in speech is recorded and
offers help (2) or a chat (3) before goodbye. An answering machine is hung up on before a
word is said (the route does that for every call).
"""
from __future__ import annotations

from fastapi import Request
from twilio.twiml.voice_response import VoiceResponse

from hub.config import TwilioSettings
from telecare.checkin import replies as checkin_replies
from telecare.checkin import service as checkins
from telecare.checkin.models import HELP, NOT_SO_GOOD, PENDING
from telecare.checkin.words import UNKNOWN, first_name
from telecare.enquiry.channels import Channel
from telecare.notification.models import Notification
from telecare.site.models import Resident

_VOICE = TwilioSettings.from_env()  # TWILIO_VOICE, TWILIO_LANGUAGE: as for alert calls (hub/web/twilio_routes.py)
VOICE, LANGUAGE = _VOICE.voice, _VOICE.language
HINTS = "I'm fine, fine, I need help, help, I'd like a chat, chat, not too good"
NOT_HEARD = "We didn't hear an answer, so we'll try you again a little later. Goodbye."
GONE = "This is Linkage. This call is no longer needed. Goodbye."


def say(parent, text: str, slow: bool = False) -> None:
    if slow:
        parent.say(voice=VOICE, language=LANGUAGE).prosody(text, rate="slow")
    else:
        parent.say(text, voice=VOICE, language=LANGUAGE)


def _ask(request: Request, vr: VoiceResponse, notification_id: int, words: str, again: str | None,
         base_url: str, goodbye: str = NOT_HEARD) -> None:
    listen = dict(input="dtmf speech", num_digits=1, timeout=8, method="POST", hints=HINTS, language=LANGUAGE,
                  speech_timeout="auto", action=base_url + f"/twilio/voice/{notification_id}/gather")
    say(vr.gather(**listen), words, slow=True)
    if again:
        say(vr.gather(**listen), again, slow=True)
    say(vr, goodbye, slow=True)
    vr.hangup()


def call(request: Request, s, n: Notification, base_url: str) -> VoiceResponse:
    """The call has been answered by a person: greet and ask."""
    vr = VoiceResponse()
    c = checkins.for_notification(s, n)
    if c is None or c.state != PENDING or not c.attempts or c.attempts[-1].notification_id != n.id:
        say(vr, GONE)
        vr.hangup()
        return vr
    _ask(request, vr, n.id, n.body, "I'll say that again. " + n.body.split(". ", 1)[-1], base_url)
    return vr


def gather(request: Request, s, n: Notification, *, now, digits: str | None, speech: str | None,
           provider_sid: str | None, base_url: str) -> VoiceResponse:
    """What the resident pressed or said."""
    vr = VoiceResponse()
    c = checkins.for_notification(s, n)
    if c is None:
        say(vr, GONE)
        vr.hangup()
        return vr
    r = s.get(Resident, c.resident_id)
    if not digits and not speech:
        _ask(request, vr, n.id, "Sorry, I didn't catch that. " + n.body.split(". ", 1)[-1], None, base_url)
        return vr
    # On a call we placed, Twilio's From is our own number: the person is the one we called.
    result = checkin_replies.route(s, phone=n.to, now=now, body=speech, digits=digits, channel=Channel.VOICE,
                                   provider_sid=provider_sid, notification_id=n.id)
    if result is None or result.meaning == UNKNOWN:
        words = (result.answer if result and result.answer else f"Sorry, {first_name(r.name)}, I didn't catch that.")
        _ask(request, vr, n.id, words + " " + n.body.split("How are you today? ", 1)[-1], None, base_url)
        return vr
    if result.meaning == NOT_SO_GOOD and c.help_alert_id is None:
        _ask(request, vr, n.id, result.answer, None, base_url,
             goodbye=f"Take care, {first_name(r.name)}. We'll be thinking of you. Goodbye.")
        return vr
    say(vr, result.answer + (" Goodbye." if result.meaning != HELP else " Goodbye for now."), slow=True)
    vr.hangup()
    return vr

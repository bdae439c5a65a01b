"""TwiML for a check-in call (a Notification of purpose ``checkin``), served from the same
signed webhooks as alert calls (``/twilio/voice/{id}`` and ``/twilio/voice/{id}/gather``).

The call greets the resident by name, slowly (SSML prosody), asks how they are and listens for
one key or a few words: 1 / "I'm fine", 2 / "I need help", 3 / "I'd like a chat". It asks
twice; if nothing is heard it says goodbye, the call completes unanswered and the attempt
counts as missed (the hub rings again after ``retry``). "Not so good" in speech is recorded and
offers help (2) or a chat (3) before goodbye. An answering machine is hung up on before a
word is said (the route does that for every call). Speaking and listening: voice_twiml.py;
the words: telecare/wording/voice.py.
"""

from __future__ import annotations

from fastapi import Request
from twilio.twiml.voice_response import VoiceResponse

from telecare.checkin import replies as checkin_replies
from telecare.checkin import service as checkins
from telecare.checkin.models import HELP, NOT_SO_GOOD, PENDING
from telecare.checkin.words import UNKNOWN
from telecare.enquiry.channels import Channel
from telecare.notification.models import Notification
from telecare.site.models import Resident
from telecare.wording import voice as words

from .voice_twiml import ask, end, gather_url, gone


def _ask(
    vr: VoiceResponse,
    n: Notification,
    text: str,
    again: str | None,
    base_url: str,
    goodbye: str = words.CHECKIN_NOT_HEARD,
) -> VoiceResponse:
    return ask(vr, gather_url(base_url, n.id), text, again, hints=words.CHECKIN_HINTS, goodbye=goodbye)


def call(request: Request, s, n: Notification, base_url: str) -> VoiceResponse:
    """The call has been answered by a person: greet and ask."""
    c = checkins.for_notification(s, n)
    if c is None or c.state != PENDING or not c.attempts or c.attempts[-1].notification_id != n.id:
        return gone()
    return _ask(VoiceResponse(), n, n.body, words.SAY_AGAIN + n.body.split(". ", 1)[-1], base_url)


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
    """What the resident pressed or said."""
    vr = VoiceResponse()
    c = checkins.for_notification(s, n)
    if c is None:
        return gone()
    r = s.get(Resident, c.resident_id)
    if not digits and not speech:
        return _ask(vr, n, words.NOT_CAUGHT + n.body.split(". ", 1)[-1], None, base_url)
    # On a call we placed, Twilio's From is our own number: the person is the one we called.
    result = checkin_replies.route(
        s,
        phone=n.to,
        now=now,
        body=speech,
        digits=digits,
        channel=Channel.VOICE,
        provider_sid=provider_sid,
        notification_id=n.id,
    )
    if result is None or result.meaning == UNKNOWN:
        said = result.answer if result and result.answer else words.not_caught(r.name)
        return _ask(vr, n, said + " " + n.body.split("How are you today? ", 1)[-1], None, base_url)
    if result.meaning == NOT_SO_GOOD and c.help_alert_id is None:
        return _ask(vr, n, result.answer, None, base_url, goodbye=words.take_care(r.name))
    return end(vr, result.answer + (words.GOODBYE if result.meaning != HELP else words.GOODBYE_FOR_NOW), slow=True)

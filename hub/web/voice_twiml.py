"""Speaking and listening on a call we placed (TwiML), one builder for the alert call
(twilio_routes.py), the check-in call (checkin_twiml.py) and the follow-up call (followup_twiml.py).

Every question is said slowly (SSML prosody) inside a ``<Gather>`` that takes one key or a few
words (``input="dtmf speech"``, with hints of what we expect to hear), posted to the call's
``/twilio/voice/{id}/gather``; said once more if nothing is heard; then a goodbye and hang up.
The words themselves are in telecare/wording/voice.py.
"""

from __future__ import annotations

from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from hub.config import TwilioSettings
from telecare.wording import voice as words

_VOICE = TwilioSettings.from_env()  # TWILIO_VOICE (SSML <prosody> needs a Polly or Google voice), TWILIO_LANGUAGE
VOICE, LANGUAGE = _VOICE.voice, _VOICE.language


def say(parent: Any, text: str, slow: bool = False) -> None:
    if slow:
        parent.say(voice=VOICE, language=LANGUAGE).prosody(text, rate="slow")
    else:
        parent.say(text, voice=VOICE, language=LANGUAGE)


def ask(
    vr: VoiceResponse,
    gather_url: str,
    words_: str,
    again: str | None,
    *,
    hints: str,
    goodbye: str,
    slow_goodbye: bool = True,
) -> VoiceResponse:
    """Say ``words_`` slowly and listen; if nothing is heard, say ``again`` (when given); then
    ``goodbye`` and hang up (the call ends unanswered)."""
    listen = dict(
        input="dtmf speech",
        num_digits=1,
        timeout=8,
        method="POST",
        hints=hints,
        language=LANGUAGE,
        speech_timeout="auto",
        action=gather_url,
    )
    say(vr.gather(**listen), words_, slow=True)
    if again:
        say(vr.gather(**listen), again, slow=True)
    say(vr, goodbye, slow=slow_goodbye)
    vr.hangup()
    return vr


def end(vr: VoiceResponse, text: str, slow: bool = False) -> VoiceResponse:
    """Say ``text`` and hang up."""
    say(vr, text, slow=slow)
    vr.hangup()
    return vr


def gone() -> VoiceResponse:
    """The call is no longer needed (the notification, alert or check-in has moved on)."""
    return end(VoiceResponse(), words.GONE)


def gather_url(base_url: str, notification_id: int) -> str:
    return base_url + f"/twilio/voice/{notification_id}/gather"

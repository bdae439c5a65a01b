"""The channels a conversation with the assistant comes in on, as stored in ``enquiries.channel``.

A ``str`` enum: a member is equal to its stored string (``Channel.SMS == "sms"``), so rows
written before it, and plain strings from the database, compare and look up as they always
did. Imports nothing but ``enum``, so the Rasa side (Python 3.10) can use it too."""

from __future__ import annotations

from enum import Enum


class Channel(str, Enum):
    SMS = "sms"  # signed Twilio SMS: the phone number is proven
    VOICE = "voice"  # signed Twilio voice call: the phone number is proven
    WEB = "web"  # the web chat page (anonymous)
    REST = "rest"  # Rasa's REST channel (anonymous)

    __str__ = str.__str__  # "sms" in f-strings and logs, as the stored value

    @property
    def signed(self) -> bool:
        """Whether a conversation on this channel comes with a phone number Twilio signed."""
        return self in (Channel.SMS, Channel.VOICE)

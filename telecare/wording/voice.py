"""Everything a call from the hub says (the words inside TwiML ``<Say>``), and the words it listens for.

Three calls: the alert call to a contact (hub/web/twilio_routes.py), the daily check-in call to a
resident (hub/web/checkin_twiml.py) and an introduction's follow-up call (hub/web/followup_twiml.py);
all are said slowly and listen for one key or a few words (hub/web/voice_twiml.py). Check-in
outcomes are named by their stored values ("fine", "help", "chat", "not_so_good").
"""

from __future__ import annotations

from datetime import datetime

from .phrases import AlertLike, ResidentLike, first_name, local_time, part_of_day, what

GONE = "This is Linkage. This call is no longer needed. Goodbye."
SAY_AGAIN = "I'll say that again. "
NOT_CAUGHT = "Sorry, I didn't catch that. "
GOODBYE = " Goodbye."

# -- the alert call ------------------------------------------------------------------------------------------
ALERT_HINTS = "yes, no, accept, pass"
ALERT_NOT_HEARD = "We didn't hear an answer, so we will ask someone else. Goodbye."
ACCESS_ALSO_TEXTED = " We have sent this to you by text as well. Goodbye."
THANK_YOU = "Thank you."


def alert_speech(alert: AlertLike, resident: ResidentLike | None) -> str:
    who = resident.name if resident else "a resident"
    where = f" at {resident.address}" if resident and resident.address else ""
    return (
        f"This is Linkage, with an alert. {who}{where} {what(alert.type).lower()}, at {local_time(alert, resident)}. "
        "Press 1, or say yes, if you can go. Press 2, or say no, if you can't."
    )


def alert_dealt_with(alert_id: int, who: str) -> str:
    return f"This is Linkage. Alert {alert_id} has been dealt with by {who}. You don't need to do anything. Goodbye."


# -- the daily check-in call ---------------------------------------------------------------------------------
CHECKIN_HINTS = "I'm fine, fine, I need help, help, I'd like a chat, chat, not too good"
CHECKIN_NOT_HEARD = "We didn't hear an answer, so we'll try you again a little later. Goodbye."
GOODBYE_FOR_NOW = " Goodbye for now."


def greeting(name: str, now: datetime, tz: str) -> str:
    """The call's words: warm, slow, by name; one keypress or a few words."""
    return (
        f"Good {part_of_day(now, tz)}, {first_name(name)}. This is Linkage, with your daily call. "
        "How are you today? "
        "If you're fine, press 1, or say: I'm fine. "
        "If you need help, press 2, or say: I need help. "
        "If you'd like a chat, press 3, or say: I'd like a chat."
    )


def checkin_answer(meaning: str, name: str, *, befriender: str | None = None, next_time: str | None = None) -> str:
    """What the call says back to the resident's answer."""
    fn = first_name(name)
    again = f" We'll be in touch again {next_time}." if next_time else ""
    if meaning == "fine":
        return f"Thank you, {fn}. It's lovely to hear you're well.{again} Take care."
    if meaning == "help":
        return (
            f"Thank you for telling us, {fn}. We are getting someone to help you now. If it's an emergency, "
            "please call 999."
        )
    if meaning == "chat":
        who = befriender and first_name(befriender)
        return (
            f"Lovely. I'll ask {who} to give you a ring for a chat.{again} Take care, {fn}."
            if who
            else "Lovely. We'll ask someone from the team to give you a ring for a chat."
        )
    if meaning == "not_so_good":
        who = f" with {first_name(befriender)}" if befriender else ""
        return (
            f"I'm sorry you're not feeling so good, {fn}. If you need help, press 2, or say help. If you'd "
            f"like a chat{who}, press 3, or say chat."
        )
    return not_caught(name)


def not_caught(name: str) -> str:
    return f"Sorry, {first_name(name)}, I didn't catch that."


def checkin_after(name: str) -> str:
    """Words we do not understand, after the check-in was already answered."""
    return f"Thank you, {first_name(name)}. Take care."


def take_care(name: str) -> str:
    return f"Take care, {first_name(name)}. We'll be thinking of you. Goodbye."


# -- an introduction's follow-up call ------------------------------------------------------------------------
FOLLOWUP_HINTS = "yes, yes they have, they rang, no, not yet, they haven't, nobody rang"
FOLLOWUP_NOT_HEARD = "We didn't hear an answer. If you need us, ring the Linkage helpline. Goodbye."
FOLLOWUP_ASK_AGAIN = NOT_CAUGHT + "If they contacted you, say yes or press 1. If not, say no or press 2."
_YES_OR_NO = "If they have, say yes or press 1. If not, say no or press 2."


def followup(name: str | None, who: str, ago: str, named: str | None) -> str:
    """The follow-up's question as the call says it (telecare.wording.sms.followup, spoken)."""
    hello = f"Hello {name}" if name else "Hello"
    if named is None:
        return (
            f"{hello}, this is {who}. {ago} you asked for daily check-in calls. "
            f"Has our team been in touch to set them up? {_YES_OR_NO}"
        )
    return f"{hello}, this is {who}. {ago} we asked {named} to contact you. Have they been in touch? {_YES_OR_NO}"

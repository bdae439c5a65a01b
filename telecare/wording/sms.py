"""Every text the hub sends a resident or a contact (SMS), and its answers to their texts.

Plain, short, one SMS where it can be. The domain decides which text (telecare.escalation,
telecare.notification.replies, telecare.checkin, telecare.enquiry.followup); the words are here.
Check-in outcomes are named by their stored values ("fine", "help", "chat", "not_so_good").
"""

from __future__ import annotations

from datetime import datetime

from telecare.storage.secrets import ACCESS_PLACEHOLDER

from .phrases import AlertLike, ResidentLike, first_name, local_time, part_of_day, what

# -- alerts: to the contacts an escalation asks -------------------------------------------------------------


def _where(resident: ResidentLike | None) -> str:
    return ", ".join(
        p for p in ((resident.address if resident else None), (resident.postcode if resident else None)) if p
    )


def alert_sms(alert: AlertLike, resident: ResidentLike | None) -> str:
    who = resident.name if resident else "A resident"
    where = _where(resident)
    return (
        f"LINKAGE ALERT {alert.id}: {who} {what(alert.type)} at {local_time(alert, resident)}"
        + (f", {where}" if where else "")
        + ". Reply 1 if you can go, 2 if you can't."
    )


def access_sms(alert: AlertLike, resident: ResidentLike | None, name: str, *, stored: bool = False) -> str:
    """The acceptor's message. ``stored``: the copy the database keeps, with the note as
    ``[access note]`` (the dispatcher puts the note in as it hands the message over:
    telecare.notification.service.claim)."""
    where = _where(resident)
    held = resident.access if resident and resident.access and resident.access.strip() else None
    access = (ACCESS_PLACEHOLDER if stored else held) if held else "no access notes held"
    return (
        f"Thank you {name.split()[0]}, alert {alert.id} is yours. {resident.name if resident else 'The resident'}"
        + (f", {where}" if where else "")
        + f". Access: {access}. Please go now."
    )


# -- answers to a contact's reply (also said on the alert call) ---------------------------------------------
NOTHING_PENDING = "Linkage: there is no alert waiting for your answer just now. If someone needs help now, call 999."
NEXT_PERSON = "Thank you. We'll ask the next person."


def not_waiting(alert_id: int) -> str:
    return f"Linkage: alert {alert_id} is not one waiting for your answer. If someone needs help now, call 999."


def not_understood(alert_id: int) -> str:
    return f"Sorry, we didn't understand. Reply 1 if you can go to alert {alert_id}, or 2 if you can't."


def covered(alert_id: int, acknowledged_by: str | None, state: str) -> str:
    taken = f"{acknowledged_by} has it" if acknowledged_by else f"it is {state}"
    return f"Thank you. Alert {alert_id} is covered: {taken}."


def already_closed(alert_id: int, state: str) -> str:
    return f"Thank you. Alert {alert_id} is already closed ({state}); you don't need to go."


def already_yours(alert_id: int) -> str:
    return f"You already have alert {alert_id}."


def already_accepted(alert_id: int, who: str, when: str) -> str:
    return (
        f"Thank you, {who} already accepted alert {alert_id}"
        + (f" at {when}" if when else "")
        + ". You don't need to go."
    )


# -- check-ins ----------------------------------------------------------------------------------------------
def checkin(name: str, now: datetime, tz: str) -> str:
    return (
        f"Good {part_of_day(now, tz)} {first_name(name)}, it's Linkage with your daily check-in. How are you "
        "today? Reply 1 if you're fine, 2 if you need help, 3 if you'd like a chat, or just tell us in your "
        "own words."
    )


def checkin_answer(meaning: str, name: str, *, befriender: str | None = None, next_time: str | None = None) -> str:
    """What we text back to a resident's check-in answer."""
    fn = first_name(name)
    again = f" We'll be in touch again {next_time}." if next_time else ""
    if meaning == "fine":
        return f"Thank you {fn}, lovely to hear you're well.{again}"
    if meaning == "help":
        return f"Thank you {fn}. We're getting someone to help you now. If it's an emergency, call 999."
    if meaning == "chat":
        who = befriender and first_name(befriender)
        return (
            f"Lovely. We'll ask {who} to give you a ring for a chat."
            if who
            else "Lovely. We'll ask someone from the team to give you a ring for a chat."
        )
    if meaning == "not_so_good":
        who = f" with {first_name(befriender)}" if befriender else ""
        return (
            f"Sorry to hear you're not feeling so good, {fn}. Reply 2 if you need help (or call 999 in "
            f"an emergency), or 3 if you'd like a chat{who}."
        )
    return f"Sorry {fn}, we didn't understand. Reply 1 if you're fine, 2 if you need help, or 3 if you'd like a chat."


def checkin_after(name: str) -> str:
    """A message that says nothing we understand, after the check-in was already answered."""
    return f"Thank you {first_name(name)}. If you need anything, reply 2 for help or 3 for a chat."


def on_behalf(meaning: str, contact: str, resident: str, early: bool) -> str:
    """What we text back to a contact who answered for the resident ("I'm with Mum, she's fine")."""
    fn, rn = first_name(contact), first_name(resident)
    if meaning == "help":
        return f"Thank you {fn}. We're getting help to {rn} now. If it's an emergency, call 999."
    if meaning == "not_so_good":
        return (
            f"Thank you {fn}, we've noted that {rn} isn't so good today. If {rn} needs help now, tell us "
            f"(for example: {rn} needs help), or call 999 in an emergency."
        )
    if meaning == "chat":
        return f"Thank you {fn}. We'll ask someone to give {rn} a ring for a chat."
    tail = " We won't need to make today's call." if early else ""
    return f"Thank you {fn}, we've noted that {rn} is fine today.{tail}"


def befriender_chat(befriender: str, resident: str, phone: str | None, when: str) -> str:
    return (
        f"Linkage: {resident} would like a chat - {first_name(resident)} asked on the {when} check-in. "
        + (f"Their number is {phone}. " if phone else "")
        + "Thank you for giving them a ring."
    )


# -- an introduction's follow-up ----------------------------------------------------------------------------
FOLLOWUP_ASK_AGAIN = "Reply YES if they contacted you or NO if not."
FOLLOWUP_SORRY = "Sorry about that. Someone from our team will call you to sort it out."


def followup(name: str | None, who: str, ago: str, named: str | None) -> str:
    """ "Have they been in touch?" (``named``: the services we asked; None: the daily check-in calls asked for)."""
    hello = f"Hello {name}" if name else "Hello"
    if named is None:
        return (
            f"{hello}, it's {who}. {ago} you asked for daily check-in calls. "
            "Has our team been in touch to set them up? Reply YES or NO."
        )
    return f"{hello}, it's {who}. {ago} we asked {named} to contact you. Have they been in touch? Reply YES or NO."


def followup_thanks(helpline: str | None) -> str:
    return "Thank you, that's good to hear." + (
        f" If you need anything else, call us on {helpline}." if helpline else ""
    )


# -- the one answer to STOP (telecare.inbound.stop) ------------------------------------------------------------
STOPPED = (
    "Linkage: you will get no more messages from us. Your family and carers are not told this "
    "automatically. If someone needs help now, call 999."
)

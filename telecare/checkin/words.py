"""What a check-in says, and what people answer, in their own words.

``understand`` reads a keypress (1 fine, 2 help, 3 a chat), speech or an SMS the way a person
would: "fine thanks", "not too bad" (fine), "not too good today" (not so good), "could do
with a chat", "I've had a fall" (help). Help is looked for first and wins: a message that
mentions a fall and says it's fine is still read as help, because a wrong "fine" is the
mistake we cannot afford. "Don't need help" is not help.

``on_behalf`` reads a contact's message about the resident ("I'm with Mum, she's fine"): it
needs both a wellbeing answer and words that say who it is about (she/he, Mum, Dad, the
resident's name, "I'm with", "just seen"...), so a family member's "ok" to an alert is never
taken for a check-in.
"""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from .models import CHAT, FINE, HELP, NOT_SO_GOOD, OUTCOME_RANK

UNKNOWN = "unknown"

_NO_HELP = re.compile(r"\b(?:(?:do ?n[o']?t|dont|don't|no|not|never) (?:need |want |needing )?(?:any |no )?help|"
                      r"no need (?:for|of) help|all good no help|help not needed)\b")
_HELP = re.compile(r"\b(?:help|fallen|fell|a fall|had a fall|on the floor|can ?not get up|cant get up|can't get up|"
                   r"emergency|ambulance|999|hurt|injured|bleeding|can ?not breathe|can't breathe|cant breathe|"
                   r"chest pain|collapsed|unconscious|need someone|come quick|come now|sos|urgent)\b(?! asleep)")
_FINE_NEGATED_BAD = re.compile(r"\bnot (?:too |so |that |very |at all )?bad\b|\bno complaints\b|"
                               r"\bcan'?t complain\b|\bcannot complain\b|\bmustn'?t grumble\b")
_NOT_GOOD = re.compile(
    r"\bnot (?:too |so |that |very |feeling |really |great |at all )*(?:good|great|well|grand|brilliant|fine|ok|okay|"
    r"right|myself|herself|himself|so hot|too hot)\b|"
    r"\b(?:poorly|unwell|under the weather|low|rough|bad day|bad night|terrible|awful|dreadful|struggling|sad|"
    r"down|fed up|tired|exhausted|could be better|been better|so-so|so so|meh|off colour|ill|sick|bad|worse|"
    r"miserable|lonely|worried|anxious|dizzy|wobbly|aching|achy|sore|a bit off|in pain|not sleeping)\b")
_CHAT = re.compile(r"\b(?:chat|natter|talk|call me|ring me|phone me|give me a ring|give me a call|company|"
                   r"someone to talk|speak to someone|visit|lonely|a word)\b")
_FINE = re.compile(r"\b(?:fine|ok|okay|k|good|well|great|alright|all right|grand|champion|lovely|super|brilliant|"
                   r"fab|fabulous|happy|ticking along|yes|yep|yeah|aye|grand|dandy|okey dokey|all good|"
                   r"smashing|chipper|tip top|in good spirits|thriving|marvellous|wonderful|excellent|"
                   r"finephrase)\b")
_CUE = re.compile(r"\b(?:she|he|they|she's|he's|shes|hes|her|him|mum|mom|mam|mummy|mother|dad|daddy|father|nan|"
                  r"nana|nanna|gran|granny|grandma|grandad|granddad|grandpa|grandmother|grandfather|aunt|auntie|"
                  r"aunty|uncle|i'm with|im with|i am with|with her|with him|seen her|seen him|saw her|saw him|"
                  r"visited|popped in|popped round|checked on|here with)\b")


def _norm(text: str | None) -> str:
    t = (text or "").lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"[^\w\s'#-]", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def understand_all(text: str | None = None, digits: str | None = None) -> set[str]:
    """Every meaning in an answer (a message may be "fine, but I'd like a chat")."""
    if digits:
        d = digits.strip()[:1]
        return {{"1": FINE, "2": HELP, "3": CHAT}[d]} if d in "123" and d else set()
    t = _norm(text)
    if not t:
        return set()
    if t in ("1", "2", "3"):
        return {{"1": FINE, "2": HELP, "3": CHAT}[t]}
    found: set[str] = set()
    t = _NO_HELP.sub(" ", t)
    if _HELP.search(t):
        found.add(HELP)
    t = _FINE_NEGATED_BAD.sub(" finephrase ", t)
    if _NOT_GOOD.search(t):
        found.add(NOT_SO_GOOD)
        t = _NOT_GOOD.sub(" ", t)
    if _CHAT.search(t):
        found.add(CHAT)
    if _FINE.search(t):
        found.add(FINE)
    return found


def most_concerning(meanings: set[str]) -> str:
    return max(meanings, key=OUTCOME_RANK.__getitem__) if meanings else UNKNOWN


def understand(text: str | None = None, digits: str | None = None) -> str:
    """fine | not_so_good | help | chat | unknown (the most concerning meaning found)."""
    return most_concerning(understand_all(text, digits))


def on_behalf(text: str | None, names: tuple[str, ...] = ()) -> set[str]:
    """A contact's report about the resident: its meanings, or an empty set if the message
    does not say it is about the resident."""
    t = _norm(text)
    if not t:
        return set()
    named = any(re.search(rf"\b{re.escape(n.lower())}\b", t) for n in names if n)
    if not named and not _CUE.search(t):
        return set()
    return understand_all(text)


# -- what we say ------------------------------------------------------------------------------------------
def first_name(name: str) -> str:
    return (name or "").split()[0] if name and name.split() else (name or "")


def part_of_day(now: datetime, tz: str) -> str:
    h = now.astimezone(ZoneInfo(tz)).hour
    return "morning" if h < 12 else "afternoon" if h < 18 else "evening"


def spoken_time(when: datetime, tz: str, now: datetime) -> str:
    """'tomorrow at 10 o'clock', 'on Friday at 10:30', 'on 14 April at 10 o'clock'."""
    zone = ZoneInfo(tz)
    local, today = when.astimezone(zone), now.astimezone(zone).date()
    clock = f"{local.hour % 12 or 12} o'clock" if local.minute == 0 else local.strftime("%-H:%M")
    if local.minute == 0:
        clock += " in the morning" if local.hour < 12 else " in the afternoon" if local.hour < 18 else " in the evening"
    days = (local.date() - today).days
    if days == 0:
        return f"later today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if days < 7:
        return f"on {local.strftime('%A')} at {clock}"
    return f"on {local.day} {local.strftime('%B')} at {clock}"


def greeting(name: str, now: datetime, tz: str) -> str:
    """The call's words: warm, slow, by name; one keypress or a few words."""
    return (f"Good {part_of_day(now, tz)}, {first_name(name)}. This is Linkage, with your daily call. "
            "How are you today? "
            "If you're fine, press 1, or say: I'm fine. "
            "If you need help, press 2, or say: I need help. "
            "If you'd like a chat, press 3, or say: I'd like a chat.")


def checkin_sms(name: str, now: datetime, tz: str) -> str:
    return (f"Good {part_of_day(now, tz)} {first_name(name)}, it's Linkage with your daily check-in. How are you "
            "today? Reply 1 if you're fine, 2 if you need help, 3 if you'd like a chat, or just tell us in your "
            "own words.")


def answer_words(meaning: str, name: str, *, voice: bool, befriender: str | None = None,
                 next_time: str | None = None, late: bool = False) -> str:
    """What we say back to the resident."""
    fn = first_name(name)
    again = f" We'll be in touch again {next_time}." if next_time else ""
    if meaning == FINE:
        return (f"Thank you, {fn}. It's lovely to hear you're well.{again} Take care." if voice
                else f"Thank you {fn}, lovely to hear you're well.{again}")
    if meaning == HELP:
        return (f"Thank you for telling us, {fn}. We are getting someone to help you now. If it's an emergency, "
                "please call 999." if voice
                else f"Thank you {fn}. We're getting someone to help you now. If it's an emergency, call 999.")
    if meaning == CHAT:
        who = befriender and first_name(befriender)
        return (f"Lovely. I'll ask {who} to give you a ring for a chat.{again} Take care, {fn}." if voice and who
                else f"Lovely. We'll ask {who} to give you a ring for a chat." if who
                else "Lovely. We'll ask someone from the team to give you a ring for a chat.")
    if meaning == NOT_SO_GOOD:
        who = f" with {first_name(befriender)}" if befriender else ""
        return (f"I'm sorry you're not feeling so good, {fn}. If you need help, press 2, or say help. If you'd "
                f"like a chat{who}, press 3, or say chat." if voice
                else f"Sorry to hear you're not feeling so good, {fn}. Reply 2 if you need help (or call 999 in "
                     f"an emergency), or 3 if you'd like a chat{who}.")
    return (f"Sorry, {fn}, I didn't catch that." if voice
            else f"Sorry {fn}, we didn't understand. Reply 1 if you're fine, 2 if you need help, or 3 if you'd "
                 "like a chat.")


def on_behalf_words(meaning: str, contact: str, resident: str, early: bool) -> str:
    fn, rn = first_name(contact), first_name(resident)
    if meaning == HELP:
        return f"Thank you {fn}. We're getting help to {rn} now. If it's an emergency, call 999."
    if meaning == NOT_SO_GOOD:
        return (f"Thank you {fn}, we've noted that {rn} isn't so good today. If {rn} needs help now, tell us "
                f"(for example: {rn} needs help), or call 999 in an emergency.")
    if meaning == CHAT:
        return f"Thank you {fn}. We'll ask someone to give {rn} a ring for a chat."
    tail = " We won't need to make today's call." if early else ""
    return f"Thank you {fn}, we've noted that {rn} is fine today.{tail}"


def befriender_chat_sms(befriender: str, resident: str, phone: str | None, when: str) -> str:
    return (f"Linkage: {resident} would like a chat - {first_name(resident)} asked on the {when} check-in. "
            + (f"Their number is {phone}. " if phone else "") + "Thank you for giving them a ring.")


def missed_detail(resident: str, due_local: str, attempts: list[tuple[str, str, str | None]]) -> str:
    tries = "; ".join(f"{t} {ch}" + (f" ({why})" if why else "") for t, ch, why in attempts)
    return f"{resident} did not answer the {due_local} check-in after {len(attempts)} attempt" \
           f"{'s' if len(attempts) != 1 else ''}: {tries}"


WHY = {"no-answer": "no answer", "busy": "busy", "machine": "answering machine", "failed": "could not be placed",
       "undelivered": "not delivered", "timeout": "no reply", "canceled": "cancelled", "completed": "no answer"}

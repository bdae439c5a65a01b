"""What people answer to a check-in, in their own words (what it says to them: telecare.wording).

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

from telecare.wording.phrases import first_name, part_of_day, spoken_time

from .models import CHAT, FINE, HELP, NOT_SO_GOOD, OUTCOME_RANK

UNKNOWN = "unknown"
__all__ = ["UNKNOWN", "first_name", "on_behalf", "part_of_day", "spoken_time", "understand", "understand_all"]

_NO_HELP = re.compile(
    r"\b(?:(?:do ?n[o']?t|dont|don't|no|not|never) (?:need |want |needing )?(?:any |no )?help|"
    r"no need (?:for|of) help|all good no help|help not needed)\b"
)
_HELP = re.compile(
    r"\b(?:help|fallen|fell|a fall|had a fall|on the floor|can ?not get up|cant get up|can't get up|"
    r"emergency|ambulance|999|hurt|injured|bleeding|can ?not breathe|can't breathe|cant breathe|"
    r"chest pain|collapsed|unconscious|need someone|come quick|come now|sos|urgent)\b(?! asleep)"
)
_FINE_NEGATED_BAD = re.compile(
    r"\bnot (?:too |so |that |very |at all )?bad\b|\bno complaints\b|"
    r"\bcan'?t complain\b|\bcannot complain\b|\bmustn'?t grumble\b"
)
_NOT_GOOD = re.compile(
    r"\bnot (?:too |so |that |very |feeling |really |great |at all )*(?:good|great|well|grand|brilliant|fine|ok|okay|"
    r"right|myself|herself|himself|so hot|too hot)\b|"
    r"\b(?:poorly|unwell|under the weather|low|rough|bad day|bad night|terrible|awful|dreadful|struggling|sad|"
    r"down|fed up|tired|exhausted|could be better|been better|so-so|so so|meh|off colour|ill|sick|bad|worse|"
    r"miserable|lonely|worried|anxious|dizzy|wobbly|aching|achy|sore|a bit off|in pain|not sleeping)\b"
)
_CHAT = re.compile(
    r"\b(?:chat|natter|talk|call me|ring me|phone me|give me a ring|give me a call|company|"
    r"someone to talk|speak to someone|visit|lonely|a word)\b"
)
_FINE = re.compile(
    r"\b(?:fine|ok|okay|k|good|well|great|alright|all right|grand|champion|lovely|super|brilliant|"
    r"fab|fabulous|happy|ticking along|yes|yep|yeah|aye|grand|dandy|okey dokey|all good|"
    r"smashing|chipper|tip top|in good spirits|thriving|marvellous|wonderful|excellent|"
    r"finephrase)\b"
)
_CUE = re.compile(
    r"\b(?:she|he|they|she's|he's|shes|hes|her|him|mum|mom|mam|mummy|mother|dad|daddy|father|nan|"
    r"nana|nanna|gran|granny|grandma|grandad|granddad|grandpa|grandmother|grandfather|aunt|auntie|"
    r"aunty|uncle|i'm with|im with|i am with|with her|with him|seen her|seen him|saw her|saw him|"
    r"visited|popped in|popped round|checked on|here with)\b"
)


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


# -- what we say: the words are in telecare.wording (sms, voice); the staff's note of a missed check-in is here


def missed_detail(resident: str, due_local: str, attempts: list[tuple[str, str, str | None]]) -> str:
    tries = "; ".join(f"{t} {ch}" + (f" ({why})" if why else "") for t, ch, why in attempts)
    return (
        f"{resident} did not answer the {due_local} check-in after {len(attempts)} attempt"
        f"{'s' if len(attempts) != 1 else ''}: {tries}"
    )


WHY = {
    "no-answer": "no answer",
    "busy": "busy",
    "machine": "answering machine",
    "failed": "could not be placed",
    "undelivered": "not delivered",
    "timeout": "no reply",
    "canceled": "cancelled",
    "completed": "no answer",
}

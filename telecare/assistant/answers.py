"""Reading an answer to the question the conversation asked: a name, a yes or a no.

The model classifies a message into an intent; an *answer* is read from the words, because
"Margaret Hughes" has no intent and "yes please" is not a name. ``frontdoor`` asks these
first while it is waiting for an answer, and the model's guess only when the words are not
one.

* ``read_name``: "Margaret Hughes", "my name is Margaret Hughes", "it's Mrs Edna Price",
  "Hope", "Joy Church", "Mr Fell" are names; "yes please", "no", "ok", "I don't know",
  "why?", "what do you need it for" are not. A name is one to five words, no digits, no
  question, and none of the words are the small words that sentences are made of (pronouns,
  question words, yes/no, auxiliaries, "please"). Words that are also ordinary words
  ("Hope", "Church", "Fell") are fine: people are called them.
* ``yes_no``: "yes" / "no" / None from the words alone ("yes please", "that's fine", "go
  on then"; "no thanks", "I'd rather not").
* ``refuses``: "I'd rather not say", "no", "skip": a name or number the person won't give.
"""

from __future__ import annotations

import re

_PREFIX = re.compile(
    r"^\s*(?:(?:yes|yeah|ok|okay)[,.!]?\s+)?"
    r"(?:(?:my|the|her|his|their)\s+name(?:'s|\s+is)|(?:my\s+)?name(?:'s|\s+is)|it'?s|i'?m|i am|im|this is|"
    r"call me|they can ask for|(?:please\s+)?ask for|just)\s+",
    re.I,
)
# words a sentence is made of and a name is not
_NOT_IN_NAMES = frozenset(
    """
i i'm im i'd id i've ive me my mine you your yours we us our it its it's this that these those he she they them
his her their what why how who where when which whose yes yeah yep yup yes' no nope nah not dont don't doesnt
doesn't didnt didn't cant can't cannot wont won't isnt isn't know knows want wants need needs can could would
should shall is are am was were be been do does did have has had please thanks thank ta ok okay sure fine sorry
pardon hello hi hiya hey bye goodbye the a an to of for with about on in at from and or but if so than then there
here any anything nothing none something someone anyone nobody skip rather say said tell told help maybe
perhaps dunno idea really just also very too much many more again already still
now today tonight tomorrow yesterday quickly fast slowly
breathing breathe breath bleeding blood fallen falling collapsed unconscious choking dying dead pain pains hurt
hurts hurting injured ill sick unwell dizzy fainted emergency ambulance police hospital doctor nurse fire smoke
floor stairs chest bathroom kitchen bedroom garden house flat money bills lonely heating postcode phone number
""".split()
)
# "he's", "don't", "I'll": a sentence; "O'Neill", "D'Arcy": a name
_CONTRACTION = re.compile(r"^[a-z]+'(?:s|t|m|re|ve|ll|d)$")
_NOT_A_NAME = frozenset({"n/a", "na", "none", "nil", "no name", "anonymous", "unknown", "same", "as above"})

_YES = re.compile(
    r"^(?:y|yes+|yeah|yea|yep|yup|aye|ok|okay|o\.?k\.?|sure|certainly|of course|please|"
    r"yes please|yes thanks|yes thank you|yes ok|yes okay|yes that'?s (?:fine|ok|okay|great|good)|"
    r"yes go ahead|go ahead|go on|go on then|that'?s (?:fine|ok|okay|great|good|lovely|grand)|"
    r"that would be (?:lovely|great|good|nice|fine)|lovely|great|fine|alright|all right|"
    r"i don'?t mind|i'?m happy with that|happy with that|i am happy with that|sounds good|"
    r"yes they can|yes you can|yes i would|yes i'?d like that|i'?d like that|please do|"
    r"yes,? please do|1)$",
    re.I,
)
_NO = re.compile(
    r"^(?:n|no+|nope|nah|no thanks?|no thank you|not really|not now|not today|not yet|"
    r"no i don'?t|no i'?d rather not|i'?d rather not|rather not|i would rather not|"
    r"please don'?t|don'?t|no don'?t|no,? please don'?t|i don'?t want that|no i don'?t want that|"
    r"not at the moment|no it'?s fine|it'?s ok thanks|no that'?s (?:fine|ok|okay|all)|2)$",
    re.I,
)
_REFUSE = re.compile(
    r"^(?:no|nope|nah|skip|pass|rather not|i'?d rather not(?: say)?|i would rather not(?: say)?|"
    r"prefer not to say|i'?d prefer not to|not saying|don'?t want to say|i don'?t want to say|"
    r"no thanks?|no thank you|anonymous)$",
    re.I,
)


def _clean(text: str) -> str:
    t = (text or "").strip().lower().replace("\u2019", "'")
    t = re.sub(r"[^\w\s'/.-]", " ", t)
    return re.sub(r"\s+", " ", t).strip(" .!")


def read_name(text: str | None) -> str | None:
    """The name in an answer to "what name should they ask for?", or None if it is not one."""
    raw = (text or "").strip()
    if not raw or "?" in raw or len(raw) > 120:
        return None
    name = _PREFIX.sub("", raw)
    name = re.sub(r"[^\w '\-.]", "", name).strip(" .-'")
    words = name.split()
    if not words or len(words) > 5 or any(ch.isdigit() or ch == "_" for ch in name):
        return None
    if name.lower() in _NOT_A_NAME:
        return None
    bare = [w.lower().strip(".'-") for w in words]
    if any(w in _NOT_IN_NAMES or _CONTRACTION.match(w) for w in bare):
        return None
    if any(len(w) > 25 for w in bare):
        return None
    return " ".join(w if w[:1].isupper() else w.capitalize() for w in words)[:100]


def yes_no(text: str | None) -> str | None:
    """ "yes", "no" or None, from the words of an answer to a yes/no question."""
    t = _clean(text or "")
    t = (
        re.sub(r"[ ,]+(?:thanks|thank you|love|dear|pet|please)$", "", t)
        if t not in ("no thanks", "no thank you")
        else t
    )
    if not t:
        return None
    if _NO.match(t):
        return "no"
    if _YES.match(t):
        return "yes"
    return None


def refuses(text: str | None) -> bool:
    """True for "I'd rather not say", "no", "skip": no name (or number) will be given."""
    return bool(_REFUSE.match(_clean(text or "")))


__all__ = ["read_name", "yes_no", "refuses"]

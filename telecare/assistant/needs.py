"""What a message says besides its main intent: more needs, an age, a carer, a relative, a phone number.

The model gives one intent per message; people often say several things at once ("I'm 82,
my heating's broken and I can't afford the bills"). These plain-word patterns, tolerant of
common misspellings, find the other needs and the facts that decide eligibility. They only
ever *add* to what the model found; emergencies have their own rules (``emergency.py``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# need category -> patterns (word stems, common misspellings); matched case-insensitively
_LEXICON: dict[str, tuple[str, ...]] = {
    "money_benefits": (r"benefits?", r"benifits?", r"pension credit", r"attendance allowance", r"universal credit",
                       r"money", r"afford", r"bills?", r"debts?", r"council tax", r"broke\b", r"skint",
                       r"cost of living", r"pip\b", r"grant", r"pay(ing)? for", r"income", r"savings"),
    "loneliness_befriending": (r"lonel[yi]\w*", r"lonley", r"on my own", r"by myself", r"isolated", r"no one to talk",
                               r"nobody to talk", r"no-one to talk", r"company", r"befriend\w*", r"someone to talk",
                               r"make friends", r"miss(ing)? (my )?(wife|husband|friends)", r"never see anyone",
                               r"don'?t see anyone", r"social clubs?", r"lunch club", r"coffee morning"),
    "falls_prevention": (r"keep falling", r"keeps falling", r"had a fall", r"had falls", r"fall(s)? prevention",
                         r"(worried|scared|afraid|frightened) (about|of) falling", r"unsteady", r"balance",
                         r"wobbly", r"trip(ped|ping)? (over|up)", r"strength and balance"),
    "home_repairs_adaptations": (r"grab ?rails?", r"stair ?lifts?", r"walk[- ]in shower", r"adaptations?",
                                 r"handy ?(man|person)", r"repairs?", r"boiler", r"leak(ing|y)?", r"ramp",
                                 r"bath ?lift", r"broken (window|door|lock|heating)", r"heating (is )?(broken|not working)",
                                 r"odd jobs", r"rails? (put|fitted)", r"key ?safe"),
    "telecare_alarms": (r"pendant", r"personal alarm", r"care ?line", r"lifeline", r"telecare", r"alarm button",
                        r"fall detector", r"press(ing)? (a|the) button"),
    "carers_support": (r"i('?m| am) (a|the|his|her|their) carer", r"i (look|looks) after", r"caring for",
                       r"carers?'? (assessment|allowance|break|centre|support|group)", r"respite", r"unpaid carer",
                       r"looking after my"),
    "transport": (r"transport", r"dial[- ]a[- ]ride", r"get(ting)? (to|into) (town|the shops|hospital|appointments?)",
                  r"lifts? to", r"bus pass", r"blue badge", r"taxi", r"can'?t drive", r"stopped driving",
                  r"hospital appointments?", r"get(ting)? out and about", r"community bus"),
    "housing": (r"housing", r"evict\w*", r"landlord", r"rent\b", r"homeless\w*", r"move (home|house)",
                r"sheltered", r"bungalow", r"downsiz\w*", r"damp", r"mou?ld", r"retirement flat",
                r"extra care housing"),
    "health_wellbeing": (r"\bgp\b", r"doctor", r"exercise", r"walking group", r"feeling low", r"depress\w*",
                         r"anxi\w*", r"healthy", r"diet", r"sleep", r"mental health", r"wellbeing", r"well-being",
                         r"bereave\w*", r"griev\w*", r"chair exercise"),
    "memory_dementia": (r"memory", r"dementia", r"alzheimer'?s?", r"alzeimers?", r"forget\w*", r"forgett\w*",
                        r"confused", r"memory clinic", r"memory caf[eé]"),
    "fire_home_safety": (r"smoke alarms?", r"smoke detectors?", r"fire safety", r"safe and well", r"home safety check",
                         r"carbon monoxide alarm", r"co alarm", r"fire risk"),
    "scams_crime": (r"scam\w*", r"fraud\w*", r"con ?m[ae]n", r"cold call\w*", r"doorstep", r"burgl\w*",
                    r"stolen", r"phishing", r"suspicious (call|email|text|letter)", r"rogue trader",
                    r"bank details", r"crime"),
    "digital_skills": (r"computer", r"laptop", r"tablet", r"ipad", r"smart ?phone", r"mobile phone", r"internet",
                       r"online", r"e-?mail", r"video call\w*", r"zoom", r"whats ?app", r"facetime", r"digital",
                       r"wi-?fi", r"apps?\b"),
    "food_shopping": (r"food", r"shopping", r"meals?", r"meals on wheels", r"groceries", r"food ?bank", r"hungry",
                      r"cook(ing)?", r"eat(ing)?\b", r"lunch"),
    "social_care_assessment": (r"care assessment", r"needs assessment", r"social (worker|services|care)",
                               r"carers? coming in", r"home care", r"care at home", r"help (with|getting) (washing|dressing)",
                               r"wash(ing)? and dress(ing)?", r"personal care", r"care package", r"care home",
                               r"occupational therap\w*", r"\bot\b assessment"),
}
_COMPILED = {need: re.compile(r"\b(?:" + "|".join(pats) + r")", re.I) for need, pats in _LEXICON.items()}

_REL_WORDS = (r"(?:elderly\s+|old\s+|poor\s+)?(mum|mom|mother|mam|dad|father|husband|wife|partner|nan|nana|gran|"
              r"granny|grandma|grandmother|grandad|granddad|grandpa|grandfather|aunt|auntie|uncle|brother|sister|son|"
              r"daughter|neighbour|neighbor|friend|parents?|in-laws?|mother-in-law|father-in-law)")
# Someone asking for a relative: the relative is who the need is about ("for my mum", "my dad keeps
# falling", "my nan's lonely"), not just mentioned ("since my wife died", "I miss my husband").
_RELATIVE = re.compile(
    r"\b(?:for|about|on behalf of|helping|help)\s+my\s+" + _REL_WORDS + r"\b"
    r"|\bmy\s+" + _REL_WORDS + r"(?:'s|s)?\s+(?:is|isn'?t|has|hasn'?t|keeps|can'?t|cannot|could|needs|lives|won'?t|"
    r"doesn'?t|does|gets|got|struggles|struggling|wants|would|was|seems|feels|forgets|forgot|fell|falls|"
    r"had|used|never|only|really|just|lonely|living)\b"
    r"|\bmy\s+" + _REL_WORDS + r"'s\b", re.I)
_AGE = re.compile(r"\b(?:i'?m|i am|im|aged?|age is|he'?s|she'?s|they'?re)\s+(\d{2,3})\b(?!\s*(?:st|nd|rd|th|%|pounds|p\b))"
                  r"|\b(\d{2,3})\s*(?:years?|yrs?)\s*old\b|\b(\d{2,3})\s*y/?o\b", re.I)
_CARER = re.compile(r"\b(?:i'?m|i am|im)\s+(?:a|the|his|her|their|an unpaid|a full[- ]time)\s+carer\b"
                    r"|\bi\s+(?:look|looks)\s+after\b|\b(?:i'?m|i am|im)\s+(?:looking after|caring for)\b"
                    r"|\bi\s+care\s+for\b", re.I)
_PHONE = re.compile(r"(?:(?:\+|00)\s*44\s*\(?0?\)?|\b0)(?:[\s-]?\d){9,10}\b")
_SKIP = re.compile(r"\b(skip|don'?t know|dont know|no idea|rather not|not sure|n/?a|none)\b", re.I)


@dataclass
class Facts:
    needs: list[str] = field(default_factory=list)
    age: int | None = None
    carer: bool | None = None
    on_behalf: bool = False
    relative: str | None = None


def find_needs(text: str) -> list[str]:
    """Every need category the text mentions in plain words, in the order of the lexicon."""
    return [need for need, rx in _COMPILED.items() if rx.search(text or "")]


def read(text: str) -> Facts:
    text = text or ""
    facts = Facts(needs=find_needs(text))
    m = _AGE.search(text)
    if m:
        age = int(next(g for g in m.groups() if g))
        if 18 <= age <= 120:
            facts.age = age
    if _CARER.search(text):
        facts.carer = True
        facts.needs = facts.needs or ["carers_support"]
    rel = _RELATIVE.search(text)
    if rel:
        facts.on_behalf = True
        facts.relative = next(g for g in rel.groups() if g).lower()
    return facts


def find_phone(text: str) -> str | None:
    """A UK phone number in the text, as E.164 (+44...), or None."""
    m = _PHONE.search(text or "")
    if not m:
        return None
    digits = re.sub(r"\D", "", m.group(0))
    if digits.startswith("0044"):
        digits = digits[4:]
    elif digits.startswith("44"):
        digits = digits[2:]
    digits = digits.lstrip("0")
    if not 9 <= len(digits) <= 10:
        return None
    return "+44" + digits


def says_skip(text: str) -> bool:
    return bool(_SKIP.search(text or ""))


_NAME_PREFIX = re.compile(r"^\s*(?:(?:my|the|her|his|their)\s+name(?:'s|\s+is)|it'?s|i'?m|i am|im|this is|call me|"
                          r"they can ask for|ask for|name is)\s+", re.I)


def read_name(text: str) -> str | None:
    """A name given in answer to "what name should they ask for?"."""
    name = _NAME_PREFIX.sub("", (text or "").strip())
    name = re.sub(r"[^\w '\-.]", "", name).strip(" .")
    words = name.split()
    if not words or len(words) > 5 or any(ch.isdigit() for ch in name):
        return None
    return " ".join(w if w[:1].isupper() else w.capitalize() for w in words)[:100]

"""What a message says besides its main intent: more needs, an age, a carer, a relative, a phone number.

The model gives one intent per message; people often say several things at once ("I'm 82,
my heating's broken and I can't afford the bills"). These plain-word patterns, tolerant of
common misspellings, find the other needs and the facts that decide eligibility. They only
ever *add* to what the model found; emergencies have their own rules (``emergency.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# need category -> patterns (word stems, common misspellings); matched case-insensitively, apostrophes
# optional. Plain words an advisor would hear for each need; a word shared by two needs goes where it
# usually belongs ("lunch club" is company, "meals" food). Grown for issue 14 (several needs in one message).
_LEXICON: dict[str, tuple[str, ...]] = {
    "money_benefits": (
        r"benefits?",
        r"benifits?",
        r"pension credit",
        r"attendance allowance",
        r"universal credit",
        r"carer'?s allowance",
        r"warm home discount",
        r"winter fuel",
        r"cold weather payment",
        r"money (is|was|'?s) (tight|short)",
        r"money (worries|problems|advice|troubles|left)",
        r"(no|enough|any|more|short of|out of|run out of|running out of|struggling for|struggle for|"
        r"worried about|problems with|help with|owe|owe some) money",
        r"afford",
        r"bills?\b",
        r"debts?",
        r"council tax",
        r"broke\b",
        r"skint",
        r"cost of living",
        r"pip\b",
        r"grants?\b",
        r"pay(ing)? for",
        r"income",
        r"savings",
        r"can'?t pay",
        r"arrears",
        r"hardship",
        r"entitled",
        r"qualify",
        r"cost of",
        r"(pension|it) (doesn'?t|does not|won'?t) (cover|stretch)",
        r"pension day",
        r"budget\w*",
    ),
    "loneliness_befriending": (
        r"lonel[yi]\w*",
        r"lonley",
        r"on my own",
        r"by myself",
        r"isolat\w*",
        r"no one to talk",
        r"nobody to talk",
        r"no-one to talk",
        r"company",
        r"befriend\w*",
        r"someone to talk",
        r"make friends",
        r"miss(ing)? (my )?(wife|husband|friends)",
        # being alone, said as people say it ("I feel so alone since my wife died"); not "leave me alone"
        r"(?:feel|feels|feeling|felt)\s+(?:so\s+|very\s+|really\s+|quite\s+|a bit\s+|terribly\s+)?(?:alone|cut off)",
        r"(?:alone|on (?:my|her|his|their) own) (?:ever )?since",
        r"never (see|sees|get to see) (anyone|anybody|a soul|people|my friends)",
        r"(don'?t|doesn'?t|hardly|rarely) (see|sees|know) (anyone|anybody|a soul)",
        r"social clubs?",
        r"lunch club",
        r"coffee morning",
        r"for a chat",
        r"have a chat",
        r"(meet|meeting) (other |new |some )?(people|friends)",
        r"lost touch",
        r"keep in touch",
        r"talk to my family",
        r"see my friends",
        r"house is (so )?quiet",
        r"(visit|visits|visiting) me",
        r"(a|friendly) visitor",
        r"daily call",
        r"ring me for a chat",
    ),
    "falls_prevention": (
        r"keep(s)? falling",
        r"had (a|two|three|a few|some) falls?",
        r"had falls",
        r"fall(s)? prevention",
        r"(worried|scared|afraid|frightened|nervous) (about|of) (falling|a fall|tripping)",
        r"unsteady",
        r"balance",
        r"wobbly",
        r"trip(ped|ping|s)?\b",
        r"trip hazard",
        r"strength and balance",
        r"falls\b(?! detector)",
        r"fallen (three|two|a few|several) times",
        r"fell (last|over|again|twice)",
        r"since my fall",
        r"falling\b(?! behind| out| apart| asleep)",
        r"slipped",
        r"nearly (gone over|fell|falling)",
        r"(stop|stopping) (me|him|her|my \w+) (from )?falling",
    ),
    "home_repairs_adaptations": (
        r"grab ?rails?",
        r"rails?\b",
        r"stair ?lifts?",
        r"stair ?gate",
        r"walk[- ]in shower",
        r"level access",
        r"adapt(ation|ations|ed|ing)?\b",
        r"handy ?(man|person)",
        r"repairs?",
        r"boiler",
        r"leak(s|ing|y)?",
        r"ramp",
        r"hoist",
        r"bath ?lift",
        r"toilet seat",
        r"raised toilet",
        r"broken (window|door|lock|heating|gate)",
        r"door lock",
        r"heating (is )?(broken|not working)",
        r"odd jobs",
        r"key ?safe",
        r"wiring",
        r"roof\b",
        r"fix(ed|ing)? (the|my|it)",
        r"gate\b",
        r"tap\b",
        r"windows",
        r"hanging off",
        r"occupational therap\w*",
        r"\bot\b",
        r"look at my (house|home)",
    ),
    "telecare_alarms": (
        r"pendant",
        r"personal alarm",
        r"care ?line",
        r"lifeline",
        r"telecare",
        r"alarm button",
        r"falls? detector",
        r"press(ing)? (a|the) button",
        r"something to press",
        r"button (i|to|you) (can )?(wear|press)",
        r"(door|bed|motion) sensor",
        r"(?<!smoke )(?<!fire )(?<!co )(?<!burglar )(?<!carbon monoxide )alarms?\b(?! clock)",
        r"alarm to call",
    ),
    "carers_support": (
        r"i('?m| am) (a|the|his|her|their|my \w+'?s?) carer",
        r"\bim (a|the|his|her|their|my \w+'?s?) carer",
        r"(is|as) (his|her|their) carer",
        r"i (look|looks) after",
        r"(i )?car(e|ing) for (my|him|her)",
        r"carers?'? (assessment|allowance|break|centre|support|group)",
        r"respite",
        r"unpaid carer",
        r"looking after (my|him|her|someone)",
        r"break from caring",
        r"caring\b",
        r"look(ed)? after (mum|dad|my)",
    ),
    "transport": (
        r"transport",
        r"dial[- ]a[- ]ride",
        r"get(ting)? (to|into) (the |my |her |his )?(town|shops|hospital|"
        r"appointments?|doctor'?s?|dentist|clinic|surgery|supermarket|day centre|care home|eye clinic|physio)",
        r"lifts? (to|into)",
        r"a lift\b",
        r"bus(es)?\b",
        r"bus pass",
        r"blue badge",
        r"taxis?",
        r"can'?t drive",
        r"(don'?t|doesn'?t) drive",
        r"stopped driving",
        r"no car",
        r"car'?s gone",
        r"hospital appointments?",
        r"get(ting)? out and about",
        r"community bus",
        r"take (me|her|him|us) to",
        r"petrol",
        r"walk (that far|to the)",
        r"no way of getting",
        r"can'?t get out",
        r"get out on my own",
        r"can'?t see to drive",
        r"nearer the",
        r"miles away",
    ),
    "housing": (
        r"housing",
        r"evict\w*",
        r"landlord",
        r"rent\b",
        r"homeless\w*",
        r"move (home|house|somewhere|into|to)",
        r"moved (into|to|here)",
        r"sheltered",
        r"bungalow",
        r"downsiz\w*",
        r"damp",
        r"mou?ld",
        r"retirement flat",
        r"extra care housing",
        r"council (house|flat|housing)",
        r"temporary accommodation",
        r"mortgage",
        r"(bigger|smaller|adapted) (house|home|flat)",
        r"care on site",
        r"new flat",
        r"tenan\w*",
    ),
    "health_wellbeing": (
        r"\bgp\b",
        r"(see|seeing|ask) (a|the|my|her|his) doctor",
        r"exercise",
        r"walking group",
        r"feel(ing)? (really |so |very )?(low|down)",
        r"\b(is|so|very) low\b",
        r"depress\w*",
        r"anxi\w*",
        r"healthy",
        r"diet",
        r"sleep",
        r"mental health",
        r"wellbeing",
        r"well-being",
        r"bereave\w*",
        r"griev\w*",
        r"chair exercise",
        r"health\b",
        r"fitter",
        r"physio\w*",
        r"dentist",
        r"arthritis",
        r"knees?\b",
        r"hearing",
        r"eye (clinic|test|sight)",
        r"diabet\w*",
        r"weight",
        r"stress\w*",
        r"stop smoking",
        r"chemo",
        r"strength classes",
        r"medication",
    ),
    "memory_dementia": (
        r"memory",
        r"dementia",
        r"alzheimer'?s?",
        r"alzeimers?",
        r"forget\w*",
        r"forgett\w*",
        r"confused",
        r"memory clinic",
        r"memory caf[eé]",
        r"got lost",
        r"gets lost",
        r"wander\w*",
    ),
    "fire_home_safety": (
        r"smoke alarms?",
        r"smoke detectors?",
        r"fire safety",
        r"safe and well",
        r"home safety check",
        r"safety check",
        r"carbon monoxide",
        r"co alarm",
        r"co detector",
        r"fire risk",
        r"fire alarm",
        r"fire (service|brigade)",
        r"a fire\b",
        r"electric blanket",
        r"(leaving|leaves|left) the "
        r"(gas|cooker|oven|hob)",
        r"pans? on",
        r"smokes in bed",
    ),
    "scams_crime": (
        r"scam\w*",
        r"fraud\w*",
        r"con ?m[ae]n",
        r"conned",
        r"cold call\w*",
        r"doorstep",
        r"burgl\w*",
        r"stolen",
        r"phishing",
        r"suspicious (call|email|text|letter)",
        r"rogue trader",
        r"bank details",
        r"crime",
        r"broken into",
        r"break[- ]?ins?\b",
        r"break in",
        r"hack\w*",
        r"pretending to be",
        r"won a prize",
        r"prize draws?",
        r"youths",
        r"anti-?social",
        r"police",
        r"(asked|asking|wanted) (me )?for (money|cash)",
        r"cash up front",
        r"sent (him|her|them) money",
        r"giving money to",
        r"(said|saying) (he|she|they) (was|were) (from|my)",
        r"knocked on my door",
        r"a man (at|came to) the door",
    ),
    "digital_skills": (
        r"computers?",
        r"laptop",
        r"tablet\b",
        r"ipad",
        r"smart ?phones?",
        r"mobile phone",
        r"internet",
        r"online",
        r"e-?mail",
        r"video call\w*",
        r"zoom",
        r"whats ?app",
        r"facetime",
        r"facebook",
        r"digital",
        r"wi-?fi",
        r"apps?\b",
        r"website",
        r"good with phones",
        r"on the phone\b(?= (journal|app))",
        r"journal",
    ),
    "food_shopping": (
        r"food",
        r"shopping",
        r"meals?\b",
        r"meals on wheels",
        r"groceries",
        r"food ?bank",
        r"hungry",
        r"cook(ing)?\b",
        r"eat(ing|s)?\b",
        r"hot (dinner|meal)",
        r"shops?\b",
        r"supermarket",
        r"tesco",
        r"asda",
        r"sainsbury'?s?",
        r"corner shop",
        r"fridge",
        r"dinner",
    ),
    "social_care_assessment": (
        r"care assessment",
        r"needs assessment",
        r"social (services|care)",
        r"carers? (coming|come|to come|to check) in",
        r"carers? (coming|come|to check)",
        r"needs? (some |more )?carers",
        r"a carer and",
        r"home care",
        r"care at home",
        r"help (with|getting|to get|him get|her get|me get) (washed|washing|dressed|dressing|showering)",
        r"wash(ing)? and dress(ing)?",
        r"personal care",
        r"care package",
        r"care home",
        r"occupational therap\w*",
        r"\bot\b assessment",
        r"more care",
        r"respite care",
        r"can'?t (cope|manage) (on (her|his|my|their) own|at home|any ?more)",
        r"help (him|her|me|them)? ?(to )?(wash|shower|get washed|get dressed)",
        r"help (him|her) get meals",
        r"showering",
        r"needs help in the mornings",
        r"help to get washed",
        r"lift him",
        r"lift her",
    ),
}
_COMPILED = {need: re.compile(r"\b(?:" + "|".join(pats) + r")", re.I) for need, pats in _LEXICON.items()}
_QUOTES = re.compile("[\u2018\u2019\u02bc`]")

_REL_WORDS = (
    r"(?:elderly\s+|old\s+|poor\s+)?(mum|mom|mother|mam|dad|father|husband|wife|partner|nan|nana|gran|"
    r"granny|grandma|grandmother|grandad|granddad|grandpa|grandfather|aunt|auntie|uncle|brother|sister|son|"
    r"daughter|neighbour|neighbor|friend|parents?|in-laws?|mother-in-law|father-in-law)"
)
# Someone asking for a relative: the relative is who the need is about ("for my mum", "my dad keeps
# falling", "my nan's lonely"), not just mentioned ("since my wife died", "I miss my husband").
_RELATIVE = re.compile(
    r"\b(?:for|about|on behalf of|helping|help)\s+my\s+" + _REL_WORDS + r"\b"
    r"|\bmy\s+" + _REL_WORDS + r"(?:'s|s)?\s+(?:is|isn'?t|has|hasn'?t|keeps|can'?t|cannot|could|needs|lives|won'?t|"
    r"doesn'?t|does|gets|got|struggles|struggling|wants|would|was|seems|feels|forgets|forgot|fell|falls|"
    r"had|used|never|only|really|just|lonely|living)\b"
    r"|\bmy\s+" + _REL_WORDS + r"'s\b",
    re.I,
)
_AGE = re.compile(
    r"\b(?:i'?m|i am|im|aged?|age is|he'?s|she'?s|they'?re)\s+(\d{2,3})\b(?!\s*(?:st|nd|rd|th|%|pounds|p\b))"
    r"|\b(\d{2,3})\s*(?:years?|yrs?)\s*old\b|\b(\d{2,3})\s*y/?o\b",
    re.I,
)
_CARER = re.compile(
    r"\b(?:i'?m|i am|im)\s+(?:a|the|his|her|their|an unpaid|a full[- ]time)\s+carer\b"
    r"|\bi\s+(?:look|looks)\s+after\b|\b(?:i'?m|i am|im)\s+(?:looking after|caring for)\b"
    r"|\bi\s+care\s+for\b",
    re.I,
)
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
    text = _QUOTES.sub("'", text or "")
    return [need for need, rx in _COMPILED.items() if rx.search(text)]


# A need the model ranks below its first guess is written down when the model is fairly sure of it
# on its own, or somewhat sure and the lexicon hears it too (tests/assistant/test_multi_need.py).
SECOND_ALONE = 0.40
SECOND_WITH_WORDS = 0.05
CATEGORIES = (
    "money_benefits",
    "loneliness_befriending",
    "falls_prevention",
    "home_repairs_adaptations",
    "telecare_alarms",
    "carers_support",
    "transport",
    "housing",
    "health_wellbeing",
    "memory_dementia",
    "fire_home_safety",
    "scams_crime",
    "digital_skills",
    "food_shopping",
    "social_care_assessment",
)


def _ranked(ranking: Iterable[Any] | None) -> list[tuple[str, float]]:
    out = []
    for r in ranking or ():
        if isinstance(r, dict):
            name, conf = r.get("name"), r.get("confidence")
        else:
            name, conf = r
        if isinstance(name, str) and isinstance(conf, (int, float)):
            out.append((name, float(conf)))
    return out


def record(text: str, intent: str | None = None, ranking: Iterable[Any] | None = ()) -> list[str]:
    """Every need a trained advisor would write down for this message: the model's need first,
    then the other needs it ranks high (``SECOND_ALONE``) or ranks at all and the lexicon also
    hears (``SECOND_WITH_WORDS``), then the rest the lexicon hears. ``ranking`` is Rasa's
    ``intent_ranking`` ([{"name", "confidence"}] or (name, confidence) pairs); it is used only
    when the message's intent is itself a need, safeguarding or an emergency (a greeting or a
    yes is not read for needs the model half-sees)."""
    words = find_needs(text)
    out: list[str] = []
    if intent and intent.startswith("need_") and intent[5:] in CATEGORIES:
        out.append(intent[5:])
    if intent and (intent.startswith("need_") or intent in ("safeguarding", "emergency")):
        for name, conf in _ranked(ranking):
            need = name[5:] if name.startswith("need_") else None
            if (
                need in CATEGORIES
                and need not in out
                and name != intent
                and (conf >= SECOND_ALONE or (conf >= SECOND_WITH_WORDS and need in words))
            ):
                out.append(need)
    out += [n for n in words if n not in out]
    return out


def score(
    pairs: Sequence[tuple[Iterable[str], Iterable[str]]], categories: Sequence[str] = CATEGORIES
) -> dict[str, Any]:
    """Precision and recall per need, micro and macro, of (wanted needs, recorded needs) pairs."""
    tp = dict.fromkeys(categories, 0)
    fp = dict.fromkeys(categories, 0)
    fn = dict.fromkeys(categories, 0)
    for want, got in pairs:
        want, got = set(want), set(got)
        for n in categories:
            tp[n] += n in want and n in got
            fp[n] += n in got and n not in want
            fn[n] += n in want and n not in got

    def ratio(a: float, b: float) -> float:
        return a / b if b else 0.0

    per = {
        n: {"precision": ratio(tp[n], tp[n] + fp[n]), "recall": ratio(tp[n], tp[n] + fn[n]), "support": tp[n] + fn[n]}
        for n in categories
    }
    used = [n for n in categories if per[n]["support"] or fp[n]]
    T, F, M = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {
        "per_need": per,
        "messages": len(pairs),
        "micro": {"precision": ratio(T, T + F), "recall": ratio(T, T + M)},
        "macro": {
            "precision": ratio(sum(per[n]["precision"] for n in used), len(used)),
            "recall": ratio(sum(per[n]["recall"] for n in used), len(used)),
        },
    }


def format_score(s: dict[str, Any]) -> str:
    lines = [
        f"{s['messages']} messages: micro precision {s['micro']['precision']:.3f} recall "
        f"{s['micro']['recall']:.3f}; macro precision {s['macro']['precision']:.3f} recall "
        f"{s['macro']['recall']:.3f}"
    ]
    for n, v in sorted(s["per_need"].items(), key=lambda kv: kv[1]["recall"]):
        lines.append(f"  {n:<26} precision {v['precision']:.2f} recall {v['recall']:.2f} ({v['support']})")
    return "\n".join(lines)


def read(text: str, intent: str | None = None, ranking: Iterable[Any] | None = ()) -> Facts:
    text = text or ""
    facts = Facts(needs=record(text, intent, ranking))
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


_NAME_PREFIX = re.compile(
    r"^\s*(?:(?:my|the|her|his|their)\s+name(?:'s|\s+is)|it'?s|i'?m|i am|im|this is|call me|"
    r"they can ask for|ask for|name is)\s+",
    re.I,
)


def read_name(text: str) -> str | None:
    """A name given in answer to "what name should they ask for?"."""
    name = _NAME_PREFIX.sub("", (text or "").strip())
    name = re.sub(r"[^\w '\-.]", "", name).strip(" .")
    words = name.split()
    if not words or len(words) > 5 or any(ch.isdigit() for ch in name):
        return None
    return " ".join(w if w[:1].isupper() else w.capitalize() for w in words)[:100]

"""Is someone describing an emergency happening now? Plain-word rules, no model.

The helpline's model recognises emergencies too; these rules are the second net, so a
confident misclassification cannot hide one (docs/assistant.md). They are used on the Rasa
side by ``assistant/components/emergency_rules.py`` (so this module imports nothing but
``re`` and runs on Python 3.10) and by ``frontdoor.turn`` on every turn.

``match(text)`` gives the kind of emergency or None: ``fall``, ``chest_pain``,
``breathing``, ``fire``, ``unconscious``, ``bleeding``, ``stroke``, ``seizure``, ``danger``.

The NHS's list of signs to call 999 for is covered as people describe them, about
themselves or another person, without the words "emergency" or "collapsed": not breathing
or struggling to breathe, choking, unresponsive or suddenly not making sense, pale, grey or
blue skin or lips, chest pain, the FAST stroke signs (face drooping, an arm weak, speech
slurred), a seizure or fit, heavy bleeding, and a fall with no getting up.

How the rules think:

* The text is normalised first: lower case, apostrophes dropped (``can't`` -> ``cant``,
  ``I'm`` -> ``im``), common misspellings folded (``breath``/``brethe`` -> ``breathe``,
  ``flor`` -> ``floor``, ``fallin`` -> ``fallen``), so a hurried text still matches.
* A pattern describes a state *now* (``is on the floor``, ``can't get up``, ``not
  breathing``, ``is on fire``, ``smell smoke``), never a topic (falls, smoke alarms).
* A hit is dropped when, earlier in the same sentence, the person talks about a
  possibility (``if I fall and can't get up``, ``worried about``, ``in case``); when the
  message is about the past or about something that keeps happening (``last year``,
  ``ago``, ``a few times``, ``keeps``, ``since my fall``) unless it also says it is
  happening now (``now``, ``still``, ``for hours``, ``ambulance``); and, for some patterns,
  when the words just before it make it about a thing, not a person (``my pendant is not
  responding``, ``the ceiling collapsed``, ``my feet are on fire``).

Cost: linear in the length of the text. Each hit looks back a bounded window (40 or 80
characters) and the whole-message questions (past? now? an alarm's signs later on?) are
answered once per message, not once per hit; no pattern can rescan the rest of the message
from each of many starting points (repetitions that could are bounded, the one unbounded
lookahead became ``later``). Only the first ``MAX_TEXT`` characters are read at all.
"""

from __future__ import annotations

import re

# The matcher reads at most this much of a message. The channels already cut a message to
# 1,000 characters before NLU (assistant/connectors/limits.py); this bounds the work whatever
# calls it. The matcher is linear in the length of what it reads (no hit rescans the message).
MAX_TEXT = 5_000

KINDS = ("fall", "chest_pain", "breathing", "fire", "unconscious", "bleeding", "stroke", "seizure", "danger")

# --- normalising -------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"[\u2018\u2019\u02bc\u0060\u00b4']")
_SPELLING: tuple[tuple[str, str], ...] = (
    (r"\b(?:can ?not|carnt|cnt|cant|can t|cannae|kant|cand)\b", "cant"),
    (r"\b(?:couldn ?t|could not|couldnt|coudnt|cudnt|cldnt)\b", "couldnt"),
    (r"\b(?:isn t|is not|isnt|isent|isnot)\b", "isnt"),
    (r"\b(?:won t|will not|wont|wnt)\b", "wont"),
    (r"\b(?:doesn t|does not|doesnt|dosnt|dosent)\b", "doesnt"),
    (r"\b(?:i m|i am|iam|im)\b", "im"),
    (r"\b(?:i have|i ve|ive|iv)\b", "ive"),
    (r"\bhe is\b", "hes"),
    (r"\bshe is\b", "shes"),
    (r"\bthey are\b", "theyre"),
    (r"\bthere is\b", "theres"),
    (r"\bit is\b", "its"),
    (r"\b(?:plz|pls|plse|plese|pleas|pleeease|pleeeease|pleease)\b", "please"),
    (r"\b(?:breath|breth|brethe|breathe|breeth|breathee|brath|brethe)\b", "breathe"),
    (r"\b(?:breathin|breathing|brething|breating|breatheing|breathng|brea thing|breething)\b", "breathing"),
    (r"\b(?:fallen|fallin|falen|fallan|falled|fallne)\b", "fallen"),
    (r"\b(?:fel|felled)\b", "fell"),
    (r"\b(?:floor|flor|flore|floore|flo{2,}r|fllor|foor)\b", "floor"),
    (r"\b(?:collapsed|colapsed|collasped|colapsd|collaped|colapesd|collapesd|collpased|colapse)\b", "collapsed"),
    (r"\b(?:unconscious|unconcious|unconsious|unconsius|unconcsious|unconsciuos|unconscius)\b", "unconscious"),
    (r"\b(?:chest|chesst|chets|cheast|chst)\b", "chest"),
    (r"\b(?:pains|painz|pian|pianes|pians|payn|paine)\b", "pain"),
    (r"\b(?:bleeding|bleading|bleedin|bledding|bleding|bleeeding)\b", "bleeding"),
    (r"\b(?:ambulance|ambulence|amblance|ambulanc|ambalance|ambulace|ambulnce|ambulans)\b", "ambulance"),
    (r"\b(?:responding|respondin|respnding|responsive)\b", "responding"),
    (r"\b(?:help+|hlep|hepl|halp|hellp)\b", "help"),
    (r"\b(?:getup|get upp|gt up)\b", "get up"),
    (r"\b(?:smoe|smoek|smkoe|smoak)\b", "smoke"),
    (r"\b(?:unable to|not able to|no way to|not being able to)\b", "cant"),
)
_SPELLING_RE = tuple((re.compile(p), r) for p, r in _SPELLING)


def normalise(text: str) -> str:
    """Lower case, no apostrophes, one space, misspellings folded (see _SPELLING)."""
    t = _APOSTROPHES.sub("", text.lower())
    t = re.sub(r"[^a-z0-9.!?,;:\s&-]", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    for pattern, repl in _SPELLING_RE:
        t = pattern.sub(repl, t)
    return t


# --- building blocks ---------------------------------------------------------------------

_RELATIVE = (
    r"mum|mom|mother|mam|mammy|mummy|dad|daddy|father|husband|hubby|wife|partner|nan|nana|nanna|"
    r"nannan|gran|granny|grandma|grandmother|grandad|granddad|grandpa|grandfather|aunt|auntie|aunty|"
    r"uncle|brother|sister|son|daughter|neighbour|neighbor|friend|lodger|man|woman|lady|gentleman|fella|"
    r"bloke|missus|other half|carer|child|baby|person|patient|resident|client|mother in law|"
    r"father in law|in law|sister in law|brother in law|flatmate|tenant|pal|mate|guy|gent"
)
# someone: the caller, a pronoun, "my <relative>", "mum", "my husbands" (= husband's)
_WHO = (
    r"(?:im|ive|i|he|she|hes|shes|they|theyre|theyve|him|her|them|we|were|weve|someone|somebody|"
    r"(?:" + _RELATIVE + r")s?)"
)
# what makes a past, repeated or hypothetical message about *now* after all
_NOW = re.compile(
    r"\b(?:right now|at the moment|just now|currently|still|as we speak|this minute|"
    r"(?<!too )quick(?:ly)?|hurry|asap|urgent(?:ly)?|immediately|ambulance|999|emergency|for hours|"
    r"all night|all morning|all day|since (?:this morning|last night|yesterday|then|earlier)|"
    r"been (?:lying|stuck|laying|sat|on the floor|there)|(?:on the floor|fallen|fell|collapsed) again|"
    r"now (?:im|ive|hes|shes|theyre|theyve|i|he|she|they|mum|dad)(?: \w+)? (?:on the|lying|stuck|cant|not "
    r"breathing|bleeding|unconscious|having|fallen|fell|collapsed|in agony))\b"
)
_PAST = re.compile(
    r"\b(?:last (?:week|month|year|night|time|christmas|summer|winter|spring|autumn|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|weekend)|yesterday|ago|used to|in the past|previously|before christmas|"
    r"earlier this (?:year|month)|this year|back in|in (?:19|20)\d\d|in (?:january|february|march|april|may|june|"
    r"july|august|september|october|november|december)|since (?:my|his|her|their|the|i|he|she|mum|dad)|"
    r"after (?:my|his|her|their|the|some|that) (?:fall|falls|stroke|heart attack|operation|op|chest pains?)|recovering|"
    r"recovered|turned out|these days|nowadays|(?:doctors?|gp|nurse|consultant) (?:said|says|told|checked)|"
    r"(?:i|he|she|they|mum|dad) gets? (?:\w+ )?(?:chest pains?|pains? in|breathless|short of breathe|dizzy|fits|"
    r"seizures|funny turns|palpitations|confused)|(?:bleeds?|bruises?|bleeding|bruising) easily|(?:from|with) "
    r"(?:old )?age|(?:was|been|got|get) checked|checked out|diagnosed|"
    r"(?:a few|several|two|three|four|five|many|lots of|loads of|a couple of|a number of|a lot of|multiple) "
    r"(?:times|falls)|twice|more than once|keeps? (?:on )?(?:falling|fainting|collapsing|tripping|having|getting|"
    r"passing out|blacking out|going|losing)|kept|again and again|all the time|often|sometimes|regularly|"
    r"every (?:day|week|time|now and then|so often|morning|night)|from time to time|now and (?:then|again)|lately|occasionally|"
    r"tends? to|prone to|when(?:ever)? (?:i|he|she) (?:stand|get up|walk|climb|go up|bend|exercise|cook)|"
    r"was in hospital|in hospital|discharged|came out of hospital|out of hospital)\b"
)
# a possibility, a worry, advice: what follows in the same sentence is not happening now
_IFFY = re.compile(
    r"\b(?:if|what if|in case|incase|whether|in the event|unless|"
    r"(?:worried|worry|worries|worrying|scared|afraid|frightened|terrified|fear|fears|nervous|anxious) "
    r"(?:that|of|about)|risk of|at risk|prevent|prevention|avoid|so (?:i|he|she|they) (?:dont|doesnt|wont)|"
    r"when(?:ever)? (?:i|he|she|they|you|someone|people) (?:fall|falls|fell|have a fall|has a fall)|"
    r"(?:worried|worry|worries|worrying|scared|afraid|frightened|terrified|fear|fears|nervous|anxious|dread|dreading|"
    r"hate)(?: that| of| about)?(?: \w+)?(?: ll| ill| will| might| may| could| would| wont| going to| gonna| to| being)|"
    r"suppose|supposing|imagine|hypothetically|dread|dreading|(?:could|might|would) be (?:lying|laying|stuck|left))\b"
)
_MAYBE = re.compile(
    r"\b(?:could|might|would|may) (?:be|end up)\s*$"
    r"|\b(?:worry|worries|worrying|keep thinking|keeps thinking|imagining)(?: that)?\s*$"
)
_SENTENCE_END = re.compile(r"[.!?;]")

_THINGS = (
    r"alarm|pendant|button|phone|mobile|computer|tablet|laptop|ipad|app|unit|device|website|tv|telly|car|"
    r"boiler|heating|line|internet|wifi|router|business|bank|system|battery|radio|lift|stairlift|"
    r"ceiling|roof|wall|fence|shed|garage|chimney|building|bridge|tent|lung|lungs|market|scheme|service|"
    r"council|doctor|surgery|gp|landlord|office|company|bus|train|printer|clock|fridge|freezer|"
    r"washing machine|cooker|oven|kettle|light|lights|website|page|screen|mouse|keyboard|shelf|shelves|"
    r"wardrobe|cupboard|plaster|porch|gutter|pipe|pipes|tree|branch|sink|bath panel|floorboards?"
)
_BODY = (
    r"feet|foot|legs|leg|hands|hand|skin|knees|knee|joints|back|throat|eyes|eye|mouth|stomach|tummy|arms|"
    r"arm|face|head|ears|toes|fingers|bladder|wee|pee|gums|gum|nose|piles|bum|bottom|period|tongue|lips"
)


def _after(words: str) -> re.Pattern[str]:
    """The text just before a hit ends with one of these words (and perhaps is/are/s): not a person."""
    return re.compile(
        r"\b(?:" + words + r")(?: (?:in|on|at|of) (?:the |my |our )?\w+)?"
        r"(?: (?:is|are|s|has|have|has been|was|keeps|just|has just|is just))?\s*$"
    )


_NOT_A_PERSON = _after(_THINGS)
_NOT_AN_EMERGENCY_PART = _after(_BODY)
# bleeding from these is rarely an emergency ("my gums are bleeding"); a head, a leg or an arm may be
_MINOR_BLEED = _after(
    r"gums|gum|nose|piles|haemorrhoids|bum|bottom|period|lip|lips|finger|fingers|toe|toes|spot|"
    r"ulcer|cuticles?|knuckles?|scab|wart"
)
_ALMOST = re.compile(
    r"\b(?:nearly|almost|practically|virtually|could have|couldve|thought i would have|"
    r"like i|as if i|pretend to|pretended to)\s*$"
)
_GAS_FIRE = re.compile(r"\b(?:gas|electric|coal|open|log|wood|real|living flame|bonfire|camp)\s*$")
_SMOKER = re.compile(
    r"\b(?:i|you|we|they|he|she|dont|doesnt|to|can|still|never|not|who|people|used to|"
    r"mum|dad|husband|wife|to stop|cigarettes?|smoking)\s*$"
)


# an alarm going off is an emergency when one of these words comes after it in the message
_ALARM_SIGNS = re.compile(r"\b(?:dizzy|sick|smoke|smell|fire|headache|faint|burning|gas)\b")


class _Rule:
    __slots__ = ("kind", "pattern", "timeless", "iffy", "not_after", "later")

    def __init__(
        self,
        kind: str,
        pattern: str,
        *,
        timeless: bool = False,
        iffy: bool = True,
        not_after: tuple[re.Pattern[str], ...] = (),
        later: re.Pattern[str] | None = None,
    ) -> None:
        self.kind = kind
        self.pattern = re.compile(pattern)
        self.timeless = timeless  # a past marker elsewhere in the message does not cancel it
        self.iffy = iffy  # a possibility earlier in the sentence cancels it
        self.not_after = not_after  # the hit is about a thing when the text before it ends like this
        self.later = later  # the hit counts only if this matches somewhere after it in the message


_CANT = r"(?:cant|couldnt|struggling to|trying to|tried to|wont let me)"
_FALLEN = (
    r"(?:fallen|fell|fall over|falls over|had a fall|slipped|slipt|tripped|collapsed|gone down|went down|"
    r"fallen down|fell down|fallen over|fell over|toppled|took a tumble|taken a tumble|knocked over|keeled over)"
)
_GET_UP = (
    r"(?:get up|get back up|get myself up|get her up|get him up|get them up|get off|get up off|get back on|"
    r"stand|stand up|get to my feet|get to (?:the |my )?(?:phone|door|alarm|pendant)|reach (?:the |my )?(?:phone|"
    r"alarm|pendant|button)|move|lift (?:him|her|them|myself)|pick (?:him|her|them|myself) up|get out of "
    r"(?:the )?(?:bath|shower))"
)
_FLOOR = r"(?:floor|ground|carpet|pavement|path|lino|tiles|kitchen floor|bathroom floor|landing|patio|driveway)"
_FALLEN_NOT = (
    r"(?! (?:behind|out|through|apart|asleep|for|in love|ill|silent|short|pregnant|on hard times|into|off the "
    r"list|off the radar|foul))"
)

_RULES: tuple[_Rule, ...] = (
    # -- fire, smoke, gas -----------------------------------------------------------------
    _Rule(
        "fire",
        r"\b(?:on fire|alight|in flames|ablaze|caught (?:on )?fire|catching fire|set (?:on )?fire|"
        r"set fire to|burning down|gone up in flames)\b(?! (?:today|tonight|this week|haha|lol|at (?:the )?"
        r"(?:bingo|quiz|darts|cards)))",
        not_after=(_NOT_AN_EMERGENCY_PART,),
    ),
    _Rule(
        "fire",
        r"\b(?:theres|there s|theres been|there has been) (?:a )?(?:big |small |little )?fire\b"
        r"(?! (?:alarm|safety|service|brigade|door|extinguisher|blanket|risk|station|check|officer|escape|"
        r"plan|guard|place|drill|exit))",
    ),
    _Rule(
        "fire",
        r"\b(?:fire|blaze) (?:in|at) (?:the|my|our|his|her|their|next door|upstairs|downstairs)\b"
        r"(?! (?:\w+ )?(?:alarm|safety|place|grate))",
        not_after=(_GAS_FIRE,),
    ),
    _Rule(
        "fire",
        r"\b(?:smell|smelling|smells|can smell|see|seeing|notice|theres|full of|filled with|filling with|"
        r"filling up with|lots of|loads of|thick|black|billowing|choking on) (?:of |some |a lot of |lots of )?"
        r"(?:smoke|burning)\b(?! alarms?| detectors?| free)",
    ),
    _Rule(
        "fire",
        r"\bsmoke (?:is |s )?(?:coming|pouring|billowing|everywhere|filling|from|under|through|out of|"
        r"upstairs|downstairs|in the (?:house|kitchen|room|hall|flat|bedroom|lounge|stairs|loft|garage)|"
        r"in my (?:house|kitchen|room|hall|flat|bedroom|lounge))\b",
        not_after=(_SMOKER,),
    ),
    _Rule(
        "fire",
        r"\b(?:something|the \w+|my \w+|it|its) (?:is |s )?(?:burning|smoking|smouldering)\b"
        r"(?! (?:sensation|feeling|pain|cigarettes?|in bed|too much|again))",
        not_after=(_NOT_AN_EMERGENCY_PART,),
    ),
    _Rule("fire", r"^(?:help ?)*(?:fire|fire fire|theres a fire)(?: ?help)*[.! ]*$", timeless=True, iffy=False),
    _Rule(
        "danger",
        r"\b(?:smell|smelling|smells|strong smell of|stink of|stinks of|reek of|reeks of) (?:of )?gas\b"
        r"|\bgas leak(?:ing)?\b|\bleaking gas\b|\bgas is leaking\b",
    ),
    _Rule(
        "danger",
        r"\b(?:carbon monoxide|co|gas|smoke|fire) (?:alarm|detector) (?:is |s )?(?:going off|sounding|"
        r"screaming|wont stop)\b",
        later=_ALARM_SIGNS,
    ),
    # -- falls, on the floor ------------------------------------------------------------
    _Rule(
        "fall",
        r"\b" + _FALLEN + _FALLEN_NOT + r"[^.!?;]{0,70}\b" + _CANT + r" " + _GET_UP + r"\b"
        r"(?! (?:\w+ )?(?:stairs|steps|hill|hills|bus|in the morning))",
    ),
    _Rule(
        "fall",
        r"\b" + _CANT + r" (?:get|stand|move)(?: myself| him| her| them| back)?(?: back)?(?: up)? (?:off|from|of)"
        r" (?:the |my |his |her )?(?:\w+ )?" + _FLOOR + r"\b",
    ),
    _Rule(
        "fall",
        r"\b" + _CANT + r" (?:get|stand) (?:myself |back )?up(?: again)?(?: off)?[ .!?,]*(?:(?:please|help|"
        r"now|quick|someone|anyone|hurry|im scared|scared|im stuck|stuck|cold|im cold|in pain|"
        r"its cold|i hurt|hurts)\b[ .!?,]*)*$",
    ),
    _Rule(
        "fall",
        r"(?:^|\b(?:"
        + _WHO
        + r"(?: is| s| are| has been| have been| been)?|im|ive been|been|am|lying|laid|laying|stuck|"
        r"sat|sitting|slumped|collapsed|still|fallen|fell|ended up|landed|lay|lays|lies) )"
        r"(?:(?:still|stuck|lying|laying|laid|sat|sitting|just|now|down|flat out|face down|out|collapsed|"
        r"sprawled|curled up|here|there|again|lying down|helpless) ){0,8}(?:on|onto|across|in a heap on) "
        r"(?:the|my|his|her|their|our) (?:(?!first|second|third|fourth|fifth|sixth|top|upper|lower|ground|"
        r"\d)\w+ ){0,2}?"
        + _FLOOR
        + r"\b(?! (?:floor|level|flat|above|below|beneath|under|upstairs|downstairs|needs?|was|is slippery|is uneven|tiles|fitting|fitted|cleaning|covering|"
        r"mat|rug|a lot|doing|to do|exercis\w*|playing|with (?:the|his|her|my) (?:grand)?(?:kids|children|dog|cat)))",
    ),
    _Rule(
        "fall",
        r"\b(?:ive|has|have|hes|shes|theyve|just|s|weve|youve|(?:"
        + _RELATIVE
        + r")s) (?:just |only just |now |gone and )?(?:fallen|"
        r"had a fall|had a nasty fall|had a bad fall|had a tumble|fell|taken a fall|taken a tumble)\b"
        + _FALLEN_NOT
        + r"(?! (?:a few|several|twice|before|in the past|more than))",
    ),
    _Rule(
        "fall",
        r"\b(?:ive|has|have|hes|shes|theyve|just|s|im|i|(?:"
        + _RELATIVE
        + r")s) (?:just )?(?:slipped|slipt|tripped|gone over|gone "
        r"down|went down|fell|fallen)\b(?=[^.!?;]{0,60}\b(?:floor|ground|cant|hurt|hurts|bleeding|head|hip|"
        r"stuck|help|pain|broken|broke|leg|wrist)\b)",
    ),
    _Rule(
        "fall",
        r"\b(?:fell|fallen|collapsed|slipped|tripped)\b(?: \w+){0,6} (?:and|now|&|so) (?:\w+ ){0,2}?"
        r"(?:isnt moving|not moving|wont move|cant move|cant get|is bleeding|bleeding|hit (?:his|her|my|their) "
        r"head|banged (?:his|her|my|their) head|is unconscious|unconscious|wont wake|isnt responding|"
        r"not responding|is stuck|stuck|is hurt|hurt (?:himself|herself|myself)|is in (?:a lot of )?pain|"
        r"in agony|screaming|crying out|moaning)\b",
    ),
    _Rule(
        "fall",
        r"\b(?:im|hes|shes|theyre) stuck\b[^.!?;]{0,40}\b(?:floor|ground|bath|shower)\b"
        r"|\b" + _CANT + r" get out of (?:the )?(?:bath|shower)\b",
    ),
    # -- unconscious, collapsed -----------------------------------------------------------
    _Rule(
        "unconscious",
        r"\b(?:unconscious|unresponsive|out cold|not conscious|lifeless|knocked out|"
        r"out for the count)\b",
        not_after=(_NOT_A_PERSON,),
    ),
    _Rule(
        "unconscious",
        r"\b" + _WHO + r"(?: \w+){0,3}? (?:isnt|not|stopped|no longer|doesnt seem to be|wont stop) "
        r"(?:responding|moving|waking up|coming round|coming to|answering me|talking to me|"
        r"making sense|opening (?:his|her|their) eyes)\b",
    ),
    _Rule(
        "unconscious",
        r"\b" + _WHO + r" (?:wont|doesnt|isnt going to|cant) (?:respond|answer me|open (?:his|her|"
        r"their) eyes)\b",
    ),
    _Rule(
        "unconscious",
        r"\b(?:wont|cant|couldnt) (?:wake|rouse|come round|come to)\b(?! up in the|up early)",
        not_after=(_NOT_A_PERSON,),
    ),
    _Rule(
        "unconscious",
        r"\b(?:collapsed|passed out|fainted|blacked out|keeled over|slumped|gone floppy)\b"
        r"(?! (?:roof|ceiling|lung|lungs|in the past|veins?|(?:in|into|on|onto) (?:the |my |a )?"
        r"(?:bed|sofa|settee|armchair|chair)|exhausted|with (?:laughter|tiredness)))",
        not_after=(_NOT_A_PERSON, _ALMOST),
    ),
    _Rule(
        "unconscious",
        r"\bslumped\b[^.!?;]{0,40}\b(?:wont|cant|isnt|not|doesnt) (?:answer|respond|responding|wake|"
        r"moving|breathing|talking|speaking)\b",
    ),
    _Rule(
        "unconscious",
        r"\b(?:i think|think|maybe|might be|looks like|seems|found) "
        + _WHO
        + r"(?: is| s)? (?:might be |may be |is |s )?dead\b",
    ),
    # -- breathing ----------------------------------------------------------------------
    _Rule(
        "breathing",
        r"\b(?:cant|couldnt|struggling to|hard to|can hardly|can barely|cant hardly|unable to|"
        r"trouble to|fighting to|gasping to|fight to) (?:catch (?:my|his|her|their) )?breathe\b",
    ),
    _Rule(
        "breathing",
        r"\b(?:isnt|not|stopped|no longer|hardly|barely|struggling|difficulty|trouble|problems?|"
        r"struggle|cant stop) breathing\b(?! (?:exercises?|techniques?|problems? (?:since|for)|"
        r"at night|when))",
        not_after=(_NOT_A_PERSON,),
    ),
    _Rule(
        "breathing",
        r"\b(?:gasping|fighting for (?:breathe|air)|choking|chocking|choked on|cant get (?:any )?air|"
        r"(?:lips|face) (?:are |is )?(?:going |turning |gone )?blue|turning blue|going blue|gone blue|"
        r"asthma attack|cant (?:catch|get) (?:my|his|her|their) breathe|out of breathe and cant)\b",
    ),
    # -- chest pain / heart --------------------------------------------------------------
    _Rule(
        "chest_pain",
        r"\bchest (?:pain|hurts?|hurting|is (?:so |really |very )?(?:tight|sore|painful|hurting|"
        r"heavy|killing|crushing|crushed|burning)|tight(?:ness)?|feels (?:\w+ )?(?:tight|heavy|like|crushed|squeezed)|crushing|pressure|ache|aching|"
        r"agony)\b",
    ),
    _Rule(
        "chest_pain",
        r"\b(?:pain|pressure|tightness|crushing|squeezing|ache|aching|agony|hurts|hurting) "
        r"(?:\w+ ){0,2}?(?:in|across) (?:my|his|her|their|the) chest\b",
    ),
    _Rule("chest_pain", r"\b(?:clutching|holding|gripping|grabbing) (?:at )?(?:his|her|my|their) chest\b"),
    _Rule(
        "chest_pain",
        r"\b(?:having|have|is having|s having|im having|think (?:\w+ ){0,3}?(?:is|s|im|having|had|"
        r"has had)|just had|might be having|may be having|might have had|could be) (?:a |an )?"
        r"(?:heart attack|cardiac arrest)\b",
    ),
    # -- bleeding -----------------------------------------------------------------------
    _Rule(
        "bleeding",
        r"\bbleeding (?:a lot|heavily|badly|really badly|so badly|so much|everywhere|profusely|loads|"
        r"alot|lots|like mad|wont stop|and wont stop|all over|from (?:his|her|my|their|the) (?:head|"
        r"mouth|ears?|leg|arm|neck|wrist|face|chest|stomach))\b",
    ),
    _Rule(
        "bleeding",
        r"\b(?:cant|wont|couldnt) stop (?:the |it |him |her )?(?:bleeding|blood)\b|\bbleeding wont stop\b"
        r"|\bwont stop bleeding\b",
    ),
    _Rule(
        "bleeding",
        r"\b(?:blood everywhere|blood all over|lots of blood|loads of blood|a lot of blood|so much "
        r"blood|pool of blood|losing (?:a lot of |lots of |so much )?blood|blood (?:is )?(?:pouring|"
        r"gushing|pumping|spurting))\b",
    ),
    _Rule(
        "bleeding",
        r"\b(?:im|hes|shes|is|are|theyre|s) (?:really |badly |still )?bleeding\b(?! (?:money|me|us|them|"
        r"him|her|my|the|dry|out money))",
        not_after=(_MINOR_BLEED,),
    ),
    _Rule("fire", r"\bflames (?:are )?(?:coming|everywhere|in|from|out|pouring|shooting|all over)\b"),
    # -- seizure, fit ---------------------------------------------------------------------
    _Rule(
        "seizure",
        r"\b(?:having|had|gone into|is in|s in|in the middle of) (?:a |an |another )?(?:seizure|fit|"
        r"convulsion|epileptic fit|grand mal)\b(?! (?:about|over|of (?:the )?(?:giggles|laughter)|"
        r"when|if))",
    ),
    _Rule(
        "seizure",
        r"\b(?:hes|shes|theyre|im|is|are|s|been|keeps|started|still) (?:\w+ )?(?:fitting|convulsing|"
        r"seizing)\b(?! (?:a |the |my |his |her |new |in |out |the bill))",
    ),
    _Rule(
        "seizure",
        r"\b(?:seizure|fit|fitting|shaking|jerking|twitching|convulsions?)\b[^.!?;]{0,30}\b(?:wont|cant|"
        r"isnt going to|doesnt) stop\b|\b(?:shaking|jerking|twitching) (?:all over|uncontrollably|"
        r"violently)\b(?=[^.!?;]{0,40}\b(?:wont|cant|not|unconscious|floor|eyes|foaming)\b)",
    ),
    # -- colour, confusion: signs in another person ------------------------------------
    _Rule(
        "breathing",
        r"\b" + _WHO + r"(?: (?!hair|beard|hands?|feet|fingers?|toes?|nails?|legs?|eyebrows|skies|sky|"
        r"paint|walls?|car|screen|bruises?|teeth|eyes)\w+){0,2}? (?:has |have |is |s |are )?(?:gone|going|"
        r"turned|turning|looks?|"
        r"looking) (?:very |really |all |a bit )?(?:grey|gray|blue|ashen|a funny colour|a strange colour|"
        r"a horrible colour|white as a sheet|deathly pale)\b(?! (?:hair|haired|in the|at the|with "
        r"(?:age|cold)|over the years))",
    ),
    _Rule(
        "breathing",
        r"\bblue (?:round|around|about) (?:the |his |her |their |my )?(?:mouth|lips)\b"
        r"|\b(?:grey|gray|pale|ashen|clammy|sweaty|cold) and (?:clammy|sweaty|sweating|grey|gray|cold and clammy|"
        r"not with it|not making sense|confused|wont wake|breathing funny)\b",
    ),
    _Rule(
        "unconscious",
        r"\b" + _WHO + r"(?: \w+){0,3}? (?:isnt|not|stopped|no longer|doesnt seem to be) "
        r"(?:making (?:any |much )?sense|with it|talking sense|with us|herself|himself)\b"
        r"(?! (?:about|of|on))",
    ),
    _Rule(
        "unconscious",
        r"\b(?:talking (?:gibberish|nonsense|rubbish)|doesnt know (?:where|who) (?:(?:she|he|they|i) "
        r"(?:is|am|are)|im|hes|shes|theyre)|suddenly doesnt recogni[sz]e me|words (?:are|come) out (?:all )?(?:wrong|jumbled|"
        r"muddled))\b(?! (?:any ?more|half the time|some days|at times))",
    ),
    _Rule(
        "unconscious",
        r"\b(?:gone|is|s|become|became|suddenly|very|really) (?:very |really |all |so )?"
        r"(?:confused|drowsy|delirious|incoherent)\b[^.!?;]{0,40}\b(?:suddenly|all of a sudden|"
        r"out of nowhere|this morning|just now|tonight|today|cant wake|wont wake|cant speak|"
        r"cant talk|not making sense)\b",
    ),
    _Rule(
        "breathing",
        r"\b(?:wheezing|wheezy|gasping|rasping)\b[^.!?;]{0,30}\b(?:cant|cannot|struggling to|unable to) "
        r"(?:speak|talk|breathe|get (?:his|her|my|their) breathe)\b"
        r"|\bsomething (?:is |s )?stuck in (?:his|her|my|their|(?:my )?\w+s) throat\b",
    ),
    _Rule(
        "bleeding",
        r"\b(?:blood|bleeding) (?:just )?(?:wont|doesnt|isnt going to|will not) stop\b"
        r"|\b(?:cut|gashed|slashed) (?:his|her|my|their) (?:head|hand|arm|leg|wrist|face|foot|neck|throat|knee|"
        r"thigh) (?:open|badly|really badly|deep|deeply)\b"
        r"|\bbleeding (?:really |very |so )?(?:heavily|badly)\b",
    ),
    # -- stroke -------------------------------------------------------------------------
    _Rule(
        "stroke",
        r"\b(?:having|is having|s having|im having|think (?:\w+ ){0,3}?(?:is|s|im|having|had|has had)|"
        r"just had|might be having|may be having|might have had|may have had|could be) (?:a |another )?"
        r"(?:stroke|mini stroke|tia)\b",
    ),
    _Rule(
        "stroke",
        r"\b(?:face|mouth|smile) (?:\w+ )?(?:has |is |s )?(?:dropped|drooped|dropping|drooping|droopy|"
        r"gone (?:funny|droopy|lopsided|to one side|all funny)|lopsided|sagging|twisted)\b"
        r"(?! (?:from|with|because of|due to) (?:old )?age)",
    ),
    _Rule(
        "stroke",
        r"\b(?:slurring|slurred|slurry) (?:his |her |my |their )?(?:words|speech)\b|\bspeech (?:is |has )?"
        r"(?:gone )?(?:slurred|slurring|all wrong|garbled)\b|\bwords are (?:all )?(?:slurred|jumbled)\b",
    ),
    _Rule("stroke", r"\bcant (?:lift|raise|move) (?:his|her|my|their|one) (?:\w+ )?(?:arm|leg|side)\b"),
    _Rule(
        "stroke",
        r"\b(?:cant|struggling to|trying to) (?:speak|talk|get (?:his|her|my|their) words out)(?: properly| "
        r"clearly| right| at all|(?= and| ,))\b[^.!?;]{0,40}\b(?:arm|leg|face|side|hand)\b"
        r"|\b(?:arm|leg|face|side|hand) (?:is |has |s )?(?:gone )?(?:weak|numb|dead|floppy|drooping)\b"
        r"[^.!?;]{0,40}\b(?:cant|struggling to) (?:speak|talk)\b",
    ),
    # -- danger, an ambulance, help now ---------------------------------------------------
    _Rule(
        "danger",
        r"\b(?:someone|somebody|someones|somebodys|a man|a woman|people|a stranger|an intruder|men|they|hes|"
        r"shes|theyre|mans|womans) (?:is |are |s )?(?:trying to |tried to )?(?:break in|breaking in|break into|breaking into|"
        r"getting in|forcing (?:the|my) (?:door|window))\b",
    ),
    _Rule(
        "danger",
        r"\b(?:theres|there are|theres been|got) (?:a |an |some )?(?:man|woman|stranger|intruder|someone|"
        r"somebody|people|men|burglar|burglars) (?:in|inside|downstairs in|upstairs in|at|trying) (?:my|the|"
        r"our|to get)\b",
    ),
    _Rule(
        "danger",
        r"\b(?:i think|i can hear|i heard|theres|there is|i know) (?:someone|somebody|a man|people|men|"
        r"a stranger|an intruder) (?:is |s |are )?(?:in|inside|downstairs|upstairs|moving about|walking about|"
        r"creeping about) ?(?:in |inside )?(?:the|my|our)? ?(?:house|home|flat|bungalow|bedroom|kitchen|hall|"
        r"downstairs|upstairs|loft)?\b",
    ),
    _Rule(
        "danger",
        r"\b(?:someone|somebody|someones|somebodys|a man|a woman|people|a stranger|men|some men|they|a gang|kids)\b[^.!?;]{0,50}"
        r"\b(?:trying to|tried to|keep trying to) (?:get in|break in|get into|force (?:the|my) (?:door|window)|"
        r"kick (?:the|my) door)\b",
    ),
    _Rule("danger", r"\bintruders?\b|\bburglars? (?:in|inside|downstairs|upstairs)\b"),
    _Rule(
        "danger",
        r"\b(?:hes|shes|theyre|someone is|somebody is|someones|they are) (?:\w+ )?(?:attacking|"
        r"strangling|stabbing|beating|choking) (?:me|us|him|her|my)\b|\bbeing attacked\b|\b(?:hes got|shes "
        r"got|has got|with|holding|waving) a (?:knife|gun|weapon)\b|\b(?:going|gonna|threatening) to "
        r"(?:kill|stab|hurt|shoot) (?:me|us|him|her)\b",
    ),
    _Rule(
        "danger",
        r"\b(?:kill myself|end my life|end it all|take my own life|suicidal|want to die|better off dead|"
        r"taken an overdose|took an overdose|overdosed|taken too many (?:tablets|pills)|took too many "
        r"(?:tablets|pills))\b",
    ),
    _Rule(
        "danger",
        r"\b(?:need|call|send|get|ring|phone|want) (?:me |us |him |her )?(?:an? |the )?(?:ambulance|"
        r"paramedics?)\b(?! (?:service|trust|station|history))|\b(?:call|ring|phone|dial) (?:the )?999\b",
    ),
    _Rule(
        "danger",
        r"\b(?:its|this is|theres|we have|ive got|got|having) an? (?:real |medical )?emergency\b(?! (?:"
        r"alarm|contact|button|pendant|number|plan|fund|repair|line|call|service|kit|cord|appointment|"
        r"dentist|card|payment|grant|loan|housing|food|parcel))|^(?:help ?)*(?:its an? )?emergency"
        r"(?: ?help)*[.! ]*$",
    ),
    _Rule(
        "danger",
        r"^(?:please ?)?(?:help ?(?:me ?)?){2,}(?:please)?[.! ]*$|^(?:please ?)?help me(?: please)?[.! ]*$"
        r"|^(?:please ?)?(?:help ?)+![ !]*$|\bhelp (?:me |us )?(?:please )?(?:quick|quickly|now|fast|hurry|im scared|im frightened|right now"
        r"|asap|urgently|someone please)\b(?! (?:at|in|for|getting|and then|with|to|get|find|fill|sort|understand|apply|claim|learn|"
        r"use|set|do|make|cook|clean|shop|go|pay|about|out|look|choose|on))",
        timeless=True,
    ),
    _Rule("danger", r"\bsos\b|\bmayday\b", timeless=True),
    _Rule(
        "danger",
        r"^(?:(?:help|please|me|us|somebody|someone|anybody|anyone|quick|quickly|now)\b[ .!?,]*){2,}$",
        timeless=True,
        iffy=False,
    ),
    _Rule(
        "danger",
        r"^(?:help ?|please ?)*(?:heart attack|stroke|fire|fallen|ive fallen|collapsed|bleeding|"
        r"cant breathe|not breathing|ambulance)(?: ?help| ?please| ?quick)*[.! ]*$",
        timeless=True,
        iffy=False,
    ),
)


# How far before a hit each check looks. Every window is bounded, so a message with many
# hits costs time in proportion to its length, never to its length squared (issue 10).
_NOT_AFTER_WINDOW = 40  # the words just before a hit (``_after`` patterns)
_MAYBE_WINDOW = 40  # "could be " / "might end up " just before a hit (at most 13 characters)
_IFFY_WINDOW = 80  # a possibility earlier in the same sentence, at most this far back
_SENTENCE_ENDS = ".!?;"  # the characters ``_SENTENCE_END`` matches


class _Message:
    """The normalised text of one message, with what is asked of the whole message worked
    out once (not once per hit)."""

    __slots__ = ("norm", "_past", "_later")

    def __init__(self, norm: str) -> None:
        self.norm = norm
        self._past: bool | None = None
        self._later: dict[re.Pattern[str], int] = {}

    def past(self) -> bool:
        """The message is about the past or something that keeps happening, not now."""
        if self._past is None:
            self._past = bool(_PAST.search(self.norm)) and not _NOW.search(self.norm)
        return self._past

    def last_start(self, pattern: re.Pattern[str]) -> int:
        """Where the last match of ``pattern`` (whole words) starts, or -1."""
        if pattern not in self._later:
            last = -1
            for m in pattern.finditer(self.norm):
                last = m.start()
            self._later[pattern] = last
        return self._later[pattern]


def _cancelled(rule: _Rule, msg: _Message, start: int, end: int) -> bool:
    norm = msg.norm
    if rule.later is not None and msg.last_start(rule.later) < end:
        return True
    if rule.not_after:
        before = norm[max(0, start - _NOT_AFTER_WINDOW) : start]
        for pattern in rule.not_after:
            if pattern.search(before):
                return True
    if rule.iffy:
        # pos/endpos, not a slice: the words before the window still count for \b
        if _MAYBE.search(norm, max(0, start - _MAYBE_WINDOW), start):
            return True
        lo = max(0, start - _IFFY_WINDOW - 1)
        sentence_start = max(norm.rfind(c, lo, start) for c in _SENTENCE_ENDS) + 1  # 0 when none
        if _IFFY.search(norm[max(sentence_start, start - _IFFY_WINDOW) : start]):
            return True
    return bool(not rule.timeless and msg.past())


def match(text: str, *, limit: int | None = MAX_TEXT) -> str | None:
    """The kind of emergency the text describes as happening now, or None. Only the first
    ``limit`` characters are read (``None``: all of it; the time is linear either way)."""
    if not text or not text.strip():
        return None
    if limit is not None:
        text = text[:limit]
    msg = _Message(normalise(text))
    for rule in _RULES:
        for m in rule.pattern.finditer(msg.norm):
            if not _cancelled(rule, msg, m.start(), m.end()):
                return rule.kind
    return None


# a question about what to do, or how to tell, rather than telling what is happening
_ASKING = re.compile(
    r"^(?:(?:um|er|hi|hello|please|sorry|can you tell me|i want to know|i would like to know|"
    r"id like to know) )*(?:what (?:should|do|would|can) (?:i|we|you|one) do (?:if|when|in case)|"
    r"how (?:do|can|would|will) (?:i|you|we|one) (?:know|tell|spot|recogni[sz]e)|what are the "
    r"(?:signs|symptoms)|what happens (?:if|when)|is it (?:normal|serious|dangerous)|should i worry)\b"
    r"|\bis (?:that|this|it) (?:normal|serious|dangerous|something to worry about)\b"
    r"|\b(?:signs|symptoms) of (?:a |an )?(?:stroke|heart attack|sepsis|seizure|choking)\b"
    r"|\bfirst aid\b"
)


def doubtful(text: str, *, limit: int | None = MAX_TEXT) -> bool:
    """The message asks what to do or how to tell, or is about the past or something that keeps
    happening, or only a possibility: the model's own guess of ``emergency`` is not trusted for it
    when no rule matched (the rules have already weighed such words around their own hits).
    Used by the EmergencyRules component; linear like ``match``."""
    if not text or not text.strip():
        return False
    msg = _Message(normalise(text if limit is None else text[:limit]))
    if msg.past() or _ASKING.search(msg.norm):
        return True
    return bool(_IFFY.search(msg.norm)) and not _NOW.search(msg.norm)


def is_emergency(text: str) -> bool:
    return match(text) is not None


def explain(text: str, *, limit: int | None = MAX_TEXT) -> list[tuple[str, str, bool]]:
    """Every (kind, matched words, cancelled) a message triggers: for tuning the rules."""
    msg = _Message(normalise(text if limit is None else text[:limit]))
    return [
        (rule.kind, m.group(0), _cancelled(rule, msg, m.start(), m.end()))
        for rule in _RULES
        for m in rule.pattern.finditer(msg.norm)
    ]

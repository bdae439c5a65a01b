"""Is someone describing abuse or neglect? Plain-word rules, no model.

The model recognises safeguarding too; these rules are the second net, as certain as the
emergency rules, so a model miss cannot hide it and the conversation can let them
interrupt what it is waiting for (a name, a phone number, a postcode). Callers rarely say
"abuse": neighbours and relatives describe what they see, so the rules cover, in the words
people use:

* the explicit words: abuse, neglect, safeguarding, exploited, mistreated, coercive,
  domestic violence (not "alcohol abuse", not a neglected garden);
* financial abuse: someone in the person's life taking or controlling their pension, money,
  bank card or savings ("her son takes her pension", "her new 'friend' has her bank card",
  "he makes me give him money") — a stranger, a caller or a scammer is scams and crime, not
  this;
* domestic abuse and control: hitting, pushing, threatening, shouting and frightening,
  locking in, not letting someone see friends or have money, being afraid of someone at home;
* neglect by carers or family: left in a wet or dirty bed, left without food, carers who do
  not turn up or do not feed, wash or change someone;
* self-neglect: not washing or eating for days or weeks, a home full of rubbish, living in
  squalor, hoarding; and the welfare worry of a neighbour not seen for days.

``detect(text) -> bool``; ``kind(text)`` says which (``named``, ``financial``, ``domestic``,
``neglect``, ``self_neglect``, ``welfare``) or None. No tense filter: abuse in the past is
still for a person to hear about. Only the first ``MAX_TEXT`` characters are read and each
pattern's gaps are bounded, so the time is linear in the text (like ``emergency.py``, this
imports only ``re`` and the shared normaliser, and runs on Python 3.10 for the Rasa side).
"""

from __future__ import annotations

import re

from .emergency import MAX_TEXT, normalise

KINDS = ("named", "financial", "domestic", "neglect", "self_neglect", "welfare")

# people in someone's life (a stranger or a caller is a scam, not this)
_ACTOR = (
    r"(?:son|sons|daughter|daughters|grandson|granddaughter|grandsons|granddaughters|grandchild|grandchildren|"
    r"grandkids|nephew|niece|carer|carers|care worker|care workers|care staff|staff|friend|new friend|"
    r"so called friend|boyfriend|girlfriend|partner|husband|wife|lodger|neighbour|neighbor|family|brother|"
    r"sister|son in law|daughter in law|in laws?|relative|relatives|stepson|stepdaughter|cousin|"
    r"(?:the )?person (?:i|she|he) lives? with|(?:the )?man (?:she|he|i) lives? with|(?:the )?woman (?:she|he|i) "
    r"lives? with)"
)
_PRONOUN = r"(?:he|she|they|hes|shes|theyre|theyve)"
_OWNER = r"(?:my|her|his|their|mums|dads|nans|grans|grandads|grandmas|(?:\w+)s)"
_VALUABLES = (
    r"(?:pension|pensions|money|savings|bank card|bank cards|debit card|credit card|cards|card|pin|"
    r"pin number|benefits|cash|purse|wallet|bank account|account|bank|attendance allowance|pension credit|"
    r"shopping money|house|jewellery)"
)
_VICTIM = r"(?:me|her|him|them|us|my \w+|mum|dad|nan|gran|grandad|grandma)"
_PERSON = (
    r"(?:me|her|him|them|us|mum|dad|nan|gran|grandad|grandma|(?:my|her|his|their) (?:mum|mam|mother|dad|father|"
    r"nan|nana|gran|granny|grandma|grandad|grandmother|grandfather|husband|wife|partner|aunt|auntie|uncle|"
    r"brother|sister|neighbour|friend|parents?))"
)
_SCAM = re.compile(
    r"\b(?:scam\w*|fraud\w*|con ?m[ae]n|caller|cold call\w*|online|email|text message|website|"
    r"rang (?:me|her|him) (?:up )?(?:saying|pretending)|pretending to be|phishing|stranger|"
    r"somebody rang|someone rang|bogus)\b"
)

_NAMED = re.compile(
    r"\b(?:abus(?:e|ed|es|ing|ive|er|ers)|neglect(?:ed|ing|ful|s)?|self neglect\w*|safeguarding|"
    r"exploit(?:ed|ing|ation)|mistreat\w*|ill treat\w*|maltreat\w*|domestic (?:violence|abuse)|"
    r"coercive control|coerc(?:ive|ed|ing|ion)|controlling behaviour|cuckoo(?:ed|ing)|taking advantage of|"
    r"took advantage of|takes advantage of|vulnerable adult|adult at risk|at risk of harm|"
    r"being (?:hit|beaten|threatened|bullied|hurt|pushed|slapped|punched|kicked|shouted at|controlled|robbed|"
    r"intimidated|harassed|starved) by|not allowed (?:out|to go out|to leave|to see|any money|to have))\b"
)
# the named words that are about something else
_NAMED_NOT_BEFORE = re.compile(
    r"\b(?:alcohol|drug|drugs|substance|solvent|drink|verbal abuse from a|"
    r"garden|gardens|house|houses|property|building|car|teeth|allotment|grave|"
    r"church|park|road|area|estate|field)\s*(?:is |was |looks |has been |being )?$"
)
_NAMED_NOT_AFTER = re.compile(r"^\s*(?:of (?:alcohol|drugs|power|the system|trust)|garden|building|property|house)\b")

_FINANCIAL = re.compile(
    r"\b" + _ACTOR + r"(?: \w+){0,4}? (?:takes?|taking|took|taken|has|had|have|got|keeps?|keeping|kept|stole|steals?|"
    r"stealing|stolen|spends?|spending|spent|controls?|controlling|emptied|empties|emptying|cleared out|clearing out|"
    r"drained|draining|drains|helps? (?:him|her|them)self to|helping (?:him|her|them)selves to|helping himself to|"
    r"helping herself to|uses?|using|used|cashes|cashing|collects|collecting|withdraws?|withdrawing|"
    r"borrows?|borrowing|borrowed|hangs on to|holds on to|moved) "
    r"(?:all |most |half |some )?(?:of )?" + _OWNER + r" (?:\w+ )?" + _VALUABLES + r"\b(?! (?:to|into|in to) "
    r"(?:the )?(?:post office|bank)|(?: out)? for (?:me|her|him|them)\b)"
    r"|\b" + _PRONOUN + r" (?:\w+ )?(?:takes|took|taking|stole|steals|stealing|spends|spent|spending|controls|"
    r"controlling|drains|drained|emptied|empties|cleared out|helping (?:him|her|them)sel(?:f|ves) to|helps "
    r"(?:him|her|them)self to) (?:all |most |half |some )?(?:of )?"
    + _OWNER
    + r" (?:\w+ )?"
    + _VALUABLES
    + r"\b(?! (?:to|into|in to) (?:the )?(?:post office|bank)|(?: out)? for (?:me|her|him|them)\b)"
    r"|\b(?:makes?|made|making|forces?|forced|forcing|pressures?|pressured|pressuring|pushing|pushes|bullies|"
    r"bullying|bullied) " + _VICTIM + r" (?:to )?(?:give|hand over|sign|lend|pay|transfer|withdraw|change (?:my|her|"
    r"his) will)\b"
    r"|\b(?:wont|doesnt|dont|never) (?:let|give) " + _VICTIM + r" (?:have |get |see |touch |any )?(?:any |her |his |my "
    r"|their |own )?(?:money|pension|cash|bank card|card|bank statements?|own money)\b"
    r"|\b(?:asking|asks|keeps asking|always asking|begging|demanding|demands) (?:me |her |him |them |my \w+ )?for "
    r"(?:money|cash|her pension|his pension|my pension)\b(?=[^.!?;]{0,60}\b(?:scared|frightened|afraid|wont|"
    r"nothing left|no money|no food|threat\w*|shouts?|angry)\b)"
    r"|\b(?:things|money|cash|jewellery|valuables) (?:keeps? |keep |have |has )?(?:going|gone|went) missing\b"
    r"(?=[^.!?;]{0,60}\b(?:carer|carers|since|lodger|friend|grandson|granddaughter|son|daughter|nephew|niece)\b)"
    r"|\b(?:changed|change|rewrite|rewritten) (?:her|his|my|their) will\b(?=[^.!?;]{0,60}\b(?:carer|friend|neighbour|"
    r"pressure|made|forced|new)\b)"
    r"|\b(?:" + _ACTOR + r"|" + _PRONOUN + r")(?: \w+){0,4}? (?:taking|takes|took|taken|stealing|steals|stole|"
    r"stolen|helping (?:him|her|them)sel(?:f|ves)) "
    r"(?:\w+ )?(?:money|cash|notes|cards?|jewellery) (?:from|out of) " + _OWNER + r" (?:\w+ )?(?:purse|wallet|"
    r"account|bank|handbag|bag|tin|house|room|drawer)\b"
    r"|\b(?:steals?|stealing|stole|stolen|nicking|nicks|nicked|pinching|pinched) (?:things |money |cash |stuff )?"
    r"from " + _PERSON + r"\b"
    r"|\b(?:taking|takes|took) (?:things|stuff|money|cash|jewellery) from " + _PERSON + r"\b"
    r"|\b(?:is|s|are|keeps|been) (?:taking|stealing|spending|using|draining|emptying) (?:all |most )?(?:of )?"
    r"(?:her|his|their) (?:\w+ )?(?:money|pension|savings|bank card|benefits|bank account)\b"
    r"|\b(?:taken|took|takes|taking) over (?:my|her|his|their) (?:\w+ )?" + _VALUABLES + r"\b"
    r"|\bpower of attorney\b[^.!?;]{0,60}\b(?:taking|spending|took|spent|stealing|misusing|abusing|using it)\b"
)

_DOMESTIC = re.compile(
    r"\b" + _ACTOR + r"(?: \w+){0,2}? (?:hits?|hitting|hit|beats?|beating|beat|punch(?:es|ed|ing)?|slap(?:s|ped|ping)?|"
    r"kicks?|kicked|kicking|push(?:es|ed|ing)?|shov(?:es|ed|ing)|grabs?|grabbed|pinch(?:es|ed|ing)|strangl\w*|"
    r"chok(?:es|ed|ing)|threaten(?:s|ed|ing)?|bull(?:y|ies|ied|ying)|intimidat\w*|terrori[sz]\w*|batters?|battered|"
    r"knocks? (?:me|her|him) about|is rough with|are rough with|s rough with|was rough with|manhandl\w*|"
    r"shouts? at|shouting at|shouted at|screams? at|screaming at|screamed at|swears? at|swearing at|swore at|"
    r"lashes out at|lashed out at) " + _VICTIM + r"\b"
    r"(?! (?:to (?:use|go|try|do|get|eat|join|come)|into (?:using|going|trying)|off the (?:bus|list)|about (?:going|"
    r"getting|eating)))"
    r"|\b(?:" + _ACTOR + r"|" + _PRONOUN + r")(?: \w+){0,2}? (?:gets|is|s|becomes|turns|goes|can be|was) "
    r"(?:very |really |so )?(?:violent|aggressive|nasty|threatening)\b"
    r"|\b(?:hes|shes|theyre|hes been|shes been|theyve been) (?:very |really |so )?(?:violent|aggressive)\b"
    r"|\b(?:scared|frightened|afraid|terrified) to go (?:back )?home\b"
    r"|\b(?:locks?|locked|locking|shuts?|shut) (?:me|her|him|them|my \w+) (?:in|up|inside|out)\b"
    r"(?! (?:for (?:the )?(?:safety|night)|so (?:she|he) doesnt wander))"
    r"|\b(?:scared|frightened|afraid|terrified|petrified) (?:of|by) (?:my|her|his|their|the) (?:own )?"
    r"(?:son|daughter|grandson|granddaughter|nephew|niece|carer|carers|husband|wife|partner|boyfriend|girlfriend|"
    r"lodger|brother|sister|son in law|daughter in law|stepson|family|relatives?|person (?:i|she|he) lives? with|"
    r"man (?:i|she|he) lives? with)\b"
    r"|\b(?:dont|doesnt|do not|does not|never) feel safe (?:at home|in (?:my|her|his|their) (?:own )?(?:home|house|"
    r"flat)|with (?:my|her|his|the) \w+)"
    r"|\b(?:kept|keeping|keeps|stopped|stopping|stops) (?:\w+ )?from (?:seeing|visiting|speaking to|talking to|"
    r"going out|leaving|phoning|ringing)\b"
    r"|\b(?:wont|doesnt|never) let " + _VICTIM + r" (?:see|out|go out|leave|talk to|speak to|phone|ring|"
    r"use the phone|have visitors|see (?:my|her|his) (?:friends|family))\b"
    r"|\b(?:bruises|bruising|black eye|marks) (?:on|from|all over|after|since)\b[^.!?;]{0,50}\b(?:carer|carers|son|daughter|"
    r"husband|wife|partner|boyfriend|grandson|lodger|nephew|wont say|wont tell|explain|explained)\b"
    r"|\bunexplained (?:bruises|bruising|injuries|marks)\b"
)

_NEGLECT = re.compile(
    r"\b(?:left|leave|leaves|leaving) (?:\w+ ){0,3}?(?:in|on|with) (?:a |the |her |his |their |my )?(?:wet|soaking|soaked|dirty|soiled|filthy|"
    r"unchanged|stinking) (?:bed|beds|pad|pads|nappy|nappies|pants|clothes|sheets|chair|underwear)\b"
    r"|\b(?:left|leave|leaves|leaving) (?:\w+ ){0,3}?(?:without|with no) (?:any )?(?:food|water|a drink|drinks|meals?|heating|heat|"
    r"(?:her |his |their |my )?(?:tablets|medication|medicine|pills))\b"
    r"|\bleft (?:\w+ ){0,2}?(?:alone|on (?:her|his|their|my) own) (?:all day |for days |for hours )?(?:without|with no)\b"
    r"|\b(?:carers?|care workers?|care staff|staff|care home|the home|nursing home|agency) (?:\w+ ){0,4}?"
    r"(?:dont|doesnt|never|hardly ever|wont|arent|isnt|didnt|havent|hasnt) (?:\w+ )?(?:feed|feeding|fed|wash|washing|"
    r"washed|change|changing|changed|turn|turning|give (?:her|him|them|me) (?:her |his |their |my |any |enough "
    r"|anything to )?(?:food|meals?|drinks?|drink|eat|water|tablets|medication)|turn up|turned up|come|coming|"
    r"looking after|look after|caring for|care for|help (?:her|him|them|me) (?:eat|wash|to the "
    r"toilet))\b"
    r"|\bnot (?:being|been) (?:fed|washed|changed|turned|cleaned|looked after|cared for|given (?:her|his|their|any) "
    r"(?:food|tablets|medication))\b"
    r"|\b(?:sitting|lying|left|sat|lay|lies|sits) in (?:her|his|their|my) own (?:urine|wee|mess|faeces|poo|filth)\b"
    r"|\b(?:pressure sores|bed sores|bedsores)\b[^.!?;]{0,60}\b(?:carer|carers|care home|nobody|no one|staff|left)\b"
    r"|\b(?:nobody|no one|noone) (?:is |ever )?(?:feeding|washing|changing|looking after|caring for|checks? on|checking on) "
    r"(?:her|him|them|my \w+)\b"
    r"|\b(?:takes?|took|taking) (?:\w+ )?(?:pension|money)\b[^.!?;]{0,60}\b(?:no food|nothing to eat|"
    r"no heating|hungry|cant afford food)\b"
)

_SELF_NEGLECT = re.compile(
    r"\b(?:hasnt|havent|hadnt|has not|have not|not|never|isnt|wont|doesnt|stopped) (?:\w+ )?(?:washed|washing|wash|"
    r"eaten|eating|eat|bathed|bathing|changed (?:his|her|their|my) clothes|changing (?:his|her|their|my) clothes|"
    r"been eating|been washing|looked after (?:himself|herself|themselves|myself)|looking after (?:himself|herself|"
    r"themselves|myself))(?: (?:or|and|nor) (?:\w+ ){0,2}?(?:washed|eaten|eating|washing|changed|bathed))?"
    r"(?: (?:properly|at all|anything))? (?:for|in) (?:days|weeks|months|ages|a week|a fortnight|over a week|"
    r"(?:two|three|four|five|six|several|a few|a couple of) (?:days|weeks|months))\b"
    r"|\b(?:house|home|flat|bungalow|place|room|kitchen|garden) (?:is |s )?(?:\w+ )?(?:full of|piled (?:high )?with|"
    r"stacked with|overflowing with|covered in) (?:rubbish|junk|bags|bin bags|rotting food|mess|filth|clutter|"
    r"newspapers|excrement|flies|maggots|mice|rats)\b"
    r"|\b(?:living|lives|live) in (?:squalor|filth|a mess|a tip|a pigsty|terrible conditions|awful conditions)\b"
    r"|\b(?:wont|isnt|not|doesnt|stopped|never) (?:eat|eating|wash|washing)(?: or| and| nor) (?:eat|eating|wash|"
    r"washing)\b"
    r"|\b(?:isnt|not|stopped|doesnt|cant be bothered) look(?:ing)? after (?:himself|herself|themselves)\b"
    r"|\b(?:not eating|not washing|hasnt eaten|hasnt washed|filthy|freezing|squalor|rubbish|mess|stinks)\b"
    r"[^.!?;]{0,60}\b(?:wont|refuses to|refusing to|doesnt) (?:accept|take|have|let in) (?:any )?(?:help|care|carers|"
    r"support|anyone)\b"
    r"|\b(?:his|her|their|(?:\w+)s) hoarding\b|\bhoarder\b|\b(?:is|s) hoarding\b"
    r"|\b(?:squalor|filthy house|house is filthy|flat is filthy|rotting food|"
    r"(?:wont|refuses to) let anyone in)\b"
    r"|\b(?:refuses|refusing|wont accept|wont take|turns down|turning down|refused) (?:all |any )?(?:help|care|carers|"
    r"support|food)\b(?=[^.!?;]{0,60}\b(?:rubbish|filthy|dirty|not eating|not washing|hasnt eaten|hasnt washed|"
    r"squalor|mess|smell|stinks|wasting away)\b)"
)

_WELFARE = re.compile(
    r"\b(?:hasnt|havent|has not|not) been seen (?:for|in|all) (?:days|a few days|a couple of days|a week|weeks|"
    r"ages|two days|three days|several days|the week|week)\b"
    r"|\b(?:isnt|hasnt|not|no one|nobody|wont|doesnt) (?:been )?answer(?:ing|ed)? (?:the |her |his |their )?"
    r"(?:door|phone)\b(?=[^.!?;]{0,60}\b(?:days|week|post|milk|curtains|worried|seen)\b)"
    r"|\b(?:hasnt|havent|not) (?:collected|taken in|picked up) (?:his|her|their|the) (?:milk|post|papers|paper|"
    r"shopping)\b"
    r"|\b(?:nobody|no one|noone|no body) (?:has |have )?(?:seen|heard from) (?:\w+)"
    r"(?: \w+){0,4}? (?:for|in|since) (?:days|a few days|a couple of days|a week|weeks|ages|two days|three days|"
    r"several days|last week|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    r"|\b(?:post|milk|mail|papers|newspapers|letters) (?:is |are |has been |have been )?(?:piling|piled|stacking|"
    r"building) up\b"
)

_ORDER = (
    ("named", _NAMED),
    ("financial", _FINANCIAL),
    ("domestic", _DOMESTIC),
    ("neglect", _NEGLECT),
    ("self_neglect", _SELF_NEGLECT),
    ("welfare", _WELFARE),
)


def _named(norm: str) -> bool:
    for m in _NAMED.finditer(norm):
        before = norm[max(0, m.start() - 40) : m.start()]
        after = norm[m.end() : m.end() + 30]
        if _NAMED_NOT_BEFORE.search(before) or _NAMED_NOT_AFTER.search(after):
            continue
        return True
    return False


def kind(text: str, *, limit: int | None = MAX_TEXT) -> str | None:
    """Which kind of abuse or neglect the text describes, or None (see the module's docstring)."""
    if not text or not text.strip():
        return None
    norm = normalise((text if limit is None else text[:limit]).replace("-", " "))
    if _named(norm):
        return "named"
    scam = _SCAM.search(norm) is not None
    for name, rx in _ORDER[1:]:
        if name == "financial" and scam:
            continue  # someone conned out of money by a stranger: scams and crime
        if rx.search(norm):
            return name
    return None


def detect(text: str) -> bool:
    """The text describes abuse or neglect of someone (safeguarding: always to a person)."""
    return kind(text) is not None

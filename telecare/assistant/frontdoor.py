"""The helpline's first conversation: one turn at a time, in plain Python.

``turn`` takes what the person said (the model's intent and their words), the
conversation's state (a dict the Rasa tracker keeps in its ``conversation`` slot) and the
database session, and returns what to say and the new state. Everything it records
(enquiries, introductions, callback requests, check-in requests, emergency alerts) is
written in the caller's transaction.

Precedence on every turn, whatever the model said:
1. an emergency by the rules in ``emergency.py``: 999 advice at once, and an alert through the
   hub for a resident whose number a signed Twilio request proved; anyone else gets an urgent
   call-back, and is asked for a number to call;
2. explicit safeguarding words (``safeguarding_words``): a person calls back;
3. an answer to the question we asked (postcode, yes/no, consent, name, phone), read from the
   words (``answers.py``): the model's guess never overrides it;
4. after an interruption, the answer to the question it interrupted (``resume``);
5. the model's emergency or safeguarding guess (while we wait for an answer, only a confident
   one: ``CONFIDENT``), as 1 and 2;
6. a question not answered (asked once more, or moved on), or what the message asks for (a
   person, someone to ring for a chat, daily calls, needs...).
No question is asked more than twice: a second failure moves on (national services, an
offer of a call back) rather than sending anyone round in circles.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare.alert import service as alerts
from telecare.directory import postcode as postcodes
from telecare.directory import search as directory
from telecare.directory.models import Service
from telecare.enquiry import followup
from telecare.enquiry import service as enquiries
from telecare.enquiry.channels import Channel
from telecare.enquiry.models import Enquiry
from telecare.site.models import Home, Resident

from . import answers
from . import emergency as emergency_rules
from . import needs as reading
from . import safeguarding as safeguarding_rules
from . import wording as say

log = logging.getLogger("linkage.assistant")

CHECKIN_SERVICE = "linkage-daily-checkin"
MAX_NEEDS = 3
PER_NEED: dict[str, int] = {Channel.VOICE: 1}  # services per need by channel (default 2)
MAX_SERVICES: dict[str, int] = {Channel.VOICE: 2}  # services in all (default 4)
QUIET_START = (Channel.WEB, Channel.REST)  # no enquiry until the person says something (a call or an SMS is a contact)
BUTTONS = (Channel.WEB, Channel.REST)  # channels whose replies carry quick-reply buttons
# someone asking to be rung for a chat: telephone befriending and our daily call, not a list
_RING_FOR_A_CHAT = re.compile(
    r"\b(?:someone|somebody|anyone|anybody|a person|a volunteer|people)\b.{0,40}\b(?:ring|call|phone|telephone)s?\b"
    r".{0,25}\b(?:me|us|her|him|them|mum|dad)\b.{0,30}\b(?:chat|natter|talk|company|conversation)"
    r"|\b(?:telephone|phone) befriend\w*|\bbefriend\w* (?:call|phone)\w*"
    r"|\b(?:ring|call|phone)s? (?:me|her|him|them) (?:up )?(?:for|to have) a (?:chat|natter|talk)",
    re.I,
)
# "can you ring me instead", "I'd rather talk on the phone", "call me back please": on SMS and the web
# chat, a person rings them back (and any follow-up is a call, not a text)
_CALL_ME = re.compile(
    r"\b(?:ring|call|phone|telephone)\s+(?:me|us)\b(?!\s+(?:on|at)\s+\d)(?:\s+(?:back|instead|rather|please|up|"
    r"on (?:the|my) (?:phone|landline|mobile)))?"
    r"|\b(?:rather|prefer to|prefer|easier to|like to|want to)\s+(?:talk|speak|chat)\s+(?:to (?:someone|somebody|a "
    r"person) )?(?:on|over) the (?:phone|telephone)"
    r"|\b(?:rather|prefer)\s+(?:a (?:phone )?call|to be (?:rung|called|phoned)|be (?:rung|called|phoned))"
    r"|\b(?:can|could)\s+(?:someone|somebody|you|a person)\s+(?:give me a (?:ring|call|bell))"
    r"|\b(?:not|no good|rubbish|can't|cannot|don't)\s+(?:\w+\s+){0,2}(?:texting|text|typing|type)\b.{0,40}"
    r"\b(?:ring|call|phone)",
    re.I,
)
_NOT_CALL = re.compile(
    r"\b(?:don'?t|do not|never|no need to|not to|please don'?t|rather you didn'?t)\s+"
    r"(?:\w+\s+)?(?:ring|call|phone)"
    r"|\bcall (?:me|us) (?:\w+ )?names\b|\b(?:they|he|she|people|kids|who)\s+(?:\w+\s+)?(?:ring|call|phone) "
    r"(?:me|us)\b"  # what others do ("they call me names"), not a request
    r"|\b(?:every|each)\s+(?:morning|day|evening|night|week)\b|\bdaily\b|\bcheck.?in\b"
    r"|\bcheck (?:on|that|i'?m|if)\b",
    re.I,
)  # daily calls: the check-in service
_DAILY_CALL = re.compile(r"\b(?:daily|every day|each day|check.?in|your (?:own )?call|yours|the call)\b", re.I)
_PHONE_SERVICE = re.compile(
    r"\bphones? (?:you|people|for)\b|\bphone (?:line|call)s?\b|\b(?:friendly|daily|weekly) "
    r"(?:phone )?calls?\b|\bsomeone to talk to\b",
    re.I,
)
# what the person's words say about which services fit best within a need ("my heating")
_TOPICS = {
    "heating": (
        re.compile(r"\b(?:heat\w*|warm\w*|energy|gas|electric\w*|boiler|cold|fuel)\b", re.I),
        re.compile(r"\b(?:heat\w*|warm\w*|energy)\b", re.I),
    ),
}
EMERGENCY_PRIORITY = "P1"
# While the conversation waits for an answer, a model's emergency or safeguarding guess on words
# that are not the answer interrupts only at this confidence (the rules and words always do).
CONFIDENT = 0.8
# what the conversation can be waiting for; an emergency or safeguarding interruption keeps
# the question so the conversation can pick up where it was
QUESTIONS = ("postcode", "intro", "consent", "handoff", "name", "phone", "callback_phone")
RESUMABLE = ("postcode", "intro", "consent", "name", "phone")

_SAFEGUARDING_WORDS = re.compile(
    r"\b(?:abus(?:e|es|ed|ing|ive)|neglect(?:s|ed|ing)?|safeguarding|"
    r"(?:hits?|hitting|beats?|beating|punch(?:es|ed|ing)?|kicks?|kicking|slaps?|slapping|"
    r"threaten(?:s|ed|ing)?|bull(?:y|ies|ied|ying)|locks?|locked|locking) (?:me|her|him|them|my \w+)\b|"
    r"(?:tak(?:es|ing)|took|steal(?:s|ing)?|stole|stolen) (?:all )?(?:my|her|his|their) (?:money|pension|savings|"
    r"bank card|card|benefits)|(?:scared|frightened|afraid) of my (?:son|daughter|husband|wife|partner|carer|"
    r"grandson|granddaughter|nephew|niece))",
    re.I,
)


def safeguarding_words(text: str) -> bool:
    """Explicit safeguarding words ("he hits me", "taking my pension", "abuse", "neglect"): they
    interrupt any question, as the emergency rules do. ``telecare.assistant.safeguarding.detect``
    (the recognition work of issue 14) is used when it exists; these few words are the floor."""
    if _detect_safeguarding is not None:
        try:
            if _detect_safeguarding(text):
                return True
        except Exception:  # a detector's bug must not stop the conversation
            log.exception("assistant: the safeguarding detector failed; using the plain words")
    return bool(_SAFEGUARDING_WORDS.search(text or ""))


_detect_safeguarding = safeguarding_rules.detect  # the safeguarding rules (telecare/assistant/safeguarding.py)


@dataclass
class Caps:
    """What an anonymous conversation (no phone proven by a signed Twilio request) may queue for
    staff; beyond it the person is told to ring the helpline (or 999) and nothing is queued.
    The hub sets ``CAPS`` from ``LINKAGE_ANONYMOUS_REQUESTS_PER_HOUR`` and counts each refusal
    (``on_capped(what, why)``: the Prometheus counter); the counting itself is in the database
    (``enquiries.anonymous_allowance``), so it holds across processes."""

    per_hour: int = enquiries.ANONYMOUS_PER_HOUR  # call-backs + introductions, all anonymous conversations
    urgent_per_conversation: int = enquiries.URGENT_PER_CONVERSATION
    introductions_per_conversation: int = enquiries.INTRODUCTIONS_PER_CONVERSATION
    on_capped: Callable[[str, str], None] | None = None


CAPS = Caps()
# the caps of the hub running this turn, when one process hosts several hubs (tests); else CAPS
_HUB_CAPS: ContextVar[Caps | None] = ContextVar("linkage_assistant_caps", default=None)


def use_caps(caps: Caps) -> Token[Caps | None]:
    """Make ``caps`` the ones for this context (a hub running an action call); returns the reset token."""
    return _HUB_CAPS.set(caps)


def reset_caps(token: Token[Caps | None]) -> None:
    _HUB_CAPS.reset(token)


@dataclass
class Turn:
    intent: str | None
    text: str
    channel: str = Channel.WEB  # a Channel (sms | voice | web | rest)
    phone: str | None = None  # the caller's number, from the channel
    conversation_id: str = ""
    confidence: float | None = None  # the model's confidence in ``intent`` (None: certain)
    ranking: tuple[
        Any, ...
    ] = ()  # the model's intent ranking ({"name", "confidence"}), for the other needs of a message


@dataclass
class Reply:
    messages: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    hangup: bool = False
    buttons: list[dict[str, Any]] = field(default_factory=list)  # quick replies for the last message (web chat)
    hints: list[str] = field(default_factory=list)  # speech hints for the caller's answer (voice)

    def say(self, text: str) -> None:
        if text:
            self.messages.append(text)


def turn(s: Session, t: Turn, state: dict[str, Any] | None, now: datetime) -> Reply:
    st = dict(state or {})
    out = Reply(state=st)
    intent = t.intent or "nlu_fallback"
    text = (t.text or "").strip()
    if text.startswith("/"):  # "/greet" from a channel starting a conversation
        text = ""
    if not text and t.channel in QUIET_START and _carried_on(s, t, st) is None:
        # the web chat page opened (or a session started): hello, and nothing recorded until
        # someone says something, so an unused page is not an "unresolved" enquiry
        st.clear()
        out.say(say.greeting(t.channel, None))
        return out
    _record(s, t, st, text, now)
    st["turns"] = st.get("turns", 0) + 1
    facts = reading.read(text, intent, t.ranking)
    if facts.age:
        st["age"] = facts.age
    if facts.carer:
        st["carer"] = True
    kind = emergency_rules.match(text)
    if facts.on_behalf and not kind:  # "my neighbour has collapsed" is not asking for the neighbour
        st["on_behalf"] = True
    update: dict[str, Any] = {}

    # What interrupts anything (the rules and explicit words), then the answer to our question
    # (the model's guess never overrides it), then the model's emergency or safeguarding guess
    # (while we wait for an answer, only a confident one), then what the message asks for.
    waiting = st.get("awaiting")
    sure = t.confidence is None or t.confidence >= CONFIDENT
    if kind:
        _emergency(s, t, st, out, kind, text, now)
    elif text and safeguarding_words(text):
        _safeguarding(s, t, st, out, text, now)
    elif waiting and _take_answer(s, t, st, out, intent, text, facts, now):
        pass
    elif not waiting and _resume(s, t, st, out, intent, text, facts, now):
        pass
    elif (
        waiting != "callback_phone" and wants_a_call(t, text) and not (intent in ("emergency", "safeguarding") and sure)
    ):
        _call_me(s, t, st, out, text, facts, now)
    elif intent == "emergency" and (not waiting or sure):
        _emergency(s, t, st, out, kind, text, now)
    elif intent == "safeguarding" and (not waiting or sure):
        _safeguarding(s, t, st, out, text, now)
    else:
        if intent in ("emergency", "safeguarding"):  # an unsure guess while we wait: read the words instead
            intent = "nlu_fallback"
        if not (waiting and _not_an_answer(s, t, st, out, intent, text, facts, now)):
            _ask(s, t, st, out, intent, text, facts, now)

    if st.get("on_behalf"):
        update["on_behalf"] = True
    if st.get("age"):
        update["age"] = st["age"]
    enquiries.update(
        s,
        st["enquiry"],
        now=now,
        needs=st.get("needs", []),
        services=st.get("offered", []),
        outcome=st.get("outcome"),
        consent=st.get("consent"),
        district=st.get("district"),
        **update,
    )
    if t.channel in BUTTONS:
        out.buttons = _buttons(st)
    if t.channel == "voice" and st.get("awaiting") == "postcode":
        out.hints = speech_hints(s)
    return out


def _buttons(st: dict[str, Any]) -> list[dict[str, Any]]:
    """Quick replies for what we are waiting for (the web chat shows them as buttons; each sends
    its words as if typed, so they go through the same reading as anything typed)."""
    awaiting = st.get("awaiting")
    if awaiting == "intro" and st.get("chat_choice"):
        return [_button("Yes please"), _button("Our daily call"), _button("No thank you")]
    if awaiting in ("intro", "consent", "handoff"):
        return [_button("Yes"), _button("No")]
    if awaiting == "postcode":
        return [_button("Skip")]
    if awaiting == "name":
        return [_button("I'd rather not say")]
    return []


def _button(title: str) -> dict[str, Any]:
    return {"title": title, "payload": title}


# -- the start of a conversation, and the hub's record of it ----------------------------------------
def _carried_on(s: Session, t: Turn, st: dict[str, Any]) -> Enquiry | None:
    """The enquiry this conversation's state carries on, if the hub started it under this same
    conversation id (see ``_record``); else None."""
    ref = st.get("enquiry")
    if isinstance(ref, int) and not isinstance(ref, bool) and 0 < ref < 2**63:
        e = s.get(Enquiry, ref)
        if e is not None and (e.conversation_id or "") == (t.conversation_id or ""):
            return e
    return None


def _record(s: Session, t: Turn, st: dict[str, Any], text: str, now: datetime) -> None:
    """Which enquiry this turn belongs to, and whether the caller is a resident: from the hub's
    own record (the ``enquiries`` row: conversation id, proven phone, resident), never from the
    state the Rasa slot carries back, which a caller with the Rasa API could have written.

    The state's ``enquiry`` only says "carry on": it is believed when that enquiry was started
    under this same conversation id (a conversation id is made by the channel: ``rest:…``,
    ``web:…``, or ``sms:+44…`` / ``voice:+44…:CA…`` from a signed Twilio request only). Anything
    else (none, or another conversation's) starts a new enquiry with a clean state. ``resident``
    in the state is then always the hub's answer, rewritten every turn: the resident of a
    conversation whose number a signed request proved, or nobody."""
    e = None
    ref = st.get("enquiry")
    if isinstance(ref, int) and not isinstance(ref, bool) and 0 < ref < 2**63:
        e = s.get(Enquiry, ref)
        if e is not None and (e.conversation_id or "") != (t.conversation_id or ""):
            log.warning(
                "assistant: a conversation's state named another conversation's enquiry %s; starting afresh", ref
            )
            e = None
    if e is None:
        st.clear()
        e = _begin(s, t, st, text, now)
    resident = s.get(Resident, e.resident_id) if e.resident_id is not None and t.phone else None
    if resident is not None and e.phone == "".join((t.phone or "").split()):
        st["resident"] = resident.ext_id
    else:
        st.pop("resident", None)
    st["enquiry"] = e.id


def _begin(s: Session, t: Turn, st: dict[str, Any], text: str, now: datetime) -> Enquiry:
    resident = _resident_by_phone(s, t.phone)  # t.phone: only ever from a signed Twilio request
    if resident is not None:
        st["resident"] = resident.ext_id
        st["name"] = resident.name
        pc = postcodes.parse(resident.postcode or "")
        if pc:
            st["district"] = pc.district
            st["postcode"] = pc.full
    if t.phone:
        st["phone"] = t.phone
    e = enquiries.start(
        s,
        channel=t.channel,
        conversation_id=t.conversation_id,
        phone=t.phone,
        resident_id=resident.id if resident else None,
        now=now,
        first_message=text[:500] or None,
    )
    st["enquiry"] = e.id
    st["outcome"] = "unresolved"
    return e


def _resident_by_phone(s: Session, phone: str | None) -> Resident | None:
    if not phone:
        return None
    return s.scalars(select(Resident).where(Resident.phone == phone)).first()


def _resident(s: Session, st: dict[str, Any]) -> Resident | None:
    ext = st.get("resident")
    return s.scalars(select(Resident).where(Resident.ext_id == ext)).first() if ext else None


def _raise(st: dict[str, Any], outcome: str) -> None:
    if enquiries.OUTCOME_RANK[outcome] > enquiries.OUTCOME_RANK[st.get("outcome") or "unresolved"]:
        st["outcome"] = outcome


def _add_needs(st: dict[str, Any], *needs: str) -> None:
    have = st.setdefault("needs", [])
    for n in needs:
        if n and n not in have:
            have.append(n)


# -- 1. emergencies --------------------------------------------------------------------------------------
def _emergency(s: Session, t: Turn, st: dict[str, Any], out: Reply, kind: str | None, text: str, now: datetime) -> None:
    _add_needs(st, "emergency")
    _raise(st, "emergency")
    _pause(st)
    st["awaiting"] = None
    out.say(say.emergency(kind, t.channel))
    resident = _resident(s, st)
    home = (
        s.scalars(select(Home).where(Home.resident_id == resident.id).order_by(Home.id)).first() if resident else None
    )
    said = f': "{text[:300]}"' if text else ""
    if resident is not None and home is not None:
        detail = f"{resident.name} told the helpline assistant by {t.channel}{said}"
        alert, _opened = alerts.raise_alarm(
            s,
            home_id=home.id,
            resident_id=resident.id,
            device_id=None,
            type="assistant_emergency",
            priority=EMERGENCY_PRIORITY,
            now=now,
            detail=detail,
        )
        st["alert"] = alert.id
        out.say(say.emergency_alerted(resident.name))
        log.warning("assistant emergency from resident %s: alert %s", resident.ext_id, alert.id)
    else:
        # Nobody's home to alert (an anonymous caller: web chat, REST, or a number that is not a
        # resident's): an urgent call-back, and a number to call if we have none. The reply is the
        # same whoever the caller claims to be, and never says whose a number is.
        if not st.get("emergency_callback"):
            why = _refused(s, t, st, "callback", now, urgent=True, reason="emergency")
            if why is not None:
                helpline = directory.council(s).helpline
                out.say(
                    _CAPPED_URGENT.format(helpline=helpline)
                    if why == "conversation"
                    else _CAPPED_EMERGENCY.format(helpline=helpline)
                )
                return
            who = resident.name if resident else (st.get("name") or "someone who gave no name")
            enquiries.request_callback(
                s,
                enquiry_id=st["enquiry"],
                reason="emergency",
                urgent=True,
                name=st.get("name"),
                phone=st.get("phone"),
                resident_id=resident.id if resident else None,
                detail=f"{who} described an emergency to the assistant by {t.channel}{said}",
                now=now,
            )
            st["emergency_callback"] = True
            log.warning(
                "assistant emergency by %s with no resident's home to alert: urgent call-back, enquiry %s",
                t.channel,
                st["enquiry"],
            )
            if st.get("phone"):
                out.say(say.emergency_flagged())
        if not st.get("phone"):
            st["callback"] = {"reason": "emergency", "urgent": True, "detail": text[:500]}
            st["awaiting"] = "callback_phone"
            st["asked"] = 0
            out.say(say.emergency_ask_phone(t.channel))


# -- 2. safeguarding and asking for a person --------------------------------------------------------------
def _safeguarding(s: Session, t: Turn, st: dict[str, Any], out: Reply, text: str, now: datetime) -> None:
    _add_needs(st, "safeguarding", *reading.record(text, "safeguarding", t.ranking)[:MAX_NEEDS])
    _raise(st, "handoff")
    _pause(st)
    st["awaiting"] = None
    has_phone = bool(st.get("phone"))
    why = _refused(s, t, st, "callback", now, urgent=True, reason="safeguarding")
    out.say(say.safeguarding(has_phone and why is None, t.channel))
    _callback(s, t, st, out, "safeguarding", True, text, now, why=why)
    _offer_resume(st, out)


def wants_a_call(t: Turn, text: str) -> bool:
    """Someone writing (SMS, web chat) who asks to be rung rather than text: "can you ring me
    instead", "I'd rather talk on the phone", "call me back please". Not a request to be rung for
    a chat (befriending), not "please don't call me", and not a phone number given as an answer."""
    return (
        t.channel != Channel.VOICE
        and bool(text)
        and bool(_CALL_ME.search(text))
        and not _NOT_CALL.search(text)
        and not _RING_FOR_A_CHAT.search(text)
    )


def _call_me(
    s: Session, t: Turn, st: dict[str, Any], out: Reply, text: str, facts: reading.Facts, now: datetime
) -> None:
    """A call back from a person (their proven number on SMS; asked for on the web chat), and
    follow-ups of this conversation's introductions by call rather than text."""
    st["by_voice"] = True
    enquiries.follow_up_by_voice(s, st["enquiry"])
    _add_needs(st, *facts.needs[:MAX_NEEDS])
    _raise(st, "handoff")
    st.pop("resume", None)
    if st.get("call_me_booked"):
        st["awaiting"] = None
        out.say(say.call_me_booked(t.channel, True))
        return
    queued = _callback(s, t, st, out, "person", False, f"Asked to be rung rather than text: {text}", now)
    if not queued:
        return
    if st.get("awaiting") == "callback_phone":
        out.messages.insert(len(out.messages) - 1, say.call_me_ask())
    else:
        st["call_me_booked"] = True
        out.say(say.call_me_booked(t.channel, False))


_ASK = object()


def _callback(
    s: Session,
    t: Turn,
    st: dict[str, Any],
    out: Reply,
    reason: str,
    urgent: bool,
    text: str,
    now: datetime,
    why: object = _ASK,
) -> bool:
    """A person calls back: now, if we have a number; else we ask for one first. False when an
    anonymous conversation may queue no more (the person has been told to ring instead).
    ``why``: the caller's own ``_refused`` answer for this request, if it already asked."""
    if why is _ASK:
        why = _refused(s, t, st, "callback", now, urgent=urgent, reason=reason)
    if why is not None:
        st["awaiting"] = None
        st.pop("callback", None)
        helpline = directory.council(s).helpline
        out.say(
            _CAPPED_URGENT.format(helpline=helpline)
            if why == "conversation" and urgent
            else _CAPPED_CALLBACK.format(helpline=helpline)
        )
        return False
    if st.get("phone"):
        resident = _resident(s, st)
        enquiries.request_callback(
            s,
            enquiry_id=st["enquiry"],
            reason=reason,
            urgent=urgent,
            name=st.get("name"),
            phone=st["phone"],
            resident_id=resident.id if resident else None,
            detail=text[:500] or None,
            now=now,
        )
        st["awaiting"] = None
        st.pop("callback", None)
    else:
        st["callback"] = {"reason": reason, "urgent": urgent, "detail": text[:500]}
        st["awaiting"] = "callback_phone"
        st["asked"] = 0
        out.say(say.ask_callback_phone(t.channel))
    return True


# -- caps on anonymous conversations ------------------------------------------------------------------------
_CAPPED_EMERGENCY = (
    "I can't pass this on to our team from here just now, so please call 999 yourself if you "
    "haven't. You can also ring us on {helpline}."
)
_CAPPED_URGENT = (
    "Our team already has an urgent request from this conversation. If anyone is in danger "
    "right now, call 999. You can also ring us on {helpline}."
)
_CAPPED_CALLBACK = (
    "I can't book a call back from here just now. Please ring us on {helpline}, Monday to Friday "
    "9am to 5pm. If anyone is in danger right now, call 999."
)


def _capped_intro(svc: Service) -> str:
    how = f" on {svc.phone}" if svc.phone else (f" at {svc.web}" if svc.web else "")
    return (
        f"I can't pass your details on from here just now, so I haven't shared anything. You can contact "
        f"{svc.name} yourself{how}. Is there anything else?"
    )


def _refused(s: Session, t: Turn, st: dict[str, Any], what: str, now: datetime, **kw: Any) -> str | None:
    """Why this conversation may not queue ``what`` now ("conversation" or "hourly"), or None.
    Only anonymous conversations are capped: a phone proven by a signed Twilio request is not."""
    if t.phone:
        return None
    caps = _HUB_CAPS.get() or CAPS
    why = enquiries.anonymous_allowance(
        s,
        st["enquiry"],
        what=what,
        now=now,
        per_hour=caps.per_hour,
        urgent_per_conversation=caps.urgent_per_conversation,
        introductions_per_conversation=caps.introductions_per_conversation,
        **kw,
    )
    if why is not None:
        limit = (
            f"{caps.per_hour} an hour from anonymous conversations"
            if why == "hourly"
            else "the most one anonymous conversation may ask for"
        )
        log.warning(
            "assistant: a %s from an anonymous %s conversation was not queued (%s); enquiry %s",
            what,
            t.channel,
            limit,
            st["enquiry"],
        )
        if caps.on_capped is not None:
            caps.on_capped(what, why)
    return why


# -- 3. answers to what we asked ----------------------------------------------------------------------------
def _yes_no(intent: str, text: str) -> str | None:
    """The words first ("yes please" is a yes whatever the model said), then the model's affirm/deny."""
    said = answers.yes_no(text)
    if said:
        return said
    return "yes" if intent == "affirm" else "no" if intent == "deny" else None


def _take_answer(
    s: Session, t: Turn, st: dict[str, Any], out: Reply, intent: str, text: str, facts: reading.Facts, now: datetime
) -> bool:
    """True when this turn is an answer to the question we are waiting on (and it was taken).
    Only the words decide (and the model's affirm/deny for a yes/no): a name is a name whatever
    intent the model guessed for it."""
    awaiting = st.get("awaiting")
    if awaiting == "postcode":
        pc = postcodes.find_in(text) or postcodes.spoken(text) or _town(s, text)
        if pc is not None:
            _set_postcode(s, st, out, pc)
            if intent.startswith("need_"):
                _add_needs(st, intent.removeprefix("need_"), *facts.needs)
            _signpost(s, t, st, out, now)
            return True
        if intent == "deny" or reading.says_skip(text) or answers.yes_no(text) == "no":
            st["national"] = True
            out.say(say.no_postcode(directory.council(s).name))
            _signpost(s, t, st, out, now)
            return True
        return False
    if awaiting == "intro" and st.get("chat_choice") and _DAILY_CALL.search(text):
        st.pop("chat_choice", None)
        st["intro"], st["awaiting"] = CHECKIN_SERVICE, "consent"
        out.say(say.checkin_offer(st.get("on_behalf", False), t.channel))
        return True
    if awaiting in ("intro", "consent", "handoff"):
        if awaiting == "intro":
            st.pop("chat_choice", None) if _yes_no(intent, text) else None
        said = _yes_no(intent, text)
        if said == "yes":
            _yes(s, t, st, out, awaiting, now)
        elif said == "no":
            _no(s, t, st, out, awaiting, now)
        return said is not None
    if awaiting == "name":
        name = answers.read_name(text)
        if name is not None:
            st["name"] = name
            _continue_intro(s, t, st, out, now)
            return True
        if answers.refuses(text) or intent == "deny" or st.get("asked", 0) >= 1 and not _says_something_else(intent):
            st["no_name"] = True  # carry on without one rather than ask a third time
            _continue_intro(s, t, st, out, now)
            return True
        return False
    if awaiting in ("phone", "callback_phone"):
        phone = reading.find_phone(text)
        if phone is None:
            if intent == "deny" or answers.refuses(text):
                st["awaiting"] = None
                out.say(say.no_callback(directory.council(s).helpline))
                return True
            return False
        st["phone"] = phone
        if awaiting == "phone":
            _continue_intro(s, t, st, out, now)
        else:
            cb = st.get("callback") or {"reason": "person", "urgent": False, "detail": ""}
            if _callback(s, t, st, out, cb["reason"], cb["urgent"], cb.get("detail", ""), now):
                if st.get("by_voice") and cb["reason"] == "person":
                    st["call_me_booked"] = True
                out.say(say.callback_booked(directory.council(s).helpline))
                _offer_resume(st, out)
        return True
    return False


def _says_something_else(intent: str) -> bool:
    return intent.startswith("need_") or intent in ("request_human", "checkin_signup")


def _not_an_answer(
    s: Session, t: Turn, st: dict[str, Any], out: Reply, intent: str, text: str, facts: reading.Facts, now: datetime
) -> bool:
    """We asked something and this is not the answer. True when handled here (asked once more,
    or moved on); False when the message is a new request for ``_ask``."""
    awaiting = st.get("awaiting")
    if awaiting == "postcode":
        if (
            intent.startswith("need_")
            and not reading.find_needs(text)
            and t.confidence is not None
            and t.confidence < CONFIDENT
        ):
            # an unsure guess on words that name no need ("yes please"): neither it nor its ranking is a need
            intent, facts.needs = "nlu_fallback", []
        if intent.startswith("need_"):
            _add_needs(st, intent.removeprefix("need_"), *facts.needs[:MAX_NEEDS])
            st["asked"] = st.get("asked", 0) + 1
            if st["asked"] >= 2:
                st["national"] = True
                _signpost(s, t, st, out, now)
            else:
                out.say(say.ask_postcode(st.get("on_behalf", False), t.channel))
            return True
        if intent in ("request_human", "checkin_signup", "out_of_scope"):
            return False
        if st.get("asked", 0) >= 1:
            st["national"] = True
            out.say(say.no_postcode(directory.council(s).name))
            _signpost(s, t, st, out, now)
            return True
        st["asked"] = st.get("asked", 0) + 1
        out.say(say.ask_postcode_again(t.channel))
        return True
    if awaiting in ("intro", "consent", "handoff"):
        return False  # something else: treat it as a new request
    if awaiting == "name":
        if _says_something_else(intent):
            return False
        st["asked"] = st.get("asked", 0) + 1
        out.say(say.name_again(t.channel))
        return True
    if awaiting in ("phone", "callback_phone"):
        if _says_something_else(intent) and awaiting == "phone":
            return False
        if st.get("asked", 0) >= 1:
            st["awaiting"] = None
            out.say(say.no_callback(directory.council(s).helpline))
            return True
        st["asked"] = st.get("asked", 0) + 1
        out.say(say.phone_again(t.channel))
        return True
    return False


def _pause(st: dict[str, Any]) -> None:
    """An emergency or safeguarding interrupts a question: keep it, to pick up where we were."""
    if st.get("awaiting") in RESUMABLE:
        st["resume"] = {"awaiting": st["awaiting"], "asked": st.get("asked", 0)}


def _offer_resume(st: dict[str, Any], out: Reply) -> None:
    if st.get("resume") and not st.get("awaiting"):
        st["resume"]["offered"] = True
        out.say(say.resume_offer())


def _resume(
    s: Session, t: Turn, st: dict[str, Any], out: Reply, intent: str, text: str, facts: reading.Facts, now: datetime
) -> bool:
    """After an interruption: the answer to the question we had asked (a name, a number, a
    postcode) is taken as if we had just asked it; "yes"/"carry on" asks it again."""
    paused = st.get("resume")
    if not isinstance(paused, dict) or paused.get("awaiting") not in RESUMABLE:
        st.pop("resume", None)
        return False
    question = paused["awaiting"]
    if intent in ("emergency", "safeguarding") and (t.confidence is None or t.confidence >= CONFIDENT):
        st["awaiting"] = None
        return False  # the model is sure this is about the emergency, not our old question
    taken = False
    if question == "name" and answers.read_name(text):
        st["name"], taken = answers.read_name(text), True
        _continue_intro(s, t, st, out, now)
    elif question == "phone" and reading.find_phone(text):
        st["phone"], taken = reading.find_phone(text), True
        _continue_intro(s, t, st, out, now)
    elif question == "postcode" and (pc := postcodes.find_in(text) or postcodes.spoken(text) or _town(s, text)):
        _set_postcode(s, st, out, pc)
        _signpost(s, t, st, out, now)
        taken = True
    if taken:
        st.pop("resume", None)
        return True
    carry_on = re.search(r"\b(?:carry on|go on|continue|where we were|where we left off)\b", text, re.I)
    if carry_on or answers.yes_no(text) == "yes" and paused.get("offered"):
        st.pop("resume", None)
        st["awaiting"], st["asked"] = question, 0
        out.say(_question(s, st, question, t.channel))
        return True
    if answers.yes_no(text) == "yes" or intent == "thank":  # "ok", "thanks": the emergency advice heard
        st["awaiting"] = None
        paused["offered"] = True
        out.say(say.resume_offer())
        return True
    st["awaiting"] = None
    if intent not in ("greet", "thank", "affirm", "nlu_fallback"):
        st.pop("resume", None)  # on to something new
    return False


def _question(s: Session, st: dict[str, Any], question: str, channel: str) -> str:
    on_behalf = st.get("on_behalf", False)
    if question == "postcode":
        return say.ask_postcode(on_behalf, channel)
    if question == "name":
        return say.ask_name(on_behalf)
    if question == "phone":
        return say.ask_phone(on_behalf)
    if question == "consent" and st.get("intro") == CHECKIN_SERVICE:
        return say.checkin_offer(on_behalf, channel)
    svc = directory.get(s, st["intro"]) if st.get("intro") else None
    name = svc.name if svc else "them"
    if question == "intro":
        return say.offer_intro(name, on_behalf, channel)
    return say.ask_consent(name, on_behalf, channel)


def _town(s: Session, text: str) -> postcodes.Postcode | None:
    """A town or village of the council's area named instead of a postcode: its district (the
    directory's ``council: places:``), the longest name that appears in the words."""
    said = " " + re.sub(r"[^a-z0-9]+", " ", (text or "").lower()[:300]) + " "
    for place, district in sorted(directory.council(s).places, key=lambda p: -len(p[0])):
        if f" {re.sub(r'[^a-z0-9]+', ' ', place.lower()).strip()} " in said:
            return postcodes.parse(district)
    return None


def speech_hints(s: Session) -> list[str]:
    """What a caller asked for a postcode is likely to say: the council's districts, spelled as
    speech recognition hears them and whole, and its towns and villages (Twilio's ``hints``)."""
    council = directory.council(s)
    hints: list[str] = []
    for d in council.districts:
        hints += [" ".join(d), d]
    hints += [place for place, _ in council.places]
    hints.append("skip")
    return [h for h in dict.fromkeys(hints) if h and "," not in h and len(h) <= 100][:500]


def _set_postcode(s: Session, st: dict[str, Any], out: Reply, pc: postcodes.Postcode) -> None:
    st["postcode"] = pc.full
    council = directory.council(s)
    if pc.district in council.districts:
        st["district"] = pc.district
        st.pop("national", None)
    else:
        st["district"] = pc.district
        st["outside"] = True
        out.say(say.outside_area(pc.full, council.name))


def _yes(s: Session, t: Turn, st: dict[str, Any], out: Reply, awaiting: str, now: datetime) -> None:
    if awaiting == "intro":
        svc = _offered(s, st["intro"])
        st["awaiting"] = "consent"
        out.say(say.ask_consent(svc.name, st.get("on_behalf", False), t.channel))
    elif awaiting == "consent":
        st["consent"] = True
        _continue_intro(s, t, st, out, now)
    elif awaiting == "handoff":
        _add_needs(st, "other")
        _raise(st, "handoff")
        queued = _callback(s, t, st, out, st.get("handoff_reason", "cannot_help"), False, st.get("first", ""), now)
        if queued and st.get("awaiting") != "callback_phone":
            out.say(say.handoff(True, directory.council(s).helpline, t.channel))


def _no(s: Session, t: Turn, st: dict[str, Any], out: Reply, awaiting: str, now: datetime) -> None:
    st["awaiting"] = None
    if awaiting == "intro":
        out.say(say.intro_declined())
    elif awaiting == "consent":
        st["consent"] = False
        svc = _offered(s, st["intro"])
        out.say(say.consent_refused(svc, t.channel))
    elif awaiting == "handoff":
        out.say(say.no_callback(directory.council(s).helpline))


def _offered(s: Session, ext_id: str) -> Service:
    """The service this conversation offered: its row stays (a service that leaves the directory is inactive)."""
    svc = directory.get(s, ext_id)
    if svc is None:
        raise LookupError(f"service {ext_id!r} is not in the directory")
    return svc


def _continue_intro(s: Session, t: Turn, st: dict[str, Any], out: Reply, now: datetime) -> None:
    """After consent: ask what we still need (a name, a number), then record the introduction."""
    if _refused(s, t, st, "introduction", now, service_ext_id=st.get("intro")) is not None:
        st["awaiting"] = None  # asked before the name and number: no details taken that cannot be used
        out.say(_capped_intro(_offered(s, st["intro"])))
        return
    if not st.get("name") and not st.get("no_name"):
        st["awaiting"], st["asked"] = "name", 0
        out.say(say.ask_name(st.get("on_behalf", False)))
        return
    if not st.get("phone"):
        st["awaiting"], st["asked"] = "phone", 0
        out.say(say.ask_phone(st.get("on_behalf", False)))
        return
    svc = _offered(s, st["intro"])
    # rang us, or asked to be rung rather than texted, or a landline: we ring back
    by = "voice" if t.channel == "voice" or st.get("by_voice") or followup.is_landline(st["phone"]) else None
    enquiries.introduce(
        s,
        st["enquiry"],
        svc.ext_id,
        name=st.get("name"),
        phone=st["phone"],
        now=now,
        follow_up_by=by,
        wording=_question(s, st, "consent", t.channel),
        channel=t.channel,
    )
    _raise(st, "introduced")
    st["awaiting"] = None
    st.setdefault("introduced", []).append(svc.ext_id)
    if svc.ext_id not in st.setdefault("offered", []):
        st["offered"].append(svc.ext_id)
    out.say(
        say.checkin_requested()
        if svc.ext_id == CHECKIN_SERVICE
        else say.introduced(svc.name, svc.intro_days, "voice" if by else t.channel)
    )


# -- 4. requests -----------------------------------------------------------------------------------------------
def _ask(
    s: Session, t: Turn, st: dict[str, Any], out: Reply, intent: str, text: str, facts: reading.Facts, now: datetime
) -> None:
    st["awaiting"] = None
    if text and not st.get("first"):
        st["first"] = text[:300]
    for topic, (said, _) in _TOPICS.items():
        if said.search(text) and topic not in st.setdefault("topics", []):
            st["topics"].append(topic)
    pc = postcodes.find_in(text) if text else None
    if intent == "greet":
        out.say(say.greeting(t.channel, st.get("name")))
    elif intent in ("goodbye",):
        out.say(say.goodbye(st.get("name") if st.get("resident") else None))
        out.hangup = True
    elif intent == "thank":
        out.say(say.thanks())
    elif intent == "bot_challenge":
        out.say(say.bot())
    elif _RING_FOR_A_CHAT.search(text) and intent not in ("emergency", "safeguarding"):
        # someone to ring them for a chat is befriending or our daily call, even when the model hears "a person"
        _add_needs(st, "loneliness_befriending")
        st["ring_chat"] = True
        if pc is not None:
            _set_postcode(s, st, out, pc)
        if st.get("district") or st.get("national"):
            _signpost(s, t, st, out, now, only=["loneliness_befriending"])
        else:
            st["awaiting"], st["asked"] = "postcode", 0
            out.say(
                say.ask_postcode(
                    st.get("on_behalf", False), t.channel, say.acknowledge(text, st.get("on_behalf", False))
                )
            )
    elif intent == "request_human":
        _add_needs(st, *facts.needs[:MAX_NEEDS])
        _raise(st, "handoff")
        queued = _callback(s, t, st, out, "person", False, text, now)
        if not queued:
            pass
        elif st.get("awaiting") != "callback_phone":
            out.say(say.handoff(True, directory.council(s).helpline, t.channel))
        else:
            out.messages.insert(len(out.messages) - 1, "Of course, someone from our team can call you back.")
    elif intent == "checkin_signup":
        _add_needs(st, "loneliness_befriending")
        if CHECKIN_SERVICE not in st.setdefault("offered", []):
            st["offered"].append(CHECKIN_SERVICE)
        st["intro"] = CHECKIN_SERVICE
        st["awaiting"] = "consent"
        out.say(say.checkin_offer(st.get("on_behalf", False), t.channel))
    elif intent.startswith("need_") or (
        facts.needs and intent in ("nlu_fallback", "greet", "inform_postcode", "affirm", "thank")
    ):
        main = intent.removeprefix("need_") if intent.startswith("need_") else None
        before = list(st.get("needs", []))
        _add_needs(st, *([main] if main else []), *facts.needs)
        st["needs"] = [n for n in st["needs"]][: max(MAX_NEEDS, len(before))]
        if pc is not None:
            _set_postcode(s, st, out, pc)
        ack = say.acknowledge(text, st.get("on_behalf", False)) if not before else ""
        if st.get("district") or st.get("national"):
            out.say(ack)
            _signpost(s, t, st, out, now, only=[n for n in st["needs"] if n not in before] or None)
        else:
            st["awaiting"], st["asked"] = "postcode", 0
            out.say(say.ask_postcode(st.get("on_behalf", False), t.channel, ack))
    elif intent == "inform_postcode" or pc is not None:
        if pc is not None:
            _set_postcode(s, st, out, pc)
            if st.get("needs"):
                _signpost(s, t, st, out, now)
            else:
                out.say("Thank you. " + say.what_help())
        else:
            out.say(say.ask_postcode_again(t.channel))
            st["awaiting"], st["asked"] = "postcode", 1
    elif intent == "affirm":
        out.say(say.what_help())
    elif intent == "deny":
        out.say(say.goodbye(st.get("name") if st.get("resident") else None))
        out.hangup = True
    else:  # out_of_scope, nlu_fallback, anything we cannot place
        _cannot_help(s, t, st, out, now)


def _cannot_help(s: Session, t: Turn, st: dict[str, Any], out: Reply, now: datetime) -> None:
    st["misunderstood"] = st.get("misunderstood", 0) + 1
    if st["misunderstood"] == 1:
        out.say(say.cannot_help_first(t.channel))
        return
    _add_needs(st, "other")
    st["awaiting"] = "handoff"
    st["handoff_reason"] = "cannot_help"
    out.say(say.cannot_help(t.channel))


def _fits(st: dict[str, Any], svc: Service) -> int:
    """0 when the service is about what the person's words were about (their heating), else 1."""
    about = f"{svc.name} {svc.description}"
    return 0 if any(_TOPICS[topic][1].search(about) for topic in st.get("topics", []) if topic in _TOPICS) else 1


def _signpost(
    s: Session, t: Turn, st: dict[str, Any], out: Reply, now: datetime, only: list[str] | None = None
) -> None:
    st["awaiting"] = None
    district = None if st.get("national") else st.get("district")  # outside the council: only what serves anyone
    if st.pop("ring_chat", None):
        _ring_for_a_chat(s, t, st, out, district)
        return
    per_need = PER_NEED.get(t.channel, 2)
    limit = MAX_SERVICES.get(t.channel, 4)
    needs = [n for n in (only or st.get("needs", [])) if n not in ("emergency", "safeguarding", "other")][:MAX_NEEDS]
    shown: list[Service] = []
    lines: list[str] = []
    helpline = directory.council(s).helpline
    for need in needs:
        found = [
            svc
            for svc in directory.match(
                s, need, district=district, age=st.get("age"), carer=st.get("carer"), limit=per_need + 6
            )
            if svc.ext_id not in [x.ext_id for x in shown]
        ]
        found = sorted(found, key=lambda svc: _fits(st, svc))[:per_need]  # stable: the directory's order within
        found = found[: max(0, limit - len(shown))]
        if not found:
            lines.append(say.nothing_found(need, helpline))
            continue
        lines.append(f"For {say.label(need)}:" if len(needs) > 1 else "Here's who can help:")
        for svc in found:
            lines.append(say.service_line(svc, t.channel))
        shown += found
    if t.channel == Channel.VOICE:
        out.say(" ".join(lines))
    else:
        out.say("\n".join(lines))
    for svc in shown:
        if svc.ext_id not in st.setdefault("offered", []):
            st["offered"].append(svc.ext_id)
    if shown:
        _raise(st, "signposted")
    intro = next((svc for svc in shown if svc.introductions and svc.ext_id not in st.get("introduced", [])), None)
    if intro is not None:
        st["intro"] = intro.ext_id
        st["awaiting"] = "intro"
        out.say(say.offer_intro(intro.name, st.get("on_behalf", False), t.channel))
    else:
        out.say(say.anything_else())


def _ring_for_a_chat(s: Session, t: Turn, st: dict[str, Any], out: Reply, district: str | None) -> None:
    """ "Is there someone who could ring me for a chat?": the telephone befriending services, then
    our own daily call; one question: a befriender, our daily call, or neither."""
    found = [
        svc
        for svc in directory.match(
            s, "loneliness_befriending", district=district, age=st.get("age"), carer=st.get("carer"), limit=None
        )
        if svc.ext_id != CHECKIN_SERVICE and _PHONE_SERVICE.search(svc.description or "")
    ]
    found = found[: (1 if t.channel == "voice" else 2)]
    checkin = directory.get(s, CHECKIN_SERVICE)
    offers_checkin = checkin is not None and checkin.active and district is not None
    out.say(
        say.ring_for_a_chat(st.get("on_behalf", False), found, t.channel)
        if offers_checkin
        else "\n".join(
            ["Yes, there are people who would love to ring you for a chat."]
            + [say.service_line(svc, t.channel) for svc in found]
        )
    )
    for svc in found + ([checkin] if offers_checkin and checkin is not None else []):
        if svc.ext_id not in st.setdefault("offered", []):
            st["offered"].append(svc.ext_id)
    if found or offers_checkin:
        _raise(st, "signposted")
    befriender = next((svc for svc in found if svc.introductions and svc.ext_id not in st.get("introduced", [])), None)
    if befriender is not None:
        st["intro"], st["awaiting"] = befriender.ext_id, "intro"
        st["chat_choice"] = offers_checkin
        out.say(
            say.which_call(t.channel, befriender.name)
            if offers_checkin
            else say.offer_intro(befriender.name, st.get("on_behalf", False), t.channel)
        )
    elif offers_checkin:
        st["intro"], st["awaiting"] = CHECKIN_SERVICE, "consent"
        out.say(say.checkin_offer(st.get("on_behalf", False), t.channel))
    else:
        out.say(say.anything_else())

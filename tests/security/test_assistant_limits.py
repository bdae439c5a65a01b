"""Attack 8: one chat message must not stall the helpline.

* The emergency matcher (``telecare/assistant/emergency.py``) is linear: 100 KB of text built
  to make it rescan (hits that are then cancelled, negations, hypotheticals, one long word,
  punctuation runs) takes a fraction of a second, where it took 46 s.
* A message's length and a sender's pace are bounded (``assistant/connectors/limits.py``,
  plain Python: the channels in ``.venv-rasa`` and the hub share it). A fake clock keeps
  these tests instant.
"""

from __future__ import annotations

import time

import pytest

from assistant.connectors.limits import (
    CUT_NOTICE,
    MAX_MESSAGE_CHARS,
    ChatLimits,
    cut,
    parse_spec,
)
from telecare.assistant import emergency


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


# --- cut -------------------------------------------------------------------------------------


def test_short_message_is_untouched():
    assert cut("I've fallen") == ("I've fallen", False)
    exact = "x" * MAX_MESSAGE_CHARS
    assert cut(exact) == (exact, False)
    assert cut("") == ("", False)


def test_long_message_is_cut_at_a_word_boundary():
    text = "she has fainted a few times, " * 100
    out, was_cut = cut(text)
    assert was_cut
    assert len(out) <= MAX_MESSAGE_CHARS
    assert len(out) > MAX_MESSAGE_CHARS - 100
    assert text.startswith(out)
    # Ends on a whole word: the next character of the original is a space.
    assert text[len(out)].isspace()
    assert not out.endswith(" ")


def test_one_long_word_is_cut_exactly_at_the_limit():
    out, was_cut = cut("a" * 100_000)
    assert was_cut and out == "a" * MAX_MESSAGE_CHARS


def test_a_space_just_after_the_limit_keeps_every_word():
    text = "ab " * 333 + "c" + " tail"  # 999 + "c" = 1000 chars then a space
    out, was_cut = cut(text)
    assert was_cut
    assert out == text[:MAX_MESSAGE_CHARS]


def test_cut_notice_says_what_happened():
    assert "1,000" in CUT_NOTICE and "first" in CUT_NOTICE


# --- ChatLimits ------------------------------------------------------------------------------


def test_a_person_typing_is_never_refused():
    clock = Clock()
    limits = ChatLimits.parse("", now=clock)
    for _ in range(200):  # one message every 4 s for over 13 minutes
        assert limits.admit("rest:alice", "203.0.113.5") is None
        clock.advance(4.0)


def test_conversation_limit_refuses_a_burst_and_says_how_long_to_wait():
    clock = Clock()
    limits = ChatLimits.parse("conversation=20/60s,client=120/60s", now=clock)
    for _ in range(20):
        assert limits.admit("rest:bot", "203.0.113.9") is None
    wait = limits.admit("rest:bot", "203.0.113.9")
    assert wait is not None and 0 < wait <= 3.0 + 1e-6  # one token back every 3 s
    # Another conversation from the same address still goes ahead.
    assert limits.admit("rest:other", "203.0.113.9") is None
    clock.advance(wait)
    assert limits.admit("rest:bot", "203.0.113.9") is None
    assert limits.admit("rest:bot", "203.0.113.9") is not None


def test_refused_message_costs_nothing():
    clock = Clock()
    limits = ChatLimits.parse("conversation=2/10s,client=100/10s", now=clock)
    assert limits.admit("c", "ip") is None
    assert limits.admit("c", "ip") is None
    for _ in range(50):  # hammering while refused does not push the wait further out
        assert limits.admit("c", "ip") is not None
    clock.advance(5.0)
    assert limits.admit("c", "ip") is None


def test_client_limit_holds_across_made_up_conversation_ids():
    clock = Clock()
    limits = ChatLimits.parse("", now=clock)
    admitted = sum(limits.admit(f"rest:{i}", "198.51.100.7") is None for i in range(1000))
    assert admitted == 120
    # A different address is unaffected.
    assert limits.admit("rest:x", "198.51.100.8") is None


def test_memory_is_bounded_under_millions_of_conversation_ids():
    clock = Clock()
    limits = ChatLimits.parse("conversation=20/60s,client=off,keys=1000", now=clock)
    for i in range(200_000):
        limits.admit(f"rest:{i}", "")
        if i % 1000 == 0:
            clock.advance(0.01)
    conversations, clients = limits.remembered()
    assert conversations <= 1000
    assert clients == 0


def test_idle_buckets_are_forgotten():
    clock = Clock()
    limits = ChatLimits.parse("conversation=20/60s,client=120/60s", now=clock)
    for i in range(50):
        limits.admit(f"c{i}", f"ip{i}")
    assert limits.remembered() == (50, 50)
    clock.advance(61.0)
    limits.admit("new", "new-ip")
    assert limits.remembered() == (1, 1)


def test_empty_client_address_is_not_one_shared_bucket():
    clock = Clock()
    limits = ChatLimits.parse("conversation=20/60s,client=2/60s", now=clock)
    for i in range(10):
        assert limits.admit(f"c{i}", "") is None


def test_off_disables_everything():
    clock = Clock()
    limits = ChatLimits.parse("off", now=clock)
    assert not limits.enabled
    for _ in range(1000):
        assert limits.admit("c", "ip") is None
    assert limits.describe() == "off"
    assert ChatLimits.parse(" OFF ").enabled is False


def test_from_env(monkeypatch):
    monkeypatch.delenv("LINKAGE_CHAT_LIMITS", raising=False)
    assert ChatLimits.from_env().describe() == "conversation=20/60s,client=120/60s"
    monkeypatch.setenv("LINKAGE_CHAT_LIMITS", "off")
    assert ChatLimits.from_env().enabled is False
    monkeypatch.setenv("LINKAGE_CHAT_LIMITS", "conversation=5/1m")
    assert ChatLimits.from_env().describe() == "conversation=5/60s,client=120/60s"
    monkeypatch.setenv("LINKAGE_CHAT_LIMITS", "client=off")
    assert ChatLimits.from_env().describe() == "conversation=20/60s,client=off"
    assert (
        ChatLimits.from_env({"LINKAGE_CHAT_LIMITS": "client=1000/1h"}).describe()
        == "conversation=20/60s,client=1000/3600s"
    )


@pytest.mark.parametrize(
    "spec, words",
    [
        ("conversation=lots", "conversation='lots'"),
        ("conversation=20", "conversation"),
        ("conversation=0/60s", "above zero"),
        ("client=5/0s", "above zero"),
        ("conversation=20/60d", "N/Ps"),
        ("per_user=20/60s", "unknown setting"),
        ("conversation", "no '='"),
        ("conversation=1/1s,conversation=2/1s", "twice"),
        ("keys=0", "keys"),
        ("keys=many", "keys"),
    ],
)
def test_bad_spec_raises_a_clear_error(spec, words):
    with pytest.raises(ValueError) as info:
        ChatLimits.from_env({"LINKAGE_CHAT_LIMITS": spec})
    assert "LINKAGE_CHAT_LIMITS" in str(info.value)
    assert words in str(info.value)


def test_parse_spec_defaults():
    assert parse_spec(None) == {"conversation": (20, 60.0), "client": (120, 60.0), "keys": 10_000}
    assert parse_spec("off") is None


# --- the emergency matcher in linear time ----------------------------------------------------

SIZE = 100_000


def _repeat(unit: str) -> str:
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


ADVERSARIAL = {
    # each hit of "fainted" is cancelled by "a few times": every hit used to rescan the message
    "fainting a few times": _repeat("she has fainted a few times, "),
    "past falls": _repeat("last year i fell and cant get up "),
    "collapses": _repeat("collapsed a few times "),
    "negations": _repeat("she is not breathing if "),
    "hypotheticals": _repeat("if i fall and cant get up "),
    "worries": _repeat("im worried about what could be "),
    "alarm without signs": _repeat("co alarm going off "),
    "state words": "im " + _repeat("still "),
    "pleas after cant get up": "cant get up " + _repeat("please ") + "x",
    "one long word": "a" * SIZE,
    "a long word after a fall": "fell " + "a" * SIZE,
    "punctuation": _repeat("!?.,;"),
    "help then exclamation marks": "help" + "!" * SIZE + "x",
    "help me": _repeat("help me ") + "x",
    "spaces and newlines": _repeat("help\n\n\t  "),
    "not text": _repeat("\u00e9\u2019\u00fc\U0001f642 "),
}
# Generous: the point is linear against quadratic (before: 100 KB took 10 to 46 s), not speed.
BOUND = 1.0


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_the_emergency_matcher_reads_100kb_fast(name):
    text = ADVERSARIAL[name]
    start = time.perf_counter()
    emergency.match(text)
    emergency.explain(text)
    assert time.perf_counter() - start < BOUND


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_the_whole_100kb_is_linear_too(name):
    """Without the defence-in-depth cut (``limit=None``) the matcher reads all 100 KB."""
    text = ADVERSARIAL[name]
    start = time.perf_counter()
    emergency.match(text, limit=None)
    assert time.perf_counter() - start < 2 * BOUND


def test_the_matcher_reads_a_bounded_prefix_and_still_finds_an_emergency_in_it():
    assert emergency.MAX_TEXT >= 2 * MAX_MESSAGE_CHARS  # never cuts what a channel let through
    assert emergency.match("I've fallen and can't get up " + "a" * SIZE) == "fall"
    assert emergency.match("la " * 2000 + "I've fallen and can't get up") is None
    assert emergency.match("la " * 2000 + "I've fallen and can't get up", limit=None) == "fall"
    # the cancelling rules still hold on long text: a past marker far from the hit cancels it
    assert emergency.match("she has fainted a few times, " * 100) is None
    assert emergency.match("she has fainted " + "la " * 300 + "last year") is None
    assert emergency.match("she has fainted " + "la " * 300 + "last year, and now shes on the floor") == "fall"


def test_an_alarm_counts_only_with_a_sign_after_it():
    assert emergency.match("the co alarm is going off and i feel dizzy") == "danger"
    assert emergency.match("the co alarm is going off " + "la " * 500 + "i feel dizzy") == "danger"
    assert emergency.match("i feel dizzy. the co alarm is going off") is None


# --- caps on what anonymous conversations can queue ---------------------------------------------
# Scripted "I've fallen" from REST or the web chat used to queue unlimited urgent call-backs, and
# introductions could be asked for without end. On SQLite and PostgreSQL (``db_url``).

from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from telecare.alert.models import Alert  # noqa: E402
from telecare.assistant import frontdoor  # noqa: E402
from telecare.assistant.frontdoor import Caps, Turn  # noqa: E402
from telecare.directory.loader import load_directory  # noqa: E402
from telecare.directory.models import Service  # noqa: E402
from telecare.enquiry import service as enquiries  # noqa: E402
from telecare.enquiry.models import CallbackRequest, Introduction  # noqa: E402

DIRECTORY = Path(__file__).resolve().parents[2] / "data" / "directory" / "services.yml"
BETTY = "+447700900001"
STRANGER = "+447700900999"
FALLEN = "I've fallen and I can't get up"


@pytest.fixture
def db(site, clock):
    with site() as s, s.begin():
        load_directory(s, DIRECTORY.read_text(encoding="utf-8"), clock.now(), source=str(DIRECTORY))
    return site


@pytest.fixture
def capped(monkeypatch):
    """Sets frontdoor.CAPS for one test and records each refusal as the hub's counter would."""
    seen: list[tuple[str, str]] = []

    def set_caps(**kw) -> list[tuple[str, str]]:
        monkeypatch.setattr(frontdoor, "CAPS", Caps(on_capped=lambda what, why: seen.append((what, why)), **kw))
        return seen

    return set_caps


class Chat:
    def __init__(self, sessions, clock, cid, channel="rest", phone=None):
        self.sessions, self.clock, self.cid, self.channel, self.phone = sessions, clock, cid, channel, phone
        self.state = None

    def __call__(self, intent: str, text: str = "") -> str:
        with self.sessions() as s, s.begin():
            reply = frontdoor.turn(
                s,
                Turn(intent=intent, text=text, channel=self.channel, phone=self.phone, conversation_id=self.cid),
                self.state,
                self.clock.now(),
            )
        self.state = reply.state
        return "\n".join(reply.messages)


def _count(sessions, model, *where) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_scripted_emergencies_in_one_conversation_queue_one_urgent_callback(db, clock, capped, caplog):
    seen = capped()
    chat = Chat(db, clock, "rest:script")
    for _ in range(10):
        said = chat("emergency", FALLEN)
        assert "999" in said
    assert _count(db, CallbackRequest) == 1
    # an urgent safeguarding call-back on top: the conversation already has its urgent one
    with caplog.at_level("WARNING", logger="linkage.assistant"):
        said = chat("safeguarding", "my carer takes my money and hits me")
    assert "999" in said and "already has an urgent request" in said
    assert _count(db, CallbackRequest) == 1
    # starting afresh under the same conversation id does not reset it
    chat.state = None
    assert "999" in chat("emergency", FALLEN)
    assert _count(db, CallbackRequest) == 1
    assert seen and set(seen) == {("callback", "conversation")}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "not queued" in logged and "carer" not in logged and "money" not in logged
    assert _count(db, Alert) == 0


def test_the_hourly_cap_holds_across_conversations_and_resets_after_an_hour(db, clock, capped, caplog):
    seen = capped(per_hour=3)
    replies = []
    with caplog.at_level("WARNING", logger="linkage.assistant"):
        for i in range(8):
            replies.append(Chat(db, clock, f"rest:bot-{i}")("emergency", FALLEN))
    assert _count(db, CallbackRequest) == 3
    for said in replies[3:]:  # still the 999 advice and the helpline, but no promise and no question
        assert "999" in said and "ring us on" in said
        assert "phone number" not in said and "told our team" not in said
    assert seen == [("callback", "hourly")] * 5
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "3 an hour" in logged and "fallen" not in logged.lower()
    # a person asking for a call back is told to ring, not asked for a number we would not use
    said = Chat(db, clock, "web:person")("request_human", "can I speak to someone")
    assert "ring us on" in said and "phone number" not in said
    assert _count(db, CallbackRequest) == 3
    clock.advance(timedelta(minutes=61))
    said = Chat(db, clock, "rest:later")("emergency", FALLEN)
    assert "phone number" in said
    assert _count(db, CallbackRequest) == 4


def test_the_hourly_cap_is_counted_in_the_database(db, clock, capped):
    """Another process's requests count: rows written straight into the database."""
    capped(per_hour=2)
    with db() as s, s.begin():
        for i in range(2):
            e = enquiries.start(
                s, channel="web", conversation_id=f"web:other-{i}", phone=None, resident_id=None, now=clock.now()
            )
            enquiries.request_callback(
                s,
                enquiry_id=e.id,
                reason="person",
                urgent=False,
                name=None,
                phone="07700900123",
                resident_id=None,
                detail=None,
                now=clock.now(),
            )
    said = Chat(db, clock, "rest:x")("emergency", FALLEN)
    assert "999" in said and "ring us on" in said
    assert _count(db, CallbackRequest) == 2


def test_a_proven_phone_is_not_capped(db, clock, capped):
    """Positive control: a signed Twilio number is not anonymous; residents still raise alerts."""
    seen = capped(per_hour=0)
    said = Chat(db, clock, f"sms:{STRANGER}", channel="sms", phone=STRANGER)("emergency", FALLEN)
    assert "999" in said
    assert _count(db, CallbackRequest, CallbackRequest.urgent.is_(True)) == 1
    Chat(db, clock, f"sms:{BETTY}", channel="sms", phone=BETTY)("emergency", FALLEN)
    assert _count(db, Alert) == 1
    assert seen == []


def test_an_anonymous_conversation_under_the_caps_still_gets_its_callback(db, clock, capped):
    """Positive control: the first emergency of an anonymous conversation is queued as before."""
    capped()
    chat = Chat(db, clock, "web:someone", channel="web")
    said = chat("emergency", FALLEN)
    assert "999" in said and "phone number" in said
    said = chat("nlu_fallback", "07700 900123")
    assert "call you on that number" in said
    with db() as s:
        cb = s.scalars(select(CallbackRequest)).one()
        assert cb.urgent and cb.reason == "emergency" and cb.phone == "+447700900123"


def _offer_an_introduction(chat) -> str:
    chat("need_loneliness_befriending", "im on my own all day and would like some company")
    chat("inform_postcode", "AV1 2AB")
    assert chat.state["awaiting"] == "intro"
    return chat.state["intro"]


def test_introductions_are_capped_per_conversation(db, clock, capped):
    seen = capped()
    chat = Chat(db, clock, "web:intros", channel="web")
    offered = _offer_an_introduction(chat)
    with db() as s, s.begin():  # this conversation has already had three introductions
        others = s.scalars(
            select(Service)
            .where(Service.introductions.is_(True), Service.ext_id != offered)
            .order_by(Service.ext_id)
            .limit(3)
        ).all()
        assert len(others) == 3
        for svc in others:
            enquiries.introduce(
                s, chat.state["enquiry"], svc.ext_id, name="A N Other", phone="07700900123", now=clock.now()
            )
    chat("affirm", "yes please")
    said = chat("affirm", "yes thats fine")
    assert "can't pass your details on" in said and "your name" not in said and "phone number" not in said
    assert _count(db, Introduction) == 3
    assert seen == [("introduction", "conversation")]


def test_introductions_count_towards_the_hourly_cap(db, clock, capped):
    seen = capped(per_hour=0)
    chat = Chat(db, clock, "web:intro", channel="web")
    _offer_an_introduction(chat)
    chat("affirm", "yes please")
    said = chat("affirm", "yes thats fine")
    assert "can't pass your details on" in said and "yourself" in said
    assert _count(db, Introduction) == 0
    assert seen == [("introduction", "hourly")]


def test_an_introduction_under_the_caps_is_recorded(db, clock, capped):
    capped()
    chat = Chat(db, clock, "web:ok", channel="web")
    _offer_an_introduction(chat)
    chat("affirm", "yes please")
    chat("affirm", "yes thats fine")
    chat("nlu_fallback", "Mary Jones")
    assert "Done." in chat("nlu_fallback", "07700 900123")
    assert _count(db, Introduction) == 1


def test_the_hub_sets_the_caps_and_counts_refusals(monkeypatch):
    from types import SimpleNamespace

    from hub import metrics
    from hub.config import ConfigError, anonymous_requests_per_hour
    from hub.web.assistant_routes import hub_caps

    caps = hub_caps(SimpleNamespace(settings=SimpleNamespace(anonymous_requests_per_hour=7)))
    assert caps.per_hour == 7
    token = frontdoor.use_caps(caps)  # what the hub does around each action call
    try:
        assert (frontdoor._HUB_CAPS.get() or frontdoor.CAPS).per_hour == 7
    finally:
        frontdoor.reset_caps(token)
    assert frontdoor.CAPS.per_hour == 30, "one hub's caps never leak into the process-wide default"
    counter = metrics.ASSISTANT_ANONYMOUS_CAPPED.labels(what="callback", why="hourly")
    before = counter._value.get()
    caps.on_capped("callback", "hourly")
    assert counter._value.get() == before + 1
    assert anonymous_requests_per_hour({}) == 30
    assert anonymous_requests_per_hour({"LINKAGE_ANONYMOUS_REQUESTS_PER_HOUR": "0"}) == 0
    with pytest.raises(ConfigError, match="LINKAGE_ANONYMOUS_REQUESTS_PER_HOUR"):
        anonymous_requests_per_hour({"LINKAGE_ANONYMOUS_REQUESTS_PER_HOUR": "lots"})

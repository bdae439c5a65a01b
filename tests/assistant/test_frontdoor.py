"""The conversation's decisions (telecare/assistant/frontdoor.py), turn by turn, on SQLite and
PostgreSQL, with the sample site and the sample directory, and a FakeClock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from telecare.alert.models import Alert
from telecare.assistant import frontdoor
from telecare.assistant.frontdoor import Turn
from telecare.directory.loader import load_directory
from telecare.directory.models import Service
from telecare.enquiry import followup
from telecare.enquiry.models import CallbackRequest, CheckinRequest, Enquiry, Introduction
from telecare.notification.models import Notification

DIRECTORY = Path(__file__).resolve().parents[2] / "data" / "directory" / "services.yml"
BETTY = "+447700900001"
STRANGER = "+447700900999"


@pytest.fixture
def db(site, clock):
    with site() as s, s.begin():
        load_directory(s, DIRECTORY.read_text(encoding="utf-8"), clock.now(), source=str(DIRECTORY))
    return site


class Chat:
    """One conversation: keeps the state the Rasa slot would keep."""

    def __init__(self, sessions, clock, channel="web", phone=None, cid="c1"):
        self.sessions, self.clock, self.channel, self.phone, self.cid = sessions, clock, channel, phone, cid
        self.state: dict | None = None
        self.last: frontdoor.Reply | None = None

    def __call__(self, intent: str, text: str = "", confidence: float | None = None) -> str:
        with self.sessions() as s, s.begin():
            self.last = frontdoor.turn(
                s,
                Turn(
                    intent=intent,
                    text=text,
                    channel=self.channel,
                    phone=self.phone,
                    conversation_id=self.cid,
                    confidence=confidence,
                ),
                self.state,
                self.clock.now(),
            )
        self.state = self.last.state
        return "\n".join(self.last.messages)

    def enquiry(self) -> Enquiry:
        with self.sessions() as s:
            return s.get(Enquiry, self.state["enquiry"])


def _services(sessions, ids):
    with sessions() as s:
        return {x.ext_id: x for x in s.scalars(select(Service).where(Service.ext_id.in_(ids)))}


def test_greeting_asks_what_matters(db, clock):
    chat = Chat(db, clock)
    said = chat("greet", "hello")
    assert "What matters to you" in said
    e = chat.enquiry()
    assert e.channel == "web" and e.outcome == "unresolved" and e.needs == []


def test_a_known_resident_is_greeted_by_name_and_not_asked_for_a_postcode(db, clock):
    chat = Chat(db, clock, channel="sms", phone=BETTY, cid=f"sms:{BETTY}")
    assert "Hello Betty" in chat("greet", "hi")
    said = chat("need_money_benefits", "im struggling with my bills")
    assert "postcode" not in said.lower()
    assert chat.state["district"] == "AV1"
    e = chat.enquiry()
    assert e.outcome == "signposted" and e.needs == ["money_benefits"] and e.services
    assert e.resident_id is not None and e.phone == BETTY


def test_need_then_postcode_signposts_local_services_that_match(db, clock):
    chat = Chat(db, clock)
    said = chat("need_transport", "i cant get to my hospital appointments anymore")
    assert "postcode" in said.lower()
    said = chat("inform_postcode", "AV3 4RT")
    e = chat.enquiry()
    assert e.outcome == "signposted" and e.needs == ["transport"]
    services = _services(db, e.services)
    assert services and all("transport" in svc.needs for svc in services.values())
    assert all(any(a in ("AV3", "council", "national") for a in svc.areas) for svc in services.values())
    for svc in services.values():
        assert svc.name in said


def test_two_needs_in_one_message_are_both_recorded_and_answered(db, clock):
    chat = Chat(db, clock)
    chat("need_money_benefits", "my husband died and im so lonely and i cant afford the heating bills")
    said = chat("inform_postcode", "av1 2ab")
    e = chat.enquiry()
    assert set(e.needs) >= {"money_benefits", "loneliness_befriending"}
    assert "For money and benefits:" in said and "For company and someone to talk to:" in said
    needs = {n for svc in _services(db, e.services).values() for n in svc.needs}
    assert {"money_benefits", "loneliness_befriending"} <= needs


def test_a_postcode_outside_the_area_gets_national_services(db, clock):
    chat = Chat(db, clock)
    chat("need_money_benefits", "help with pension credit")
    said = chat("inform_postcode", "LS6 2AB")
    assert "outside Ashvale" in said
    services = _services(db, chat.enquiry().services)
    assert services and all("national" in svc.areas or not svc.residents_only for svc in services.values())
    assert not any(set(svc.areas) - {"council", "national"} for svc in services.values()), "no local services"


def test_a_postcode_not_understood_is_asked_once_more_then_we_move_on(db, clock):
    chat = Chat(db, clock)
    chat("need_food_shopping", "i need help getting my shopping")
    assert "didn't recognise a postcode" in chat("nlu_fallback", "near the church")
    said = chat("nlu_fallback", "by the park")
    assert "postcode" not in said.lower().split("here")[-1] or "Here" in said
    assert chat.enquiry().outcome == "signposted"
    assert chat.state.get("awaiting") in (None, "intro")


def test_skip_gives_council_wide_and_national_services(db, clock):
    chat = Chat(db, clock)
    chat("need_scams_crime", "someone keeps ringing saying they are from my bank")
    chat("deny", "id rather not say")
    services = _services(db, chat.enquiry().services)
    assert services and all(set(svc.areas) & {"council", "national"} for svc in services.values())


def _offer_an_introduction(chat) -> str:
    chat("need_loneliness_befriending", "im on my own all day and would like some company")
    said = chat("inform_postcode", "AV1 2AB")
    assert chat.state["awaiting"] == "intro", said
    return chat.state["intro"]


def test_an_introduction_with_consent_is_recorded_and_followed_up_a_week_later(db, clock):
    chat = Chat(db, clock)
    service = _offer_an_introduction(chat)
    said = chat("affirm", "yes please")
    assert "share your name and phone number" in said and chat.state["awaiting"] == "consent"
    assert "name" in chat("affirm", "yes thats fine").lower()
    assert "phone number" in chat("nlu_fallback", "Mary Jones").lower()
    said = chat("nlu_fallback", "07700 900123")
    assert "Done." in said
    e = chat.enquiry()
    assert e.outcome == "introduced" and e.consent is True
    with db() as s:
        intro = s.scalars(select(Introduction).where(Introduction.enquiry_id == e.id)).one()
        assert intro.name == "Mary Jones" and intro.phone == "+447700900123"
        assert intro.follow_up_due_at == clock.now() + timedelta(days=7)
        assert s.get(Service, intro.service_id).ext_id == service


def test_consent_refused_shares_nothing_and_repeats_how_to_reach_them(db, clock):
    chat = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    service = _offer_an_introduction(chat)
    chat("affirm", "yes")
    said = chat("deny", "no i dont want my details passed on")
    assert "haven't shared anything" in said
    e = chat.enquiry()
    assert e.consent is False and e.outcome == "signposted"
    with db() as s:
        assert s.scalars(select(Introduction)).all() == []
        assert s.scalars(select(Service).where(Service.ext_id == service)).one().name in said


def test_an_emergency_from_a_known_resident_raises_a_p1_alert_that_escalates(db, clock):
    chat = Chat(db, clock, channel="sms", phone=BETTY, cid=f"sms:{BETTY}")
    said = chat("need_falls_prevention", "ive fallen in the kitchen and cant get up")  # the model was wrong
    assert "999" in said and "alerted" in said
    e = chat.enquiry()
    assert e.outcome == "emergency" and "emergency" in e.needs
    with db() as s:
        alert = s.get(Alert, chat.state["alert"])
        assert alert.priority == "P1" and alert.type == "assistant_emergency" and alert.state == "open"
        assert s.scalars(select(Notification).where(Notification.alert_id == alert.id)).all(), (
            "the escalation policy's first step is queued"
        )


def test_an_emergency_from_someone_unknown_gets_999_advice_and_an_urgent_callback(db, clock):
    chat = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    said = chat("emergency", "my husband has collapsed")
    assert "999" in said
    with db() as s:
        cb = s.scalars(select(CallbackRequest)).one()
        assert cb.urgent and cb.reason == "emergency" and cb.phone == STRANGER


def test_an_emergency_interrupts_a_question(db, clock):
    chat = Chat(db, clock)
    _offer_an_introduction(chat)
    said = chat("affirm", "theres smoke coming from the kitchen the house is on fire")
    # the introduction's question is dropped; an anonymous caller is asked for a number instead
    assert "999" in said and chat.state["awaiting"] == "callback_phone"
    assert chat.enquiry().outcome == "emergency"


def test_an_anonymous_emergency_gets_999_advice_and_an_urgent_callback_that_asks_for_a_number(db, clock):
    chat = Chat(db, clock, channel="web", cid="web:" + "a" * 43)
    said = chat("emergency", "ive fallen and cant get up")
    assert "999" in said and "phone number" in said
    assert "Betty" not in said and "responders" not in said and "alerted" not in said
    said = chat("nlu_fallback", "07700 900001")  # Betty's number, typed: it proves nothing
    assert "Someone will call you" in said and "Betty" not in said
    with db() as s:
        assert s.scalars(select(Alert)).all() == []
        cb = s.scalars(select(CallbackRequest)).one()
        assert cb.urgent and cb.reason == "emergency" and cb.phone == BETTY and cb.resident_id is None
    said = chat("emergency", "i have fallen")
    assert "999" in said and "Betty" not in said
    with db() as s:
        assert s.scalars(select(Alert)).all() == []


@pytest.mark.parametrize(
    "forged",
    [
        {"resident": "betty"},
        {"resident": "betty", "name": "Betty Smith", "phone": BETTY, "enquiry": 1},
    ],
)
def test_the_slot_cannot_make_a_caller_a_resident(db, clock, forged):
    # enquiry 1 is Betty's own, from a signed SMS conversation
    betty = Chat(db, clock, channel="sms", phone=BETTY, cid=f"sms:{BETTY}")
    betty("greet", "hello")
    assert betty.state["enquiry"] == 1 and betty.state["resident"] == "betty"
    chat = Chat(db, clock, channel="rest", cid="rest:x")
    chat.state = dict(forged)
    said = chat("emergency", "ive fallen and cant get up")
    assert "999" in said and "Betty" not in said and "alerted" not in said
    assert "resident" not in chat.state and chat.state["enquiry"] != 1
    with db() as s:
        assert s.scalars(select(Alert)).all() == []
        e = s.get(Enquiry, chat.state["enquiry"])
        assert e.resident_id is None and e.conversation_id == "rest:x"
        assert s.get(Enquiry, 1).outcome == "unresolved", "Betty's enquiry is not touched"


def test_a_known_resident_carries_on_in_the_hubs_record_whatever_the_slot_says(db, clock):
    chat = Chat(db, clock, channel="sms", phone=BETTY, cid=f"sms:{BETTY}")
    chat("greet", "hello")
    chat.state.pop("resident")  # the slot forgot: the hub's record still knows
    said = chat("emergency", "ive fallen and cant get up")
    assert "alerted" in said


def test_safeguarding_goes_to_a_person(db, clock):
    chat = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    said = chat("safeguarding", "my son takes my pension and shouts at me")
    assert "call you back today" in said and "999" in said
    e = chat.enquiry()
    assert e.outcome == "handoff" and "safeguarding" in e.needs
    with db() as s:
        cb = s.scalars(select(CallbackRequest)).one()
        assert cb.urgent and cb.reason == "safeguarding"


def test_asking_for_a_person_on_the_web_asks_for_a_number_first(db, clock):
    chat = Chat(db, clock)
    said = chat("request_human", "can i speak to a real person")
    assert "phone number" in said
    said = chat("nlu_fallback", "01632 960123")
    assert "Someone will call you" in said
    with db() as s:
        cb = s.scalars(select(CallbackRequest)).one()
        assert cb.phone == "+441632960123" and cb.reason == "person" and not cb.urgent
    assert chat.enquiry().outcome == "handoff"


def test_daily_checkin_calls_become_a_request_staff_confirm(db, clock):
    chat = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    said = chat("checkin_signup", "could someone ring me every morning to check im ok")
    assert "every day" in said
    assert "name" in chat("affirm", "yes please").lower()
    said = chat("nlu_fallback", "its Edna Price")
    assert "agree a time" in said
    with db() as s:
        req = s.scalars(select(CheckinRequest)).one()
        assert req.name == "Edna Price" and req.phone == STRANGER and req.status == "pending"
    assert chat.enquiry().outcome == "introduced"


def test_cannot_help_asks_once_then_offers_a_person(db, clock):
    chat = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    assert "In a few words" in chat("out_of_scope", "whats the football score")
    said = chat("out_of_scope", "who won the match")
    assert "can't help with that myself" in said
    chat("deny", "no")
    assert chat.enquiry().outcome == "unresolved"
    chat2 = Chat(db, clock, channel="sms", phone=STRANGER, cid="other")
    chat2("nlu_fallback", "blah")
    chat2("nlu_fallback", "blah blah")
    chat2("affirm", "yes please")
    assert chat2.enquiry().outcome == "handoff"


def test_someone_asking_for_a_relative_is_recorded_as_on_behalf(db, clock):
    chat = Chat(db, clock)
    said = chat("need_memory_dementia", "my mum keeps forgetting things and getting confused")
    assert "their postcode" in said
    chat("inform_postcode", "AV2 1AA")
    assert chat.enquiry().on_behalf is True


def test_voice_replies_are_short_and_have_no_links(db, clock):
    chat = Chat(db, clock, channel="voice", phone=BETTY, cid=f"voice:{BETTY}:CA1")
    said = chat("need_digital_skills", "i want to learn to video call my grandchildren")
    assert "http" not in said and len(chat.enquiry().services) <= 2


# -- answers stay answers (issue 14) ------------------------------------------------------------------------
def _to_the_name_question(chat) -> None:
    _offer_an_introduction(chat)
    chat("affirm", "yes please")
    said = chat("affirm", "yes thats fine")
    assert chat.state["awaiting"] == "name", said


def test_a_name_the_model_took_for_an_emergency_is_a_name(db, clock):
    chat = Chat(db, clock)
    _to_the_name_question(chat)
    said = chat("emergency", "Margaret Hughes", confidence=0.436)
    assert "999" not in said and "phone number" in said.lower()
    said = chat("nlu_fallback", "07700 900123")
    assert "Done." in said
    e = chat.enquiry()
    assert e.outcome == "introduced" and "emergency" not in e.needs
    with db() as s:
        assert s.scalars(select(Introduction)).one().name == "Margaret Hughes"
        assert s.scalars(select(CallbackRequest)).all() == []


@pytest.mark.parametrize(
    "answer, name",
    [
        ("my name is Margaret Hughes", "Margaret Hughes"),
        ("Hope", "Hope"),
        ("Joy Church", "Joy Church"),
        ("Mr Fell", "Mr Fell"),
        ("it's Mrs Edna Price", "Mrs Edna Price"),
    ],
)
def test_names_that_look_like_words_are_names(db, clock, answer, name):
    chat = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    _to_the_name_question(chat)
    said = chat("emergency" if answer == "Mr Fell" else "nlu_fallback", answer, confidence=0.5)
    assert "Done." in said and "999" not in said
    with db() as s:
        assert s.scalars(select(Introduction)).one().name == name


@pytest.mark.parametrize("answer", ["yes please", "no", "ok", "I don't know", "why?"])
def test_anything_is_not_a_name(db, clock, answer):
    chat = Chat(db, clock)
    _to_the_name_question(chat)
    said = chat("affirm" if answer in ("yes please", "ok") else "nlu_fallback", answer)
    with db() as s:
        assert s.scalars(select(Introduction)).all() == []
    if answer == "no":  # a name refused: carry on without one
        assert "phone number" in said.lower() and chat.state["awaiting"] == "phone"
    else:
        assert "didn't catch a name" in said and chat.state["awaiting"] == "name"
        said = chat("nlu_fallback", "Mary Jones")
        assert "phone number" in said.lower()


def test_a_real_emergency_interrupts_the_name_and_the_introduction_picks_up_after(db, clock):
    chat = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    _to_the_name_question(chat)
    said = chat("nlu_fallback", "hang on my husband has collapsed and isnt breathing")
    assert "999" in said and chat.enquiry().outcome == "emergency"
    said = chat("nlu_fallback", "Margaret Hughes")
    assert "Done." in said
    with db() as s:
        assert s.scalars(select(Introduction)).one().name == "Margaret Hughes"


def test_an_unsure_safeguarding_guess_does_not_take_a_postcode_but_the_words_do(db, clock):
    chat = Chat(db, clock)
    chat("need_money_benefits", "i need help with my bills")
    said = chat("safeguarding", "AV3 4PQ", confidence=0.5)
    assert "Here's who can help" in said
    chat2 = Chat(db, clock, cid="c2")
    chat2("need_money_benefits", "i need help with my bills")
    said = chat2("inform_postcode", "my son hits me and takes my pension")
    assert "needs a person" in said and "safeguarding" in chat2.enquiry().needs


def test_a_yes_is_read_from_the_words_whatever_the_model_guessed(db, clock):
    chat = Chat(db, clock)
    _offer_an_introduction(chat)
    said = chat("emergency", "yes please", confidence=0.45)
    assert "999" not in said and chat.state["awaiting"] == "consent"


# -- a conversation that listens (issue 14) ---------------------------------------------------------------
def test_opening_the_web_chat_records_nothing_until_someone_speaks(db, clock):
    chat = Chat(db, clock, channel="web", cid="web:" + "b" * 43)
    said = chat("greet", "/greet")
    assert "What matters to you" in said and "enquiry" not in chat.state
    with db() as s:
        assert s.scalars(select(Enquiry)).all() == []
    chat("need_transport", "i cant get to the shops")
    with db() as s:
        assert len(s.scalars(select(Enquiry)).all()) == 1


def test_a_call_is_a_contact_even_before_the_caller_speaks(db, clock):
    chat = Chat(db, clock, channel="voice", phone=STRANGER, cid=f"voice:{STRANGER}:CA2")
    chat("greet", "/greet")
    assert chat.enquiry().channel == "voice"


def test_an_age_in_the_first_message_is_recorded(db, clock):
    chat = Chat(db, clock)
    chat("need_money_benefits", "I'm 82, on my own since my husband died, and I can't afford my heating")
    assert chat.enquiry().age == 82


def test_loss_is_acknowledged_before_the_next_question_in_the_channels_words(db, clock):
    web = Chat(db, clock)
    said = web("need_money_benefits", "I'm 82, on my own since my husband died, and I can't afford my heating")
    assert said.startswith("I'm so sorry for your loss.") and "SKIP" not in said
    assert [b["title"] for b in web.last.buttons] == ["Skip"]
    sms = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    said = sms("need_money_benefits", "I'm 82, on my own since my husband died, and I can't afford my heating")
    assert "sorry for your loss" in said and "reply SKIP" in said and sms.last.buttons == []
    voice = Chat(db, clock, channel="voice", phone=STRANGER, cid=f"voice:{STRANGER}:CA3")
    said = voice("need_money_benefits", "I'm 82, on my own since my husband died, and I can't afford my heating")
    assert "sorry for your loss" in said and "say skip" in said and "town or village" in said


def test_heating_help_comes_first_among_the_money_services(db, clock):
    chat = Chat(db, clock)
    chat("need_money_benefits", "I can't afford my heating")
    said = chat("inform_postcode", "AV2 1AA")
    assert "Ashvale Warm Homes" in said.split("\n")[1]
    assert chat.last.buttons == [{"title": "Yes", "payload": "Yes"}, {"title": "No", "payload": "No"}]


def test_someone_to_ring_for_a_chat_gets_telephone_befriending_and_the_daily_call(db, clock):
    chat = Chat(db, clock, channel="sms", phone=BETTY, cid=f"sms:{BETTY}")
    said = chat("need_loneliness_befriending", "Is there someone who could ring me for a chat?")
    assert "ring you for a chat" in said and "every day" in said
    services = _services(db, chat.enquiry().services)
    assert "linkage-daily-checkin" in services and len(services) <= 3
    assert all("loneliness_befriending" in svc.needs for svc in services.values())
    said = chat("nlu_fallback", "daily please")
    assert "every day" in said and chat.state["intro"] == "linkage-daily-checkin"


# -- postcodes said aloud, towns and villages (issue 14) ------------------------------------------------------
@pytest.mark.parametrize(
    "said, postcode",
    [
        ("A V 3 4 P Q", "AV3 4PQ"),
        ("a v three four p q", "AV3 4PQ"),
        ("alpha victor three four papa quebec", "AV3 4PQ"),
        ("A for apple V for Victor 3 4 P for Peter Q for queen", "AV3 4PQ"),
        ("it's A V 3 4 P Q thanks", "AV3 4PQ"),
        ("AV 34 PQ", "AV3 4PQ"),
        ("my postcode is a v one two a b", "AV1 2AB"),
        ("A V twelve A B", "AV1 2AB"),
        ("a v thirty four p q", "AV3 4PQ"),
        ("A V 3 4 double P", "AV3 4PP"),
        ("alpha victor one", "AV1"),
        ("I don't know", None),
        ("yes", None),
        ("next to the church", None),
        ("number 12", None),
    ],
)
def test_a_postcode_said_aloud(said, postcode):
    from telecare.directory import postcode as postcodes

    pc = postcodes.spoken(said)
    assert (pc.full if pc else None) == postcode


def test_a_caller_asked_for_a_postcode_gets_speech_hints_and_may_spell_it_or_name_the_village(db, clock):
    chat = Chat(db, clock, channel="voice", phone=STRANGER, cid=f"voice:{STRANGER}:CA4")
    chat("need_transport", "i cant get to my hospital appointments")
    assert {"A V 1", "AV1", "A V 6", "Northfield", "skip"} <= set(chat.last.hints)
    said = chat("nlu_fallback", "A for apple, V for Victor, 3, 4 P Q")
    assert chat.state["district"] == "AV3" and chat.last.hints == []
    assert "Here's who can help" in said
    web = Chat(db, clock, cid="c9")
    web("need_transport", "i cant get to my hospital appointments")
    web("nlu_fallback", "I'm in Northfield Moor")
    assert web.state["district"] == "AV6" and web.last.hints == []


# -- "call me rather than text" (SMS and web chat) ------------------------------------------------------------
def test_asking_by_sms_to_be_rung_instead_books_a_call_to_the_proven_number(db, clock):
    chat = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    chat("need_money_benefits", "i cant afford my heating")
    said = chat("request_human", "can you ring me instead")  # while we wait for a postcode
    assert "ring you on this number" in said and "call rather than text" in said
    e = chat.enquiry()
    assert e.outcome == "handoff" and "money_benefits" in e.needs
    with db() as s:
        cb = s.scalars(select(CallbackRequest)).one()
        assert (cb.reason, cb.phone, cb.urgent) == ("person", STRANGER, False)
        assert cb.enquiry_id == e.id
    # asked again: no second call-back
    assert "don't need to ask again" in chat("request_human", "call me please")
    with db() as s:
        assert len(s.scalars(select(CallbackRequest)).all()) == 1


def test_asking_on_the_web_chat_to_talk_on_the_phone_asks_for_a_number(db, clock):
    chat = Chat(db, clock)
    said = chat("out_of_scope", "I'd rather talk on the phone")
    assert "ring you rather than write" in said and "phone number" in said
    assert chat.state["awaiting"] == "callback_phone"
    said = chat("nlu_fallback", "07700 900123")
    assert "Someone will call you on that number" in said
    with db() as s:
        cb = s.scalars(select(CallbackRequest)).one()
        assert (cb.reason, cb.phone) == ("person", "+447700900123")


def test_after_asking_to_be_rung_the_follow_up_of_an_introduction_is_a_call(db, clock):
    chat = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    _offer_an_introduction(chat)
    chat("affirm", "yes please")
    chat("affirm", "yes thats fine")
    assert "Done." in chat("nlu_fallback", "Mary Jones")
    with db() as s:
        assert s.scalars(select(Introduction)).one().follow_up_by is None  # texted, as things stand
    chat("request_human", "actually i'd prefer a phone call to texting")
    with db() as s:
        assert s.scalars(select(Introduction)).one().follow_up_by == "voice"
    clock.advance(timedelta(days=7))
    clock.set(clock.now().replace(hour=11))
    with db() as s, s.begin():
        assert followup.send_due(s, clock.now()) == 1
    with db() as s:
        n = s.scalars(select(Notification).where(Notification.purpose == "followup")).one()
        assert (n.channel, n.to) == ("voice", STRANGER)


@pytest.mark.parametrize(
    "text",
    [
        "please don't call me, text is fine",
        "they call me names at the day centre",
        "is there someone who could ring me for a chat",
        "can someone ring me every morning to check i'm ok",
    ],
)
def test_words_about_calls_that_are_not_asking_to_be_rung_book_no_call(db, clock, text):
    chat = Chat(db, clock, channel="sms", phone=STRANGER, cid=f"sms:{STRANGER}")
    chat("nlu_fallback", text)
    assert not chat.state.get("by_voice")
    with db() as s:
        assert s.scalars(select(CallbackRequest).where(CallbackRequest.reason == "person")).first() is None


def test_on_a_call_asking_to_be_called_back_is_not_the_call_me_route(db, clock):
    chat = Chat(db, clock, channel="voice", phone=STRANGER, cid=f"voice:{STRANGER}:CA1")
    chat("greet", "hello")
    chat("goodbye", "ok call me back please")
    assert not chat.state.get("by_voice")

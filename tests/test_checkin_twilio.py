"""The check-in call's TwiML against a real call flow's form posts, signed as Twilio signs them
(twilio's RequestValidator over the public URL and the parameters), on the same webhooks as
alert calls: /twilio/voice/{id}, /twilio/voice/{id}/gather, /twilio/call-status, /twilio/sms."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from telecare.alert.models import Alert
from telecare.checkin import service as checkins
from telecare.checkin.models import Checkin
from telecare.notification.models import Notification, Reply
from telecare.site.models import Resident

from .test_twilio import BASE, SUE, call_params, count, hub_options, message_text, runtime, signed, sms, spoken, xml  # noqa: F401

BETTY = "+447700900001"
ANNE = "+447700900203"


def start(runtime, via: str = "voice") -> Notification:
    """Staff start Betty's check-in; the dispatcher hands the call to "Twilio"."""
    with runtime.sessions() as s, s.begin():
        betty = s.scalars(select(Resident).where(Resident.ext_id == "betty")).one()
        betty.checkin = dict(betty.checkin, via=via)
        checkins.start_now(s, "betty", runtime.clock.now(), actor="test")
    assert runtime.dispatcher.run_once() == 1
    return checkin_calls(runtime)[-1]


def checkin_calls(runtime) -> list[Notification]:
    with runtime.sessions() as s:
        return list(s.scalars(select(Notification).where(Notification.purpose == "checkin").order_by(Notification.id)))


def the_checkin(runtime) -> Checkin:
    with runtime.sessions() as s:
        c = s.scalars(select(Checkin).order_by(Checkin.id.desc())).first()
        c.attempts  # noqa: B018  (load them)
        return c


def answered(client, n: Notification):
    return xml(signed(client, f"/twilio/voice/{n.id}", call_params(n, CallStatus="in-progress", AnsweredBy="human")))


def test_the_call_greets_her_by_name_slowly_and_listens_for_a_key_or_words(runtime, client):
    n = start(runtime)
    assert (n.to, n.channel, n.status) == (BETTY, "voice", "sent") and n.provider_sid.startswith("CA")

    root = answered(client, n)

    gathers = root.findall("Gather")
    assert len(gathers) == 2  # asked, and asked once more if nothing is heard
    for g in gathers:
        assert g.get("input") == "dtmf speech" and g.get("numDigits") == "1" and g.get("timeout") == "8"
        assert g.get("action") == f"{BASE}/twilio/voice/{n.id}/gather" and g.get("method") == "POST"
        assert "I'm fine" in g.get("hints") and "I need help" in g.get("hints") and "chat" in g.get("hints")
        assert g.get("language") == "en-GB"
        prosody = g.find("Say/prosody")
        assert prosody is not None and prosody.get("rate") == "slow"
    first = gathers[0].find("Say/prosody").text
    assert first.startswith("Good morning, Betty. This is Linkage, with your daily call. How are you today?")
    assert "press 1, or say: I'm fine" in first and "press 2, or say: I need help" in first
    assert "press 3, or say: I'd like a chat" in first
    assert [child.tag for child in root][-2:] == ["Say", "Hangup"]
    assert checkin_calls(runtime)[0].status == "answered" and the_checkin(runtime).state == "pending"


def test_pressing_1_is_fine_and_the_end_of_the_call_changes_nothing(runtime, client):
    n = start(runtime)
    answered(client, n)

    root = xml(signed(client, f"/twilio/voice/{n.id}/gather", call_params(n, Digits="1")))

    words = spoken(root)
    assert words.startswith("Thank you, Betty. It's lovely to hear you're well.")
    assert "We'll be in touch again" in words and words.endswith("Goodbye.")
    assert root.find("Hangup") is not None and root.find("Gather") is None
    c = the_checkin(runtime)
    assert (c.state, c.outcome, c.answered_by) == ("answered", "fine", "Betty Smith")
    # Twilio repeats the webhook: the same words, one answer
    assert spoken(xml(signed(client, f"/twilio/voice/{n.id}/gather", call_params(n, Digits="1")))) == words
    assert count(runtime, Reply) == 1 and len(the_checkin(runtime).answers) == 1
    # the call completes: still answered, no retry
    assert signed(client, "/twilio/call-status", call_params(n, CallStatus="completed")).status_code == 204
    runtime.clock.advance(timedelta(minutes=30))
    with runtime.sessions() as s:
        assert checkins.due_attempts(s, runtime.clock.now()) == []
    assert [x.status for x in checkin_calls(runtime)] == ["replied"]
    assert [a.outcome for a in the_checkin(runtime).attempts] == ["answered"]


def test_saying_i_need_help_raises_the_alert_at_once(runtime, client):
    n = start(runtime)
    answered(client, n)

    root = xml(
        signed(client, f"/twilio/voice/{n.id}/gather", call_params(n, SpeechResult="I need help.", Confidence="0.87"))
    )

    assert "We are getting someone to help you now" in spoken(root) and "999" in spoken(root)
    with runtime.sessions() as s:
        (alert,) = s.scalars(select(Alert).where(Alert.type == "checkin_help"))
        assert (alert.priority, alert.category, alert.state) == ("P1", "wellbeing", "open")
        first = s.scalars(select(Notification).where(Notification.alert_id == alert.id)).first()
        assert (first.to, first.channel, first.purpose) == (SUE, "voice", "escalation")
    assert the_checkin(runtime).outcome == "help"


def test_not_so_good_then_3_for_a_chat(runtime, client):
    n = start(runtime)
    answered(client, n)

    root = xml(
        signed(
            client, f"/twilio/voice/{n.id}/gather", call_params(n, SpeechResult="Not too good today", Confidence="0.8")
        )
    )

    follow_up = root.find("Gather")
    assert follow_up is not None and follow_up.get("action") == f"{BASE}/twilio/voice/{n.id}/gather"
    asked = "".join(follow_up.itertext())
    assert "I'm sorry you're not feeling so good, Betty" in asked and "press 2" in asked and "Anne" in asked
    assert root.findall("Say")[-1] is not None and "Take care, Betty" in spoken(root)

    root = xml(signed(client, f"/twilio/voice/{n.id}/gather", call_params(n, Digits="3")))

    assert "I'll ask Anne to give you a ring for a chat" in spoken(root) and root.find("Hangup") is not None
    c = the_checkin(runtime)
    assert (c.outcome, c.chat_requested) == ("not_so_good", True)
    with runtime.sessions() as s:
        (sms_) = s.scalars(select(Notification).where(Notification.purpose == "befriend")).one()
        assert sms_.to == ANNE


def test_an_unclear_key_asks_again(runtime, client):
    n = start(runtime)
    answered(client, n)

    root = xml(signed(client, f"/twilio/voice/{n.id}/gather", call_params(n, Digits="7")))

    assert spoken(root).startswith("Sorry, Betty, I didn't catch that. If you're fine, press 1")
    assert root.find("Gather") is not None
    assert the_checkin(runtime).state == "pending"


def test_an_answering_machine_is_a_missed_attempt_and_she_is_rung_again(runtime, client):
    n = start(runtime)

    root = xml(
        signed(client, f"/twilio/voice/{n.id}", call_params(n, CallStatus="in-progress", AnsweredBy="machine_end_beep"))
    )

    assert [child.tag for child in root] == ["Hangup"]
    c = the_checkin(runtime)
    assert [a.outcome for a in c.attempts] == ["machine"] and c.state == "pending"
    assert c.next_at == runtime.clock.now() + timedelta(minutes=10)
    runtime.clock.advance(timedelta(minutes=10))
    with runtime.sessions() as s, s.begin():
        (checkin_id,) = checkins.due_attempts(s, runtime.clock.now())
        checkins.fire(s, checkin_id, runtime.clock.now())
    assert runtime.dispatcher.run_once() == 1
    assert [(x.to, x.status) for x in checkin_calls(runtime)] == [(BETTY, "machine"), (BETTY, "sent")]


def test_a_call_no_longer_needed_says_so(runtime, client):
    n = start(runtime)
    sms(client, SUE, "I'm with Mum now, she's fine")  # Sue answered for her before she picked up

    root = answered(client, n)

    assert "no longer needed" in spoken(root) and root.find("Gather") is None
    assert the_checkin(runtime).answered_by == "Sue Smith"


def test_sms_checkin_answered_in_her_own_words(runtime, client):
    n = start(runtime, via="sms")
    assert n.channel == "sms" and "Reply 1 if you're fine" in n.body
    assert runtime.notifier.sent == [("sms", BETTY, n.body)]

    first = sms(client, BETTY, "not too good today", sid="SM" + "7" * 32)
    again = sms(client, BETTY, "not too good today", sid="SM" + "7" * 32)

    assert message_text(first) == message_text(again)
    assert message_text(first).startswith("Sorry to hear you're not feeling so good, Betty. Reply 2 if you need help")
    c = the_checkin(runtime)
    assert (c.state, c.outcome, len(c.answers)) == ("answered", "not_so_good", 1)
    # an alert reply from Sue still goes to the alert machinery as before
    assert "no alert waiting for your answer" in message_text(sms(client, SUE, "1"))

"""Follow-ups by voice call (issue 14): a landline (+441/+442/+443) or someone who rang the
helpline is rung a week after an introduction, not texted; the question is said slowly and
answered by speech or keypad like the check-in call, on the same signed webhooks
(/twilio/voice/{id}, /twilio/voice/{id}/gather); the answer is recorded as a texted one is."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from telecare.directory.loader import load_directory
from telecare.enquiry import followup
from telecare.enquiry import service as enquiries
from telecare.enquiry.models import CallbackRequest, Introduction
from telecare.notification.models import Notification

from .escalation_helpers import local
from .test_twilio import BASE, call_params, hub_options, runtime, signed, sms, spoken, xml  # noqa: F401

DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "directory" / "services.yml"
LANDLINE = "+441632960555"
MOBILE = "+447700900777"


def introduced(runtime, phone: str, channel: str = "sms", by: str | None = None) -> int:
    runtime.clock.set(local("2026-11-23 11:00"))
    with runtime.sessions() as s, s.begin():
        load_directory(s, DIRECTORY.read_text(encoding="utf-8"), runtime.clock.now())
        e = enquiries.start(
            s,
            channel=channel,
            conversation_id=f"{channel}:{phone}",
            phone=phone,
            resident_id=None,
            now=runtime.clock.now(),
            first_message="hello",
        )
        return enquiries.introduce(
            s,
            e.id,
            "age-uk-ashvale-befriending",
            name="Edna Price",
            phone=phone,
            now=runtime.clock.now(),
            follow_up_by=by,
        ).id


def due(runtime) -> Notification:
    runtime.clock.advance(timedelta(days=7))
    with runtime.sessions() as s, s.begin():
        assert followup.send_due(s, runtime.clock.now()) == 1
    assert runtime.dispatcher.run_once() == 1
    with runtime.sessions() as s:
        return s.scalars(select(Notification).where(Notification.purpose == "followup")).one()


def test_landlines_are_recognised():
    assert followup.is_landline("+441632960555") and followup.is_landline("+442079460000")
    assert followup.is_landline("+443001234567")
    assert not followup.is_landline("+447700900123") and not followup.is_landline(None)


def test_a_landline_is_rung_and_pressing_1_records_that_it_worked(runtime, client):
    i_id = introduced(runtime, LANDLINE)
    n = due(runtime)
    assert (n.to, n.channel, n.status) == (LANDLINE, "voice", "sent")
    assert n.body == (
        "Hello Edna, this is Ashvale Linkage. A week ago we asked Age UK Ashvale Befriending to contact "
        "you. Have they been in touch? If they have, say yes or press 1. If not, say no or press 2."
    )

    root = xml(signed(client, f"/twilio/voice/{n.id}", call_params(n, CallStatus="in-progress", AnsweredBy="human")))
    gathers = root.findall("Gather")
    assert len(gathers) == 2
    for g in gathers:
        assert g.get("input") == "dtmf speech" and g.get("numDigits") == "1"
        assert g.get("action") == f"{BASE}/twilio/voice/{n.id}/gather" and "yes" in g.get("hints")
    assert gathers[0].find("Say/prosody").text.startswith("Hello Edna, this is Ashvale Linkage.")

    root = xml(signed(client, f"/twilio/voice/{n.id}/gather", call_params(n, Digits="1")))
    said = spoken(root)
    assert said.startswith("Thank you, that's good to hear.") and said.endswith("Goodbye.")
    assert root.find("Hangup") is not None
    with runtime.sessions() as s:
        assert s.get(Introduction, i_id).follow_up_answer == "worked"
    # the end of the call changes nothing
    signed(client, "/twilio/call-status", call_params(n, CallStatus="completed"))
    with runtime.sessions() as s:
        assert s.get(Introduction, i_id).follow_up_answer == "worked"


def test_someone_who_rang_us_is_rung_and_a_spoken_no_asks_the_team_to_call(runtime, client):
    i_id = introduced(runtime, MOBILE, channel="voice", by="voice")
    n = due(runtime)
    assert n.channel == "voice"
    xml(signed(client, f"/twilio/voice/{n.id}", call_params(n, CallStatus="in-progress", AnsweredBy="human")))

    root = xml(signed(client, f"/twilio/voice/{n.id}/gather", call_params(n, SpeechResult="um what was that")))
    assert "say yes or press 1" in spoken(root) and root.find("Gather") is not None

    root = xml(signed(client, f"/twilio/voice/{n.id}/gather", call_params(n, SpeechResult="no they haven't")))
    assert "Someone from our team will call you" in spoken(root)
    with runtime.sessions() as s:
        assert s.get(Introduction, i_id).follow_up_answer == "not_contacted"
        cb = s.scalars(select(CallbackRequest)).one()
        assert cb.reason == "followup" and cb.phone == MOBILE and "follow-up call" in cb.detail


def test_a_mobile_from_a_text_conversation_is_still_texted(runtime, client):
    introduced(runtime, MOBILE)
    n = due(runtime)
    assert n.channel == "sms" and n.body.endswith("Reply YES or NO.")


# -- an unanswered follow-up call is tried again, then texted or handed to staff -----------------------------
def newest_call(runtime) -> Notification:
    with runtime.sessions() as s:
        return s.scalars(
            select(Notification).where(Notification.purpose == "followup").order_by(Notification.id.desc())
        ).first()


def send_now(runtime) -> int:
    with runtime.sessions() as s, s.begin():
        sent = followup.send_due(s, runtime.clock.now())
    runtime.dispatcher.run_once()
    return sent


def test_an_unanswered_call_is_tried_three_times_two_hours_apart_then_staff_ring_a_landline(runtime, client):
    i_id = introduced(runtime, LANDLINE)
    first = due(runtime)  # 30 November, 11:00
    signed(client, "/twilio/call-status", call_params(first, CallStatus="no-answer"))
    with runtime.sessions() as s:
        intro = s.get(Introduction, i_id)
        assert intro.follow_up_sent_at is None and intro.follow_up_calls == 1
        assert intro.follow_up_due_at == local("2026-11-30 13:00")
    assert send_now(runtime) == 0  # not before its time
    runtime.clock.advance(timedelta(hours=2))
    assert send_now(runtime) == 1
    second = newest_call(runtime)
    assert second.id != first.id and (second.to, second.channel) == (LANDLINE, "voice")
    signed(client, "/twilio/call-status", call_params(second, CallStatus="busy"))
    runtime.clock.advance(timedelta(hours=2))
    assert send_now(runtime) == 1
    third = newest_call(runtime)
    signed(client, "/twilio/call-status", call_params(third, CallStatus="completed", AnsweredBy="machine_start"))
    with runtime.sessions() as s:
        intro = s.get(Introduction, i_id)
        assert intro.follow_up_calls == 3 and intro.follow_up_answer is None
        assert intro.follow_up_sent_at is not None  # no fourth call
        cb = s.scalars(select(CallbackRequest)).one()
        assert (cb.reason, cb.phone, cb.urgent) == ("followup", LANDLINE, False)
        assert "not answered after 3 calls" in cb.detail and "Age UK Ashvale Befriending" in cb.detail
        # a landline takes no text
        assert s.scalars(select(Notification).where(Notification.channel == "sms")).first() is None
    runtime.clock.advance(timedelta(hours=2))
    assert send_now(runtime) == 0
    # a late repeat of the last status changes nothing
    signed(client, "/twilio/call-status", call_params(third, CallStatus="no-answer"))
    with runtime.sessions() as s:
        assert len(s.scalars(select(CallbackRequest)).all()) == 1


def test_after_three_unanswered_calls_a_mobile_gets_the_question_by_text(runtime, client):
    i_id = introduced(runtime, MOBILE, channel="voice", by="voice")
    call = due(runtime)
    for _ in range(2):
        signed(client, "/twilio/call-status", call_params(call, CallStatus="no-answer"))
        runtime.clock.advance(timedelta(hours=2))
        assert send_now(runtime) == 1
        call = newest_call(runtime)
        assert call.channel == "voice"
    signed(client, "/twilio/call-status", call_params(call, CallStatus="failed"))
    runtime.dispatcher.run_once()
    text = newest_call(runtime)
    assert (text.to, text.channel) == (MOBILE, "sms") and text.body.endswith("Reply YES or NO.")
    with runtime.sessions() as s:
        assert s.get(Introduction, i_id).follow_up_notification_id == text.id
        assert s.scalars(select(CallbackRequest)).first() is None
    sms(client, MOBILE, "yes they rang me")
    with runtime.sessions() as s:
        assert s.get(Introduction, i_id).follow_up_answer == "worked"


def test_a_retry_that_would_fall_in_the_evening_waits_for_the_morning(runtime, client):
    i_id = introduced(runtime, LANDLINE)
    runtime.clock.set(local("2026-11-30 19:00"))
    with runtime.sessions() as s, s.begin():
        assert followup.send_due(s, runtime.clock.now()) == 1
    runtime.dispatcher.run_once()
    signed(client, "/twilio/call-status", call_params(newest_call(runtime), CallStatus="no-answer"))
    with runtime.sessions() as s:
        assert s.get(Introduction, i_id).follow_up_due_at == local("2026-12-01 09:00")
    runtime.clock.set(local("2026-11-30 21:30"))
    assert send_now(runtime) == 0
    runtime.clock.set(local("2026-12-01 09:00"))
    assert send_now(runtime) == 1


def test_a_call_that_was_answered_is_not_rung_again(runtime, client):
    """Someone who answered yes, or who came to the phone and spoke, is not called again."""
    introduced(runtime, LANDLINE)
    n = due(runtime)
    xml(signed(client, f"/twilio/voice/{n.id}", call_params(n, CallStatus="in-progress", AnsweredBy="human")))
    xml(signed(client, f"/twilio/voice/{n.id}/gather", call_params(n, SpeechResult="what's this about")))
    signed(client, "/twilio/call-status", call_params(n, CallStatus="completed"))  # hung up without yes or no
    runtime.clock.advance(timedelta(hours=3))
    assert send_now(runtime) == 0
    with runtime.sessions() as s:
        assert s.scalars(select(CallbackRequest)).first() is None


def test_the_retry_timing_keeps_to_sending_hours():
    assert followup.next_sending_time(local("2026-11-30 13:00")) == local("2026-11-30 13:00")
    assert followup.next_sending_time(local("2026-11-30 20:30")) == local("2026-12-01 09:00")
    assert followup.next_sending_time(local("2026-12-01 06:10")) == local("2026-12-01 09:00")


def test_stop_while_a_follow_up_call_waits_to_go_ends_the_calls_without_a_text_or_a_call_back(runtime, client):
    """The dispatcher withdraws a queued call to a number that replied STOP; that is not an unanswered
    call, so no retry, no text and no call-back for staff follow it."""
    introduced(runtime, MOBILE, by="voice")
    runtime.clock.advance(timedelta(days=7))
    with runtime.sessions() as s, s.begin():
        assert followup.send_due(s, runtime.clock.now()) == 1  # the call is queued, not yet handed over
    assert sms(client, MOBILE, "STOP").status_code == 200
    runtime.dispatcher.run_once()
    with runtime.sessions() as s:
        call = s.scalars(
            select(Notification).where(Notification.purpose == "followup", Notification.channel == "voice")
        ).one()
        assert call.status == "canceled"
    for _ in range(4):
        runtime.clock.advance(timedelta(hours=2))
        assert send_now(runtime) == 0
    with runtime.sessions() as s:
        assert s.scalars(select(CallbackRequest)).first() is None
        assert (
            s.scalars(
                select(Notification).where(Notification.purpose == "followup", Notification.status != "canceled")
            ).first()
            is None
        )

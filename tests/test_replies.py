"""Answers from phones: the reply parser, and what a reply does to an alert (first acceptance
wins, access notes to the winner only, a helpful answer when nothing is pending, a webhook
called twice acts once). Storage tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from telecare.alert import service as alerts
from telecare.events.ingest import IngestService
from telecare.notification.models import Reply
from telecare.notification.replies import NOTHING_PENDING, interpret
from telecare.notification.service import outgoing_body
from telecare.site.device_cache import DeviceCache

from .escalation_helpers import (
    JIM,
    PRIYA,
    SUE,
    alarm,
    event,
    get_alert,
    local,
    notifications,
    reply,
    run_until,
    sent_log,
    timeline,
)


@pytest.fixture
def ingest(site, clock):
    return IngestService(site, DeviceCache(), clock)


# -- the parser ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,want",
    [
        ("1", ("accept", None)),
        (" YES ", ("accept", None)),
        ("ok", ("accept", None)),
        ("OK!", ("accept", None)),
        ("Accept", ("accept", None)),
        ("y", ("accept", None)),
        ("Yes, on my way", ("accept", None)),
        ("on my way", ("accept", None)),
        ("ACK 42", ("accept", 42)),
        ("ack42", ("accept", 42)),
        ("Ack #42", ("accept", 42)),
        ("  ack   42  ", ("accept", 42)),
        ("yes 7", ("accept", 7)),
        ("2", ("pass", None)),
        ("no", ("pass", None)),
        ("No.", ("pass", None)),
        ("pass", ("pass", None)),
        ("PASS", ("pass", None)),
        ("can't", ("pass", None)),
        ("Can’t", ("pass", None)),  # a phone's curly apostrophe
        ("cannot", ("pass", None)),
        ("pass 42", ("pass", 42)),
        ("banana bread", ("unknown", None)),
        ("?", ("unknown", None)),
        ("3", ("unknown", None)),
        ("", ("unknown", None)),
        ("   ", ("unknown", None)),
        (None, ("unknown", None)),
    ],
)
def test_interpret(text, want):
    assert interpret(text) == want


@pytest.mark.parametrize(
    "digits,want",
    [("1", "accept"), ("2", "pass"), ("9", "unknown"), ("1#", "accept"), (" 2", "pass"), ("*", "unknown")],
)
def test_interpret_keypress(digits, want):
    assert interpret(None, digits) == (want, None)


def test_a_keypress_wins_over_speech():
    assert interpret("yes", "2") == ("pass", None)


# -- nothing pending ----------------------------------------------------------------------------------------
def reply_rows(sessions) -> list[Reply]:
    with sessions() as s:
        return list(s.scalars(select(Reply).order_by(Reply.id)))


@pytest.mark.parametrize("phone,text", [("+447700900999", "1"), (SUE, "yes"), (SUE, "2"), (SUE, "hello?")])
def test_reply_with_nothing_pending_gets_a_helpful_answer(site, clock, phone, text):
    result = reply(site, clock, phone, text)

    assert result.answer == NOTHING_PENDING
    assert "999" in result.answer
    assert (result.alert_id, result.accepted) == (None, False)
    (row,) = reply_rows(site)
    assert (row.from_, row.body, row.answer, row.alert_id) == (phone, text, NOTHING_PENDING, None)


def test_reply_after_the_alert_is_resolved_has_nothing_pending(site, ingest, clock):
    alert_id = alarm(ingest)
    with site() as s, s.begin():
        alerts.resolve(s, alert_id, "control room", "false_alarm", clock.now())

    result = reply(site, clock, SUE, "1")

    assert result.answer == NOTHING_PENDING
    assert get_alert(site, alert_id).state == "resolved"


def test_ack_naming_an_alert_this_phone_was_not_sent(site, ingest, clock):
    alert_id = alarm(ingest)  # Sue is called; Priya is not (yet)

    for phone, named in ((PRIYA, alert_id), (SUE, alert_id + 100)):
        result = reply(site, clock, phone, f"ACK {named}")
        assert result.answer.startswith(f"Linkage: alert {named} is not one waiting for your answer")
        assert "999" in result.answer
        assert not result.accepted

    assert get_alert(site, alert_id).state == "open"


def test_ack_names_which_alert_is_accepted(site, ingest, clock):
    """Sue has two alerts waiting: her mother's fall and, later, a low battery. "1" would be the
    latest; "ACK <fall>" takes the fall."""
    t0 = clock.now()
    fall = alarm(ingest)
    battery = ingest.process([event("pendant-1", "heartbeat", battery=5)]).alerts_opened[0]
    run_until(clock, site, t0 + timedelta(minutes=30))
    assert sent_log(site, battery, t0)[-1] == (SUE, "sms", 30 * 60)

    result = reply(site, clock, SUE, f"ack {fall}")

    assert (result.accepted, result.alert_id) == (True, fall)
    assert get_alert(site, fall).state == "acknowledged"
    assert get_alert(site, battery).state == "open"


def test_unclear_reply_asks_again_and_changes_nothing(site, ingest, clock):
    t0 = clock.now()
    alert_id = alarm(ingest)

    result = reply(site, clock, SUE, "who is this")

    assert result.meaning == "unknown"
    assert result.answer == (
        f"Sorry, we didn't understand. Reply 1 if you can go to alert {alert_id}, or 2 if you can't."
    )
    assert get_alert(site, alert_id).state == "open"
    assert sent_log(site, alert_id, t0) == [(SUE, "voice", 0)]


# -- acceptance -----------------------------------------------------------------------------------------------
def access_notes(sessions, alert_id):
    return notifications(sessions, alert_id, purpose="access")


@pytest.mark.parametrize(
    "season,opened,accepted_at", [("winter", "2026-11-23 02:00", "02:03"), ("summer", "2026-07-20 14:00", "14:03")]
)
def test_first_acceptance_wins(site, ingest, clock, season, opened, accepted_at):
    """Sue is called, then Jim; both say yes. Sue was first: she has it, the access notes go to
    her alone, and Jim is told who has it (in local time)."""
    clock.set(local(opened))
    alert_id = alarm(ingest)
    run_until(clock, site, clock.now() + timedelta(minutes=3))  # Sue at 0, Jim at 2m

    first = reply(site, clock, SUE, "1")
    clock.advance(10)
    second = reply(site, clock, JIM, "Yes")

    assert (first.accepted, first.alert_id) == (True, alert_id)
    assert (second.accepted, second.alert_id) == (False, alert_id)
    assert second.answer == (
        f"Thank you, Sue Smith already accepted alert {alert_id} at {accepted_at}. You don't need to go."
    )
    alert = get_alert(site, alert_id)
    assert (alert.state, alert.acknowledged_by) == ("acknowledged", "Sue Smith")

    (access,) = access_notes(site, alert_id)
    assert (access.to, access.channel, access.status) == (SUE, "sms", "queued")
    # stored with "[access note]" in place of the note; the note goes in as it is handed to the notifier
    assert "Key safe" not in access.body and "[access note]" in access.body and "12 Elm Road" in access.body
    with site() as s:
        assert "Key safe by the front door" in outgoing_body(s, access)
    assert ("access", "access notes sent to Sue Smith only") in timeline(site, alert_id)
    assert [d for k, d in timeline(site, alert_id, "reply", "acknowledged")] == [
        "Sue Smith replied 'accept' by sms",
        "accepted by Sue Smith via sms",
        "Jim Brown replied 'accept' by sms",
    ]

    again = reply(site, clock, SUE, "ok")
    assert again.answer == f"You already have alert {alert_id}."
    assert len(access_notes(site, alert_id)) == 1


def test_accept_by_keypress_on_the_call(site, ingest, clock):
    alert_id = alarm(ingest)
    call = notifications(site, alert_id)[0]

    result = reply(site, clock, SUE, digits="1", channel="voice", notification_id=call.id)

    assert result.accepted
    alert = get_alert(site, alert_id)
    assert (alert.state, alert.acknowledged_by) == ("acknowledged", "Sue Smith")
    assert ("acknowledged", "accepted by Sue Smith via voice") in timeline(site, alert_id)
    assert [(n.to, n.channel) for n in access_notes(site, alert_id)] == [(SUE, "sms")]


def test_the_same_reply_delivered_twice_acts_once(site, ingest, clock):
    alert_id = alarm(ingest)

    first = reply(site, clock, SUE, "1", provider_sid="SM-reply-1")
    second = reply(site, clock, SUE, "1", provider_sid="SM-reply-1")

    assert first.accepted and not second.accepted
    assert (second.meaning, second.alert_id, second.answer) == ("accept", alert_id, first.answer)
    assert len(access_notes(site, alert_id)) == 1
    assert [k for k, _ in timeline(site, alert_id, "acknowledged", "reply", "access")] == [
        "reply",
        "acknowledged",
        "access",
    ]
    with site() as s:
        assert s.scalar(select(func.count()).select_from(Reply)) == 1


def test_the_same_pass_delivered_twice_passes_one_person(site, ingest, clock):
    t0 = clock.now()
    alert_id = alarm(ingest)

    reply(site, clock, SUE, "2", provider_sid="SM-reply-2")
    reply(site, clock, SUE, "2", provider_sid="SM-reply-2")

    assert sent_log(site, alert_id, t0) == [(SUE, "voice", 0), (JIM, "voice", 0)]
    assert len(reply_rows(site)) == 1


def test_two_acceptances_at_the_same_moment_have_one_winner(site, ingest, clock):
    """Sue and Jim answer in the same instant, in two transactions at once: whichever order the
    database puts them in, exactly one has the alert and the other is told who has it."""
    alert_id = alarm(ingest)
    run_until(clock, site, clock.now() + timedelta(minutes=2))  # Jim has been called too
    barrier = threading.Barrier(2)

    def answer(phone):
        barrier.wait()
        return reply(site, clock, phone, "1")

    with ThreadPoolExecutor(2) as pool:
        sue, jim = pool.map(answer, [SUE, JIM])

    winner, loser = (sue, jim) if sue.accepted else (jim, sue)
    assert winner.accepted and not loser.accepted
    alert = get_alert(site, alert_id)
    assert alert.state == "acknowledged"
    assert loser.answer.startswith(f"Thank you, {alert.acknowledged_by} already accepted alert {alert_id}")
    assert [n.to for n in access_notes(site, alert_id)] == [SUE if winner is sue else JIM]
    assert [k for k, _ in timeline(site, alert_id, "acknowledged")] == ["acknowledged"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12", ("unknown", None)),  # a double tap is not "1 for alert 2"
        ("11", ("unknown", None)),
        ("1 2", ("accept", 2)),
        ("no problem", ("accept", None)),  # British for yes
        ("No worries!", ("accept", None)),
        ("I can\u2019t", ("pass", None)),
    ],
)
def test_interpret_everyday_answers(text, expected):
    assert interpret(text) == expected

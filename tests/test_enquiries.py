"""The helpline's records (telecare/enquiry): enquiries, introductions and their follow-ups a
week later (sent in the daytime, answered by SMS through telecare.inbound),
call-back requests and check-in requests. FakeClock, sample site and sample directory, on
SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.checkin_timer import CheckinTimer
from hub.config import Settings
from hub.runtime import HubRuntime
from telecare import bus, inbound
from telecare.clock import FakeClock
from telecare.directory.loader import load_directory
from telecare.directory.models import Service
from telecare.domain_events import NotificationQueued
from telecare.enquiry import followup
from telecare.enquiry import service as enquiries
from telecare.enquiry.models import CallbackRequest, CheckinRequest, Enquiry, Introduction
from telecare.events.ingest import IngestService
from telecare.notification.models import Notification, Reply
from telecare.notification.replies import NOTHING_PENDING
from telecare.site.device_cache import DeviceCache
from telecare.site.models import Resident

from .escalation_helpers import SUE, alarm, local

DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "directory" / "services.yml"
STRANGER = "+447700900999"
BEFRIENDING = "age-uk-ashvale-befriending"
HANDYPERSON = "ashvale-handyperson"
WEEK = timedelta(days=7)


@pytest.fixture
def db(site, clock):
    clock.set(local("2026-11-23 11:00"))
    with site() as s, s.begin():
        load_directory(s, DIRECTORY.read_text(encoding="utf-8"), clock.now())
    return site


def new_enquiry(db, clock, *, phone=STRANGER, channel="sms", resident_id=None, text="hello") -> int:
    with db() as s, s.begin():
        return enquiries.start(
            s,
            channel=channel,
            conversation_id=f"{channel}:{phone}",
            phone=phone,
            resident_id=resident_id,
            now=clock.now(),
            first_message=text,
        ).id


def introduce(db, clock, enquiry_id, service=BEFRIENDING, name="Mary Jones", phone=STRANGER) -> int:
    with db() as s, s.begin():
        return enquiries.introduce(s, enquiry_id, service, name=name, phone=phone, now=clock.now()).id


def send_due(db, clock) -> tuple[int, bool]:
    with db() as s, s.begin():
        n = followup.send_due(s, clock.now())
        return n, bool(bus.recorded(s, NotificationQueued))


def reply(db, clock, body=None, phone=STRANGER, digits=None, sid=None):
    with db() as s, s.begin():
        return inbound.route(s, phone=phone, now=clock.now(), body=body, digits=digits, provider_sid=sid)


def followups(db) -> list[Notification]:
    with db() as s:
        return list(s.scalars(select(Notification).where(Notification.purpose == "followup").order_by(Notification.id)))


def get(db, model, id_):
    with db() as s:
        return s.get(model, id_)


# -- enquiries ---------------------------------------------------------------------------------------------------
def test_an_enquiry_collects_needs_and_services_and_its_outcome_only_rises(db, clock):
    e_id = new_enquiry(db, clock, text="x" * 800)
    with db() as s, s.begin():
        enquiries.update(
            s,
            e_id,
            now=clock.now(),
            needs=["money_benefits"],
            services=["pension-credit-line"],
            outcome="signposted",
            district="av1",
        )
        enquiries.update(
            s,
            e_id,
            now=clock.now(),
            needs=["loneliness_befriending", "money_benefits"],
            services=["pension-credit-line", "friendship-line"],
            outcome="handoff",
            consent=False,
            on_behalf=True,
        )
        clock.advance(60)
        enquiries.update(s, e_id, now=clock.now(), outcome="signposted", consent=None)
    e = get(db, Enquiry, e_id)
    assert e.needs == ["money_benefits", "loneliness_befriending"]
    assert e.services == ["pension-credit-line", "friendship-line"]
    assert e.outcome == "handoff" and e.consent is False and e.on_behalf is True and e.district == "AV1"
    assert e.turns == 3 and e.updated_at == clock.now() and e.started_at == clock.now() - timedelta(seconds=60)
    assert len(e.first_message) == 500 and e.channel == "sms" and e.phone == STRANGER
    with db() as s, s.begin():
        enquiries.update(s, e_id, now=clock.now(), outcome="emergency", consent=True)
    assert get(db, Enquiry, e_id).outcome == "emergency" and get(db, Enquiry, e_id).consent is True
    assert enquiries.OUTCOME_RANK == {"unresolved": 0, "signposted": 1, "introduced": 2, "handoff": 3, "emergency": 4}


def test_what_is_not_in_the_contract_is_refused(db, clock):
    e_id = new_enquiry(db, clock)
    with db() as s:
        with pytest.raises(ValueError, match="not need categories"):
            enquiries.update(s, e_id, now=clock.now(), needs=["lonely"])
        with pytest.raises(ValueError, match="outcome must be"):
            enquiries.update(s, e_id, now=clock.now(), outcome="solved")
        with pytest.raises(ValueError, match="channel must be"):
            enquiries.start(s, channel="fax", conversation_id="x", phone=None, resident_id=None, now=clock.now())
        with pytest.raises(enquiries.NotFound):
            enquiries.update(s, 999999, now=clock.now())


# -- introductions -------------------------------------------------------------------------------------------------
def test_an_introduction_is_consent_and_its_follow_up_is_due_a_week_later(db, clock):
    e_id = new_enquiry(db, clock)
    i_id = introduce(db, clock, e_id, phone="07700 900 999")
    again = introduce(db, clock, e_id)

    intro = get(db, Introduction, i_id)
    assert again == i_id, "the same service twice in one conversation is one introduction"
    assert intro.follow_up_due_at == clock.now() + WEEK and intro.consent_at == clock.now()
    assert intro.phone == "07700900999" and intro.follow_up_sent_at is None
    e = get(db, Enquiry, e_id)
    assert e.consent is True and e.outcome == "introduced" and e.services == [BEFRIENDING]
    with db() as s:
        with pytest.raises(enquiries.EnquiryError, match="does not accept introductions"):
            enquiries.introduce(s, e_id, "pension-credit-line", name="Mary", phone=STRANGER, now=clock.now())
        with pytest.raises(enquiries.NotFound):
            enquiries.introduce(s, e_id, "no-such-service", name="Mary", phone=STRANGER, now=clock.now())


def test_an_introduction_to_the_daily_checkin_call_is_a_checkin_request(db, clock):
    with db() as s:
        betty = s.scalars(select(Resident).where(Resident.ext_id == "betty")).one()
    e_id = new_enquiry(db, clock, phone=betty.phone, resident_id=betty.id)
    introduce(db, clock, e_id, service="linkage-daily-checkin", name=betty.name, phone=betty.phone)

    with db() as s:
        req = s.scalars(select(CheckinRequest)).one()
    assert (req.name, req.phone, req.resident_id, req.status, req.enquiry_id) == (
        "Betty Smith",
        betty.phone,
        betty.id,
        "pending",
        e_id,
    )


# -- follow-ups ------------------------------------------------------------------------------------------------------
def test_the_follow_up_goes_a_week_later_by_sms(db, clock):
    introduce(db, clock, new_enquiry(db, clock))
    clock.advance(WEEK - timedelta(minutes=1))
    assert send_due(db, clock) == (0, False)

    clock.advance(timedelta(minutes=1))
    assert send_due(db, clock) == (1, True)
    assert send_due(db, clock)[0] == 0, "sent once"

    (n,) = followups(db)
    assert (n.to, n.channel, n.status, n.alert_id) == (STRANGER, "sms", "queued", None)
    assert n.body == (
        "Hello Mary, it's Ashvale Linkage. A week ago we asked Age UK Ashvale Befriending to contact "
        "you. Have they been in touch? Reply YES or NO."
    )
    with db() as s:
        intro = s.scalars(select(Introduction)).one()
    assert intro.follow_up_sent_at == clock.now() and intro.follow_up_notification_id == n.id


def test_a_follow_up_due_at_night_waits_for_the_morning(db, clock):
    clock.set(local("2026-11-23 22:30"))
    introduce(db, clock, new_enquiry(db, clock))
    clock.advance(WEEK)
    assert send_due(db, clock)[0] == 0
    clock.set(local("2026-12-01 08:59"))
    assert send_due(db, clock)[0] == 0
    clock.set(local("2026-12-01 09:00"))
    assert send_due(db, clock)[0] == 1
    assert "8 days ago" in followups(db)[0].body


def test_yes_records_that_it_worked(db, clock):
    i_id = introduce(db, clock, new_enquiry(db, clock))
    clock.advance(WEEK)
    send_due(db, clock)
    clock.advance(timedelta(hours=2))

    result = reply(db, clock, "Yes they rang me on Tuesday")

    assert result.meaning == "worked" and result.answer.startswith("Thank you, that's good to hear.")
    assert "01632 960000" in result.answer
    intro = get(db, Introduction, i_id)
    assert intro.follow_up_answer == "worked" and intro.answered_at == clock.now()
    with db() as s:
        assert s.scalar(select(func.count()).select_from(CallbackRequest)) == 0
        (r,) = s.scalars(select(Reply)).all()
        assert (r.meaning, r.notification_id, r.from_) == ("worked", intro.follow_up_notification_id, STRANGER)
    assert reply(db, clock, "yes").answer == NOTHING_PENDING, "answered: nothing is waiting any more"


def test_no_opens_a_call_back_for_the_team(db, clock):
    with db() as s:
        betty = s.scalars(select(Resident).where(Resident.ext_id == "betty")).one()
    e_id = new_enquiry(db, clock, phone=STRANGER, resident_id=betty.id)
    i_id = introduce(db, clock, e_id, service=HANDYPERSON)
    clock.advance(WEEK)
    send_due(db, clock)

    result = reply(db, clock, "No, nobody has been in touch")

    assert result.meaning == "not_contacted"
    assert result.answer == "Sorry about that. Someone from our team will call you to sort it out."
    assert get(db, Introduction, i_id).follow_up_answer == "not_contacted"
    with db() as s:
        cb = s.scalars(select(CallbackRequest)).one()
    assert (cb.reason, cb.urgent, cb.status, cb.phone, cb.name, cb.enquiry_id, cb.resident_id) == (
        "followup",
        False,
        "open",
        STRANGER,
        "Mary Jones",
        e_id,
        betty.id,
    )
    assert "Ashvale Handyperson Service had not been in touch" in cb.detail


def test_an_unclear_answer_is_asked_again_and_the_follow_up_stays_open(db, clock):
    i_id = introduce(db, clock, new_enquiry(db, clock))
    clock.advance(WEEK)
    send_due(db, clock)

    result = reply(db, clock, "who is this?")
    assert (result.meaning, result.answer) == ("unknown", "Reply YES if they contacted you or NO if not.")
    assert get(db, Introduction, i_id).follow_up_answer is None

    assert reply(db, clock, "not yet").meaning == "not_contacted"
    assert get(db, Introduction, i_id).follow_up_answer == "not_contacted"


@pytest.mark.parametrize(
    "body,meaning",
    [
        ("YES", "worked"),
        ("y", "worked"),
        ("Yes thanks", "worked"),
        ("they called yesterday", "worked"),
        ("1", "worked"),
        ("NO", "not_contacted"),
        ("no.", "not_contacted"),
        ("Not yet", "not_contacted"),
        ("they haven't", "not_contacted"),
        ("yes but they didn\u2019t come", "not_contacted"),
        ("2", "not_contacted"),
        ("nobody rang", "not_contacted"),
        ("hello", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
        ("maybe", "unknown"),
    ],
)
def test_reading_the_answer(body, meaning):
    assert followup.interpret(body) == meaning


def test_two_introductions_due_together_are_one_message_and_one_answer(db, clock):
    e_id = new_enquiry(db, clock)
    first = introduce(db, clock, e_id, service=BEFRIENDING)
    second = introduce(db, clock, e_id, service=HANDYPERSON)
    clock.advance(WEEK)
    assert send_due(db, clock)[0] == 1
    (n,) = followups(db)
    assert "we asked Age UK Ashvale Befriending and Ashvale Handyperson Service to contact you" in n.body

    reply(db, clock, "yes")

    assert {get(db, Introduction, i).follow_up_answer for i in (first, second)} == {"worked"}


def test_an_answer_more_than_two_weeks_later_is_not_taken_as_one(db, clock):
    introduce(db, clock, new_enquiry(db, clock))
    clock.advance(WEEK)
    send_due(db, clock)
    clock.advance(timedelta(days=14, minutes=1))
    with db() as s:
        assert followup.route_reply(s, phone=STRANGER, body="yes", digits=None, now=clock.now()) is None
    assert reply(db, clock, "yes").answer == NOTHING_PENDING


def test_a_webhook_called_twice_acts_once(db, clock):
    introduce(db, clock, new_enquiry(db, clock))
    clock.advance(WEEK)
    send_due(db, clock)

    first = reply(db, clock, "no", sid="SM-follow-1")
    second = reply(db, clock, "no", sid="SM-follow-1")

    assert first.answer == second.answer and second.meaning == "not_contacted"
    with db() as s:
        assert s.scalar(select(func.count()).select_from(CallbackRequest)) == 1


def test_an_alert_waiting_for_an_answer_comes_before_a_follow_up(db, clock):
    introduce(db, clock, new_enquiry(db, clock, phone=SUE), phone=SUE, name="Sue Smith")
    clock.advance(WEEK)
    send_due(db, clock)
    alert_id = alarm(IngestService(db, DeviceCache(), clock))  # Betty's fall: Sue is asked first
    with db() as s:
        assert s.scalars(select(Notification).where(Notification.to == SUE, Notification.alert_id == alert_id)).all()

    result = reply(db, clock, "yes", phone=SUE)

    assert result.accepted and result.alert_id == alert_id
    with db() as s:
        assert s.scalars(select(Introduction)).one().follow_up_answer is None
    assert reply(db, clock, "yes", phone=SUE).meaning == "accept", "the alert is still active: still hers"


# -- call-backs and check-in requests -------------------------------------------------------------------------------------
def test_call_back_requests_one_per_conversation_then_done(db, clock):
    e_id = new_enquiry(db, clock)
    with db() as s, s.begin():
        first = enquiries.request_callback(
            s,
            enquiry_id=e_id,
            reason="person",
            urgent=False,
            name=None,
            phone=None,
            resident_id=None,
            detail="wants a person",
            now=clock.now(),
        )
        again = enquiries.request_callback(
            s,
            enquiry_id=e_id,
            reason="person",
            urgent=True,
            name="Mary",
            phone="07700 900999",
            resident_id=None,
            detail="asked again",
            now=clock.now(),
        )
        other = enquiries.request_callback(
            s,
            enquiry_id=e_id,
            reason="safeguarding",
            urgent=True,
            name="Mary",
            phone=STRANGER,
            resident_id=None,
            detail=None,
            now=clock.now(),
        )
        ids = (first.id, again.id, other.id)
    assert ids[0] == ids[1] != ids[2]
    cb = get(db, CallbackRequest, ids[0])
    assert cb.urgent and cb.phone == "07700900999" and cb.name == "Mary" and cb.detail == "wants a person\nasked again"

    with db() as s, s.begin():
        enquiries.close_callback(s, ids[0], "Carol", clock.now(), "rang, all sorted")
    cb = get(db, CallbackRequest, ids[0])
    assert (cb.status, cb.done_by, cb.done_at, cb.note) == ("done", "Carol", clock.now(), "rang, all sorted")
    with db() as s:
        with pytest.raises(enquiries.EnquiryError, match="already done by Carol"):
            enquiries.close_callback(s, ids[0], "Ada", clock.now())
        with pytest.raises(enquiries.NotFound):
            enquiries.close_callback(s, 999999, "Ada", clock.now())
        with pytest.raises(ValueError, match="reason must be"):
            enquiries.request_callback(
                s,
                enquiry_id=None,
                reason="bored",
                urgent=False,
                name=None,
                phone=None,
                resident_id=None,
                detail=None,
                now=clock.now(),
            )


def test_checkin_requests_are_confirmed_or_declined_once(db, clock):
    e_id = new_enquiry(db, clock)
    with db() as s, s.begin():
        first = enquiries.request_checkins(
            s,
            enquiry_id=e_id,
            name="Edna Price",
            phone=STRANGER,
            resident_id=None,
            preferred_time=None,
            now=clock.now(),
        ).id
        same = enquiries.request_checkins(
            s, enquiry_id=e_id, name=None, phone=None, resident_id=None, preferred_time="mornings", now=clock.now()
        ).id
        other = enquiries.request_checkins(
            s,
            enquiry_id=None,
            name="Bob",
            phone="+447700900998",
            resident_id=None,
            preferred_time="10am",
            now=clock.now(),
        ).id
    assert first == same != other
    assert get(db, CheckinRequest, first).preferred_time == "mornings"
    assert get(db, CheckinRequest, first).name == "Edna Price"
    with db() as s, s.begin():
        enquiries.decide_checkin_request(s, first, "Carol", clock.now(), True, "daily at 10:00 from Monday")
        enquiries.decide_checkin_request(s, other, "Carol", clock.now(), False)
    assert get(db, CheckinRequest, first).status == "confirmed"
    assert get(db, CheckinRequest, other).status == "declined" and get(db, CheckinRequest, other).decided_by == "Carol"
    with db() as s, pytest.raises(enquiries.EnquiryError, match="already confirmed by Carol"):
        enquiries.decide_checkin_request(s, first, "Ada", clock.now(), False)


# -- the dashboard's figures -----------------------------------------------------------------------------------------------
def test_summary_counts_and_the_share_resolved_at_first_contact(db, clock):
    with db() as s:
        assert enquiries.summary(s)["resolved_first_contact_share"] is None
    plan = [
        ("sms", ["money_benefits"], "signposted"),
        ("web", ["money_benefits", "housing"], "introduced"),
        ("voice", ["safeguarding"], "handoff"),
        ("sms", [], "unresolved"),
    ]
    for channel, needs, outcome in plan:
        e_id = new_enquiry(db, clock, channel=channel)
        with db() as s, s.begin():
            enquiries.update(s, e_id, now=clock.now(), needs=needs, outcome=outcome)
    clock.advance(3600)
    with db() as s, s.begin():
        enquiries.update(
            s, new_enquiry(db, clock, channel="web"), now=clock.now(), needs=["emergency"], outcome="emergency"
        )

    with db() as s:
        every = enquiries.summary(s)
        later = enquiries.summary(s, since=clock.now())
        listed = enquiries.list_enquiries(s)
        recent = enquiries.list_enquiries(s, since=clock.now())
    assert every["total"] == 5 and every["by_channel"] == {"sms": 2, "web": 2, "voice": 1}
    assert every["by_need"] == {"money_benefits": 2, "housing": 1, "safeguarding": 1, "emergency": 1}
    assert every["by_outcome"] == {"unresolved": 1, "signposted": 1, "introduced": 1, "handoff": 1, "emergency": 1}
    assert every["resolved_first_contact_share"] == 0.4
    assert later["total"] == 1 and later["resolved_first_contact_share"] == 0.0
    assert len(listed) == 5 and listed[0].outcome == "emergency" and [e.outcome for e in recent] == ["emergency"]


# -- the hub ---------------------------------------------------------------------------------------------------------------------
def test_the_hub_loads_the_sample_directory_and_sends_follow_ups(db_url):
    clock = FakeClock(local("2026-11-23 11:00"))
    hub = HubRuntime(Settings(database_url=db_url), clock=clock, with_mqtt=False)
    try:
        with hub.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Service)) >= 60
        e_id = new_enquiry(hub.sessions, clock)
        introduce(hub.sessions, clock, e_id)
        clock.advance(WEEK)
        loop = CheckinTimer(hub)
        loop.run_once()
        assert [n.to for n in followups(hub.sessions)] == [STRANGER]
        clock.advance(timedelta(hours=1))
        loop.run_once()  # within the minute: not looked at again, and nothing more was due anyway
        assert len(followups(hub.sessions)) == 1
    finally:
        hub.stop()


def test_the_hub_starts_without_a_directory_when_told_or_when_the_file_is_bad(sqlite_url, tmp_path, caplog):
    off = HubRuntime(Settings(database_url=sqlite_url, directory_file="off"), clock=FakeClock(), with_mqtt=False)
    with off.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Service)) == 0
    off.stop()
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  - id: x\n    name: X\n")
    with caplog.at_level(logging.ERROR, logger="linkage.directory"):
        hub = HubRuntime(Settings(database_url=sqlite_url, directory_file=str(bad)), clock=FakeClock(), with_mqtt=False)
    with hub.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Service)) == 0
    hub.stop()
    assert "the directory of services was not loaded" in caplog.text and "line 2" in caplog.text

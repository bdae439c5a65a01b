"""A person's data (issue 12): subject access export, erasure, leaving the service, consent as a
record and STOP. Domain level, FakeClock, sample site and directory, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from telecare import inbound
from telecare.alert import service as alerts
from telecare.alert.models import Alert
from telecare.checkin import service as checkins
from telecare.checkin.models import Checkin, CheckinSchedule
from telecare.checkin.schedule import CheckinError
from telecare.consent import service as consent
from telecare.consent.models import MESSAGES
from telecare.directory.loader import load_directory
from telecare.enquiry import followup
from telecare.enquiry import service as enquiries
from telecare.enquiry.models import Enquiry, Introduction
from telecare.events.ingest import IngestService
from telecare.events.models import DeadLetter
from telecare.notification import service as notify
from telecare.notification.models import Notification
from telecare.reports.dashboard import checkin_figures, dashboard
from telecare.site.device_cache import DeviceCache
from telecare.site.loader import SiteError, load_site
from telecare.site.models import Resident
from telecare.subject.erase import erase
from telecare.subject.export import export
from telecare.subject.find import SubjectError

from .escalation_helpers import JIM, SUE, alarm, local

DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "directory" / "services.yml"
BETTY, BETTY_NAME, BETTY_NATIONAL = "+447700900001", "Betty Smith", "07700900001"
STRANGER = "+447700900999"
BEFRIENDING = "age-uk-ashvale-befriending"


@pytest.fixture
def db(site, clock):
    clock.set(local("2026-11-23 11:00"))
    with site() as s, s.begin():
        load_directory(s, DIRECTORY.read_text(encoding="utf-8"), clock.now())
    return site


def betty_id(db) -> int:
    with db() as s:
        return s.scalar(select(Resident.id).where(Resident.ext_id == "betty"))


def a_fall_a_checkin_and_an_enquiry(db, clock) -> int:
    """Betty falls (the alert is dealt with), answers a check-in, and texts the helpline."""
    alert_id = alarm(IngestService(db, DeviceCache(), clock))
    with db() as s, s.begin():
        alerts.acknowledge(s, alert_id, "Sue Smith", clock.now())
        alerts.resolve(s, alert_id, "Sue Smith", "no_injury", clock.now())
    with db() as s, s.begin():
        checkins.start_now(s, "betty", clock.now(), actor="test")
    with db() as s, s.begin():
        assert inbound.route(s, phone=BETTY, now=clock.now(), body="not too good today").meaning != "unknown"
    rid = betty_id(db)
    with db() as s, s.begin():
        e = enquiries.start(
            s,
            channel="sms",
            conversation_id=f"sms:{BETTY}",
            phone=BETTY,
            resident_id=rid,
            now=clock.now(),
            first_message="I feel lonely since my fall",
        )
        enquiries.update(s, e.id, now=clock.now(), needs=["loneliness_befriending"], outcome="signposted")
        enquiries.introduce(
            s, e.id, BEFRIENDING, name=BETTY_NAME, phone=BETTY, now=clock.now(), wording="Is that OK?", channel="sms"
        )
    return alert_id


def test_export_after_a_fall_a_checkin_and_an_enquiry_contains_all_three(db, clock):
    alert_id = a_fall_a_checkin_and_an_enquiry(db, clock)
    with db() as s:
        doc = export(s, resident="betty", now=clock.now())
    assert doc["residents"][0]["name"] == BETTY_NAME and doc["residents"][0]["phone"] == BETTY
    assert [c["ext_id"] for c in doc["residents"][0]["contacts"]] == ["sue", "jim"]
    assert [a["id"] for a in doc["alerts"]] == [alert_id] and doc["alerts"][0]["type"] == "fall"
    assert any(t["kind"] == "resolved" or "resolved" in t["detail"] for t in doc["alerts"][0]["timeline"])
    (c,) = doc["checkins"]
    assert c["outcome"] == "not_so_good" and c["answers"][0]["text"] == "not too good today"
    assert [e["first_message"] for e in doc["enquiries"]] == ["I feel lonely since my fall"]
    assert doc["conversations"][0]["first_message"] == "I feel lonely since my fall"
    assert [i["phone"] for i in doc["introductions"]] == [BETTY]
    assert [k["service"] for k in doc["consents"]] == [BEFRIENDING]
    assert any(n["to"] == SUE for n in doc["notifications"])  # her alert's pages
    assert any(r["body"] == "not too good today" for r in doc["replies"])
    # by her number: the same person, the same records
    with db() as s:
        by_phone = export(s, phone="07700 900001", now=clock.now())
    assert by_phone["residents"][0]["ext_id"] == "betty" and by_phone["counts"]["enquiries"] == 1


def test_export_refuses_what_it_cannot_find(db, clock):
    with db() as s:
        with pytest.raises(SubjectError, match="no resident"):
            export(s, resident="nobody", now=clock.now())
        with pytest.raises(SubjectError, match="nothing is held"):
            export(s, phone="+447700900555", now=clock.now())
        with pytest.raises(SubjectError, match="look like"):
            export(s, phone="call me", now=clock.now())
        with pytest.raises(SubjectError, match="either"):
            export(s, resident="betty", phone=BETTY, now=clock.now())


def dump_text(engine) -> str:
    """Everything stored, as text: ``sqlite3``'s iterdump, or on PostgreSQL every text column of every table."""
    if engine.dialect.name == "sqlite":
        con = sqlite3.connect(engine.url.database)
        try:
            return "\n".join(con.iterdump())
        finally:
            con.close()
    out = []
    with engine.connect() as conn:
        cols = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND data_type IN ('text', 'character varying', 'json', 'jsonb')"
            )
        ).all()
        for table, col in cols:
            out += [str(v) for v in conn.execute(text(f'SELECT "{col}"::text FROM "{table}"')).scalars() if v]
    return "\n".join(out)


def figures(s, now):
    d = dataclasses.asdict(dashboard(s, now, days=30))
    issues = d.pop("device_issues")
    return (
        d,
        len(issues),
        enquiries.summary(s),
        checkin_figures(s, now, days=30),
        s.scalar(select(func.count()).select_from(Alert)),
        s.scalar(select(func.count()).select_from(Checkin)),
    )


def test_erase_leaves_no_trace_of_name_or_number_and_the_figures_as_they_were(db, clock, engine, caplog):
    caplog.set_level(logging.DEBUG)
    a_fall_a_checkin_and_an_enquiry(db, clock)
    before = dump_text(engine)
    assert BETTY_NAME in before and BETTY in before  # the test can see them, so it can see them gone
    with db() as s:
        figures_before = figures(s, clock.now())
    with db() as s, s.begin():
        done = erase(s, resident="betty", now=clock.now())
    assert done.residents == 1 and done.conversation_ids == [f"sms:{BETTY}"]
    after = dump_text(engine)
    for secret in (
        BETTY_NAME,
        BETTY,
        BETTY_NATIONAL,
        "12 Elm Road",
        "Key safe by the front door",
        "I feel lonely since my fall",
        "not too good today",
    ):
        assert secret not in after, secret
    for record in caplog.records:
        for secret in (BETTY_NAME, BETTY, BETTY_NATIONAL):
            assert secret not in record.getMessage()
    with db() as s:
        assert figures(s, clock.now()) == figures_before
        r = s.get(Resident, betty_id_after(s))
        assert r.name == "erased" and r.state == "left" and r.erased_at is not None
        assert s.get(CheckinSchedule, r.id).next_due_at is None  # no more check-in calls
        assert "Sue Smith" in dump_text(engine)  # other people's records are theirs: Sue is still Sue
    with db() as s, pytest.raises(SubjectError, match="nothing is held"):  # her number is nowhere now
        export(s, phone=BETTY, now=clock.now())


def betty_id_after(s) -> int:
    return s.scalar(select(Resident.id).where(Resident.ext_id.like("erased-%")))


def test_erase_refuses_while_an_alert_is_open_or_acknowledged(db, clock):
    alert_id = alarm(IngestService(db, DeviceCache(), clock))
    with db() as s, s.begin(), pytest.raises(SubjectError, match=f"alert {alert_id}"):
        erase(s, resident="betty", now=clock.now())
    with db() as s, s.begin():
        alerts.acknowledge(s, alert_id, "Sue Smith", clock.now())
    with db() as s, s.begin(), pytest.raises(SubjectError, match="resolve or cancel"):
        erase(s, resident="betty", now=clock.now())
    with db() as s:
        assert s.scalar(select(Resident.name).where(Resident.ext_id == "betty")) == BETTY_NAME  # nothing changed


def test_erase_by_phone_of_someone_who_only_talked_to_the_helpline(db, clock, engine):
    with db() as s, s.begin():
        e = enquiries.start(
            s,
            channel="sms",
            conversation_id=f"sms:{STRANGER}",
            phone=STRANGER,
            resident_id=None,
            now=clock.now(),
            first_message="my name is Mary Jones",
        )
        enquiries.introduce(s, e.id, BEFRIENDING, name="Mary Jones", phone=STRANGER, now=clock.now())
    with db() as s, s.begin():
        erase(s, phone=STRANGER, now=clock.now())
    after = dump_text(engine)
    assert STRANGER not in after and "Mary Jones" not in after and "07700900999" not in after
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Enquiry)) == 1
        assert s.scalar(select(func.count()).select_from(Introduction)) == 1


# -- consent and STOP -------------------------------------------------------------------------------------
def introduced(db, clock, phone=STRANGER) -> int:
    with db() as s, s.begin():
        e = enquiries.start(
            s,
            channel="sms",
            conversation_id=f"sms:{phone}",
            phone=phone,
            resident_id=None,
            now=clock.now(),
            first_message="hello",
        )
        enquiries.introduce(
            s,
            e.id,
            BEFRIENDING,
            name="Mary Jones",
            phone=phone,
            now=clock.now(),
            wording="To do that I'll share your name and phone number. Is that OK?",
            channel="sms",
        )
        return e.id


def test_an_introduction_records_what_was_agreed(db, clock):
    e_id = introduced(db, clock)
    with db() as s:
        (k,) = consent.history(s, enquiry_id=e_id)
        assert (k.service, k.by, k.channel, k.phone, k.given_at, k.withdrawn_at) == (
            BEFRIENDING,
            "enquiry",
            "sms",
            STRANGER,
            clock.now(),
            None,
        )
        assert k.wording.startswith("To do that I'll share your name")
        assert s.get(Enquiry, e_id).consent is True  # the API's field as before


@pytest.mark.parametrize("words", ["STOP", "stop", "Stop contacting me.", "UNSUBSCRIBE", "stop texting me"])
def test_stop_is_recognised_only_as_the_whole_message(words):
    assert consent.is_stop(words)


@pytest.mark.parametrize("words", ["I can't stop coughing", "stop the alarm it was a mistake", "", None, "stopped"])
def test_stop_inside_a_sentence_is_not_a_withdrawal(words):
    assert not consent.is_stop(words)


def test_stop_stops_a_pending_follow_up_and_is_recorded(db, clock):
    e_id = introduced(db, clock)
    clock.advance(timedelta(hours=1))
    with db() as s, s.begin():
        first = inbound.route(s, phone=STRANGER, now=clock.now(), body="STOP", provider_sid="SM1")
    assert first.meaning == "stop" and first.answer == inbound.STOPPED
    with db() as s, s.begin():
        again = inbound.route(s, phone=STRANGER, now=clock.now(), body="stop", provider_sid="SM2")
    assert again.answer == ""  # answered once
    with db() as s:
        rows = consent.history(s, enquiry_id=e_id, phone=STRANGER)
        assert {(k.service, k.withdrawn_at is not None) for k in rows} == {(BEFRIENDING, True), (MESSAGES, True)}
        assert consent.opted_out(s, STRANGER)
    clock.set(local("2026-11-30 11:30"))  # the follow-up's week is up, in sending hours
    with db() as s, s.begin():
        assert followup.send_due(s, clock.now()) == 0
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(Notification.to == STRANGER)) == 0
        assert s.scalar(select(Introduction.follow_up_due_at)) is None


def test_stop_withdraws_a_follow_up_already_queued(db, clock):
    introduced(db, clock)
    clock.set(local("2026-11-30 11:30"))
    with db() as s, s.begin():
        assert followup.send_due(s, clock.now()) == 1
    with db() as s, s.begin():
        inbound.route(s, phone=STRANGER, now=clock.now(), body="Unsubscribe")
    with db() as s, s.begin():
        assert notify.claim(s, clock.now()) == []
    with db() as s:
        n = s.scalars(select(Notification).where(Notification.to == STRANGER)).one()
        assert n.status == "canceled" and "STOP" in n.detail


def test_a_family_contact_who_sends_stop_is_not_paged_again_and_staff_see_why(db, clock):
    ingest = IngestService(db, DeviceCache(), clock)
    alert_id = alarm(ingest)  # Betty's fall: Sue is asked first
    with db() as s, s.begin():
        result = inbound.route(s, phone=SUE, now=clock.now(), body="STOP")
    assert result.alert_id == alert_id
    with db() as s:
        details = [t.detail for t in s.get(Alert, alert_id).timeline]
        assert any("replied STOP" in d for d in details)
        # the escalation moved on to the next person at once
        assert (
            s.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.alert_id == alert_id, Notification.to == JIM)
            )
            >= 1
        )
    with db() as s, s.begin():
        alerts.resolve(s, alert_id, "staff", "no_injury", clock.now())
    second = alarm(ingest)
    with db() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.alert_id == second, Notification.to == SUE)
            )
            == 0
        )
        assert any("Sue Smith replied STOP" in t.detail for t in s.get(Alert, second).timeline)


# -- leaving the service -----------------------------------------------------------------------------------
def left(text: str) -> str:
    return text.replace("    checkin: {at:", "    state: left\n    checkin: {at:", 1)


def test_state_left_stops_checkins_and_alarms_become_dead_letters(db, clock, sample_site_text):
    clock.set(local("2026-11-23 08:00"))
    rid = betty_id(db)
    with db() as s, s.begin():
        load_site(s, sample_site_text, clock.now())
        checkins_due_before = s.get(CheckinSchedule, rid).next_due_at
    assert checkins_due_before is not None
    with db() as s, s.begin():
        report = load_site(s, left(sample_site_text), clock.now())
    assert report.updated["residents"] == 1
    with db() as s:
        r = s.get(Resident, rid)
        assert r.state == "left" and r.left_at == clock.now()
        assert s.get(CheckinSchedule, r.id).next_due_at is None
    clock.set(local("2026-11-23 10:00"))
    with db() as s, s.begin():
        assert checkins.start_due(s, clock.now()) == []
    with db() as s, s.begin(), pytest.raises(CheckinError, match="left the service"):
        checkins.start_now(s, "betty", clock.now(), actor="test")
    ingest = IngestService(db, DeviceCache(), clock)
    from .escalation_helpers import event

    result = ingest.process([event("fall-1", "fall")])
    assert result.alerts_opened == [] and result.dead == 1
    with db() as s:
        dl = s.scalars(select(DeadLetter).where(DeadLetter.kind == "resident_left")).one()
        assert "left the service" in dl.reason and BETTY_NAME not in dl.reason
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
    # back in the service: check-ins again
    with db() as s, s.begin():
        load_site(s, sample_site_text, clock.now())
    with db() as s:
        assert s.get(Resident, rid).state == "active"
        assert s.get(CheckinSchedule, rid).next_due_at is not None


def test_a_bad_state_names_its_line(db, clock, sample_site_text):
    bad = sample_site_text.replace("    checkin: {at:", "    state: gone\n    checkin: {at:", 1)
    line = bad.splitlines().index("    state: gone") + 1
    with db() as s, s.begin(), pytest.raises(SiteError) as exc:
        load_site(s, bad, clock.now())
    assert f"line {line}" in str(exc.value) and "state" in str(exc.value)


def test_a_contact_who_has_left_is_not_paged(db, clock, sample_site_text):
    gone = sample_site_text.replace(
        '{id: sue, name: Sue Smith, phone: "+447700900201", role: family}',
        '{id: sue, name: Sue Smith, phone: "+447700900201", role: family, state: left}',
    )
    assert gone != sample_site_text
    with db() as s, s.begin():
        load_site(s, gone, clock.now())
    alert_id = alarm(IngestService(db, DeviceCache(), clock))
    with db() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.alert_id == alert_id, Notification.to == SUE)
            )
            == 0
        )
        assert any("Sue Smith has left the service" in t.detail for t in s.get(Alert, alert_id).timeline)

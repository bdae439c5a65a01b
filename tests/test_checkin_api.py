"""Staff controls over HTTP and the CLI: start a check-in now, list attempts and outcomes,
the schedule and its pauses (staff only), drift flags, the Betty pattern and the watch.
A HubRuntime without MQTT on a FakeClock; SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from hub.checkin_timer import CheckinTimer
from hub.config import Settings
from hub.runtime import HubRuntime
from hub.web.app import create_app
from telecare.alert import service as alerts
from telecare.checkin import service as checkins
from telecare.checkin.models import Checkin, CheckinSchedule
from telecare.clock import FakeClock
from telecare.events.ingest import Inbound
from telecare.site.loader import load_site

BETTY = "+447700900001"
ANNE = "+447700900203"
_ids = itertools.count()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def hub_options():
    return {
        "now": utc("2026-11-23 08:00"),
        "bert": False,
        "users": False,
        "env_without": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
    }


def sandbox(client, headers, phone, **answer):
    response = client.post("/api/sandbox/reply", json={"from": phone, **answer}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- start now, and what happened ---------------------------------------------------------------------------
def test_start_now_then_the_attempts_and_outcome_are_listed(runtime, client, staff, responder):
    assert client.post("/api/checkins/betty/start", headers=responder).status_code == 403  # staff only

    response = client.post("/api/checkins/betty/start", headers=staff)

    assert response.status_code == 201, response.text
    started = response.json()
    assert (started["resident"], started["kind"], started["state"], started["via"]) == (
        "betty",
        "manual",
        "pending",
        "voice",
    )
    assert started["started_by"] == "Control Room" and started["due_at"] == "2026-11-23T08:00:00Z"
    assert [(a["number"], a["channel"], a["status"]) for a in started["attempts"]] == [(1, "voice", "queued")]
    again = client.post("/api/checkins/betty/start", headers=staff)
    assert again.status_code == 409 and "already under way" in again.json()["detail"]
    assert client.post("/api/checkins/nobody/start", headers=staff).status_code == 404

    runtime.dispatcher.run_once()  # the sandbox "calls" her
    answer = sandbox(client, staff, BETTY, digits="1")  # the sandbox is staff's: a responder gets 403
    assert answer["meaning"] == "fine" and answer["answer"].startswith("Thank you, Betty.")

    assert client.get("/api/checkins", params={"resident": "betty"}, headers=responder).status_code == 403
    listed = client.get("/api/checkins", params={"resident": "betty"}, headers=staff).json()
    (c,) = listed
    assert (c["state"], c["outcome"], c["late"], c["answered_by"]) == ("answered", "fine", False, "Betty Smith")
    assert [(a["outcome"], a["status"]) for a in c["attempts"]] == [("answered", "replied")]
    assert c["answers"][0]["meaning"] == "fine"
    assert client.get("/api/checkins", params={"state": "bogus"}, headers=staff).status_code == 422


def test_sms_answers_through_the_sandbox_and_the_chat_goes_to_the_befriender(runtime, client, staff):
    client.put(
        "/api/checkins/betty/schedule",
        headers=staff,
        json={"at": "10:00", "days": "daily", "via": "sms", "attempts": 2, "retry": "15m"},
    )
    client.post("/api/checkins/betty/start", headers=staff)
    runtime.dispatcher.run_once()

    answer = sandbox(client, staff, BETTY, body="Could do with a chat today")

    assert answer["meaning"] == "chat"
    notes = client.get("/api/notifications", headers=staff).json()
    assert [(n["to"], n["purpose"]) for n in notes] == [(BETTY, "checkin"), (ANNE, "befriend"), (BETTY, "reply")]
    assert notes[0]["channel"] == "sms" and "Reply 1 if you're fine" in notes[0]["body"]
    assert notes[2]["body"] == "Lovely. We'll ask Anne to give you a ring for a chat."


def test_the_timer_loop_starts_what_is_due(runtime, client, staff):
    """The hub's loop, one round at a time (no thread, no sleeping): 10:00 falls due."""
    with runtime.sessions() as s, s.begin():  # as if the site had been loaded before check-ins existed
        s.execute(delete(CheckinSchedule))
    loop = CheckinTimer(runtime)
    loop.sync()
    assert client.get("/api/checkins/betty/schedule", headers=staff).json()["next_due_at"] == "2026-11-23T10:00:00Z"
    assert loop.run_once() is False and client.get("/api/checkins", headers=staff).json() == []
    runtime.clock.set(utc("2026-11-23 10:00"))

    loop.run_once()

    (c,) = client.get("/api/checkins", headers=staff).json()
    assert (c["kind"], c["due_at"], c["started_at"], c["state"]) == (
        "scheduled",
        "2026-11-23T10:00:00Z",
        "2026-11-23T10:00:00Z",
        "pending",
    )
    loop.run_once()
    assert len(client.get("/api/checkins", headers=staff).json()) == 1, "started exactly once"
    runtime.clock.set(utc("2026-11-23 10:10"))
    loop.run_once()
    (c,) = client.get("/api/checkins", headers=staff).json()
    assert [a["outcome"] for a in c["attempts"]] == ["timeout", None]


# -- the schedule and pauses --------------------------------------------------------------------------------
def test_schedule_read_and_changed_by_staff_only(client, staff, responder):
    assert client.get("/api/checkins/betty/schedule", headers=responder).status_code == 403
    got = client.get("/api/checkins/betty/schedule", headers=staff).json()
    assert got["checkin"] == {
        "at": "10:00",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "via": "voice",
        "attempts": 3,
        "retry": 600,
        "policy": "wellbeing",
    }
    assert got["next_due_at"] == "2026-11-23T10:00:00Z" and got["next_due_local"] == "Mon 2026-11-23 10:00 GMT"

    body = {"at": "11:30", "days": "weekdays", "via": "voice", "attempts": 2, "retry": "5m", "policy": "wellbeing"}
    assert client.put("/api/checkins/betty/schedule", json=body, headers=responder).status_code == 403
    changed = client.put("/api/checkins/betty/schedule", json=body, headers=staff)

    assert changed.status_code == 200, changed.text
    assert changed.json()["checkin"]["retry"] == 300
    assert changed.json()["next_due_local"] == "Mon 2026-11-23 11:30 GMT"
    bad = client.put("/api/checkins/betty/schedule", json={**body, "at": "25:00"}, headers=staff)
    assert bad.status_code == 422
    assert client.put("/api/checkins/betty/schedule", json={**body, "policy": "nope"}, headers=staff).status_code == 422
    stopped = client.delete("/api/checkins/betty/schedule", headers=staff).json()
    assert stopped["checkin"] is None and stopped["next_due_at"] is None


def test_pauses(client, staff, responder):
    pause = {"from": "2026-11-23", "to": "2026-11-30", "reason": "in hospital"}
    assert client.post("/api/checkins/betty/pauses", json=pause, headers=responder).status_code == 403
    assert client.post("/api/checkins/betty/pauses", json={**pause, "reason": ""}, headers=staff).status_code == 422
    assert (
        client.post("/api/checkins/betty/pauses", json={**pause, "to": "2026-11-01"}, headers=staff).status_code == 422
    )

    made = client.post("/api/checkins/betty/pauses", json=pause, headers=staff)

    assert made.status_code == 201, made.text
    p = made.json()
    assert (p["from"], p["to"], p["reason"], p["created_by"]) == (
        "2026-11-23",
        "2026-11-30",
        "in hospital",
        "Control Room",
    )
    sched = client.get("/api/checkins/betty/schedule", headers=staff).json()
    assert sched["next_due_at"] == "2026-12-01T10:00:00Z" and len(sched["pauses"]) == 1
    removed = client.delete(f"/api/checkins/betty/pauses/{p['id']}", headers=staff)
    assert removed.status_code == 200 and removed.json()["removed_by"] == "Control Room"
    assert client.get("/api/checkins/betty/schedule", headers=staff).json()["next_due_at"] == "2026-11-23T10:00:00Z"
    assert client.get("/api/checkins/betty/pauses", params={"removed": True}, headers=staff).json()[0]["id"] == p["id"]
    assert client.delete("/api/checkins/betty/pauses/999", headers=staff).status_code == 404


# -- drift, the Betty pattern, the watch -----------------------------------------------------------------
def test_drift_flags_listed_and_cleared(runtime, client, staff, responder):
    for day in (23, 24, 25):
        runtime.clock.set(utc(f"2026-11-{day} 10:00"))
        assert client.post("/api/checkins/betty/start", headers=staff).status_code == 201
        sandbox(client, staff, BETTY, body="not too good")

    assert client.get("/api/wellbeing/drift", headers=responder).status_code == 403
    (flag,) = client.get("/api/wellbeing/drift", headers=staff).json()
    assert (flag["resident"], flag["kind"], flag["befriender_told"]) == ("betty", "low_mood", True)
    assert len(flag["evidence"]) == 3
    assert client.post(f"/api/wellbeing/drift/{flag['id']}/clear", headers=responder).status_code == 403
    cleared = client.post(f"/api/wellbeing/drift/{flag['id']}/clear", json={"note": "Anne visited"}, headers=staff)
    assert cleared.status_code == 200 and cleared.json()["cleared_by"] == "Control Room"
    assert client.get("/api/wellbeing/drift", headers=staff).json() == []
    assert len(client.get("/api/wellbeing/drift", params={"state": "all"}, headers=staff).json()) == 1
    # the same answers do not flag again: it takes three new ones
    runtime.clock.set(utc("2026-11-26 10:00"))
    client.post("/api/checkins/betty/start", headers=staff)
    sandbox(client, staff, BETTY, body="not too good")
    assert client.get("/api/wellbeing/drift", headers=staff).json() == []


def pendant(runtime):
    body = {"event_id": f"b-{next(_ids)}", "type": "pendant", "ts": "2026-11-23T02:14:05Z"}
    result = runtime.ingest.process(
        [
            Inbound(
                kind="event",
                topic="telecare/v1/home-0001/pendant-1/event",
                payload=orjson.dumps(body),
                home="home-0001",
                device="pendant-1",
            )
        ]
    )
    (alert_id,) = result.alerts_opened or result.alerts_changed
    return alert_id


def test_the_betty_pattern(runtime, client, staff):
    outcomes = ["cancelled_by_resident", "false_alarm", "cancelled_by_resident", "no_injury", "false_alarm"]
    for i, outcome in enumerate(outcomes):
        runtime.clock.set(utc("2026-11-01 12:00") + timedelta(days=4 * i))
        alert_id = pendant(runtime)
        with runtime.sessions() as s, s.begin():
            if outcome == "cancelled_by_resident":
                alerts.cancel(s, alert_id, "resident", runtime.clock.now(), outcome=outcome)
            else:
                alerts.resolve(s, alert_id, "Rhys", outcome, runtime.clock.now())
    runtime.clock.set(utc("2026-11-23 12:00"))

    (row,) = client.get("/api/wellbeing/betty", headers=staff).json()

    assert (row["resident"], row["count"], row["days"], row["has_checkin"]) == ("betty", 4, 30, True)
    assert row["by_type"] == {"pendant": 4}
    assert row["by_outcome"] == {"cancelled_by_resident": 2, "false_alarm": 2}
    assert row["last_at"] == "2026-11-17T12:00:00Z" and row["suggestion"] is None
    assert client.get("/api/wellbeing/betty", params={"at_least": 5}, headers=staff).json() == []
    assert client.get("/api/wellbeing/betty", params={"days": 10}, headers=staff).json() == []  # only 2 in 10 days


def test_the_watch_is_visible(client, staff):
    (bed,) = client.get("/api/wellbeing/watch", headers=staff).json()
    assert (bed["home"], bed["device"], bed["kind"]) == ("home-0001", "bed-1", "bed")
    assert bed["watch"]["from"] == "22:00" and bed["watch"]["absence"] == 1800


# -- the CLI ----------------------------------------------------------------------------------------------
def test_linkage_checkin_start(db_url, sample_site_text, monkeypatch, tmp_path):
    from hub.cli import main
    from telecare.storage import make_engine, make_session_factory, upgrade

    monkeypatch.setenv("DATABASE_URL", db_url)
    engine = make_engine(db_url)
    upgrade(engine)
    with make_session_factory(engine)() as s, s.begin():
        load_site(s, sample_site_text, datetime.now(timezone.utc))
    engine.dispose()
    runner = CliRunner()

    first = runner.invoke(main, ["checkin", "start", "betty"])
    second = runner.invoke(main, ["checkin", "start", "betty"])
    listed = runner.invoke(main, ["checkin", "list", "betty"])

    assert first.exit_code == 0, first.output
    assert "started for betty: a call to +447700900001, up to 3 attempts 10 minutes apart" in first.output
    assert second.exit_code == 2 and "already under way" in second.output
    assert listed.exit_code == 0 and "manual" in listed.output and "pending" in listed.output
    assert runner.invoke(main, ["checkin", "start", "nobody"]).exit_code == 2


# -- the console's sandbox phone answers a check-in too -----------------------------------------------------------
def test_the_consoles_sandbox_phone_answers_a_checkin(db_url, sample_site_text, monkeypatch):
    from .console_helpers import csrf_of, log_in, make_runtime

    for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    hub = make_runtime(db_url, sample_site_text)
    try:
        with hub.sessions() as s, s.begin():
            checkins.start_now(s, "betty", hub.clock.now(), actor="test")
        with TestClient(create_app(hub), base_url="http://testserver") as c:
            assert log_in(c, "carol").status_code == 303
            page = f"/console/sandbox/{BETTY}"
            r = c.post(
                page, data={"csrf_token": csrf_of(c.get(page).text), "body": "fine thanks"}, follow_redirects=False
            )
            assert r.status_code == 200 and "Understood as <strong>fine</strong>" in r.text
        with hub.sessions() as s:
            (c_,) = s.scalars(select(Checkin)).all()
            assert (c_.state, c_.outcome) == ("answered", "fine")
    finally:
        hub.stop()


def test_a_new_hub_on_the_same_database_carries_on(runtime, db_url, staff, client):
    """Nothing about a check-in lives in the hub's memory: a second hub (after a crash) on the
    same database makes the start that fell due while it was down, and the retry after it."""
    runtime.stop()  # the first hub goes away without a word
    again = HubRuntime(Settings(database_url=db_url), clock=FakeClock(utc("2026-11-23 10:00:30")), with_mqtt=False)
    try:
        loop = CheckinTimer(again)
        loop.sync()
        loop.run_once()
        with again.sessions() as s:
            (c,) = s.scalars(select(Checkin)).all()
            assert (c.due_at, c.started_at, c.attempts_made) == (utc("2026-11-23 10:00"), utc("2026-11-23 10:00:30"), 1)
        again.clock.set(utc("2026-11-23 10:10:30"))
        loop.run_once()
        loop.run_once()
        with again.sessions() as s:
            (c,) = s.scalars(select(Checkin)).all()
            assert [a.number for a in c.attempts] == [1, 2]
    finally:
        again.stop()

"""Issue 10, attack 4 ("a responder token is nearly an admin") and "Roles with scope" / "Tokens":
a responder token or login is bound to a contact and sees and acts only on the alerts that contact
was asked to take, reads only its own notifications, and reads an access note only if it is the
contact who accepted; check-ins, wellbeing, dead letters, devices, settings, metrics and the
helpline's records are staff's; the sandbox reply is staff's and exists only with the sandbox;
tokens expire and can be revoked; /m decides "mine" by contact id.

Against a real uvicorn on a loopback port (tests/served.py) serving a hub with the sample site
(tests/console_helpers.make_runtime: contacts sue, jim, anne, rhys, priya; Betty at home-0001 with
contacts Sue and Jim; Bert at home-0002 with contact Jim), on SQLite and PostgreSQL, driven by
httpx. The FakeClock starts on Monday 2026-11-23 02:00 UTC: Priya is on call for the team."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub.cli import main
from telecare.alert.models import Alert
from telecare.audit.models import AuditEntry
from telecare.auth.tokens import TokenError, create_token
from telecare.auth.users import UserError, create_user

from ..console_helpers import PASSWORD, alarm, csrf_of, log_in, make_runtime
from ..escalation_helpers import advance
from ..hub_fixtures import bearer
from ..served import Served

SUE, JIM = "+447700900201", "+447700900202"
KEY_SAFE = "Key safe by the front door"
STAFF_ONLY_GETS = [
    "/api/checkins",
    "/api/checkins/betty/schedule",
    "/api/checkins/betty/pauses",
    "/api/wellbeing/drift",
    "/api/wellbeing/betty",
    "/api/wellbeing/watch",
    "/api/deadletters",
    "/api/devices",
    "/api/settings",
    "/api/metrics/summary",
    "/metrics",
    "/api/enquiries",
    "/api/enquiries/summary",
    "/api/introductions",
    "/api/callbacks",
    "/api/checkin-requests",
]


@contextmanager
def client(served):
    with httpx.Client(base_url=served.url, timeout=20, follow_redirects=False) as c:
        yield c


def alert_state(hub, alert_id: int) -> str:
    with hub.sessions() as s:
        return s.get(Alert, alert_id).state


# -- scope: alerts ----------------------------------------------------------------------------------------------
def test_a_responder_sees_and_acts_only_on_the_alerts_they_were_asked_to_take(runtime, served):
    bettys = alarm(runtime)  # Sue (Betty's first contact) is called
    berts = alarm(runtime, home="home-0002")  # Jim (Bert's contact) is called
    sue, rhys, priya = (
        bearer(runtime, "sue-phone", "responder", "sue"),
        bearer(runtime, "rhys-phone", "responder", "rhys"),
        bearer(runtime, "priya-phone", "responder", "priya"),
    )
    staff = bearer(runtime, "control room", "staff")
    with client(served) as c:
        # the attack: act on an alert this token was never sent
        forged = c.post(f"/api/alerts/{berts}/resolve", json={"outcome": "false_alarm"}, headers=sue)
        assert forged.status_code == 404
        # ... answered exactly as an alert that does not exist (its existence is not revealed)
        missing = c.post("/api/alerts/999999/resolve", json={"outcome": "false_alarm"}, headers=sue)
        assert forged.json()["detail"].replace(str(berts), "N") == missing.json()["detail"].replace("999999", "N")
        for method, path in (
            ("GET", f"/api/alerts/{berts}"),
            ("POST", f"/api/alerts/{berts}/acknowledge"),
            ("POST", f"/api/alerts/{berts}/arrived"),
            ("POST", f"/api/alerts/{berts}/cancel"),
        ):
            assert c.request(method, path, headers=sue).status_code == 404, (method, path)
        assert c.get(f"/api/alerts/{bettys}", headers=rhys).status_code == 404
        assert alert_state(runtime, berts) == "open"

        # listing shows only theirs
        assert [a["id"] for a in c.get("/api/alerts", headers=sue).json()] == [bettys]
        assert [a["id"] for a in c.get("/api/alerts", params={"state": "all"}, headers=rhys).json()] == []
        assert {a["id"] for a in c.get("/api/alerts", headers=staff).json()} == {bettys, berts}

        # on call for the team at a step that ran: Priya (nights) is notified after Betty's and Bert's own
        # contacts have not answered; Rhys (days) is not
        assert c.get("/api/alerts", headers=priya).json() == []
        advance(runtime.clock, runtime.sessions, timedelta(minutes=4, seconds=1))
        assert {a["id"] for a in c.get("/api/alerts", headers=priya).json()} == {bettys, berts}
        assert c.get(f"/api/alerts/{bettys}", headers=rhys).status_code == 404
        assert c.get("/api/alerts", headers=rhys).json() == []

        # the positive control: the responder who was asked acts on it
        taken = c.post(f"/api/alerts/{bettys}/acknowledge", headers=priya)
        assert taken.status_code == 200 and taken.json()["acknowledged_by"] == "priya-phone"
        # and another responder who was asked cannot close it under them
        assert c.post(f"/api/alerts/{bettys}/resolve", json={"outcome": "false_alarm"}, headers=sue).status_code == 409
        done = c.post(f"/api/alerts/{bettys}/resolve", json={"outcome": "no_injury"}, headers=priya)
        assert done.status_code == 200 and done.json()["state"] == "resolved"


# -- scope: notifications and access notes --------------------------------------------------------------------
def test_notifications_are_a_responders_own_and_the_access_note_is_the_acceptors_alone(runtime, served):
    bettys = alarm(runtime)
    berts = alarm(runtime, home="home-0002")
    sue, jim = bearer(runtime, "sue-phone", "responder", "sue"), bearer(runtime, "jim-phone", "responder", "jim")
    staff = bearer(runtime, "control room", "staff")
    with client(served) as c:
        # Sue accepts by answering her phone (the sandbox stands in for it; answering is staff's)
        answer = c.post("/api/sandbox/reply", json={"from": SUE, "digits": "1"}, headers=staff)
        assert answer.status_code == 200 and answer.json()["accepted"] is True

        # the positive control: the accepting contact reads the access note in her own messages
        mine = c.get("/api/notifications", headers=sue).json()
        assert {n["contact"] for n in mine} == {"sue"} and {n["alert"] for n in mine} == {bettys}
        (access,) = [n for n in mine if n["purpose"] == "access"]
        assert KEY_SAFE in access["body"]

        # nobody else does: not Jim, not the control room, not through any filter
        jims = c.get("/api/notifications", headers=jim).json()
        assert jims and {n["contact"] for n in jims} == {"jim"} and {n["alert"] for n in jims} == {berts}
        assert c.get("/api/notifications", params={"alert": bettys}, headers=jim).json() == []
        assert c.get("/api/notifications", params={"to": SUE}, headers=jim).json() == []
        everything = c.get("/api/notifications", headers=staff).json()
        assert len(everything) > len(mine) + len(jims) - 1
        (seen_by_staff,) = [n for n in everything if n["purpose"] == "access"]
        assert KEY_SAFE not in seen_by_staff["body"] and "[access note]" in seen_by_staff["body"]
        for who in (staff, jim):
            for n in c.get("/api/notifications", headers=who).json():
                assert KEY_SAFE not in n["body"]
        for who in (staff, sue):
            timeline = c.get(f"/api/alerts/{bettys}", headers=who).json()["timeline"]
            assert not any(KEY_SAFE in t["detail"] for t in timeline)
            assert any(t["kind"] == "access" for t in timeline)


def test_console_pages_show_other_peoples_access_notes_as_a_placeholder(runtime, served):
    bettys = alarm(runtime)
    staff_token = bearer(runtime, "control room", "staff")
    with client(served) as c:
        assert c.post("/api/sandbox/reply", json={"from": SUE, "body": "yes"}, headers=staff_token).status_code == 200
    with client(served) as carol:
        assert log_in(carol, "carol").status_code == 303
        for page in ("/console/notifications", f"/console/notifications?alert={bettys}", f"/console/sandbox/{SUE}"):
            html = carol.get(page).text
            assert KEY_SAFE not in html and "[access note]" in html, page
        assert KEY_SAFE not in carol.get("/console/sandbox").text


# -- staff-only surfaces --------------------------------------------------------------------------------------------
def test_a_responder_is_refused_the_staff_surfaces(runtime, served):
    bettys = alarm(runtime)
    sue, staff = bearer(runtime, "sue-phone", "responder", "sue"), bearer(runtime, "control room", "staff")
    with client(served) as c:
        for path in STAFF_ONLY_GETS:
            assert c.get(path, headers=sue).status_code == 403, path
            assert c.get(path, headers=staff).status_code == 200, path  # the positive control
        assert c.put("/api/settings/heartbeat_grace", json={"value": "1h"}, headers=sue).status_code == 403
        assert c.post("/api/checkins/betty/start", headers=sue).status_code == 403

        # answering as someone else's phone would accept the alert in their name
        forged = c.post("/api/sandbox/reply", json={"from": JIM, "digits": "1"}, headers=sue)
        assert forged.status_code == 403
        forged = c.post("/api/sandbox/reply", json={"from": SUE, "digits": "1"}, headers=sue)
        assert forged.status_code == 403
        assert alert_state(runtime, bettys) == "open"


def test_the_sandbox_reply_exists_only_while_the_sandbox_is_in_use(db_url, sample_site_text):
    hub = make_runtime(db_url, sample_site_text)

    class Twilio:
        name = "twilio"

    hub.notifier = Twilio()  # as if TWILIO_* were configured
    try:
        staff = bearer(hub, "control room", "staff")
        with Served(hub) as served, client(served) as c:
            alert_id = alarm(hub)
            assert c.post("/api/sandbox/reply", json={"from": SUE, "digits": "1"}, headers=staff).status_code == 404
            assert c.post("/api/sandbox/reply", json={"from": SUE, "digits": "1"}).status_code == 404
            assert "/api/sandbox/reply" not in c.get("/openapi.json").json()["paths"]
            assert alert_state(hub, alert_id) == "open"
    finally:
        hub.stop()


# -- tokens: bound, expiring, revocable -----------------------------------------------------------------------
def test_tokens_expire_and_are_revoked(runtime, served):
    staff = bearer(runtime, "short", "staff", expires=timedelta(days=1))
    sue = bearer(runtime, "sue-phone", "responder", "sue")  # 90 days by default
    admin = bearer(runtime, "forever", "admin", expires=None)
    with client(served) as c:
        assert c.get("/api/alerts", headers=staff).status_code == 200
        runtime.clock.advance(timedelta(days=1))
        expired = c.get("/api/alerts", headers=staff)
        assert expired.status_code == 401 and expired.headers["WWW-Authenticate"] == "Bearer"
        assert c.get("/api/alerts", headers=sue).status_code == 200
        runtime.clock.advance(timedelta(days=89))
        assert c.get("/api/alerts", headers=sue).status_code == 401
        assert c.get("/api/alerts", headers=admin).status_code == 200  # asked for: never expires

        with runtime.sessions() as s, s.begin():
            from telecare.auth.tokens import revoke

            assert revoke(s, "forever", runtime.clock.now()) == 1
        assert c.get("/api/alerts", headers=admin).status_code == 401

    with runtime.sessions() as s:
        with pytest.raises(TokenError, match="--contact"):
            create_token(s, "anyone", "responder", runtime.clock.now())
        with pytest.raises(TokenError, match="only an admin"):
            create_token(s, "desk", "staff", runtime.clock.now(), expires=None)
        with pytest.raises(UserError, match="contact"):
            create_user(s, "mallory", "responder", PASSWORD, runtime.clock.now())


def test_the_token_commands(tmp_path, monkeypatch, sample_site_text):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    site = tmp_path / "site.yml"
    site.write_text(sample_site_text)
    run = CliRunner().invoke
    assert run(main, ["load", str(site)]).exit_code == 0

    unbound = run(main, ["token", "create", "van", "--role", "responder"])
    assert unbound.exit_code == 2 and "--contact" in unbound.output and "lk_" not in unbound.output
    wrong = run(main, ["token", "create", "van", "--role", "responder", "--contact", "nobody"])
    assert wrong.exit_code == 2 and "not defined" in wrong.output
    forever = run(main, ["token", "create", "desk", "--role", "staff", "--expires", "never"])
    assert forever.exit_code == 2 and "only an admin" in forever.output

    made = run(main, ["token", "create", "rhys-phone", "--role", "responder", "--contact", "rhys"])
    assert made.exit_code == 0, made.output
    tok = made.output.strip().splitlines()[-1]
    assert re.fullmatch(r"lk_[A-Za-z0-9_-]{40,}", tok)
    assert run(main, ["token", "create", "rhys-phone", "--role", "responder", "--contact", "rhys"]).exit_code == 2
    assert run(main, ["token", "create", "ops", "--role", "admin", "--expires", "never"]).exit_code == 0
    assert run(main, ["token", "check"], input=tok + "\n").exit_code == 0

    listed = run(main, ["token", "list"])
    assert listed.exit_code == 0 and "lk_" not in listed.output
    line = next(ln for ln in listed.output.splitlines() if ln.startswith("rhys-phone"))
    assert "responder" in line and "rhys" in line and "live" in line
    assert "never" in next(ln for ln in listed.output.splitlines() if ln.startswith("ops"))

    revoked = run(main, ["token", "revoke", "rhys-phone"])
    assert revoked.exit_code == 0
    assert run(main, ["token", "check"], input=tok + "\n").exit_code == 1
    assert "revoked" in next(
        ln for ln in run(main, ["token", "list"]).output.splitlines() if ln.startswith("rhys-phone")
    )
    assert run(main, ["token", "revoke", "rhys-phone"]).exit_code == 2
    assert run(main, ["user", "create", "van", "--role", "responder", "--password", PASSWORD]).exit_code == 2


# -- the phone view decides "mine" by contact id ----------------------------------------------------------------
def test_the_phone_view_matches_by_contact_id_not_by_name(runtime, served):
    # a responder bound to Rhys's contact record who shares Priya's display name
    with runtime.sessions() as s, s.begin():
        create_user(
            s, "impostor", "responder", PASSWORD, runtime.clock.now(), display_name="Priya Patel", contact="rhys"
        )
    bettys = alarm(runtime)
    advance(runtime.clock, runtime.sessions, timedelta(minutes=4, seconds=1))  # Sue, Jim, then Priya (on call)
    with client(served) as priya, client(served) as impostor:
        assert log_in(priya, "priya").status_code == 303
        assert log_in(impostor, "impostor").status_code == 303
        assert f"/m/alerts/{bettys}" in priya.get("/m").text
        assert f"/m/alerts/{bettys}" not in impostor.get("/m").text
        assert impostor.get(f"/m/alerts/{bettys}").status_code == 404

        page = f"/m/alerts/{bettys}"
        r = priya.post(f"{page}/accept", data={"csrf_token": csrf_of(priya.get(page).text)})
        assert r.status_code == 303
        assert KEY_SAFE in priya.get(page).text  # the contact who accepted reads the access note
        # the same display name gets nothing: not the alert, not "yours", not the access note
        assert impostor.get(page).status_code == 404
        r = impostor.post(
            f"{page}/resolve", data={"csrf_token": csrf_of(impostor.get("/m").text), "outcome": "false_alarm"}
        )
        assert r.status_code == 404
        assert "yours" not in impostor.get("/m").text
    assert alert_state(runtime, bettys) == "acknowledged"
    with runtime.sessions() as s:
        assert [e.actor for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "alert.acknowledge"))] == [
            "Priya Patel"
        ]

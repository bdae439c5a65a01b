"""Escalation through the API and the sandbox notifier: what a demo without Twilio does.
A fall calls Sue; the sandbox hands it over; Sue answers "1" from the sandbox phone; she
alone gets the access notes; Jim answering late is told Sue has it; a stranger is helped."""

from __future__ import annotations

from datetime import timedelta

from telecare.escalation import engine

from .test_api import alarm, hub_options  # noqa: F401  (the same hub as test_api: fixtures in tests/hub_fixtures.py)

SUE, JIM = "+447700900201", "+447700900202"


def fire_due(runtime):
    with runtime.sessions() as s, s.begin():
        for alert_id in engine.due(s, runtime.clock.now()):
            engine.fire(s, alert_id, runtime.clock.now())


def test_fall_to_acceptance_through_the_sandbox(runtime, client, staff):
    alert_id = alarm(runtime, device="fall-1", type="fall")
    calls = client.get("/api/notifications", params={"alert": alert_id}, headers=staff).json()
    assert [(n["to"], n["channel"], n["status"]) for n in calls] == [(SUE, "voice", "queued")]

    assert runtime.dispatcher.run_once() == 1  # the sandbox notifier takes it
    (call,) = client.get("/api/notifications", params={"to": SUE}, headers=staff).json()
    assert call["status"] == "sent" and call["handed_at"] and call["contact"] == "sue"
    assert "Betty Smith" in call["body"] and "Press 1" in call["body"]

    runtime.clock.advance(timedelta(minutes=2))
    fire_due(runtime)  # nobody answered Sue's call in time: Jim next
    assert [n["to"] for n in client.get("/api/notifications", params={"alert": alert_id}, headers=staff).json()] == [
        SUE,
        JIM,
    ]

    answer = client.post("/api/sandbox/reply", json={"from": SUE, "digits": "1"}, headers=staff).json()
    assert answer == {"meaning": "accept", "answer": "", "alert": alert_id, "accepted": True}
    detail = client.get(f"/api/alerts/{alert_id}", headers=staff).json()
    assert detail["state"] == "acknowledged" and detail["acknowledged_by"] == "Sue Smith"
    kinds = [t["kind"] for t in detail["timeline"]]
    assert {"notified", "timeout", "reply", "acknowledged", "access"} <= set(kinds)

    to_sue = client.get("/api/notifications", params={"to": SUE}, headers=staff).json()
    access = [n for n in to_sue if n["purpose"] == "access"]
    # the access notes went to Sue alone; the control room reads "[access note]" (tests/security/test_roles.py
    # shows Sue's own token reading them)
    assert len(access) == 1 and "Key safe" not in access[0]["body"] and "[access note]" in access[0]["body"]
    to_jim = client.get("/api/notifications", params={"to": JIM}, headers=staff).json()
    assert not any("Key safe" in n["body"] for n in to_jim)  # access notes to the acceptor only

    late = client.post("/api/sandbox/reply", json={"from": JIM, "body": "yes"}, headers=staff).json()
    assert late["accepted"] is False and "Sue Smith already accepted" in late["answer"]
    told = client.get("/api/notifications", params={"to": JIM}, headers=staff).json()[-1]
    assert told["purpose"] == "reply" and "Sue Smith already accepted" in told["body"]


def test_a_stranger_is_helped_not_ignored(runtime, client, staff):
    answer = client.post("/api/sandbox/reply", json={"from": "+447700900999", "body": "1"}, headers=staff).json()
    assert answer["accepted"] is False and "999" in answer["answer"]


def test_sandbox_reply_needs_words_or_digits(client, staff):
    response = client.post("/api/sandbox/reply", json={"from": SUE}, headers=staff)
    assert response.status_code == 422 and "body" in response.json()["detail"][0]["msg"]


def test_sandbox_reply_needs_a_token(client):
    assert client.post("/api/sandbox/reply", json={"from": SUE, "body": "1"}).status_code == 401

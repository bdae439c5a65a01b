"""The directory and the helpline's records over HTTP (hub/web/api/helpline.py): services by
need and postcode, enquiries and their summary, introductions, call-backs and check-in
requests; who may read and change them. A HubRuntime without MQTT on a FakeClock, which
loads the sample directory at start, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from telecare.audit.models import AuditEntry
from telecare.directory.categories import NEEDS
from telecare.enquiry import followup
from telecare.enquiry import service as enquiries
from telecare.site.models import Resident

from .escalation_helpers import local
from .hub_fixtures import bearer

STRANGER = "+447700900999"
SERVICE_FIELDS = {
    "id",
    "name",
    "description",
    "needs",
    "areas",
    "phone",
    "web",
    "email",
    "hours",
    "eligibility",
    "introductions",
    "intro_days",
}


@pytest.fixture
def hub_options():
    return {"now": local("2026-11-23 11:00"), "bert": False, "users": False, "site_changed": False}


@pytest.fixture
def staff(runtime):
    return bearer(runtime, "Carol Control", "staff")


def record(runtime, channel="sms", needs=(), outcome="unresolved", phone=STRANGER, resident_id=None) -> int:
    with runtime.sessions() as s, s.begin():
        e = enquiries.start(
            s,
            channel=channel,
            conversation_id=f"{channel}:{phone}",
            phone=phone,
            resident_id=resident_id,
            now=runtime.clock.now(),
            first_message="hello",
        )
        enquiries.update(s, e.id, now=runtime.clock.now(), needs=list(needs), outcome=outcome)
        return e.id


# -- the directory -------------------------------------------------------------------------------------------------
def test_the_directory(client, responder):
    everything = client.get("/api/services", headers=responder)
    assert everything.status_code == 200
    services = everything.json()
    assert len(services) >= 60 and set(services[0]) == SERVICE_FIELDS
    assert set(services[0]["eligibility"]) == {"min_age", "carers", "residents_only"}
    checkin = next(x for x in services if x["id"] == "linkage-daily-checkin")
    assert checkin["introductions"] is True and checkin["areas"] == ["council"]

    transport = client.get("/api/services", params={"need": "transport"}, headers=responder).json()
    assert transport and all("transport" in x["needs"] for x in transport)


def test_with_a_postcode_the_services_for_that_district_local_first(client, responder):
    got = client.get("/api/services", params={"need": "transport", "postcode": "av3 4rt"}, headers=responder).json()
    tiers = [0 if "AV3" in x["areas"] else 1 if x["areas"] == ["council"] else 2 for x in got]
    assert got and tiers == sorted(tiers) and tiers[0] == 0
    assert all("AV3" in x["areas"] or x["areas"] in (["council"], ["national"]) for x in got)
    district_only = client.get("/api/services", params={"postcode": "AV5"}, headers=responder).json()
    assert district_only and not any("AV1" in x["areas"] and "AV5" not in x["areas"] for x in district_only)
    elsewhere = client.get(
        "/api/services", params={"need": "money_benefits", "postcode": "LS6 2AB"}, headers=responder
    ).json()
    assert elsewhere and all(x["areas"] == ["national"] for x in elsewhere)


@pytest.mark.parametrize("params,field", [({"need": "lonely"}, "need"), ({"postcode": "near the park"}, "postcode")])
def test_a_bad_need_or_postcode_is_422_naming_the_field(client, responder, params, field):
    response = client.get("/api/services", params=params, headers=responder)
    assert response.status_code == 422
    (error,) = response.json()["detail"]  # the documented shape: [{"loc", "msg", "type"}]
    assert error["loc"] == ["query", field] and error["msg"].startswith(f"{field}: ")
    if field == "need":
        assert all(n in error["msg"] for n in NEEDS)


# -- who may read and change the helpline's records ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/services"),
        ("GET", "/api/enquiries"),
        ("GET", "/api/enquiries/summary"),
        ("GET", "/api/introductions"),
        ("GET", "/api/callbacks"),
        ("POST", "/api/callbacks/1/done"),
        ("GET", "/api/checkin-requests"),
        ("POST", "/api/checkin-requests/1/confirm"),
        ("POST", "/api/checkin-requests/1/decline"),
    ],
)
def test_every_endpoint_needs_a_token(client, method, path):
    assert client.request(method, path).status_code == 401
    assert client.request(method, path, headers={"Authorization": "Bearer lk_nope"}).status_code == 401


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/enquiries"),
        ("GET", "/api/enquiries/summary"),
        ("GET", "/api/introductions"),
        ("GET", "/api/callbacks"),
        ("POST", "/api/callbacks/1/done"),
        ("GET", "/api/checkin-requests"),
        ("POST", "/api/checkin-requests/1/confirm"),
    ],
)
def test_responders_cannot_see_or_change_the_helplines_records(client, responder, method, path):
    response = client.request(method, path, headers=responder)
    assert response.status_code == 403
    assert "staff or admin can" in response.json()["detail"]


# -- enquiries -----------------------------------------------------------------------------------------------------------------
def test_enquiries_and_their_summary(runtime, client, staff):
    first = record(runtime, "sms", ["money_benefits"], "signposted")
    runtime.clock.advance(timedelta(hours=1))
    second = record(runtime, "web", ["loneliness_befriending", "money_benefits"], "introduced")
    with runtime.sessions() as s, s.begin():
        enquiries.update(s, second, now=runtime.clock.now(), consent=True, on_behalf=True, district="AV2")

    got = client.get("/api/enquiries", headers=staff).json()
    assert [e["id"] for e in got] == [second, first]
    e = got[0]
    assert {
        k: e[k] for k in ("channel", "needs", "services", "outcome", "consent", "on_behalf", "turns", "district")
    } == {
        "channel": "web",
        "needs": ["loneliness_befriending", "money_benefits"],
        "services": [],
        "outcome": "introduced",
        "consent": True,
        "on_behalf": True,
        "turns": 2,
        "district": "AV2",
    }
    assert e["started_at"].startswith("2026-11-23T12:00:00")
    since = client.get("/api/enquiries", params={"since": "2026-11-23T11:30:00Z"}, headers=staff).json()
    assert [e["id"] for e in since] == [second]
    bad = client.get("/api/enquiries", params={"since": "yesterday"}, headers=staff)
    assert bad.status_code == 422 and bad.json()["detail"][0]["msg"].startswith("since: ")

    summary = client.get("/api/enquiries/summary", headers=staff).json()
    assert summary["total"] == 2 and summary["resolved_first_contact_share"] == 1.0
    assert summary["by_need"] == {"money_benefits": 2, "loneliness_befriending": 1}
    assert summary["by_outcome"]["introduced"] == 1 and summary["by_channel"] == {"sms": 1, "web": 1}


# -- introductions, follow-ups and call-backs -------------------------------------------------------------------------------------
def test_a_follow_up_answered_no_in_the_sandbox_becomes_a_call_back_staff_close(runtime, client, staff):
    e_id = record(runtime)
    with runtime.sessions() as s, s.begin():
        enquiries.introduce(s, e_id, "ashvale-handyperson", name="Mary Jones", phone=STRANGER, now=runtime.clock.now())
    runtime.clock.advance(timedelta(days=7))
    with runtime.sessions() as s, s.begin():
        assert followup.send_due(s, runtime.clock.now()) == 1

    answered = client.post("/api/sandbox/reply", json={"from": STRANGER, "body": "No"}, headers=staff)

    assert answered.status_code == 200, answered.text
    assert answered.json()["meaning"] == "not_contacted"
    assert answered.json()["answer"] == "Sorry about that. Someone from our team will call you to sort it out."
    (intro,) = client.get("/api/introductions", headers=staff).json()
    assert (intro["service"], intro["name"], intro["follow_up_answer"]) == (
        "ashvale-handyperson",
        "Mary Jones",
        "not_contacted",
    )
    assert client.get("/api/introductions", params={"service": "nhs-111"}, headers=staff).json() == []
    (cb,) = client.get("/api/callbacks", headers=staff).json()
    assert (cb["reason"], cb["phone"], cb["status"], cb["enquiry"]) == ("followup", STRANGER, "open", e_id)

    done = client.post(f"/api/callbacks/{cb['id']}/done", json={"note": "rang Mary; handyperson booked"}, headers=staff)

    assert done.status_code == 200
    assert (done.json()["status"], done.json()["done_by"], done.json()["note"]) == (
        "done",
        "Carol Control",
        "rang Mary; handyperson booked",
    )
    assert client.get("/api/callbacks", headers=staff).json() == []
    assert [c["id"] for c in client.get("/api/callbacks", params={"status": "all"}, headers=staff).json()] == [cb["id"]]
    again = client.post(f"/api/callbacks/{cb['id']}/done", headers=staff)
    assert again.status_code == 409 and "already done by Carol Control" in again.json()["detail"]
    assert client.post("/api/callbacks/999999/done", headers=staff).status_code == 404
    assert client.get("/api/callbacks", params={"status": "closed"}, headers=staff).status_code == 422
    with runtime.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "callback.done")).one()
    assert (entry.actor, entry.role, entry.via, entry.target) == (
        "Carol Control",
        "staff",
        "api",
        f"callback:{cb['id']}",
    )


def test_open_call_backs_are_listed_urgent_first(runtime, client, staff):
    with runtime.sessions() as s, s.begin():
        betty = s.scalars(select(Resident).where(Resident.ext_id == "betty")).one()
        for reason, urgent in (("person", False), ("safeguarding", True), ("cannot_help", False)):
            enquiries.request_callback(
                s,
                enquiry_id=None,
                reason=reason,
                urgent=urgent,
                name="Betty Smith",
                phone=betty.phone,
                resident_id=betty.id,
                detail=None,
                now=runtime.clock.now(),
            )
            runtime.clock.advance(60)
    got = client.get("/api/callbacks", headers=staff).json()
    assert [c["reason"] for c in got] == ["safeguarding", "person", "cannot_help"]
    assert got[0]["urgent"] is True and got[0]["resident"] == "betty"


# -- check-in requests --------------------------------------------------------------------------------------------------------------
def test_checkin_requests_are_confirmed_or_declined_by_staff(runtime, client, staff):
    e_id = record(runtime)
    with runtime.sessions() as s, s.begin():
        enquiries.introduce(
            s, e_id, "linkage-daily-checkin", name="Edna Price", phone=STRANGER, now=runtime.clock.now()
        )
        other = enquiries.request_checkins(
            s,
            enquiry_id=None,
            name="Bob",
            phone="+447700900998",
            resident_id=None,
            preferred_time="after lunch",
            now=runtime.clock.now(),
        ).id
    pending = client.get("/api/checkin-requests", headers=staff).json()
    assert [(r["name"], r["status"]) for r in pending] == [("Edna Price", "pending"), ("Bob", "pending")]
    edna = pending[0]["id"]

    confirmed = client.post(f"/api/checkin-requests/{edna}/confirm", json={"note": "daily at 10:00"}, headers=staff)
    declined = client.post(f"/api/checkin-requests/{other}/decline", headers=staff)

    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["decided_by"] == "Carol Control" and confirmed.json()["note"] == "daily at 10:00"
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert client.get("/api/checkin-requests", headers=staff).json() == []
    assert len(client.get("/api/checkin-requests", params={"status": "all"}, headers=staff).json()) == 2
    assert [
        r["id"] for r in client.get("/api/checkin-requests", params={"status": "confirmed"}, headers=staff).json()
    ] == [edna]
    assert client.post(f"/api/checkin-requests/{edna}/decline", headers=staff).status_code == 409
    assert client.post("/api/checkin-requests/999999/confirm", headers=staff).status_code == 404
    assert client.post(f"/api/checkin-requests/{edna}/maybe", headers=staff).status_code == 422
    with runtime.sessions() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-2:] == ["checkin_request.confirm", "checkin_request.decline"]

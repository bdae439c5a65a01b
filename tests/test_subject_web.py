"""A person's data through the hub's surfaces (issue 12): STOP on the signed Twilio SMS webhook
(a forged or unsigned one is refused and changes nothing), the console's subject access download
(staff only, CSRF, audited without personal data), archiving from the console, and the consent
history on an enquiry's page. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from hub.web.app import create_app
from telecare import inbound
from telecare.audit.models import AuditEntry
from telecare.consent import service as consent
from telecare.consent.models import Consent
from telecare.enquiry import service as enquiries
from telecare.notification.models import Reply
from telecare.site.models import Contact, Resident

from .console_helpers import csrf_of, make_runtime

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://linkage.example.org"
SUE, STRANGER = "+447700900201", "+447700900999"


@pytest.fixture
def twilio_hub(db_url, sample_site_text, monkeypatch):
    """A hub whose Twilio webhooks check signatures with TOKEN over BASE (the console's tests use the
    shared ``runtime``: a public base URL elsewhere would make the test client cross-origin)."""
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.setenv("LINKAGE_NOTIFIER", "sandbox")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    hub = make_runtime(db_url, sample_site_text)
    yield hub
    hub.stop()


@pytest.fixture
def twilio_client(twilio_hub):
    with TestClient(create_app(twilio_hub)) as c:
        yield c


def sms(client, phone: str, body: str, *, token: str = TOKEN, sid: str = "SM0001", signed: bool = True):
    params = {"MessageSid": sid, "SmsSid": sid, "From": phone, "To": "+441234567890", "Body": body}
    headers = (
        {"X-Twilio-Signature": RequestValidator(token).compute_signature(BASE + "/twilio/sms", params)}
        if signed
        else {}
    )
    return client.post("/twilio/sms", data=params, headers=headers)


def withdrawals(runtime) -> int:
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(Consent).where(Consent.withdrawn_at.is_not(None)))


def test_a_signed_stop_is_recorded_and_answered_once(twilio_hub, twilio_client):
    r = sms(twilio_client, SUE, "Stop contacting me")
    assert r.status_code == 200 and "no more messages" in r.text
    with twilio_hub.sessions() as s:
        assert consent.opted_out(s, SUE)
    again = sms(twilio_client, SUE, "STOP", sid="SM0002")
    assert again.status_code == 200 and "<Message>" not in again.text
    assert withdrawals(twilio_hub) == 1


@pytest.mark.parametrize("how", ["unsigned", "forged"])
def test_a_forged_or_unsigned_stop_is_refused_and_changes_nothing(twilio_hub, twilio_client, how):
    r = sms(twilio_client, SUE, "STOP", signed=how != "unsigned", token="not-the-token")
    assert r.status_code == 403
    assert withdrawals(twilio_hub) == 0
    with twilio_hub.sessions() as s:
        assert not consent.opted_out(s, SUE)
        assert s.scalar(select(func.count()).select_from(Reply)) == 0


def _resident_page(client, ext_id="betty") -> str:
    page = client.get(f"/console/residents/{ext_id}")
    assert page.status_code == 200
    return page.text


def test_the_console_export_is_a_staff_download_and_audited_without_personal_data(runtime, console_staff):
    html = _resident_page(console_staff)
    assert "/console/residents/betty/export" in html
    r = console_staff.post("/console/residents/betty/export", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "attachment" in r.headers["content-disposition"] and "betty" not in r.headers["content-disposition"]
    doc = json.loads(r.text)
    assert doc["residents"][0]["name"] == "Betty Smith"
    with runtime.sessions() as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "person.export")).all()
        assert entry.actor == "Carol Control" and entry.role == "staff"
        for field in (entry.target, entry.summary, entry.before, entry.after):
            assert "Betty" not in (field or "") and "+447700900001" not in (field or "")


def test_the_console_export_refuses_a_missing_csrf_token_and_a_responder(runtime, console_staff, console_responder):
    assert console_staff.post("/console/residents/betty/export", data={}).status_code == 403
    r = console_responder.post("/console/residents/betty/export", data={"csrf_token": "x"}, follow_redirects=False)
    assert r.status_code in (303, 403) and "Betty" not in r.text
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "person.export")) == 0


def test_staff_archive_a_resident_and_a_contact_from_the_console(runtime, console_staff):
    html = _resident_page(console_staff)
    r = console_staff.post(
        "/console/residents/betty/state", data={"csrf_token": csrf_of(html), "state": "left"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "Betty Smith" not in console_staff.get("/console/residents").text  # off the lists...
    assert "Betty Smith" in console_staff.get("/console/residents?left=1").text  # ...but kept
    r = console_staff.post(
        "/console/contacts/sue/state", data={"csrf_token": csrf_of(html), "state": "left"}, follow_redirects=False
    )
    assert r.status_code == 303
    bad = console_staff.post("/console/contacts/sue/state", data={"csrf_token": csrf_of(html), "state": "gone"})
    assert bad.status_code == 422
    with runtime.sessions() as s:
        assert s.scalar(select(Resident.state).where(Resident.ext_id == "betty")) == "left"
        assert s.scalar(select(Contact.state).where(Contact.ext_id == "sue")) == "left"
        assert {a for a in s.scalars(select(AuditEntry.action))} >= {"resident.leave", "contact.leave"}


def test_an_enquiry_page_shows_its_consent_history(runtime, console_staff):
    with runtime.sessions() as s, s.begin():
        e = enquiries.start(
            s,
            channel="sms",
            conversation_id=f"sms:{STRANGER}",
            phone=STRANGER,
            resident_id=None,
            now=runtime.clock.now(),
            first_message="hello",
        )
        enquiries.introduce(
            s,
            e.id,
            "age-uk-ashvale-befriending",
            name="Mary Jones",
            phone=STRANGER,
            now=runtime.clock.now(),
            wording="Shall I pass your number on? Reply YES or NO.",
            channel="sms",
        )
        e_id = e.id
    with runtime.sessions() as s, s.begin():
        inbound.route(s, phone=STRANGER, now=runtime.clock.now(), body="unsubscribe")
    page = console_staff.get(f"/console/enquiries/{e_id}")
    assert page.status_code == 200
    assert "Consent history" in page.text and "Shall I pass your number on?" in page.text
    assert "unsubscribe" in page.text and "all messages from Linkage" in page.text

"""The helpline in the console (issue 6), through FastAPI's TestClient: enquiries and their
introductions, callbacks waiting for a person, check-in requests, follow-ups, the directory
of services (edited as YAML, exported and imported) and the dashboard's enquiries card.
Data is made through telecare.enquiry.service, as the assistant's actions make it. SQLite
and PostgreSQL (the ``db_url`` fixture); the browser side is in
tests/test_console_enquiries_browser.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from telecare.audit.models import AuditEntry
from telecare.auth.tokens import create_token
from telecare.directory import search
from telecare.directory.export import export_directory
from telecare.directory.models import Service
from telecare.enquiry import followup
from telecare.enquiry import service as enquiries
from telecare.enquiry.models import CallbackRequest, CheckinRequest
from telecare.site.models import Resident

from .console_helpers import csrf_of
from .escalation_helpers import local
from .hub_fixtures import console_client

STRANGER = "+447700900999"
BEFRIENDING = "age-uk-ashvale-befriending"
HANDYPERSON = "ashvale-handyperson"
PAGES = [
    "/console/enquiries",
    "/console/callbacks",
    "/console/checkin-requests",
    "/console/followups",
    "/console/directory",
    "/console/directory/file",
    "/console/directory/add",
    f"/console/directory/services/{HANDYPERSON}/edit",
    "/console/directory/export.yml",
]


@pytest.fixture
def runtime(runtime):
    runtime.clock.set(local("2026-11-23 11:00"))  # after the hub loaded the sample directory (an empty database)
    return runtime


def post(client, url: str, data: dict | None = None, page: str = "/console/callbacks", **kw):
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **(data or {})}, follow_redirects=False, **kw)


def audit_rows(runtime, action: str) -> list[AuditEntry]:
    with runtime.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# The hub's clock stays put during a test (a logged-in console session ends after an idle hour),
# so records made "earlier" are made with an earlier time.
def conversation(
    runtime,
    *,
    channel="sms",
    phone=STRANGER,
    needs=("money_benefits",),
    services=(),
    outcome="signposted",
    resident_id=None,
    on_behalf=False,
    ago=timedelta(0),
) -> int:
    with runtime.sessions() as s, s.begin():
        now = runtime.clock.now() - ago
        e = enquiries.start(
            s,
            channel=channel,
            conversation_id=f"{channel}:{phone}",
            phone=phone,
            resident_id=resident_id,
            now=now,
            first_message="I need some help",
        )
        enquiries.update(
            s,
            e.id,
            now=now,
            needs=list(needs),
            services=list(services),
            outcome=outcome,
            district="AV3",
            on_behalf=on_behalf,
        )
        return e.id


def callback(
    runtime,
    enquiry_id=None,
    *,
    reason="safeguarding",
    urgent=True,
    name="Mary Jones",
    phone=STRANGER,
    detail="Her son takes her pension",
    ago=timedelta(0),
) -> int:
    with runtime.sessions() as s, s.begin():
        return enquiries.request_callback(
            s,
            enquiry_id=enquiry_id,
            reason=reason,
            urgent=urgent,
            name=name,
            phone=phone,
            resident_id=None,
            detail=detail,
            now=runtime.clock.now() - ago,
        ).id


def waiting_table(html: str) -> str:
    return html.split('id="h-done"')[0]


# -- enquiries ------------------------------------------------------------------------------------------------
def test_enquiries_newest_first_with_needs_services_and_outcomes_in_plain_words(console_staff, runtime):
    first = conversation(
        runtime,
        channel="voice",
        needs=["loneliness_befriending", "transport"],
        services=[BEFRIENDING],
        outcome="signposted",
        on_behalf=True,
        ago=timedelta(hours=1),
    )
    second = conversation(runtime, channel="web", phone="+447700900998", needs=["safeguarding"], outcome="handoff")

    page = console_staff.get("/console/enquiries")

    assert page.status_code == 200
    html = page.text
    assert html.index(f"Enquiry {second}") < html.index(f"Enquiry {first}")
    assert "Loneliness and befriending; Transport" in html and "Age UK Ashvale" in html
    assert "Phone call" in html and "Web chat" in html and "Handed to a person" in html
    assert "2 enquiries" in html


def test_enquiries_filtered_by_outcome_channel_need_and_dates(console_staff, runtime):
    sms = conversation(runtime, channel="sms", needs=["money_benefits"], outcome="signposted", ago=timedelta(days=2))
    voice = conversation(
        runtime, channel="voice", phone="+447700900998", needs=["falls_prevention", "other"], outcome="unresolved"
    )

    def shown(query: str) -> set[int]:
        r = console_staff.get(f"/console/enquiries?{query}")
        assert r.status_code == 200, r.text[:300]
        return {int(n) for n in re.findall(r"<span class=\"muted\">Enquiry (\d+)</span>", r.text)}

    assert shown("") == {sms, voice}
    assert shown("outcome=signposted") == {sms}
    assert shown("channel=voice") == {voice}
    assert shown("need=falls_prevention") == {voice}
    assert shown("need=money_benefits&channel=voice") == set()
    assert shown("date_from=2026-11-22") == {voice}  # local dates: Saturday 21 and Monday 23 November
    assert shown("date_to=2026-11-21") == {sms}
    assert shown("date_from=2026-11-21&date_to=2026-11-23") == {sms, voice}
    assert shown("date_from=2026-11-22&date_to=2026-11-22") == set()
    bad = console_staff.get("/console/enquiries?date_from=soon")
    assert bad.status_code == 422 and "is not a date" in bad.text


def test_an_enquirys_page_shows_its_introductions_callbacks_and_checkin_requests(console_staff, runtime):
    eid = conversation(runtime, needs=["loneliness_befriending"], services=[BEFRIENDING])
    with runtime.sessions() as s, s.begin():
        enquiries.introduce(s, eid, BEFRIENDING, name="Mary Jones", phone=STRANGER, now=runtime.clock.now())
        enquiries.request_checkins(
            s,
            enquiry_id=eid,
            name="Mary Jones",
            phone=STRANGER,
            resident_id=None,
            preferred_time="mornings",
            now=runtime.clock.now(),
        )
    callback(runtime, eid, reason="person", urgent=False, detail="asked for a person")

    html = console_staff.get(f"/console/enquiries/{eid}").text

    assert "Age UK Ashvale" in html and "Mary Jones, +447700900999" in html
    assert "Due Mon 30 Nov" in html  # the follow-up, a week later
    assert "Asked for a person" in html and "Waiting" in html
    assert "mornings" in html and "Waiting for staff" in html
    assert console_staff.get("/console/enquiries/999999").status_code == 404


# -- callbacks --------------------------------------------------------------------------------------------------
def test_urgent_callbacks_come_first_and_are_counted_in_the_navigation_and_on_the_board(console_staff, runtime):
    routine = callback(
        runtime, reason="person", urgent=False, name="Tom Routine", phone="+447700900998", ago=timedelta(minutes=30)
    )
    urgent = callback(runtime, name="Mary Urgent")

    html = console_staff.get("/console/callbacks").text

    assert html.index(f'id="cb-{urgent}"') < html.index(f'id="cb-{routine}"')
    assert 'class="prio-p1 urgent"' in html and "URGENT" in html
    assert "Safeguarding" in html and "Her son takes her pension" in html
    assert "30 min" in html  # how long the routine one has waited
    assert "1 urgent</span>" in console_staff.get("/console/dashboard").text  # the navigation
    assert "1 urgent callback</a> waiting for a person" in console_staff.get("/console/board/fragment").text


def test_marking_a_callback_done_is_audited_and_takes_it_off_the_open_list(console_staff, runtime):
    cb = callback(runtime)

    no_note = post(console_staff, f"/console/callbacks/{cb}/done", {"note": "  "})
    done = post(console_staff, f"/console/callbacks/{cb}/done", {"note": "Rang Mary; safeguarding referral made"})
    again = post(console_staff, f"/console/callbacks/{cb}/done", {"note": "twice"})

    assert no_note.status_code == 422 and "Say what happened" in no_note.text
    assert done.status_code == 303 and done.headers["location"].startswith("/console/callbacks?ok=")
    assert again.status_code == 409 and "already done by Carol Control" in again.text
    with runtime.sessions() as s:
        row = s.get(CallbackRequest, cb)
        assert (row.status, row.done_by, row.note) == ("done", "Carol Control", "Rang Mary; safeguarding referral made")
        assert row.done_at == runtime.clock.now()
    (entry,) = audit_rows(runtime, "callback.done")
    assert (entry.actor, entry.role, entry.via, entry.target) == ("Carol Control", "staff", "console", f"callback:{cb}")
    assert entry.at == runtime.clock.now() and "safeguarding referral made" in entry.summary
    page = console_staff.get("/console/callbacks").text
    assert f'id="cb-{cb}"' not in waiting_table(page) and "Nobody is waiting for a call" in page
    assert "Rang Mary; safeguarding referral made" in page.split('id="h-done"')[1]
    assert "urgent</span>" not in page  # the navigation's count is gone


def test_a_forged_csrf_token_is_refused(console_staff, runtime):
    cb = callback(runtime)
    with runtime.sessions() as s:
        before = export_directory(s)

    for url, data in [
        (f"/console/callbacks/{cb}/done", {"note": "forged"}),
        ("/console/checkin-requests/1", {"decision": "confirm"}),
        ("/console/directory/import", {"yaml": before.replace("Ashvale", "Elsewhere")}),
        (f"/console/directory/services/{HANDYPERSON}/edit", {"yaml": "services: []\n"}),
    ]:
        for token in ("forged-token", None):
            r = console_staff.post(
                url, data={**data, **({"csrf_token": token} if token else {})}, follow_redirects=False
            )
            assert r.status_code == 403, (url, token)
    with runtime.sessions() as s:
        assert s.get(CallbackRequest, cb).status == "open"
        assert export_directory(s) == before
    assert audit_rows(runtime, "callback.done") == [] and audit_rows(runtime, "directory.import") == []


def test_a_responder_cannot_see_or_change_the_helpline(console_responder, runtime):
    eid = conversation(runtime)
    cb = callback(runtime, eid)
    with runtime.sessions() as s, s.begin():
        req = enquiries.request_checkins(
            s,
            enquiry_id=eid,
            name="Mary",
            phone=STRANGER,
            resident_id=None,
            preferred_time=None,
            now=runtime.clock.now(),
        ).id
        before = export_directory(s)

    for url in PAGES + [f"/console/enquiries/{eid}"]:
        assert console_responder.get(url, follow_redirects=False).status_code == 403, url
    token = csrf_of(console_responder.get("/m").text)
    for url, data in [
        (f"/console/callbacks/{cb}/done", {"note": "x"}),
        (f"/console/checkin-requests/{req}", {"decision": "confirm"}),
        ("/console/directory/import", {"yaml": before}),
        ("/console/directory/add", {"yaml": "services: []\n"}),
    ]:
        assert (
            console_responder.post(url, data={"csrf_token": token, **data}, follow_redirects=False).status_code == 403
        )
    with runtime.sessions() as s:
        assert s.get(CallbackRequest, cb).status == "open" and s.get(CheckinRequest, req).status == "pending"
    assert "Callbacks" not in console_responder.get("/m").text


# -- check-in requests -----------------------------------------------------------------------------------------
def test_confirming_a_checkin_request_says_what_to_do_next_and_declining_needs_a_reason(console_staff, runtime):
    with runtime.sessions() as s, s.begin():
        betty = s.scalar(select(Resident.id).where(Resident.ext_id == "betty"))
        known = enquiries.request_checkins(
            s,
            enquiry_id=None,
            name="Betty Smith",
            phone="+447700900001",
            resident_id=betty,
            preferred_time="about ten",
            now=runtime.clock.now(),
        ).id
        stranger = enquiries.request_checkins(
            s,
            enquiry_id=None,
            name="Mary Jones",
            phone=STRANGER,
            resident_id=None,
            preferred_time=None,
            now=runtime.clock.now(),
        ).id
    page = "/console/checkin-requests"
    assert "about ten" in console_staff.get(page).text

    confirmed = post(
        console_staff, f"/console/checkin-requests/{known}", {"decision": "confirm", "note": "10am daily"}, page=page
    )
    next_steps = console_staff.get(confirmed.headers["location"]).text
    no_reason = post(console_staff, f"/console/checkin-requests/{stranger}", {"decision": "decline"}, page=page)
    declined = post(
        console_staff,
        f"/console/checkin-requests/{stranger}",
        {"decision": "decline", "note": "has a daily carer visit"},
        page=page,
    )
    twice = post(console_staff, f"/console/checkin-requests/{known}", {"decision": "decline", "note": "x"}, page=page)

    assert confirmed.status_code == 303
    assert "now set up the calls" in next_steps and 'href="/console/edit/residents/betty"' in next_steps
    assert "checkin: {at:" in next_steps
    assert no_reason.status_code == 422 and "Say why" in no_reason.text
    assert declined.status_code == 303 and twice.status_code == 409
    with runtime.sessions() as s:
        assert (s.get(CheckinRequest, known).status, s.get(CheckinRequest, known).decided_by) == (
            "confirmed",
            "Carol Control",
        )
        assert s.get(CheckinRequest, stranger).status == "declined"
    assert [e.summary for e in audit_rows(runtime, "checkin_request.confirm")] == ["confirmed: 10am daily"]
    assert [e.summary for e in audit_rows(runtime, "checkin_request.decline")] == ["declined: has a daily carer visit"]
    assert "No requests waiting" in console_staff.get(page).text


def test_someone_not_yet_a_resident_is_added_first(console_staff, runtime):
    with runtime.sessions() as s, s.begin():
        req = enquiries.request_checkins(
            s,
            enquiry_id=None,
            name="Mary Jones",
            phone=STRANGER,
            resident_id=None,
            preferred_time=None,
            now=runtime.clock.now(),
        ).id
    r = post(
        console_staff, f"/console/checkin-requests/{req}", {"decision": "confirm"}, page="/console/checkin-requests"
    )
    html = console_staff.get(r.headers["location"]).text
    assert 'href="/console/add/residents"' in html and STRANGER in html


# -- follow-ups -------------------------------------------------------------------------------------------------
def test_an_introduction_that_did_not_work_is_visible_with_its_callback(console_staff, runtime):
    week = timedelta(days=7, hours=1)
    eid = conversation(runtime, needs=["home_repairs_adaptations"], services=[HANDYPERSON], ago=week)
    with runtime.sessions() as s, s.begin():
        enquiries.introduce(s, eid, HANDYPERSON, name="Mary Jones", phone=STRANGER, now=runtime.clock.now() - week)
    assert "Not asked yet</a>: 1" in console_staff.get("/console/followups").text
    with runtime.sessions() as s, s.begin():
        assert followup.send_due(s, runtime.clock.now()) == 1
    assert "waiting for an answer" in console_staff.get("/console/followups?show=waiting").text
    with runtime.sessions() as s, s.begin():
        followup.route_reply(s, phone=STRANGER, body="No, nobody rang", digits=None, now=runtime.clock.now())

    html = console_staff.get("/console/followups?show=not_contacted").text

    assert "Not contacted" in html and "Ashvale Handyperson Service" in html and "Mary Jones" in html
    assert re.search(r'<a href="/console/callbacks#cb-\d+">Waiting</a>', html)
    assert "Introduction did not work" in console_staff.get("/console/callbacks").text
    assert "Not contacted" in console_staff.get(f"/console/enquiries/{eid}").text


# -- the directory ---------------------------------------------------------------------------------------------
def test_the_directory_lists_services_and_what_the_assistant_would_offer(console_staff, runtime):
    html = console_staff.get("/console/directory").text
    assert "Ashvale Handyperson Service" in html and "60 or over; Ashvale residents" in html
    assert "01632 960400" in html and "in touch within 7 days" in html

    offer = console_staff.get("/console/directory?need=money_benefits&postcode=av3 1ab").text
    with runtime.sessions() as s:
        expected = [svc.name for svc in search.match(s, "money_benefits", district="AV3")]
    assert "What the assistant would offer in AV3" in offer
    section = offer.split('id="h-offer"')[1].split("</section>")[0]
    assert [m for m in re.findall(r'<a href="#svc-[^"]+">([^<]+)</a>', section)] == expected

    every_need = console_staff.get("/console/directory?postcode=AV3").text
    assert (
        every_need.count(
            '<th scope="row">',
            every_need.index('id="h-offer"'),
            every_need.index("</section>", every_need.index('id="h-offer"')),
        )
        == 18
    )
    outside = console_staff.get("/console/directory?postcode=LS6&need=social_care_assessment").text
    assert "LS6 is outside Ashvale" in outside
    assert console_staff.get("/console/directory?postcode=nowhere").status_code == 422


def test_editing_a_service_snippet_shows_the_line_of_a_mistake_and_saves_a_good_one(console_staff, runtime):
    form = f"/console/directory/services/{HANDYPERSON}/edit"
    text = re.search(r'<textarea id="yaml"[^>]*>(.*?)</textarea>', console_staff.get(form).text, re.S).group(1)
    text = text.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
    needs_line = text.splitlines().index(next(ln for ln in text.splitlines() if "needs:" in ln)) + 1

    with runtime.sessions() as s:
        services_before = len(search.all_services(s))
    bad = post(console_staff, form, {"yaml": text.replace("home_repairs_adaptations", "home_repair")}, page=form)
    renamed = post(console_staff, form, {"yaml": text.replace(f"id: {HANDYPERSON}", "id: handyperson-2")}, page=form)
    good = post(console_staff, form, {"yaml": text.replace("01632 960400", "01632 960401")}, page=form)

    assert bad.status_code == 422 and f"Line {needs_line}:" in bad.text and "is not a need category" in bad.text
    assert renamed.status_code == 422 and "Line 2:" in renamed.text and "cannot change" in renamed.text
    assert good.status_code == 303
    with runtime.sessions() as s:
        svc = s.scalars(select(Service).where(Service.ext_id == HANDYPERSON)).one()
        assert svc.phone == "01632 960401" and svc.active
        position = svc.position
        assert s.scalars(select(Service).where(Service.ext_id == "handyperson-2")).first() is None
    (entry,) = audit_rows(runtime, "service.edit")
    assert "960400" in entry.before and "960401" in entry.after and entry.actor == "Carol Control"
    with runtime.sessions() as s:  # the rest of the directory is as it was, in the same order
        assert s.scalars(select(Service).where(Service.ext_id == HANDYPERSON)).one().position == position
        assert len(search.all_services(s)) == services_before


def test_adding_a_service_and_refusing_one_that_exists(console_staff, runtime):
    new = (
        "services:\n  - id: ashvale-lunch-club\n    name: Ashvale Lunch Club\n"
        "    description: A hot lunch and company, Tuesdays and Thursdays.\n"
        '    needs: [loneliness_befriending, food_shopping]\n    areas: [AV3]\n    phone: "01632 960555"\n'
    )
    added = post(console_staff, "/console/directory/add", {"yaml": new}, page="/console/directory/add")
    again = post(console_staff, "/console/directory/add", {"yaml": new}, page="/console/directory/add")
    wrong_area = post(
        console_staff,
        "/console/directory/add",
        {"yaml": new.replace("lunch-club", "lunch-2").replace("[AV3]", "[ZZ9]")},
        page="/console/directory/add",
    )

    assert added.status_code == 303
    assert again.status_code == 422 and "Line 2:" in again.text and "already has" in again.text
    assert wrong_area.status_code == 422 and "Line 6:" in wrong_area.text
    with runtime.sessions() as s:
        offered = search.match(s, "food_shopping", district="AV3", limit=None)
        assert "ashvale-lunch-club" in [svc.ext_id for svc in offered]
    assert [e.target for e in audit_rows(runtime, "service.add")] == ["service:ashvale-lunch-club"]


def test_directory_export_and_import_round_trip(console_staff, runtime):
    exported = console_staff.get("/console/directory/export.yml")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    page = "/console/directory/file"

    same = post(console_staff, "/console/directory/import", {"yaml": exported.text}, page=page)
    assert same.status_code == 200 and "Nothing changed" in same.text
    assert audit_rows(runtime, "directory.import") == []

    lines = exported.text.splitlines()
    bad_line = next(n for n, ln in enumerate(lines, 1) if ln.strip() == 'phone: "999"')
    lines[bad_line - 1] = lines[bad_line - 1].replace('"999"', '"nine nine nine"')
    bad = post(console_staff, "/console/directory/import", {"yaml": "\n".join(lines)}, page=page)
    assert bad.status_code == 422 and f"Line {bad_line}:" in bad.text and "Refused" in bad.text

    without = re.sub(r"\n- id: ashvale-handyperson\n(?:  .*\n)+", "\n", exported.text)
    changed = console_staff.post(
        "/console/directory/import",
        files={"file": ("services.yml", without.encode())},
        data={"csrf_token": csrf_of(console_staff.get(page).text)},
        follow_redirects=False,
    )
    assert changed.status_code == 200 and "Loaded" in changed.text and "ashvale-handyperson" in changed.text
    with runtime.sessions() as s:
        assert s.scalars(select(Service).where(Service.ext_id == HANDYPERSON)).one().active is False
    (entry,) = audit_rows(runtime, "directory.import")
    assert "no longer listed" in entry.summary and HANDYPERSON in entry.before and HANDYPERSON not in entry.after
    assert "No longer offered (1)" in console_staff.get("/console/directory").text

    back = post(console_staff, "/console/directory/import", {"yaml": exported.text}, page=page)
    assert back.status_code == 200 and "Loaded" in back.text
    with runtime.sessions() as s:
        assert s.scalars(select(Service).where(Service.ext_id == HANDYPERSON)).one().active is True


# -- the dashboard and the API summary -------------------------------------------------------------------------------
def test_the_dashboard_shows_enquiries_and_the_share_resolved_at_first_contact(console_staff, app, runtime):
    for outcome, channel in [("signposted", "sms"), ("introduced", "voice"), ("handoff", "web"), ("signposted", "sms")]:
        conversation(runtime, channel=channel, outcome=outcome, phone=f"+4477009009{len(outcome)}{channel[0]}")
    callback(runtime)

    html = console_staff.get("/console/dashboard").text

    card = html.split('id="h-enquiries"')[1]
    assert "<strong>4</strong> enquiries" in card
    assert "Resolved at first contact: 75%" in card and "(3 of 4)" in card
    assert "Six Steps" in card and "60–70%" in card
    assert "Enquiries by channel" in card and "Enquiries by need" in card and "Enquiries by outcome" in card
    assert "<td>Text (SMS)</td><td>2</td>" in card and "<td>Handed to a person</td><td>1</td>" in card
    with runtime.sessions() as s, s.begin():
        token = create_token(s, "Dashboard screen", "staff", runtime.clock.now())
    with console_client(app) as c:
        summary = c.get("/api/metrics/summary", headers={"Authorization": f"Bearer {token}"}).json()
    assert summary["enquiries"]["total"] == 4
    assert summary["enquiries"]["resolved_first_contact_share"] == 0.75
    assert summary["enquiries"]["by_channel"] == {"sms": 2, "voice": 1, "web": 1}
    assert summary["enquiries"]["callbacks_open"] == 1

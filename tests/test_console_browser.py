"""The console in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by
Playwright, against the hub app served by uvicorn on a free loopback port. The hub runs
without MQTT, with the sandbox notifier and a FakeClock (escalation moves only when a test
moves it). Screenshots of the board and the dashboard are kept in tests/artifacts/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from telecare.alert.models import Alert

from .console_helpers import PASSWORD, alarm
from .escalation_helpers import advance

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def db_url(sqlite_url):
    """SQLite only: these tests are about the pages (the shared hub fixtures, tests/hub_fixtures.py)."""
    return sqlite_url


@pytest.fixture
def hub(served):
    return served


@pytest.fixture
def page(browser, hub):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=hub.url)
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p
    context.close()


@pytest.fixture
def phone(browser, hub):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, base_url=hub.url
    )
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p
    context.close()


def log_in(page, username: str):
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


# -- the board ----------------------------------------------------------------------------------------------------
def test_log_in_see_an_alarm_arrive_live_and_acknowledge_it(page, hub):
    log_in(page, "carol")
    assert page.url.endswith("/console")
    page.get_by_text("Live: ").first.wait_for()  # the event stream is connected
    page.evaluate("window.__sameDocument = true")
    assert page.locator("tr[data-alert]").count() == 0

    alert_id = alarm(hub.hub, device="fall-1", type="fall")  # Betty's fall detector, straight into ingest

    row = page.locator(f'tr[data-alert="{alert_id}"]')
    row.wait_for()
    assert page.evaluate("window.__sameDocument") is True  # it arrived without a reload
    assert "prio-p1" in row.get_attribute("class")
    assert "Betty Smith" in row.inner_text() and "fall" in row.inner_text()
    page.get_by_role("status").filter(has_text="new alert").wait_for()
    shot(page, "board.png")

    page.get_by_role("link", name=f"Alert {alert_id}").click()
    page.get_by_role("button", name="Acknowledge (I have it)").click()
    page.get_by_role("status").filter(has_text="Done: acknowledge").wait_for()
    assert page.locator("#alert-state").inner_text() == "acknowledged"
    assert "accepted by Carol Control" in page.locator("ol.timeline").inner_text()
    with hub.hub.sessions() as s:
        assert s.get(Alert, alert_id).acknowledged_by == "Carol Control"

    page.goto("/console")
    page.locator(f'tr[data-alert="{alert_id}"]').wait_for()
    assert "Carol Control" in page.locator(f'tr[data-alert="{alert_id}"]').inner_text()


def test_keyboard_and_zoom(page, hub):
    log_in(page, "carol")
    alarm(hub.hub)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # a visible focus ring on links
    page.get_by_role("link", name="Dashboard").focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert outline not in ("0px", "")
    # 200% zoom of a 1280 px screen: 640 CSS pixels; nothing should need sideways scrolling
    page.set_viewport_size({"width": 640, "height": 450})
    for url in ("/console", "/console/policies", "/console/dashboard", "/console/residents/betty"):
        page.goto(url)
        assert no_sideways_scroll(page), url


# -- escalation rules ---------------------------------------------------------------------------------------------
def test_edit_a_policy_run_a_dry_run_and_read_the_coverage(page, hub):
    log_in(page, "carol")
    page.get_by_role("link", name="Policies").click()
    page.get_by_role("link", name="Edit urgent").click()
    box = page.get_by_label("Policy (YAML)")
    text = box.input_value()
    box.fill(text.replace("ack_within: 2m", "ack_within: soon"))
    page.get_by_role("button", name="Save").click()
    page.get_by_role("alert").filter(has_text="Line 7").wait_for()  # refused, with its line
    box.fill(text.replace("ack_within: 2m", "ack_within: 1m"))
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    assert "wait 1 min for someone to accept" in page.locator("#policies-urgent").inner_text()

    page.get_by_role("link", name="Dry run").first.click()
    page.get_by_label("Resident").select_option("betty")
    page.get_by_label("Alarm").select_option("fall")
    page.get_by_label("Day").select_option("sat")
    page.get_by_label("Time").fill("02:00")
    page.get_by_role("button", name="Run").click()
    result = page.locator("#dryrun-result")
    result.wait_for()
    table = page.locator("#dryrun-contacts").inner_text()
    assert "Sue Smith" in table and "Priya Patel" in table and "Rhys Jones" not in table
    assert "+1 min" in table  # Jim now follows a minute after Sue: the edited policy
    assert "NO RESPONSE" in result.inner_text()

    # take Priya's weekend days off the rota: the coverage report shows the hole
    page.goto("/console/edit/teams/mobile-response")
    box = page.get_by_label("Team (YAML)")
    box.fill("\n".join(line for line in box.input_value().splitlines() if "weekends" not in line) + "\n")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Coverage", exact=True).click()
    urgent = page.locator("#coverage-urgent")
    urgent.wait_for()
    assert "Some hours are not covered" in page.locator("#coverage-summary").inner_text()
    assert "Sat 08:00 – Sat 20:00" in urgent.inner_text()
    assert "nobody on call in Mobile Response Team" in urgent.inner_text()


# -- the sandbox phone ----------------------------------------------------------------------------------------------
def test_answer_from_the_sandbox_phone(page, hub):
    alert_id = alarm(hub.hub)
    log_in(page, "carol")
    page.get_by_role("link", name="Sandbox phone").click()
    page.get_by_role("link", name="+447700900201").click()  # Sue, called first
    assert "This is Linkage" in page.locator("ol.phone-thread").inner_text()
    page.get_by_label("Text message").fill("1")
    page.get_by_role("button", name="Send text").click()
    page.locator("#reply-result").wait_for()
    assert "accept" in page.locator("#reply-result").inner_text()
    assert "Thank you Sue, alert" in page.locator("ol.phone-thread").inner_text()  # the access notes came back
    with hub.hub.sessions() as s:
        assert s.get(Alert, alert_id).acknowledged_by == "Sue Smith"


# -- the responder's phone ------------------------------------------------------------------------------------------
def test_responder_flow_on_a_phone(phone, hub):
    alert_id = alarm(hub.hub)
    advance(hub.hub.clock, hub.hub.sessions, timedelta(minutes=4, seconds=1))  # Sue, Jim, then Priya's night shift
    log_in(phone, "priya")
    assert phone.url.endswith("/m")
    phone.get_by_role("link", name="Betty Smith").click()
    phone.locator("#access-hidden").wait_for()  # the alert's page has loaded (is_visible does not wait)
    assert phone.locator("#access-hidden").is_visible()
    assert "Key safe" not in phone.content()
    maps = phone.get_by_role("link", name="Open in maps")
    assert "12+Elm+Road" in maps.get_attribute("href")
    assert no_sideways_scroll(phone)

    phone.get_by_role("button", name="Accept: I'm going").click()
    phone.locator("#access-notes").wait_for()
    assert "Key safe by the front door" in phone.locator("#access-notes").inner_text()
    shot(phone, "responder.png")
    phone.get_by_role("button", name="I have arrived").click()
    phone.get_by_text("Marked: you have arrived.").wait_for()
    phone.get_by_label("Outcome").select_option("no_injury")
    phone.get_by_role("button", name="Resolve").click()
    phone.get_by_text("Resolved. Thank you.").wait_for()
    with hub.hub.sessions() as s:
        a = s.get(Alert, alert_id)
        assert (a.state, a.acknowledged_by, a.outcome) == ("resolved", "Priya Patel", "no_injury")
    # and a responder is kept out of the control room
    assert phone.goto("/console/policies").status == 403


# -- the dashboard --------------------------------------------------------------------------------------------------
def test_dashboard_with_charts(page, hub):
    from telecare.alert import service as alerts

    runtime = hub.hub
    timings = [(20, 600), (45, 1500), (70, 2400), (150, None), (30, 900)]
    for i, (ack_after, arrive_after) in enumerate(timings):
        alert_id = alarm(runtime, home=("home-0001", "home-0002")[i % 2], device="pendant-1")
        t0 = runtime.clock.now()
        with runtime.sessions() as s, s.begin():
            alerts.acknowledge(s, alert_id, "Rhys Jones", t0 + timedelta(seconds=ack_after))
            if arrive_after:
                alerts.arrived(s, alert_id, "Rhys Jones", t0 + timedelta(seconds=arrive_after))
            alerts.resolve(s, alert_id, "Rhys Jones", "no_injury", t0 + timedelta(seconds=3000))
        runtime.clock.advance(timedelta(hours=1))
    log_in(page, "carol")
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("heading", name="Time to answer against the telecare standard").wait_for()
    assert page.locator("svg.chart").count() >= 4
    assert "3 of 5 alarms" in page.locator("#h-tsa + p + div, section[aria-labelledby=h-tsa]").first.inner_text()
    assert "NOT met" in page.content()
    shot(page, "dashboard.png")

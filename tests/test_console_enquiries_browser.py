"""The helpline's console pages in headless Chromium (Debian's /usr/bin/chromium, Playwright):
an urgent callback loud on the board and first on its page, marked done with the keyboard
alone, the dashboard's enquiries card (screenshot in tests/artifacts/dashboard-enquiries.png),
and the pages at 200% zoom."""

from __future__ import annotations

from datetime import timedelta

import pytest

from telecare.enquiry import service as enquiries

from .test_console_browser import ARTIFACTS, db_url, hub, log_in, no_sideways_scroll, page, shot  # noqa: F401

pytest.importorskip("playwright.sync_api")

CONVERSATIONS = [  # channel, needs, outcome
    ("sms", ["money_benefits"], "signposted"),
    ("sms", ["loneliness_befriending", "transport"], "introduced"),
    ("voice", ["falls_prevention"], "signposted"),
    ("voice", ["safeguarding"], "handoff"),
    ("web", ["home_repairs_adaptations", "money_benefits"], "signposted"),
    ("web", ["other"], "unresolved"),
    ("sms", ["memory_dementia", "carers_support"], "introduced"),
    ("voice", ["emergency"], "emergency"),
]


def helpline(runtime) -> dict:
    """Enquiries as the assistant records them, an urgent callback (safeguarding) and a routine one."""
    now = runtime.clock.now()
    with runtime.sessions() as s, s.begin():
        ids = []
        for i, (channel, needs, outcome) in enumerate(CONVERSATIONS):
            e = enquiries.start(
                s,
                channel=channel,
                conversation_id=f"{channel}:{i}",
                phone=f"+4477009009{i:02d}",
                resident_id=None,
                now=now - timedelta(hours=len(CONVERSATIONS) - i),
                first_message="hello",
            )
            enquiries.update(s, e.id, now=now, needs=needs, outcome=outcome, district="AV3")
            ids.append(e.id)
        urgent = enquiries.request_callback(
            s,
            enquiry_id=ids[3],
            reason="safeguarding",
            urgent=True,
            name="Mary Jones",
            phone="+447700900903",
            resident_id=None,
            detail="Her son has been taking her pension",
            now=now - timedelta(minutes=20),
        )
        routine = enquiries.request_callback(
            s,
            enquiry_id=ids[5],
            reason="cannot_help",
            urgent=False,
            name="Tom",
            phone="+447700900905",
            resident_id=None,
            detail=None,
            now=now - timedelta(hours=2),
        )
        enquiries.request_checkins(
            s,
            enquiry_id=ids[1],
            name="Joan",
            phone="+447700900901",
            resident_id=None,
            preferred_time="mornings",
            now=now,
        )
    return {"urgent": urgent.id, "routine": routine.id}


def test_an_urgent_callback_marked_done_with_the_keyboard_and_the_dashboards_enquiries(page, hub):
    made = helpline(hub.hub)
    log_in(page, "carol")

    # the board says it loudly, and the navigation counts it
    banner = page.locator(".callback-alarm")
    banner.wait_for()
    assert "1 urgent callback" in banner.inner_text()
    assert page.locator("nav.sections .nav-count").inner_text() == "1 urgent"

    page.get_by_role("link", name="Callbacks").first.click()
    page.get_by_role("heading", name="Callbacks waiting for a person").wait_for()
    rows = page.locator("table.callbacks tbody tr")
    assert rows.count() == 2
    first = rows.nth(0)
    assert first.get_attribute("id") == f"cb-{made['urgent']}" and "URGENT" in first.inner_text()
    assert "20 min" in first.inner_text() and "Safeguarding" in first.inner_text()
    assert first.locator("td").first.evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(161, 29, 29)"

    # keyboard only: from the skip link, Tab to the urgent row's note, type, Tab to its button, Enter
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # skip to main content
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == f"note-{made['urgent']}":
            break
    assert page.evaluate("document.activeElement.id") == f"note-{made['urgent']}"
    page.keyboard.type("Rang Mary; safeguarding referral made")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").startswith("Mark done")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineWidth") not in ("0px", "")
    page.keyboard.press("Enter")
    page.get_by_text("Callback marked done.").wait_for()
    assert page.locator(f"#cb-{made['urgent']}").count() == 0
    assert page.locator(f"#cb-{made['routine']}").count() == 1
    assert page.locator("nav.sections .nav-count").count() == 0
    assert "Rang Mary; safeguarding referral made" in page.locator("section[aria-labelledby=h-done]").inner_text()

    # the dashboard's enquiries card
    page.get_by_role("link", name="Dashboard").click()
    card = page.locator("section[aria-labelledby=h-enquiries]")
    card.get_by_role("heading", name="Enquiries", exact=True).wait_for()
    text = card.inner_text()
    assert "8 enquiries" in text
    assert "Resolved at first contact: 62%" in text  # 3 signposted + 2 introduced of 8
    assert "Six Steps" in text
    assert card.locator("svg.chart").count() == 3 and card.locator("svg.gauge").count() == 1
    card.scroll_into_view_if_needed()
    shot(page, "dashboard-enquiries.png")
    assert (ARTIFACTS / "dashboard-enquiries.png").stat().st_size > 10_000


def test_helpline_pages_at_200_percent_zoom(page, hub):
    helpline(hub.hub)
    log_in(page, "carol")
    # 200% zoom of a 1280 px screen: 640 CSS pixels; nothing should need sideways scrolling
    page.set_viewport_size({"width": 640, "height": 450})
    for url in (
        "/console/callbacks",
        "/console/enquiries",
        "/console/enquiries/4",
        "/console/checkin-requests",
        "/console/followups",
        "/console/directory",
        "/console/directory?need=money_benefits&postcode=AV3",
        "/console/directory/services/ashvale-handyperson/edit",
        "/console/directory/file",
        "/console/dashboard",
    ):
        page.goto(url)
        assert no_sideways_scroll(page), url

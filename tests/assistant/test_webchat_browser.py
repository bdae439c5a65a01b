"""The web chat page in headless Chromium (Playwright) against the running Rasa server.

Keyboard only: the skip link, typing, Enter. Generous waits (the first turn loads the model's
graph), never timing margins. A screenshot is kept in tests/artifacts/webchat.png.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WAIT = 30_000

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture
def page(browser, assistant_stack):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=assistant_stack.rasa_url)
    p = context.new_page()
    p.set_default_timeout(WAIT)
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.errors = errors
    yield p
    context.close()


def bot_messages(page):
    return page.locator("#log li.bot")


def test_the_page_and_its_files_are_served_from_the_rasa_server(assistant_stack):
    base = assistant_stack.rasa_url
    r = httpx.get(f"{base}/webhooks/webchat/", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<title>Ashvale Linkage – chat</title>" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "cdn" not in r.text.lower()
    for name in ("chat.js", "chat.css", "socket.io.min.js"):
        f = httpx.get(f"{base}/webhooks/webchat/static/{name}", timeout=30)
        assert f.status_code == 200, name
    assert "Socket.IO v4" in httpx.get(f"{base}/webhooks/webchat/static/socket.io.min.js", timeout=30).text[:200]
    assert httpx.get(f"{base}/webhooks/webchat/static/..%2Fcredentials.yml", timeout=30).status_code == 404
    # without the slash: redirected to it (the page's links are relative)
    r = httpx.get(f"{base}/webhooks/webchat", timeout=30)
    assert r.status_code in (301, 302, 308) and r.headers["location"].endswith("/webhooks/webchat/")


def test_chat_with_the_keyboard_to_find_services(page, assistant_stack):
    page.goto("/webhooks/webchat/")
    expect(page).to_have_title("Ashvale Linkage – chat")
    bots = bot_messages(page)
    expect(bots.first).to_be_visible(timeout=WAIT)
    expect(bots.first).to_contain_text("Linkage")

    # the message box is labelled, and the skip link takes the keyboard to it
    box = page.get_by_label("Your message")
    expect(box).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "message"
    # a visible focus ring
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert style[0] != "none" and style[1] not in ("0px", ""), style

    page.keyboard.type("I'm struggling to pay my heating bills")
    page.keyboard.press("Enter")
    expect(page.locator("#log li.user").first).to_have_text(
        "You said:I'm struggling to pay my heating bills", use_inner_text=False
    )
    expect(bots).to_have_count(2, timeout=WAIT)
    expect(bots.nth(1)).to_contain_text("postcode", timeout=WAIT)
    # Enter sent it, emptied the box and left the focus there
    assert page.evaluate("document.activeElement.id") == "message"
    expect(box).to_have_value("")

    page.keyboard.type("AV1 2AB")
    page.keyboard.press("Enter")
    services = bots.nth(2)
    expect(services).to_be_visible(timeout=WAIT)
    # phone numbers are tel: links, web addresses are links, built as DOM nodes
    expect(services.locator("a[href^='tel:']").first).to_be_visible(timeout=WAIT)
    assert page.evaluate("document.activeElement.id") == "message"

    # a yes/no question comes with quick-reply buttons, which answer as if typed
    yes = page.locator("#log .choices button", has_text="Yes")
    expect(yes).to_be_visible(timeout=WAIT)
    expect(page.locator("#log .choices button", has_text="No")).to_be_visible()
    yes.click()
    expect(page.locator("#log li.user").last).to_contain_text("Yes")
    expect(bot_messages(page).last).to_contain_text("Is that OK?", timeout=WAIT)
    assert "SKIP" not in page.locator("#log").inner_text()

    # the log is a polite live region; each message says who said it
    log = page.locator("ol#log")
    assert log.get_attribute("aria-live") == "polite"
    assert page.locator("main").count() == 1
    assert page.locator("#log li.bot .who").first.text_content().startswith("Linkage")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webchat.png"), full_page=True)

    # 200% zoom of a 1280 px screen: 640 CSS pixels, no sideways scrolling, nothing clipped
    page.set_viewport_size({"width": 640, "height": 450})
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
    clipped = page.evaluate("""[...document.querySelectorAll('#log li, .composer')]
        .filter(el => el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1).length""")
    assert clipped == 0
    assert page.errors == []


def test_bot_text_is_never_read_as_html(page, assistant_stack):
    page.goto("/webhooks/webchat/")
    expect(bot_messages(page).first).to_be_visible(timeout=WAIT)
    page.evaluate("window.__pwned = false")
    box = page.get_by_label("Your message")
    box.focus()
    page.keyboard.type('<img src=x onerror="window.__pwned=true"> help')
    page.keyboard.press("Enter")
    expect(bot_messages(page)).to_have_count(2, timeout=WAIT)
    assert page.locator("#log img").count() == 0
    assert page.evaluate("window.__pwned") is False


def test_larger_text_still_fits(browser, assistant_stack):
    # the reader's own default font size doubled (rem units follow it)
    context = browser.new_context(
        viewport={"width": 800, "height": 900}, base_url=assistant_stack.rasa_url, bypass_csp=True
    )  # for the test's own style tag
    page = context.new_page()
    try:
        page.goto("/webhooks/webchat/")
        page.add_style_tag(content="html { font-size: 225% !important; }")
        expect(bot_messages(page).first).to_be_visible(timeout=WAIT)
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
        font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#log li.bot .text')).fontSize)")
        assert font >= 32
    finally:
        context.close()

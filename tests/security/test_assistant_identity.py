"""Issue 10, attacks 1 and 2 (and the channel side of 8), played against the running Rasa server.

The shared ``assistant_stack`` (tests/assistant_stack.py) runs Rasa as ``linkage assistant``
does: API token from LINKAGE_RASA_TOKEN (never on the command line), no CORS, loopback only,
Sanic's request size capped, the chat limits on (per conversation), the hub hosting the actions
on the sample site, where Betty (resident ``betty``, home ``home-0001``) has the number
+447700900001.

Each attack is refused; the positive control (a correctly signed Twilio SMS from Betty's number
still opens her P1 alert) runs last in this file.
"""

from __future__ import annotations

import asyncio
import importlib.util
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from telecare.alert.models import Alert, TimelineEntry
from telecare.enquiry.models import CallbackRequest, Enquiry
from telecare.site.models import Home

socketio = pytest.importorskip("socketio")

ROOT = Path(__file__).resolve().parents[2]
BETTY = "+447700900001"
FALLEN = "I've fallen and can't get up"
WAIT = 60  # seconds: an upper bound for one turn, never a timing margin the test relies on


def _limits():
    """assistant/connectors/limits.py is stdlib only; the package around it needs Rasa's Sanic."""
    spec = importlib.util.spec_from_file_location("linkage_chat_limits", ROOT / "assistant/connectors/limits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


limits = _limits()


# --- helpers -------------------------------------------------------------------------------------
def betty_alarms(stack) -> int:
    """How many times an alarm was opened on, or joined to, Betty's home."""
    with stack.sessions() as s:
        home = s.scalars(select(Home).where(Home.ext_id == "home-0001")).one()
        return s.scalar(
            select(func.count())
            .select_from(TimelineEntry)
            .join(Alert)
            .where(Alert.home_id == home.id, TimelineEntry.kind.in_(("opened", "joined")))
        )


def rest(stack, body: dict, **kw) -> httpx.Response:
    return httpx.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=body, timeout=WAIT, **kw)


def said(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def assert_anonymous_emergency_reply(text: str) -> None:
    assert "999" in text, text
    assert "phone number" in text, "an anonymous caller is asked for a number to call back"
    for word in ("Betty", "Smith", "alerted", "responders", "Elm Road"):
        assert word not in text, f"{word!r} told to an unproven caller: {text}"


def enquiry_of(stack, conversation_id: str) -> Enquiry:
    with stack.sessions() as s:
        return s.scalars(
            select(Enquiry).where(Enquiry.conversation_id == conversation_id).order_by(Enquiry.id.desc())
        ).first()


def signed_sms(stack, sender: str, body: str) -> str:
    sid = "SM" + secrets.token_hex(16)
    params = {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": "+441632960999",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    url = stack.public_base_url.rstrip("/") + "/webhooks/twilio_sms/webhook"
    signature = RequestValidator(stack.twilio_auth_token).compute_signature(url, params)
    r = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=WAIT)
    assert r.status_code == 200, r.text
    return " ".join(m.text or "" for m in ET.fromstring(r.text).iter("Message"))


async def _web_chat(url: str, session_id, messages: list[str], until, *, headers=None) -> tuple[str, list[str]]:
    """Connect to the web chat's Socket.IO, ask for ``session_id``, send ``messages`` (each
    with that session id, as a page would) and collect what the bot says until ``until(texts)``."""
    sio = socketio.AsyncClient(reconnection=False)
    loop = asyncio.get_running_loop()
    confirmed: asyncio.Future = loop.create_future()
    texts: list[str] = []
    changed = asyncio.Event()

    @sio.on("session_confirm")
    async def _confirm(data):
        if not confirmed.done():
            confirmed.set_result(data)

    @sio.on("bot_uttered")
    async def _bot(data):
        texts.append((data or {}).get("text") or "")
        changed.set()

    await sio.connect(
        url, socketio_path="/socket.io", transports=["websocket"], headers=headers or {}, wait_timeout=WAIT
    )
    try:
        await sio.emit("session_request", {"session_id": session_id})
        confirmed_id = await asyncio.wait_for(confirmed, WAIT)
        for m in messages:
            await sio.emit("user_uttered", {"message": m, "session_id": session_id})

        async def wait_until():
            while not until(texts):
                changed.clear()
                await changed.wait()

        await asyncio.wait_for(wait_until(), WAIT)
        return confirmed_id, texts
    finally:
        await sio.disconnect()


def web_chat(stack, session_id, messages, until, **kw):
    return asyncio.run(_web_chat(stack.rasa_url, session_id, messages, until, **kw))


# --- attack 1: the REST channel and the web chat cannot claim a phone number -----------------------
def test_rest_sender_sms_id_opens_no_alert_and_names_nobody(assistant_stack):
    stack = assistant_stack
    before = betty_alarms(stack)
    r = rest(stack, {"sender": f"sms:{BETTY}", "message": FALLEN})
    assert r.status_code == 200
    assert_anonymous_emergency_reply(said(r.json()))
    # also naming the signed channel and Betty's number in the body: ignored
    r = rest(
        stack,
        {
            "sender": f"voice:{BETTY}:CA{'0' * 32}",
            "message": FALLEN,
            "input_channel": "twilio_sms",
            "metadata": {"phone": BETTY, "channel": "sms"},
        },
    )
    assert r.status_code == 200
    assert_anonymous_emergency_reply(said(r.json()))
    assert betty_alarms(stack) == before, "an unproven caller raised an alarm on Betty's home"

    # the conversation is the server's rest:… one, anonymous, with an urgent call-back waiting for a number
    e = enquiry_of(stack, f"rest:sms:{BETTY}")
    assert e is not None and e.resident_id is None and e.phone is None and e.channel == "rest"
    assert e.outcome == "emergency"
    with stack.sessions() as s:
        cb = s.scalars(select(CallbackRequest).where(CallbackRequest.enquiry_id == e.id)).one()
        assert cb.urgent and cb.reason == "emergency" and cb.resident_id is None and cb.phone is None
    tracker = stack.tracker(f"rest:sms:{BETTY}")
    assert [ev["input_channel"] for ev in tracker["events"] if ev["event"] == "user"] == ["rest"]

    # giving Betty's number as the call-back number proves nothing and says nothing about it
    r = rest(stack, {"sender": f"sms:{BETTY}", "message": "07700 900001"})
    text = said(r.json())
    assert "call you" in text and "Betty" not in text
    with stack.sessions() as s:
        cb = s.scalars(select(CallbackRequest).where(CallbackRequest.enquiry_id == e.id)).one()
        assert cb.phone == BETTY and cb.resident_id is None
    r = rest(stack, {"sender": f"sms:{BETTY}", "message": FALLEN})
    assert "999" in said(r.json()) and "Betty" not in said(r.json())
    assert betty_alarms(stack) == before


def test_rest_sender_must_be_a_short_string(assistant_stack):
    for body in (
        {"sender": "", "message": "hi"},
        {"sender": "x" * 129, "message": "hi"},
        {"sender": 7, "message": "hi"},
        {"sender": "a", "message": {"text": "hi"}},
        ["hi"],
    ):
        assert rest(assistant_stack, body).status_code == 400, body


def test_web_chat_cannot_choose_a_phone_conversation(assistant_stack):
    stack = assistant_stack
    before = betty_alarms(stack)
    chosen = f"voice:{BETTY}:CA{'1' * 32}"
    confirmed, texts = web_chat(
        stack, chosen, [FALLEN], until=lambda t: any("phone number" in x or "alerted" in x for x in t)
    )
    assert confirmed != chosen and len(confirmed) >= 32, "the server makes a session id of its own"
    assert_anonymous_emergency_reply("\n".join(texts))
    assert betty_alarms(stack) == before
    e = enquiry_of(stack, f"web:{confirmed}")
    assert e is not None and e.resident_id is None and e.channel == "web"
    assert enquiry_of(stack, chosen) is None and enquiry_of(stack, f"web:{chosen}") is None

    # a guessable or foreign id is replaced too; one that looks issued by the server is kept (a reload)
    for bad in ("betty", f"sms:{BETTY}", "a" * 31, "../" + "a" * 40, None, 42):
        confirmed, _ = web_chat(stack, bad, [], until=lambda t: True)
        assert confirmed != bad and len(confirmed) >= 32
    kept = secrets.token_urlsafe(32)
    confirmed, _ = web_chat(stack, kept, [], until=lambda t: True)
    assert confirmed == kept


def test_web_chat_refuses_another_origin(assistant_stack):
    url = f"{assistant_stack.rasa_url}/socket.io/?EIO=4&transport=polling"
    evil = httpx.get(url, headers={"Origin": "https://evil.example"}, timeout=WAIT)
    assert evil.status_code == 400
    assert evil.headers.get("access-control-allow-origin") is None
    own = httpx.get(url, headers={"Origin": assistant_stack.rasa_url}, timeout=WAIT)
    assert own.status_code == 200
    with pytest.raises(socketio.exceptions.ConnectionError):
        web_chat(assistant_stack, None, [], until=lambda t: True, headers={"Origin": "https://evil.example"})


# --- attack 2: Rasa's HTTP API ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", f"/conversations/sms:{BETTY}/tracker", None),
        (
            "POST",
            "/conversations/x/tracker/events",
            [{"event": "slot", "name": "conversation", "value": {"resident": "betty"}}],
        ),
        ("POST", "/model/parse", {"text": "hello"}),
        ("GET", "/status", None),
        ("GET", "/domain", None),
    ],
)
def test_the_http_api_needs_the_token(assistant_stack, method, path, body):
    url = assistant_stack.rasa_url + path
    for params in ({}, {"token": "wrong-" + secrets.token_urlsafe(16)}, {"token": ""}):
        r = httpx.request(method, url, params=params, json=body, timeout=WAIT, headers={"Accept": "application/json"})
        assert r.status_code in (401, 403), (path, params, r.status_code)
        assert "Betty" not in r.text and BETTY not in r.text
    ok = httpx.request(
        method,
        url,
        params={"token": assistant_stack.rasa_token},
        json=body,
        timeout=WAIT,
        headers={"Accept": "application/json"},
    )
    assert ok.status_code == 200, (path, ok.text[:300])


def test_the_http_api_is_refused_through_a_proxy_but_the_channels_are_not(assistant_stack):
    stack = assistant_stack
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    r = httpx.get(f"{stack.rasa_url}/status", params={"token": stack.rasa_token}, headers=forwarded, timeout=WAIT)
    assert r.status_code == 403
    r = httpx.get(
        f"{stack.rasa_url}/conversations/sms:{BETTY}/tracker",
        params={"token": stack.rasa_token},
        headers={"Forwarded": "for=203.0.113.9"},
        timeout=WAIT,
    )
    assert r.status_code == 403 and BETTY not in r.text
    assert httpx.get(f"{stack.rasa_url}/webhooks/rest/", headers=forwarded, timeout=WAIT).status_code == 200
    assert httpx.get(f"{stack.rasa_url}/webhooks/webchat/", headers=forwarded, timeout=WAIT).status_code == 200


def test_the_api_token_is_not_on_any_command_line(assistant_stack):
    token = assistant_stack.rasa_token.encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert token not in cmdline.read_bytes(), f"the Rasa API token shows in {cmdline}"
        except OSError:
            continue  # a process that ended meanwhile


def test_a_slot_set_through_the_api_does_not_make_anyone_a_resident(assistant_stack):
    stack = assistant_stack
    # Betty's own conversation, by signed SMS, not an emergency: her enquiry is in the hub's record
    signed_sms(stack, BETTY, "Hello")
    hers = enquiry_of(stack, f"sms:{BETTY}")
    assert hers is not None and hers.resident_id is not None
    before = betty_alarms(stack)
    sender = "x-" + secrets.token_hex(6)
    forged = {
        "resident": "betty",
        "name": "Betty Smith",
        "phone": BETTY,
        "enquiry": hers.id,
        "district": "AV1",
        "postcode": "AV1 2AB",
    }
    events = [{"event": "slot", "name": "conversation", "value": forged}]
    # without the token: refused
    r = httpx.post(f"{stack.rasa_url}/conversations/rest:{sender}/tracker/events", json=events, timeout=WAIT)
    assert r.status_code in (401, 403)
    # with it (an operator), on the conversation this REST sender will use, and on the bare id
    for conversation in (f"rest:{sender}", sender):
        r = httpx.post(
            f"{stack.rasa_url}/conversations/{conversation}/tracker/events",
            params={"token": stack.rasa_token},
            json=events,
            timeout=WAIT,
        )
        assert r.status_code == 200, r.text
    r = rest(stack, {"sender": sender, "message": FALLEN})
    assert_anonymous_emergency_reply(said(r.json()))
    assert betty_alarms(stack) == before, "a slot made a caller Betty"
    mine = enquiry_of(stack, f"rest:{sender}")
    assert mine is not None and mine.id != hers.id and mine.resident_id is None
    with stack.sessions() as s:
        assert s.get(Enquiry, hers.id).outcome != "emergency", "Betty's enquiry was not touched"


def test_no_other_origin_gets_cors(assistant_stack):
    evil = {"Origin": "https://evil.example"}
    for method, path in (
        ("GET", "/webhooks/rest/"),
        ("GET", "/"),
        ("GET", "/webhooks/webchat/"),
        ("OPTIONS", "/webhooks/rest/webhook"),
        ("OPTIONS", f"/conversations/sms:{BETTY}/tracker"),
    ):
        headers = dict(evil, **({"Access-Control-Request-Method": "POST"} if method == "OPTIONS" else {}))
        r = httpx.request(method, assistant_stack.rasa_url + path, headers=headers, timeout=WAIT)
        allowed = r.headers.get("access-control-allow-origin")
        assert allowed not in ("*", "https://evil.example"), (path, allowed)
        assert r.headers.get("access-control-allow-credentials") is None, path


# --- attack 8, the channel side: size and pace ---------------------------------------------------------
def test_a_request_body_over_64_kib_is_refused(assistant_stack):
    r = rest(assistant_stack, {"sender": "big-" + secrets.token_hex(4), "message": "help " * 20_000})
    assert r.status_code == 413


def test_a_long_message_is_cut_and_the_reply_says_so(assistant_stack):
    r = rest(assistant_stack, {"sender": "long-" + secrets.token_hex(4), "message": "I feel lonely. " * 300})
    assert r.status_code == 200
    messages = r.json()
    assert messages[0]["text"] == limits.CUT_NOTICE and len(messages) > 1
    confirmed, texts = web_chat(assistant_stack, None, ["I feel lonely. " * 300], until=lambda t: len(t) >= 2)
    assert texts[0] == limits.CUT_NOTICE
    # a signed SMS is cut too
    number = "+447700900" + str(400 + secrets.randbelow(99))
    assert signed_sms(assistant_stack, number, "I feel lonely. " * 300).startswith(limits.CUT_NOTICE[:20])


def test_rest_is_rate_limited_per_conversation_with_429(assistant_stack):
    sender = "burst-" + secrets.token_hex(4)
    for _ in range(80):  # the limit is 20 a minute: refused long before 80, however slow each turn
        r = rest(assistant_stack, {"sender": sender, "message": "hello"})
        if r.status_code == 429:
            break
        assert r.status_code == 200
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert "wait" in said(r.json()) and "999" in said(r.json())
    # another conversation carries on
    assert rest(assistant_stack, {"sender": sender + "-other", "message": "hello"}).status_code == 200


def test_web_chat_is_rate_limited_per_conversation_with_a_polite_message(assistant_stack):
    _, texts = web_chat(
        assistant_stack, None, ["hello"] * 40, until=lambda t: any("faster than I can answer" in x for x in t)
    )
    assert any("wait" in x for x in texts)


# --- the positive control (last: it opens Betty's alert) ------------------------------------------------
def test_a_signed_sms_from_bettys_number_still_raises_her_p1_alert(assistant_stack):
    stack = assistant_stack
    before = betty_alarms(stack)
    reply = signed_sms(stack, BETTY, FALLEN)
    assert "999" in reply and "alerted" in reply
    assert betty_alarms(stack) == before + 1
    with stack.sessions() as s:
        home = s.scalars(select(Home).where(Home.ext_id == "home-0001")).one()
        alert = s.scalars(
            select(Alert).where(Alert.home_id == home.id, Alert.state == "open").order_by(Alert.id.desc())
        ).first()
        assert alert is not None and alert.priority == "P1"
        assert any(e.kind in ("opened", "joined") and "helpline assistant" in (e.detail or "") for e in alert.timeline)

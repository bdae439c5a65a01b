"""Logs without people (docs/data-protection.md, "Logs"): a realistic run of the hub, logged at DEBUG,
writes no resident's or contact's name, no phone number unless masked to its last three digits, no
address, no access note and no message text, in the records (caplog) nor in the hub's JSON lines.

The run: a site with a named resident and contacts is loaded; an alarm escalates (messages handed to a
stand-in for Twilio, then one SMS and one call through the real twilio client against the Prism mock); a contact accepts by SMS through the signed
webhook and is sent the access note; an unclear SMS; a check-in by SMS answered in words; a reply
about an unknown alert; a dead letter."""

from __future__ import annotations

import ast
import io
import logging

import orjson
import pytest
from fastapi.testclient import TestClient

from hub.config import Settings
from hub.logging_setup import QUIET, make_handler
from hub.notify.twilio import TwilioNotifier
from hub.runtime import HubRuntime
from hub.web.app import create_app
from telecare.checkin.service import start_now
from telecare.clock import FakeClock
from telecare.events.ingest import Inbound
from telecare.privacy import mask_phone, mask_phones
from telecare.site.loader import load_site

from .conftest import ROOT
from .test_twilio import ACCOUNT_SID, BASE, FROM, TOKEN, FakeTwilio, prism, signed  # noqa: F401  (prism: the fixture)

ARTHUR, MAUD, DEV = "+447700900777", "+447700900778", "+447700900779"
SITE = f"""
contacts:
  - {{id: maud, name: Maud Penhaligon, phone: "{MAUD}", role: family}}
  - {{id: dev, name: Devendra Quist, phone: "{DEV}", role: neighbour}}
policies:
  - id: urgent-a
    for: [P1]
    steps:
      - {{notify: [resident.contacts], via: [sms], ack_within: 2m}}
  - id: wellbeing-a
    for: [P2, P3, P4]
    steps:
      - {{notify: [resident.contacts], via: [sms], ack_within: 30m}}
residents:
  - id: arthur
    name: Arthur Penhaligon
    phone: "{ARTHUR}"
    address: 7 Quarry Lane, Tolvaddon
    postcode: TR14 0HX
    access: Key safe left of the porch, code 4817
    contacts: [maud, dev]
    home:
      id: home-arthur
      devices:
        - {{id: pendant-a, kind: pendant}}
    checkin: {{at: "10:00", days: daily, via: sms, attempts: 2, retry: 10m, policy: wellbeing-a}}
"""
WORDS = (
    "Arthur",
    "Penhaligon",
    "Maud",
    "Devendra",
    "Quist",
    "Quarry Lane",
    "Tolvaddon",
    "TR14",
    "Key safe",
    "4817",
    "porch",
    "my knee",
    "sorry who is this",
    "ladder",
)
PHONES = (ARTHUR, MAUD, DEV)
_sid = iter(range(1, 10_000))


def sms(client, phone: str, body: str):
    sid = f"SM{next(_sid):032x}"
    response = signed(
        client,
        "/twilio/sms",
        {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": phone,
            "To": FROM,
            "Body": body,
            "NumMedia": "0",
        },
    )
    assert response.status_code == 200, response.text
    return response


@pytest.fixture
def hub(db_url, sample_site_text, prism, monkeypatch):  # noqa: F811
    monkeypatch.setenv("LINKAGE_NOTIFIER", "sandbox")
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    rt = HubRuntime(Settings(database_url=db_url), clock=FakeClock(), with_mqtt=False)
    rt.notifier = rt.dispatcher.notifier = FakeTwilio()  # Prism answers every send with the same SID
    rt.twilio = TwilioNotifier(ACCOUNT_SID, TOKEN, FROM, BASE, prism.url)  # the real client, for one of each
    yield rt
    rt.stop()


@pytest.fixture
def hub_log(caplog):
    """Everything at DEBUG, the libraries too (the hub quiets some, hub.logging_setup.QUIET; here they
    are not, so what they would say is checked as well): caplog's records, and the hub's own JSON
    handler into a buffer."""
    buffer = io.StringIO()
    handler = make_handler("json", buffer)
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    for name in QUIET:
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog, buffer
    root.removeHandler(handler)
    root.setLevel(before)


def test_mask_phone():
    assert mask_phone("+447700900201") == "+*********201"
    assert mask_phones("to +44 7700 900201 and 07700900202, alert 1234, at 2026-11-23T02:14:05Z") == (
        "to +*********201 and ********202, alert 1234, at 2026-11-23T02:14:05Z"
    )
    assert mask_phone(None) == "-"


def test_the_hub_handler_masks_a_number_that_got_through():
    buffer = io.StringIO()
    log = logging.getLogger("linkage.test.privacy")
    log.addHandler(make_handler("json", buffer))
    log.propagate = False
    try:
        log.warning("a library said: sending to %s", MAUD)
    finally:
        log.handlers.clear()
        log.propagate = True
    line = orjson.loads(buffer.getvalue().splitlines()[-1])
    assert line["event"] == "a library said: sending to +*********778" and line["level"] == "warning"


LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
PERSONAL = {
    "name",
    "phone",
    "sender",
    "sender_id",
    "body",
    "text",
    "address",
    "access",
    "to",
    "from_",
    "message",
    "said",
    "speech",
    "note",
    "detail",
    "who",
    "answer",
    "first_message",
    "postcode",
}


NOT_PERSONAL = {"self.name", "target.name"}  # a worker thread's name, a model file's name


def _personal_names(node: ast.AST) -> set[str]:
    """Identifiers and attributes named like personal data in a log call's argument, unless masked."""
    if ast.unparse(node) in NOT_PERSONAL:
        return set()
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("mask_phone", "mask_phones", "len")
    ):
        return set()
    found = set()
    if isinstance(node, ast.Name) and node.id in PERSONAL:
        found.add(node.id)
    if isinstance(node, ast.Attribute) and node.attr in PERSONAL:
        found.add(node.attr)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value in PERSONAL:
        found.add(str(node.slice.value))
    for child in ast.iter_child_nodes(node):
        found |= _personal_names(child)
    return found


def test_no_log_call_is_given_personal_data():
    """Every log call in the hub, the domain, the actions and the assistant's connectors: no argument
    named like personal data (a name, phone, sender, body, text, address...) unless masked."""
    bad = []
    for folder in ("telecare", "hub", "actions", "assistant"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in LOG_METHODS
                    and isinstance(node.func.value, (ast.Name, ast.Attribute))
                    and "log" in ast.unparse(node.func.value).lower()
                ):
                    continue
                for arg in [*node.args[1:], *(k.value for k in node.keywords if k.arg != "exc_info")]:
                    if isinstance(node.args[0] if node.args else None, ast.JoinedStr):
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: an f-string message")
                    names = _personal_names(arg)
                    if names:
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {', '.join(sorted(names))}")
                if node.args and isinstance(node.args[0], ast.JoinedStr) and _personal_names(node.args[0]):
                    bad.append(
                        f"{path.relative_to(ROOT)}:{node.lineno}: {', '.join(sorted(_personal_names(node.args[0])))}"
                    )
    assert not bad, "\n".join(bad)


def test_a_day_of_the_hub_logs_no_one(hub, hub_log):
    caplog, buffer = hub_log
    clock = hub.clock
    with hub.sessions() as s, s.begin():
        load_site(s, SITE, clock.now())
    hub.site_changed()
    with TestClient(create_app(hub)) as client:
        alarm = {"event_id": "p-1", "type": "pendant", "ts": "2026-11-23T02:14:05Z"}
        result = hub.ingest.process(
            [
                Inbound(
                    kind="event",
                    topic="telecare/v1/home-arthur/pendant-a/event",
                    payload=orjson.dumps(alarm),
                    home="home-arthur",
                    device="pendant-a",
                ),
                Inbound(
                    kind="event",
                    topic="telecare/v1/home-arthur/pendant-a/event",
                    payload=b'{"note": "Arthur Penhaligon, 7 Quarry Lane, ' + MAUD.encode() + b'"',
                    home="home-arthur",
                    device="pendant-a",
                ),
            ]
        )
        assert result.alerts_opened and result.dead == 1
        assert hub.dispatcher.run_once() >= 1  # an SMS to Maud
        sms(client, DEV, "sorry who is this")
        sms(client, MAUD, "1")  # accepted: Maud is sent the access note
        assert hub.dispatcher.run_once() >= 1
        sms(client, MAUD, "1 I'll bring the ladder")  # again: already hers
        with hub.sessions() as s, s.begin():
            start_now(s, "arthur", clock.now(), actor="test")
        assert hub.dispatcher.run_once() == 1
        sms(client, ARTHUR, "not so good, my knee")
        sms(client, DEV, "2")
        hub.dispatcher.run_once()
    # and the real twilio client, logging at DEBUG, sending one SMS and making one call
    assert hub.twilio.send_sms(
        1, MAUD, "Arthur Penhaligon, 7 Quarry Lane: key safe left of the porch, 4817"
    ).provider_sid
    assert hub.twilio.call(2, DEV, "Arthur Penhaligon has pressed his pendant").provider_sid

    records = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert records, "nothing was logged: the test would prove nothing"
    written = buffer.getvalue()
    everything = "\n".join(records) + "\n" + written
    for word in WORDS:
        assert word not in everything, word
    for phone in PHONES:
        for spelling in (phone, phone[1:], "0" + phone[3:]):
            assert spelling not in everything, phone
        assert mask_phones(phone) == mask_phone(phone)

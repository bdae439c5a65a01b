"""The custom actions as the hub serves them: action calls shaped like Rasa 3.6's, through
POST /assistant/actions/webhook and rasa_sdk's executor, onto the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from actions.frontdoor import ACTION_NAMES, caller
from telecare.alert.models import Alert
from telecare.enquiry.models import Enquiry

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "actions-test-token"


@pytest.fixture
def hub_options():
    """The shared hub (tests/hub_fixtures.py) with the actions' token and the sample directory."""
    return {"env": {"LINKAGE_ACTIONS_TOKEN": TOKEN}, "directory": True}


@pytest.fixture
def hub(runtime):
    return runtime


def call(action: str, text: str, intent: str, *, sender="web-1", channel="socketio", conversation=None) -> dict:
    user = {
        "event": "user",
        "text": text,
        "input_channel": channel,
        "parse_data": {"intent": {"name": intent}},
        "timestamp": 1.0,
    }
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {"slots": {"conversation": {"type": "any"}}, "actions": list(ACTION_NAMES)},
        "tracker": {
            "sender_id": sender,
            "slots": {"conversation": conversation},
            "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
            "events": [user],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
            "latest_input_channel": channel,
        },
    }


def post(client, body, token=TOKEN):
    return client.post("/assistant/actions/webhook", headers={"Authorization": f"Bearer {token}"}, json=body)


def test_every_action_in_the_domain_is_served(client):
    import yaml

    domain = {}
    for f in (ROOT / "assistant" / "domain").glob("*.yml"):
        domain.update(yaml.safe_load(f.read_text()) or {})
    assert set(domain.get("actions", [])) == set(ACTION_NAMES)


def test_a_need_is_answered_and_the_state_comes_back_in_the_slot(client, hub):
    r = post(client, call("action_signpost", "i can't afford my heating bills", "need_money_benefits"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert any("postcode" in m["text"] for m in body["responses"])
    (slot,) = [e for e in body["events"] if e["event"] == "slot" and e["name"] == "conversation"]
    state = slot["value"]
    assert state["awaiting"] == "postcode" and state["needs"] == ["money_benefits"]
    r = post(client, call("action_take_postcode", "AV1 2AB", "inform_postcode", conversation=state))
    texts = "\n".join(m["text"] for m in r.json()["responses"])
    assert "call" in texts.lower()
    with hub.sessions() as s:
        e = s.get(Enquiry, state["enquiry"])
        assert e.channel == "web" and e.outcome == "signposted" and e.services


def test_an_sms_emergency_from_betty_raises_an_alert_through_the_hub(client, hub):
    sender = "sms:+447700900001"
    r = post(
        client, call("action_emergency", "ive fallen and cant get up", "emergency", sender=sender, channel="twilio_sms")
    )
    assert r.status_code == 200, r.text
    assert "999" in r.json()["responses"][0]["text"]
    with hub.sessions() as s:
        alert = s.scalars(select(Alert).where(Alert.type == "assistant_emergency")).one()
        assert alert.priority == "P1"
        e = s.scalars(select(Enquiry)).one()
        assert e.channel == "sms" and e.phone == "+447700900001" and e.outcome == "emergency"


def test_a_wrong_token_is_refused(client):
    assert post(client, call("action_greet", "hi", "greet"), token="nope").status_code == 403


def test_an_unknown_action_is_a_404(client):
    assert post(client, call("action_nonsense", "hi", "greet")).status_code == 404


class _Tracker:
    def __init__(self, sender, channel):
        self.sender_id, self._channel = sender, channel

    def get_latest_input_channel(self):
        return self._channel


def test_the_caller_is_read_from_the_conversation_id():
    assert caller(_Tracker("sms:+447700900001", "twilio_sms")) == ("sms", "+447700900001")
    assert caller(_Tracker("voice:+447700900001:CA123", "twilio_voice")) == ("voice", "+447700900001")
    assert caller(_Tracker("abc123", "socketio")) == ("web", None)
    assert caller(_Tracker("tester", "rest")) == ("rest", None)


def test_a_phone_needs_both_the_signed_id_and_the_signed_channel():
    # the id alone (a REST or web chat caller who got one somehow) proves nothing
    assert caller(_Tracker("sms:+447700900001", "rest")) == ("rest", None)
    assert caller(_Tracker("voice:+447700900001:CA123", "socketio")) == ("web", None)
    # the channel alone (Rasa's REST channel let a body name its input channel) proves nothing
    assert caller(_Tracker("rest:sms:+447700900001", "twilio_sms")) == ("rest", None)
    assert caller(_Tracker("web:" + "a" * 43, "twilio_voice")) == ("web", None)
    # an id that only looks like a number
    assert caller(_Tracker("sms:betty", "twilio_sms")) == ("web", None)
    assert caller(_Tracker("voice:+447700900001", "twilio_sms")) == ("web", None)

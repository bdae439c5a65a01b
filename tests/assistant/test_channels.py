"""The signed Twilio channels of the running Rasa server (assistant/connectors/), over loopback.

Requests are signed as Twilio signs them (the main environment's twilio RequestValidator,
over the public URL the Rasa server was started with, and the form fields).
"""

from __future__ import annotations

import random
import re
import secrets
import threading
import xml.etree.ElementTree as ET

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from telecare.enquiry.models import Enquiry

SMS_PATH = "/webhooks/twilio_sms/webhook"
VOICE_PATH = "/webhooks/twilio_voice/webhook"
# callers the sample site does not know: Ofcom's drama range, 07700 900500-900999, each used once
_numbers = iter(random.Random().sample(range(500, 1000), 500))


def new_number() -> str:
    return f"+447700900{next(_numbers):03d}"


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def post(
    stack, path: str, params: dict, *, token: str | None = None, signed: bool = True, signature: str | None = None
) -> httpx.Response:
    url = stack.public_base_url.rstrip("/") + path
    headers = {}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    elif signed:
        headers["X-Twilio-Signature"] = RequestValidator(token or stack.twilio_auth_token).compute_signature(
            url, params
        )
    return httpx.post(stack.rasa_url.rstrip("/") + path, data=params, headers=headers, timeout=60)


def sms_params(sender: str, body: str, sid: str | None = None) -> dict:
    """What Twilio posts for an incoming SMS (blank fields included: Twilio signs them too)."""
    sid = sid or new_sid("SM")
    return {
        "ToCountry": "GB",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "GB",
        "To": "+441632960999",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def send_sms(stack, sender: str, body: str, sid: str | None = None) -> list[str]:
    params = sms_params(sender, body, sid)
    r = post(stack, SMS_PATH, params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(r.text)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


class Call:
    def __init__(self, stack, caller: str):
        self.stack = stack
        self.caller = caller
        self.sid = new_sid("CA")

    def params(self, status: str, **extra: str) -> dict:
        return {
            "AccountSid": "AC" + "0" * 32,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": status,
            "Called": "+441632960999",
            "Caller": self.caller,
            "Direction": "inbound",
            "From": self.caller,
            "FromCity": "",
            "FromCountry": "GB",
            "To": "+441632960999",
            **extra,
        }

    def request(self, params: dict) -> ET.Element:
        r = post(self.stack, VOICE_PATH, params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/xml")
        root = ET.fromstring(r.text)
        assert root.tag == "Response"
        return root

    def answer(self) -> ET.Element:
        return self.request(self.params("ringing"))

    def say(self, speech: str) -> ET.Element:
        return self.request(self.params("in-progress", SpeechResult=speech, Confidence="0.92"))

    def press(self, digits: str) -> ET.Element:
        return self.request(self.params("in-progress", Digits=digits))

    def silence(self) -> ET.Element:
        return self.request(self.params("in-progress"))

    @property
    def sender_id(self) -> str:
        return f"voice:{self.caller}:{self.sid}"


def spoken(root: ET.Element) -> str:
    return " ".join("".join(say.itertext()).strip() for say in root.iter("Say"))


def user_events(stack, sender_id: str) -> list[dict]:
    return [e for e in stack.tracker(sender_id)["events"] if e["event"] == "user"]


# -- SMS --------------------------------------------------------------------------------------------------------------
def test_a_signed_sms_is_answered_with_twiml(assistant_stack):
    sender = new_number()
    messages = send_sms(assistant_stack, sender, "Hello")
    assert messages and all(messages)
    assert "Linkage" in " ".join(messages)
    [event] = user_events(assistant_stack, f"sms:{sender}")
    assert event["text"] == "Hello"
    assert event["input_channel"] == "twilio_sms"
    assert event["metadata"]["phone"] == sender
    assert event["metadata"]["channel"] == "sms"
    assert event["metadata"]["message_sid"].startswith("SM")


def test_a_long_sms_reply_comes_in_parts_at_sentence_ends(assistant_stack):
    sender = new_number()
    send_sms(assistant_stack, sender, "I'm struggling to pay my heating bills")
    parts = send_sms(assistant_stack, sender, "AV1 2AB")
    assert 1 < len(parts) <= 6, parts
    assert all(len(p) <= 153 for p in parts), parts
    for p in parts[:-1]:
        assert p.rstrip().endswith((".", "?", "!")), parts
    # a phone number is in one part, whole
    text = " ".join(parts)
    for number in re.findall(r"\b0\d{3,4} \d{3} ?\d{3,4}\b", text):
        assert any(number in p for p in parts), (number, parts)


@pytest.mark.parametrize("how", ["missing", "wrong token", "other url", "tampered body"])
def test_an_sms_without_a_good_signature_is_refused_and_never_reaches_the_assistant(assistant_stack, how):
    stack = assistant_stack
    sender = new_number()
    params = sms_params(sender, "I have fallen")
    if how == "missing":
        r = post(stack, SMS_PATH, params, signed=False)
    elif how == "wrong token":
        r = post(stack, SMS_PATH, params, token="0" * 32)
    elif how == "other url":
        sig = RequestValidator(stack.twilio_auth_token).compute_signature(
            stack.public_base_url.rstrip("/") + VOICE_PATH, params
        )
        r = post(stack, SMS_PATH, params, signature=sig)
    else:
        sig = RequestValidator(stack.twilio_auth_token).compute_signature(
            stack.public_base_url.rstrip("/") + SMS_PATH, params
        )
        r = post(stack, SMS_PATH, dict(params, Body="I have fallen and need help"), signature=sig)
    assert r.status_code == 403
    assert "<Message>" not in r.text
    assert user_events(stack, f"sms:{sender}") == []
    with stack.sessions() as s:
        assert s.scalars(select(Enquiry).where(Enquiry.phone == sender)).all() == []


def test_a_call_without_a_good_signature_is_refused(assistant_stack):
    call = Call(assistant_stack, new_number())
    r = post(assistant_stack, VOICE_PATH, call.params("ringing"), signed=False)
    assert r.status_code == 403
    r = post(assistant_stack, VOICE_PATH, call.params("ringing"), token="1" * 32)
    assert r.status_code == 403
    assert user_events(assistant_stack, call.sender_id) == []


def test_a_retried_message_sid_is_processed_once(assistant_stack):
    sender = new_number()
    sid = new_sid("SM")
    first = send_sms(assistant_stack, sender, "I feel lonely since my wife died", sid=sid)
    again = send_sms(assistant_stack, sender, "I feel lonely since my wife died", sid=sid)
    assert again == first
    events = user_events(assistant_stack, f"sms:{sender}")
    assert [e["metadata"]["message_sid"] for e in events] == [sid]


def test_retries_arriving_together_are_processed_once(assistant_stack):
    sender = new_number()
    sid = new_sid("SM")
    answers: list[list[str]] = []

    def deliver():
        answers.append(send_sms(assistant_stack, sender, "Can someone help me with my garden?", sid=sid))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert len(answers) == 4
    assert all(a == answers[0] for a in answers) and answers[0]
    assert len(user_events(assistant_stack, f"sms:{sender}")) == 1


# -- voice ------------------------------------------------------------------------------------------------------------
def assert_gathers(root: ET.Element, stack) -> ET.Element:
    gather = root.find("Gather")
    assert gather is not None, ET.tostring(root, encoding="unicode")
    assert gather.get("input") == "speech dtmf"
    assert gather.get("action") == stack.public_base_url.rstrip("/") + VOICE_PATH
    assert gather.get("method") == "POST"
    assert gather.get("speechTimeout") == "auto"
    assert gather.get("language") == "en-GB"
    assert gather.get("actionOnEmptyResult") == "true"
    assert root.find("Hangup") is None
    # everything is said before listening
    children = list(root)
    assert children[-1] is gather and all(c.tag == "Say" for c in children[:-1])
    return gather


def assert_said_slowly(root: ET.Element) -> None:
    says = list(root.iter("Say"))
    assert says
    for say in says:
        assert say.get("voice") == "Polly.Amy"
        assert say.get("language") == "en-GB"
        prosody = say.find("prosody")
        assert prosody is not None and prosody.get("rate") == "85%"


def test_a_call_is_greeted_and_listened_to(assistant_stack):
    call = Call(assistant_stack, new_number())
    root = call.answer()
    assert_said_slowly(root)
    assert "Linkage" in spoken(root)
    assert_gathers(root, assistant_stack)
    [event] = user_events(assistant_stack, call.sender_id)
    assert event["text"] == "/greet"
    assert event["input_channel"] == "twilio_voice"
    meta = event["metadata"]
    assert (meta["phone"], meta["channel"], meta["call_sid"]) == (call.caller, "voice", call.sid)


def test_what_the_caller_says_is_answered_in_speech(assistant_stack):
    call = Call(assistant_stack, new_number())
    call.answer()
    root = call.say("I'm struggling to pay my heating bills")
    assert "postcode" in spoken(root).lower()
    assert_gathers(root, assistant_stack)
    root = call.say("AV1 2AB")
    said = spoken(root)
    assert_said_slowly(root)
    assert_gathers(root, assistant_stack)
    assert "http" not in said and "www." not in said
    # phone numbers are read digit by digit: no run of 4 or more digits is left
    assert not re.search(r"\d{4,}", said), said
    assert re.search(r"(\d ){4,}\d", said), said
    texts = [e["text"] for e in user_events(assistant_stack, call.sender_id)]
    assert texts == ["/greet", "I'm struggling to pay my heating bills", "AV1 2AB"]


def test_silence_twice_says_goodbye_with_the_helpline_and_hangs_up(assistant_stack):
    call = Call(assistant_stack, new_number())
    call.answer()
    root = call.silence()
    assert "didn't hear" in spoken(root)
    assert_gathers(root, assistant_stack)
    root = call.silence()
    assert root.find("Hangup") is not None and root.find("Gather") is None
    said = spoken(root)
    assert "goodbye" in said.lower()
    assert re.search(r"(\d ){4,}\d", said), said  # the helpline number, digit by digit
    # silence is not a turn of the conversation
    assert [e["text"] for e in user_events(assistant_stack, call.sender_id)] == ["/greet"]


def test_speaking_after_one_silence_starts_the_count_again(assistant_stack):
    call = Call(assistant_stack, new_number())
    call.answer()
    call.silence()
    assert_gathers(call.say("Can you help me get to the shops?"), assistant_stack)
    assert_gathers(call.silence(), assistant_stack)
    assert call.silence().find("Hangup") is not None


def test_keypad_digits_are_an_answer(assistant_stack):
    call = Call(assistant_stack, new_number())
    call.answer()
    root = call.press("0")
    assert_gathers(root, assistant_stack)
    assert [e["text"] for e in user_events(assistant_stack, call.sender_id)] == ["/greet", "0"]


def test_saying_goodbye_ends_the_call(assistant_stack):
    call = Call(assistant_stack, new_number())
    call.answer()
    root = call.say("No thank you, goodbye")
    assert root.find("Hangup") is not None and root.find("Gather") is None
    assert list(root)[-1].tag == "Hangup"
    assert spoken(root)


def test_sms_and_a_call_from_the_same_number_are_separate_conversations(assistant_stack):
    stack = assistant_stack
    number = new_number()
    send_sms(stack, number, "I'm struggling to pay my heating bills")
    call = Call(stack, number)
    call.answer()
    call.say("I feel lonely")
    send_sms(stack, number, "AV1 2AB")

    sms_texts = [e["text"] for e in user_events(stack, f"sms:{number}")]
    voice_texts = [e["text"] for e in user_events(stack, call.sender_id)]
    assert sms_texts == ["I'm struggling to pay my heating bills", "AV1 2AB"]
    assert voice_texts == ["/greet", "I feel lonely"]

    # a second call is a conversation of its own too
    second = Call(stack, number)
    second.answer()
    assert [e["text"] for e in user_events(stack, second.sender_id)] == ["/greet"]

    with stack.sessions() as s:
        rows = s.scalars(select(Enquiry).where(Enquiry.phone == number).order_by(Enquiry.id)).all()
        by_conversation = {r.conversation_id: r.channel for r in rows}
    assert by_conversation == {f"sms:{number}": "sms", call.sender_id: "voice", second.sender_id: "voice"}


def test_a_postcode_question_on_a_call_gives_the_gather_speech_hints_and_a_spelled_answer_is_understood(
    assistant_stack,
):
    stack = assistant_stack
    call = Call(stack, new_number())
    call.answer()
    root = call.say("I can't afford to pay my heating bills")
    assert "postcode" in spoken(root).lower()
    gather = root.find("Gather")
    hints = [h.strip() for h in (gather.get("hints") or "").split(",")]
    assert {"A V 3", "AV3", "Northfield"} <= set(hints), hints
    root = call.say("a v three four p q")
    said = spoken(root)
    assert "Here's who can help" in said or "For money" in said, said
    assert "didn't catch a postcode" not in said
    assert not root.find("Gather").get("hints"), "no hints once the postcode is answered"

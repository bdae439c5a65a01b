"""Attack 3: the hub ran the assistant's actions for any loopback caller, took the token in
the query string and parsed the body before checking it.

Now POST /assistant/actions/webhook needs ``Authorization: Bearer <LINKAGE_ACTIONS_TOKEN>``,
checked before the body is read; a hub without the token serves no actions; bodies are
capped; an unknown action is a 404 and makes no metrics label. Played over real HTTP against
a hub on a loopback port (the attacker's position behind a same-host proxy), and the
positive control: the right token runs an action.
"""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest
from sqlalchemy import func, select

from hub.web import assistant_routes
from telecare.alert.models import Alert
from telecare.enquiry.models import CallbackRequest, Enquiry

from ..console_helpers import load_sample_directory, make_runtime
from ..served import Served

ROOT = Path(__file__).resolve().parents[2]
PATH = "/assistant/actions/webhook"
TOKEN = "actions-" + uuid.uuid4().hex


def action_call(
    action: str = "action_emergency",
    text: str = "I've fallen and can't get up",
    intent: str = "emergency",
    sender: str = "sms:+447700900001",
    channel: str = "twilio_sms",
) -> dict:
    """An action call as Rasa 3.6 sends it: here Betty's signed SMS number, the strongest claim."""
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
        "domain": {"slots": {"conversation": {"type": "any"}}, "actions": [action]},
        "tracker": {
            "sender_id": sender,
            "slots": {"conversation": None},
            "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []},
            "events": [user],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
            "latest_input_channel": channel,
        },
    }


def _runtime(sqlite_url, sample_site_text):
    runtime = make_runtime(sqlite_url, sample_site_text)
    load_sample_directory(runtime)
    return runtime


@pytest.fixture
def served(sqlite_url, sample_site_text, monkeypatch):
    monkeypatch.setenv("LINKAGE_ACTIONS_TOKEN", TOKEN)
    runtime = _runtime(sqlite_url, sample_site_text)
    try:
        with Served(runtime) as srv:
            yield srv
    finally:
        runtime.stop()


@pytest.fixture
def served_without_token(sqlite_url, sample_site_text, monkeypatch):
    monkeypatch.delenv("LINKAGE_ACTIONS_TOKEN", raising=False)
    runtime = _runtime(sqlite_url, sample_site_text)
    assert runtime.settings.actions_token is None
    try:
        with Served(runtime) as srv:
            yield srv
    finally:
        runtime.stop()


def nothing_ran(hub) -> bool:
    with hub.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Alert)) == 0
            and s.scalar(select(func.count()).select_from(Enquiry)) == 0
            and s.scalar(select(func.count()).select_from(CallbackRequest)) == 0
        )


def post(srv, body=None, *, headers=None, params=None, content=None) -> httpx.Response:
    return httpx.post(
        srv.url + PATH,
        json=body if content is None else None,
        content=content,
        headers=headers or {},
        params=params,
        timeout=30,
    )


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_refused_and_nothing_runs(served):
    r = post(served, action_call())
    assert r.status_code == 401
    assert r.headers.get("www-authenticate") == "Bearer"
    assert "LINKAGE_ACTIONS_TOKEN" in r.json()["detail"]
    assert nothing_ran(served.hub)


@pytest.mark.parametrize(
    "headers",
    [
        bearer("nope"),
        bearer(TOKEN + "x"),
        bearer(TOKEN[:-1]),
        bearer("é" + TOKEN),  # not ASCII: still a plain refusal, not a 500
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer"},
        {"X-Actions-Token": TOKEN},
    ],
)
def test_a_wrong_or_misplaced_token_is_refused_and_nothing_runs(served, headers):
    r = post(served, action_call(), headers={k: v.encode("utf-8") for k, v in headers.items()})
    assert r.status_code in (401, 403), r.text
    assert nothing_ran(served.hub)


def test_the_token_in_the_query_string_counts_for_nothing(served):
    r = post(served, action_call(), params={"token": TOKEN})
    assert r.status_code == 401
    assert nothing_ran(served.hub)


def test_a_loopback_caller_without_a_token_is_not_trusted(served):
    """Served binds 127.0.0.1: every request here comes from loopback, and that proves nothing."""
    assert served.url.startswith("http://127.0.0.1:")
    for action in ("action_emergency", "action_handoff", "action_greet"):
        assert post(served, action_call(action)).status_code == 401
    assert nothing_ran(served.hub)


def test_a_hub_without_the_token_serves_no_actions(served_without_token, caplog):
    srv = served_without_token
    for headers in ({}, {"Authorization": "Bearer"}, bearer("anything"), bearer("None")):
        r = post(srv, action_call(), headers=headers)
        assert r.status_code == 404
        assert "LINKAGE_ACTIONS_TOKEN is not set" in r.json()["detail"]
    assert nothing_ran(srv.hub)
    # and the hub says so when it starts
    with caplog.at_level("WARNING", logger="linkage.assistant"):
        assistant_routes.announce(srv.server.config.app)
    assert any("assistant actions: off" in r.getMessage() for r in caplog.records)


def test_the_start_log_runs_from_the_apps_lifespan(sqlite_url, sample_site_text, monkeypatch, caplog):
    from fastapi.testclient import TestClient

    from hub.web.app import create_app

    monkeypatch.delenv("LINKAGE_ACTIONS_TOKEN", raising=False)
    runtime = _runtime(sqlite_url, sample_site_text)
    try:
        with caplog.at_level("INFO", logger="linkage.assistant"), TestClient(create_app(runtime)):
            pass
    finally:
        runtime.stop()
    assert any("assistant actions: off" in r.getMessage() for r in caplog.records)


def test_a_huge_body_is_refused_without_running_anything(served):
    body = action_call()
    body["tracker"]["events"] = [{"event": "bot", "text": "x" * 1000}] * 2000  # ~2 MiB
    raw = json.dumps(body).encode()
    assert len(raw) > assistant_routes.MAX_BODY
    assert post(served, content=raw, headers={**bearer(TOKEN), "Content-Type": "application/json"}).status_code == 413
    assert post(served, content=raw, headers={"Content-Type": "application/json"}).status_code in (401, 413)

    def chunks():  # no Content-Length: counted as it is read
        for i in range(0, len(raw), 64 * 1024):
            yield raw[i : i + 64 * 1024]

    r = httpx.post(
        served.url + PATH, content=chunks(), headers={**bearer(TOKEN), "Content-Type": "application/json"}, timeout=30
    )
    assert r.status_code == 413
    assert nothing_ran(served.hub)


def test_the_token_is_checked_before_the_body_is_read(served):
    """Headers that promise a body which never comes: the refusal must not wait for it."""
    host, port = "127.0.0.1", served.port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                "Content-Length: 5000\r\n\r\n"
            ).encode()
        )
        sock.settimeout(10)
        head = sock.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 401"), head[:200]
    assert nothing_ran(served.hub)


@pytest.mark.parametrize("content", [b"", b"not json", b"[1, 2]", b'"action_emergency"', b"\xff\xfe"])
def test_a_body_that_is_not_an_action_call_is_a_400(served, content):
    r = post(served, content=content, headers={**bearer(TOKEN), "Content-Type": "application/json"})
    assert r.status_code == 400
    assert nothing_ran(served.hub)


def _labels() -> set[str]:
    return {
        s.labels.get("action")
        for m in REGISTRY.collect()
        if m.name == "linkage_assistant_action_seconds"
        for s in m.samples
    }


def test_an_unknown_action_is_a_404_and_makes_no_metrics_label(served):
    before = _labels()
    names = [f"action_made_up_{uuid.uuid4().hex}", "", "../action_emergency", None, 42, {"a": 1}]
    for name in names:
        body = action_call()
        body["next_action"] = name
        r = post(served, body, headers=bearer(TOKEN))
        assert r.status_code == 404, (name, r.text)
    after = _labels()
    assert after == before, after - before
    assert nothing_ran(served.hub)
    assert b"action_made_up_" not in generate_latest(REGISTRY)


def test_the_right_token_runs_the_action(served):
    """Positive control: our Rasa server's call (header token) raises Betty's alert."""
    r = post(served, action_call(), headers=bearer(TOKEN))
    assert r.status_code == 200, r.text
    body = r.json()
    assert "999" in body["responses"][0]["text"]
    with served.hub.sessions() as s:
        alert = s.scalars(select(Alert).where(Alert.type == "assistant_emergency")).one()
        assert alert.priority == "P1"
    assert "action_emergency" in _labels()


def test_the_endpoints_file_sends_the_token_in_a_header():
    import yaml

    config = yaml.safe_load((ROOT / "assistant" / "endpoints.yml").read_text(encoding="utf-8"))
    endpoint = config["action_endpoint"]
    assert endpoint["headers"] == {"Authorization": "Bearer ${LINKAGE_ACTIONS_TOKEN}"}
    assert "token" not in endpoint and "params" not in endpoint  # never in the URL


def test_our_rasa_server_sends_the_token_in_the_header(assistant_stack):
    """Positive control through the real Rasa 3.6 server: assistant/endpoints.yml's header
    reaches the hub (a refused action call would leave the assistant silent)."""
    sender = f"actions-header-{uuid.uuid4().hex[:8]}"
    before = REGISTRY.get_sample_value("linkage_assistant_action_seconds_count", {"action": "action_greet"}) or 0
    text = assistant_stack.texts(sender, "hello")
    assert "What matters to you" in text, text
    after = REGISTRY.get_sample_value("linkage_assistant_action_seconds_count", {"action": "action_greet"}) or 0
    assert after == before + 1
    with assistant_stack.sessions() as s:
        assert s.scalars(select(Enquiry).where(Enquiry.conversation_id == f"rest:{sender}")).one()


def test_linkage_assistant_will_not_start_without_the_token(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from hub import assistant_runner, cli

    started = []
    monkeypatch.delenv("LINKAGE_ACTIONS_TOKEN", raising=False)
    monkeypatch.setattr(assistant_runner, "ensure_model", lambda **kw: assistant_runner.ROOT / "models" / "x.tar.gz")
    monkeypatch.setattr(assistant_runner, "start_server", lambda *a, **kw: started.append(kw))
    result = CliRunner().invoke(cli.main, ["assistant", "--hub-url", "http://127.0.0.1:9"])  # nothing there
    assert result.exit_code == 2, result.output
    assert "LINKAGE_ACTIONS_TOKEN is not set" in result.output
    assert started == []

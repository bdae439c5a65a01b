"""The HTTP API (DESIGN.md, "HTTP API") through FastAPI's TestClient, on a HubRuntime without
MQTT and with a FakeClock. Alerts are made by handing Inbound messages to the hub's ingest."""

from __future__ import annotations

import pytest

from telecare.events.ingest import Inbound

from .console_helpers import alarm
from .hub_fixtures import api_routes, bearer


@pytest.fixture
def hub_options():
    return {"users": False}  # the sample site and Bert's home; no console users


@pytest.fixture
def responder(runtime):
    # a responder bound to Sue's contact record: Sue is called first for every alarm at Betty's home
    return bearer(runtime, "Sue's token", "responder", contact="sue")


# -- authentication ---------------------------------------------------------------------------------
def test_health_needs_no_token(client):
    response = client.get("/api/health")

    # The runtime was not started, so the scheduler is not running: degraded, but answered.
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["scheduler"]["supervision_running"] is False and body["scheduler"]["timers_running"] is False
    assert body["devices_registered"] == 5


def _protected(app) -> list[tuple[str, str]]:
    out = []
    for route in api_routes(app.routes):
        if (route.path.startswith("/api/") or route.path == "/metrics") and route.path != "/api/health":
            path = route.path.replace("{alert_id}", "1").replace("{key}", "heartbeat_grace")
            out.extend((method, path) for method in sorted(route.methods))
    return out


def test_every_other_endpoint_needs_a_token(client):
    endpoints = _protected(client.app)
    assert ("GET", "/api/alerts") in endpoints
    assert ("GET", "/metrics") in endpoints

    for method, path in endpoints:
        missing = client.request(method, path)
        wrong = client.request(method, path, headers={"Authorization": "Bearer lk_not-a-token"})
        assert missing.status_code == 401, (method, path)
        assert wrong.status_code == 401, (method, path)
        assert missing.headers["WWW-Authenticate"] == "Bearer"


# -- alerts -------------------------------------------------------------------------------------------
def test_list_open_alerts(runtime, client, staff):
    alert_id = alarm(runtime)

    response = client.get("/api/alerts", headers=staff)

    assert response.status_code == 200
    (alert,) = response.json()
    assert alert["id"] == alert_id
    assert (alert["resident"], alert["home"], alert["device"]) == ("betty", "home-0001", "pendant-1")
    assert (alert["type"], alert["priority"], alert["state"]) == ("pendant", "P1", "open")
    assert alert["opened_at"].startswith("2026-11-23T02:00:00")
    assert alert["acknowledged_by"] is None and alert["outcome"] is None


def test_open_leaves_out_closed_alerts_and_all_includes_them(runtime, client, staff):
    closed = alarm(runtime)
    client.post(f"/api/alerts/{closed}/resolve", json={"outcome": "false_alarm"}, headers=staff)
    still_open = alarm(runtime)

    open_ids = [a["id"] for a in client.get("/api/alerts?state=open", headers=staff).json()]
    all_ids = {a["id"] for a in client.get("/api/alerts?state=all", headers=staff).json()}

    assert open_ids == [still_open]
    assert all_ids == {closed, still_open}


def test_list_alerts_of_one_resident(runtime, client, staff):
    alarm(runtime, home="home-0001")
    berts = alarm(runtime, home="home-0002")

    response = client.get("/api/alerts", params={"resident": "bert"}, headers=staff)

    assert [(a["id"], a["resident"]) for a in response.json()] == [(berts, "bert")]


def test_list_alerts_with_an_unknown_state_is_refused(client, staff):
    assert client.get("/api/alerts?state=sleeping", headers=staff).status_code == 422


def test_alert_detail_has_the_timeline(runtime, client, staff):
    alert_id = alarm(runtime)
    alarm(runtime, device="fall-1", type="fall")

    response = client.get(f"/api/alerts/{alert_id}", headers=staff)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == alert_id
    assert [t["kind"] for t in body["timeline"] if t["kind"] in ("opened", "joined")] == ["opened", "joined"]
    assert "notified" in [t["kind"] for t in body["timeline"]]  # escalation is on the timeline too
    assert all({"at", "kind", "detail"} <= set(t) for t in body["timeline"])


def test_missing_alert_is_404(client, staff):
    assert client.get("/api/alerts/999", headers=staff).status_code == 404


@pytest.mark.parametrize(
    "action,body", [("acknowledge", None), ("arrived", None), ("resolve", {"outcome": "no_injury"}), ("cancel", None)]
)
def test_action_on_a_missing_alert_is_404(client, staff, action, body):
    response = client.post(f"/api/alerts/999/{action}", json=body, headers=staff)

    assert response.status_code == 404
    assert "999" in response.json()["detail"]


def test_acknowledge_records_the_token_name(runtime, client, responder):
    alert_id = alarm(runtime)

    response = client.post(f"/api/alerts/{alert_id}/acknowledge", headers=responder)

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["acknowledged_by"]) == ("acknowledged", "Sue's token")
    assert body["timeline"][-1]["kind"] == "acknowledged"
    assert body["timeline"][-1]["actor"] == "Sue's token"


def test_acknowledging_twice_is_409_naming_who(runtime, client, staff, responder):
    alert_id = alarm(runtime)
    client.post(f"/api/alerts/{alert_id}/acknowledge", headers=responder)

    response = client.post(f"/api/alerts/{alert_id}/acknowledge", headers=staff)

    assert response.status_code == 409
    assert "by Sue's token" in response.json()["detail"]


def test_arrived_then_resolve(runtime, client, responder):
    alert_id = alarm(runtime)

    arrived = client.post(f"/api/alerts/{alert_id}/arrived", headers=responder)
    resolved = client.post(f"/api/alerts/{alert_id}/resolve", json={"outcome": "no_injury"}, headers=responder)

    assert arrived.status_code == 200 and arrived.json()["state"] == "attending"
    assert resolved.status_code == 200
    assert (resolved.json()["state"], resolved.json()["outcome"]) == ("resolved", "no_injury")


def test_resolve_with_an_unknown_outcome_is_422(runtime, client, staff):
    alert_id = alarm(runtime)

    response = client.post(f"/api/alerts/{alert_id}/resolve", json={"outcome": "fixed"}, headers=staff)

    assert response.status_code == 422
    assert client.get(f"/api/alerts/{alert_id}", headers=staff).json()["state"] == "open"


def test_resolve_without_an_outcome_is_422(runtime, client, staff):
    alert_id = alarm(runtime)

    assert client.post(f"/api/alerts/{alert_id}/resolve", json={}, headers=staff).status_code == 422


def test_cancel_an_open_alert(runtime, client, staff):
    alert_id = alarm(runtime)

    response = client.post(f"/api/alerts/{alert_id}/cancel", json={"reason": "pressed by mistake"}, headers=staff)

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert "pressed by mistake" in response.json()["timeline"][-1]["detail"]


def test_cancel_while_attending_is_409(runtime, client, staff):
    alert_id = alarm(runtime)
    client.post(f"/api/alerts/{alert_id}/arrived", headers=staff)

    response = client.post(f"/api/alerts/{alert_id}/cancel", headers=staff)

    assert response.status_code == 409
    assert client.get(f"/api/alerts/{alert_id}", headers=staff).json()["state"] == "attending"


def test_resolve_a_resolved_alert_is_409(runtime, client, staff):
    alert_id = alarm(runtime)
    client.post(f"/api/alerts/{alert_id}/resolve", json={"outcome": "false_alarm"}, headers=staff)

    response = client.post(f"/api/alerts/{alert_id}/resolve", json={"outcome": "no_injury"}, headers=staff)

    assert response.status_code == 409


# -- dead letters -------------------------------------------------------------------------------------
def test_deadletters_lists_rejected_messages(runtime, client, staff):
    runtime.ingest.process(
        [
            Inbound(
                kind="event",
                topic="telecare/v1/home-0001/pendant-1/event",
                payload=b"not json",
                home="home-0001",
                device="pendant-1",
            )
        ]
    )

    response = client.get("/api/deadletters", headers=staff)

    assert response.status_code == 200
    (dead,) = response.json()
    assert (dead["kind"], dead["topic"], dead["payload"]) == (
        "bad_json",
        "telecare/v1/home-0001/pendant-1/event",
        "not json",
    )
    assert "not valid JSON" in dead["reason"]


# -- configuration: staff only --------------------------------------------------------------------------
def test_responder_cannot_change_a_setting(client, responder, staff):
    response = client.put("/api/settings/heartbeat_grace", json={"value": "10m"}, headers=responder)

    assert response.status_code == 403
    assert client.get("/api/settings", headers=responder).status_code == 403  # settings are staff's to read too
    assert client.get("/api/settings", headers=staff).json()["heartbeat_grace"] == "5m"


def test_staff_can_change_a_setting(client, staff):
    response = client.put("/api/settings/heartbeat_grace", json={"value": "600s"}, headers=staff)

    assert response.status_code == 200
    assert response.json() == {"heartbeat_grace": "10m"}
    assert client.get("/api/settings", headers=staff).json()["heartbeat_grace"] == "10m"


def test_bad_setting_value_is_422(client, staff):
    response = client.put("/api/settings/heartbeat_grace", json={"value": "ten minutes"}, headers=staff)

    assert response.status_code == 422


def test_unknown_setting_is_404(client, staff):
    assert client.put("/api/settings/colour", json={"value": "red"}, headers=staff).status_code == 404


def test_responder_cannot_load_a_site(client, responder, sample_site_text):
    response = client.put("/api/site", content=sample_site_text, headers=responder)

    assert response.status_code == 403


def test_staff_can_load_a_site(runtime, client, staff, sample_site_text):
    text = sample_site_text.replace(
        "        - {id: unit-1,", "        - {id: smoke-1, kind: smoke_detector}\n        - {id: unit-1,"
    )

    response = client.put("/api/site", content=text, headers=staff)

    assert response.status_code == 200
    assert response.json()["changed"] is True
    assert "devices: 1 new" in response.json()["summary"]
    assert len(runtime.devices) == 6


def test_loading_the_same_site_again_changes_nothing(client, staff, sample_site_text):
    response = client.put("/api/site", content=sample_site_text, headers=staff)

    assert response.status_code == 200
    assert response.json()["changed"] is False


def test_bad_site_is_422_with_line_numbers(client, staff, sample_site_text):
    text = sample_site_text.replace('from: "20:00", to: "08:00"', 'from: "25:00", to: "08:00"')
    text = text.replace("ack_within: 3m", "ack_within: 3 minutes")

    response = client.put("/api/site", content=text, headers=staff)

    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [p["line"] for p in problems] == [12, 21]
    assert "'25:00' is not a time of day" in problems[0]["message"]
    assert "'3 minutes' is not a duration" in problems[1]["message"]


def test_site_that_is_not_yaml_is_422_with_its_line(client, staff):
    response = client.put("/api/site", content="contacts:\n  - {id: sue, name: [\n", headers=staff)

    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["line"] == 3
    assert "not valid YAML" in problem["message"]


# -- documents --------------------------------------------------------------------------------------------
def test_openapi_document(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/health",
        "/api/alerts",
        "/api/alerts/{alert_id}",
        "/api/alerts/{alert_id}/acknowledge",
        "/api/deadletters",
        "/api/site",
    } <= set(paths)


def test_prometheus_metrics(client, staff):
    response = client.get("/metrics", headers=staff)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE linkage_ingest_messages_total counter" in response.text

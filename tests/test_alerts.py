"""Ingest of device events (no MQTT: Inbound messages straight into IngestService) and the
alert state machine."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from telecare.alert import service as alerts
from telecare.alert.models import Alert, OutboxMessage
from telecare.alert.states import AlertNotFound, InvalidTransition
from telecare.events.ingest import Inbound, IngestService
from telecare.events.models import DeadLetter, Event
from telecare.site.device_cache import DeviceCache
from telecare.site.models import Device

HOME = "home-0001"


@pytest.fixture
def ingest(site, clock):
    return IngestService(site, DeviceCache(), clock)


def event(device: str, type: str, event_id: str, home: str = HOME, **fields) -> Inbound:
    body = {"event_id": event_id, "type": type, "ts": "2026-11-23T02:14:05Z", **fields}
    return raw(device, orjson.dumps(body), home)


def raw(device: str, payload: bytes, home: str = HOME) -> Inbound:
    return Inbound(kind="event", topic=f"telecare/v1/{home}/{device}/event", payload=payload, home=home, device=device)


def all_alerts(sessions) -> list[Alert]:
    with sessions() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def only_alert(sessions) -> Alert:
    found = all_alerts(sessions)
    assert len(found) == 1, found
    return found[0]


# what happens to the alert itself (escalation adds its own entries: step, notified, ...)
LIFECYCLE = {
    "opened",
    "joined",
    "priority",
    "repeated",
    "acknowledged",
    "arrived",
    "resolved",
    "cancelled",
    "device",
    "restored",
}


def timeline_kinds(sessions, alert_id: int) -> list[str]:
    with sessions() as s:
        return [t.kind for t in s.get(Alert, alert_id).timeline if t.kind in LIFECYCLE]


def count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def outbox(sessions) -> list[OutboxMessage]:
    with sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def device(sessions, ext_id: str) -> Device:
    with sessions() as s:
        return s.scalars(select(Device).where(Device.ext_id == ext_id)).one()


# -- alarms ------------------------------------------------------------------------------------
def test_alarm_opens_one_p1_alert(site, ingest):
    result = ingest.process([event("pendant-1", "pendant", "p-1")])

    alert = only_alert(site)
    assert result.alerts_opened == [alert.id]
    assert (alert.category, alert.type, alert.priority, alert.state) == ("alarm", "pendant", "P1", "open")
    assert timeline_kinds(site, alert.id) == ["opened"]
    with site() as s:
        assert s.scalars(select(Event.alert_id)).all() == [alert.id]


def test_redelivered_event_is_one_event(site, ingest):
    ingest.process([event("pendant-1", "pendant", "p-1")])

    result = ingest.process([event("pendant-1", "pendant", "p-1")])

    assert result.duplicates == 1
    assert result.accepted == 0
    assert count(site, Event) == 1
    alert = only_alert(site)
    assert timeline_kinds(site, alert.id) == ["opened"]


def test_same_event_twice_in_one_batch_is_one_event(site, ingest):
    result = ingest.process([event("pendant-1", "pendant", "p-1"), event("pendant-1", "pendant", "p-1")])

    assert (result.accepted, result.duplicates) == (1, 1)
    assert count(site, Event) == 1
    assert len(all_alerts(site)) == 1


def test_same_event_id_from_another_device_is_another_event(site, ingest):
    ingest.process([event("pendant-1", "pendant", "x-1"), event("fall-1", "fall", "x-1")])

    assert count(site, Event) == 2


def test_second_alarm_from_the_home_joins_the_open_alert(site, ingest):
    ingest.process([event("pendant-1", "pendant", "p-1")])

    result = ingest.process([event("fall-1", "fall", "f-1")])

    alert = only_alert(site)
    assert result.alerts_changed == [alert.id]
    assert timeline_kinds(site, alert.id) == ["opened", "joined"]
    with site() as s:
        assert set(s.scalars(select(Event.alert_id))) == {alert.id}


def test_p1_joining_a_p2_alert_raises_its_priority(site, ingest):
    ingest.process([event("bed-1", "bed_absence", "b-1")])
    assert only_alert(site).priority == "P2"

    ingest.process([event("pendant-1", "pendant", "p-1")])

    alert = only_alert(site)
    assert (alert.priority, alert.type) == ("P1", "pendant")
    assert timeline_kinds(site, alert.id) == ["opened", "joined", "priority"]


def test_p2_joining_a_p1_alert_keeps_p1(site, ingest):
    ingest.process([event("pendant-1", "pendant", "p-1")])

    ingest.process([event("bed-1", "bed_absence", "b-1")])

    assert only_alert(site).priority == "P1"


def test_alarm_after_the_alert_is_closed_opens_a_new_one(site, ingest, clock):
    ingest.process([event("pendant-1", "pendant", "p-1")])
    with site() as s, s.begin():
        alerts.resolve(s, only_alert(site).id, "sue", "false_alarm", clock.now())

    ingest.process([event("pendant-1", "pendant", "p-2")])

    assert [a.state for a in all_alerts(site)] == ["resolved", "open"]


def test_help_arrived_makes_the_alert_attending(site, ingest):
    ingest.process([event("pendant-1", "pendant", "p-1")])

    ingest.process([event("pendant-1", "help_arrived", "p-2")])

    alert = only_alert(site)
    assert alert.state == "attending"
    assert alert.attending_at is not None
    assert timeline_kinds(site, alert.id)[-1] == "arrived"


def test_cancel_from_the_resident_cancels_the_alert(site, ingest):
    ingest.process([event("pendant-1", "pendant", "p-1")])

    ingest.process([event("pendant-1", "cancel", "p-2")])

    alert = only_alert(site)
    assert (alert.state, alert.outcome) == ("cancelled", "cancelled_by_resident")


def test_cancel_while_help_is_attending_leaves_the_alert_attending(site, ingest):
    ingest.process([event("pendant-1", "pendant", "p-1"), event("pendant-1", "help_arrived", "p-2")])

    ingest.process([event("pendant-1", "cancel", "p-3")])

    alert = only_alert(site)
    assert alert.state == "attending"
    assert timeline_kinds(site, alert.id)[-1] == "device"


def test_activity_events_are_stored_without_an_alert(site, ingest):
    ingest.process([event("bed-1", "bed_exit", "b-1")])

    assert count(site, Event) == 1
    assert all_alerts(site) == []


# -- the state machine ----------------------------------------------------------------------------
@pytest.fixture
def alert_id(site, ingest) -> int:
    ingest.process([event("pendant-1", "pendant", "p-1")])
    return only_alert(site).id


def act(sessions, fn, *args, **kw):
    with sessions() as s, s.begin():
        return fn(s, *args, **kw)


def test_acknowledge_records_who_and_when(site, clock, alert_id):
    act(site, alerts.acknowledge, alert_id, "sue", clock.now())

    alert = only_alert(site)
    assert (alert.state, alert.acknowledged_by, alert.acknowledged_at) == ("acknowledged", "sue", clock.now())
    assert timeline_kinds(site, alert_id)[-1] == "acknowledged"


def test_acknowledging_twice_names_who_has_it(site, clock, alert_id):
    act(site, alerts.acknowledge, alert_id, "sue", clock.now())

    with pytest.raises(InvalidTransition, match="acknowledged by sue"):
        act(site, alerts.acknowledge, alert_id, "jim", clock.now())
    assert only_alert(site).acknowledged_by == "sue"


def test_resolve_needs_a_known_outcome(site, clock, alert_id):
    with pytest.raises(ValueError, match="'fixed' is not one of"):
        act(site, alerts.resolve, alert_id, "sue", "fixed", clock.now())
    assert only_alert(site).state == "open"


def test_resolve_records_the_outcome(site, clock, alert_id):
    act(site, alerts.resolve, alert_id, "rhys", "no_injury", clock.now())

    alert = only_alert(site)
    assert (alert.state, alert.outcome, alert.resolved_by) == ("resolved", "no_injury", "rhys")


def test_cancel_is_not_allowed_once_help_is_attending(site, clock, alert_id):
    act(site, alerts.arrived, alert_id, "rhys", clock.now())

    with pytest.raises(InvalidTransition, match="attending"):
        act(site, alerts.cancel, alert_id, "sue", clock.now())
    assert only_alert(site).state == "attending"


def test_a_resolved_alert_cannot_be_acknowledged(site, clock, alert_id):
    act(site, alerts.resolve, alert_id, "rhys", "false_alarm", clock.now())

    with pytest.raises(InvalidTransition):
        act(site, alerts.acknowledge, alert_id, "sue", clock.now())


def test_acting_on_a_missing_alert(site, clock):
    with pytest.raises(AlertNotFound):
        act(site, alerts.acknowledge, 999, "sue", clock.now())


# -- heartbeats and batteries ---------------------------------------------------------------------
def test_heartbeat_moves_last_seen_and_makes_no_event_row(site, ingest, clock):
    clock.advance(60)

    result = ingest.process([event("unit-1", "heartbeat", "hb-1")])

    assert result.heartbeats == 1
    assert count(site, Event) == 0
    assert device(site, "unit-1").last_seen_epoch == clock.now().timestamp()


def test_low_battery_raises_one_p4_alert_not_one_per_message(site, ingest):
    ingest.process([event("pendant-1", "heartbeat", "hb-1", battery=19)])
    ingest.process([event("pendant-1", "heartbeat", "hb-2", battery=18)])
    ingest.process(
        [event("pendant-1", "heartbeat", "hb-3", battery=17), event("pendant-1", "heartbeat", "hb-4", battery=16)]
    )

    alert = only_alert(site)
    assert (alert.category, alert.type, alert.priority) == ("device", "low_battery", "P4")
    ingest.flush_seen()
    assert device(site, "pendant-1").battery == 16


def test_battery_at_the_threshold_raises_nothing(site, ingest):
    ingest.process([event("pendant-1", "heartbeat", "hb-1", battery=20)])

    assert all_alerts(site) == []
    ingest.flush_seen()
    assert device(site, "pendant-1").battery == 20


def test_last_seen_is_written_in_bulk_not_per_heartbeat(site, ingest, clock):
    ingest.process([event("unit-1", "heartbeat", "hb-1")])
    first = clock.now().timestamp()
    clock.advance(2)  # within the flush interval: kept in memory only
    ingest.process([event("unit-1", "heartbeat", "hb-2")])
    assert device(site, "unit-1").last_seen_epoch == first
    clock.advance(4)  # past it: the next batch writes every device heard from
    ingest.process([event("fall-1", "heartbeat", "hb-3")])
    assert device(site, "unit-1").last_seen_epoch == first + 2
    assert device(site, "fall-1").last_seen_epoch == clock.now().timestamp()


# -- dead letters -----------------------------------------------------------------------------------
def _json(**fields) -> bytes:
    return orjson.dumps(fields)


GOOD = {"event_id": "e-1", "type": "pendant", "ts": "2026-11-23T02:14:05Z"}

DEAD = [
    ("bad_json", raw("pendant-1", b'{"event_id": "e-1", '), "not valid JSON"),
    ("non_utf8", raw("pendant-1", b"\xff\xfe\x00event"), "not UTF-8"),
    ("not_object", raw("pendant-1", b'["e-1", "pendant"]'), "JSON object"),
    ("no_event_id", raw("pendant-1", _json(type="pendant", ts=GOOD["ts"])), "'event_id'"),
    ("no_type", raw("pendant-1", _json(event_id="e-1", ts=GOOD["ts"])), "'type'"),
    ("no_ts", raw("pendant-1", _json(event_id="e-1", type="pendant")), "'ts'"),
    ("ts_no_offset", raw("pendant-1", _json(**{**GOOD, "ts": "2026-11-23T02:14:05"})), "offset"),
    ("ts_ms_no_offset", raw("pendant-1", _json(**{**GOOD, "ts": "2026-11-23T02:14:05.250"})), "offset"),
    ("battery_150", raw("pendant-1", _json(**GOOD, battery=150)), "'battery'"),
    ("nul_in_event_id", raw("pendant-1", _json(**{**GOOD, "event_id": "e\x001"})), "'event_id'"),
    ("nul_in_location", raw("pendant-1", _json(**GOOD, location="bed\x00room")), "'location'"),
    ("unknown_type", raw("pendant-1", _json(**{**GOOD, "type": "explosion"})), "'explosion'"),
    ("too_large", raw("pendant-1", _json(**GOOD, location="x" * 4100)), "4096"),
    ("unknown_home", raw("pendant-1", _json(**GOOD), home="home-9999"), "home-9999"),
    ("unknown_device", raw("pendant-7", _json(**GOOD)), "pendant-7"),
    (
        "bad_status",
        Inbound(kind="status", topic=f"telecare/v1/{HOME}/status", payload=b"sleeping", home=HOME),
        "online",
    ),
    (
        "wrong_topic",
        Inbound(kind="bad_topic", topic="telecare/v1/home-0001", payload=b"x", reason="topic has too few levels"),
        "too few levels",
    ),
]
KIND = {
    "non_utf8": "bad_json",
    "not_object": "bad_json",
    "no_event_id": "missing_field",
    "no_type": "missing_field",
    "no_ts": "missing_field",
    "ts_no_offset": "bad_field",
    "ts_ms_no_offset": "bad_field",
    "battery_150": "bad_field",
    "nul_in_event_id": "bad_field",
    "nul_in_location": "bad_field",
}


@pytest.mark.parametrize("case,message,words", DEAD, ids=[c[0] for c in DEAD])
def test_bad_message_is_kept_as_a_dead_letter(site, ingest, case, message, words):
    result = ingest.process([message])

    assert result.dead == 1
    with site() as s:
        (dead,) = s.scalars(select(DeadLetter)).all()
    assert dead.kind == KIND.get(case, case)
    assert words in dead.reason
    assert dead.topic == message.topic
    assert count(site, Event) == 0
    assert all_alerts(site) == []


def test_dead_letter_keeps_undecodable_bytes_readable(site, ingest):
    ingest.process([raw("pendant-1", b"\xff{")])

    with site() as s:
        assert s.scalars(select(DeadLetter.payload)).one() == "\\xff{"


def test_dead_letter_keeps_nul_bytes_escaped(site, ingest):
    ingest.process([raw("pendant-1", b"\x00\xff")])

    with site() as s:
        assert s.scalars(select(DeadLetter.payload)).one() == "\\x00\\xff"


def test_a_bad_message_does_not_stop_the_rest_of_the_batch(site, ingest):
    result = ingest.process([raw("pendant-1", b"nonsense"), event("pendant-1", "pendant", "p-1")])

    assert (result.dead, result.accepted) == (1, 1)
    assert len(all_alerts(site)) == 1


# -- the outbox (telecare/v1/{home}/alert) ------------------------------------------------------------
def test_every_alert_change_is_queued_for_the_home_alert_topic(site, ingest, clock):
    ingest.process([event("pendant-1", "pendant", "p-1")])
    ingest.process([event("fall-1", "fall", "f-1")])
    alert_id = only_alert(site).id
    act(site, alerts.acknowledge, alert_id, "sue", clock.now())
    ingest.process([event("pendant-1", "help_arrived", "p-2")])
    act(site, alerts.resolve, alert_id, "rhys", "no_injury", clock.now())

    messages = outbox(site)
    bodies = [orjson.loads(m.payload) for m in messages]
    assert {m.topic for m in messages} == {"telecare/v1/home-0001/alert"}
    assert [b["change"] for b in bodies] == ["opened", "joined", "acknowledged", "attending", "resolved"]
    assert {b["alert_id"] for b in bodies} == {alert_id}
    assert bodies[-1]["state"] == "resolved"
    assert bodies[-1]["outcome"] == "no_injury"


def test_cancel_by_the_resident_is_published_with_its_outcome(site, ingest):
    ingest.process([event("pendant-1", "pendant", "p-1")])

    ingest.process([event("pendant-1", "cancel", "p-2")])

    last = orjson.loads(outbox(site)[-1].payload)
    assert (last["change"], last["state"], last["outcome"]) == ("cancelled", "cancelled", "cancelled_by_resident")


def test_low_battery_alert_is_published(site, ingest):
    ingest.process([event("pendant-1", "heartbeat", "hb-1", battery=5)])

    (message,) = outbox(site)
    body = orjson.loads(message.payload)
    assert message.topic == "telecare/v1/home-0001/alert"
    assert (body["type"], body["priority"], body["device"], body["resident"]) == (
        "low_battery",
        "P4",
        "pendant-1",
        "betty",
    )


def test_a_duplicate_publishes_nothing(site, ingest):
    ingest.process([event("pendant-1", "pendant", "p-1")])

    ingest.process([event("pendant-1", "pendant", "p-1")])

    assert len(outbox(site)) == 1


# -- several things in one batch ------------------------------------------------------------------
def test_alarms_from_one_home_in_one_batch_make_one_alert(site, ingest):
    ingest.process(
        [event("fall-1", "fall", "b-1"), event("pendant-1", "pendant", "b-2"), event("bed-1", "bed_absence", "b-3")]
    )

    alert = only_alert(site)
    assert alert.priority == "P1"
    assert timeline_kinds(site, alert.id) == ["opened", "joined", "joined"]


def test_alarm_then_help_arrived_in_one_batch(site, ingest):
    ingest.process([event("pendant-1", "pendant", "c-1"), event("unit-1", "help_arrived", "c-2")])

    assert only_alert(site).state == "attending"

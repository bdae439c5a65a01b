"""Ingest against the real Mosquitto broker: the hub as it runs, events as devices send them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from hub.config import MqttSettings, Settings
from hub.runtime import HubRuntime
from telecare.alert.models import Alert
from telecare.events.models import DeadLetter, Event
from telecare.site.loader import load_site
from telecare.site.models import Device
from telecare.storage import make_engine, make_session_factory, upgrade

from .conftest import SAMPLE_SITE
from .mqtt_helpers import clear_session, mosquitto_pub, unique, wait_for

pytestmark = pytest.mark.mqtt

ROOT = Path(__file__).resolve().parent.parent


def ev(event_id: str, type_: str = "fall", **extra) -> str:
    body = {"event_id": event_id, "type": type_, "ts": "2026-11-23T02:14:05Z", "battery": 82}
    body.update(extra)
    return json.dumps(body)


@pytest.fixture
def home_id():
    return unique("home")


@pytest.fixture
def site_db(tmp_path, home_id, clock):
    """The sample site with its home renamed, so tests sharing the broker cannot meet."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    text = SAMPLE_SITE.read_text().replace("home-0001", home_id)
    with sessions() as s, s.begin():
        load_site(s, text, clock.now())
    yield url, sessions
    engine.dispose()


@pytest.fixture
def hub(site_db, mqtt_broker):
    url, sessions = site_db
    host, port = mqtt_broker
    client_id = unique("test-hub")
    runtime = HubRuntime(
        Settings(
            database_url=url,
            mqtt=MqttSettings(host, port),
            mqtt_client_id=client_id,
            embedded_broker=False,
            supervision_interval=3600,
        )
    )
    runtime.start()
    wait_for(runtime.consumer.connected.is_set, what="hub connected to the broker")
    time.sleep(0.3)  # let the subscription land
    yield runtime, sessions
    runtime.stop()
    clear_session(host, port, client_id)


def count(sessions, model, *where):
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_alarm_from_mosquitto_pub_becomes_one_alert(hub, mqtt_broker, home_id):
    runtime, sessions = hub
    host, port = mqtt_broker
    mosquitto_pub(host, port, f"telecare/v1/{home_id}/fall-1/event", ev("fall-1-000173"))
    wait_for(lambda: count(sessions, Alert) == 1, what="the alert")
    with sessions() as s:
        alert = s.scalars(select(Alert)).one()
        assert (alert.type, alert.priority, alert.state) == ("fall", "P1", "open")
        assert alert.timeline[0].kind == "opened"


def test_duplicate_delivery_is_one_event(hub, mqtt_broker, home_id):
    runtime, sessions = hub
    host, port = mqtt_broker
    for _ in range(3):
        mosquitto_pub(host, port, f"telecare/v1/{home_id}/pendant-1/event", ev("p-1", "pendant"))
    mosquitto_pub(host, port, f"telecare/v1/{home_id}/pendant-1/event", ev("p-2", "motion"))
    wait_for(lambda: runtime.consumer.processed >= 4, what="four messages processed")
    assert count(sessions, Event, Event.event_id == "p-1") == 1
    assert count(sessions, Alert) == 1
    with sessions() as s:
        alert = s.scalars(select(Alert)).one()
        assert [t.kind for t in alert.timeline if t.kind in ("opened", "joined")] == ["opened"]


MALFORMED = [
    ("bad_json", "{home}/fall-1/event", b"{not json"),
    ("bad_json", "{home}/fall-1/event", b"\xff\xfe\x00garbage"),
    ("missing_field", "{home}/fall-1/event", b'{"type": "fall", "ts": "2026-11-23T02:14:05Z"}'),
    ("bad_field", "{home}/fall-1/event", b'{"event_id": "a", "type": "fall", "ts": "yesterday"}'),
    ("unknown_type", "{home}/fall-1/event", b'{"event_id": "a", "type": "explosion", "ts": "2026-11-23T02:14:05Z"}'),
    ("unknown_home", "nosuchhome/fall-1/event", b'{"event_id": "a", "type": "fall", "ts": "2026-11-23T02:14:05Z"}'),
    ("unknown_device", "{home}/toaster-9/event", b'{"event_id": "a", "type": "fall", "ts": "2026-11-23T02:14:05Z"}'),
    (
        "too_large",
        "{home}/fall-1/event",
        ('{"event_id": "a", "type": "fall", "ts": "2026-11-23T02:14:05Z", "location": "' + "x" * 5000 + '"}').encode(),
    ),
    ("wrong_topic", "{home}/fall-1/events", b'{"event_id": "a", "type": "fall", "ts": "2026-11-23T02:14:05Z"}'),
    ("wrong_topic", "{home}/fall-1/extra/event", b"{}"),
    ("bad_status", "{home}/status", b"maybe"),
]


def test_each_malformed_kind_lands_in_dead_letters_and_ingest_carries_on(hub, mqtt_broker, home_id):
    runtime, sessions = hub
    host, port = mqtt_broker
    for _, topic, payload in MALFORMED:
        mosquitto_pub(host, port, "telecare/v1/" + topic.format(home=home_id), payload)
    mosquitto_pub(host, port, f"telecare/v1/{home_id}/fall-1/event", ev("after-the-junk"))
    wait_for(lambda: count(sessions, Alert) == 1, what="the alarm after the junk")
    with sessions() as s:
        letters = s.scalars(select(DeadLetter).order_by(DeadLetter.id)).all()
    mine = [d for d in letters if home_id in d.topic or "nosuchhome" in d.topic]
    assert [d.kind for d in mine] == [k for k, _, _ in MALFORMED]
    assert all(d.reason for d in mine)
    assert "toaster-9" in mine[6].reason and "not registered" in mine[6].reason
    assert mine[1].payload.startswith("\\xff")  # what arrived is kept, escaped


def test_alert_changes_are_published(hub, mqtt_broker, home_id):
    runtime, sessions = hub
    host, port = mqtt_broker
    got: list[dict] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=unique("alert-watch"))
    sub.on_message = lambda c, u, m: got.append(json.loads(m.payload))
    sub.connect(host, port)
    sub.subscribe(f"telecare/v1/{home_id}/alert", qos=1)
    sub.loop_start()
    try:
        time.sleep(0.3)
        mosquitto_pub(host, port, f"telecare/v1/{home_id}/pendant-1/event", ev("pp-1", "pendant"))
        wait_for(lambda: got, what="an alert message")
        assert got[0]["change"] == "opened" and got[0]["state"] == "open"
        assert got[0]["home"] == home_id and got[0]["priority"] == "P1"
        mosquitto_pub(host, port, f"telecare/v1/{home_id}/unit-1/event", ev("ha-1", "help_arrived"))
        wait_for(lambda: len(got) >= 2, what="the attending change")
        assert got[1]["state"] == "attending"
    finally:
        sub.loop_stop()
        sub.disconnect()


def test_home_unit_last_will_raises_device_offline(hub, mqtt_broker, home_id):
    runtime, sessions = hub
    host, port = mqtt_broker
    topic = f"telecare/v1/{home_id}/status"
    unit = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=unique("unit"))
    unit.will_set(topic, b"offline", qos=1, retain=True)
    unit.connect(host, port, keepalive=5)
    unit.loop_start()
    unit.publish(topic, b"online", qos=1, retain=True).wait_for_publish(5)
    unit.loop_stop()
    unit.socket().close()  # the line goes dead: no DISCONNECT, so the broker sends the will
    try:
        wait_for(lambda: count(sessions, Alert, Alert.type == "device_offline") == 1, what="device_offline")
        with sessions() as s:
            alert = s.scalars(select(Alert).where(Alert.type == "device_offline")).one()
            assert alert.priority == "P2"
            assert not s.scalars(select(Device).where(Device.ext_id == "unit-1")).one().online
        mosquitto_pub(host, port, topic, "online", retain=True)
        wait_for(
            lambda: count(sessions, Alert, Alert.type == "device_offline", Alert.state == "resolved") == 1,
            what="restored",
        )
    finally:
        mosquitto_pub(host, port, topic, b"", retain=True)  # clear the retained status


# -- SIGKILL while events are being published -------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_hub(db_url: str, client_id: str, host: str, port: int, log_path: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=db_url,
        MQTT_URL=f"mqtt://{host}:{port}",
        LINKAGE_MQTT_CLIENT_ID=client_id,
        LINKAGE_EMBEDDED_BROKER="off",
        LINKAGE_LOG_FORMAT="json",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "hub", "--port", str(_free_port())],
        env=env,
        stdout=open(log_path, "ab"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def test_sigkill_while_publishing_loses_nothing(site_db, mqtt_broker, home_id, tmp_path):
    url, sessions = site_db
    host, port = mqtt_broker
    client_id = unique("kill-hub")
    log = tmp_path / "hub.log"
    total = 400
    proc = _start_hub(url, client_id, host, port, log)
    try:
        # the hub's persistent session exists once its first batch can be processed
        def probe():
            mosquitto_pub(host, port, f"telecare/v1/{home_id}/motion-x/event", ev("probe", "motion"))
            return count(sessions, DeadLetter) >= 1

        wait_for(probe, timeout=60, interval=0.5, what="the hub up and subscribed")

        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=unique("kill-pub"))
        pub.max_inflight_messages_set(100)
        pub.connect(host, port)
        pub.loop_start()
        killed = threading.Event()
        infos = []
        for i in range(total):
            device, etype = ("fall-1", "fall") if i % 100 == 50 else ("bed-1", "bed_exit")
            infos.append(pub.publish(f"telecare/v1/{home_id}/{device}/event", ev(f"k-{i:04d}", etype), qos=1))
            if i == total // 3:
                wait_for(lambda: count(sessions, Event) > 0, timeout=30, what="some events committed")
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                killed.set()
            time.sleep(0.005)
        for info in infos:
            info.wait_for_publish(10)
        pub.loop_stop()
        pub.disconnect()
        assert killed.is_set()
        before_restart = count(sessions, Event)
        assert before_restart < total  # the kill really happened mid-stream
        proc = _start_hub(url, client_id, host, port, log)
        wait_for(lambda: count(sessions, Event) == total, timeout=120, what=f"all {total} events after restart")
        with sessions() as s:
            ids = s.scalars(select(Event.event_id)).all()
            assert len(ids) == len(set(ids)) == total
            assert s.scalar(select(func.count()).select_from(Alert)) == 1  # the falls joined one alert
    finally:
        proc.kill()
        proc.wait(10)
        clear_session(host, port, client_id)

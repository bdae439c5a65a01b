"""Attack 7 (issue 10): the hub failed open. A partial Twilio configuration ran the sandbox
silently (no alert left the building, health said ok); with no broker at MQTT_URL it started
an anonymous embedded broker on that port. Now both stop the hub with a message naming what is
wrong; the embedded broker starts only when asked (LINKAGE_EMBEDDED_BROKER=on, as `make run`
does), on loopback only; /api/health says which notifier is in use and whether the broker is
the embedded one."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from hub.config import ConfigError, MqttSettings, Settings, TwilioConfigError, notifier_choice
from hub.notify import make_notifier
from hub.runtime import HubRuntime

from ..served import Served
from .mqtt_security_helpers import ROOT, clean_env, free_port, linkage, port_answers, wait_for

pytestmark = pytest.mark.timeout(300)

TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "t" * 32,
    "TWILIO_FROM_NUMBER": "+447700900999",
    "PUBLIC_BASE_URL": "https://hub.example.org",
}


@pytest.fixture
def no_twilio(monkeypatch):
    for k in (*TWILIO, "LINKAGE_NOTIFIER", "TWILIO_API_BASE_URL"):
        monkeypatch.delenv(k, raising=False)
    return monkeypatch


# -- Twilio ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, missing",
    [
        (["TWILIO_ACCOUNT_SID"], ["TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "PUBLIC_BASE_URL"]),
        (["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"], ["TWILIO_FROM_NUMBER", "PUBLIC_BASE_URL"]),
        (["TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"], ["TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER"]),
        (["TWILIO_FROM_NUMBER"], ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"]),
        (["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"], ["PUBLIC_BASE_URL"]),
    ],
)
def test_partial_twilio_configuration_is_an_error_naming_what_is_missing(no_twilio, given, missing):
    for k in given:
        no_twilio.setenv(k, TWILIO[k])
    for attempt in (make_notifier, notifier_choice, lambda: Settings(database_url="sqlite://")):
        with pytest.raises(TwilioConfigError) as err:
            attempt()
        message = str(err.value)
        assert ", ".join(missing) in message, message
        for k in given:  # it names what is set, never a value
            assert TWILIO[k] not in message


def test_twilio_asked_for_outright_needs_everything(no_twilio):
    no_twilio.setenv("LINKAGE_NOTIFIER", "twilio")
    with pytest.raises(TwilioConfigError, match="TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN"):
        make_notifier()


def test_complete_or_absent_twilio_configuration_is_accepted(no_twilio):
    assert notifier_choice() == "sandbox" and make_notifier().name == "sandbox"
    no_twilio.setenv("PUBLIC_BASE_URL", TWILIO["PUBLIC_BASE_URL"])  # the console's address alone asks for nothing
    assert make_notifier().name == "sandbox"
    for k, v in TWILIO.items():
        no_twilio.setenv(k, v)
    assert notifier_choice() == "twilio" and make_notifier().name == "twilio"
    no_twilio.setenv("LINKAGE_NOTIFIER", "sandbox")  # the sandbox said outright (Twilio variables for webhooks only)
    assert make_notifier().name == "sandbox"


def test_linkage_hub_with_half_a_twilio_configuration_does_not_start(tmp_path):
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}",
        TWILIO_ACCOUNT_SID=TWILIO["TWILIO_ACCOUNT_SID"],
        LINKAGE_EMBEDDED_BROKER="on",
        MQTT_URL=f"mqtt://127.0.0.1:{free_port()}",
    )
    done = linkage("hub", "--port", free_port(), env=env, check=False, timeout=120)
    assert done.returncode != 0
    assert "TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, PUBLIC_BASE_URL" in done.stderr, done.stderr[-1500:]


# -- the broker -----------------------------------------------------------------------------------------


def test_embedded_broker_is_off_unless_asked(no_twilio):
    for value, expected in ((None, False), ("auto", False), ("off", False), ("on", True)):
        if value is None:
            no_twilio.delenv("LINKAGE_EMBEDDED_BROKER", raising=False)
        else:
            no_twilio.setenv("LINKAGE_EMBEDDED_BROKER", value)
        no_twilio.setenv("MQTT_URL", "mqtt://127.0.0.1:1883")
        assert Settings(database_url="sqlite://").embedded_broker is expected, value
    no_twilio.setenv("LINKAGE_EMBEDDED_BROKER", "maybe")
    with pytest.raises(ConfigError, match="LINKAGE_EMBEDDED_BROKER"):
        Settings(database_url="sqlite://")
    with pytest.raises(ConfigError, match="loopback only"):
        Settings(
            database_url="sqlite://",
            embedded_broker=True,
            mqtt=MqttSettings.from_url("mqtt://203.0.113.7", insecure=True),
        )


def test_linkage_hub_without_a_broker_stops_with_a_message(tmp_path):
    port = free_port()  # nothing listens here
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}", MQTT_URL=f"mqtt://127.0.0.1:{port}", LINKAGE_MQTT_START_WAIT="2"
    )
    t0 = time.monotonic()
    done = linkage("hub", "--port", free_port(), env=env, check=False, timeout=120)
    assert done.returncode != 0
    assert f"no MQTT broker answers at mqtt://127.0.0.1:{port}" in done.stderr, done.stderr[-1500:]
    assert "LINKAGE_EMBEDDED_BROKER=on" in done.stderr
    assert time.monotonic() - t0 < 120
    assert not port_answers(port)  # and it did not start an anonymous broker there


def test_mqtt_off_is_said_outright_and_shown_in_health(no_twilio, tmp_path):
    no_twilio.setenv("MQTT_URL", "off")
    hub = HubRuntime(Settings(database_url=f"sqlite:///{tmp_path / 'off.db'}", directory_file="off"))
    assert hub.settings.mqtt is None and not hub.with_mqtt
    try:
        hub.start()
        with Served(hub) as served:
            body = httpx.get(served.url + "/api/health", timeout=10).json()
        assert body["broker"]["note"] == "MQTT disabled" and body["broker"]["embedded"] is False
        assert body["notifier"] == "sandbox"
    finally:
        hub.stop()


def test_health_names_the_twilio_notifier(no_twilio, tmp_path):
    for k, v in TWILIO.items():
        no_twilio.setenv(k, v)
    no_twilio.setenv("TWILIO_API_BASE_URL", "http://127.0.0.1:9")  # nothing is sent in this test
    hub = HubRuntime(Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", directory_file="off"), with_mqtt=False)
    try:
        with Served(hub) as served:
            assert httpx.get(served.url + "/api/health", timeout=10).json()["notifier"] == "twilio"
    finally:
        hub.stop()


def test_embedded_broker_when_asked_binds_loopback_and_health_says_so(tmp_path):
    mqtt_port, http_port = free_port(), free_port()
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'e.db'}",
        MQTT_URL=f"mqtt://127.0.0.1:{mqtt_port}",
        LINKAGE_EMBEDDED_BROKER="on",
    )
    log = open(tmp_path / "hub.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "hub", "--port", str(http_port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def healthy():
            assert proc.poll() is None, (tmp_path / "hub.log").read_text(errors="replace")[-2000:]
            try:
                r = httpx.get(f"http://127.0.0.1:{http_port}/api/health", timeout=2)
            except httpx.HTTPError:
                return None
            return r.json() if r.status_code == 200 else None

        body = wait_for(healthy, timeout=90, what="the hub healthy on its embedded broker")
        assert body["broker"]["embedded"] is True and body["broker"]["connected"] is True
        assert body["notifier"] == "sandbox"
        listening = [
            c.laddr
            for c in psutil.Process(proc.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == mqtt_port
        ]
        assert listening and all(addr.ip in ("127.0.0.1", "::1") for addr in listening), listening
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()

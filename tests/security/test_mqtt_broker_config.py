"""Attack 6 (issue 10): MQTT with per-home credentials, ACLs and TLS.

A real Mosquitto runs on the configuration `linkage mqtt broker-config` wrote for a site with
two homes, and a real hub (HubRuntime) takes in what the broker lets through. Home A's own
credentials raise home A's alarm (the positive control); with them nobody can cancel home B's
alarm, fake home B's status, publish alert changes, or read other homes' traffic; anonymous
and wrong-password connections are refused; TLS works end to end (hub and simulator); plain
MQTT to another machine is refused by the hub and the simulator."""

from __future__ import annotations

import csv
import os
import stat
import time
import uuid
from datetime import datetime, timezone

import orjson
import pytest
from sqlalchemy import select

from hub.config import ConfigError, MqttSettings, Settings
from hub.mqtt.broker_config import HUB_USER, check_mosquitto_hash, mosquitto_hash, write_broker_config
from hub.runtime import HubRuntime, HubStartError
from hub.simulate import Simulator, read_credentials
from telecare.alert.models import Alert
from telecare.events.models import Event
from telecare.site.bulk import register_sim_homes, sim_home_id
from telecare.site.models import Home

from .mqtt_security_helpers import (
    HOME_A,
    HOME_B,
    Mosquitto,
    broker_config_args,
    clean_env,
    client,
    close,
    free_port,
    linkage,
    make_ca_and_server_cert,
    publish_and_wait,
    read_env_file,
    two_home_site,
    wait_for,
)

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(300)]

NOT_AUTHORIZED = 0x87


def event(etype: str, event_id: str | None = None) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id or f"t-{uuid.uuid4().hex[:12]}",
            "type": etype,
            "ts": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


def topic(home: str, device: str) -> str:
    return f"telecare/v1/{home}/{device}/event"


class Site:
    """A loaded two-home site, its broker configuration, a Mosquitto on it and a hub behind it."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.db_url = f"sqlite:///{tmp / 'site.db'}"
        self.env = clean_env(DATABASE_URL=self.db_url)
        site = tmp / "site.yml"
        site.write_text(two_home_site(), encoding="utf-8")
        self.load_output = linkage("load", site, env=self.env).stdout
        self.out = tmp / "mqtt"
        self.port = free_port()
        self.config_output = linkage(*broker_config_args(self.out, self.port), env=self.env).stdout
        self.creds = read_credentials(self.out / "credentials.csv")
        self.hub_env = read_env_file(self.out / "hub.env")
        self.hub_port = MqttSettings.from_env(self.hub_env).port
        self.broker = Mosquitto(self.out / "mosquitto.conf", self.port)
        self.hub = None

    def start_hub(self):
        settings = Settings(
            database_url=self.db_url,
            mqtt=MqttSettings.from_env(self.hub_env),
            mqtt_client_id=f"sec-hub-{uuid.uuid4().hex[:8]}",
            embedded_broker=False,
            supervision_interval=3600,
            directory_file="off",
            notifier="sandbox",
        )
        self.hub = HubRuntime(settings).start()
        wait_for(self.hub.consumer.connected.is_set, what="the hub connected with hub.env's credentials")
        return self.hub

    def stop(self):
        if self.hub:
            self.hub.stop()
        self.broker.stop()

    # -- what the hub has taken in ---------------------------------------------------------------
    def stored(self, event_id: str) -> bool:
        with self.hub.sessions() as s:
            return s.scalar(select(Event.id).where(Event.event_id == event_id)) is not None

    def open_alerts(self, home: str) -> list[Alert]:
        with self.hub.sessions() as s:
            return list(
                s.scalars(
                    select(Alert)
                    .join(Home, Home.id == Alert.home_id)
                    .where(Home.ext_id == home, Alert.state.in_(["open", "acknowledged"]))
                )
            )

    def home_status(self, home: str) -> str | None:
        with self.hub.sessions() as s:
            return s.scalar(select(Home.status).where(Home.ext_id == home))

    def barrier(self, home: str) -> None:
        """Home's own motion event, published after whatever went before and stored by the hub:
        anything the broker had let through before it has been taken in by then."""
        c, seen = client(*self.creds[home], self.port)
        try:
            marker = f"barrier-{uuid.uuid4().hex[:10]}"
            assert publish_and_wait(c, seen, topic(home, "pendant-1"), event("motion", marker)) == 0
            wait_for(lambda: self.stored(marker), what=f"{home}'s barrier event stored")
        finally:
            close(c)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(tmp_path_factory.mktemp("mqtt-acl"))
    try:
        s.start_hub()
        yield s
    finally:
        s.stop()


# -- the command's outputs ----------------------------------------------------------------------------


def test_broker_config_writes_a_complete_locked_down_configuration(site):
    conf = (site.out / "mosquitto.conf").read_text()
    for line in (
        "allow_anonymous false",
        "persistence true",
        f"persistence_location {site.out.resolve()}/",
        f"password_file {site.out.resolve() / 'passwd'}",
        f"acl_file {site.out.resolve() / 'acl'}",
        "max_queued_messages 0",
        "max_inflight_messages 1000",
        f"listener {site.port} 127.0.0.1",
        "use_username_as_clientid true",
        f"listener {site.hub_port} 127.0.0.1",
    ):
        assert line in conf.splitlines(), line
    for name in ("credentials.csv", "hub.env", "passwd", "passwd-hub"):
        assert stat.S_IMODE(os.stat(site.out / name).st_mode) == 0o600, name
    with open(site.out / "credentials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["home"] for r in rows] == [HOME_A, HOME_B] and list(rows[0]) == ["home", "username", "password"]
    assert len({r["password"] for r in rows}) == 2
    hashes = dict(line.split(":", 1) for line in (site.out / "passwd").read_text().splitlines())
    assert set(hashes) == {HOME_A, HOME_B}
    assert (site.out / "passwd-hub").read_text().startswith(f"{HUB_USER}:$7$101$")
    assert all(h.startswith("$7$101$") for h in hashes.values())
    assert check_mosquitto_hash(site.creds[HOME_A][1], hashes[HOME_A])
    assert not check_mosquitto_hash(site.creds[HOME_B][1], hashes[HOME_A])
    assert site.hub_env["MQTT_URL"].startswith(f"mqtt://{HUB_USER}:") and site.hub_env["MQTT_URL"].endswith(
        f"@127.0.0.1:{site.hub_port}"
    )
    assert "2 new homes: run `linkage mqtt broker-config" in site.load_output  # the load told the operator


def test_the_hash_is_mosquittos_own_format():
    assert mosquitto_hash("secret", bytes(range(12))) == (
        "$7$101$AAECAwQFBgcICQoL$"
        + __import__("base64")
        .b64encode(__import__("hashlib").pbkdf2_hmac("sha512", b"secret", bytes(range(12)), 101))
        .decode()
    )


def test_running_it_again_keeps_passwords_and_adds_new_homes(tmp_path):
    out = tmp_path / "cfg"
    write_broker_config(out, ["home-x"])
    first = read_credentials(out / "credentials.csv")
    hub_url = read_env_file(out / "hub.env")["MQTT_URL"]
    report = write_broker_config(out, ["home-x", "home-y"])
    again = read_credentials(out / "credentials.csv")
    assert report.added == ["home-y"] and again["home-x"] == first["home-x"] and "home-y" in again
    assert read_env_file(out / "hub.env")["MQTT_URL"] == hub_url
    report = write_broker_config(out, ["home-y"])
    assert report.dropped == ["home-x"] and set(read_credentials(out / "credentials.csv")) == {"home-y"}
    assert "user home-x" not in (out / "acl").read_text()


# -- the positive control -----------------------------------------------------------------------------


def test_home_a_credentials_raise_home_a_alarm(site):
    hub_user = MqttSettings.from_env(site.hub_env)
    watcher, watched = client(hub_user.username, hub_user.password, site.hub_port)  # another hub, say
    c, seen = client(*site.creds[HOME_A], site.port)
    try:
        watcher.subscribe(f"telecare/v1/{HOME_A}/alert", qos=1)
        wait_for(lambda: watched.subacks, what="SUBACK")
        assert not seen.connack.is_failure
        assert publish_and_wait(c, seen, topic(HOME_A, "pendant-1"), event("pendant")) == 0
        alerts = wait_for(lambda: site.open_alerts(HOME_A), what="home A's alarm")
        assert alerts[0].priority == "P1" and alerts[0].type == "pendant"
        # the hub's publisher may publish the alert change under the ACL
        site.hub.changed()
        change = wait_for(lambda: watched.messages, what="the hub's alert publication")
        assert change[0][0] == f"telecare/v1/{HOME_A}/alert"
        # its own status and Last Will topic is allowed too
        assert publish_and_wait(c, seen, f"telecare/v1/{HOME_A}/status", b"online", retain=True) == 0
        wait_for(lambda: site.home_status(HOME_A) == "online", what="home A online")
    finally:
        close(c)
        close(watcher)


# -- the attacks ---------------------------------------------------------------------------------------


def test_home_a_cannot_cancel_home_b_alarm_or_fake_its_status(site):
    b, b_seen = client(*site.creds[HOME_B], site.port)
    try:  # home B's real alarm, and its unit says offline
        assert publish_and_wait(b, b_seen, topic(HOME_B, "pendant-1"), event("pendant")) == 0
        assert publish_and_wait(b, b_seen, f"telecare/v1/{HOME_B}/status", b"offline", retain=True) == 0
        wait_for(lambda: site.open_alerts(HOME_B) and site.home_status(HOME_B) == "offline", what="home B's alarm")
    finally:
        close(b)
    forged = [
        (topic(HOME_B, "pendant-1"), event("cancel", "forged-cancel")),
        (topic(HOME_B, "unit-1"), event("help_arrived", "forged-help")),
        (f"telecare/v1/{HOME_B}/status", b"online"),
    ]
    for t, payload in forged:
        a, a_seen = client(*site.creds[HOME_A], site.port)  # MQTT 5: the broker says why
        try:
            assert publish_and_wait(a, a_seen, t, payload) in (NOT_AUTHORIZED, "disconnected"), t
        finally:
            close(a)
    site.barrier(HOME_B)
    assert not site.stored("forged-cancel") and not site.stored("forged-help")
    assert site.open_alerts(HOME_B), "home B's alarm must still be open"
    assert site.home_status(HOME_B) == "offline", "home B's outage must not be hidden"


def test_home_a_cannot_publish_alert_changes_even_for_itself(site):
    for t in (f"telecare/v1/{HOME_A}/alert", f"telecare/v1/{HOME_B}/alert"):
        a, seen = client(*site.creds[HOME_A], site.port)
        try:
            assert publish_and_wait(a, seen, t, b'{"state": "resolved"}') in (NOT_AUTHORIZED, "disconnected"), t
        finally:
            close(a)


def test_home_a_cannot_publish_outside_telecare(site):
    a, seen = client(*site.creds[HOME_A], site.port)
    try:
        assert publish_and_wait(a, seen, "elsewhere/x", b"x") in (NOT_AUTHORIZED, "disconnected")
    finally:
        close(a)


def test_home_a_subscribing_to_everything_receives_nothing(site):
    spy, seen = client(*site.creds[HOME_A], site.port)
    try:
        for t in ("telecare/v1/#", "#", f"telecare/v1/{HOME_B}/#", "$share/linkage/telecare/v1/#"):
            spy.subscribe(t, qos=1)
        wait_for(lambda: len(seen.subacks) == 4, what="SUBACKs")
        # Mosquitto's ACL file checks read access per message: a SUBACK may say granted, but nothing
        # may ever arrive. Home B's events and status and the hub's alert publications all go by now.
        b, b_seen = client(*site.creds[HOME_B], site.port)
        try:
            assert publish_and_wait(b, b_seen, topic(HOME_B, "pendant-1"), event("fall")) == 0
            assert publish_and_wait(b, b_seen, f"telecare/v1/{HOME_B}/status", b"offline", retain=True) == 0
        finally:
            close(b)
        site.barrier(HOME_B)
        site.hub.changed()
        time.sleep(0.5)  # not a margin: the assertion is that nothing arrives at all
        assert seen.messages == []
        failures = [rc for acks in seen.subacks for rc in acks if rc.is_failure]
        assert len(failures) == len([rc for acks in seen.subacks for rc in acks]) or seen.messages == []
    finally:
        close(spy)


def test_oversized_payloads_are_dead_letters_and_huge_ones_never_arrive(site):
    from telecare.events.models import DeadLetter

    def dead(t):
        with site.hub.sessions() as s:
            return s.scalars(select(DeadLetter.kind).where(DeadLetter.topic == t)).all()

    big_topic, huge_topic = topic(HOME_A, "big-1"), topic(HOME_A, "huge-1")
    a, seen = client(*site.creds[HOME_A], site.port)
    try:  # above the contract's 4 KiB: reaches the hub, which keeps it as a dead letter for staff
        assert publish_and_wait(a, seen, big_topic, b"x" * 5000) == 0
        wait_for(lambda: dead(big_topic), what="the 5 KB message dead-lettered")
    finally:
        close(a)
    a, seen = client(*site.creds[HOME_A], site.port)
    try:  # above the broker's max_packet_size: dropped at the broker
        assert publish_and_wait(a, seen, huge_topic, b"x" * 300_000) == "disconnected"
    finally:
        close(a)
    site.barrier(HOME_A)
    assert dead(huge_topic) == []


def test_anonymous_and_wrong_password_are_refused(site):
    for creds in (
        (None, None),
        (HOME_A, "not-the-password"),
        (HOME_A, site.creds[HOME_B][1]),
        (HUB_USER, site.creds[HOME_A][1]),
        ("nobody", "x"),
    ):
        c, seen = client(*creds, site.port)
        try:
            assert seen.connack is not None and seen.connack.is_failure, creds[0]
        finally:
            close(c)


def test_a_home_cannot_log_in_on_the_hubs_listener_nor_the_hub_on_the_homes(site):
    hub_password = MqttSettings.from_env(site.hub_env).password
    for creds, port in ((site.creds[HOME_A], site.hub_port), ((HUB_USER, hub_password), site.port)):
        c, seen = client(*creds, port)
        try:
            assert seen.connack is not None and seen.connack.is_failure, (creds[0], port)
        finally:
            close(c)


def test_home_a_cannot_take_over_the_hubs_session_or_home_b_units(site):
    """With the hub's client id (or home B's unit's), home A's connection gets its own username as
    client id instead: the hub stays connected, its session keeps queueing, home B stays online."""
    b, b_seen = client(*site.creds[HOME_B], site.port, v5=False, client_id="unit-b")
    try:
        downs_before = site.hub.consumer.last_error
        for cid in (site.hub.settings.mqtt_client_id, f"{site.hub.settings.mqtt_client_id}-out", "unit-b", HOME_B):
            a, a_seen = client(*site.creds[HOME_A], site.port, v5=False, client_id=cid)
            try:
                assert not a_seen.connack.is_failure
            finally:
                close(a)
        site.barrier(HOME_A)  # the hub still takes in events through the same session
        assert site.hub.consumer.connected.is_set() and site.hub.consumer.last_error == downs_before
        assert b_seen.disconnects == [] and b.is_connected()
    finally:
        close(b)


def test_a_hub_with_a_wrong_password_stops_with_a_message(site):
    env = dict(site.hub_env, MQTT_URL=f"mqtt://{HUB_USER}:wrong@127.0.0.1:{site.hub_port}")
    settings = Settings(
        database_url=f"sqlite:///{site.tmp / 'wrong.db'}",
        mqtt=MqttSettings.from_env(env),
        mqtt_client_id=f"sec-wrong-{uuid.uuid4().hex[:6]}",
        embedded_broker=False,
        supervision_interval=3600,
        directory_file="off",
        notifier="sandbox",
        mqtt_start_wait=5,
    )
    hub = HubRuntime(settings, with_mqtt=True)
    t0 = time.monotonic()
    with pytest.raises(HubStartError, match="did not accept the hub"):
        hub.start()
    assert time.monotonic() - t0 < 60


# -- plain MQTT off the machine ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["mqtt://broker.example.org:1883", "mqtt://u:p@10.1.2.3", "tcp://192.168.0.9:1883"])
def test_plain_mqtt_to_another_machine_is_refused(url, monkeypatch):
    monkeypatch.delenv("LINKAGE_MQTT_INSECURE", raising=False)
    with pytest.raises(ConfigError, match="LINKAGE_MQTT_INSECURE"):
        Settings(database_url="sqlite://", mqtt=MqttSettings.from_url(url), notifier="sandbox")
    monkeypatch.setenv("MQTT_URL", url)
    with pytest.raises(ConfigError, match="mqtts://"):
        Settings(database_url="sqlite://", notifier="sandbox")
    with pytest.raises(ConfigError):
        Simulator(homes=1, rate=1, duration=1)
    monkeypatch.setenv("LINKAGE_MQTT_INSECURE", "1")  # said outright: allowed
    assert Settings(database_url="sqlite://", notifier="sandbox").mqtt.insecure


def test_mqtts_and_loopback_are_accepted(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here")
    m = MqttSettings.from_env({"MQTT_URL": "mqtts://hub:pw@broker.example.org", "MQTT_CA_FILE": str(ca)})
    assert m.tls and m.port == 8883 and m.ca_file == str(ca) and m.url == "mqtts://broker.example.org:8883"
    Settings(database_url="sqlite://", mqtt=m, notifier="sandbox")
    for url in ("mqtt://127.0.0.1:1883", "mqtt://localhost", "mqtt://[::1]:1883"):
        Settings(database_url="sqlite://", mqtt=MqttSettings.from_url(url), notifier="sandbox")
    with pytest.raises(ConfigError, match="MQTT_CA_FILE"):
        MqttSettings.from_env({"MQTT_URL": "mqtt://127.0.0.1", "MQTT_CA_FILE": str(ca)})
    with pytest.raises(ConfigError, match="MQTT_CERT_FILE and MQTT_KEY_FILE"):
        MqttSettings.from_env({"MQTT_URL": "mqtts://b", "MQTT_CERT_FILE": str(ca)})


def test_linkage_hub_refuses_plain_mqtt_off_the_machine(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}", MQTT_URL="mqtt://hub:pw@203.0.113.5:1883")
    t0 = time.monotonic()
    done = linkage("hub", "--port", free_port(), env=env, check=False, timeout=90)
    assert done.returncode != 0 and "LINKAGE_MQTT_INSECURE" in done.stderr
    assert "pw" not in done.stderr.replace("mqtts://", "")  # the password is never echoed
    assert time.monotonic() - t0 < 90


# -- TLS ---------------------------------------------------------------------------------------------------


def test_tls_broker_hub_and_simulator_end_to_end(tmp_path):
    cert, key, ca = make_ca_and_server_cert(tmp_path / "pki")
    db_url = f"sqlite:///{tmp_path / 'tls.db'}"
    env = clean_env(DATABASE_URL=db_url)
    site = tmp_path / "site.yml"
    site.write_text(two_home_site(), encoding="utf-8")
    linkage("load", site, env=env)
    settings_db = Settings(database_url=db_url, mqtt=None, notifier="sandbox", directory_file="off")
    hub = HubRuntime(settings_db, with_mqtt=False)
    with hub.sessions() as s, s.begin():
        register_sim_homes(s, 3, datetime.now(timezone.utc))
    hub.stop()
    out, port = tmp_path / "mqtt-tls", free_port()
    linkage(
        *broker_config_args(out, port, "--host", "localhost", "--tls-cert", cert, "--tls-key", key, "--tls-ca", ca),
        env=env,
    )
    conf = (out / "mosquitto.conf").read_text()
    assert f"certfile {cert.resolve()}" in conf and f"cafile {ca.resolve()}" in conf
    hub_env = read_env_file(out / "hub.env")
    assert hub_env["MQTT_URL"].startswith("mqtts://") and hub_env["MQTT_CA_FILE"] == str(ca.resolve())
    creds = read_credentials(out / "credentials.csv")
    broker = Mosquitto(out / "mosquitto.conf", port)
    hub = None
    try:
        # plain MQTT to the TLS listener gets nowhere
        c, seen = client(*creds[HOME_A], port, connect=False)
        try:
            c.connect("127.0.0.1", port, keepalive=5)
            c.loop_start()
            time.sleep(1)
            assert seen.connack is None or seen.connack.is_failure
        except OSError:
            pass
        finally:
            close(c)
        hub = HubRuntime(
            Settings(
                database_url=db_url,
                mqtt=MqttSettings.from_env(hub_env),
                mqtt_client_id=f"sec-tls-{uuid.uuid4().hex[:6]}",
                embedded_broker=False,
                supervision_interval=3600,
                directory_file="off",
                notifier="sandbox",
            )
        ).start()
        wait_for(hub.publisher.connected.is_set, what="the hub's publisher connected over TLS")
        assert hub.broker_status()["tls"] is True and hub.broker_status()["url"] == (
            f"mqtts://localhost:{MqttSettings.from_env(hub_env).port}"
        )
        c, seen = client(*creds[HOME_A], port, tls_ca=ca)
        try:
            assert publish_and_wait(c, seen, topic(HOME_A, "pendant-1"), event("pendant", "tls-1")) == 0
        finally:
            close(c)

        def stored(eid):
            with hub.sessions() as s:
                return s.scalar(select(Event.id).where(Event.event_id == eid)) is not None

        wait_for(lambda: stored("tls-1"), what="the event over TLS stored")
        # the simulator, each home as itself, over TLS
        homes_url = MqttSettings.from_env(dict(hub_env, MQTT_URL=f"mqtts://localhost:{port}"))
        sim = Simulator(
            homes=3,
            rate=20,
            duration=30,
            settings=homes_url,
            seed=3,
            alarm_share=0,
            drop_every=0.5,
            progress=None,
            max_messages=30,
            heartbeats_only=False,
            credentials=creds,
        )
        stats = sim.run()
        assert 0 < stats.sent <= 30
        expected = stats.sent - stats.by_type.get("heartbeat", 0)

        def sim_events():
            with hub.sessions() as s:
                return len(s.scalars(select(Event.id).where(Event.event_id.like(f"sim-{sim.run_id}-%"))).all())

        wait_for(lambda: sim_events() >= expected, what="the simulator's events stored")
        assert sim_events() == expected
        with pytest.raises(ValueError, match="no credentials"):
            Simulator(homes=5, rate=1, duration=1, settings=MqttSettings.from_env(hub_env), credentials=creds)
        assert sim_home_id(0) in creds
    finally:
        if hub:
            hub.stop()
        broker.stop()

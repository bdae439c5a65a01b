"""``linkage simulate``: realistic device traffic from N homes, bounded in count and time.

Most of it is heartbeats from home units; then raw activity (motion, bed, door), the
occasional alarm (pendant or fall, later help arriving), low batteries, and now and
then a home unit that drops off without a goodbye so the broker sends its Last Will.

With ``credentials`` (``--credentials DIR/credentials.csv`` from ``linkage mqtt broker-config``)
each simulated home connects as itself, with its own user, as real home units do under the
broker's ACL; without, one connection carries every home (MQTT_URL's user). ``mqtts://`` with
MQTT_CA_FILE (and MQTT_CERT_FILE/MQTT_KEY_FILE) works as for the hub.
"""

from __future__ import annotations

import random
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson
import paho.mqtt.client as mqtt

from hub.config import MqttSettings
from hub.mqtt.topics import event_topic, status_topic
from telecare.site.bulk import sim_home_id

MIX = (  # (share, kind)
    (0.80, "heartbeat"),
    (0.08, "motion"),
    (0.04, "bed_exit"),
    (0.04, "bed_enter"),
    (0.03, "door_open"),
    (0.01, "low_battery"),
)
DEVICE_FOR = {
    "heartbeat": "unit-1",
    "motion": "motion-1",
    "bed_exit": "bed-1",
    "bed_enter": "bed-1",
    "door_open": "door-1",
    "low_battery": "motion-1",
    "pendant": "pendant-1",
    "fall": "fall-1",
    "help_arrived": "unit-1",
}


@dataclass
class SimStats:
    sent: int = 0
    by_type: dict = field(default_factory=dict)
    unit_drops: int = 0
    elapsed: float = 0.0

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.by_type.items(), key=lambda kv: -kv[1]))
        rate = self.sent / self.elapsed if self.elapsed else 0
        return (
            f"sent {self.sent} messages in {self.elapsed:.1f}s ({rate:.0f}/s); {kinds}; "
            f"home units dropped {self.unit_drops}"
        )


def read_credentials(path) -> dict[str, tuple[str, str]]:
    """home -> (username, password) from broker-config's credentials.csv."""
    from pathlib import Path

    from hub.mqtt.broker_config import read_credentials as read

    return read(Path(path))


def _ts() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Simulator:
    def __init__(
        self,
        homes: int,
        rate: float,
        duration: float,
        *,
        settings: MqttSettings | None = None,
        alarm_share: float = 0.005,
        drop_every: float = 20.0,
        seed: int | None = None,
        max_messages: int = 10_000_000,
        progress=sys.stderr,
        run_id: str | None = None,
        heartbeats_only: bool = False,
        credentials: dict[str, tuple[str, str]] | None = None,
    ):
        if homes < 1 or rate <= 0 or duration <= 0:
            raise ValueError("homes, rate and duration must be positive")
        self.homes, self.rate, self.duration = homes, rate, duration
        self.settings = settings or MqttSettings.from_env()
        self.settings.check_transport()  # no passwords in clear to another machine (LINKAGE_MQTT_INSECURE=1)
        self.credentials = credentials
        if credentials is not None:
            missing = [sim_home_id(i) for i in range(homes) if sim_home_id(i) not in credentials]
            if missing:
                raise ValueError(
                    f"no credentials for {len(missing)} of the {homes} simulated homes (e.g. {missing[0]}): "
                    "register them (linkage simulate --register), then run `linkage mqtt broker-config` "
                    "again and reload Mosquitto"
                )
        self._home_clients: dict[str, mqtt.Client] = {}
        self._last: dict[int, object] = {}  # id(client) -> its last publication, to wait for at the end
        self.alarm_share = alarm_share
        self.drop_every = drop_every
        self.rng = random.Random(seed)
        self.max_messages = max_messages
        self.progress = progress
        self.run_id = run_id or f"{int(time.time()):x}"
        self.stats = SimStats()
        self.heartbeats_only = heartbeats_only
        self._seq = 0
        self._pending_help: list[tuple[float, int]] = []

    def _client(self, client_id: str, home: str | None = None) -> mqtt.Client:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        self.settings.configure(c)  # MQTT_URL's user, TLS
        if self.credentials is not None and home is not None:
            c.username_pw_set(*self.credentials[home])  # the home's own user
        return c

    def _home_client(self, home: str) -> mqtt.Client:
        """The home's own connection (credentials mode), made on first use."""
        c = self._home_clients.get(home)
        if c is None:
            c = self._client(f"sim-{home}-{self.run_id}", home)
            c.connect(self.settings.host, self.settings.port, keepalive=30)
            c.loop_start()
            self._home_clients[home] = c
        return c

    def _event(self, home: int, etype: str, battery: int | None = None) -> tuple[str, bytes]:
        self._seq += 1
        device = DEVICE_FOR[etype]
        body = {
            "event_id": f"sim-{self.run_id}-{self._seq}",
            "type": etype,
            "ts": _ts(),
            "battery": battery if battery is not None else self.rng.randint(40, 100),
            "location": None,
            "value": None,
        }
        if etype in ("pendant", "fall"):
            body["location"] = self.rng.choice(["bedroom", "bathroom", "kitchen", "hall"])
        self.stats.by_type[etype] = self.stats.by_type.get(etype, 0) + 1
        return event_topic(sim_home_id(home), device), orjson.dumps(body)

    def _pick(self) -> tuple[int, str, int | None]:
        home = self.rng.randrange(self.homes)
        if self.heartbeats_only:
            return home, "heartbeat", None
        r = self.rng.random()
        if r < self.alarm_share:
            etype = self.rng.choice(["pendant", "fall"])
            self._pending_help.append((time.monotonic() + self.rng.uniform(5, 30), home))
            return home, etype, None
        r = self.rng.random()
        acc = 0.0
        for share, etype in MIX:
            acc += share
            if r < acc:
                return home, etype, (self.rng.randint(5, 15) if etype == "low_battery" else None)
        return home, "heartbeat", None

    def _drop_unit(self) -> None:
        """A home unit connects with its Last Will, says online, then its line goes dead."""
        home = sim_home_id(self.rng.randrange(self.homes))
        old = self._home_clients.pop(home, None) if self.credentials is not None else None
        if old is not None:  # one connection per home (the broker makes its client id its username)
            info = self._last.pop(id(old), None)
            try:
                if info is not None:
                    info.wait_for_publish(10)
            except (RuntimeError, ValueError):
                pass
            old.disconnect()
            old.loop_stop()
        c = self._client(f"sim-unit-{home}-{self.run_id}", home)
        c.will_set(status_topic(home), b"offline", qos=1, retain=True)
        c.connect(self.settings.host, self.settings.port, keepalive=5)
        c.loop_start()
        c.publish(status_topic(home), b"online", qos=1, retain=True).wait_for_publish(5)
        c.loop_stop()
        try:  # no DISCONNECT: the broker sees a dead line and publishes the will
            c.socket().shutdown(socket.SHUT_RDWR)
            c.socket().close()
        except (OSError, AttributeError):
            pass
        self.stats.unit_drops += 1
        self.stats.by_type["unit_drop"] = self.stats.by_type.get("unit_drop", 0) + 1

    def run(self) -> SimStats:
        shared = None
        if self.credentials is None:
            shared = self._client(f"linkage-sim-{self.run_id}")
            shared.connect(self.settings.host, self.settings.port, keepalive=30)
            shared.loop_start()
        start = time.monotonic()
        end = start + self.duration
        next_drop = start + self.drop_every
        last_progress = start
        interval = 1.0 / self.rate
        next_send = start
        try:
            while self.stats.sent < self.max_messages:
                now = time.monotonic()
                if now >= end:
                    break
                if now < next_send:
                    time.sleep(min(next_send - now, 0.05))
                    continue
                if self._pending_help and self._pending_help[0][0] <= now:
                    _, home = self._pending_help.pop(0)
                    topic, payload = self._event(home, "help_arrived")
                else:
                    home, etype, battery = self._pick()
                    topic, payload = self._event(home, etype, battery)
                c = shared or self._home_client(sim_home_id(home))
                self._last[id(c)] = c.publish(topic, payload, qos=1)
                self.stats.sent += 1
                next_send += interval
                if self.drop_every and now >= next_drop:
                    self._drop_unit()
                    next_drop = now + self.drop_every
                if self.progress and now - last_progress >= 1:
                    last_progress = now
                    el = now - start
                    print(
                        f"\r{el:6.1f}/{self.duration:.0f}s  sent {self.stats.sent}  "
                        f"({self.stats.sent / el:.0f}/s)  alarms {self.stats.by_type.get('pendant', 0) + self.stats.by_type.get('fall', 0)}"
                        f"  units dropped {self.stats.unit_drops}",
                        end="",
                        file=self.progress,
                        flush=True,
                    )
        finally:
            for info in self._last.values():
                try:
                    info.wait_for_publish(10)
                except (RuntimeError, ValueError):
                    pass
            for c in ([shared] if shared else []) + list(self._home_clients.values()):
                c.disconnect()
                c.loop_stop()
            self.stats.elapsed = time.monotonic() - start
            if self.progress:
                print(file=self.progress)
        return self.stats

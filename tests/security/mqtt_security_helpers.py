"""Helpers for the MQTT and fail-closed security tests: a site with two homes, the `linkage`
command in a subprocess, a real Mosquitto started on the configuration `linkage mqtt
broker-config` wrote, a throwaway CA (openssl), and paho clients that remember what the broker said."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SITE = ROOT / "data" / "sample" / "site.yml"
HOME_A, HOME_B = "home-0001", "home-0002"  # Betty's home (the sample) and Bob's (added here)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def two_home_site() -> str:
    """The sample site plus a second resident with a home of their own."""
    site = yaml.safe_load(SAMPLE_SITE.read_text(encoding="utf-8"))
    site["residents"].append(
        {
            "id": "bob",
            "name": "Bob Green",
            "phone": "+447700900002",
            "address": "3 Oak Lane, Ashvale",
            "postcode": "AV1 3CD",
            "contacts": ["jim"],
            "home": {
                "id": HOME_B,
                "devices": [
                    {"id": "pendant-1", "kind": "pendant"},
                    {"id": "unit-1", "kind": "home_unit", "heartbeat": "15m"},
                ],
            },
        }
    )
    return yaml.safe_dump(site, sort_keys=False)


def clean_env(**extra) -> dict:
    """The environment for a `linkage` subprocess: nothing Twilio or MQTT from the caller's (but the
    test run's data key, which any process that reads access notes needs: tests/conftest.py)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if (not k.startswith(("TWILIO_", "MQTT_", "LINKAGE_")) or k == "LINKAGE_DATA_KEY") and k != "PUBLIC_BASE_URL"
    }
    env.update(LINKAGE_LOG_FORMAT="json", LINKAGE_SUPERVISION_INTERVAL="3600", LINKAGE_DIRECTORY="off")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def linkage(*args, env: dict, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", *map(str, args)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"linkage {' '.join(map(str, args))} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def broker_config_args(out: Path, port: int, *more) -> list:
    args = ["mqtt", "broker-config", "--out", out, "--port", port, "--hub-port", free_port(), *more]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Mosquitto started by root drops to `mosquitto` otherwise
        args += ["--run-as", "root"]
    return args


def read_env_file(path: Path) -> dict:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


class Mosquitto:
    """A real Mosquitto on a generated configuration; stopped (by its own pid) in teardown."""

    def __init__(self, conf: Path, port: int):
        if shutil.which("mosquitto") is None:
            pytest.skip("the mosquitto binary is not installed")
        self.conf, self.port = conf, port
        self.log = conf.with_name("mosquitto.log")
        self._log_f = open(self.log, "wb")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=self._log_f, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while not port_answers(port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"mosquitto did not start: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log_f.close()


@dataclass
class Seen:
    """What one paho client heard from the broker."""

    connack: object = None
    pubacks: dict = field(default_factory=dict)  # mid -> reason code
    subacks: list = field(default_factory=list)
    messages: list = field(default_factory=list)  # (topic, payload)
    disconnects: list = field(default_factory=list)
    event: threading.Event = field(default_factory=threading.Event)


def client(
    username: str | None,
    password: str | None,
    port: int,
    *,
    v5: bool = True,
    client_id: str = "",
    tls_ca: Path | None = None,
    connect: bool = True,
    wait: float = 10,
) -> tuple[mqtt.Client, Seen]:
    seen = Seen()
    c = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id or f"t-{os.urandom(4).hex()}",
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )
    if username is not None:
        c.username_pw_set(username, password)
    if tls_ca:
        c.tls_set(ca_certs=str(tls_ca))

    def on_connect(_c, _u, _f, rc, _p):
        seen.connack = rc
        seen.event.set()

    def on_publish(_c, _u, mid, rc, _p):
        seen.pubacks[mid] = rc

    def on_subscribe(_c, _u, _mid, rcs, _p):
        seen.subacks.append(list(rcs))

    def on_message(_c, _u, m):
        seen.messages.append((m.topic, m.payload))

    def on_disconnect(_c, _u, _f, rc, _p):
        seen.disconnects.append(rc)
        seen.event.set()

    c.on_connect, c.on_publish, c.on_subscribe = on_connect, on_publish, on_subscribe
    c.on_message, c.on_disconnect = on_message, on_disconnect
    if connect:
        c.connect("127.0.0.1" if not tls_ca else "localhost", port, keepalive=30)
        c.loop_start()
        assert seen.event.wait(wait), "no CONNACK"
    return c, seen


def publish_and_wait(c: mqtt.Client, seen: Seen, topic: str, payload: bytes, timeout: float = 10, retain=False):
    """Publish at QoS 1; the PUBACK's reason code, or "disconnected" if the broker dropped us instead."""
    info = c.publish(topic, payload, qos=1, retain=retain)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if info.mid in seen.pubacks:
            return seen.pubacks[info.mid]
        if seen.disconnects:
            return "disconnected"
        time.sleep(0.02)
    raise AssertionError(f"no PUBACK for {topic} within {timeout}s")


def close(c: mqtt.Client) -> None:
    try:
        c.disconnect()
    finally:
        c.loop_stop()


def make_ca_and_server_cert(d: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for localhost / 127.0.0.1 (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt, key, csr, crt = (d / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)

    run(
        "req",
        "-x509",
        *ec,
        "-keyout",
        ca_key,
        "-out",
        ca_crt,
        "-days",
        "2",
        "-subj",
        "/CN=Linkage test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    run("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    ext = d / "server.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    run(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca_crt,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-out",
        crt,
        "-days",
        "2",
        "-extfile",
        ext,
    )
    for p in (ca_key, key):
        os.chmod(p, 0o600)
    return crt, key, ca_crt


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up after {timeout}s waiting for {what}")

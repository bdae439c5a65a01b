"""Shared pieces of the benchmarks: a private Mosquitto, paho helpers, bounded waits, tables.

Everything runs on loopback and every wait has a deadline, so a broken broker or hub
makes a benchmark fail with a message rather than hang.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt

import telecare.handlers  # noqa: F401  (the domain's subscriptions, telecare.bus: the bench loads sites in-process)
from telecare.storage import secrets

ROOT = Path(__file__).resolve().parent.parent
BROKER_CONF = ROOT / "deploy" / "mosquitto-bench.conf"
LOOPBACK = "127.0.0.1"


class BenchError(RuntimeError):
    """A benchmark could not run or its result is wrong."""


# -- waiting, ports --------------------------------------------------------------------------
def wait_until(pred: Callable[[], bool], timeout: float, what: str, interval: float = 0.01) -> float:
    """Poll ``pred`` until true; return the seconds it took. Raise BenchError after ``timeout``."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        if pred():
            return time.monotonic() - start
        if time.monotonic() >= deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# -- the private broker ------------------------------------------------------------------------
class BenchBroker:
    """``mosquitto -c deploy/mosquitto-bench.conf`` on a free loopback port; killed on exit."""

    def __init__(self, conf: Path = BROKER_CONF, port: int | None = None):
        self.conf = conf
        self.host = LOOPBACK
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout: float = 10) -> BenchBroker:
        exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
        if exe is None:
            raise BenchError("mosquitto is not installed (apt-get install mosquitto)")
        if not self.conf.exists():
            raise BenchError(f"{self.conf} is missing")
        self._dir = tempfile.TemporaryDirectory(prefix="linkage-bench-broker-")
        lines = [
            ln
            for ln in self.conf.read_text().splitlines()
            if not ln.strip().startswith(("listener", "port ", "pid_file"))
        ]
        lines.append(f"listener {self.port} {self.host}")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        self._log = open(Path(self._dir.name) / "mosquitto.log", "wb")
        self.proc = subprocess.Popen(
            [exe, "-c", str(conf)], stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            wait_until(
                lambda: self.proc.poll() is not None or port_answers(self.host, self.port),
                timeout,
                f"mosquitto on port {self.port}",
                0.05,
            )
        except BenchError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            log = (Path(self._dir.name) / "mosquitto.log").read_text(errors="replace")
            self.stop()
            raise BenchError(f"mosquitto exited at start:\n{log}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> BenchBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- the hub as a subprocess ---------------------------------------------------------------------
# the data key (access notes at rest): one per benchmark run, for this process (which loads the
# sample site, access notes and all) and every hub it starts
BENCH_DATA_KEY = secrets.new_key()
secrets.use_keys([BENCH_DATA_KEY])


def hub_env(db: Path, mqtt_url: str, name: str) -> dict[str, str]:
    """Environment for a `linkage hub` under benchmark: its own SQLite file and broker, a
    unique MQTT session, no supervision sweeps, the sandbox notifier, quiet logs."""
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{db}",
        MQTT_URL=mqtt_url,
        LINKAGE_DATA_KEY=BENCH_DATA_KEY,
        LINKAGE_MQTT_CLIENT_ID=f"bench-{name}-{os.urandom(4).hex()}",
        LINKAGE_EMBEDDED_BROKER="off",
        LINKAGE_SUPERVISION_INTERVAL="3600",
        LINKAGE_LOG_LEVEL="WARNING",
    )
    for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        env.pop(k, None)
    return env


# -- paho helpers -------------------------------------------------------------------------------
def make_client(client_id: str, clean_session: bool = True, manual_ack: bool = False) -> mqtt.Client:
    c = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    return c


def _connect_and_wait(c: mqtt.Client, host: str, port: int, timeout: float) -> None:
    ok = threading.Event()
    err: list = []

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            err.append(str(reason_code))
        ok.set()

    c.on_connect = on_connect
    c.connect(host, port, keepalive=30)
    c.loop_start()
    if not ok.wait(timeout):
        c.loop_stop()
        raise BenchError(f"no CONNACK from {host}:{port} within {timeout:.0f}s")
    if err:
        c.loop_stop()
        raise BenchError(f"connect refused: {err[0]}")


def create_session(host: str, port: int, client_id: str, topic: str, timeout: float = 10) -> None:
    """Connect once with clean_session=False, subscribe at QoS 1 and leave: from now on the
    broker queues what matches ``topic`` for ``client_id`` while it is away."""
    c = make_client(client_id, clean_session=False)
    subacked = threading.Event()
    c.on_subscribe = lambda client, userdata, mid, rcs, props: subacked.set()
    _connect_and_wait(c, host, port, timeout)
    try:
        c.subscribe(topic, qos=1)
        if not subacked.wait(timeout):
            raise BenchError(f"no SUBACK for {client_id} within {timeout:.0f}s")
    finally:
        c.disconnect()
        c.loop_stop()


def wipe_session(host: str, port: int, client_id: str, timeout: float = 10) -> None:
    """Connect with clean_session=True under ``client_id``: the broker discards its session
    (subscriptions and anything still queued), so later rounds do not feed it."""
    c = make_client(client_id, clean_session=True)
    try:
        _connect_and_wait(c, host, port, timeout)
    finally:
        c.disconnect()
        c.loop_stop()


def publish_all(
    host: str,
    port: int,
    messages: Sequence[tuple[str, bytes]],
    client_id: str,
    timeout: float = 120,
    max_inflight: int = 1000,
) -> float:
    """Publish at QoS 1 and wait for every PUBACK (the broker has queued each one).
    Returns the seconds taken."""
    c = make_client(client_id, clean_session=True)
    c.max_inflight_messages_set(max_inflight)
    c.max_queued_messages_set(0)
    acked = [0]
    n = len(messages)
    done = threading.Event()

    def on_publish(client, userdata, mid, reason_code, properties):
        acked[0] += 1
        if acked[0] >= n:
            done.set()

    c.on_publish = on_publish
    _connect_and_wait(c, host, port, 10)
    start = time.monotonic()
    try:
        for topic, payload in messages:
            info = c.publish(topic, payload, qos=1)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_QUEUE_SIZE):
                raise BenchError(f"publish failed: {mqtt.error_string(info.rc)}")
        if n and not done.wait(timeout):
            raise BenchError(f"only {acked[0]} of {n} PUBACKs within {timeout:.0f}s")
        return time.monotonic() - start
    finally:
        c.disconnect()
        c.loop_stop()


# -- figures ------------------------------------------------------------------------------------
def median(xs: Iterable[float]) -> float:
    xs = list(xs)
    return statistics.median(xs) if xs else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence], aligns: str | None = None) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    aligns = aligns or ("<" + ">" * (len(headers) - 1))
    out = []
    for j, r in enumerate(cells):
        out.append("  ".join(f"{c:{a}{w}}" for c, w, a in zip(r, widths, aligns, strict=True)))
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"

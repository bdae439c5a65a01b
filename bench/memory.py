"""Memory benchmark (DESIGN.md, Targets): hub memory under 300 MB with 100,000 devices registered.

    .venv/bin/python -m bench.memory [--homes 16667] [--no-traffic] [--mqtt-url mqtt://127.0.0.1:1883]

A temporary SQLite database gets the schema and 16,667 simulated homes (6 devices each,
100,002 devices). The real hub then runs as a subprocess (`linkage hub --port <free port>`,
DATABASE_URL on that file, MQTT_URL on the bench's private Mosquitto unless --mqtt-url is
given, a unique LINKAGE_MQTT_CLIENT_ID). Once GET /api/health answers 200, the hub's RSS
(with any children) is read with psutil; then one heartbeat from every home unit is
published at QoS 1 and the hub's /metrics is polled until it has taken them all, sampling
RSS on the way; RSS is read again at the end. The hub is stopped (SIGTERM, then SIGKILL)
and the broker too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import orjson
import psutil

from .common import BenchBroker, BenchError, free_port, publish_all, table, verdict, wait_until, wipe_session

TARGET_MB = 300
DEFAULT_HOMES = 16_667  # x 6 devices = 100,002


def _linkage_exe() -> str:
    exe = Path(sys.executable).parent / "linkage"
    if exe.exists():
        return str(exe)
    found = shutil.which("linkage")
    if not found:
        raise BenchError("the `linkage` command is not installed (pip install -e .)")
    return found


def rss_mb(proc: psutil.Process) -> float:
    total = 0
    for p in [proc] + proc.children(recursive=True):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / (1024 * 1024)


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _health(base: str) -> dict | None:
    try:
        code, body = _get(f"{base}/api/health", 3)
    except (OSError, urllib.error.URLError):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    data["_code"] = code
    return data


class UnitsSeen:
    """How many home units the hub has marked seen since ``since`` (epoch), read from the
    database file itself, read-only (the hub's /metrics needs a token; the database is the
    truth). Plain sqlite3: the hub's engine would BEGIN IMMEDIATE and take the write lock."""

    def __init__(self, db: Path, since: float):
        import sqlite3

        from telecare.site.models import Device

        t = Device.__table__
        self.sql = (
            f"SELECT count(*) FROM {t.name} WHERE {t.c.kind.name} = 'home_unit' AND {t.c.last_seen_epoch.name} >= ?"
        )
        self.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        self.since = since

    def __call__(self) -> int:
        return self.conn.execute(self.sql, (self.since,)).fetchone()[0]

    def close(self) -> None:
        self.conn.close()


def prepare_db(path: Path, homes: int) -> int:
    from sqlalchemy import func, select

    from telecare.site.bulk import register_sim_homes
    from telecare.site.models import Device
    from telecare.storage import make_engine, make_session_factory, upgrade

    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        sessions = make_session_factory(engine)
        with sessions() as s, s.begin():
            register_sim_homes(s, homes, datetime.now(timezone.utc))
        with sessions() as s:
            return s.scalar(select(func.count()).select_from(Device))
    finally:
        engine.dispose()


def run(
    homes: int = DEFAULT_HOMES, traffic: bool = True, mqtt_url: str | None = None, timeout: float = 120, out=sys.stdout
) -> dict:
    def say(*a):
        print(*a, file=out, flush=True)

    from hub.config import MqttSettings
    from hub.mqtt.topics import event_topic
    from telecare.site.bulk import sim_home_id

    t_all = time.monotonic()
    broker = None
    hub = None
    client_id = f"bench-memory-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="linkage-bench-memory-") as tmp:
        try:
            t0 = time.monotonic()
            db = Path(tmp) / "memory.db"
            n_dev = prepare_db(db, homes)
            say(
                f"memory benchmark: {homes} simulated homes, {n_dev} devices registered in {db.name} "
                f"({time.monotonic() - t0:.1f}s)"
            )
            if mqtt_url:
                m = MqttSettings.from_url(mqtt_url)
            else:
                broker = BenchBroker().start()
                m = MqttSettings(broker.host, broker.port)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = dict(
                os.environ,
                DATABASE_URL=f"sqlite:///{db}",
                MQTT_URL=m.url,
                LINKAGE_MQTT_CLIENT_ID=client_id,
                LINKAGE_EMBEDDED_BROKER="off",
                LINKAGE_LOG_LEVEL="WARNING",
                LINKAGE_LOG_FORMAT="console",
            )
            log_path = Path(tmp) / "hub.log"
            t0 = time.monotonic()
            with open(log_path, "wb") as log:
                hub = subprocess.Popen(
                    [_linkage_exe(), "hub", "--host", "127.0.0.1", "--port", str(port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=tmp,
                )
            proc = psutil.Process(hub.pid)
            peak = [0.0]

            def sample():
                peak[0] = max(peak[0], rss_mb(proc))

            def healthy():
                if hub.poll() is not None:
                    raise BenchError(
                        f"the hub exited with {hub.returncode}:\n" + log_path.read_text(errors="replace")[-3000:]
                    )
                sample()
                h = _health(base)
                return bool(h and h["_code"] == 200 and h.get("broker", {}).get("connected"))

            try:
                wait_until(healthy, timeout, f"GET {base}/api/health to answer 200 with the broker connected", 0.25)
            except BenchError as exc:
                raise BenchError(f"{exc}\nhub log:\n{log_path.read_text(errors='replace')[-3000:]}") from None
            health = _health(base)
            registered = health.get("devices_registered")
            start_s = time.monotonic() - t0
            time.sleep(1.0)  # let start-up settle
            rss_idle = rss_mb(proc)
            sample()
            say(
                f"hub up in {start_s:.1f}s (pid {hub.pid}, {m.url}); /api/health devices_registered={registered}; "
                f"RSS {rss_idle:.1f} MB"
            )

            rss_after = rss_idle
            sent = 0
            if traffic:
                now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                msgs = [
                    (
                        event_topic(sim_home_id(i), "unit-1"),
                        orjson.dumps(
                            {"event_id": f"mem-{client_id}-{i}", "type": "heartbeat", "ts": now, "battery": 90}
                        ),
                    )
                    for i in range(homes)
                ]
                seen = UnitsSeen(db, time.time())
                try:
                    pub_s = publish_all(m.host, m.port, msgs, f"{client_id}-pub", timeout=timeout)
                    sent = len(msgs)
                    t_pub = time.monotonic()

                    def drained():
                        sample()
                        if hub.poll() is not None:
                            raise BenchError(f"the hub exited with {hub.returncode} under traffic")
                        return seen() >= sent

                    try:
                        wait_until(drained, timeout, f"the hub to take {sent} heartbeats", 0.5)
                    except BenchError as exc:
                        raise BenchError(
                            f"{exc} ({seen()} home units marked seen; /api/health: {_health(base)})"
                            "\nhub log:\n" + log_path.read_text(errors="replace")[-3000:]
                        ) from None
                    took = time.monotonic() - t_pub
                finally:
                    seen.close()
                time.sleep(0.5)
                rss_after = rss_mb(proc)
                sample()
                say(
                    f"traffic: one heartbeat from each of {sent} home units published in {pub_s:.1f}s; all "
                    f"stored by the hub (devices.last_seen) {took:.1f}s after the last PUBACK; RSS {rss_after:.1f} MB"
                )
        finally:
            if hub is not None and hub.poll() is None:
                hub.send_signal(signal.SIGTERM)
                try:
                    hub.wait(15)
                except subprocess.TimeoutExpired:
                    hub.kill()
                    hub.wait(5)
            if mqtt_url and hub is not None:
                try:  # do not leave a persistent session collecting traffic on a shared broker
                    wipe_session(m.host, m.port, client_id)
                except Exception:  # noqa: BLE001
                    pass
            if broker is not None:
                broker.stop()

    ok = registered is not None and registered >= homes * 6 and max(rss_after, peak[0]) < TARGET_MB
    say()
    say(
        table(
            [
                "devices registered",
                "RSS at start (MB)",
                "RSS after traffic (MB)",
                "peak sampled (MB)",
                "target (MB)",
                "result",
            ],
            [
                (
                    registered,
                    f"{rss_idle:.1f}",
                    f"{rss_after:.1f}" if traffic else "-",
                    f"{peak[0]:.1f}",
                    f"< {TARGET_MB}",
                    verdict(ok),
                )
            ],
            aligns=">>>>>>",
        )
    )
    elapsed = time.monotonic() - t_all
    say(f"(memory benchmark took {elapsed:.0f}s)")
    return {
        "devices_registered": registered,
        "rss_start_mb": rss_idle,
        "rss_after_mb": rss_after,
        "rss_peak_mb": peak[0],
        "target_mb": TARGET_MB,
        "heartbeats": sent,
        "ok": ok,
        "elapsed": elapsed,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    ap.add_argument("--homes", type=int, default=DEFAULT_HOMES, help="simulated homes (6 devices each)")
    ap.add_argument(
        "--no-traffic", dest="traffic", action="store_false", help="do not send one heartbeat per home unit"
    )
    ap.add_argument("--mqtt-url", help="use this broker instead of a private mosquitto (e.g. mqtt://127.0.0.1:1883)")
    ap.add_argument("--timeout", type=float, default=120, help="limit for each wait, seconds")
    a = ap.parse_args(argv)
    if a.homes < 1:
        ap.error("--homes must be positive")
    try:
        s = run(a.homes, a.traffic, a.mqtt_url, a.timeout)
    except BenchError as exc:
        print(f"memory benchmark failed: {exc}", file=sys.stderr)
        return 2
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

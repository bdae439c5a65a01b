"""Ingest benchmark (DESIGN.md, Targets): sustained events/s at least 80% of what a bare
paho-mqtt subscriber drains from the same broker in the same run, with deduplication and
persistence on.

    .venv/bin/python -m bench.ingest [--messages 50000] [--rounds 5] [--homes 2000] [--pg]

Method. A private Mosquitto (deploy/mosquitto-bench.conf: no queue limit, 1000 in flight,
no persistence) on a free loopback port serves every contender. For each contender and
round: create a persistent session (clean_session=False, QoS 1 on telecare/v1/#) and leave;
publish a backlog of N event messages at QoS 1 and wait for every PUBACK, so the broker
holds all of them; then start the subscriber and time the drain, from connect until all N
are taken (bare: counted in on_message with auto-ack; hub: MqttConsumer.processed == N,
i.e. committed and acknowledged, and its queue empty). The session is wiped afterwards so
it does not collect the next backlog. Contenders alternate, the order flips each round, and
the median of the rounds is reported (the 2-core machine is noisy).

Contenders:
  bare        paho-mqtt 2, MQTTv311, clean_session=False, QoS 1, auto-ack, on_message counts.
  hub-sqlite  the hub's ingest path: MqttConsumer (manual ack after commit) + IngestService +
              DeviceCache on a fresh SQLite file (schema by telecare.storage.upgrade,
              homes by register_sim_homes), one per round.
  hub-pg      the same on PostgreSQL (--pg): a fresh schema in database ``test`` at
              127.0.0.1:5432, dropped afterwards.

The backlog: mostly raw activity (motion, bed_exit, bed_enter, door_open) with unique
event ids, some heartbeats, about 5% exact duplicates of an earlier event (some in the same
batch, most in earlier ones, so both dedup paths run) and a few alarms (pendant, fall). After
each hub drain the database is checked: event rows == unique non-heartbeat events, no dead
letters, the consumer's counters agree.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import orjson

from .common import (
    BenchBroker,
    BenchError,
    create_session,
    make_client,
    median,
    publish_all,
    table,
    verdict,
    wait_until,
    wipe_session,
)

TARGET_RATIO = 0.8
SUBSCRIPTION = "telecare/v1/#"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# (share of fresh messages, type, device)
MIX = (
    (0.34, "motion", "motion-1"),
    (0.16, "bed_exit", "bed-1"),
    (0.16, "bed_enter", "bed-1"),
    (0.18, "door_open", "door-1"),
    (0.15, "heartbeat", "unit-1"),
    (0.0025, "pendant", "pendant-1"),
    (0.0025, "fall", "fall-1"),
)
DUPLICATE_SHARE = 0.05
DUPLICATE_WINDOW = 5000  # a duplicate repeats one of the last this-many events


@dataclass
class Backlog:
    messages: list[tuple[str, bytes]]
    unique_events: int  # non-heartbeat (device, event_id) pairs: the rows the hub must keep
    heartbeats: int
    duplicates: int
    alarms: int
    homes_alarmed: int
    by_type: dict = field(default_factory=dict)

    def describe(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.by_type.items(), key=lambda kv: -kv[1]))
        return (
            f"{len(self.messages)} messages: {self.unique_events} unique events to store, "
            f"{self.heartbeats} heartbeats, {self.duplicates} duplicates, {self.alarms} alarms "
            f"({kinds})"
        )


def make_backlog(n: int, homes: int, tag: str, seed: int) -> Backlog:
    from hub.mqtt.topics import event_topic
    from telecare.site.bulk import sim_home_id

    rng = random.Random(seed)
    base = datetime.now(timezone.utc).replace(microsecond=0)
    messages: list[tuple[str, bytes]] = []
    recent: list[int] = []  # indexes of non-heartbeat messages, for duplicates
    unique = heartbeats = duplicates = alarms = 0
    alarmed: set[int] = set()
    by_type: dict[str, int] = {}
    cum = []
    acc = 0.0
    for share, etype, device in MIX:
        acc += share
        cum.append((acc, etype, device))
    for seq in range(n):
        if recent and rng.random() < DUPLICATE_SHARE:
            messages.append(messages[rng.choice(recent[-DUPLICATE_WINDOW:])])
            duplicates += 1
            by_type["duplicate"] = by_type.get("duplicate", 0) + 1
            continue
        r = rng.random() * acc
        etype, device = next(((e, d) for c, e, d in cum if r < c), cum[-1][1:])
        home = rng.randrange(homes)
        ts = (base + timedelta(milliseconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {
            "event_id": f"{tag}-{seq}",
            "type": etype,
            "ts": ts,
            "battery": rng.randint(30, 100),
            "location": None,
            "value": None,
        }
        if etype in ("pendant", "fall"):
            body["location"] = rng.choice(["bedroom", "bathroom", "kitchen", "hall"])
            alarms += 1
            alarmed.add(home)
        messages.append((event_topic(sim_home_id(home), device), orjson.dumps(body)))
        by_type[etype] = by_type.get(etype, 0) + 1
        if etype == "heartbeat":
            heartbeats += 1
        else:
            unique += 1
            recent.append(len(messages) - 1)
    # duplicates of heartbeats never happen (only non-heartbeats are repeated)
    return Backlog(messages, unique, heartbeats, duplicates, alarms, len(alarmed), by_type)


@dataclass
class Result:
    contender: str
    round: int
    messages: int
    seconds: float
    publish_seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else float("nan")


# -- the contenders ----------------------------------------------------------------------------
def drain_bare(host: str, port: int, client_id: str, n: int, timeout: float) -> float:
    """The yardstick: paho with auto-ack; on_message only counts."""
    c = make_client(client_id, clean_session=False)
    count = [0]
    done = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe(SUBSCRIPTION, qos=1)

    def on_message(client, userdata, msg):
        count[0] += 1
        if count[0] >= n:
            done.set()

    c.on_connect = on_connect
    c.on_message = on_message
    start = time.perf_counter()
    c.connect(host, port, keepalive=30)
    c.loop_start()
    try:
        if not done.wait(timeout):
            raise BenchError(f"bare subscriber took only {count[0]} of {n} messages in {timeout:.0f}s")
        return time.perf_counter() - start
    finally:
        c.disconnect()
        c.loop_stop()


class HubDb:
    """A fresh database with the schema and the simulated homes: SQLite file or a PG schema."""

    def __init__(self, kind: str, homes: int, workdir: Path):
        from telecare.site.bulk import register_sim_homes
        from telecare.storage import make_engine, make_session_factory, upgrade

        self.kind = kind
        self._schema = None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / f'ingest-{uuid.uuid4().hex[:8]}.db'}"
        else:
            from sqlalchemy import create_engine, text

            self._schema = "bench_" + uuid.uuid4().hex[:12]
            self._admin = create_engine(PG_ADMIN_URL)
            with self._admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self._schema}"'))
            self.url = f"{PG_ADMIN_URL}?options={quote(f'-csearch_path={self._schema}')}"
        self.engine = make_engine(self.url)
        upgrade(self.engine)
        self.sessions = make_session_factory(self.engine)
        with self.sessions() as s, s.begin():
            register_sim_homes(s, homes, datetime.now(timezone.utc))

    def counts(self) -> dict:
        from sqlalchemy import func, select

        from telecare.alert.models import Alert
        from telecare.events.models import DeadLetter, Event

        with self.sessions() as s:
            return {
                "events": s.scalar(select(func.count()).select_from(Event)),
                "dead_letters": s.scalar(select(func.count()).select_from(DeadLetter)),
                "alerts": s.scalar(select(func.count()).select_from(Alert)),
            }

    def close(self) -> None:
        self.engine.dispose()
        if self._schema:
            from sqlalchemy import text

            with self._admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self._schema}" CASCADE'))
            self._admin.dispose()


def _ingest_counter(result: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("linkage_ingest_messages_total", {"result": result}) or 0.0


def drain_hub(host: str, port: int, client_id: str, db: HubDb, n: int, timeout: float):
    """The hub's real path: MqttConsumer -> IngestService (dedup, persistence) -> commit -> ack."""
    from hub.config import MqttSettings
    from hub.mqtt.consumer import MqttConsumer
    from telecare.clock import SystemClock
    from telecare.events.ingest import IngestService
    from telecare.site.device_cache import DeviceCache

    directory = DeviceCache()
    with db.sessions() as s:
        directory.load(s)
    service = IngestService(db.sessions, directory, SystemClock())
    consumer = MqttConsumer(MqttSettings(host, port), service, client_id=client_id)
    before = {k: _ingest_counter(k) for k in ("accepted", "heartbeat", "duplicate", "dead_letter")}
    # The end is the consumer's own stamp after its last batch was committed and acknowledged
    # (last_batch_at, wall clock), so the poll below can be slow and cost the hub nothing.
    start = time.time()
    consumer.start()
    try:
        try:
            wait_until(
                lambda: consumer.processed >= n and consumer.queue.empty(),
                timeout,
                f"the hub to drain {n} messages",
                interval=0.05,
            )
        except BenchError as exc:
            raise BenchError(f"{exc} (processed {consumer.processed})") from None
        seconds = (consumer.last_batch_at or time.time()) - start
    finally:
        consumer.stop()
    after = {k: _ingest_counter(k) - before[k] for k in before}
    return seconds, consumer.processed, after


def check_hub(db: HubDb, backlog: Backlog, processed: int, counters: dict) -> str:
    got = db.counts()
    problems = []
    if processed != len(backlog.messages):
        problems.append(f"processed {processed} messages, expected {len(backlog.messages)}")
    if got["events"] != backlog.unique_events:
        problems.append(f"{got['events']} event rows, expected {backlog.unique_events} unique non-heartbeat events")
    if got["dead_letters"]:
        problems.append(f"{got['dead_letters']} dead letters, expected none")
    if counters["accepted"] != backlog.unique_events:
        problems.append(f"consumer accepted {counters['accepted']:.0f}, expected {backlog.unique_events}")
    if counters["heartbeat"] != backlog.heartbeats:
        problems.append(f"consumer counted {counters['heartbeat']:.0f} heartbeats, expected {backlog.heartbeats}")
    if counters["duplicate"] != backlog.duplicates:
        problems.append(f"consumer counted {counters['duplicate']:.0f} duplicates, expected {backlog.duplicates}")
    if backlog.alarms and not got["alerts"]:
        problems.append("alarms were sent but no alert was opened")
    if problems:
        raise BenchError("hub result is wrong: " + "; ".join(problems))
    return f"ok: {got['events']} events, {got['alerts']} alerts, 0 dead letters"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


# -- the run -----------------------------------------------------------------------------------
def pg_available() -> bool:
    from .common import port_answers

    return port_answers("127.0.0.1", 5432)


def run(
    messages: int = 50_000,
    rounds: int = 5,
    homes: int = 2000,
    pg: bool = False,
    timeout: float = 180,
    seed: int = 1,
    out=sys.stdout,
) -> dict:
    def say(*a):
        print(*a, file=out, flush=True)

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("linkage").setLevel(logging.WARNING)
    contenders = ["bare", "hub-sqlite"] + (["hub-pg"] if pg else [])
    if pg and not pg_available():
        raise BenchError("--pg: PostgreSQL does not answer at 127.0.0.1:5432")
    run_id = uuid.uuid4().hex[:6]
    results: list[Result] = []
    t_all = time.monotonic()
    with BenchBroker() as broker, tempfile.TemporaryDirectory(prefix="linkage-bench-ingest-") as tmp:
        say(
            f"ingest benchmark: private mosquitto at {broker.url} (deploy/mosquitto-bench.conf), "
            f"{messages} messages x {rounds} rounds x {len(contenders)} contenders, {homes} homes "
            f"({homes * 6} devices); load average {_load()}"
        )
        sample = make_backlog(messages, homes, "sample", seed)
        say(f"backlog per contender and round: {sample.describe()}")
        for rnd in range(1, rounds + 1):
            order = contenders if rnd % 2 else list(reversed(contenders))
            for who in order:
                cid = f"bench-{who}-{run_id}-r{rnd}"
                tag = f"{run_id}{rnd}{who[:5]}"
                backlog = make_backlog(messages, homes, tag, seed + rnd)
                db = HubDb(who.split("-")[1], homes, Path(tmp)) if who.startswith("hub") else None
                try:
                    create_session(broker.host, broker.port, cid, SUBSCRIPTION)
                    pub_s = publish_all(
                        broker.host, broker.port, backlog.messages, f"bench-pub-{run_id}", timeout=timeout
                    )
                    if db is None:
                        secs = drain_bare(broker.host, broker.port, cid, messages, timeout)
                        note = ""
                    else:
                        secs, processed, counters = drain_hub(broker.host, broker.port, cid, db, messages, timeout)
                        note = check_hub(db, backlog, processed, counters)
                finally:
                    wipe_session(broker.host, broker.port, cid)
                    if db is not None:
                        db.close()
                r = Result(who, rnd, messages, secs, pub_s, note)
                results.append(r)
                say(
                    f"  round {rnd} {who:<10} {messages} msgs drained in {secs:6.2f}s = {r.rate:7.0f}/s  "
                    f"(backlog published in {pub_s:.2f}s = {messages / pub_s:.0f}/s){'  ' + note if note else ''}"
                )

    rows = [(r.contender, r.round, r.messages, f"{r.seconds:.2f}", f"{r.rate:.0f}") for r in results]
    say()
    say(table(["contender", "round", "messages", "seconds", "msgs/s"], rows))
    med = {c: median(r.rate for r in results if r.contender == c) for c in contenders}
    med_s = {c: median(r.seconds for r in results if r.contender == c) for c in contenders}
    say()
    say(
        table(
            ["contender (median)", "messages", "seconds", "msgs/s", "ratio to bare"],
            [(c, messages, f"{med_s[c]:.2f}", f"{med[c]:.0f}", f"{med[c] / med['bare']:.2f}") for c in contenders],
        )
    )
    summary = {
        "bare_rate": med["bare"],
        "elapsed": time.monotonic() - t_all,
        "target_ratio": TARGET_RATIO,
        "contenders": {},
    }
    say()
    for c in contenders[1:]:
        ratio = med[c] / med["bare"]
        per_round = [
            h.rate / b.rate
            for h, b in zip(
                [r for r in results if r.contender == c], [r for r in results if r.contender == "bare"], strict=False
            )
        ]
        ok = ratio >= TARGET_RATIO
        summary["contenders"][c] = {
            "rate": med[c],
            "ratio": ratio,
            "ok": ok,
            "per_round": per_round,
            "median_round_ratio": median(per_round),
        }
        say(
            f"{c}: median {med[c]:.0f} msgs/s vs bare {med['bare']:.0f} msgs/s -> ratio {ratio:.2f} "
            f"(target >= {TARGET_RATIO:.2f}) {verdict(ok)}; ratio within each round "
            + ", ".join(f"{x:.2f}" for x in per_round)
            + f" (median {median(per_round):.2f})"
        )
    say(f"(ingest benchmark took {summary['elapsed']:.0f}s; load average now {_load()} on {os.cpu_count()} CPUs)")
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=50_000, help="backlog size per contender and round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    ap.add_argument("--homes", type=int, default=2000, help="simulated homes registered (6 devices each)")
    ap.add_argument("--pg", action="store_true", help="also run the hub on PostgreSQL at 127.0.0.1:5432/test")
    ap.add_argument("--timeout", type=float, default=180, help="limit for each wait, seconds")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    if a.messages < 1 or a.rounds < 1 or a.homes < 1:
        ap.error("--messages, --rounds and --homes must be positive")
    try:
        s = run(a.messages, a.rounds, a.homes, a.pg, a.timeout, a.seed)
    except BenchError as exc:
        print(f"ingest benchmark failed: {exc}", file=sys.stderr)
        return 2
    return 0 if all(c["ok"] for c in s["contenders"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())

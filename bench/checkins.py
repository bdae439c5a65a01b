"""Check-in timers (DESIGN.md, Targets): 100,000 daily check-ins scheduled; p99 lateness under
1 s; a hub restart loses none.

    .venv/bin/python -m bench.checkins [--residents 100000] [--burst 2000] [--minutes 3]

A temporary SQLite database gets the sample site and 100,000 residents, each with a phone and
a daily check-in (``telecare.checkin.bulk``) at a time spread over the day but away from now.
The real hub runs as a subprocess (``python -m hub.cli hub``, the sandbox notifier, the bench's
private Mosquitto). Once it is up, ``burst`` residents are moved to each of the next
``minutes`` whole minutes (local time), so several thousand check-ins fall due within a couple
of minutes of real time, at the same instants, as everybody's "10:00" would.

Lateness of a start is measured two ways: the hub's own ``started_at - due_at`` (taken in the
transaction that starts it), and "committed": when an observer polling the database every
50 ms first sees the row (so it includes the commit and up to 50 ms of polling).

In the second minute the hub is killed with SIGKILL 20 ms after the check-ins fall due, in
the middle of starting them, and started again at once. Afterwards every check-in due in the
window must have started exactly once (a unique constraint makes twice impossible; the check
is that none is missing), those due while it was down late by the downtime. Memory is the
hub's RSS (psutil), sampled every half second. Everything is bounded in count and time, on
loopback.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
from sqlalchemy import bindparam, create_engine, func, select, update
from sqlalchemy.orm import sessionmaker

from telecare.checkin.bulk import bench_resident_id, register_checkin_residents
from telecare.checkin.models import Checkin, CheckinAttempt, CheckinSchedule
from telecare.clock import SystemClock
from telecare.notification.models import Notification
from telecare.site.loader import load_site
from telecare.site.models import Resident
from telecare.storage import make_engine, make_session_factory, upgrade

from .common import BenchBroker, BenchError, free_port, hub_env, table, verdict, wait_until
from .latency import percentile
from .memory import _health, rss_mb

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 1000
TZ = ZoneInfo("Europe/London")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def spread_times(n: int, now: datetime, rng: random.Random, keep_clear: tuple[int, int] = (-10, 90)) -> list[str]:
    """Local HH:MM check-in times spread over 07:00-21:59, none within ``keep_clear`` minutes of now."""
    local = now.astimezone(TZ)
    minute_now = local.hour * 60 + local.minute
    lo, hi = keep_clear
    allowed = [m for m in range(7 * 60, 22 * 60) if not lo <= ((m - minute_now + 720) % 1440) - 720 <= hi]
    return [f"{m // 60:02d}:{m % 60:02d}" for m in (rng.choice(allowed) for _ in range(n))]


def prepare(db: Path, residents: int, now: datetime, rng: random.Random):
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions() as s, s.begin():
        load_site(s, (ROOT / "data" / "sample" / "site.yml").read_text(), now)
    with sessions() as s, s.begin():
        register_checkin_residents(s, spread_times(residents, now, rng), now)
    return engine, sessions


class Observer(threading.Thread):
    """Polls for newly committed check-ins; notes when each was first seen."""

    def __init__(self, sessions, interval: float = 0.05):
        super().__init__(name="observer", daemon=True)
        self.sessions = sessions
        self.interval = interval
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self._last = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with self.sessions() as s:
                    ids = list(s.scalars(select(Checkin.id).where(Checkin.id > self._last).order_by(Checkin.id)))
                t = time.time()
                for i in ids:
                    self.seen.setdefault(i, t)
                if ids:
                    self._last = ids[-1]
            except Exception:  # noqa: BLE001  (the database is busy: try again)
                pass
            self.stop.wait(self.interval)


class RssSampler(threading.Thread):
    def __init__(self, interval: float = 0.5):
        super().__init__(name="rss", daemon=True)
        self.interval = interval
        self.proc: psutil.Process | None = None
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            p = self.proc
            if p is not None:
                try:
                    self.samples.append(rss_mb(p))
                except psutil.Error:
                    pass
            self.stop.wait(self.interval)


def _hub(env: dict, port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "hub", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def _ready(base: str) -> bool:
    h = _health(base)
    return h is not None and bool(h.get("scheduler", {}).get("checkin_timer_running"))


def run(
    residents: int = 100_000,
    burst: int = 2000,
    minutes: int = 3,
    kill_minute: int = 1,
    kill_after: float = 0.02,
    lead: float = 15,
    quiet: bool = False,
) -> dict:
    def say(*a):
        if not quiet:
            print(*a, flush=True)

    if burst * minutes > residents:
        raise BenchError("burst x minutes must not exceed the residents")
    rng = random.Random(20261123)
    work = Path(tempfile.mkdtemp(prefix="linkage-bench-checkins-"))
    db = work / "hub.db"
    t = time.monotonic()
    engine, sessions = prepare(db, residents, SystemClock().now(), rng)
    with sessions() as s:
        scheduled = s.scalar(
            select(func.count()).select_from(CheckinSchedule).where(CheckinSchedule.next_due_at.is_not(None))
        )
    say(f"registered {residents} residents, {scheduled} daily check-ins scheduled, in {time.monotonic() - t:.1f}s")
    procs: list[subprocess.Popen] = []
    sampler = RssSampler()
    # the observer reads on a plain connection: WAL readers never wait for the hub's writes
    # (the hub's own engine begins every transaction IMMEDIATE, which would queue it behind them)
    reader = create_engine(f"sqlite:///{db}")
    observer = Observer(sessionmaker(reader))
    result: dict = {"residents": residents, "scheduled": scheduled, "target_ms": TARGET_P99_MS}
    with BenchBroker() as broker:
        env = hub_env(db, broker.url, "checkins")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        try:
            t = time.monotonic()
            procs.append(_hub(env, port, work / "hub.log"))
            wait_until(lambda: _ready(base), 120, "the hub (with its check-in timer)", 0.1)
            say(f"hub up in {time.monotonic() - t:.1f}s")
            sampler.proc = psutil.Process(procs[-1].pid)
            sampler.start()
            time.sleep(1.0)
            rss_idle = rss_mb(sampler.proc)

            # the bursts: the next whole minutes at least `lead` seconds away
            now = datetime.now(timezone.utc)
            t0 = (now + timedelta(seconds=lead)).replace(second=0, microsecond=0) + timedelta(minutes=1)
            dues = [t0 + timedelta(minutes=m) for m in range(minutes)]
            chosen = rng.sample(range(residents), burst * minutes)
            with sessions() as s:
                ids = dict(
                    s.execute(
                        select(Resident.ext_id, Resident.id).where(
                            Resident.ext_id.in_([bench_resident_id(i) for i in chosen])
                        )
                    ).all()
                )
            plan: dict[int, datetime] = {}
            rows_r, rows_s = [], []
            for k, i in enumerate(chosen):
                due = dues[k // burst]
                rid = ids[bench_resident_id(i)]
                plan[rid] = due
                rows_r.append(
                    {
                        "rid": rid,
                        "cfg": {
                            "at": due.astimezone(TZ).strftime("%H:%M"),
                            "days": DAYS,
                            "via": "voice",
                            "attempts": 3,
                            "retry": 600,
                            "policy": None,
                        },
                    }
                )
                rows_s.append({"rid": rid, "due": due})
            with sessions() as s, s.begin():
                s.connection().execute(
                    update(Resident.__table__)
                    .where(Resident.__table__.c.id == bindparam("rid"))
                    .values(checkin=bindparam("cfg")),
                    rows_r,
                )
                s.connection().execute(
                    update(CheckinSchedule.__table__)
                    .where(CheckinSchedule.__table__.c.resident_id == bindparam("rid"))
                    .values(next_due_at=bindparam("due")),
                    rows_s,
                )
            say(
                f"{burst} check-ins fall due at each of "
                + ", ".join(d.astimezone(TZ).strftime("%H:%M") for d in dues)
                + " (local)"
            )
            observer.start()

            kill_at = dues[kill_minute] + timedelta(seconds=kill_after) if 0 <= kill_minute < minutes else None
            killed = ready_again = None
            if kill_at is not None:
                time.sleep(max(0.0, (kill_at - datetime.now(timezone.utc)).total_seconds()))
                victim = procs[-1]
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait(10)
                killed = time.time()
                with sessionmaker(reader)() as s:  # what it had committed before it died
                    before_kill = s.scalar(
                        select(func.count()).select_from(Checkin).where(Checkin.due_at == dues[kill_minute])
                    )
                say(
                    f"hub killed (SIGKILL) at {kill_at.astimezone(TZ):%H:%M:%S.%f}"[:-3]
                    + f" with {before_kill} of the {burst} due then already started; restarting"
                )
                procs.append(_hub(env, port, work / "hub.log"))
                sampler.proc = psutil.Process(procs[-1].pid)
                wait_until(lambda: _ready(base), 120, "the hub after the restart", 0.05)
                ready_again = time.time()
                say(f"hub back after {ready_again - killed:.1f}s")

            expected = len(plan)

            def started() -> int:
                with sessionmaker(reader)() as s:
                    return s.scalar(select(func.count()).select_from(Checkin).where(Checkin.kind == "scheduled"))

            wait_until(
                lambda: started() >= expected and datetime.now(timezone.utc) > dues[-1] + timedelta(seconds=3),
                (dues[-1] - datetime.now(timezone.utc)).total_seconds() + 90,
                "every check-in to start",
                0.2,
            )
            time.sleep(2)  # anything started twice would show by now
            rss_end = rss_mb(sampler.proc)
        finally:
            observer.stop.set()
            sampler.stop.set()
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
    with sessions() as s:
        rows = s.execute(
            select(Checkin.id, Checkin.resident_id, Checkin.due_at, Checkin.started_at, Checkin.state).where(
                Checkin.kind == "scheduled"
            )
        ).all()
        handed = dict(
            s.execute(
                select(CheckinAttempt.checkin_id, Notification.handed_at)
                .join(Notification, Notification.id == CheckinAttempt.notification_id)
                .where(CheckinAttempt.number == 1)
            ).all()
        )
        moved_on = s.scalar(
            select(func.count())
            .select_from(CheckinSchedule)
            .where(CheckinSchedule.resident_id.in_(list(plan)), CheckinSchedule.next_due_at > dues[-1])
        )
    engine.dispose()
    reader.dispose()
    got: dict[tuple[int, datetime], int] = {}
    for _, rid, due, _, _ in rows:
        got[(rid, due)] = got.get((rid, due), 0) + 1
    missing = sum(1 for rid, due in plan.items() if (rid, due) not in got)
    twice = sum(n - 1 for n in got.values() if n > 1)
    unexpected = sum(1 for (rid, due) in got if plan.get(rid) != due)

    def ms(xs):
        return [x * 1000 for x in xs]

    kill_due = dues[kill_minute] if kill_at is not None else None
    up = [r for r in rows if r.due_at != kill_due and plan.get(r.resident_id) == r.due_at]
    down = [r for r in rows if r.due_at == kill_due and plan.get(r.resident_id) == r.due_at]
    hub_up = ms((r.started_at - r.due_at).total_seconds() for r in up)
    seen_up = ms(observer.seen[r.id] - r.due_at.timestamp() for r in up if r.id in observer.seen)
    hand_up = ms((handed[r.id] - r.due_at).total_seconds() for r in up if handed.get(r.id))
    restart_lat = ms((r.started_at - r.due_at).total_seconds() for r in down)
    after_restart = sum(1 for r in down if ready_again and r.started_at.timestamp() > killed)
    result.update(
        {
            "expected": expected,
            "started": len(rows),
            "missing": missing,
            "twice": twice,
            "unexpected": unexpected,
            "schedules_moved_on": moved_on,
            "bursts": minutes,
            "burst": burst,
            "p50_ms": percentile(hub_up, 50),
            "p99_ms": percentile(hub_up, 99),
            "max_ms": max(hub_up, default=float("nan")),
            "seen_p50_ms": percentile(seen_up, 50),
            "seen_p99_ms": percentile(seen_up, 99),
            "seen_max_ms": max(seen_up, default=float("nan")),
            "seen_n": len(seen_up),
            "handed_p50_ms": percentile(hand_up, 50),
            "handed_p99_ms": percentile(hand_up, 99),
            "restart_due": len(down),
            "restart_started_after": after_restart,
            "restart_max_late_s": max(restart_lat, default=0) / 1000,
            "downtime_s": (ready_again - killed) if killed and ready_again else None,
            "rss_idle_mb": rss_idle,
            "rss_end_mb": rss_end,
            "rss_peak_mb": max(sampler.samples, default=rss_end),
        }
    )
    result["restart_ok"] = missing == 0 and twice == 0 and unexpected == 0 and moved_on == expected
    result["ok"] = result["restart_ok"] and result["seen_p99_ms"] < TARGET_P99_MS and result["p99_ms"] < TARGET_P99_MS
    say(
        table(
            ["starts (hub up)", "n", "p50 ms", "p99 ms", "max ms"],
            [
                [
                    "started_at - due_at",
                    len(hub_up),
                    f"{result['p50_ms']:.0f}",
                    f"{result['p99_ms']:.0f}",
                    f"{result['max_ms']:.0f}",
                ],
                [
                    "committed (seen by a poller)",
                    len(seen_up),
                    f"{result['seen_p50_ms']:.0f}",
                    f"{result['seen_p99_ms']:.0f}",
                    f"{result['seen_max_ms']:.0f}",
                ],
                [
                    "call handed to the notifier",
                    len(hand_up),
                    f"{result['handed_p50_ms']:.0f}",
                    f"{result['handed_p99_ms']:.0f}",
                    "",
                ],
            ],
        )
    )
    if kill_at is not None:
        say(
            f"restart: {len(down)} due at the kill, {after_restart} of them started after the restart "
            f"(latest {result['restart_max_late_s']:.1f}s late; hub down {result['downtime_s']:.1f}s)"
        )
    say(
        f"exactly once: {expected} due, {len(rows)} started, {missing} missing, {twice} twice, "
        f"{unexpected} unexpected; {moved_on} schedules moved on to the next day  {verdict(result['restart_ok'])}"
    )
    say(
        f"hub RSS with {scheduled} check-ins scheduled: idle {rss_idle:.0f} MB, peak {result['rss_peak_mb']:.0f} MB, "
        f"end {rss_end:.0f} MB"
    )
    say(
        f"p99 lateness of check-in starts {result['p99_ms']:.0f} ms (committed {result['seen_p99_ms']:.0f} ms); "
        f"target < {TARGET_P99_MS} ms  {verdict(result['ok'])}"
    )
    if result["ok"]:
        shutil.rmtree(work, ignore_errors=True)  # 40 MB of database each run
    else:
        say(f"(database and hub log kept in {work})")
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.checkins", description=__doc__.split("\n\n")[0])
    ap.add_argument("--residents", type=int, default=100_000)
    ap.add_argument("--burst", type=int, default=2000, help="check-ins falling due at each whole minute")
    ap.add_argument("--minutes", type=int, default=3, help="how many whole minutes have a burst")
    ap.add_argument("--kill-minute", type=int, default=1, help="which burst the hub is killed in (-1: none)")
    ap.add_argument("--kill-after", type=float, default=0.02, help="seconds after that burst falls due")
    a = ap.parse_args(argv)
    try:
        r = run(
            residents=a.residents, burst=a.burst, minutes=a.minutes, kill_minute=a.kill_minute, kill_after=a.kill_after
        )
    except BenchError as exc:
        print(f"check-in benchmark failed to run: {exc}", file=sys.stderr)
        return 2
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

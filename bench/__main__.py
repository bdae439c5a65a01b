"""Run every benchmark (ingest, memory, alarm latency, check-in timers, the assistant) and print a summary.

    .venv/bin/python -m bench [--only ingest,memory,latency,checkins,assistant] [--messages 50000] [--rounds 5] [--pg]

Exit status: 0 when every target is met, 1 when one is missed, 2 when a benchmark failed to run.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import assistant, checkins, ingest, latency, memory
from .common import BenchError, verdict


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description="Linkage benchmarks: ingest, then memory.")
    ap.add_argument("--messages", type=int, default=50_000, help="ingest: backlog per contender and round")
    ap.add_argument("--rounds", type=int, default=5, help="ingest: rounds (median reported)")
    ap.add_argument("--pg", action="store_true", help="ingest: also the hub on PostgreSQL")
    ap.add_argument("--homes", type=int, default=memory.DEFAULT_HOMES, help="memory: simulated homes (6 devices each)")
    ap.add_argument("--latency-homes", type=int, default=100_000, help="latency: homes sending heartbeats")
    ap.add_argument("--checkin-residents", type=int, default=100_000, help="check-ins: residents with daily check-ins")
    ap.add_argument("--checkin-burst", type=int, default=2000, help="check-ins: falling due at each of 3 minutes")
    ap.add_argument("--conversations", type=int, default=40, help="assistant: scripted REST conversations")
    ap.add_argument(
        "--only", default="ingest,memory,latency,checkins,assistant", help="comma-separated benchmarks to run"
    )
    a = ap.parse_args(argv)
    only = set(a.only.split(","))
    t0 = time.monotonic()
    lines = []
    status = 0
    if "ingest" in only:
        print("=== ingest ===", flush=True)
        try:
            s = ingest.run(messages=a.messages, rounds=a.rounds, pg=a.pg)
            for name, c in s["contenders"].items():
                lines.append(
                    f"ingest {name:<11} {c['rate']:7.0f} msgs/s = {c['ratio']:.2f} x bare "
                    f"({s['bare_rate']:.0f} msgs/s; within-round median {c['median_round_ratio']:.2f}); "
                    f"target >= {s['target_ratio']:.2f}  {verdict(c['ok'])}"
                )
                status = max(status, 0 if c["ok"] else 1)
        except BenchError as exc:
            lines.append(f"ingest: FAILED TO RUN: {exc}")
            status = 2
    if "memory" in only:
        print("\n=== memory ===", flush=True)
        try:
            m = memory.run(homes=a.homes)
            lines.append(
                f"memory {m['devices_registered']} devices: RSS {m['rss_after_mb']:.0f} MB "
                f"(peak {m['rss_peak_mb']:.0f} MB); target < {m['target_mb']} MB  {verdict(m['ok'])}"
            )
            status = max(status, 0 if m["ok"] else 1)
        except BenchError as exc:
            lines.append(f"memory: FAILED TO RUN: {exc}")
            status = 2
    if "latency" in only:
        print("\n=== alarm latency ===", flush=True)
        try:
            lt = latency.run(homes=a.latency_homes)
            lines.append(
                f"latency alarm -> first notification, {a.latency_homes} homes sending heartbeats: "
                f"p50 {lt['p50_ms']:.0f} ms, p99 {lt['p99_ms']:.0f} ms (max {lt['max_ms']:.0f} ms, "
                f"{lt['alarms']} alarms); target p99 < {lt['target_ms']} ms  {verdict(lt['ok'])}"
            )
            status = max(status, 0 if lt["ok"] else 1)
        except BenchError as exc:
            lines.append(f"latency: FAILED TO RUN: {exc}")
            status = 2
    if "checkins" in only:
        print("\n=== check-in timers ===", flush=True)
        try:
            ck = checkins.run(residents=a.checkin_residents, burst=a.checkin_burst)
            lines.append(
                f"check-ins {ck['scheduled']} scheduled, {ck['burst']} due at each of {ck['bursts']} minutes: "
                f"start lateness p99 {ck['p99_ms']:.0f} ms, committed p99 {ck['seen_p99_ms']:.0f} ms "
                f"(max {ck['seen_max_ms']:.0f} ms); target p99 < {ck['target_ms']} ms; SIGKILL mid-burst: "
                f"{ck['missing']} lost, {ck['twice']} twice of {ck['expected']}; hub RSS "
                f"{ck['rss_peak_mb']:.0f} MB  {verdict(ck['ok'])}"
            )
            status = max(status, 0 if ck["ok"] else 1)
        except BenchError as exc:
            lines.append(f"check-ins: FAILED TO RUN: {exc}")
            status = 2
    if "assistant" in only:
        print("\n=== assistant ===", flush=True)
        try:
            ar = assistant.run(conversations=a.conversations)
            lines += assistant.summary_lines(ar)
            status = max(status, 0 if ar["ok"] else 1)
        except BenchError as exc:
            lines.append(f"assistant: FAILED TO RUN: {exc}")
            status = 2
    print("\n=== summary ===")
    for ln in lines:
        print(ln)
    print(f"(all benchmarks took {time.monotonic() - t0:.0f}s)")
    return status


if __name__ == "__main__":
    sys.exit(main())

"""The assistant's figures (DESIGN.md, Targets; issue 5):

* 5-fold cross-validated intent macro-F1 (``rasa test nlu --cross-validation``), target >= 0.93;
* emergency recall on the project's emergency test set through the running server (the model
  and the rules together), target 1.0, and how many near-misses it wrongly calls emergencies;
* safeguarding recall on the safeguarding set (abuse and neglect described), target 1.0;
* multi-need recording (issue 14): precision and recall per need, micro and macro, on the
  hand-written multi-need set (the model's ranking and the lexicon, ``needs.record``);
* reply time per REST turn including the actions, p50/p95, target p95 < 300 ms; the baseline
  measured in the same run is the NLU alone (``/model/parse``) for the same messages, so the
  cost of dialogue and actions shows;
* training time (forced, nothing cached), server start time and the Rasa server's memory.

    .venv/bin/python -m bench.assistant [--conversations 40] [--folds 5] [--no-cv]

The hub (hosting the actions) runs as a subprocess on a temporary SQLite database with the
sample site and directory, MQTT off (the actions need no broker); the Rasa server runs from
.venv-rasa with the current model.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import yaml

from hub import assistant_runner as runner
from telecare.assistant import needs as need_lexicon

from .common import BENCH_DATA_KEY, ROOT, BenchError, free_port, verdict

F1_TARGET = 0.93
NEEDS_TARGET = 0.95  # micro recall: ">= 95% of needs recorded" (issue 14)
P95_TARGET_MS = 300.0
TESTS = ROOT / "assistant" / "tests"

# scripted conversations: every turn goes through NLU, the rule policy and a custom action in the hub
SCRIPTS = [
    ["hello", "I'm struggling to pay my heating bills", "AV1 2AB", "no thanks", "bye"],
    [
        "hi there",
        "my mum is lonely since dad died",
        "her postcode is AV3 4RT",
        "yes please",
        "yes that's fine",
        "Joan Smith",
        "07700 900123",
    ],
    ["i keep falling over and i'm scared to go out", "AV2 1AA", "no", "thank you"],
    ["can someone ring me every morning to check i'm ok", "yes", "Edna Price", "01632 960111"],
    ["can i talk to a real person please", "07700 900555", "thanks bye"],
    ["i need grab rails in the bathroom and help with my shopping", "skip", "no thank you"],
]


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def _multi_need() -> list[dict]:
    return yaml.safe_load((TESTS / "multi_need_messages.yml").read_text(encoding="utf-8"))["messages"]


def _examples(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for block in doc.get("nlu", []):
        for line in (block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                out.append(line[2:].strip())
    return out


def cross_validate(folds: int, say) -> dict:
    with tempfile.TemporaryDirectory(prefix="linkage-bench-cv-") as tmp:
        cmd = [
            str(runner.rasa_bin()),
            "test",
            "nlu",
            "--nlu",
            "data/nlu",
            "--config",
            runner.CONFIG,
            "--cross-validation",
            "--folds",
            str(folds),
            "--out",
            tmp,
        ]
        t0 = time.monotonic()
        out = subprocess.run(cmd, cwd=ROOT, env=runner.rasa_env(), capture_output=True, text=True, timeout=3600)
        took = time.monotonic() - t0
        if out.returncode != 0:
            raise BenchError(f"rasa test nlu --cross-validation failed:\n{out.stderr[-3000:]}")
        report = next(Path(tmp).rglob("intent_report.json"), None)
        if report is None:
            raise BenchError("no intent_report.json from the cross-validation")
        data = json.loads(report.read_text())
        per_intent = {
            k: v["f1-score"]
            for k, v in data.items()
            if isinstance(v, dict)
            and "f1-score" in v
            and k not in ("macro avg", "weighted avg", "micro avg", "accuracy")
        }
        macro = data["macro avg"]["f1-score"]
        weakest = sorted(per_intent.items(), key=lambda kv: kv[1])[:4]
        say(
            f"cross-validation: {folds} folds in {took:.0f}s, macro-F1 {macro:.3f}; weakest "
            + ", ".join(f"{k} {v:.2f}" for k, v in weakest)
        )
        return {"macro_f1": macro, "folds": folds, "seconds": took, "weakest": weakest, "ok": macro >= F1_TARGET}


def train_forced(say) -> float:
    with tempfile.TemporaryDirectory(prefix="linkage-bench-train-") as tmp:
        t0 = time.monotonic()
        out = subprocess.run(
            runner.train_command(Path(tmp), "bench") + ["--force"],
            cwd=ROOT,
            env=runner.rasa_env(),
            capture_output=True,
            text=True,
            timeout=1800,
        )
        took = time.monotonic() - t0
        if out.returncode != 0:
            raise BenchError(f"rasa train failed:\n{out.stderr[-3000:]}")
    say(f"training (forced, from nothing cached): {took:.0f}s")
    return took


def _tree_rss_mb(pid: int) -> float:
    p = psutil.Process(pid)
    procs = [p] + p.children(recursive=True)
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def serve_and_measure(conversations: int, say) -> dict:
    model = runner.ensure_model()
    with tempfile.TemporaryDirectory(prefix="linkage-bench-assistant-") as tmp:
        tmpd = Path(tmp)
        db = tmpd / "assistant.db"
        actions_token = secrets.token_urlsafe(16)
        env = dict(
            os.environ,
            DATABASE_URL=f"sqlite:///{db}",
            LINKAGE_ACTIONS_TOKEN=actions_token,
            LINKAGE_DATA_KEY=BENCH_DATA_KEY,  # the sample site holds access notes (kept encrypted)
            MQTT_URL="off",
            LINKAGE_EMBEDDED_BROKER="off",
            LINKAGE_LOG_LEVEL="WARNING",
            LINKAGE_SUPERVISION_INTERVAL="3600",
            LINKAGE_ANONYMOUS_REQUESTS_PER_HOUR="100000",
        )  # the bench's emergencies are all anonymous
        env.pop("TWILIO_ACCOUNT_SID", None)
        linkage = [sys.executable, "-m", "hub.cli"]
        subprocess.run(
            linkage + ["load", str(ROOT / "data" / "sample" / "site.yml")],
            env=env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        hub_port, rasa_port = free_port(), free_port()
        hub_url, rasa_url = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{rasa_port}"
        rasa_token = secrets.token_urlsafe(12)
        hub_log, rasa_log = open(tmpd / "hub.log", "wb"), open(tmpd / "rasa.log", "wb")
        hub = subprocess.Popen(
            linkage + ["hub", "--port", str(hub_port)], env=env, stdout=hub_log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        rasa = None
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(hub_url + "/api/health", timeout=2)
                    break
                except httpx.HTTPError as exc:
                    if time.monotonic() > deadline or hub.poll() is not None:
                        raise BenchError("the hub did not start: " + (tmpd / "hub.log").read_text()[-2000:]) from exc
                    time.sleep(0.3)
            rasa = runner.start_server(
                model,
                rasa_port,
                hub_url=hub_url,
                actions_token=actions_token,
                log_file=rasa_log,
                auth_token=rasa_token,
                extra_env={"LINKAGE_CHAT_LIMITS": "off"},
            )  # one client, many turns a second
            try:
                start_s = runner.wait_ready(rasa_url, rasa, timeout=300)
            except runner.AssistantError as exc:
                raise BenchError(f"{exc}: " + (tmpd / "rasa.log").read_text(errors="replace")[-3000:]) from exc
            rss_idle = _tree_rss_mb(rasa.pid)
            say(f"server start: {start_s:.1f}s to answer with the model loaded; RSS {rss_idle:.0f} MB")
            client = httpx.Client(timeout=30)

            # emergency recall through the server (model + rules), and near-misses
            em = _examples(TESTS / "emergency_messages.yml")
            near = _examples(TESTS / "not_emergency_messages.yml")

            def parsed(text):
                return client.post(f"{rasa_url}/model/parse", params={"token": rasa_token}, json={"text": text}).json()

            def parse(text):
                return parsed(text)["intent"]["name"]

            missed = [t for t in em if parse(t) != "emergency"]
            false_alarms = [t for t in near if parse(t) == "emergency"]
            recall = 1 - len(missed) / len(em)
            say(
                f"emergency recall {recall:.3f} on {len(em)} messages (missed: {missed[:5]}); "
                f"{len(false_alarms)} of {len(near)} near-misses called emergencies {false_alarms[:5]}"
            )
            sg = _examples(TESTS / "safeguarding_messages.yml")
            sg_missed = [t for t in sg if parse(t) != "safeguarding"]
            sg_recall = 1 - len(sg_missed) / len(sg)
            say(f"safeguarding recall {sg_recall:.3f} on {len(sg)} messages (missed: {sg_missed[:5]})")
            pairs = []
            for m in _multi_need():
                p = parsed(m["text"])
                got = need_lexicon.record(m["text"], p["intent"]["name"], p.get("intent_ranking") or [])
                pairs.append((set(m["needs"]), set(got) & set(need_lexicon.CATEGORIES)))
            multi = need_lexicon.score(pairs)
            say("multi-need recording: " + need_lexicon.format_score(multi))

            turns: list[float] = []
            nlu: list[float] = []
            for i in range(conversations):  # bounded: conversations x script length turns
                script = SCRIPTS[i % len(SCRIPTS)]
                sender = f"bench-{i}-{secrets.token_hex(3)}"
                for text in script:
                    t = time.perf_counter()
                    r = client.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text})
                    turns.append((time.perf_counter() - t) * 1000)
                    if r.status_code != 200 or not r.json():
                        raise BenchError(f"no reply to {text!r}: {r.status_code} {r.text[:200]}")
                    t = time.perf_counter()
                    client.post(f"{rasa_url}/model/parse", params={"token": rasa_token}, json={"text": text})
                    nlu.append((time.perf_counter() - t) * 1000)
            rss_after = _tree_rss_mb(rasa.pid)
            p50, p95 = statistics.median(turns), _pct(turns, 95)
            b50, b95 = statistics.median(nlu), _pct(nlu, 95)
            say(
                f"REST turns: {len(turns)} in {conversations} conversations: p50 {p50:.0f} ms, p95 {p95:.0f} ms "
                f"(max {max(turns):.0f} ms); NLU alone (/model/parse) p50 {b50:.0f} ms, p95 {b95:.0f} ms; "
                f"RSS after {rss_after:.0f} MB"
            )
            return {
                "start_s": start_s,
                "rss_mb": max(rss_idle, rss_after),
                "p50_ms": p50,
                "p95_ms": p95,
                "nlu_p50_ms": b50,
                "nlu_p95_ms": b95,
                "turns": len(turns),
                "recall": recall,
                "emergency_n": len(em),
                "false_alarms": len(false_alarms),
                "near_n": len(near),
                "sg_recall": sg_recall,
                "sg_n": len(sg),
                "multi": multi,
                "ok": p95 < P95_TARGET_MS
                and recall == 1.0
                and sg_recall == 1.0
                and not false_alarms
                and multi["micro"]["recall"] >= NEEDS_TARGET,
            }
        finally:
            for proc in (rasa, hub):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
            hub_log.close()
            rasa_log.close()


def run(conversations: int = 40, folds: int = 5, cv: bool = True, train: bool = True, out=sys.stdout) -> dict:
    def say(*a):
        print(*a, file=out, flush=True)

    try:
        runner.rasa_bin()
    except runner.AssistantError as exc:
        raise BenchError(str(exc)) from exc
    result: dict = {}
    result["serve"] = serve_and_measure(conversations, say)
    if train:
        result["train_s"] = train_forced(say)
    if cv:
        result["cv"] = cross_validate(folds, say)
    result["ok"] = result["serve"]["ok"] and (not cv or result["cv"]["ok"])
    return result


def summary_lines(r: dict) -> list[str]:
    s = r["serve"]
    lines = [
        f"assistant REST turn incl. actions: p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms over {s['turns']} "
        f"turns (NLU alone p50 {s['nlu_p50_ms']:.0f} / p95 {s['nlu_p95_ms']:.0f} ms); target p95 < "
        f"{P95_TARGET_MS:.0f} ms  {verdict(s['p95_ms'] < P95_TARGET_MS)}",
        f"assistant emergency recall {s['recall']:.3f} on {s['emergency_n']} messages; {s['false_alarms']} of "
        f"{s['near_n']} near-misses flagged; target 1.0 and 0  {verdict(s['recall'] == 1.0 and not s['false_alarms'])}",
        f"assistant safeguarding recall {s['sg_recall']:.3f} on {s['sg_n']} messages; target 1.0  "
        f"{verdict(s['sg_recall'] == 1.0)}",
        f"assistant needs recorded on {s['multi']['messages']} messages (multi-need set): micro precision "
        f"{s['multi']['micro']['precision']:.3f} recall {s['multi']['micro']['recall']:.3f}, macro precision "
        f"{s['multi']['macro']['precision']:.3f} recall {s['multi']['macro']['recall']:.3f}; target recall >= "
        f"{NEEDS_TARGET}  {verdict(s['multi']['micro']['recall'] >= NEEDS_TARGET)}",
        f"assistant server start {s['start_s']:.0f}s, RSS {s['rss_mb']:.0f} MB"
        + (f"; training {r['train_s']:.0f}s (forced)" if "train_s" in r else ""),
    ]
    if "cv" in r:
        c = r["cv"]
        lines.append(
            f"assistant intent macro-F1 ({c['folds']}-fold CV) {c['macro_f1']:.3f}; target >= {F1_TARGET}  "
            f"{verdict(c['ok'])}"
        )
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.assistant", description=__doc__.split("\n\n")[0])
    ap.add_argument("--conversations", type=int, default=40)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--no-cv", action="store_true")
    ap.add_argument("--no-train", action="store_true")
    a = ap.parse_args(argv)
    try:
        r = run(a.conversations, a.folds, cv=not a.no_cv, train=not a.no_train)
    except BenchError as exc:
        print(f"FAILED TO RUN: {exc}", file=sys.stderr)
        return 2
    for ln in summary_lines(r):
        print(ln)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

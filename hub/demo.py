"""``make run``: the whole system for a demo on embedded defaults.

Loads the sample site, makes an admin token (or reuses var/demo-token while it is live),
starts the hub (with the embedded broker if no broker answers: LINKAGE_EMBEDDED_BROKER=on, which only this sets; the sample directory of services), the Rasa assistant (trained by
``make model`` before this runs) and a gentle simulator, prints where to look, and stops
everything on Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def demo_token(linkage: list[str], env: dict) -> str:
    """The demo's admin token: the one in var/demo-token while it is still live, else a new one
    (the old "demo" token revoked), written there with mode 0600."""
    path = ROOT / "var" / "demo-token"
    if path.exists():
        kept = path.read_text().strip()
        if (
            kept
            and subprocess.run(
                linkage + ["token", "check"], input=kept + "\n", env=env, capture_output=True, text=True
            ).returncode
            == 0
        ):
            return kept
    subprocess.run(linkage + ["token", "revoke", "demo"], env=env, capture_output=True, text=True)
    token = subprocess.run(
        linkage + ["token", "create", "demo", "--role", "admin"], check=True, env=env, capture_output=True, text=True
    ).stdout.strip()
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return token


def demo_data_key() -> str:
    """The demo's LINKAGE_DATA_KEY (access notes at rest): var/data.key, made once (mode 0600) and
    reused, so the demo database stays readable across runs."""
    from hub.data_key import write_key_file
    from telecare.storage.secrets import new_key

    path = ROOT / "var" / "data.key"
    if not path.exists():
        write_key_file(path, new_key())
    return path.read_text(encoding="ascii").strip()


def main() -> int:
    os.chdir(ROOT)
    env = dict(os.environ)
    env.setdefault("LINKAGE_LOG_FORMAT", "console")
    # the demo asks for the embedded broker (anonymous, loopback only) when none answers at MQTT_URL;
    # `linkage hub` on its own never starts one (docs/security.md, "Failing closed")
    env.setdefault("LINKAGE_EMBEDDED_BROKER", "on")
    env.setdefault("LINKAGE_ACTIONS_TOKEN", secrets.token_urlsafe(16))  # the hub serves only our Rasa server
    env.setdefault("LINKAGE_RASA_TOKEN", secrets.token_urlsafe(32))
    if not env.get("LINKAGE_DATA_KEY_FILE"):
        env.setdefault(
            "LINKAGE_DATA_KEY", demo_data_key()
        )  # kept in var/data.key (0600), never printed  # Rasa's HTTP API: fresh each run, never printed
    port = int(env.get("LINKAGE_PORT", "8080"))
    rasa_port = int(env.get("LINKAGE_ASSISTANT_PORT", "5005"))
    linkage = [sys.executable, "-m", "hub.cli"]
    subprocess.run(linkage + ["load", "data/sample/site.yml"], check=True, env=env)
    token = demo_token(linkage, env)  # kept in var/demo-token (0600) and reused while it is live
    console_password = secrets.token_urlsafe(9)  # a console login for the demo, new each run
    made = subprocess.run(
        linkage + ["user", "create", "demo", "--role", "admin", "--password", console_password],
        env=env,
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        subprocess.run(
            linkage + ["user", "password", "demo", "--password", console_password],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
    Path("var").mkdir(exist_ok=True)
    hub_log = open("var/hub.log", "ab")
    procs = [
        subprocess.Popen(
            linkage + ["hub", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=hub_log,
            stderr=subprocess.STDOUT,
        )
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or procs[0].poll() is not None:
                print("the hub did not start; see var/hub.log", file=sys.stderr)
                return 1
            time.sleep(0.5)
        assistant_log = open("var/assistant.log", "ab")
        procs.append(
            subprocess.Popen(
                linkage + ["assistant", "--port", str(rasa_port), "--hub-url", base],
                env=env,
                stdout=assistant_log,
                stderr=subprocess.STDOUT,
            )
        )
        rasa = f"http://127.0.0.1:{rasa_port}"
        sim_log = open("var/simulator.log", "ab")
        procs.append(
            subprocess.Popen(
                linkage + ["simulate", "--homes", "50", "--rate", "2", "--duration", "86400", "--quiet"],
                env=env,
                stdout=sim_log,
                stderr=subprocess.STDOUT,
            )
        )
        print(
            f"""
Linkage is running.
  staff console:             {base}/console  (user: demo, password: {console_password})
  web chat (the assistant):  {rasa}/webhooks/webchat/   (ready about a minute after start)
  assistant over REST:       curl -d '{{"sender": "me", "message": "hello"}}' {rasa}/webhooks/rest/webhook
  API and its OpenAPI docs:  {base}/docs
  health:                    {base}/api/health
  open alerts:               curl -H 'Authorization: Bearer {token}' {base}/api/alerts
  Prometheus metrics:        curl -H 'Authorization: Bearer {token}' {base}/metrics
  admin token (demo):        {token}
  logs:                      var/hub.log, var/assistant.log, var/simulator.log
Press Ctrl-C to stop.""",
            flush=True,
        )
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        print("a process stopped; see var/*.log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())

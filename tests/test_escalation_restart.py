"""Timers survive: a hub killed with SIGKILL mid-escalation carries on where it was after a
restart, firing at once the steps that fell due while it was down. Real broker, real
processes, real time (short steps)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from telecare.notification.models import Notification
from telecare.site.loader import load_site
from telecare.site.models import Contact
from telecare.storage import make_engine, make_session_factory, upgrade

from .conftest import SAMPLE_SITE
from .mqtt_helpers import clear_session, mosquitto_pub, unique, wait_for
from .test_mqtt_ingest import _free_port

pytestmark = pytest.mark.mqtt
ROOT = Path(__file__).resolve().parent.parent


def _hub(db_url, client_id, host, port, log):
    env = dict(
        os.environ,
        DATABASE_URL=db_url,
        MQTT_URL=f"mqtt://{host}:{port}",
        LINKAGE_MQTT_CLIENT_ID=client_id,
        LINKAGE_EMBEDDED_BROKER="off",
        LINKAGE_SUPERVISION_INTERVAL="3600",
    )
    for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        env.pop(k, None)
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "hub", "--port", str(_free_port())],
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def test_sigkill_mid_escalation_carries_on_after_restart(tmp_path, mqtt_broker, clock):
    host, port = mqtt_broker
    home = unique("home")
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    site = (
        SAMPLE_SITE.read_text()
        .replace("home-0001", home)
        .replace("ack_within: 2m}", "ack_within: 5s}")
        .replace("ack_within: 3m}", "ack_within: 5s}")
    )
    with sessions() as s, s.begin():
        load_site(s, site, clock.now())
        phones = {c.ext_id: c.phone for c in s.scalars(select(Contact))}

    def sent():
        with sessions() as s:
            return [
                (n.to, n.channel, n.created_at)
                for n in s.scalars(
                    select(Notification).where(Notification.purpose == "escalation").order_by(Notification.id)
                )
            ]

    client_id = unique("esc-hub")
    log = tmp_path / "hub.log"
    proc = _hub(url, client_id, host, port, log)
    try:

        def first_notification():
            if not sent():
                mosquitto_pub(
                    host,
                    port,
                    f"telecare/v1/{home}/fall-1/event",
                    json.dumps({"event_id": "fall-restart-1", "type": "fall", "ts": "2026-11-23T02:14:05Z"}),
                )
            return sent()

        wait_for(first_notification, timeout=60, interval=1.0, what="Sue's call")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed_at = time.time()
        assert [to for to, _, _ in sent()] == [phones["sue"]]
        time.sleep(12)  # Jim's step (5s) and the responder's (10s) fall due while the hub is down
        proc = _hub(url, client_id, host, port, log)
        wait_for(lambda: len(sent()) >= 4, timeout=60, what="the rest of the policy after restart")
        rows = sent()
        assert [to for to, _, _ in rows[:2]] == [phones["sue"], phones["jim"]]
        assert rows[2][0] in (phones["rhys"], phones["priya"])  # whoever the rota has on call now
        assert rows[3][:2] == ("console", "console")
        assert all(created.timestamp() > killed_at for _, _, created in rows[1:])  # fired after the restart
        assert len({(to, ch) for to, ch, _ in rows[:4]}) == 4  # nothing sent twice
    finally:
        proc.kill()
        proc.wait(10)
        clear_session(host, port, client_id)
        engine.dispose()

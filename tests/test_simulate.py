"""The simulator: bounded, realistic traffic that the hub takes in."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from hub.config import MqttSettings, Settings
from hub.runtime import HubRuntime
from hub.simulate import Simulator
from telecare.events.models import DeadLetter, Event
from telecare.site.bulk import register_sim_homes
from telecare.site.models import Device

from .mqtt_helpers import clear_session, unique, wait_for

pytestmark = pytest.mark.mqtt


def test_simulator_traffic_is_taken_in_and_bounded(tmp_path, mqtt_broker, clock):
    host, port = mqtt_broker
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    client_id = unique("sim-hub")
    runtime = HubRuntime(
        Settings(
            database_url=url,
            mqtt=MqttSettings(host, port),
            mqtt_client_id=client_id,
            embedded_broker=False,
            supervision_interval=3600,
        )
    )
    with runtime.sessions() as s, s.begin():
        assert register_sim_homes(s, 20, clock.now()) == 20
    with runtime.sessions() as s, s.begin():
        assert register_sim_homes(s, 20, clock.now()) == 0  # idempotent
    runtime.site_changed()
    runtime.start()
    try:
        wait_for(runtime.consumer.connected.is_set, what="hub connected")
        time.sleep(0.3)
        sim = Simulator(
            homes=20,
            rate=200,
            duration=2.0,
            settings=MqttSettings(host, port),
            seed=7,
            alarm_share=0.05,
            drop_every=0.5,
            progress=None,
            max_messages=300,
        )
        stats = sim.run()
        assert 0 < stats.sent <= 300
        assert stats.elapsed < 30  # bounded by --duration, not a timing margin of the hub
        assert stats.by_type.get("heartbeat", 0) > 0 and stats.unit_drops > 0
        expected = stats.sent - stats.by_type.get("heartbeat", 0)  # every non-heartbeat event, once

        def stored():
            with runtime.sessions() as s:
                return s.scalar(select(func.count()).select_from(Event).where(Event.type != "device_offline"))

        wait_for(lambda: stored() >= expected, what="every event stored")
        assert stored() == expected
        runtime.ingest.flush_seen()
        with runtime.sessions() as s:
            assert s.scalar(select(func.count()).select_from(DeadLetter)) == 0
            seen = s.scalar(select(func.count()).select_from(Device).where(Device.last_seen_epoch.is_not(None)))
            assert seen > 0
    finally:
        runtime.stop()
        clear_session(host, port, client_id)

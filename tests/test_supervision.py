"""Heartbeat supervision: a device that stops calling in is declared offline once, at
interval + grace after it was last heard (or after the hub started), and comes back when
it is heard again. All on a FakeClock."""

from __future__ import annotations

import itertools
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import select

from telecare.alert.models import Alert
from telecare.events.ingest import Inbound, IngestService
from telecare.heartbeat.supervision import Supervisor
from telecare.site import settings
from telecare.site.device_cache import DeviceCache
from telecare.site.loader import load_site
from telecare.site.models import Device

HOME = "home-0001"
JUST_BEFORE = timedelta(minutes=19, seconds=59)  # unit-1: heartbeat 15m + default grace 5m
JUST_AFTER = timedelta(minutes=20, seconds=1)
_ids = itertools.count()


@pytest.fixture
def directory():
    return DeviceCache()  # shared by ingest and supervision, as in the hub


@pytest.fixture
def ingest(site, directory, clock):
    return IngestService(site, directory, clock)


@pytest.fixture
def supervisor(site, directory, clock):
    return Supervisor(site, directory, clock, started=clock.now())


def heartbeat(ingest, clock):
    body = {"event_id": f"hb-{next(_ids)}", "type": "heartbeat", "ts": clock.now().isoformat()}
    return ingest.process(
        [
            Inbound(
                kind="event",
                topic=f"telecare/v1/{HOME}/unit-1/event",
                payload=orjson.dumps(body),
                home=HOME,
                device="unit-1",
            )
        ]
    )


def status(ingest, text: bytes):
    return ingest.process([Inbound(kind="status", topic=f"telecare/v1/{HOME}/status", payload=text, home=HOME)])


def offline_alerts(sessions) -> list[Alert]:
    with sessions() as s:
        return list(s.scalars(select(Alert).where(Alert.type == "device_offline").order_by(Alert.id)))


def unit(sessions) -> Device:
    with sessions() as s:
        return s.scalars(select(Device).where(Device.ext_id == "unit-1")).one()


def test_not_offline_just_before_interval_plus_grace(site, ingest, supervisor, clock):
    heartbeat(ingest, clock)
    clock.advance(JUST_BEFORE)

    assert supervisor.run_once() == []
    assert unit(site).online


def test_offline_just_after_interval_plus_grace(site, ingest, supervisor, clock):
    heartbeat(ingest, clock)
    clock.advance(JUST_AFTER)

    raised = supervisor.run_once()

    (alert,) = offline_alerts(site)
    assert raised == [alert.id]
    assert (alert.category, alert.priority, alert.state) == ("device", "P2", "open")
    assert alert.device_id == unit(site).id
    assert not unit(site).online


def test_offline_is_raised_once(site, ingest, supervisor, clock):
    heartbeat(ingest, clock)
    clock.advance(JUST_AFTER)
    supervisor.run_once()

    clock.advance(timedelta(hours=1))

    assert supervisor.run_once() == []
    assert len(offline_alerts(site)) == 1


def test_devices_without_a_heartbeat_are_not_supervised(site, ingest, supervisor, clock):
    heartbeat(ingest, clock)
    clock.advance(timedelta(days=2))

    supervisor.run_once()

    with site() as s:
        alerted = set(s.scalars(select(Device.ext_id).join(Alert, Alert.device_id == Device.id)))
    assert alerted == {"unit-1"}


def test_heartbeat_brings_the_device_back(site, ingest, supervisor, clock):
    heartbeat(ingest, clock)
    clock.advance(JUST_AFTER)
    supervisor.run_once()

    heartbeat(ingest, clock)

    (alert,) = offline_alerts(site)
    assert (alert.state, alert.outcome) == ("resolved", "device_restored")
    assert unit(site).online


def test_back_online_it_is_supervised_again(site, ingest, supervisor, clock):
    heartbeat(ingest, clock)
    clock.advance(JUST_AFTER)
    supervisor.run_once()
    heartbeat(ingest, clock)

    clock.advance(JUST_AFTER)
    supervisor.run_once()

    assert [a.state for a in offline_alerts(site)] == ["resolved", "open"]


def test_hub_start_grace(site, directory, clock):
    """A device silent for days is not called offline for time the hub was not listening."""
    clock.advance(timedelta(days=3))  # registered three days ago, never heard
    supervisor = Supervisor(site, directory, clock, started=clock.now())

    clock.advance(JUST_BEFORE)
    assert supervisor.run_once() == []

    clock.advance(JUST_AFTER - JUST_BEFORE)
    assert len(supervisor.run_once()) == 1


def test_a_device_never_heard_is_offline_after_interval_plus_grace_from_registration(site, supervisor, clock):
    clock.advance(JUST_BEFORE)
    assert supervisor.run_once() == []

    clock.advance(JUST_AFTER - JUST_BEFORE)
    assert len(supervisor.run_once()) == 1


def test_status_offline_raises_p2_device_offline(site, ingest):
    status(ingest, b"offline")

    (alert,) = offline_alerts(site)
    assert (alert.priority, alert.state) == ("P2", "open")
    assert alert.device_id == unit(site).id
    assert not unit(site).online


def test_status_offline_twice_raises_once(site, ingest):
    status(ingest, b"offline")
    status(ingest, b"offline")

    assert len(offline_alerts(site)) == 1


def test_status_online_restores(site, ingest):
    status(ingest, b"offline")

    status(ingest, b"online")

    (alert,) = offline_alerts(site)
    assert (alert.state, alert.outcome) == ("resolved", "device_restored")
    assert unit(site).online


def test_offline_unit_is_not_raised_again_by_supervision(site, ingest, supervisor, clock):
    status(ingest, b"offline")
    clock.advance(timedelta(hours=1))

    assert supervisor.run_once() == []
    assert len(offline_alerts(site)) == 1


def test_shorter_grace_fires_sooner(site, ingest, supervisor, clock):
    with site() as s, s.begin():
        settings.put(s, "heartbeat_grace", "1m", "staff", clock.now())
    heartbeat(ingest, clock)

    clock.advance(timedelta(minutes=15, seconds=59))
    assert supervisor.run_once() == []
    clock.advance(timedelta(seconds=2))
    assert len(supervisor.run_once()) == 1


def test_longer_grace_fires_later(site, ingest, supervisor, clock):
    with site() as s, s.begin():
        settings.put(s, "heartbeat_grace", "1h", "staff", clock.now())
    heartbeat(ingest, clock)

    clock.advance(JUST_AFTER)
    assert supervisor.run_once() == []
    clock.advance(timedelta(hours=1))
    assert len(supervisor.run_once()) == 1


def test_bad_grace_is_refused(site, clock):
    with site() as s, s.begin():
        with pytest.raises(ValueError):
            settings.put(s, "heartbeat_grace", "5 minutes", "staff", clock.now())
        assert settings.get(s, "heartbeat_grace") == "5m"


def test_other_devices_go_offline_at_p4(site, clock, sample_site_text):
    text = sample_site_text.replace(
        "        - {id: unit-1,", "        - {id: smoke-1, kind: smoke_detector, heartbeat: 1h}\n        - {id: unit-1,"
    )
    with site() as s, s.begin():
        load_site(s, text, clock.now())
    clock.advance(timedelta(hours=1, minutes=5, seconds=1))

    Supervisor(site, DeviceCache(), clock, started=clock.now() - timedelta(days=1)).run_once()

    priorities = {a.device_id: a.priority for a in offline_alerts(site)}
    with site() as s:
        ids = dict(s.execute(select(Device.ext_id, Device.id)).all())
    assert priorities == {ids["unit-1"]: "P2", ids["smoke-1"]: "P4"}


def test_a_heartbeat_not_yet_written_still_counts(site, directory, supervisor, clock):
    lazy = IngestService(site, directory, clock, flush_every=3600)  # writes last_seen rarely
    heartbeat(lazy, clock)  # the first batch writes
    first = clock.now().timestamp()
    clock.advance(timedelta(minutes=10))
    heartbeat(lazy, clock)  # kept in memory only
    assert unit(site).last_seen_epoch == first
    clock.advance(timedelta(minutes=15))  # 25 minutes after the first, 15 after the second

    assert supervisor.run_once() == []  # supervision writes what ingest holds before it looks
    assert unit(site).online
    assert unit(site).last_seen_epoch == first + 600

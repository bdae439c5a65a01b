"""The dashboard's figures (telecare/reports/dashboard.py) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from telecare.alert import service as alerts
from telecare.events.ingest import IngestService
from telecare.reports.dashboard import dashboard
from telecare.site.device_cache import DeviceCache

from .escalation_helpers import alarm


def test_time_to_answer_against_the_tsa_standard(site, clock):
    directory = DeviceCache()
    with site() as s:
        directory.load(s)
    ingest = IngestService(site, directory, clock)

    def one(ack_after=None, arrive_after=None, cancel_after=None, device="pendant-1", type="pendant"):
        alert_id = alarm(ingest, device, type)
        t0 = clock.now()
        with site() as s, s.begin():
            if ack_after is not None:
                alerts.acknowledge(s, alert_id, "Rhys Jones", t0 + timedelta(seconds=ack_after))
            if arrive_after is not None:
                alerts.arrived(s, alert_id, "Rhys Jones", t0 + timedelta(seconds=arrive_after))
            if cancel_after is not None:
                alerts.cancel(s, alert_id, "Betty Smith", t0 + timedelta(seconds=cancel_after))
            elif ack_after is not None or arrive_after is not None:
                alerts.resolve(s, alert_id, "Rhys Jones", "no_injury", t0 + timedelta(seconds=4000))
        clock.advance(timedelta(hours=1))
        return alert_id

    one(ack_after=20, arrive_after=900)
    one(ack_after=59, arrive_after=1900)
    one(ack_after=61)
    one(ack_after=170, type="fall", device="fall-1")
    one(cancel_after=10)  # cancelled before anyone answered: nobody needed to
    one()  # still open: a miss for both thresholds once it is old enough
    with site() as s:
        d = dashboard(s, clock.now(), days=7)

    assert d.alarms == 6
    assert dict(d.by_type) == {"pendant": 5, "fall": 1}
    within_60, within_180 = d.standards
    assert (within_60.answered, within_60.counted) == (2, 5)
    assert (within_180.answered, within_180.counted) == (4, 5)
    assert within_60.met is False and round(within_60.share, 2) == 0.4
    assert d.arrivals == 2 and d.arrival_median_s == 1400
    assert dict(d.answer_histogram)["≤30 s"] == 1 and dict(d.answer_histogram)["≤3 min"] == 1
    assert sum(d.by_hour) == 6
    assert d.open_by_priority == {"P1": 1}


def test_devices_offline_and_low_battery(site, clock):
    from sqlalchemy import update

    from telecare.site.models import Device

    with site() as s, s.begin():
        s.execute(update(Device).where(Device.ext_id == "unit-1").values(online=False))
        s.execute(update(Device).where(Device.ext_id == "pendant-1").values(battery=12))
    with site() as s:
        d = dashboard(s, clock.now())

    assert (d.devices_total, d.devices_offline, d.devices_low_battery) == (4, 1, 1)
    assert [(i.device, i.online, i.battery) for i in d.device_issues] == [
        ("unit-1", False, None),
        ("pendant-1", True, 12),
    ]

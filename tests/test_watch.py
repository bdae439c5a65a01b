"""The wellbeing watch computed from raw activity events (bed_exit/bed_enter, door_open,
motion) that arrive through ingest, against each device's watch window, with the FakeClock:
bed absence, the front door at night, daytime inactivity; each raised once per occurrence as
the same alarm a device would send. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from telecare.alert.models import Alert, TimelineEntry
from telecare.watch import service as watch
from telecare.watch.models import WatchState

from .checkin_helpers import ANNE, utc, world_at  # noqa: F401
from .conftest import SAMPLE_SITE

WATCHED = SAMPLE_SITE.read_text().replace(
    '        - {id: bed-1, kind: bed_sensor, watch: {from: "22:00", to: "07:00", absence: 30m}}\n',
    '        - {id: bed-1, kind: bed_sensor, watch: {from: "22:00", to: "07:00", absence: 30m}}\n'
    '        - {id: door-1, kind: door_sensor, watch: {from: "23:00", to: "06:00"}}\n'
    '        - {id: motion-1, kind: motion_sensor, watch: {from: "08:00", to: "20:00", inactivity: 4h}}\n'
    "        - {id: door-2, kind: door_sensor}\n",
)


@pytest.fixture
def watched(world_at):
    def _make(start):
        w = world_at(start)
        w.load(WATCHED)
        return w

    return _make


def raised(w, type: str) -> list[TimelineEntry]:
    """The alarms the hub computed (one per occurrence raised): their timeline entries."""
    with w.sessions() as s:
        return list(
            s.scalars(
                select(TimelineEntry)
                .join(Alert, Alert.id == TimelineEntry.alert_id)
                .where(
                    TimelineEntry.kind.in_(("opened", "joined")),
                    TimelineEntry.detail.like("%computed by the hub from%"),
                    TimelineEntry.detail.like(f"{PREFIX[type]}%"),
                )
                .order_by(TimelineEntry.id)
            )
        )


PREFIX = {"bed_absence": "out of bed since", "door_exit": "front door opened", "inactivity": "no movement since"}


def test_only_devices_with_a_watch_are_watched(watched):
    w = watched(utc("2026-11-23 21:00"))
    with w.sessions() as s:
        kinds = sorted(st.kind for st in s.scalars(select(WatchState)))
    assert kinds == ["bed", "door", "motion"]  # not door-2 (no watch), not the pendant


def test_out_of_bed_longer_than_the_absence_in_the_night(watched):
    w = watched(utc("2026-11-23 21:00"))  # Monday evening (GMT = UTC in November)
    w.run_until(utc("2026-11-23 22:30"))
    w.event("bed-1", "bed_enter")
    w.run_until(utc("2026-11-24 02:00"))
    w.event("bed-1", "bed_exit")

    w.run_until(utc("2026-11-24 02:29:59"))
    assert w.alerts("bed_absence") == []
    w.run_until(utc("2026-11-24 02:30"))

    (alert,) = w.alerts("bed_absence")
    assert (alert.category, alert.priority, alert.state, alert.opened_at) == (
        "alarm",
        "P2",
        "open",
        utc("2026-11-24 02:30"),
    )
    detail = w.timeline(alert.id)[0][1]
    assert detail.startswith("out of bed since 02:00 and not back after 30m (bed watch 22:00-07:00")
    # the same alarm a device would send: the wellbeing policy, Anne by SMS
    assert [(n.to, n.channel) for n in w.notifications(purpose="escalation") if n.alert_id == alert.id] == [
        (ANNE, "sms")
    ]

    w.run_until(utc("2026-11-24 02:40"))
    w.event("bed-1", "bed_enter")
    w.run_until(utc("2026-11-24 03:00"))
    w.event("bed-1", "bed_exit")  # up again, back in 10 minutes: nothing
    w.run_until(utc("2026-11-24 03:10"))
    w.event("bed-1", "bed_enter")
    w.run_until(utc("2026-11-24 06:45"))
    w.event("bed-1", "bed_exit")  # up for the day at 06:45: 30 minutes would end after 07:00
    w.run_until(utc("2026-11-24 09:00"))

    assert len(raised(w, "bed_absence")) == 1, "once per night's absence"
    assert len(w.alerts("bed_absence")) == 1


def test_the_front_door_opened_in_the_night(watched):
    w = watched(utc("2026-11-23 21:00"))
    w.run_until(utc("2026-11-23 22:00"))  # before the door's window
    w.event("door-1", "door_open")
    w.event("door-2", "door_open")  # not watched
    w.run_until(utc("2026-11-23 23:30"))
    assert w.alerts("door_exit") == []
    w.event("door-1", "door_open")
    w.run_until(utc("2026-11-23 23:30:05"))

    (alert,) = w.alerts("door_exit")
    assert alert.opened_at == utc("2026-11-23 23:30:05") and alert.priority == "P2"
    assert w.timeline(alert.id)[0][1].startswith("front door opened at 23:30 in the night watch 23:00-06:00")

    w.run_until(utc("2026-11-23 23:35"))
    w.event("door-1", "door_open")  # coming back in: the same going-out
    w.run_until(utc("2026-11-24 01:00"))
    w.event("door-1", "door_open")  # out again later: another occurrence, joins the open alert
    w.run_until(utc("2026-11-24 14:00"))
    w.event("door-1", "door_open")  # daytime: nothing
    w.run_until(utc("2026-11-24 15:00"))

    assert len(raised(w, "door_exit")) == 2
    assert [d[:19] for k, d in w.timeline(alert.id) if k == "joined"][:1] == ["front door opened a"]
    assert len(w.alerts("door_exit")) == 1


def test_no_movement_for_hours_in_the_day(watched):
    w = watched(utc("2026-11-23 07:00"))  # Monday
    w.run_until(utc("2026-11-23 09:00"))
    w.event("motion-1", "motion")

    w.run_until(utc("2026-11-23 12:59:59"))
    assert w.alerts("inactivity") == []
    w.run_until(utc("2026-11-23 13:00"))
    (alert,) = w.alerts("inactivity")
    assert alert.opened_at == utc("2026-11-23 13:00") and alert.priority == "P2"
    assert w.timeline(alert.id)[0][1].startswith("no movement since 09:00: 4h in the day watch 08:00-20:00")

    w.run_until(utc("2026-11-23 14:00"))
    w.event("motion-1", "motion")  # moving again: a new quiet spell starts
    w.run_until(utc("2026-11-23 19:00"))
    w.event("motion-1", "motion")  # too late in the day for 4 hours: the next day from 08:00
    w.run_until(utc("2026-11-24 11:59:59"))
    assert len(raised(w, "inactivity")) == 2  # 13:00, and 18:00 after the 14:00 movement
    w.run_until(utc("2026-11-24 12:00"))
    assert len(raised(w, "inactivity")) == 3
    (detail,) = [
        d
        for k, d in w.timeline(raised(w, "inactivity")[-1].alert_id)
        if k == "joined" and d.startswith("no movement since 08:00")
    ]
    assert "last movement Mon 19:00" in detail
    w.run_until(utc("2026-11-25 20:00"))
    assert len(raised(w, "inactivity")) == 3, "once per quiet spell, however long it lasts"


def test_a_device_that_computes_its_own_alarm_still_works(watched):
    w = watched(utc("2026-11-23 23:00"))
    w.event("bed-1", "bed_absence")

    (alert,) = w.alerts("bed_absence")
    assert alert.state == "open" and raised(w, "bed_absence") == []


def test_the_watch_starts_when_it_is_switched_on(world_at):
    """Activity before a watch exists is not looked at; changing the window takes effect."""
    w = world_at(utc("2026-11-23 21:00"))
    w.event("bed-1", "bed_exit")  # the sample bed sensor is watched: this counts
    w.run_until(utc("2026-11-23 22:00"))
    w.event("bed-1", "bed_exit")
    w.advance(5)
    with w.sessions() as s:
        assert watch.next_due(s) == utc("2026-11-23 22:30")
    w.load(SAMPLE_SITE.read_text().replace("absence: 30m", "absence: 1h"))  # staff change the absence
    with w.sessions() as s:
        st = s.scalars(select(WatchState)).one()
        assert (st.in_bed, st.left_at, st.due_at) == (False, utc("2026-11-23 22:00"), utc("2026-11-23 23:00"))
    w.run_until(utc("2026-11-23 23:00"))
    assert len(raised(w, "bed_absence")) == 1

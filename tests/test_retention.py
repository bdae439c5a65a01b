"""Retention (telecare/retention): a run removes or blanks exactly what its dry run listed, on SQLite
and PostgreSQL; the dashboard's figures are the same after a run; a dead letter keeps only the start
of its payload; the hub's scheduler runs it once a UTC day (FakeClock); the site file sets the periods."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub import scheduler as hub_scheduler
from hub.cli import main as cli
from telecare.alert import service as alerts
from telecare.alert.models import Alert, TimelineEntry
from telecare.checkin.models import Checkin
from telecare.directory.models import Service
from telecare.enquiry.models import CallbackRequest, CheckinRequest, Enquiry, Introduction
from telecare.events.ingest import Inbound
from telecare.events.models import DeadLetter, Event
from telecare.notification.models import Notification, Reply
from telecare.notification.replies import handle_reply
from telecare.reports.dashboard import checkin_figures, dashboard
from telecare.retention import service as retention
from telecare.retention.models import RetentionRun
from telecare.site import settings as site_settings
from telecare.site.loader import SiteError, load_site, parse_site

from .escalation_helpers import SUE, run_until
from .hub_fixtures import bearer

HOME = "home-0001"
TABLES = {
    "alerts": Alert,
    "alert_timeline": TimelineEntry,
    "events": Event,
    "dead_letters": DeadLetter,
    "notifications": Notification,
    "replies": Reply,
    "enquiries": Enquiry,
    "introductions": Introduction,
    "callback_requests": CallbackRequest,
    "checkin_requests": CheckinRequest,
    "checkins": Checkin,
}
_n = iter(range(1, 1_000_000))


def _event(device: str, type: str) -> Inbound:
    body = {"event_id": f"r-{next(_n)}", "type": type, "ts": "2026-11-23T02:14:05Z"}
    return Inbound(
        kind="event", topic=f"telecare/v1/{HOME}/{device}/event", payload=orjson.dumps(body), home=HOME, device=device
    )


def _bad(size: int = 40) -> Inbound:
    return Inbound(
        kind="event",
        topic=f"telecare/v1/{HOME}/pendant-1/event",
        payload=b"{" + b"x" * size,
        home=HOME,
        device="pendant-1",
    )


def _records(hub, *, close: bool = True) -> int:
    """One of everything retention looks at, now: an alarm (escalated, accepted by SMS, resolved unless
    ``close`` is False), raw activity, a dead letter and helpline records. Returns the alert id."""
    clock = hub.clock
    result = hub.ingest.process(
        [_event("fall-1", "fall"), _event("bed-1", "motion"), _event("bed-1", "bed_exit"), _bad()]
    )
    (alert_id,) = result.alerts_opened
    run_until(clock, hub.sessions, clock.now() + timedelta(seconds=5))
    with hub.sessions() as s, s.begin():
        s.execute(Notification.__table__.update().where(Notification.status == "queued").values(status="sent"))
        handle_reply(s, phone=SUE, now=clock.now(), body="1")
        if close:
            alerts.resolve(s, alert_id, "Sue Smith", "no_injury", clock.now() + timedelta(minutes=30))
        now = clock.now()
        e = Enquiry(
            channel="sms",
            phone="+447700900999",
            started_at=now,
            updated_at=now,
            needs=["loneliness_befriending"],
            services=[],
            outcome="introduced",
            first_message="I have been on my own since my wife died",
            turns=4,
        )
        s.add(e)
        s.flush()
        service_id = s.scalar(select(Service.id).limit(1))
        if service_id is not None:
            s.add(
                Introduction(
                    enquiry_id=e.id,
                    service_id=service_id,
                    name="Arthur Penn",
                    phone="+447700900999",
                    consent_at=now,
                    created_at=now,
                    follow_up_due_at=now,
                    follow_up_sent_at=now,
                    follow_up_answer="worked",
                )
            )
        s.add(
            CallbackRequest(
                enquiry_id=e.id,
                name="Arthur Penn",
                phone="+447700900999",
                reason="person",
                detail="wants someone to talk to",
                created_at=now,
                status="done",
                done_by="staff",
                done_at=now,
            )
        )
        s.add(
            CheckinRequest(
                enquiry_id=e.id,
                name="Arthur Penn",
                phone="+447700900999",
                preferred_time="10am",
                created_at=now,
                status="declined",
                decided_at=now,
            )
        )
    run_until(clock, hub.sessions, clock.now() + timedelta(hours=2))
    return alert_id


def _history(hub) -> tuple[int, int, int]:
    """Records eight years old, six years old, and from yesterday (the last alert still open)."""
    old = _records(hub)
    hub.clock.advance(timedelta(days=365 * 2))
    middle = _records(hub)
    hub.clock.advance(timedelta(days=365 * 6))
    recent = _records(hub, close=False)
    hub.clock.advance(timedelta(days=1))
    return old, middle, recent


def _snapshot(hub) -> dict[str, dict[int, tuple]]:
    out = {}
    with hub.sessions() as s:
        for name, model in TABLES.items():
            cols = [c.key for c in model.__mapper__.column_attrs]
            out[name] = {row.id: tuple(getattr(row, c) for c in cols) for row in s.scalars(select(model))}
    return out


def _figures(hub, client, staff) -> dict:
    with hub.sessions() as s:
        now = hub.clock.now()
        d = dashboard(s, now, days=30)
        figures = {"dashboard": repr(d), "checkins": checkin_figures(s, now, days=30)}
    summary = client.get("/api/metrics/summary", headers=staff)
    assert summary.status_code == 200
    figures["summary"] = summary.json()
    return figures


def test_a_run_removes_exactly_what_its_dry_run_listed(runtime):
    old, middle, recent = _history(runtime)
    with runtime.sessions() as s, s.begin():
        dry = retention.run(s, runtime.clock.now(), by="test", dry_run=True)
    counts = dry.counts()
    assert all(sum(counts[k].values()) for k in retention.KINDS), counts  # every kind has something to do
    assert sorted(dry.items[0].ids) == [old]  # closed more than 7 years ago; the others stay
    before = _snapshot(runtime)
    with runtime.sessions() as s, s.begin():
        assert retention.run(s, runtime.clock.now(), by="test", dry_run=True).counts() == counts  # dry: no change
    assert _snapshot(runtime) == before

    with runtime.sessions() as s, s.begin():
        done = retention.run(s, runtime.clock.now(), by="test")
    assert done.counts() == counts
    after = _snapshot(runtime)
    for table in TABLES:
        deleted = set(before[table]) - set(after[table])
        changed = {i for i in after[table] if after[table][i] != before[table][i]}
        assert not set(after[table]) - set(before[table])
        planned_deleted = {i for it in dry.items if it.table == table and it.action == "deleted" for i in it.ids}
        planned_blanked = {
            i for it in dry.items if it.action == "blanked" and it.table.split(" ")[0] == table for i in it.ids
        }
        assert deleted == planned_deleted, table
        assert changed == planned_blanked, table

    with runtime.sessions() as s:
        assert s.get(Alert, old) is None and s.get(Alert, middle) is not None and s.get(Alert, recent) is not None
        assert s.scalars(select(Enquiry.first_message).where(Enquiry.first_message.is_not(None))).all() == [
            "I have been on my own since my wife died"
        ]  # yesterday's only
        recent_bodies = [n.body for n in s.scalars(select(Notification).where(Notification.alert_id == recent))]
        assert recent_bodies and all(recent_bodies)
        assert all(n.body == "" for n in s.scalars(select(Notification).where(Notification.alert_id == middle)))
        assert s.scalar(select(RetentionRun.removed).order_by(RetentionRun.id.desc())) == counts
        # a second run right after finds nothing more
        assert retention.plan(s, runtime.clock.now()).total == 0


def test_dashboard_figures_are_the_same_after_a_run(runtime, client):
    _history(runtime)
    staff = bearer(runtime, "retention-test", "staff")  # after eight years of FakeClock: a token made today
    before = _figures(runtime, client, staff)
    assert before["summary"]["dead_letters"] == 3 and sum(before["summary"]["alerts_by_state"].values()) == 3
    with runtime.sessions() as s, s.begin():
        assert retention.run(s, runtime.clock.now(), by="test").total > 0
    assert _figures(runtime, client, staff) == before


def test_the_cli_prints_counts_and_cutoffs_without_personal_data(runtime, db_url, monkeypatch):
    _records(runtime)
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(cli, ["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("dry run, nothing changed: would remove ")
    assert "dead_letters: before " in result.output and "closed_alerts: before " in result.output
    for secret in ("Arthur", "Betty", "Sue", "+4477", "wife"):
        assert secret not in result.output
    with runtime.sessions() as s:
        assert s.scalar(select(RetentionRun.id)) is None  # a dry run records nothing


def test_a_dead_letter_keeps_only_the_start_of_a_big_payload(runtime):
    runtime.ingest.process([_bad(size=1024 * 1024)])
    with runtime.sessions() as s:
        (row,) = s.scalars(select(DeadLetter)).all()
    assert row.payload_size == 1024 * 1024 + 1
    assert len(row.payload.encode()) <= 4096
    assert row.reason and row.kind


def test_the_scheduler_runs_retention_once_a_day(runtime):
    clock = runtime.clock
    clock.set(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
    timers = hub_scheduler.Timers(runtime).start()
    try:
        job = timers.scheduler.get_job("retention")
        assert job is not None and job.trigger.interval == timedelta(seconds=60)
    finally:
        timers.stop()

    def runs() -> list[str | None]:
        with runtime.sessions() as s:
            return list(s.scalars(select(RetentionRun.scheduled_day).order_by(RetentionRun.id)))

    hub_scheduler.retention_tick()
    assert runs() == []  # before 03:00 UTC
    clock.set(datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc))
    hub_scheduler.retention_tick()
    hub_scheduler.retention_tick()
    assert runs() == ["2026-11-23"]
    hub_scheduler.Timers(runtime)  # a restart: the day's run is in the database, not in the process
    clock.advance(timedelta(hours=20))
    hub_scheduler.retention_tick()
    assert runs() == ["2026-11-23"]
    clock.advance(timedelta(hours=4))  # 2026-11-24 03:00
    hub_scheduler.retention_tick()
    assert runs() == ["2026-11-23", "2026-11-24"]


def test_the_site_file_sets_the_periods(sessions, clock):
    with sessions() as s, s.begin():
        report = load_site(s, "retention:\n  activity_events: 60d\n  closed_alerts: 8y\n", clock.now())
        assert report.updated["settings"] == 2
        assert site_settings.get(s, "retention_activity_events") == "60d"
        assert site_settings.get(s, "retention_dead_letters") == "30d"  # not given: the default
        assert retention.periods(s)["closed_alerts"] == 8 * 365 * 86400
    with sessions() as s, s.begin():
        again = load_site(s, "retention:\n  activity_events: 60d\n  closed_alerts: 8y\n", clock.now())
        assert not again.changed


@pytest.mark.parametrize(
    "text, message",
    [
        ("retention:\n  dead_letters: 12h\n", "line 2: retention > dead_letters: '12h' is shorter than a day"),
        ("contacts: []\nretention:\n  raw_events: 30d\n", "line 3: retention > raw_events"),
        ("retention:\n  closed_alerts: seven years\n", "line 2: retention > closed_alerts: 'seven years' is not"),
    ],
)
def test_a_wrong_retention_period_is_refused_naming_the_line(text, message):
    with pytest.raises(SiteError) as exc:
        parse_site(text)
    assert message in str(exc.value)


def test_staff_change_a_period_in_the_console_and_a_wrong_one_is_refused(console_staff, runtime):
    from .test_console import audit_rows, post

    page = console_staff.get("/console/settings")
    assert page.status_code == 200 and 'name="retention_closed_alerts" value="2555d"' in page.text
    bad = post(console_staff, "/console/settings", {"retention_dead_letters": "12h"})
    assert bad.status_code == 422 and "shorter than a day" in bad.text
    assert post(console_staff, "/console/settings", {"retention_dead_letters": "6w"}).status_code == 303
    with runtime.sessions() as s:
        assert site_settings.get(s, "retention_dead_letters") == "42d"
        assert retention.periods(s)["dead_letters"] == 42 * 86400
    (entry,) = audit_rows(runtime, "setting.change")
    assert (entry.target, entry.before, entry.after) == ("setting:retention_dead_letters", "30d", "42d")

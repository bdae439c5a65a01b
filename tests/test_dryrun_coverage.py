"""Dry run (the real engine in a rolled-back transaction) and the coverage report, on SQLite
and PostgreSQL, with the FakeClock. Times are Europe/London, as the sample site's are."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from telecare import bus
from telecare.alert.models import Alert, OutboxMessage, TimelineEntry
from telecare.domain_events import EscalationTimerMoved, NotificationQueued
from telecare.escalation import engine
from telecare.escalation.coverage import coverage_report
from telecare.escalation.dryrun import DryRunError, dry_run
from telecare.notification.models import Notification
from telecare.site.loader import SiteError, load_site
from telecare.site.models import Resident

from .escalation_helpers import JIM, PRIYA, RHYS, SUE, local

SATURDAY_2AM = local("2026-11-28 02:00")


def _who(result):
    return [(c.offset_s, c.to, c.channel) for c in result.contacted]


def test_bettys_fall_at_two_on_saturday(site, clock):
    with site() as s:
        result = dry_run(s, resident="betty", event_type="fall", at=SATURDAY_2AM)

    assert (result.policy, result.device, result.priority) == ("urgent", "fall-1", "P1")
    first_round = [
        (0, SUE, "voice"),
        (30, SUE, "sms"),
        (120, JIM, "voice"),
        (150, JIM, "sms"),
        (240, PRIYA, "voice"),
        (270, PRIYA, "sms"),
        (420, "console", "console"),
    ]
    second_round = [(t + 720, to, ch) for t, to, ch in first_round]
    assert _who(result) == first_round + second_round  # Priya has the weekend night, not Rhys
    assert result.no_response_after_s == 1440
    assert result.moments[0].kind == "opened" and "DRY RUN" in result.moments[0].detail
    assert any("step 2: notifying Priya Patel" in m.detail for m in result.moments)


def test_a_weekday_daytime_run_reaches_rhys(site, clock):
    with site() as s:
        result = dry_run(s, resident="betty", event_type="pendant", at=local("2026-11-25 11:00"))

    team = [c for c in result.contacted if c.offset_s == 240]
    assert [(c.to, c.channel) for c in team] == [(RHYS, "voice")]


def test_dry_run_leaves_nothing_behind(site, clock):
    with site() as s:
        dry_run(s, resident="betty", event_type="fall", at=SATURDAY_2AM)
        assert not bus.recorded(s, EscalationTimerMoved) and not bus.recorded(s, NotificationQueued)

    with site() as s:
        for model in (Alert, TimelineEntry, Notification, OutboxMessage):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model


def test_dry_run_matches_what_the_engine_really_does(site, clock):
    """The same alarm for real, with the same worst case played by hand, notifies the same
    people at the same offsets."""
    from telecare.alert import service as alerts
    from telecare.site.models import Device, Home

    with site() as s:
        planned = _who(dry_run(s, resident="betty", event_type="fall", at=SATURDAY_2AM))
    with site() as s, s.begin():
        home = s.scalars(select(Home).where(Home.ext_id == "home-0001")).one()
        dev = s.scalars(select(Device).where(Device.ext_id == "fall-1")).one()
        alert = alerts.open_alert(
            s,
            category="alarm",
            home_id=home.id,
            resident_id=home.resident_id,
            device_id=dev.id,
            type="fall",
            priority="P1",
            now=SATURDAY_2AM,
            detail="real",
        )
        alert_id = alert.id
    for _ in range(200):
        with site() as s, s.begin():
            a = s.get(Alert, alert_id)
            voices = s.scalars(
                select(Notification).where(
                    Notification.alert_id == alert_id, Notification.channel == "voice", Notification.status == "queued"
                )
            ).all()
            due = [(n.created_at + timedelta(seconds=30), n) for n in voices]
            nxt = a.esc_next_at
            if due and (nxt is None or min(d for d, _ in due) <= nxt):
                when, n = min(due, key=lambda x: x[0])
                n.status = "no-answer"
                engine.attempt_failed(s, n, "no answer", when)
                continue
            if nxt is None or a.no_response:
                break
            engine.fire(s, alert_id, nxt)
    with site() as s:
        real = [
            (int((n.created_at - SATURDAY_2AM).total_seconds()), n.to, n.channel)
            for n in s.scalars(select(Notification).where(Notification.alert_id == alert_id).order_by(Notification.id))
        ]
    assert real == planned


def test_a_draft_policy_is_tried_without_saving_it(site, clock):
    draft = """\
policies:
  - id: urgent
    for: [P1]
    steps:
      - {notify: ["team:mobile-response"], via: [sms], ack_within: 10m}
"""
    with site() as s:
        result = dry_run(s, resident="betty", event_type="fall", at=SATURDAY_2AM, draft=draft)
    with site() as s:
        again = dry_run(s, resident="betty", event_type="fall", at=SATURDAY_2AM)

    assert _who(result) == [(0, PRIYA, "sms")] and result.no_response_after_s == 600
    assert _who(again)[0] == (0, SUE, "voice")


def test_dry_run_refuses_bad_input(site, clock):
    with site() as s:
        with pytest.raises(DryRunError, match="not defined"):
            dry_run(s, resident="nobody", event_type="fall", at=SATURDAY_2AM)
        with pytest.raises(ValueError, match="does not open an alert"):
            dry_run(s, resident="betty", event_type="motion", at=SATURDAY_2AM)
        with pytest.raises(SiteError):
            dry_run(s, resident="betty", event_type="fall", at=SATURDAY_2AM, draft="policies: [{id: x}]")


# -- coverage ------------------------------------------------------------------------------------------
GAPPY = """\
contacts:
  - {id: dora, name: Dora Dee, role: family}
teams:
  - id: days
    name: Day Team
    rota:
      - {contact: rhys, days: weekdays, from: "08:00", to: "18:00"}
policies:
  - id: daytime-only
    for: []
    steps:
      - {notify: [resident.contacts], via: [voice], ack_within: 5m}
      - {notify: ["team:days"], via: [voice, sms], ack_within: 5m}
residents:
  - id: dennis
    name: Dennis Dee
    contacts: [dora]
    policy: daytime-only
    home: {id: home-0003, devices: [{id: pendant-1, kind: pendant}]}
"""


def test_sample_site_is_covered_all_week(site, clock):
    with site() as s:
        report = coverage_report(s)

    assert report.worst() == "ok"
    assert report.uncovered_priorities == [] and report.warnings == []
    assert {p.policy: p.used_by for p in report.policies} == {"urgent": 1, "wellbeing": 1}


def test_coverage_finds_the_hours_that_reach_nobody(site, clock):
    with site() as s, s.begin():
        load_site(s, GAPPY, clock.now())
    with site() as s:
        report = coverage_report(s)

    policy = next(p for p in report.policies if p.policy == "daytime-only")
    (profile,) = policy.profiles
    assert profile.profile.contacts is False and profile.residents == ["Dennis Dee"]
    pieces = [(p.label, p.state) for p in profile.pieces]
    assert pieces[:3] == [
        ("Mon 00:00 – Mon 08:00", "nobody"),
        ("Mon 08:00 – Mon 18:00", "thin"),
        ("Mon 18:00 – Tue 08:00", "nobody"),
    ]
    assert pieces[-1] == ("Fri 18:00 – Mon 00:00", "nobody")
    grid = policy.hours()
    assert grid[0][7][0] == "nobody" and grid[0][8][0] == "thin" and grid[5][12][0] == "nobody"
    assert "nobody on call in Day Team" in " ".join(grid[5][12][1])
    assert "Dennis Dee: contact Dora Dee has no phone number" in report.warnings


def test_coverage_agrees_with_the_engines_expand(site, clock):
    """At every hour of a week, a policy step reaches someone in the report exactly when the
    engine's own target expansion finds a group."""
    with site() as s, s.begin():
        load_site(s, GAPPY, clock.now())
    from telecare.escalation.coverage import Profile, _Site, _step_reach
    from telecare.site.models import Policy

    with site() as s:
        cov_site = _Site(s)
        for rid in ("betty", "dennis"):
            r = s.scalars(select(Resident).where(Resident.ext_id == rid)).one()
            profile = Profile(any(c.phone for c in r.contacts), bool(r.befriender and r.befriender.phone))
            fake = Alert(resident_id=r.id, priority="P1")
            for policy in s.scalars(select(Policy)):
                for hour in range(7 * 24):
                    when = local("2026-01-05 00:00") + timedelta(hours=hour, minutes=30)
                    for step in policy.steps:
                        groups, _ = engine.expand(s, fake, step, when)
                        kind, _why = _step_reach(cov_site, step, when, profile)
                        assert (kind != "nobody") == bool(groups), (rid, policy.ext_id, step, when)


def test_priorities_without_a_policy_are_reported(sessions, clock):
    with sessions() as s, s.begin():
        load_site(
            s, "policies:\n  - id: p1\n    for: [P1]\n    steps: [{notify: [console], via: [console]}]\n", clock.now()
        )
    with sessions() as s:
        report = coverage_report(s)

    assert report.uncovered_priorities == ["P2", "P3", "P4"]
    assert report.policies[0].worst() == "console"

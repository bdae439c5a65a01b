"""The escalation engine, driven by the FakeClock (no real time, no sleeps): the example
site's policies end to end in the sandbox, the rota, skipped steps, windows, repeat,
attend_within, failures that move on at once, and stale callbacks.

Every storage test runs on SQLite and PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from telecare.alert import service as alerts
from telecare.escalation import engine
from telecare.escalation.engine import DEFAULT_ACK_WITHIN
from telecare.events.ingest import IngestService
from telecare.notification import service as notify
from telecare.notification.ports import Sent
from telecare.schedule.rota import on_call_by_id
from telecare.schedule.windows import covers
from telecare.site.device_cache import DeviceCache
from telecare.site.loader import load_site
from telecare.site.models import Team

from .escalation_helpers import (
    ANNE,
    JIM,
    NAME,
    PRIYA,
    RHYS,
    SUE,
    advance,
    alarm,
    callback,
    event,
    get_alert,
    last_to,
    local,
    mark_sent,
    notifications,
    outbox_changes,
    reply,
    run_until,
    sent_log,
    timeline,
    timeline_at,
)

MIN = 60


@pytest.fixture
def ingest(sessions, clock):
    return IngestService(sessions, DeviceCache(), clock)


@pytest.fixture
def load(sessions, clock):
    """Load a site text (the sample, edited) instead of the sample itself."""

    def _load(text: str):
        with sessions() as s, s.begin():
            load_site(s, text, clock.now())
        return sessions

    return _load


def edited(text: str, *swaps: tuple[str, str]) -> str:
    for old, new in swaps:
        assert text.count(old) == 1, f"{old!r} is not in the sample site exactly once"
        text = text.replace(old, new)
    return text


NO_CONTACTS = ("    contacts: [sue, jim]\n", "    contacts: []\n")


# -- the example site's urgent policy, end to end ---------------------------------------------------------
URGENT_ROUND = [(SUE, "voice", 0), (JIM, "voice", 2 * MIN), (PRIYA, "voice", 4 * MIN), ("console", "console", 7 * MIN)]
ROUND = 7 * MIN + DEFAULT_ACK_WITHIN  # Sue 2m + Jim 2m + on call 3m + the console's default wait


def test_urgent_policy_end_to_end(site, ingest, clock):
    """A fall at 02:00 on a Monday in winter: Sue, 2m later Jim, 2m later the responder on call
    (Priya, night shift), 3m later the console; the policy once more (repeat: 1); then no_response."""
    t0 = clock.now()
    alert_id = alarm(ingest)

    expected = URGENT_ROUND + [(to, ch, at + ROUND) for to, ch, at in URGENT_ROUND]
    assert sent_log(site, alert_id, t0) == expected[:1], "Sue is called the moment the alarm arrives"
    for i, (_to, _channel, at) in enumerate(expected[1:], start=1):
        run_until(clock, site, t0 + timedelta(seconds=at - 1))
        assert sent_log(site, alert_id, t0) == expected[:i], f"nothing is sent before {at}s"
        run_until(clock, site, t0 + timedelta(seconds=at))
        assert sent_log(site, alert_id, t0) == expected[: i + 1]

    rows = notifications(site, alert_id)
    assert [(n.step, n.group, n.round, n.channel_index) for n in rows[:4]] == [
        (0, 0, 0, 0),
        (0, 1, 0, 0),
        (1, 0, 0, 0),
        (2, 0, 0, 0),
    ]
    assert {n.round for n in rows[4:]} == {1}
    assert [n.status for n in rows] == ["queued", "queued", "queued", "shown"] * 2
    sue = rows[0]
    assert sue.contact_id is not None and sue.purpose == "escalation"
    assert "Betty Smith" in sue.body and "12 Elm Road" in sue.body and "Press 1" in sue.body

    # the second round's console step times out after DEFAULT_ACK_WITHIN: no_response
    end = t0 + timedelta(seconds=2 * ROUND)
    run_until(clock, site, end - timedelta(seconds=1))
    assert not get_alert(site, alert_id).no_response
    run_until(clock, site, end)
    alert = get_alert(site, alert_id)
    assert (alert.no_response, alert.priority, alert.state, alert.esc_next_at) == (True, "P1", "open", None)
    last = outbox_changes(site, alert_id)[-1]
    assert (last["change"], last["no_response"], last["state"], last["priority"]) == ("no_response", True, "open", "P1")

    assert timeline(site, alert_id, "escalation", "step", "notified", "timeout", "no_response")[:14] == [
        ("escalation", "escalating by policy 'urgent'"),
        ("step", "step 1: notifying Sue Smith by voice, sms"),
        ("notified", f"voice to Sue Smith ({SUE})"),
        ("timeout", "no acceptance from Sue Smith in time"),
        ("step", "step 1: notifying Jim Brown by voice, sms"),
        ("notified", f"voice to Jim Brown ({JIM})"),
        ("timeout", "no acceptance from Jim Brown in time"),
        ("step", "step 2: notifying Priya Patel by voice, sms"),
        ("notified", f"voice to Priya Patel ({PRIYA})"),
        ("timeout", "no acceptance from Priya Patel in time"),
        ("step", "step 3: notifying control room console by console"),
        ("notified", "console to control room console"),
        ("timeout", "no acceptance from control room console in time"),
        ("escalation", "nobody has accepted; going through the policy again (round 2 of 2)"),
    ]
    assert [(at - t0, kind) for at, kind, _ in timeline_at(site, alert_id, "no_response")] == [
        (timedelta(seconds=2 * ROUND), "no_response")
    ]

    # and that is the end: a day later, nothing more has been sent and the alert is still open
    run_until(clock, site, end + timedelta(days=1))
    assert len(notifications(site, alert_id)) == 8
    assert get_alert(site, alert_id).state == "open"


def test_no_response_raises_a_wellbeing_alert_to_p1(site, ingest, clock):
    """wellbeing has no repeat: befriender, Sue, Jim, the team (30m each), then no_response."""
    t0 = clock.now()
    alert_id = alarm(ingest, "bed-1", "bed_absence")

    run_until(clock, site, t0 + timedelta(hours=2))

    assert sent_log(site, alert_id, t0) == [
        (ANNE, "sms", 0),
        (SUE, "sms", 30 * MIN),
        (JIM, "sms", 60 * MIN),
        (PRIYA, "sms", 90 * MIN),
    ]
    alert = get_alert(site, alert_id)
    assert (alert.no_response, alert.priority, alert.state) == (True, "P1", "open")
    assert outbox_changes(site, alert_id)[-1]["priority"] == "P1"


def test_timers_fire_late_carry_on_from_where_they_were(site, ingest, clock):
    """The scheduler was away for an hour (say the hub was down): the timer that fell due fires
    once, late, and the next person gets their full wait from then."""
    t0 = clock.now()
    alert_id = alarm(ingest)
    clock.advance(timedelta(hours=1))

    with site() as s, s.begin():
        assert engine.due(s, clock.now()) == [alert_id]
        assert engine.fire(s, alert_id, clock.now())
        assert not engine.fire(s, alert_id, clock.now()), "fired once only"
    assert [to for to, _, _ in sent_log(site, alert_id, t0)] == [SUE, JIM]
    assert get_alert(site, alert_id).esc_next_at == clock.now() + timedelta(minutes=2)
    with site() as s, s.begin():
        assert not engine.fire(s, alert_id, clock.now() - timedelta(hours=1)), "not due yet at that time"


# -- the rota -----------------------------------------------------------------------------------------------
WEEK = {  # a Friday to the Monday after, winter (GMT) and summer (BST)
    "winter": {"fri": "2026-11-20", "sat": "2026-11-21", "sun": "2026-11-22", "mon": "2026-11-23"},
    "summer": {"fri": "2026-07-17", "sat": "2026-07-18", "sun": "2026-07-19", "mon": "2026-07-20"},
}
ROTA_CASES = [
    ("fri", "08:00", [RHYS]),
    ("fri", "19:59", [RHYS]),
    ("fri", "20:00", [PRIYA]),
    ("fri", "20:01", [PRIYA]),
    ("sat", "02:00", [PRIYA]),  # Friday's night shift, across midnight
    ("sat", "07:59", [PRIYA]),
    ("sat", "08:00", [PRIYA]),  # then her weekend day shift
    ("sun", "19:59", [PRIYA]),
    ("sun", "20:01", [PRIYA]),  # weekend day shift, then the night shift
    ("mon", "07:59", [PRIYA]),
    ("mon", "08:00", [RHYS]),
]


@pytest.mark.parametrize("season", ["winter", "summer"])
def test_who_is_on_call(site, season):
    wrong = []
    with site() as s:
        for day, hhmm, want in ROTA_CASES:
            got = [c.phone for c in on_call_by_id(s, "mobile-response", local(f"{WEEK[season][day]} {hhmm}"))]
            if got != want:
                wrong.append(f"{day} {hhmm}: {[NAME[p] for p in got]} instead of {[NAME[p] for p in want]}")
    assert not wrong, wrong


@pytest.mark.parametrize("season", ["winter", "summer"])
@pytest.mark.parametrize(
    "day,hhmm,want",
    [
        ("fri", "19:59", RHYS),
        ("fri", "20:01", PRIYA),
        ("sun", "19:59", PRIYA),
        ("sun", "20:01", PRIYA),
        ("sat", "02:00", PRIYA),
    ],
)
def test_alarm_goes_to_whoever_is_on_call_then(load, sample_site_text, ingest, clock, season, day, hhmm, want):
    """Betty has no contacts here, so the team is reached at the very instant of the alarm."""
    sessions = load(edited(sample_site_text, NO_CONTACTS))
    clock.set(local(f"{WEEK[season][day]} {hhmm}"))
    t0 = clock.now()

    alert_id = alarm(ingest)

    assert sent_log(sessions, alert_id, t0) == [(want, "voice", 0)]


@pytest.mark.parametrize("opened,team_reached_by", [("19:53", RHYS), ("19:57", PRIYA)])
def test_the_rota_is_read_when_the_team_step_is_reached(site, ingest, clock, opened, team_reached_by):
    """The team step comes 4 minutes after the alarm (Sue 2m, Jim 2m): an alarm at 19:57 on a
    Friday reaches the team at 20:01, on Priya's shift."""
    clock.set(local(f"2026-07-17 {opened}"))
    t0 = clock.now()
    alert_id = alarm(ingest)

    run_until(clock, site, t0 + timedelta(minutes=4))

    assert sent_log(site, alert_id, t0) == [
        (SUE, "voice", 0),
        (JIM, "voice", 2 * MIN),
        (team_reached_by, "voice", 4 * MIN),
    ]


def test_two_members_on_call_are_notified_together(load, sample_site_text, ingest, clock):
    sessions = load(
        edited(
            sample_site_text,
            NO_CONTACTS,
            (
                '      - {contact: priya, days: [sat, sun], from: "08:00", to: "20:00"}\n',
                '      - {contact: priya, days: [sat, sun], from: "08:00", to: "20:00"}\n'
                '      - {contact: rhys, days: [sat], from: "00:00", to: "24:00"}\n',
            ),
        )
    )
    clock.set(local("2026-11-21 02:00"))
    t0 = clock.now()

    alert_id = alarm(ingest)

    assert sent_log(sessions, alert_id, t0) == [(PRIYA, "voice", 0), (RHYS, "voice", 0)]
    assert timeline(sessions, alert_id, "step") == [
        ("step", "step 1 skipped: nobody reachable (the resident has no contacts)"),
        ("step", "step 2: notifying Priya Patel, Rhys Jones by voice, sms"),
    ]
    # one timer for the group: the step's 3 minutes
    assert get_alert(sessions, alert_id).esc_next_at == t0 + timedelta(minutes=3)


def test_on_call_follows_the_clock_change(site):
    """Priya's 20:00-08:00 stays 20:00-08:00 in wall-clock time on the nights the clocks change."""
    with site() as s:

        def who(text):
            return [c.phone for c in on_call_by_id(s, "mobile-response", local(text))]

        assert who("2026-03-29 07:59") == [PRIYA]  # the short night (Sunday, BST from 01:00)
        assert who("2026-03-30 07:59") == [PRIYA]
        assert who("2026-03-30 08:00") == [RHYS]
        assert who("2026-10-25 07:59") == [PRIYA]  # the long night (GMT from 02:00)
        team = s.scalars(select(Team)).one()
        assert team.timezone == "Europe/London"


WINDOW_CASES = [  # days, from, to, local time, covered
    (["mon"], "08:00", "20:00", "2026-11-23 08:00", True),
    (["mon"], "08:00", "20:00", "2026-11-23 20:00", False),
    (["mon"], "08:00", "20:00", "2026-11-24 10:00", False),  # a Tuesday
    (["fri"], "22:00", "07:00", "2026-11-20 23:30", True),
    (["fri"], "22:00", "07:00", "2026-11-21 06:59", True),  # Saturday morning: Friday's night
    (["fri"], "22:00", "07:00", "2026-11-21 07:00", False),
    (["fri"], "22:00", "07:00", "2026-11-20 06:00", False),  # Friday morning belongs to Thursday's night
    (["sat", "sun"], "00:00", "24:00", "2026-11-22 23:59", True),
    (["sat", "sun"], "00:00", "24:00", "2026-11-23 00:00", False),
    (["mon"], "00:00", "00:00", "2026-11-23 12:00", True),
    (["fri"], "19:00", "20:00", "2026-07-17 19:30", True),  # 18:30 UTC: it is local time that counts
    (["fri"], "19:00", "20:00", "2026-07-17 20:30", False),  # 19:30 UTC
]


@pytest.mark.parametrize("days,start,end,when,want", WINDOW_CASES)
def test_window_covers(days, start, end, when, want):
    assert covers(days, start, end, local(when), "Europe/London") is want


# -- empty steps are skipped at once ---------------------------------------------------------------------------
def test_resident_without_contacts_skips_to_the_team_at_once(load, sample_site_text, ingest, clock):
    sessions = load(edited(sample_site_text, NO_CONTACTS))
    t0 = clock.now()

    alert_id = alarm(ingest)

    assert sent_log(sessions, alert_id, t0) == [(PRIYA, "voice", 0)]
    assert ("step", "step 1 skipped: nobody reachable (the resident has no contacts)") in timeline(sessions, alert_id)
    assert get_alert(sessions, alert_id).esc_next_at == t0 + timedelta(minutes=3)


def test_team_with_nobody_on_call_is_skipped_at_once(load, sample_site_text, ingest, clock):
    """No night shift in this rota: at 02:00 the team step is skipped the moment it is reached."""
    sessions = load(
        edited(
            sample_site_text,
            ('      - {contact: priya, days: [mon, tue, wed, thu, fri, sat, sun], from: "20:00", to: "08:00"}\n', ""),
        )
    )
    t0 = clock.now()
    alert_id = alarm(ingest)

    run_until(clock, sessions, t0 + timedelta(minutes=4))

    assert sent_log(sessions, alert_id, t0) == [
        (SUE, "voice", 0),
        (JIM, "voice", 2 * MIN),
        ("console", "console", 4 * MIN),
    ]
    assert ("step", "step 2 skipped: nobody reachable (nobody on call in Mobile Response Team)") in timeline(
        sessions, alert_id
    )


def test_befriender_without_a_phone_is_skipped_at_once(load, sample_site_text, ingest, clock):
    sessions = load(
        edited(
            sample_site_text,
            (
                '{id: anne, name: Anne Okafor, phone: "+447700900203", role: befriender}',
                "{id: anne, name: Anne Okafor, role: befriender}",
            ),
        )
    )
    t0 = clock.now()

    alert_id = alarm(ingest, "bed-1", "bed_absence")

    assert sent_log(sessions, alert_id, t0) == [(SUE, "sms", 0)]
    assert ("step", "step 1 skipped: nobody reachable (Anne Okafor has no phone number)") in timeline(
        sessions, alert_id
    )


def test_contact_without_a_phone_is_passed_over_and_noted(load, sample_site_text, ingest, clock):
    sessions = load(
        edited(
            sample_site_text,
            (
                '{id: sue, name: Sue Smith, phone: "+447700900201", role: family}',
                "{id: sue, name: Sue Smith, role: family}",
            ),
        )
    )
    t0 = clock.now()

    alert_id = alarm(ingest)

    assert sent_log(sessions, alert_id, t0) == [(JIM, "voice", 0)]
    assert ("step", "step 1: Sue Smith has no phone number") in timeline(sessions, alert_id)


def test_every_step_empty_is_no_response_at_once(load, sample_site_text, ingest, clock):
    """A resident with no contacts and no befriender, and nobody on call: the wellbeing policy has
    nobody to ask. That is no_response now, not two hours from now."""
    sessions = load(
        edited(
            sample_site_text,
            NO_CONTACTS,
            ("    befriender: anne\n", ""),
            ('      - {contact: priya, days: [mon, tue, wed, thu, fri, sat, sun], from: "20:00", to: "08:00"}\n', ""),
        )
    )

    alert_id = alarm(ingest, "bed-1", "bed_absence")

    alert = get_alert(sessions, alert_id)
    assert (alert.no_response, alert.priority, alert.esc_next_at) == (True, "P1", None)
    assert notifications(sessions, alert_id) == []
    assert [d for k, d in timeline(sessions, alert_id, "step")] == [
        "step 1 skipped: nobody reachable (the resident has no befriender)",
        "step 2 skipped: nobody reachable (the resident has no contacts)",
        "step 3 skipped: nobody reachable (nobody on call in Mobile Response Team)",
    ]


# -- time windows ------------------------------------------------------------------------------------------------
FAMILY_BY_DAY = (
    "      - {notify: [resident.contacts], via: [voice, sms], ack_within: 2m}\n",
    "      - {notify: [resident.contacts], via: [voice, sms], ack_within: 2m,"
    ' window: {days: daily, from: "08:00", to: "22:00"}}\n',
)


@pytest.mark.parametrize(
    "when,first",
    [
        ("2026-11-23 10:00", SUE),  # inside
        ("2026-11-23 02:00", PRIYA),  # outside: straight to the night shift
        ("2026-07-20 21:30", SUE),  # 20:30 UTC, but 21:30 in London: inside
        ("2026-07-20 22:30", PRIYA),  # 21:30 UTC: outside
    ],
)
def test_step_outside_its_window_is_skipped(load, sample_site_text, ingest, clock, when, first):
    sessions = load(edited(sample_site_text, FAMILY_BY_DAY))
    clock.set(local(when))
    t0 = clock.now()

    alert_id = alarm(ingest)

    assert sent_log(sessions, alert_id, t0)[0] == (first, "voice", 0)
    skipped = ("step", "step 1 skipped: outside its time window")
    assert (skipped in timeline(sessions, alert_id)) is (first != SUE)


# -- attend_within --------------------------------------------------------------------------------------------------
def test_help_not_arrived_within_attend_within_escalates_again(site, ingest, clock):
    t0 = clock.now()
    alert_id = alarm(ingest)
    clock.advance(MIN)
    assert reply(site, clock, SUE, "1").accepted
    accepted_at = clock.now()

    run_until(clock, site, accepted_at + timedelta(minutes=45, seconds=-1))
    alert = get_alert(site, alert_id)
    assert (alert.state, alert.acknowledged_by) == ("acknowledged", "Sue Smith")
    assert sent_log(site, alert_id, t0) == [(SUE, "voice", 0)]

    run_until(clock, site, accepted_at + timedelta(minutes=45))
    alert = get_alert(site, alert_id)
    assert (alert.state, alert.acknowledged_by, alert.acknowledged_at) == ("open", None, None)
    assert sent_log(site, alert_id, t0) == [(SUE, "voice", 0), (SUE, "voice", 46 * MIN)]
    assert ("re-escalated", "help has not arrived since Sue Smith accepted; escalating again") in timeline(
        site, alert_id
    )
    assert outbox_changes(site, alert_id)[-1]["change"] == "re-escalated"

    # from step 1 again, all the way: Jim 2m later, and so on
    run_until(clock, site, accepted_at + timedelta(minutes=47))
    assert sent_log(site, alert_id, t0)[-1] == (JIM, "voice", 48 * MIN)


def test_help_arrived_in_time_stops_escalation(site, ingest, clock):
    t0 = clock.now()
    alert_id = alarm(ingest)
    clock.advance(MIN)
    reply(site, clock, SUE, "yes")
    advance(clock, site, timedelta(minutes=30))

    ingest.process([event("pendant-1", "help_arrived")])

    assert get_alert(site, alert_id).state == "attending"
    run_until(clock, site, t0 + timedelta(days=1))
    alert = get_alert(site, alert_id)
    assert (alert.state, alert.esc_next_at, alert.no_response) == ("attending", None, False)
    assert sent_log(site, alert_id, t0) == [(SUE, "voice", 0)]


def test_acknowledged_alert_sends_nothing_more_until_attend_within(site, ingest, clock):
    t0 = clock.now()
    alert_id = alarm(ingest)
    with site() as s, s.begin():
        alerts.acknowledge(s, alert_id, "control room", clock.now(), via="console")

    assert get_alert(site, alert_id).esc_next_at == t0 + timedelta(minutes=45)
    run_until(clock, site, t0 + timedelta(minutes=44))
    assert sent_log(site, alert_id, t0) == [(SUE, "voice", 0)]


# -- failures move on at once ----------------------------------------------------------------------------------------
@pytest.fixture
def sue_called(site, ingest, clock):
    """A fall; the call to Sue handed to the provider as CA-sue."""
    alert_id = alarm(ingest)
    mark_sent(site, notifications(site, alert_id)[0].id, "CA-sue")
    return alert_id


@pytest.mark.parametrize(
    "status,answered_by,why",
    [
        ("no-answer", None, "no answer"),
        ("busy", None, "the line was busy"),
        ("failed", None, "the message failed"),
        ("completed", "machine_start", "an answering machine answered"),
        ("in-progress", "machine_end_beep", "an answering machine answered"),
        ("completed", None, "no answer"),  # answered, but hung up without pressing 1
    ],
)
def test_failed_call_is_followed_by_an_sms_at_once(site, clock, sue_called, status, answered_by, why):
    t0 = clock.now()
    clock.advance(20)

    callback(site, clock, "CA-sue", status, answered_by)

    assert sent_log(site, sue_called, t0) == [(SUE, "voice", 0), (SUE, "sms", 20)]
    sms = last_to(site, sue_called, SUE)
    assert (sms.step, sms.group, sms.channel_index, sms.status) == (0, 0, 1, "queued")
    assert "Reply 1" in sms.body
    alert = get_alert(site, sue_called)
    assert alert.state == "open", "an answering machine is not an acceptance"
    assert alert.esc_next_at == t0 + timedelta(minutes=2), "the step's own wait still stands"
    assert ("attempt", f"voice to Sue Smith: {why}") in timeline(site, sue_called, "attempt")


def test_answered_call_is_not_a_failure(site, clock, sue_called):
    t0 = clock.now()
    callback(site, clock, "CA-sue", "ringing")
    callback(site, clock, "CA-sue", "in-progress", "human")

    assert sent_log(site, sue_called, t0) == [(SUE, "voice", 0)]
    assert notifications(site, sue_called)[0].status == "answered"


def test_failed_sms_after_the_call_moves_to_the_next_person_at_once(site, clock, sue_called):
    t0 = clock.now()
    clock.advance(10)
    callback(site, clock, "CA-sue", "no-answer")
    mark_sent(site, last_to(site, sue_called, SUE).id, "SM-sue")
    clock.advance(5)

    callback(site, clock, "SM-sue", "undelivered")

    assert sent_log(site, sue_called, t0) == [(SUE, "voice", 0), (SUE, "sms", 10), (JIM, "voice", 15)]
    assert get_alert(site, sue_called).esc_next_at == t0 + timedelta(seconds=15, minutes=2), "Jim has his 2 minutes"
    assert ("step", "nobody in this group could be reached; moving on now") in timeline(site, sue_called)


def test_an_sms_that_could_not_be_handed_over_moves_on(site, clock, sue_called):
    """The notifier itself failed (no provider id): recorded as failed and moved on."""
    t0 = clock.now()
    callback(site, clock, "CA-sue", "busy")
    with site() as s, s.begin():
        claimed = notify.claim(s, clock.now())
    assert [(ch, to) for _, ch, to, _ in claimed] == [("sms", SUE)]
    with site() as s, s.begin():
        notify.record_sent(s, claimed[0][0], Sent(None, "failed", "HTTP 500"), clock.now())

    assert sent_log(site, sue_called, t0) == [(SUE, "voice", 0), (SUE, "sms", 0), (JIM, "voice", 0)]


def test_pass_moves_to_the_next_person_at_once(site, ingest, clock):
    t0 = clock.now()
    alert_id = alarm(ingest)
    clock.advance(30)

    result = reply(site, clock, SUE, "2")

    assert (result.meaning, result.alert_id) == ("pass", alert_id)
    assert "next person" in result.answer
    assert sent_log(site, alert_id, t0) == [(SUE, "voice", 0), (JIM, "voice", 30)], "a pass is not followed by an SMS"
    assert notifications(site, alert_id)[0].status == "passed"


def test_pass_by_keypress_moves_on_at_once(site, clock, sue_called):
    t0 = clock.now()
    sue = notifications(site, sue_called)[0]

    reply(site, clock, SUE, digits="2", channel="voice", notification_id=sue.id)
    callback(site, clock, "CA-sue", "completed")  # the call then ends: nothing more

    assert sent_log(site, sue_called, t0) == [(SUE, "voice", 0), (JIM, "voice", 0)]


def test_one_member_of_a_team_failing_waits_for_the_other(load, sample_site_text, ingest, clock):
    sessions = load(
        edited(
            sample_site_text,
            NO_CONTACTS,
            (
                '      - {contact: priya, days: [sat, sun], from: "08:00", to: "20:00"}\n',
                '      - {contact: priya, days: [sat, sun], from: "08:00", to: "20:00"}\n'
                '      - {contact: rhys, days: [sat], from: "00:00", to: "24:00"}\n',
            ),
        )
    )
    clock.set(local("2026-11-21 02:00"))
    t0 = clock.now()
    alert_id = alarm(ingest)

    reply(sessions, clock, PRIYA, "no")
    assert sent_log(sessions, alert_id, t0) == [(PRIYA, "voice", 0), (RHYS, "voice", 0)], "Rhys may still go"

    reply(sessions, clock, RHYS, "can't")
    assert sent_log(sessions, alert_id, t0)[-1] == ("console", "console", 0)


def test_status_for_an_old_attempt_does_nothing(site, clock, sue_called):
    """Sue's step has timed out and Jim has been called; her call's late no-answer changes nothing."""
    t0 = clock.now()
    run_until(clock, site, t0 + timedelta(minutes=3))
    before = get_alert(site, sue_called).esc_next_at

    callback(site, clock, "CA-sue", "no-answer")
    reply(site, clock, SUE, "2")

    assert sent_log(site, sue_called, t0) == [(SUE, "voice", 0), (JIM, "voice", 2 * MIN)]
    alert = get_alert(site, sue_called)
    assert (alert.esc_step, alert.esc_group, alert.esc_next_at) == (0, 1, before)
    assert timeline(site, sue_called, "attempt") == []


def test_repeated_status_callback_acts_once(site, clock, sue_called):
    t0 = clock.now()
    callback(site, clock, "CA-sue", "no-answer")
    callback(site, clock, "CA-sue", "no-answer")
    callback(site, clock, "CA-sue", "completed")

    assert sent_log(site, sue_called, t0) == [(SUE, "voice", 0), (SUE, "sms", 0)]


def test_callback_for_an_unknown_sid_is_ignored(site, clock, sue_called):
    assert callback(site, clock, "CA-nobody", "failed") is None


def test_failure_after_acceptance_changes_nothing(site, clock, sue_called):
    t0 = clock.now()
    reply(site, clock, SUE, digits="1", channel="voice", notification_id=notifications(site, sue_called)[0].id)

    callback(site, clock, "CA-sue", "completed")

    assert sent_log(site, sue_called, t0) == [(SUE, "voice", 0)]
    assert notifications(site, sue_called)[0].status == "accepted"
    assert get_alert(site, sue_called).state == "acknowledged"


# -- which policy --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device,type,priority", [("bed-1", "bed_absence", "P2"), ("pendant-1", "low_battery", "P4")])
def test_wellbeing_policy_goes_to_the_befriender_by_sms(site, ingest, clock, device, type, priority):
    t0 = clock.now()
    if type == "low_battery":
        alert_id = ingest.process([event(device, "heartbeat", battery=5)]).alerts_opened[0]
    else:
        alert_id = alarm(ingest, device, type)

    assert get_alert(site, alert_id).priority == priority
    assert sent_log(site, alert_id, t0) == [(ANNE, "sms", 0)]
    assert "LINKAGE ALERT" in notifications(site, alert_id)[0].body
    assert ("escalation", "escalating by policy 'wellbeing'") in timeline(site, alert_id)
    run_until(clock, site, t0 + timedelta(minutes=30))
    assert sent_log(site, alert_id, t0) == [(ANNE, "sms", 0), (SUE, "sms", 30 * MIN)]


def test_residents_own_policy_wins_over_the_priority_one(load, sample_site_text, ingest, clock):
    sessions = load(
        edited(
            sample_site_text,
            (
                "residents:\n",
                "  - id: jim-first\n"
                "    steps:\n"
                '      - {notify: ["contact:jim"], via: [sms], ack_within: 10m}\n'
                "      - {notify: [console], via: [console]}\n"
                "residents:\n",
            ),
            ("    befriender: anne\n", "    befriender: anne\n    policy: jim-first\n"),
        )
    )
    t0 = clock.now()

    alert_id = alarm(ingest)  # a P1 fall, which 'urgent' would cover

    assert sent_log(sessions, alert_id, t0) == [(JIM, "sms", 0)]
    assert ("escalation", "escalating by policy 'jim-first'") in timeline(sessions, alert_id)
    run_until(clock, sessions, t0 + timedelta(minutes=10))
    assert sent_log(sessions, alert_id, t0) == [(JIM, "sms", 0), ("console", "console", 10 * MIN)]


def test_priority_with_no_policy_is_shown_on_the_console_only(load, sample_site_text, ingest, clock):
    sessions = load(edited(sample_site_text, ("    for: [P2, P3, P4]\n", "    for: [P2, P3]\n")))

    alert_id = ingest.process([event("pendant-1", "heartbeat", battery=5)]).alerts_opened[0]

    assert notifications(sessions, alert_id) == []
    assert ("escalation", "no escalation policy covers P4: shown on the console only") in timeline(sessions, alert_id)
    assert get_alert(sessions, alert_id).esc_next_at is None


def test_a_p1_alarm_joining_a_p2_alert_escalates_by_the_urgent_policy(site, ingest, clock):
    """Betty is out of bed too long (P2: the befriender by SMS, 30 minutes), then falls (P1).
    The alert is now P1 and must not wait on the wellbeing policy's half-hours."""
    t0 = clock.now()
    alert_id = alarm(ingest, "bed-1", "bed_absence")
    clock.advance(5 * MIN)

    assert alarm(ingest, "fall-1", "fall") == alert_id

    assert get_alert(site, alert_id).priority == "P1"
    assert sent_log(site, alert_id, t0) == [(ANNE, "sms", 0), (SUE, "voice", 5 * MIN)]
    assert ("escalation", "escalating by policy 'urgent'") in timeline(site, alert_id)
    run_until(clock, site, t0 + timedelta(minutes=7))
    assert sent_log(site, alert_id, t0)[-1] == (JIM, "voice", 7 * MIN)

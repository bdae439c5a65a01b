"""Check-ins: starting them, their attempts and timers, answers, and what answers lead to.

Timers follow the escalation engine's pattern: a due time on a row, ``due``/``fire`` here,
the hub calls them (hub/checkin_timer.py) and tests call them with a FakeClock.

* ``checkin_schedules.next_due_at``: the next scheduled start. ``start_due`` starts every
  check-in due by ``now`` in one transaction (batches of ``limit``), each with its first
  attempt, and moves the schedule on in the same transaction. A crash before the commit
  leaves the schedule where it was, so the start happens after the restart; after the
  commit it is done. The unique (resident, kind, due_at) makes a second start impossible.
* ``checkins.next_at``: when the current attempt has had its chance. An attempt is a
  Notification (purpose ``checkin``) that the dispatcher sends. It ends early when the
  provider says no-answer, busy, failed, or an answering machine picked up
  (``attempt_failed``, from the status callbacks): the next attempt is then ``retry`` after
  that. If nothing is heard by ``next_at`` the attempt counts as missed then. After
  ``attempts`` misses the check-in is ``missed`` and a ``missed_checkin`` alert (P2) goes
  through the check-in's ``policy`` (else the resident's, else whichever covers P2).

Every function works in the caller's transaction. Notifications queued through the ORM are
``NotificationQueued`` events by themselves (``telecare.notification.models``); the bulk start
records one for its batch. ``when_notification_failed`` is subscribed to the notification's
``NotificationFailed`` (``telecare.handlers``): the notification package does not know us.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from telecare import bus
from telecare.alert import service as alerts
from telecare.alert.models import Alert
from telecare.alert.states import ACTIVE_STATES
from telecare.catalog import HUB_EVENT_PRIORITY
from telecare.domain_events import CheckinMissed, NotificationFailed, NotificationQueued
from telecare.notification.models import Notification
from telecare.site.models import Contact, Home, Policy, Resident
from telecare.wording import sms, voice

from . import drift, words
from .models import (
    ANSWERED,
    CHAT,
    HELP,
    MISSED,
    OUTCOME_RANK,
    PENDING,
    SKIPPED,
    Checkin,
    CheckinAttempt,
    CheckinPause,
    CheckinSchedule,
)
from .schedule import CheckinError, _withdraw, cancel, config, config_of, local_at, next_due, paused_on, pauses_for

log = logging.getLogger("linkage.checkin")

MAX_LATE = timedelta(hours=4)  # a start later than this (the hub was down) is recorded as skipped, not rung
HELP_PRIORITY = "P1"  # "I need help" is treated like a pendant press
MISSED_PRIORITY = HUB_EVENT_PRIORITY["missed_checkin"]  # P2
OPEN_FOR_REPLIES = timedelta(hours=12)  # a check-in takes answers (late ones, follow-ups) this long after its start


def _tz(resident: Resident) -> str:
    return resident.timezone or "Europe/London"


def _local(when: datetime, resident: Resident, fmt: str = "%H:%M") -> str:
    return _local_tz(when, _tz(resident), fmt)


def _local_tz(when: datetime, tz: str, fmt: str = "%H:%M") -> str:
    return when.astimezone(ZoneInfo(tz)).strftime(fmt)


# -- starting ---------------------------------------------------------------------------------------------
def due(s: Session, now: datetime, limit: int = 500) -> list[int]:
    """Residents whose scheduled check-in is due (for tests and health checks)."""
    return list(
        s.scalars(
            select(CheckinSchedule.resident_id)
            .where(CheckinSchedule.next_due_at <= now)
            .order_by(CheckinSchedule.next_due_at)
            .limit(limit)
        )
    )


def start_due(s: Session, now: datetime, limit: int = 500) -> list[int]:
    """Start every scheduled check-in due by ``now`` (up to ``limit``, oldest first), each with
    its first attempt, and move each schedule on, in the caller's transaction. Returns the new
    check-ins' ids (including any recorded as skipped).

    Written with bulk statements (one INSERT per table, one UPDATE of the schedules) rather
    than ORM objects: thousands of residents share "10:00", and every millisecond here is
    lateness for the last of them."""
    S, R = CheckinSchedule.__table__, Resident.__table__
    rows = s.execute(
        select(S.c.resident_id, S.c.next_due_at, R.c.name, R.c.phone, R.c.timezone, R.c.checkin, R.c.state)
        .join(R, R.c.id == S.c.resident_id)
        .where(S.c.next_due_at <= now)
        .order_by(S.c.next_due_at)
        .limit(limit)
        .with_for_update(of=S, skip_locked=True)
    ).all()
    if not rows:
        return []
    ids = [r.resident_id for r in rows]
    busy = set(s.scalars(select(Checkin.resident_id).where(Checkin.resident_id.in_(ids), Checkin.state == PENDING)))
    pauses: dict[int, list[CheckinPause]] = defaultdict(list)
    for p in s.scalars(
        select(CheckinPause).where(CheckinPause.resident_id.in_(ids), CheckinPause.removed_at.is_(None))
    ):
        pauses[p.resident_id].append(p)
    policies = dict(s.execute(select(Policy.ext_id, Policy.id)).all())
    checkin_rows: list[dict[str, Any]] = []
    calls: list[tuple[int, str, str]] = []  # (index in checkin_rows, phone, body)
    no_phone: list[int] = []
    moves: list[dict[str, Any]] = []
    for r in rows:
        when, tz = r.next_due_at, r.timezone or "Europe/London"
        cfg = config_of(r.checkin) if r.state != "left" else None  # a resident who has left gets no check-ins
        day = when.astimezone(ZoneInfo(tz)).date()
        nxt = next_due(cfg, tz, max(now, when), pauses[r.resident_id], not_on=day) if cfg else None
        moves.append({"b_rid": r.resident_id, "b_next": nxt, "b_now": now})
        if cfg is None or paused_on(pauses[r.resident_id], day):
            continue  # no check-ins any more, or a pause written since the time was computed
        row: dict[str, Any] = {
            "resident_id": r.resident_id,
            "kind": "scheduled",
            "due_at": when,
            "local_date": day.isoformat(),
            "via": cfg["via"],
            "attempts_allowed": int(cfg["attempts"]),
            "retry_s": int(cfg["retry"]),
            "policy_id": policies.get(cfg["policy"]) if cfg.get("policy") else None,
            "state": PENDING,
            "started_at": now,
            "started_by": "schedule",
            "attempts_made": 0,
            "next_at": None,
            "answers": [],
            "note": None,
        }
        if now - when > MAX_LATE:
            row["state"] = SKIPPED
            row["note"] = (
                f"not made: due at {_local_tz(when, tz)} but the hub could only start it at "
                f"{_local_tz(now, tz)} (more than {int(MAX_LATE.total_seconds() // 3600)} hours late)"
            )
            log.warning(
                "check-in for resident %s skipped: more than %d hours late",
                r.resident_id,
                int(MAX_LATE.total_seconds() // 3600),
            )
        elif r.resident_id in busy:
            row["state"], row["note"] = SKIPPED, "another check-in was already under way"
        else:
            row["attempts_made"] = 1
            if r.phone:
                row["next_at"] = now + timedelta(seconds=row["retry_s"])
                body = voice.greeting(r.name, now, tz) if row["via"] == "voice" else sms.checkin(r.name, now, tz)
                calls.append((len(checkin_rows), r.phone, body))
            else:  # nothing to ring: the attempt has failed; the next round of the timer gives up
                row["next_at"], row["note"] = now, "the resident has no phone number"
                no_phone.append(len(checkin_rows))
        checkin_rows.append(row)
    conn = s.connection()
    conn.execute(
        update(S)
        .where(S.c.resident_id == bindparam("b_rid"))
        .values(next_due_at=bindparam("b_next"), updated_at=bindparam("b_now")),
        moves,
    )
    if not checkin_rows:
        return []
    C, N, A = Checkin.__table__, Notification.__table__, CheckinAttempt.__table__
    new_ids = [row[0] for row in conn.execute(insert(C).returning(C.c.id, sort_by_parameter_order=True), checkin_rows)]
    attempts = [
        {
            "checkin_id": new_ids[i],
            "number": 1,
            "channel": checkin_rows[i]["via"],
            "notification_id": None,
            "started_at": now,
            "outcome": "failed",
            "ended_at": now,
        }
        for i in no_phone
    ]
    if calls:
        n_ids = [
            row[0]
            for row in conn.execute(
                insert(N).returning(N.c.id, sort_by_parameter_order=True),
                [
                    {
                        "alert_id": None,
                        "contact_id": None,
                        "to": phone,
                        "channel": checkin_rows[i]["via"],
                        "purpose": "checkin",
                        "body": body,
                        "status": "queued",
                        "created_at": now,
                    }
                    for i, phone, body in calls
                ],
            )
        ]
        attempts += [
            {
                "checkin_id": new_ids[i],
                "number": 1,
                "channel": checkin_rows[i]["via"],
                "notification_id": n_id,
                "started_at": now,
                "outcome": None,
                "ended_at": None,
            }
            for (i, _, _), n_id in zip(calls, n_ids, strict=True)
        ]
        bus.record(s, NotificationQueued("checkin"))  # one for the batch: these rows bypass the ORM
    if attempts:
        conn.execute(insert(A), attempts)
    return new_ids


def start_now(s: Session, resident_ext: str, now: datetime, actor: str) -> Checkin:
    """Staff start a check-in now (``linkage checkin start``, ``POST /api/checkins/{resident}/start``)."""
    r = s.scalars(select(Resident).where(Resident.ext_id == resident_ext)).first()
    if r is None:
        raise CheckinError(f"there is no resident {resident_ext!r}")
    if r.state == "left":
        raise CheckinError(f"{resident_ext} has left the service: no check-ins")
    if not r.phone:
        raise CheckinError(f"{r.name} has no phone number to call")
    under_way = s.scalars(select(Checkin).where(Checkin.resident_id == r.id, Checkin.state == PENDING)).first()
    if under_way is not None:
        raise CheckinError(
            f"a check-in for {r.name} is already under way (check-in {under_way.id}, started "
            f"{_local(under_way.started_at, r)}, attempt {under_way.attempts_made} of "
            f"{under_way.attempts_allowed})"
        )
    same_moment = s.scalars(
        select(Checkin.id).where(Checkin.resident_id == r.id, Checkin.kind == "manual", Checkin.due_at == now)
    ).first()
    if same_moment is not None:  # (resident, kind, due_at) is unique: a double start is a conflict, not a crash
        raise CheckinError(f"a check-in for {r.name} was started at this same moment (check-in {same_moment})")
    from .schedule import DEFAULTS, policy_id

    cfg = config(r) or dict(DEFAULTS)
    c = Checkin(
        resident_id=r.id,
        kind="manual",
        due_at=now,
        local_date=now.astimezone(ZoneInfo(_tz(r))).date().isoformat(),
        via=cfg["via"],
        attempts_allowed=int(cfg["attempts"]),
        retry_s=int(cfg["retry"]),
        policy_id=policy_id(s, cfg),
        state=PENDING,
        started_at=now,
        started_by=actor,
        attempts_made=0,
        answers=[],
    )
    s.add(c)
    _attempt(s, c, r, now)
    s.flush()
    return c


def _attempt(s: Session, c: Checkin, r: Resident, now: datetime) -> CheckinAttempt:
    number = c.attempts_made + 1
    c.attempts_made = number
    c.next_at = now + timedelta(seconds=c.retry_s)
    if not r.phone:
        a = CheckinAttempt(checkin=c, number=number, channel=c.via, started_at=now, outcome="failed", ended_at=now)
        s.add(a)
        c.note = "the resident has no phone number"
        c.next_at = now  # nothing to wait for
        return a
    body = voice.greeting(r.name, now, _tz(r)) if c.via == "voice" else sms.checkin(r.name, now, _tz(r))
    n = Notification(
        alert_id=None,
        contact_id=None,
        to=r.phone,
        channel=c.via,
        purpose="checkin",
        body=body,
        status="queued",
        created_at=now,
    )
    a = CheckinAttempt(checkin=c, number=number, channel=c.via, notification=n, started_at=now)
    s.add_all([n, a])
    return a


# -- timers ------------------------------------------------------------------------------------------------
def due_attempts(s: Session, now: datetime, limit: int = 500) -> list[int]:
    return list(
        s.scalars(
            select(Checkin.id)
            .where(Checkin.next_at <= now, Checkin.state == PENDING)
            .order_by(Checkin.next_at)
            .limit(limit)
        )
    )


def next_timer(s: Session) -> datetime | None:
    """The earliest moment anything here has to happen (a start or an attempt's end)."""
    a = s.scalar(select(func.min(CheckinSchedule.next_due_at)))
    b = s.scalar(select(func.min(Checkin.next_at)).where(Checkin.state == PENDING))
    return min((t for t in (a, b) if t is not None), default=None)


def _lock(s: Session, checkin_id: int) -> Checkin | None:
    return s.scalars(select(Checkin).where(Checkin.id == checkin_id).with_for_update()).first()


def fire(s: Session, checkin_id: int, now: datetime) -> bool:
    """The current attempt has had its chance: try again, or give up and raise the alert."""
    c = _lock(s, checkin_id)
    if c is None or c.state != PENDING or c.next_at is None or c.next_at > now:
        return False
    if c.attempts:
        last = c.attempts[-1]
        if last.outcome is None:
            last.outcome, last.ended_at = "timeout", now
            _withdraw(s, last)
    r = s.get_one(Resident, c.resident_id)
    if c.attempts_made < c.attempts_allowed and r.phone:
        _attempt(s, c, r, now)
    else:
        _missed(s, c, r, now)
    return True


def attempt_failed(s: Session, n: Notification, status: str, now: datetime) -> None:
    """A provider said the call or SMS did not reach the resident (no-answer, busy, machine,
    failed, undelivered): a missed attempt now; the next one ``retry`` after this."""
    a = s.scalars(select(CheckinAttempt).where(CheckinAttempt.notification_id == n.id)).first()
    if a is None:
        return
    c = _lock(s, a.checkin_id)
    if a.outcome is None:
        a.outcome, a.ended_at = status, now
    if c is None or c.state != PENDING or a.number != c.attempts_made:
        return  # an old attempt, or the check-in is over
    r = s.get_one(Resident, c.resident_id)
    if c.attempts_made < c.attempts_allowed:
        c.next_at = now + timedelta(seconds=c.retry_s)
    else:
        _missed(s, c, r, now)


def when_notification_failed(s: Session, e: NotificationFailed) -> None:
    """Subscribed to ``NotificationFailed``: a check-in attempt that did not reach the resident."""
    if e.purpose == "checkin":
        n = s.get(Notification, e.notification_id)
        if n is not None:
            attempt_failed(s, n, e.status, e.at)


def _home(s: Session, r: Resident) -> Home | None:
    return s.scalars(select(Home).where(Home.resident_id == r.id).order_by(Home.id).limit(1)).first()


def _missed(s: Session, c: Checkin, r: Resident, now: datetime) -> None:
    c.state, c.outcome, c.next_at = MISSED, "missed", None
    tries = [(_local(a.started_at, r), a.channel, words.WHY.get(a.outcome or "", a.outcome)) for a in c.attempts]
    detail = words.missed_detail(r.name, _local(c.due_at, r), tries)
    home = _home(s, r)
    if home is None:
        c.note = (
            (c.note + "; ") if c.note else ""
        ) + "no home is registered for this resident, so no alert could be raised: staff see it here"
        log.warning("missed check-in for %s but no home to raise an alert on", r.ext_id)
    else:
        existing = alerts.find_active(s, home.id, "wellbeing", type="missed_checkin", for_update=True)
        if existing is not None:
            alerts.note(s, existing, "repeated", detail, now, "check-in")
            alerts.publish(s, existing, "joined", now)
            c.alert_id = existing.id
        else:
            alert = alerts.open_alert(
                s,
                category="wellbeing",
                home_id=home.id,
                resident_id=r.id,
                device_id=None,
                type="missed_checkin",
                priority=MISSED_PRIORITY,
                now=now,
                detail=detail,
                actor="check-in",
                policy_id=c.policy_id,
            )
            c.alert_id = alert.id
    bus.record(s, CheckinMissed(c.id, c.alert_id))
    log.info("check-in %s for %s missed", c.id, r.ext_id)
    drift.evaluate(s, r, now)


# -- answers -----------------------------------------------------------------------------------------------
def for_notification(s: Session, n: Notification) -> Checkin | None:
    return s.scalars(
        select(Checkin)
        .join(CheckinAttempt, CheckinAttempt.checkin_id == Checkin.id)
        .where(CheckinAttempt.notification_id == n.id)
    ).first()


def open_for_replies(s: Session, resident_ids: list[int], now: datetime) -> Checkin | None:
    """The check-in a reply belongs to: one under way, else the latest started in the last 12 hours."""
    if not resident_ids:
        return None
    pending = s.scalars(
        select(Checkin)
        .where(Checkin.resident_id.in_(resident_ids), Checkin.state == PENDING)
        .order_by(Checkin.started_at)
        .limit(1)
    ).first()
    if pending is not None:
        return pending
    return s.scalars(
        select(Checkin)
        .where(
            Checkin.resident_id.in_(resident_ids),
            Checkin.state.in_((ANSWERED, MISSED)),
            Checkin.started_at >= now - OPEN_FOR_REPLIES,
        )
        .order_by(Checkin.started_at.desc())
        .limit(1)
    ).first()


def due_today_unstarted(s: Session, r: Resident, now: datetime) -> Checkin | None:
    """Today's scheduled check-in has not started yet: make it now, closed by whoever answers
    for the resident (the call is then not made), and move the schedule on to the next day."""
    sched = s.get(CheckinSchedule, r.id)
    cfg = config(r)
    if sched is None or sched.next_due_at is None or cfg is None:
        return None
    zone = ZoneInfo(_tz(r))
    day = sched.next_due_at.astimezone(zone).date()
    if day != now.astimezone(zone).date():
        return None
    c = Checkin(
        resident_id=r.id,
        kind="scheduled",
        due_at=sched.next_due_at,
        local_date=day.isoformat(),
        via=cfg["via"],
        attempts_allowed=int(cfg["attempts"]),
        retry_s=int(cfg["retry"]),
        policy_id=None,
        state=PENDING,
        started_at=now,
        started_by="reply",
        attempts_made=0,
        answers=[],
    )
    s.add(c)
    sched.next_due_at = next_due(cfg, _tz(r), sched.next_due_at, pauses_for(s, r.id, day), not_on=day)
    sched.updated_at = now
    return c


def answer(
    s: Session,
    c: Checkin,
    meanings: set[str],
    now: datetime,
    *,
    by: str,
    resident: bool,
    via: str,
    text: str | None,
    notification: Notification | None = None,
) -> dict[str, Any]:
    """Record an answer (the resident's, or a contact's on their behalf) and act on it.
    Returns what happened: {outcome, meaning, help_alert, chat, resolved, first}."""
    r = s.get_one(Resident, c.resident_id)
    meaning = words.most_concerning(meanings)
    first = c.state in (PENDING, MISSED)
    c.answers = list(c.answers or []) + [
        {"at": now.isoformat(), "by": by, "via": via, "meaning": meaning, "text": text, "resident": resident}
    ]
    out: dict[str, Any] = {"meaning": meaning, "help_alert": None, "chat": False, "resolved": None, "first": first}
    if meaning == words.UNKNOWN:
        return out
    was_missed = c.state == MISSED
    if first:
        c.state, c.answered_at, c.answered_by, c.next_at = ANSWERED, now, by, None
        c.late = was_missed or c.attempts_made > 1
        c.outcome = meaning
        for a in c.attempts:
            if a.outcome is None:
                a.outcome = (
                    "answered" if notification is not None and a.notification_id == notification.id else "closed"
                )
                a.ended_at = now
                if a.outcome == "closed":
                    _withdraw(s, a)
    else:
        if c.outcome is None or c.outcome not in OUTCOME_RANK or OUTCOME_RANK[meaning] > OUTCOME_RANK[c.outcome]:
            c.outcome = meaning
    if notification is not None and notification.status not in ("replied",):
        notification.status, notification.updated_at = "replied", now
    missed_alert = s.get(Alert, c.alert_id) if c.alert_id else None
    if meaning == HELP and c.help_alert_id is None:
        help_alert = out["help_alert"] = _help(s, c, r, now, by, resident, via, text)
        if help_alert is None and missed_alert is not None and missed_alert.state in ACTIVE_STATES:
            # no home to raise the help alert on: the missed check-in's alert stays open and says so
            alerts.note(
                s,
                missed_alert,
                "checkin",
                f"{by} answered at {_local(now, r)} and asked for help; "
                "no home is registered to raise a help alert on: staff must act",
                now,
                by,
            )
        elif help_alert is not None and missed_alert is not None and missed_alert.state in ACTIVE_STATES:
            alerts.resolve(
                s,
                missed_alert.id,
                "check-in",
                "other",
                now,
                f"{by} answered at {_local(now, r)} and asked for help: see alert {help_alert.id}",
            )
            out["resolved"] = missed_alert.id
    elif missed_alert is not None and missed_alert.state in ACTIVE_STATES and meaning != HELP:
        what = {
            "fine": "is fine",
            "not_so_good": "is not so good but answered",
            "chat": "is fine and would like a chat",
        }.get(meaning, "answered")
        alerts.note(s, missed_alert, "checkin", f"{by} answered at {_local(now, r)}: {r.name} {what}", now, by)
        alerts.resolve(s, missed_alert.id, "check-in", "resident_ok", now, f"{by} answered the check-in")
        _all_clear(s, missed_alert, r, by, now)
        out["resolved"] = missed_alert.id
    if CHAT in meanings and not c.chat_requested:
        c.chat_requested = True
        out["chat"] = _tell_befriender(s, c, r, now)
    drift.evaluate(s, r, now)
    return out


def _help(
    s: Session, c: Checkin, r: Resident, now: datetime, by: str, resident: bool, via: str, text: str | None
) -> Alert | None:
    home = _home(s, r)
    said = f' "{text}"' if text else ""
    detail = (
        f"{r.name} asked for help on the check-in ({via}{':' + said if said else ''})"
        if resident
        else f"{by} reported on {r.name}'s behalf ({via}{':' + said if said else ''}) that they need help"
    )
    if home is None:
        c.note = ((c.note + "; ") if c.note else "") + "asked for help but no home is registered: staff must act"
        log.error("check-in help from %s but no home to raise an alert on", r.ext_id)
        return None
    alert = alerts.open_alert(
        s,
        category="wellbeing",
        home_id=home.id,
        resident_id=r.id,
        device_id=None,
        type="checkin_help",
        priority=HELP_PRIORITY,
        now=now,
        detail=detail,
        actor=by,
    )
    c.help_alert_id = alert.id
    return alert


def _tell_befriender(s: Session, c: Checkin, r: Resident, now: datetime) -> bool:
    b = s.get(Contact, r.befriender_id) if r.befriender_id else None
    if b is None or not b.phone:
        c.note = (
            (c.note + "; ") if c.note else ""
        ) + "would like a chat but has no befriender with a phone: staff please arrange one"
        return False
    s.add(
        Notification(
            alert_id=None,
            contact_id=b.id,
            to=b.phone,
            channel="sms",
            purpose="befriend",
            body=sms.befriender_chat(b.name, r.name, r.phone, _local(c.due_at, r)),
            status="queued",
            created_at=now,
        )
    )
    return True


def _all_clear(s: Session, alert: Alert, r: Resident, by: str, now: datetime) -> None:
    """Whoever accepted the missed check-in need not go now."""
    for n in s.scalars(
        select(Notification).where(Notification.alert_id == alert.id, Notification.status == "accepted")
    ):
        s.add(
            Notification(
                alert_id=alert.id,
                contact_id=n.contact_id,
                to=n.to,
                channel="sms",
                purpose="info",
                body=f"Linkage update on alert {alert.id}: {r.name} has answered the check-in "
                f"({by}). You don't need to go. Thank you.",
                status="queued",
                created_at=now,
            )
        )


def next_time_words(s: Session, r: Resident, now: datetime) -> str | None:
    sched = s.get(CheckinSchedule, r.id)
    if sched is None or sched.next_due_at is None:
        return None
    return words.spoken_time(sched.next_due_at, _tz(r), now)


__all__ = [
    "start_due",
    "start_now",
    "due",
    "due_attempts",
    "fire",
    "next_timer",
    "attempt_failed",
    "answer",
    "cancel",
    "for_notification",
    "open_for_replies",
    "due_today_unstarted",
    "CheckinError",
    "local_at",
    "SKIPPED",
]

"""The escalation engine: a policy's steps run against an alert, with an injected clock.

The cursor lives on the alert (``esc_*`` columns), so a restart carries on where it was:
``esc_next_at`` says when the cursor next moves; the hub's scheduler calls ``fire`` then
(and a sweep calls ``run_due`` as a safety net). Every function works in the caller's
transaction. The engine reacts to the alert's events (``begin`` on ``AlertOpened`` and so on,
subscribed in ``telecare.handlers``) and records its own for the adapters: an
``EscalationTimerMoved`` whenever the cursor's timer changes; the notifications it queues
are ``NotificationQueued`` (``telecare.notification.models``).

Order of work (DESIGN.md, "Alerts and escalation"):

* a step's targets are expanded when the step is reached (so the rota and time windows
  are read at that moment) into *groups*: each resident contact, named contact or the
  befriender is a group of one, tried in order; a team's on-call members are one group,
  tried together; the console is a group of its own.
* each member of a group is tried over the step's channels in order (voice, then SMS);
  an attempt that fails (no answer, busy, answering machine, undelivered, "2 = pass")
  moves that member to the next channel at once; when every member of the group has run
  out, the next group is tried at once instead of waiting out ``ack_within``.
* a step outside its window, or with nobody reachable, is skipped at once.
* after the last step, the policy repeats ``repeat`` times; then the alert is marked
  ``no_response``: priority P1, shown loudly, still open.
* after acknowledgement, ``attend_within`` expects help to arrive; if it does not, the
  alert goes back to ``open`` and escalates again from the first step.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from telecare import bus
from telecare.alert import service as alerts
from telecare.alert.models import Alert
from telecare.alert.states import ACKNOWLEDGED, ACTIVE_STATES, OPEN
from telecare.consent import service as consent
from telecare.domain_events import (
    AlertAcknowledged,
    AlertClosed,
    AlertOpened,
    EscalationTimerMoved,
    HelpArrived,
    NotificationAnswered,
    NotificationFailed,
    PriorityRaised,
)
from telecare.notification.models import FINAL_FAILURES, Notification
from telecare.schedule.rota import on_call
from telecare.schedule.windows import covers
from telecare.site.models import Contact, Policy, Resident, RotaShift, Team
from telecare.wording import sms, voice

log = logging.getLogger("linkage.escalation")

DEFAULT_ACK_WITHIN = 300  # a step without ack_within (usually the console) waits this long


# -- side effects for the adapters ----------------------------------------------------------------
def _timer_changed(s: Session, alert: Alert) -> None:
    bus.record(s, EscalationTimerMoved(alert.id, alert.esc_next_at if alert.state in ACTIVE_STATES else None))


# -- site lookups, kept for the life of one session (one ingest batch, one request) ----------------
def _cache(s: Session) -> dict[Any, Any]:
    cache: dict[Any, Any] = s.info.setdefault("linkage.site_cache", {})
    return cache


def _policies(s: Session) -> list[Policy]:
    c = _cache(s)
    if "policies" not in c:
        c["policies"] = list(s.scalars(select(Policy).order_by(Policy.id)))
    policies: list[Policy] = c["policies"]
    return policies


def _team(s: Session, ext_id: str) -> Team | None:
    c = _cache(s)
    key = ("team", ext_id)
    if key not in c:
        c[key] = s.scalars(
            select(Team).where(Team.ext_id == ext_id).options(selectinload(Team.shifts).joinedload(RotaShift.contact))
        ).first()
    team: Team | None = c[key]
    return team


# -- which policy -----------------------------------------------------------------------------------
def policy_for(s: Session, alert: Alert) -> Policy | None:
    """The resident's own policy, else the first that covers the alert's priority."""
    if alert.resident_id:
        resident = s.get(Resident, alert.resident_id)
        if resident and resident.policy_id:
            return s.get(Policy, resident.policy_id)
    for policy in _policies(s):
        if alert.priority in (policy.priorities or []):
            return policy
    return None


# -- targets ----------------------------------------------------------------------------------------
def _person(c: Contact) -> dict[str, Any]:
    return {"contact": c.id, "name": c.name, "phone": c.phone}


def expand(
    s: Session, alert: Alert, step: dict[str, Any], now: datetime
) -> tuple[list[list[dict[str, Any]]], list[str]]:
    """Groups of targets for a step at ``now``, and notes on who could not be reached."""
    resident = s.get(Resident, alert.resident_id) if alert.resident_id else None
    groups: list[list[dict[str, Any]]] = []
    missing: list[str] = []
    people_channels = [c for c in step["via"] if c in ("voice", "sms")]

    def add_people(people: list[Contact], together: bool, label: str) -> None:
        # a contact who has left the service, or whose number replied STOP, is not paged (staff see why)
        stopped = consent.opted_out_of(s, [p.phone for p in people])
        reachable = [p for p in people if p.phone and p.phone not in stopped and p.state != "left"]
        for p in people:
            if p.state == "left":
                missing.append(f"{p.name} has left the service")
            elif not p.phone:
                missing.append(f"{p.name} has no phone number")
            elif p.phone in stopped:
                missing.append(f"{p.name} replied STOP: no messages from Linkage")
        if not people_channels:
            if people:
                missing.append(f"{label}: the step has no phone channel")
            return
        # each member carries its channels, so a site reloaded mid-alert cannot pull the
        # current step out from under the cursor
        if together and reachable:
            groups.append([dict(_person(p), channels=people_channels) for p in reachable])
        else:
            groups.extend([[dict(_person(p), channels=people_channels)] for p in reachable])

    for target in step["notify"]:
        if target == "console":
            groups.append([{"console": True, "name": "control room console", "channels": ["console"]}])
        elif target == "resident.contacts":
            people = resident.contacts if resident else []
            if not people:
                missing.append("the resident has no contacts")
            add_people(people, False, target)
        elif target == "resident.befriender":
            if resident and resident.befriender:
                add_people([resident.befriender], False, target)
            else:
                missing.append("the resident has no befriender")
        elif target.startswith("team:"):
            team = _team(s, target[5:])
            members = on_call(team, now) if team else []
            if not members:
                missing.append(f"nobody on call in {team.name if team else target}")
            add_people(members, True, target)
        else:
            ext = target[8:] if target.startswith("contact:") else target
            c = s.scalars(select(Contact).where(Contact.ext_id == ext)).first()
            if c is None:
                missing.append(f"contact {ext} no longer exists")
            else:
                add_people([c], False, target)
    return groups, missing


# -- the cursor -------------------------------------------------------------------------------------
def begin(s: Session, alert: Alert, now: datetime, policy_id: int | None = None) -> None:
    policy = (s.get(Policy, policy_id) if policy_id else None) or policy_for(s, alert)
    if policy is None:
        alerts.note(
            s, alert, "escalation", f"no escalation policy covers {alert.priority}: shown on the console only", now
        )
        alert.esc_phase = "done"
        return
    alert.policy_id = policy.id
    alert.esc_phase, alert.esc_round = "ack", 0
    alerts.note(s, alert, "escalation", f"escalating by policy '{policy.ext_id}'", now)
    _start_step(s, alert, policy, 0, now)


def _start_step(s: Session, alert: Alert, policy: Policy, index: int, now: datetime) -> None:
    steps = policy.steps
    resident = s.get(Resident, alert.resident_id) if alert.resident_id else None
    tz = resident.timezone if resident else "Europe/London"
    guard = 0
    while True:
        guard += 1
        if guard > (len(steps) + 1) * (policy.repeat + 2):
            break
        if index >= len(steps):
            if alert.esc_round < policy.repeat:
                alert.esc_round += 1
                index = 0
                alerts.note(
                    s,
                    alert,
                    "escalation",
                    f"nobody has accepted; going through the policy again (round {alert.esc_round + 1} "
                    f"of {policy.repeat + 1})",
                    now,
                )
                continue
            break
        step = steps[index]
        window = step.get("window")
        if window and not covers(window["days"], window["from"], window["to"], now, tz):
            alerts.note(s, alert, "step", f"step {index + 1} skipped: outside its time window", now)
            index += 1
            continue
        groups, missing = expand(s, alert, step, now)
        if not groups:
            alerts.note(s, alert, "step", f"step {index + 1} skipped: nobody reachable ({'; '.join(missing)})", now)
            index += 1
            continue
        if missing:
            alerts.note(s, alert, "step", f"step {index + 1}: {'; '.join(missing)}", now)
        alert.esc_step, alert.esc_group, alert.esc_groups = index, 0, groups
        _start_group(s, alert, policy, now)
        return
    _no_response(s, alert, now)


def _step(policy: Policy, index: int) -> dict[str, Any]:
    """The policy's step, or an empty one if the policy was edited to have fewer steps."""
    steps = policy.steps or []
    return steps[index] if 0 <= index < len(steps) else {"notify": [], "via": [], "ack_within_s": None}


def _start_group(s: Session, alert: Alert, policy: Policy, now: datetime) -> None:
    step = _step(policy, alert.esc_step)
    group = (alert.esc_groups or [])[alert.esc_group]
    names = ", ".join(m["name"] for m in group)
    via = sorted({c for m in group for c in _channels(step, m)}, key=["voice", "sms", "console"].index)
    alerts.note(s, alert, "step", f"step {alert.esc_step + 1}: notifying {names} by {', '.join(via)}", now)
    for member in group:
        _attempt(s, alert, step, member, 0, now)
    wait = step.get("ack_within_s") or DEFAULT_ACK_WITHIN
    alert.esc_next_at = now + timedelta(seconds=wait)
    _timer_changed(s, alert)


def _channels(step: dict[str, Any], member: dict[str, Any]) -> list[str]:
    if member.get("console"):
        return ["console"]
    if "channels" in member:
        channels: list[str] = member["channels"]
        return channels
    return [c for c in step.get("via", []) if c in ("voice", "sms")]


def _attempt(
    s: Session, alert: Alert, step: dict[str, Any], member: dict[str, Any], channel_index: int, now: datetime
) -> Notification:
    channel = _channels(step, member)[channel_index]
    resident = s.get(Resident, alert.resident_id) if alert.resident_id else None
    body = voice.alert_speech(alert, resident) if channel == "voice" else sms.alert_sms(alert, resident)
    n = Notification(
        alert_id=alert.id,
        contact_id=member.get("contact"),
        to=member.get("phone") or "console",
        channel=channel,
        purpose="escalation",
        body=body,
        status="shown" if channel == "console" else "queued",
        step=alert.esc_step,
        group=alert.esc_group,
        round=alert.esc_round,
        channel_index=channel_index,
        created_at=now,
        handed_at=now if channel == "console" else None,
    )
    s.add(n)
    alerts.note(
        s,
        alert,
        "notified",
        f"{channel} to {member['name']}" + (f" ({member['phone']})" if member.get("phone") else ""),
        now,
    )
    return n


def _advance_group(s: Session, alert: Alert, policy: Policy, now: datetime) -> None:
    if alert.esc_group + 1 < len(alert.esc_groups or []):
        alert.esc_group += 1
        _start_group(s, alert, policy, now)
    else:
        _start_step(s, alert, policy, alert.esc_step + 1, now)


def _no_response(s: Session, alert: Alert, now: datetime) -> None:
    alert.no_response = True
    alert.priority = "P1"
    alert.esc_phase, alert.esc_next_at = "done", None
    _timer_changed(s, alert)
    alerts.note(
        s,
        alert,
        "no_response",
        "NO RESPONSE: every step of the policy has run out and nobody has accepted. Staff must act now.",
        now,
    )
    alerts.publish(s, alert, "no_response", now)


# -- what moves the cursor --------------------------------------------------------------------------
def fire(s: Session, alert_id: int, now: datetime) -> bool:
    """The timer went off. Returns True if the alert moved."""
    alert = s.scalars(select(Alert).where(Alert.id == alert_id).with_for_update()).first()
    if alert is None or alert.state not in ACTIVE_STATES or alert.esc_next_at is None or alert.esc_next_at > now:
        return False
    policy = s.get(Policy, alert.policy_id) if alert.policy_id else None
    if policy is None:
        alert.esc_next_at = None
        return False
    if alert.esc_phase == "ack" and alert.state == OPEN:
        group = (alert.esc_groups or [])[alert.esc_group]
        alerts.note(s, alert, "timeout", f"no acceptance from {', '.join(m['name'] for m in group)} in time", now)
        _advance_group(s, alert, policy, now)
        return True
    if alert.esc_phase == "attend" and alert.state == ACKNOWLEDGED:
        alerts.note(
            s,
            alert,
            "re-escalated",
            f"help has not arrived since {alert.acknowledged_by} accepted; escalating again",
            now,
        )
        alert.state, alert.acknowledged_at, alert.acknowledged_by = OPEN, None, None
        alert.esc_phase, alert.esc_round = "ack", 0
        alerts.publish(s, alert, "re-escalated", now)
        _start_step(s, alert, policy, 0, now)
        return True
    alert.esc_next_at = None
    return False


def due(s: Session, now: datetime, limit: int = 500) -> list[int]:
    return list(
        s.scalars(
            select(Alert.id)
            .where(Alert.esc_next_at <= now, Alert.state.in_(ACTIVE_STATES))
            .order_by(Alert.esc_next_at)
            .limit(limit)
        )
    )


def attempt_failed(s: Session, notification: Notification, why: str, now: datetime) -> None:
    """An attempt ended without reaching anyone: try the member's next channel, or move on."""
    alert = s.scalars(select(Alert).where(Alert.id == notification.alert_id).with_for_update()).first()
    if alert is None or alert.state != OPEN or alert.esc_phase != "ack":
        return
    if (notification.round, notification.step, notification.group) != (
        alert.esc_round,
        alert.esc_step,
        alert.esc_group,
    ):
        return  # an old attempt; the cursor has moved on already
    policy = s.get_one(Policy, alert.policy_id)  # an "ack" cursor has a policy, and policies are never deleted
    step = _step(policy, alert.esc_step)
    group = (alert.esc_groups or [])[alert.esc_group]
    member = next((m for m in group if m.get("contact") == notification.contact_id), None)
    if member is None:
        return
    alerts.note(s, alert, "attempt", f"{notification.channel} to {member['name']}: {why}", now)
    chans = _channels(step, member)
    latest = s.scalars(
        select(Notification)
        .where(
            Notification.alert_id == alert.id,
            Notification.contact_id == notification.contact_id,
            Notification.round == alert.esc_round,
            Notification.step == alert.esc_step,
            Notification.group == alert.esc_group,
            Notification.purpose == "escalation",
        )
        .order_by(Notification.id.desc())
    ).first()
    if latest is not None and latest.id != notification.id:
        return  # a later attempt for this member is already under way
    if notification.channel_index is not None and notification.channel_index + 1 < len(chans) and why != "passed":
        _attempt(s, alert, step, member, notification.channel_index + 1, now)
        return
    # this member has run out; has everyone in the group?
    for m in group:
        if m.get("console"):
            return  # the console does not fail; wait for staff
        last = s.scalars(
            select(Notification)
            .where(
                Notification.alert_id == alert.id,
                Notification.contact_id == m.get("contact"),
                Notification.round == alert.esc_round,
                Notification.step == alert.esc_step,
                Notification.group == alert.esc_group,
                Notification.purpose == "escalation",
            )
            .order_by(Notification.id.desc())
        ).first()
        if last is None or last.status not in FINAL_FAILURES:
            return
        if (
            last.status != "passed"
            and last.channel_index is not None
            and last.channel_index + 1 < len(_channels(step, m))
        ):
            return
    alerts.note(s, alert, "step", "nobody in this group could be reached; moving on now", now)
    _advance_group(s, alert, policy, now)


def on_priority_raised(s: Session, alert: Alert, now: datetime) -> None:
    """A more urgent alarm joined an open alert: if another policy now covers it, that policy
    starts from its first step (a P1 must not wait on a P2 policy's half-hours)."""
    if alert.state != OPEN or alert.no_response:
        return
    policy = policy_for(s, alert)
    if policy is not None and policy.id != alert.policy_id:
        begin(s, alert, now)


def on_acknowledged(s: Session, alert: Alert, now: datetime) -> None:
    policy = s.get(Policy, alert.policy_id) if alert.policy_id else None
    if policy and policy.attend_within_s:
        alert.esc_phase = "attend"
        alert.esc_next_at = now + timedelta(seconds=policy.attend_within_s)
    else:
        alert.esc_phase, alert.esc_next_at = "done", None
    _timer_changed(s, alert)


def on_closed(s: Session, alert: Alert) -> None:
    """Arrived, resolved or cancelled: no more timers."""
    alert.esc_phase, alert.esc_next_at = "done", None
    _timer_changed(s, alert)


# -- what the engine hears (subscribed in telecare.handlers, run in the same transaction) -------------
def when_alert_opened(s: Session, e: AlertOpened) -> None:
    begin(s, s.get_one(Alert, e.alert_id), e.at, policy_id=e.policy_id)


def when_priority_raised(s: Session, e: PriorityRaised) -> None:
    on_priority_raised(s, s.get_one(Alert, e.alert_id), e.at)


def when_acknowledged(s: Session, e: AlertAcknowledged) -> None:
    on_acknowledged(s, s.get_one(Alert, e.alert_id), e.at)


def when_stood_down(s: Session, e: HelpArrived | AlertClosed) -> None:
    on_closed(s, s.get_one(Alert, e.alert_id))


def when_notification_failed(s: Session, e: NotificationFailed) -> None:
    if e.purpose != "escalation":
        return
    n = s.get(Notification, e.notification_id)
    if n is not None and n.alert_id:
        attempt_failed(s, n, e.why, e.at)


def when_answered(s: Session, e: NotificationAnswered) -> None:
    """The responder who took the alert, and only they, are sent the access notes."""
    alert = s.get_one(Alert, e.alert_id)
    n = s.get(Notification, e.notification_id)
    resident = s.get(Resident, alert.resident_id) if alert.resident_id else None
    access = sms.access_sms(alert, resident, e.by, stored=True)  # the note itself only on its way out
    s.add(
        Notification(
            alert_id=alert.id,
            contact_id=n.contact_id if n else None,
            to=e.phone,
            channel="sms",
            purpose="access",
            body=access,
            status="queued",
            created_at=e.at,
        )
    )
    alerts.note(s, alert, "access", f"access notes sent to {e.by} only", e.at)

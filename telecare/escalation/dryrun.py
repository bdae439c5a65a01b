"""Dry run: "if Betty's fall detector went off at 02:00 on Saturday, who would be called,
when, and how?"

The answer comes from the real engine, not a copy of its rules: an alert is opened inside a
transaction that is always rolled back, and the engine's own ``begin``/``fire``/
``attempt_failed`` are driven with the simulated time, assuming nobody accepts (the worst
case): every call rings out after ``ring_timeout_s`` (the person then gets the step's next
channel, as the engine does on a no-answer), and texts go unanswered until ``ack_within``.
The alert, its timeline and its notifications vanish with the rollback; nothing is sent,
no timer is set (the adapters only act after a commit, and their hints are dropped here).

A draft of the site (YAML, e.g. an edited policy not yet saved) can be loaded into the same
rolled-back transaction first, so staff can try a change before making it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare import bus
from telecare.alert import service as alerts
from telecare.alert.models import Alert, TimelineEntry
from telecare.alert.states import ACTIVE_STATES
from telecare.catalog import EVENT_TYPES, HUB_EVENT_PRIORITY, Handling
from telecare.notification.models import Notification
from telecare.site.loader import load_site
from telecare.site.models import Contact, Device, Home, Policy, Resident

from . import engine

RING_TIMEOUT_S = 30  # the hub's calls ring for 30 s before Twilio reports no-answer
HORIZON = timedelta(days=2)
MAX_MOVES = 500

KIND_FOR_TYPE = {
    "pendant": "pendant",
    "fall": "fall_detector",
    "smoke": "smoke_detector",
    "co": "co_detector",
    "gas": "gas_detector",
    "flood": "flood_detector",
    "temperature_high": "temperature_sensor",
    "temperature_low": "temperature_sensor",
    "bed_absence": "bed_sensor",
    "inactivity": "motion_sensor",
    "door_exit": "door_sensor",
    "low_battery": None,
    "tamper": None,
    "device_offline": "home_unit",
}
_SESSION_HINTS = ("linkage.site_cache",)


def alarm_types() -> list[str]:
    """Event types a dry run can start from: those that open an alert."""
    out = [t for t, (h, _) in EVENT_TYPES.items() if h in (Handling.ALARM, Handling.DEVICE_CARE)]
    return out + [t for t in HUB_EVENT_PRIORITY if t != "no_response"]


def priority_of(event_type: str) -> str:
    if event_type in EVENT_TYPES and (priority := EVENT_TYPES[event_type][1]):
        return priority
    if event_type in HUB_EVENT_PRIORITY:
        return HUB_EVENT_PRIORITY[event_type]
    raise ValueError(f"{event_type!r} does not open an alert; choose one of {', '.join(alarm_types())}")


class DryRunError(ValueError):
    pass


@dataclass
class Moment:
    at: datetime
    offset_s: int
    kind: str
    detail: str


@dataclass
class Contacted:
    at: datetime
    offset_s: int
    name: str
    to: str
    channel: str
    body: str


@dataclass
class DryRun:
    resident: str
    resident_name: str
    timezone: str
    event_type: str
    priority: str
    device: str | None
    start: datetime
    policy: str | None
    moments: list[Moment] = field(default_factory=list)
    contacted: list[Contacted] = field(default_factory=list)
    no_response_after_s: int | None = None
    assumption: str = ""

    @property
    def first_person_after_s(self) -> int | None:
        people = [c.offset_s for c in self.contacted if c.channel != "console"]
        return min(people) if people else None


def dry_run(
    session: Session,
    *,
    resident: str,
    event_type: str,
    at: datetime,
    device: str | None = None,
    draft: str | None = None,
    ring_timeout_s: int = RING_TIMEOUT_S,
) -> DryRun:
    """Simulate an alarm for ``resident`` at ``at`` (aware). ``session`` must not be in a
    transaction; it is left without one. Raises DryRunError for bad input, SiteError for a bad draft."""
    priority = priority_of(event_type)
    if at.tzinfo is None:
        raise DryRunError("the time needs a zone")
    if session.in_transaction():
        raise DryRunError("dry_run needs a session outside a transaction (it rolls its own back)")
    for key in _SESSION_HINTS:
        session.info.pop(key, None)
    bus.discard(session)
    trans = session.begin()
    try:
        if draft:
            load_site(session, draft, at, source="draft")
            session.flush()
            session.info.pop("linkage.site_cache", None)
        r = session.scalars(select(Resident).where(Resident.ext_id == resident)).first()
        if r is None:
            raise DryRunError(f"resident {resident!r} is not defined")
        home = session.scalars(select(Home).where(Home.resident_id == r.id).order_by(Home.id)).first()
        if home is None:
            raise DryRunError(f"{r.name} has no home (and so no devices) to raise an alarm from")
        dev = None
        if device:
            dev = session.scalars(select(Device).where(Device.home_id == home.id, Device.ext_id == device)).first()
            if dev is None:
                raise DryRunError(f"{r.name}'s home has no device {device!r}")
        else:
            kind = KIND_FOR_TYPE.get(event_type)
            if kind:
                dev = session.scalars(
                    select(Device).where(Device.home_id == home.id, Device.kind == kind).order_by(Device.id)
                ).first()
        handling = EVENT_TYPES.get(event_type, (None, None))[0]
        category = "device" if handling == Handling.DEVICE_CARE or event_type == "device_offline" else "alarm"
        what = f"{dev.kind.replace('_', ' ')} ({dev.ext_id})" if dev else "the home"
        alert = alerts.open_alert(
            session,
            category=category,
            home_id=home.id,
            resident_id=r.id,
            device_id=dev.id if dev else None,
            type=event_type,
            priority=priority,
            now=at,
            detail=f"DRY RUN: {event_type.replace('_', ' ')} from {r.name}'s {what}",
        )
        _drive(session, alert, at, ring_timeout_s)
        policy = session.get_one(Policy, alert.policy_id).ext_id if alert.policy_id else None
        result = DryRun(
            resident=r.ext_id,
            resident_name=r.name,
            timezone=r.timezone,
            event_type=event_type,
            priority=priority,
            device=dev.ext_id if dev else None,
            start=at,
            policy=policy,
            assumption=(
                f"Nobody accepts: calls ring out after {ring_timeout_s} s (then the person "
                "gets the step's next channel), texts go unanswered."
            ),
        )
        for t in session.scalars(
            select(TimelineEntry).where(TimelineEntry.alert_id == alert.id).order_by(TimelineEntry.id)
        ):
            result.moments.append(Moment(t.at, int((t.at - at).total_seconds()), t.kind, t.detail))
            if t.kind == "no_response" and result.no_response_after_s is None:
                result.no_response_after_s = int((t.at - at).total_seconds())
        names: dict[int | None, str] = dict(session.execute(select(Contact.id, Contact.name)).all())
        for n in session.scalars(
            select(Notification).where(Notification.alert_id == alert.id).order_by(Notification.id)
        ):
            result.contacted.append(
                Contacted(
                    n.created_at,
                    int((n.created_at - at).total_seconds()),
                    names.get(n.contact_id, "control room console"),
                    n.to,
                    n.channel,
                    n.body,
                )
            )
        return result
    finally:
        trans.rollback()
        for key in _SESSION_HINTS:
            session.info.pop(key, None)
        bus.discard(session)  # nothing it recorded happened


def _drive(s: Session, alert: Alert, start: datetime, ring_timeout_s: int) -> None:
    """Move simulated time from one thing that would happen to the next, as the hub would."""
    rung: set[int] = set()
    ring_outs: list[tuple[datetime, int]] = []
    for _ in range(MAX_MOVES):
        s.flush()
        for n_id, created, channel in s.execute(
            select(Notification.id, Notification.created_at, Notification.channel).where(
                Notification.alert_id == alert.id, Notification.purpose == "escalation"
            )
        ).all():
            if n_id not in rung and channel == "voice":
                rung.add(n_id)
                ring_outs.append((created + timedelta(seconds=ring_timeout_s), n_id))
        ring_outs.sort()
        nxt = alert.esc_next_at if alert.state in ACTIVE_STATES else None
        if ring_outs and (nxt is None or ring_outs[0][0] <= nxt):
            when, n_id = ring_outs.pop(0)
            n = s.get_one(Notification, n_id)
            if n.status in ("queued", "sending", "sent"):
                n.status, n.updated_at = "no-answer", when
                engine.attempt_failed(s, n, "no answer", when)
            continue
        if nxt is None or alert.no_response or nxt - start > HORIZON:
            return
        engine.fire(s, alert.id, nxt)
        if alert.no_response or alert.esc_phase == "done":
            return

"""What happened in the domain, as typed events (recorded with ``telecare.bus.record``).

Plain data: ids and times, never ORM objects, so a subscriber after the commit reads what
it needs itself. Who publishes and who handles each is in docs/architecture.md ("Domain
events") and, for the in-transaction handlers, in ``telecare.handlers``.

(Not to be confused with ``telecare.events``: the telecare *device* events that arrive over
MQTT.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


# -- alerts (telecare.alert) ---------------------------------------------------------------------
@dataclass(frozen=True)
class AlertOpened:
    alert_id: int
    at: datetime
    policy_id: int | None = None  # escalate by this policy rather than the resident's or the priority's


@dataclass(frozen=True)
class PriorityRaised:
    alert_id: int
    at: datetime


@dataclass(frozen=True)
class AlertAcknowledged:
    alert_id: int
    at: datetime


@dataclass(frozen=True)
class HelpArrived:
    alert_id: int
    at: datetime


@dataclass(frozen=True)
class AlertClosed:
    alert_id: int
    at: datetime
    state: str  # resolved or cancelled


@dataclass(frozen=True)
class AlertChanged:
    """An alert's new state was written to the outbox (``telecare/v1/{home}/alert``)."""

    alert_id: int
    change: str


# -- escalation (telecare.escalation) --------------------------------------------------------------
@dataclass(frozen=True)
class EscalationTimerMoved:
    alert_id: int
    due: datetime | None  # None: no timer any more


# -- notifications (telecare.notification) ----------------------------------------------------------
@dataclass(frozen=True)
class NotificationQueued:
    """Something for the dispatcher to send (a row with status ``queued``)."""

    purpose: str


@dataclass(frozen=True)
class NotificationFailed:
    """An attempt ended without reaching anyone: not sent, no answer, busy, a machine, "2 = pass"."""

    notification_id: int
    purpose: str
    status: str  # our status word: failed, busy, no-answer, machine, passed, ...
    why: str  # the same in words, for the alert's timeline
    at: datetime


@dataclass(frozen=True)
class NotificationAnswered:
    """A person answered an alert notification and took the alert."""

    notification_id: int
    alert_id: int
    by: str
    phone: str
    at: datetime


# -- devices (telecare.events, telecare.heartbeat) --------------------------------------------------
@dataclass(frozen=True)
class DeviceWentQuiet:
    home_id: int
    device_id: int | None
    alert_id: int


# -- check-ins (telecare.checkin) -------------------------------------------------------------------
@dataclass(frozen=True)
class CheckinMissed:
    checkin_id: int
    alert_id: int | None


# -- the site (telecare.site) ------------------------------------------------------------------------
@dataclass(frozen=True)
class ResidentCheckinChanged:
    """A resident's check-in settings or time zone changed (the loader, the API)."""

    resident_id: int
    at: datetime
    actor: str


@dataclass(frozen=True)
class DeviceWatchChanged:
    """A device's ``watch:`` window or kind changed."""

    device_id: int
    at: datetime


# -- the helpline (telecare.enquiry) -----------------------------------------------------------------
@dataclass(frozen=True)
class CallbackRequested:
    callback_id: int
    urgent: bool


@dataclass(frozen=True)
class CallbackClosed:
    callback_id: int

"""Who reacts to what, inside the transaction that recorded it: the domain's subscriptions.

Every entry point imports this module once (``hub``, ``actions``, ``tests/conftest.py``,
``bench``); ``telecare.bus.record`` refuses to run before it has, so no process can open an
alert without its escalation. Reactions that are side effects after the commit (waking the
dispatcher, publishing the outbox, the live board, timers) are the adapters' and are
subscribed by ``hub/runtime.py``. The map of packages, events and handlers is in
docs/architecture.md ("Domain events").
"""

from __future__ import annotations

from telecare import bus
from telecare.checkin import schedule as checkin_schedule
from telecare.checkin import service as checkins
from telecare.domain_events import (
    AlertAcknowledged,
    AlertClosed,
    AlertOpened,
    DeviceWatchChanged,
    HelpArrived,
    NotificationAnswered,
    NotificationFailed,
    PriorityRaised,
    ResidentCheckinChanged,
)
from telecare.enquiry import followup
from telecare.escalation import engine
from telecare.watch import service as watch

SUBSCRIPTIONS: dict[type, list[bus.InTransaction]] = {
    AlertOpened: [engine.when_alert_opened],  # the policy starts in the same transaction as the alert
    PriorityRaised: [engine.when_priority_raised],
    AlertAcknowledged: [engine.when_acknowledged],
    HelpArrived: [engine.when_stood_down],
    AlertClosed: [engine.when_stood_down],
    NotificationFailed: [
        engine.when_notification_failed,
        checkins.when_notification_failed,
        followup.when_notification_failed,
    ],
    NotificationAnswered: [engine.when_answered],
    ResidentCheckinChanged: [checkin_schedule.when_resident_changed],
    DeviceWatchChanged: [watch.when_watch_changed],
}

for _event_type, _handlers in SUBSCRIPTIONS.items():
    for _handler in _handlers:
        bus.subscribe(_event_type, _handler)
bus.wired()

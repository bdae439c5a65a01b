"""The alert state machine (DESIGN.md: open -> acknowledged -> attending -> resolved; cancelled)."""

from __future__ import annotations

OPEN, ACKNOWLEDGED, ATTENDING, RESOLVED, CANCELLED = "open", "acknowledged", "attending", "resolved", "cancelled"
ACTIVE_STATES = (OPEN, ACKNOWLEDGED, ATTENDING)
ALL_STATES = (OPEN, ACKNOWLEDGED, ATTENDING, RESOLVED, CANCELLED)

# action -> states it may start from
ALLOWED_FROM = {
    "acknowledge": (OPEN,),
    "arrived": (OPEN, ACKNOWLEDGED),
    "resolve": (OPEN, ACKNOWLEDGED, ATTENDING),
    "cancel": (OPEN, ACKNOWLEDGED),
}

OUTCOMES = (
    "false_alarm",
    "no_injury",
    "minor_injury",
    "ambulance_called",
    "admitted_to_hospital",
    "resident_not_home",
    "device_fault",
    "device_restored",
    "cancelled_by_resident",
    "referred",
    "other",
    "resident_ok",  # a missed check-in answered after all (telecare.checkin)
)


class AlertError(Exception):
    pass


class AlertNotFound(AlertError):
    pass


class InvalidTransition(AlertError):
    pass

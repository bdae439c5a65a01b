"""The event types of the MQTT contract (DESIGN.md), what each one does, and the priorities.

A leaf that every package may read: the device events (telecare.events), alerts, the site
file and the watch all speak these words.
"""

from __future__ import annotations

from enum import Enum


class Handling(str, Enum):
    ALARM = "alarm"  # opens or joins an alarm alert
    DEVICE_CARE = "device"  # opens a device-care alert (one per device and type)
    ACTIVITY = "activity"  # stored; wellbeing watches compute alarms from it
    HEARTBEAT = "heartbeat"  # proves the device alive; no row
    HELP_ARRIVED = "help_arrived"
    CANCEL = "cancel"


# type -> (handling, default priority)
EVENT_TYPES: dict[str, tuple[Handling, str | None]] = {
    "pendant": (Handling.ALARM, "P1"),
    "fall": (Handling.ALARM, "P1"),
    "smoke": (Handling.ALARM, "P1"),
    "co": (Handling.ALARM, "P1"),
    "gas": (Handling.ALARM, "P1"),
    "flood": (Handling.ALARM, "P2"),
    "temperature_high": (Handling.ALARM, "P2"),
    "temperature_low": (Handling.ALARM, "P2"),
    "bed_absence": (Handling.ALARM, "P2"),
    "inactivity": (Handling.ALARM, "P2"),
    "door_exit": (Handling.ALARM, "P2"),
    "bed_exit": (Handling.ACTIVITY, None),
    "bed_enter": (Handling.ACTIVITY, None),
    "door_open": (Handling.ACTIVITY, None),
    "motion": (Handling.ACTIVITY, None),
    "low_battery": (Handling.DEVICE_CARE, "P4"),
    "tamper": (Handling.DEVICE_CARE, "P3"),
    "heartbeat": (Handling.HEARTBEAT, None),
    "help_arrived": (Handling.HELP_ARRIVED, None),
    "cancel": (Handling.CANCEL, None),
}

# Events the hub makes itself.
HUB_EVENT_PRIORITY = {
    "missed_checkin": "P2",
    "device_offline": "P4",
    "no_response": "P1",
}
HOME_UNIT_OFFLINE_PRIORITY = "P2"  # a silent home unit means no alarm can get through

PRIORITIES = ("P1", "P2", "P3", "P4")


def more_urgent(a: str, b: str) -> str:
    return a if PRIORITIES.index(a) <= PRIORITIES.index(b) else b


DEVICE_KINDS = (
    "pendant",
    "fall_detector",
    "bed_sensor",
    "door_sensor",
    "motion_sensor",
    "smoke_detector",
    "co_detector",
    "gas_detector",
    "flood_detector",
    "temperature_sensor",
    "home_unit",
    "other",
)

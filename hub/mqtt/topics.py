"""Topic shapes of the MQTT contract (DESIGN.md)."""

from __future__ import annotations

import re

from telecare.events.ingest import Inbound

PREFIX = "telecare/v1/"
SUBSCRIPTION = "telecare/v1/#"
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def event_topic(home: str, device: str) -> str:
    return f"{PREFIX}{home}/{device}/event"


def status_topic(home: str) -> str:
    return f"{PREFIX}{home}/status"


def alert_topic(home: str) -> str:
    return f"{PREFIX}{home}/alert"


def classify(topic: str, payload: bytes, token=None) -> Inbound | None:
    """Turn a topic into an Inbound; None for our own alert publications (not input)."""
    parts = topic.split("/")
    n = len(parts)
    if n == 5 and parts[4] == "event" and parts[0] == "telecare" and parts[1] == "v1":
        home, device = parts[2], parts[3]
        if _ID.fullmatch(home) and _ID.fullmatch(device):
            return Inbound("event", topic, payload, home, device, token=token)
        return Inbound(
            "bad_topic", topic, payload, reason="home and device ids must match [A-Za-z0-9_-]{1,64}", token=token
        )
    if n == 4 and parts[0] == "telecare" and parts[1] == "v1":
        if parts[3] == "alert":
            return None
        if parts[3] == "status":
            if _ID.fullmatch(parts[2]):
                return Inbound("status", topic, payload, parts[2], token=token)
            return Inbound("bad_topic", topic, payload, reason="home id must match [A-Za-z0-9_-]{1,64}", token=token)
    return Inbound(
        "bad_topic",
        topic,
        payload,
        reason="topic must be telecare/v1/{home}/{device}/event or telecare/v1/{home}/status",
        token=token,
    )

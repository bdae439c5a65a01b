"""The site and the hub itself: devices, settings, dead letters and health."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DeadLetterOut(BaseModel):
    id: int
    received_at: datetime
    topic: str
    payload: str = Field(description="the first 4 KiB of what arrived")
    payload_size: int | None = Field(None, description="bytes received")
    kind: str
    reason: str


class SettingIn(BaseModel):
    value: str


class DeviceOut(BaseModel):
    home: str
    id: str
    kind: str
    resident: str | None
    online: bool
    battery: int | None
    last_seen: datetime | None
    heartbeat: str | None


class Health(BaseModel):
    status: str
    database: dict
    broker: dict = Field(description="connected, url (never the password), tls, embedded (the demo's own broker)")
    scheduler: dict
    devices_registered: int
    notifier: str = Field("sandbox", description="the notifier in use: sandbox (nothing leaves the machine) or twilio")

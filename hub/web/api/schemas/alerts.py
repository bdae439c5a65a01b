"""Alerts, their timelines and notifications: what /api/alerts, /api/notifications and
/api/sandbox/reply take and give."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TimelineOut(BaseModel):
    at: datetime
    kind: str
    detail: str
    actor: str | None = None


class AlertOut(BaseModel):
    id: int
    resident: str | None
    home: str
    device: str | None
    type: str
    priority: str
    state: str
    category: str
    no_response: bool
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    attending_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None


class AlertDetail(AlertOut):
    timeline: list[TimelineOut]


class ResolveIn(BaseModel):
    outcome: str = Field(description="false_alarm, no_injury, ambulance_called, ...")
    detail: str = ""


class CancelIn(BaseModel):
    reason: str = ""


class NotificationOut(BaseModel):
    id: int
    alert: int | None
    contact: str | None
    to: str
    channel: str
    purpose: str
    body: str
    status: str
    detail: str | None
    created_at: datetime
    handed_at: datetime | None


class SandboxReplyIn(BaseModel):
    from_: str = Field(alias="from", description="the phone number answering, e.g. +447700900201")
    body: str | None = Field(default=None, description="an SMS reply, e.g. '1', 'yes', 'ACK 42'")
    digits: str | None = Field(default=None, description="a keypress on the call, e.g. '1'")


class ReplyOut(BaseModel):
    meaning: str
    answer: str
    alert: int | None
    accepted: bool

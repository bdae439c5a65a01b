"""Check-ins, pauses, drift flags, the pendant pattern and the watch: what /api/checkins/* and
/api/wellbeing/* take and give."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from telecare.checkin.models import STATES


class AttemptOut(BaseModel):
    number: int
    channel: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None = Field(
        description="None while under way; answered, no-answer, busy, machine, failed, "
        "timeout (nothing heard by the retry time), closed"
    )
    notification: int | None
    status: str | None = Field(description="the notification's delivery status")


class CheckinOut(BaseModel):
    id: int
    resident: str
    name: str
    kind: str = Field(description="scheduled or manual (started by staff)")
    due_at: datetime
    due_local: str
    state: str = Field(description=", ".join(STATES))
    outcome: str | None = Field(description="fine, not_so_good, chat, help, or missed")
    late: bool = Field(description="answered only after a retry, or after the missed check-in alert")
    via: str
    attempts_allowed: int
    attempts_made: int
    started_at: datetime
    started_by: str | None
    answered_at: datetime | None
    answered_by: str | None
    answers: list[dict]
    chat_requested: bool
    alert: int | None = Field(description="the missed_checkin alert")
    help_alert: int | None = Field(description="the checkin_help alert")
    note: str | None
    attempts: list[AttemptOut]


class PauseIn(BaseModel):
    from_: date = Field(alias="from", description="first paused day (the resident's local date)")
    to: date | None = Field(default=None, description="last paused day; leave out for until further notice")
    reason: str = Field(min_length=1, description="for example: in hospital, on holiday with family")


class PauseOut(BaseModel):
    id: int
    from_: date = Field(serialization_alias="from")
    to: date | None
    reason: str
    created_at: datetime
    created_by: str | None
    removed_at: datetime | None
    removed_by: str | None


class ScheduleOut(BaseModel):
    resident: str
    name: str
    timezone: str
    checkin: dict | None
    next_due_at: datetime | None
    next_due_local: str | None
    pauses: list[PauseOut]


class DriftOut(BaseModel):
    id: int
    resident: str
    name: str
    kind: str = Field(description="low_mood (several not-so-good answers in a week) or late_or_missed (a run)")
    raised_at: datetime
    detail: str
    evidence: list[int] = Field(description="check-in ids")
    befriender_told: bool
    cleared_at: datetime | None
    cleared_by: str | None
    clear_note: str | None


class ClearIn(BaseModel):
    note: str = ""


class BettyOut(BaseModel):
    resident: str
    name: str
    count: int
    days: int
    by_type: dict[str, int]
    by_outcome: dict[str, int]
    last_at: datetime | None
    has_checkin: bool
    suggestion: str | None


class WatchOut(BaseModel):
    home: str
    device: str
    kind: str
    watch: dict
    watching_since: datetime
    in_bed: bool | None
    out_of_bed_since: datetime | None
    last_activity: datetime | None
    next_check: datetime | None
    last_raised_at: datetime | None

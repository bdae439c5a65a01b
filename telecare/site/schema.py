"""The site file's shape (DESIGN.md, "Site YAML"), as pydantic models."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from telecare.catalog import DEVICE_KINDS, PRIORITIES
from telecare.durations import parse_duration, parse_period

ID = r"^[A-Za-z0-9_-]{1,64}$"
PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {"daily": list(DAYS), "weekdays": list(DAYS[:5]), "weekends": ["sat", "sun"]}
CHANNELS = ("voice", "sms", "console")
ROLES = ("family", "neighbour", "friend", "befriender", "responder", "carer", "staff", "other")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True)


def _duration(v: Any) -> int | None:
    if v is None:
        return None
    return parse_duration(v)


def _time(v: str) -> str:
    if not isinstance(v, str) or not TIME.match(v):
        raise ValueError(f'{v!r} is not a time of day like "08:00" (24-hour clock, quoted)')
    return v


def _days(v: Any) -> list[str]:
    if isinstance(v, str):
        if v in DAY_SETS:
            return DAY_SETS[v]
        v = [v]
    if not isinstance(v, (list, tuple)):  # e.g. null: a validation error, not a TypeError (a 500 in the API)
        raise ValueError(f"{v!r} is not a day or a list of days (mon, tue, ..., daily, weekdays, weekends)")
    out = []
    for d in v:
        d2 = str(d).lower()[:3]
        if d2 not in DAYS:
            raise ValueError(f"{d!r} is not a day (mon, tue, wed, thu, fri, sat, sun, daily, weekdays, weekends)")
        out.append(d2)
    return out


def _phone(v: Any) -> str | None:
    if v is None:
        return v
    phone = str(v).replace(" ", "")
    if not PHONE.match(phone):
        raise ValueError(f'{phone!r} is not a phone number in international form like "+447700900201"')
    return phone


Duration = Annotated[int | None, BeforeValidator(_duration)]
TimeOfDay = Annotated[str, BeforeValidator(_time)]
OptionalTime = Annotated[str | None, BeforeValidator(lambda v: v if v is None else _time(v))]
Days = Annotated[list[str], BeforeValidator(_days)]
Phone = Annotated[str | None, BeforeValidator(_phone)]


class ContactIn(Strict):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1, max_length=200)
    phone: Phone = None
    role: Literal[ROLES] = "family"  # type: ignore[valid-type]
    email: str | None = None
    state: Literal["active", "left"] = "active"  # left: archived, never paged again, kept in history


class ShiftIn(Strict):
    contact: str
    days: Days = Field(default_factory=lambda: list(DAYS))  # "daily"
    from_: TimeOfDay = Field(alias="from")
    to: TimeOfDay


class TeamIn(Strict):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1)
    timezone: str = "Europe/London"
    rota: list[ShiftIn] = []


class WindowIn(Strict):
    days: Days = Field(default_factory=lambda: list(DAYS))  # "daily"
    from_: TimeOfDay = Field(alias="from")
    to: TimeOfDay


class StepIn(Strict):
    notify: list[str] = Field(min_length=1)
    via: list[Literal[CHANNELS]] = Field(min_length=1)  # type: ignore[valid-type]
    ack_within: Duration = None
    window: WindowIn | None = None


class PolicyIn(Strict):
    id: str = Field(pattern=ID)
    for_: list[Literal[PRIORITIES]] = Field(default=[], alias="for")  # type: ignore[valid-type]
    repeat: int = Field(default=0, ge=0, le=10)
    attend_within: Duration = None
    steps: list[StepIn] = Field(min_length=1)


class WatchIn(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    from_: OptionalTime = Field(default=None, alias="from")
    to: OptionalTime = None
    absence: Duration = None
    inactivity: Duration = None  # motion sensors: no movement this long inside the window
    days: Annotated[list[str] | None, BeforeValidator(lambda v: v if v is None else _days(v))] = None


class DeviceIn(Strict):
    id: str = Field(pattern=ID)
    kind: Literal[DEVICE_KINDS]  # type: ignore[valid-type]
    heartbeat: Duration = None
    grace: Duration = None
    watch: WatchIn | None = None


class HomeIn(Strict):
    id: str = Field(pattern=ID)
    devices: list[DeviceIn] = []


class CheckinIn(Strict):
    at: TimeOfDay
    days: Days = Field(default_factory=lambda: list(DAYS))  # "daily"
    via: Literal["voice", "sms"] = "voice"
    attempts: int = Field(default=3, ge=1, le=10)
    retry: Duration = 600
    policy: str | None = None


class ResidentIn(Strict):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1)
    phone: Phone = None
    address: str | None = None
    postcode: str | None = None
    access: str | None = None
    timezone: str = "Europe/London"
    contacts: list[str] = []
    befriender: str | None = None
    policy: str | None = None
    home: HomeIn | None = None
    checkin: CheckinIn | None = None
    state: Literal["active", "left"] = "active"  # left the service: no check-ins, alarms dead-lettered, kept in history


Period = Annotated[int | None, BeforeValidator(lambda v: None if v is None else parse_period(v))]


class RetentionIn(Strict):
    """How long each kind of record is kept (like ``90d``, ``12w``, ``7y``; at least a day)."""

    activity_events: Period = None
    dead_letters: Period = None
    notification_bodies: Period = None
    conversation_text: Period = None
    closed_alerts: Period = None


class SiteIn(Strict):
    retention: RetentionIn | None = None
    contacts: list[ContactIn] = []
    teams: list[TeamIn] = []
    policies: list[PolicyIn] = []
    residents: list[ResidentIn] = []

    @model_validator(mode="before")
    @classmethod
    def _not_none(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: ([] if v is None and k != "retention" else v) for k, v in data.items()}
        return data

"""Check-in tables. The schedule's configuration of record is ``residents.checkin`` (the site
file's ``checkin:`` block, or the API); ``checkin_schedules`` holds when the next one is due."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telecare.notification.models import Notification
from telecare.storage.base import Base, UTCDateTime

# Checkin.state
PENDING, ANSWERED, MISSED, SKIPPED, CANCELLED = "pending", "answered", "missed", "skipped", "cancelled"
STATES = (PENDING, ANSWERED, MISSED, SKIPPED, CANCELLED)
# Checkin.outcome, least to most concerning (an answer never makes the outcome less concerning)
FINE, CHAT, NOT_SO_GOOD, HELP = "fine", "chat", "not_so_good", "help"
OUTCOME_RANK = {FINE: 0, CHAT: 1, NOT_SO_GOOD: 2, HELP: 3}


class CheckinSchedule(Base):
    """When a resident's next scheduled check-in is due (UTC; computed in their own zone)."""

    __tablename__ = "checkin_schedules"
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class CheckinPause(Base):
    """No scheduled check-ins from ``start`` to ``end`` (local dates, inclusive; no end: until removed)."""

    __tablename__ = "checkin_pauses"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(100))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(100))


class Checkin(Base):
    """One day's check-in (or one started by staff): its attempts, its answer, what it led to."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("resident_id", "kind", "due_at"),
        Index("ix_checkins_resident_due", "resident_id", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # scheduled | manual
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[str] = mapped_column(String(10))  # the resident's own date, YYYY-MM-DD
    via: Mapped[str] = mapped_column(String(8))  # voice | sms
    attempts_allowed: Mapped[int] = mapped_column(Integer)
    retry_s: Mapped[int] = mapped_column(Integer)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the hub made the start (lateness = this - due_at)
    started_by: Mapped[str | None] = mapped_column(String(100))
    attempts_made: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # the attempt timer
    outcome: Mapped[str | None] = mapped_column(String(16))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(200))  # the resident's or a contact's name
    answers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # [{at, by, via, meaning, text}]
    chat_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))  # the missed_checkin alert
    help_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))  # the checkin_help alert
    note: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[list[CheckinAttempt]] = relationship(order_by="CheckinAttempt.number", back_populates="checkin")


class CheckinAttempt(Base):
    """One call or SMS of a check-in, and what became of it."""

    __tablename__ = "checkin_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(8))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None while under way; answered | no-answer | busy | machine | failed | undelivered | timeout | closed
    outcome: Mapped[str | None] = mapped_column(String(16))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkin: Mapped[Checkin] = relationship(back_populates="attempts")
    notification: Mapped[Notification | None] = relationship()


class DriftFlag(Base):
    """Something in a resident's check-in history worth a person's attention."""

    __tablename__ = "drift_flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # low_mood | late_or_missed
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[int]] = mapped_column(JSON)  # check-in ids
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))  # the befriender's SMS
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(100))
    clear_note: Mapped[str | None] = mapped_column(Text)

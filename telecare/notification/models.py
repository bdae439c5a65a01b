from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, ForeignKey, Index, Integer, String, Text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, Mapper, mapped_column, object_session

from telecare import bus
from telecare.domain_events import NotificationQueued
from telecare.storage.base import Base, UTCDateTime

# status: queued -> sent -> delivered | answered | failed | no-answer | busy | machine | canceled
FINAL_FAILURES = ("failed", "undelivered", "no-answer", "busy", "machine", "canceled", "passed")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_to_created", "to", "created_at"),
        Index("ix_notifications_status", "status"),
        Index("ix_notifications_contact_alert", "contact_id", "alert_id"),
    )  # a responder's alerts
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    to: Mapped[str] = mapped_column(String(32))  # a phone number, or "console"
    channel: Mapped[str] = mapped_column(String(16))  # sms | voice | console
    purpose: Mapped[str] = mapped_column(String(16), default="escalation")  # escalation | access | info | reply
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    detail: Mapped[str | None] = mapped_column(Text)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    step: Mapped[int | None] = mapped_column(Integer)
    group: Mapped[int | None] = mapped_column(Integer)
    round: Mapped[int | None] = mapped_column(Integer)
    channel_index: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # given to the notifier
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@sa_event.listens_for(Notification, "after_insert")
def _queued(mapper: Mapper[Any], connection: Connection, target: Notification) -> None:
    """A notification queued through the ORM is a ``NotificationQueued``, whoever queued it
    (bulk inserts, like the check-in starts, record it themselves)."""
    if (target.status or "queued") == "queued":
        session = object_session(target)
        if session is not None:
            bus.record(session, NotificationQueued(target.purpose or "escalation"))


class Reply(Base):
    """An answer from a phone: an SMS or a keypress/speech on a call."""

    __tablename__ = "replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_: Mapped[str] = mapped_column("from", String(32), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | voice | sandbox
    body: Mapped[str | None] = mapped_column(Text)
    digits: Mapped[str | None] = mapped_column(String(16))
    provider_sid: Mapped[str | None] = mapped_column(String(80), unique=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    meaning: Mapped[str] = mapped_column(String(16))  # accept | pass | unknown
    answer: Mapped[str | None] = mapped_column(Text)

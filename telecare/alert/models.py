from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telecare.storage.base import Base, UTCDateTime


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_home_state", "home_id", "state"),
        Index("ix_alerts_state_priority", "state", "priority"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(16))  # alarm | device | wellbeing
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    home_id: Mapped[int] = mapped_column(ForeignKey("homes.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    type: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(2))
    state: Mapped[str] = mapped_column(String(16), default="open")
    no_response: Mapped[bool] = mapped_column(default=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    # the contact who accepted (by phone, or a responder's login or token): the only one shown the access notes
    acknowledged_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    attending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(64))
    # escalation cursor (telecare.escalation): where the policy is, and when it next moves
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    esc_phase: Mapped[str | None] = mapped_column(String(8))  # ack | attend | done
    esc_round: Mapped[int] = mapped_column(default=0)
    esc_step: Mapped[int] = mapped_column(default=0)
    esc_group: Mapped[int] = mapped_column(default=0)
    esc_groups: Mapped[list[list[dict[str, Any]]] | None] = mapped_column(JSON)  # the current step's groups of targets
    esc_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    timeline: Mapped[list[TimelineEntry]] = relationship(order_by="TimelineEntry.id", back_populates="alert")


class TimelineEntry(Base):
    __tablename__ = "alert_timeline"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    alert: Mapped[Alert] = relationship(back_populates="timeline")


class OutboxMessage(Base):
    """Alert changes to publish on ``telecare/v1/{home}/alert``; written in the same
    transaction as the change, published after commit, so none is lost to a crash."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    topic: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

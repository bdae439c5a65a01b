from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from telecare.storage.base import Base, UTCDateTime


class Event(Base):
    """Every accepted device event but heartbeats (those only move ``devices.last_seen``)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("device_id", "event_id"),
        Index("ix_events_home_received", "home_id", "received_epoch"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    home_id: Mapped[int] = mapped_column(ForeignKey("homes.id"))
    event_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(32))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    received_epoch: Mapped[float] = mapped_column(Float)
    battery: Mapped[int | None] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(Float)
    cid: Mapped[str | None] = mapped_column(String(16))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)


class DeadLetter(Base):
    """A message the hub could not accept, kept with the reason for staff to see."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    topic: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)  # UTF-8, undecodable bytes as \x escapes; the first 4 KiB only
    payload_size: Mapped[int | None] = mapped_column(Integer)  # bytes as received (rows from before 0010: None)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # bad_json, missing_field, ...
    reason: Mapped[str] = mapped_column(Text)

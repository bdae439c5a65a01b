from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from telecare.storage.base import Base, UTCDateTime


class WatchState(Base):
    """What the watch knows about one watched device, and when it next has to look."""

    __tablename__ = "watch_states"
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    home_id: Mapped[int] = mapped_column(ForeignKey("homes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # bed | door | motion
    since_at: Mapped[datetime] = mapped_column(UTCDateTime)  # watched since (nothing is assumed before)
    last_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the latest activity applied
    in_bed: Mapped[bool | None] = mapped_column(Boolean)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # bed: out since
    raised_key: Mapped[str | None] = mapped_column(String(64))  # the occurrence last raised (once each)
    raised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # bed absence / inactivity
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SweepCursor(Base):
    """How far a sweep has read an append-only table (the watch: ``events.id``)."""

    __tablename__ = "sweep_cursors"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)

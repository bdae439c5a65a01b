"""What retention leaves behind: a record of each run, and tallies of rows it deleted so that the
counts shown to staff (dead letters, alerts by state) stay the same after a run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from telecare.storage.base import Base, UTCDateTime


class RetentionRun(Base):
    __tablename__ = "retention_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    by: Mapped[str] = mapped_column(String(100))  # "scheduler" or the CLI's user
    # the UTC day a scheduled run was for: unique, so two hubs sharing a database run it once
    scheduled_day: Mapped[str | None] = mapped_column(String(10), unique=True)
    removed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # kind -> {table: rows}
    cutoffs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # kind -> ISO cut-off


class RetentionTally(Base):
    """Rows deleted by retention, counted by (kind, key): e.g. ("dead_letters", "bad_json") or
    ("alerts", "resolved"). Readers of whole-table counts add these."""

    __tablename__ = "retention_tallies"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)

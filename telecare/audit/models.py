from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from telecare.storage.base import Base, UTCDateTime


class AuditEntry(Base):
    """One change: who (user or token name, and role), when, what, to what, and the detail
    (for configuration, the text before and after). Written in the change's own transaction."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(16), default="console")  # console | api | cli
    action: Mapped[str] = mapped_column(String(64), index=True)  # alert.acknowledge, site.load, policy.edit, ...
    target: Mapped[str | None] = mapped_column(String(200))  # alert:42, policy:urgent, setting:heartbeat_grace
    summary: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)

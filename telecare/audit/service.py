"""Record and read the audit trail. ``record`` works in the caller's transaction, so a change
and its audit entry commit (or roll back) together."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEntry


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    now: datetime,
    role: str | None = None,
    via: str = "console",
    target: str | None = None,
    summary: str = "",
    before: str | None = None,
    after: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        actor=actor,
        role=role,
        via=via,
        action=action,
        target=target,
        summary=summary,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


def recent(
    session: Session,
    *,
    limit: int = 200,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    before_id: int | None = None,
) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        q = q.where(AuditEntry.action.like(f"{action}%"))
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if target:
        q = q.where(AuditEntry.target == target)
    if before_id:
        q = q.where(AuditEntry.id < before_id)
    return list(session.scalars(q))

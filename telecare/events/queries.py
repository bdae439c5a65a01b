"""Read models for ingest: the dead letters (MQTT messages refused, with the reason)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telecare.events.models import DeadLetter


def dead_letters(s: Session, *, kind: str | None = None, limit: int = 200) -> list[DeadLetter]:
    """Newest first."""
    q = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if kind:
        q = q.where(DeadLetter.kind == kind)
    return list(s.scalars(q))


def dead_letter_count(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(DeadLetter)) or 0


def dead_letters_by_kind(s: Session) -> list[tuple[str, int]]:
    return [(k, n) for k, n in s.execute(select(DeadLetter.kind, func.count()).group_by(DeadLetter.kind)).all()]

"""Read models for the directory of services (search for a need is telecare.directory.search)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare.directory.models import Service


def service_names(s: Session) -> dict[str, str]:
    """Service id -> name, retired services too."""
    return dict(s.execute(select(Service.ext_id, Service.name)).all())


def retired(s: Session) -> list[Service]:
    return list(s.scalars(select(Service).where(Service.active.is_(False)).order_by(Service.name)))

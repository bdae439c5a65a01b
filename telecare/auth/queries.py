"""Read models for console users (admin pages)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare.auth.models import User
from telecare.site.models import Contact


def users(s: Session) -> list[tuple[User, str | None]]:
    """(user, their contact's outside id) by user name."""
    return [
        (u, c)
        for u, c in s.execute(
            select(User, Contact.ext_id).outerjoin(Contact, Contact.id == User.contact_id).order_by(User.username)
        ).all()
    ]


def user(s: Session, username: str) -> User | None:
    return s.scalars(select(User).where(User.username == username)).first()

"""API tokens: shown once, stored as a SHA-256 hash."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiToken

ROLES = ("admin", "staff", "responder")
# What each role may do. Responders act on alerts; only staff and admins change configuration.
CAN_CONFIGURE = ("admin", "staff")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str, now: datetime) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not name.strip():
        raise ValueError("a token needs a name (who or what will use it)")
    token = "lk_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name.strip(), role=role, token_hash=_hash(token), created_at=now))
    return token


def verify(session: Session, token: str) -> ApiToken | None:
    if not token:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    return row

"""API tokens: shown once, stored as a SHA-256 hash; they expire and can be revoked.

A responder's token is bound to their contact record (``--contact``): it sees and acts only on
the alerts that contact was asked to take (telecare.auth.scope). Tokens expire after
``DEFAULT_EXPIRY`` unless told otherwise; only an admin token may be made to never expire,
and only when asked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare.durations import format_duration, parse_duration
from telecare.site.models import Contact

from .models import ApiToken

ROLES = ("admin", "staff", "responder")
# What each role may do. Responders act on alerts; only staff and admins change configuration.
CAN_CONFIGURE = ("admin", "staff")
DEFAULT_EXPIRY = timedelta(days=90)
NEVER = ("never", "none", "0")


class TokenError(ValueError):
    pass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_expiry(text: str | None, role: str) -> timedelta | None:
    """``90d``, ``12h``...; ``never`` (admin only). None given: the default."""
    if text is None or not str(text).strip():
        return DEFAULT_EXPIRY
    if str(text).strip().lower() in NEVER:
        if role != "admin":
            raise TokenError(
                f"a {role} token must expire (give --expires like 90d); only an admin token may "
                "be made with --expires never"
            )
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise TokenError(f"--expires: {exc}, or 'never' for an admin token") from None
    if seconds <= 0:
        raise TokenError("--expires must be longer than 0s")
    return timedelta(seconds=seconds)


def _contact_id(session: Session, contact: str | int | None) -> int | None:
    if contact is None or contact == "":
        return None
    if isinstance(contact, int):
        if session.get(Contact, contact) is None:
            raise TokenError(f"contact {contact} does not exist")
        return contact
    c = session.scalars(select(Contact).where(Contact.ext_id == str(contact).strip())).first()
    if c is None:
        raise TokenError(
            f"contact {contact!r} is not defined in the site (load the site first; the id is the "
            "contact's id in the site file, e.g. rhys)"
        )
    return c.id


def create_token(
    session: Session,
    name: str,
    role: str,
    now: datetime,
    *,
    contact: str | int | None = None,
    expires: timedelta | None | str = "default",
) -> str:
    """A new token for ``name`` (printed once). ``contact``: the site's contact id (a responder needs
    one); ``expires``: a timedelta, None for never (admin only), or "default" (``DEFAULT_EXPIRY``)."""
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}")
    if not name.strip():
        raise TokenError("a token needs a name (who or what will use it)")
    if len(name.strip()) > 100:
        raise TokenError("a token's name is at most 100 characters")
    contact_id = _contact_id(session, contact)
    if role == "responder" and contact_id is None:
        raise TokenError(
            "a responder token must be bound to the responder's own contact: give --contact ID "
            "(the contact's id in the site file, e.g. --contact rhys)"
        )
    if expires == "default":
        expires = DEFAULT_EXPIRY
    elif isinstance(expires, str):
        expires = parse_expiry(expires, role)
    if expires is None and role != "admin":
        raise TokenError(f"a {role} token must expire; only an admin token may be made to never expire")
    token = "lk_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name.strip(),
            role=role,
            token_hash=_hash(token),
            created_at=now,
            contact_id=contact_id,
            expires_at=(now + expires) if expires is not None else None,
        )
    )
    session.flush()
    return token


def live(row: ApiToken, now: datetime) -> bool:
    return row.revoked_at is None and (row.expires_at is None or now < row.expires_at)


def verify(session: Session, token: str, now: datetime | None = None) -> ApiToken | None:
    """The token's row if it is known, not revoked and (given ``now``) not expired; else None."""
    if not token or len(token) > 200:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    if now is not None and row.expires_at is not None and now >= row.expires_at:
        return None
    return row


@dataclass
class TokenInfo:
    name: str
    role: str
    contact: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        if self.expires_at is None:
            return "live, never expires"
        return f"live, {format_duration(int((self.expires_at - now).total_seconds()) // 60 * 60) or '0s'} left"


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.execute(
        select(ApiToken, Contact.ext_id)
        .outerjoin(Contact, Contact.id == ApiToken.contact_id)
        .order_by(ApiToken.created_at, ApiToken.id)
    ).all()
    return [TokenInfo(t.name, t.role, c, t.created_at, t.expires_at, t.revoked_at) for t, c in rows]


def live_named(session: Session, name: str, now: datetime) -> list[ApiToken]:
    rows = session.scalars(select(ApiToken).where(ApiToken.name == name.strip(), ApiToken.revoked_at.is_(None)))
    return [r for r in rows if live(r, now)]


def revoke(session: Session, name: str, now: datetime) -> int:
    """Revoke every token called ``name`` that is not revoked yet; how many."""
    rows = list(session.scalars(select(ApiToken).where(ApiToken.name == name.strip(), ApiToken.revoked_at.is_(None))))
    for r in rows:
        r.revoked_at = now
    return len(rows)

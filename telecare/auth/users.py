"""Console users: Argon2id password hashes (argon2-cffi), roles, and login sessions that expire.

A session expires when it has been idle for ``idle`` or has lived for ``max_age``, whichever
comes first; ending it (log out) is immediate because sessions live in the database. The
browser's cookie holds a random value; only its SHA-256 hash is stored, like API tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telecare.site.models import Contact

from .models import UsedLoginNonce, User, WebSession
from .tokens import ROLES

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# verifying against this keeps an unknown username as slow as a wrong password
_DUMMY_HASH = _hasher.hash("not a password anyone has")
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 10
DEFAULT_IDLE = timedelta(hours=1)
DEFAULT_MAX_AGE = timedelta(hours=12)  # one shift
TOUCH_EVERY = timedelta(seconds=60)  # write last_seen_at at most once a minute


class UserError(ValueError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    now: datetime,
    *,
    display_name: str | None = None,
    contact: str | None = None,
) -> User:
    username = username.strip()
    if not USERNAME.match(username):
        raise UserError("a username is 1-64 letters, digits or . _ @ -")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    check_password_strength(password)
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise UserError(f"there is already a user called {username!r}")
    contact_id = None
    if role == "responder" and not contact:
        raise UserError(
            "a responder's login must be bound to their own contact record: give the contact's id "
            "from the site file (e.g. rhys)"
        )
    if contact:
        c = session.scalars(select(Contact).where(Contact.ext_id == contact)).first()
        if c is None:
            raise UserError(f"contact {contact!r} is not defined (load the site first)")
        contact_id = c.id
        display_name = display_name or c.name
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        role=role,
        password_hash=hash_password(password),
        contact_id=contact_id,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = hash_password(password)


def authenticate(session: Session, username: str, password: str, now: datetime) -> User | None:
    user = session.scalars(select(User).where(User.username == (username or "").strip())).first()
    if user is None or user.disabled_at is not None:
        try:
            _hasher.verify(_DUMMY_HASH, password or "")
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    return user


# -- the login form's single-use nonce ------------------------------------------------------------------------
NONCE_MAX_AGE = timedelta(hours=1)


def consume_nonce(session: Session, nonce: str, now: datetime, max_age: timedelta = NONCE_MAX_AGE) -> bool:
    """Use a login form's nonce (``<epoch seconds>.<random>``, signed by the caller): False if it is
    malformed, too old, from the future, or used before. Old used nonces are forgotten."""
    stamp, _, rest = (nonce or "").partition(".")
    if not stamp.isdigit() or len(rest) < 16 or len(nonce) > 100:
        return False
    issued = datetime.fromtimestamp(int(stamp), tz=now.tzinfo)
    if issued > now + timedelta(minutes=1) or now - issued > max_age:
        return False
    session.execute(delete(UsedLoginNonce).where(UsedLoginNonce.expires_at < now))
    try:
        with session.begin_nested():
            session.add(UsedLoginNonce(nonce_hash=_hash(nonce), expires_at=issued + max_age + timedelta(minutes=1)))
            session.flush()
    except IntegrityError:
        return False
    return True


# -- sessions ----------------------------------------------------------------------------------------
def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Login:
    user: User
    session: WebSession
    cookie: str | None = None  # only when just made


def start_session(session: Session, user: User, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE) -> Login:
    cookie = secrets.token_urlsafe(32)
    ws = WebSession(
        token_hash=_hash(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + max_age,
    )
    session.add(ws)
    session.flush()
    return Login(user, ws, cookie)


def resume_session(session: Session, cookie: str | None, now: datetime, idle: timedelta = DEFAULT_IDLE) -> Login | None:
    """The live session for a cookie, touched; None if unknown, ended, idle too long or too old."""
    if not cookie:
        return None
    ws = session.scalars(select(WebSession).where(WebSession.token_hash == _hash(cookie))).first()
    if ws is None or ws.ended_at is not None:
        return None
    if now >= ws.expires_at or now - ws.last_seen_at >= idle:
        ws.ended_at = ws.ended_at or now
        return None
    user = session.get(User, ws.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if now - ws.last_seen_at >= TOUCH_EVERY:
        ws.last_seen_at = now
    return Login(user, ws)


def end_session(session: Session, ws: WebSession, now: datetime) -> None:
    ws.ended_at = now


def end_all_sessions(session: Session, user: User, now: datetime) -> None:
    session.execute(
        update(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None)).values(ended_at=now)
    )


def csrf_matches(ws: WebSession, presented: str | None) -> bool:
    if not presented:
        return False
    return secrets.compare_digest(ws.csrf_token, presented)

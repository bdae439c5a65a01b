"""Console logins: a session cookie (random, HttpOnly, SameSite=Lax), roles, and CSRF.

* The cookie names a row in ``web_sessions`` (telecare.auth.users): logging out ends it at
  once; idle or too old, it is refused.
* Every POST must carry the session's CSRF token, as the form field ``csrf_token`` or the
  ``X-CSRF-Token`` header (the board's script), and a foreign ``Origin`` is refused too.
* The login form, before there is a session, carries an HMAC of a random cookie (signed
  double submit), so a login cannot be forced from another site either. The cookie's nonce
  carries the time it was issued and is used once (``telecare.auth.users.consume_nonce``):
  a form posted a second time, or after an hour, is refused.
* Logins are throttled per account and per client address (``telecare.auth.throttle``), and
  at most ``login_concurrency`` password checks run at once in a process (``LoginGate``):
  when they are all busy a login is refused at once (503), it never queues a worker.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request

from hub.config import ConsoleSettings
from telecare.auth.tokens import CAN_CONFIGURE
from telecare.auth.users import DEFAULT_IDLE, DEFAULT_MAX_AGE, csrf_matches, resume_session

from ..deps import runtime
from .counts import callbacks_waiting

COOKIE = "linkage_session"
LOGIN_COOKIE = "linkage_login"
STAFF = CAN_CONFIGURE  # admin, staff: the control room
ADMIN = ("admin",)


class LoginRequired(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message, self.status = message, status


@dataclass
class ConsoleUser:
    id: int
    username: str
    name: str
    role: str
    contact_id: int | None
    csrf: str
    session_id: int

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


@dataclass
class ConsoleConfig:
    idle: timedelta
    max_age: timedelta
    secret: bytes
    secure_cookies: bool
    login_concurrency: int = 2

    @classmethod
    def from_settings(cls, settings: ConsoleSettings | None = None) -> ConsoleConfig:
        """From the hub's settings (hub.config.ConsoleSettings; read from the environment when not given)."""
        c = settings if settings is not None else ConsoleSettings.from_env()
        return cls(
            idle=c.idle or DEFAULT_IDLE,
            max_age=c.max_age or DEFAULT_MAX_AGE,
            secret=c.secret_key.encode() if c.secret_key else secrets.token_bytes(32),
            secure_cookies=c.secure_cookies,
            login_concurrency=c.login_concurrency,
        )


class LoginGate:
    """At most ``n`` Argon2 verifications at once; the next is refused, not queued."""

    def __init__(self, n: int):
        self._sem = threading.BoundedSemaphore(n)

    @contextmanager
    def slot(self):
        got = self._sem.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                self._sem.release()


def config(request: Request) -> ConsoleConfig:
    return request.app.state.console_config


def current_user(request: Request) -> ConsoleUser | None:
    if "console_user" in request.state._state:
        return request.state.console_user
    hub = runtime(request)
    cookie = request.cookies.get(COOKIE)
    user = None
    if cookie:
        with hub.sessions() as s, s.begin():
            login = resume_session(s, cookie, hub.clock.now(), idle=config(request).idle)
            if login is not None:
                u, ws = login.user, login.session
                user = ConsoleUser(u.id, u.username, u.display_name, u.role, u.contact_id, ws.csrf_token, ws.id)
                if user.is_staff:  # for the navigation and the board, in this transaction (see counts.py)
                    request.state.callbacks_waiting = callbacks_waiting(s)
    request.state.console_user = user
    return user


def login_required(request: Request) -> ConsoleUser:
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    return user


def staff_required(request: Request) -> ConsoleUser:
    user = login_required(request)
    if user.role not in STAFF:
        raise Forbidden("This page is for control-room staff. Responders have their own view.")
    return user


def admin_required(request: Request) -> ConsoleUser:
    user = login_required(request)
    if user.role not in ADMIN:
        raise Forbidden("Only an administrator can do this.")
    return user


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def check_csrf(request: Request, user: ConsoleUser) -> None:
    """Refuse a POST without the session's token (403)."""
    presented = request.headers.get("x-csrf-token")
    if not presented:
        form = await request.form()
        presented = form.get("csrf_token")
    if not _same_origin(request) or not presented or not secrets.compare_digest(user.csrf, str(presented)):
        raise Forbidden("This form has expired or did not come from this console. Reload the page and try again.")


# -- the login form's own CSRF (no session yet) ----------------------------------------------------------
def login_nonce(request: Request) -> str:
    """``<issued, epoch seconds>.<random>``: the form may be used once, within the hour."""
    issued = int(runtime(request).clock.now().timestamp())
    return f"{issued}.{secrets.token_urlsafe(24)}"


def login_token(request: Request, nonce: str) -> str:
    return hmac.new(config(request).secret, nonce.encode(), hashlib.sha256).hexdigest()


def login_token_ok(request: Request, presented: str | None) -> str | None:
    """The form's nonce if the token matches the cookie and the origin is ours (it is not used up yet:
    the caller consumes it, telecare.auth.users.consume_nonce)."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or not presented or len(presented) > 200 or not _same_origin(request):
        return None
    return nonce if hmac.compare_digest(login_token(request, nonce), presented) else None


__all__ = [
    "COOKIE",
    "LOGIN_COOKIE",
    "ConsoleUser",
    "ConsoleConfig",
    "LoginRequired",
    "Forbidden",
    "current_user",
    "login_required",
    "staff_required",
    "admin_required",
    "check_csrf",
    "login_nonce",
    "login_token",
    "login_token_ok",
    "csrf_matches",
    "LoginGate",
]

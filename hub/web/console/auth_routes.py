"""Log in and out.

A login attempt, in order: the form's CSRF token must match its cookie (403); a password-check
slot must be free (503, refused at once, counted against nobody); the form must not have been
used before (403); the account and the client address must not be waiting out a delay or locked
(429 with Retry-After, the password unchecked, the same answer whether or not the account
exists); then Argon2 decides (401 or a session).
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import SQLAlchemyError

from telecare.audit.service import record
from telecare.auth import throttle
from telecare.auth.models import WebSession
from telecare.auth.users import authenticate, consume_nonce, end_session, start_session

from ..deps import Runtime
from .security import (
    COOKIE,
    LOGIN_COOKIE,
    check_csrf,
    config,
    current_user,
    login_nonce,
    login_required,
    login_token,
    login_token_ok,
)
from .templating import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("linkage.console")


def _home_for(role: str) -> str:
    return "/m" if role == "responder" else "/console"


def _safe_next(value: str | None, role: str) -> str:
    if value:
        u = urlparse(value)
        if (
            not u.scheme
            and not u.netloc
            and value.startswith("/")
            and not value.startswith("//")
            and (role != "responder" or value.startswith("/m"))
        ):
            return value
    return _home_for(role)


def _login_page(
    request: Request,
    *,
    error: str | None = None,
    status: int = 200,
    username: str = "",
    next_: str = "",
    headers: dict | None = None,
):
    nonce = login_nonce(request)
    resp = render(
        request,
        "console/login.html",
        {"login_csrf": login_token(request, nonce), "error": error, "username": username[:64], "next": next_[:500]},
        status=status,
    )
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    resp.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=config(request).secure_cookies,
        max_age=3600,
        path="/login",
    )
    return resp


@router.get("/")
def root(request: Request):
    user = current_user(request)
    return RedirectResponse(_home_for(user.role) if user else "/login", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = ""):
    user = current_user(request)
    if user is not None:
        return RedirectResponse(_safe_next(next, user.role), status_code=303)
    return _login_page(request, next_=next)


@router.post("/login")
def login(
    request: Request,
    hub: Runtime,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form(""),
):
    expired = "The login form had expired. Please try again."
    nonce = login_token_ok(request, csrf_token)
    if nonce is None:
        return _login_page(request, error=expired, status=403, username=username, next_=next)
    keys = [throttle.user_key(username), throttle.addr_key(request.client.host if request.client else None)]
    with request.app.state.login_gate.slot() as free:
        if not free:  # every password-check slot is busy: refuse now (the try is not counted against anyone)
            return _login_page(
                request,
                status=503,
                username=username,
                next_=next,
                headers={"Retry-After": "1"},
                error="The console is busy checking other logins. Please try again in a moment.",
            )
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            used = not consume_nonce(s, nonce, now)  # each form is good for one try
            refused = None if used else throttle.begin_attempt(s, keys, now)  # counted before the check
        if used:
            return _login_page(request, error=expired, status=403, username=username, next_=next)
        if refused is not None:
            wait = (
                f"{(refused.retry_after + 59) // 60} minutes"
                if refused.retry_after > 90
                else f"{refused.retry_after} seconds"
            )
            return _login_page(
                request,
                status=429,
                username=username,
                next_=next,
                headers={"Retry-After": str(refused.retry_after)},
                error=f"Too many failed logins. Wait {wait} and try again, or ask an administrator "
                "to unlock the account.",
            )
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            user = authenticate(s, username, password, now)
            if user is None:
                record(
                    s,
                    actor=username[:100] or "(blank)",
                    action="login.failed",
                    summary="wrong username or password",
                    now=now,
                )
                failed = True
            else:
                failed = False
                throttle.succeeded(s, keys)
                login = start_session(s, user, now, max_age=config(request).max_age)
                record(
                    s, actor=user.display_name, role=user.role, action="login", target=f"user:{user.username}", now=now
                )
                role, cookie = user.role, login.cookie
    if failed:
        if secrets.randbelow(16) == 0:  # now and then, forget failures that no longer count
            try:
                with hub.sessions() as s, s.begin():
                    throttle.forget_old(s, hub.clock.now())
            except SQLAlchemyError:  # housekeeping only; the next failure tries again
                log.warning("could not forget old login failures", exc_info=True)
        return _login_page(
            request, error="That username and password do not match.", status=401, username=username, next_=next
        )
    resp = RedirectResponse(_safe_next(next, role), status_code=303)
    resp.set_cookie(
        COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=config(request).secure_cookies,
        max_age=int(config(request).max_age.total_seconds()),
        path="/",
    )
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
async def logout(request: Request, hub: Runtime):
    user = login_required(request)
    await check_csrf(request, user)
    with hub.sessions() as s, s.begin():
        ws = s.get(WebSession, user.session_id)
        if ws is not None:
            end_session(s, ws, hub.clock.now())
        record(s, actor=user.name, role=user.role, action="logout", target=f"user:{user.username}", now=hub.clock.now())
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp

"""Log in and out."""
from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from telecare.audit.service import record
from telecare.auth.models import WebSession
from telecare.auth.users import authenticate, end_session, start_session

from .security import (COOKIE, LOGIN_COOKIE, check_csrf, config, current_user, login_nonce, login_required,
                       login_token, login_token_ok)
from .templating import render

router = APIRouter(include_in_schema=False)


def _home_for(role: str) -> str:
    return "/m" if role == "responder" else "/console"


def _safe_next(value: str | None, role: str) -> str:
    if value:
        u = urlparse(value)
        if not u.scheme and not u.netloc and value.startswith("/") and not value.startswith("//"):
            if role != "responder" or value.startswith("/m"):
                return value
    return _home_for(role)


def _login_page(request: Request, *, error: str | None = None, status: int = 200, username: str = "",
                next_: str = ""):
    nonce = login_nonce()
    resp = render(request, "console/login.html", {"login_csrf": login_token(request, nonce), "error": error,
                                                   "username": username, "next": next_}, status=status)
    resp.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=config(request).secure_cookies,
                    max_age=3600, path="/login")
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
def login(request: Request, username: str = Form(""), password: str = Form(""), csrf_token: str = Form(""),
          next: str = Form("")):
    hub = request.app.state.hub
    if not login_token_ok(request, csrf_token):
        return _login_page(request, error="The login form had expired. Please try again.", status=403,
                           username=username, next_=next)
    with hub.sessions() as s, s.begin():
        now = hub.clock.now()
        user = authenticate(s, username, password, now)
        if user is None:
            record(s, actor=username[:100] or "(blank)", action="login.failed", summary="wrong username or password",
                   now=now)
            failed = True
        else:
            failed = False
            login = start_session(s, user, now, max_age=config(request).max_age)
            record(s, actor=user.display_name, role=user.role, action="login", target=f"user:{user.username}",
                   now=now)
            role, cookie = user.role, login.cookie
    if failed:
        return _login_page(request, error="That username and password do not match.", status=401,
                           username=username, next_=next)
    resp = RedirectResponse(_safe_next(next, role), status_code=303)
    resp.set_cookie(COOKIE, cookie, httponly=True, samesite="lax", secure=config(request).secure_cookies,
                    max_age=int(config(request).max_age.total_seconds()), path="/")
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
async def logout(request: Request):
    user = login_required(request)
    await check_csrf(request, user)
    hub = request.app.state.hub
    with hub.sessions() as s, s.begin():
        ws = s.get(WebSession, user.session_id)
        if ws is not None:
            end_session(s, ws, hub.clock.now())
        record(s, actor=user.name, role=user.role, action="logout", target=f"user:{user.username}",
               now=hub.clock.now())
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp

"""Dashboard, sandbox phone, settings, dead letters, the audit trail and users."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from telecare.audit.service import recent, record
from telecare.auth import queries as user_queries
from telecare.auth import throttle
from telecare.auth.tokens import ROLES
from telecare.auth.users import UserError, create_user, end_all_sessions
from telecare.enquiry import service as enquiry_service
from telecare.events import queries as event_queries
from telecare.notification import queries as notification_queries
from telecare.notification.models import Notification
from telecare.reports.dashboard import checkin_figures
from telecare.reports.dashboard import dashboard as dashboard_figures
from telecare.site import settings as site_settings

from ..deps import Runtime, runtime
from . import charts
from .actions import sandbox_reply
from .redaction import shown
from .security import Forbidden, admin_required, check_csrf, staff_required
from .templating import CHANNEL_WORDS, NEED_WORDS, OUTCOME_WORDS, render

router = APIRouter(include_in_schema=False)
FIRST_CONTACT_BENCHMARK = 0.6  # the low end of the 60-70% the Leeds and Somerset contact centres resolve


@router.get("/console/dashboard")
def dashboard(request: Request, hub: Runtime, days: int = 7, user=Depends(staff_required)):
    days = min(max(days, 1), 90)
    with hub.sessions() as s:
        d = dashboard_figures(s, hub.clock.now(), days=days)
        d_checkins = checkin_figures(s, hub.clock.now(), days=days)
        d_enquiries = enquiry_service.summary(s, since=d.since)
    answered = [(label, n) for label, n in d.answer_histogram]
    figures = {
        "by_type": charts.bars([(t.replace("_", " "), n) for t, n in d.by_type], title="Alarms by type"),
        "by_hour": charts.bars(
            [(f"{h:02d}", n) for h, n in enumerate(d.by_hour)], title="Alarms by hour of day", label_every=3
        ),
        "answer": charts.bars(answered, title="Time to answer", color="#2d6a4f"),
        "arrival": charts.bars(d.arrival_histogram, title="Time for help to arrive", color="#7b3f00"),
        "checkins": charts.bars(
            [(k.replace("_", " "), n) for k, n in d_checkins], title="Check-ins by outcome", color="#5a3d8a"
        ),
        "gauges": [charts.gauge(st.share, st.target, label=f"Answered within {st.within_s} s") for st in d.standards],
        "enq_channel": charts.bars(
            [(CHANNEL_WORDS.get(k, k), n) for k, n in d_enquiries["by_channel"].items()],
            title="Enquiries by channel",
            color="#2d6a4f",
        ),
        "enq_need": charts.hbars(
            [(NEED_WORDS.get(k, k), n) for k, n in d_enquiries["by_need"].items()], title="Enquiries by need"
        ),
        "enq_outcome": charts.bars(
            [(OUTCOME_WORDS.get(k, k), n) for k, n in d_enquiries["by_outcome"].items()],
            title="Enquiries by outcome",
            color="#5a3d8a",
        ),
        "enq_resolved": charts.gauge(
            d_enquiries["resolved_first_contact_share"],
            FIRST_CONTACT_BENCHMARK,
            label="Resolved at first contact",
            color="#1d4f91",
            target_label="benchmark",
        ),
    }
    return render(
        request,
        "console/dashboard.html",
        {"d": d, "charts": figures, "days": days, "d_checkins": d_checkins, "d_enquiries": d_enquiries},
    )


# -- sandbox phone ------------------------------------------------------------------------------------------------
@router.get("/console/sandbox")
def sandbox(request: Request, hub: Runtime, user=Depends(staff_required)):
    with hub.sessions() as s:
        rows = notification_queries.phones(s)
        names = notification_queries.contact_names_by_phone(s)
        last_ids = [last for _, _, last in rows]
        lasts = dict(zip(last_ids, shown(s, [s.get(Notification, i) for i in last_ids], None), strict=True))
        phones = [(to, names.get(to), n, lasts[last]) for to, n, last in rows]
    return render(request, "console/sandbox.html", {"phones": phones})


def _phone_page(request: Request, phone: str, result=None, error: str | None = None, status: int = 200):
    hub = runtime(request)
    with hub.sessions() as s:
        received = notification_queries.sent_to(s, phone)
        received = shown(s, received, None)  # the control room sees "[access note]", not the key-safe code
        sent = notification_queries.replies_from(s, phone)
        name = notification_queries.contact_name(s, phone)
    thread = sorted(
        [("in", n.created_at, n) for n in received] + [("out", r.received_at, r) for r in sent],
        key=lambda x: (x[1], 0 if x[0] == "in" else 1),
    )
    return render(
        request,
        "console/phone.html",
        {"phone": phone, "name": name, "thread": thread, "result": result, "error": error},
        status=status,
    )


@router.get("/console/sandbox/{phone}")
def phone(request: Request, phone: str, user=Depends(staff_required)):
    return _phone_page(request, phone.replace(" ", ""))


@router.post("/console/sandbox/{phone}")
async def phone_reply(request: Request, hub: Runtime, phone: str, user=Depends(staff_required)):
    await check_csrf(request, user)
    if getattr(hub.notifier, "name", "") != "sandbox":
        return _phone_page(request, phone, error="The sandbox is off: this hub sends through Twilio.", status=409)
    form = await request.form()
    body = str(form.get("body") or "").strip()
    digits = str(form.get("digits") or "").strip()
    if not body and not digits:
        return _phone_page(request, phone, error="Type a reply, or press a key.", status=422)
    result = sandbox_reply(hub, user, phone, body or None, digits or None)
    return _phone_page(request, phone.replace(" ", ""), result=result)


# -- settings, dead letters, audit ----------------------------------------------------------------------------------
@router.get("/console/settings")
def settings_page(request: Request, hub: Runtime, ok: str = "", user=Depends(staff_required)):
    with hub.sessions() as s:
        values = {k: site_settings.get(s, k) for k in site_settings.DEFAULTS}
    return render(request, "console/settings.html", {"values": values, "ok": ok, "problems": {}})


@router.post("/console/settings")
async def settings_save(request: Request, hub: Runtime, user=Depends(staff_required)):
    await check_csrf(request, user)
    form = await request.form()
    problems, changed = {}, False
    for key in site_settings.DEFAULTS:
        if key in form:
            try:
                site_settings.VALIDATORS[key](str(form[key]))
            except ValueError as exc:
                problems[key] = str(exc)
    if problems:
        values = {k: str(form.get(k, "")) for k in site_settings.DEFAULTS}
        return render(request, "console/settings.html", {"values": values, "ok": "", "problems": problems}, status=422)
    with hub.sessions() as s, s.begin():
        now = hub.clock.now()
        for key in site_settings.DEFAULTS:
            if key not in form:
                continue
            before = site_settings.get(s, key)
            value = site_settings.put(s, key, str(form[key]), user.name, now)
            if value != before:
                changed = True
                record(
                    s,
                    actor=user.name,
                    role=user.role,
                    action="setting.change",
                    target=f"setting:{key}",
                    before=before,
                    after=value,
                    summary=f"{key}: {before} → {value}",
                    now=now,
                )
    return RedirectResponse(f"/console/settings?ok={'saved' if changed else 'unchanged'}", status_code=303)


@router.get("/console/deadletters")
def deadletters(request: Request, hub: Runtime, kind: str = "", user=Depends(staff_required)):
    with hub.sessions() as s:
        rows = event_queries.dead_letters(s, kind=kind or None, limit=200)
        kinds = event_queries.dead_letters_by_kind(s)
    return render(request, "console/deadletters.html", {"rows": rows, "kinds": kinds, "kind": kind})


@router.get("/console/audit")
def audit(request: Request, hub: Runtime, action: str = "", actor: str = "", user=Depends(staff_required)):
    with hub.sessions() as s:
        rows = recent(s, limit=300, action=action or None, actor=actor or None)
    return render(request, "console/audit.html", {"rows": rows, "action": action, "actor": actor})


# -- users (admin) ---------------------------------------------------------------------------------------------------
def _users_context(s, now) -> dict:
    rows = user_queries.users(s)
    return {
        "rows": rows,
        "roles": ROLES,
        "held": throttle.held(s, now),
        "known": {u.username.lower() for u, _ in rows},
        "free": throttle.FREE,
        "lock_after": throttle.LOCK_AFTER,
        "lock_minutes": int(throttle.LOCK_FOR.total_seconds() // 60),
    }


@router.get("/console/users")
def users(request: Request, hub: Runtime, ok: str = "", user=Depends(admin_required)):
    with hub.sessions() as s:
        ctx = _users_context(s, hub.clock.now())
    return render(request, "console/users.html", dict(ctx, ok=ok, form={}))


@router.post("/console/users/unlock")
async def users_unlock(request: Request, hub: Runtime, user=Depends(admin_required)):
    """Let a locked account or client address try again now (audited)."""
    await check_csrf(request, user)
    form = await request.form()
    key = str(form.get("key") or "")[:120]
    if not key.startswith(("user:", "addr:")):
        raise Forbidden("Choose an account or address from the list.", status=422)
    with hub.sessions() as s, s.begin():
        if not throttle.unlock(s, key):
            raise Forbidden("That account or address is not locked.", status=404)
        kind, _, who = key.partition(":")
        record(
            s,
            actor=user.name,
            role=user.role,
            action="login.unlock",
            target=f"{'user' if kind == 'user' else 'address'}:{who}",
            summary=f"unlocked {key}",
            now=hub.clock.now(),
        )
    return RedirectResponse("/console/users?ok=unlocked#locked", status_code=303)


@router.post("/console/users")
async def users_create(request: Request, hub: Runtime, user=Depends(admin_required)):
    await check_csrf(request, user)
    form = await request.form()
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            new = create_user(
                s,
                str(form.get("username") or ""),
                str(form.get("role") or ""),
                str(form.get("password") or ""),
                now,
                display_name=str(form.get("name") or "") or None,
                contact=str(form.get("contact") or "") or None,
            )
            record(
                s,
                actor=user.name,
                role=user.role,
                action="user.create",
                target=f"user:{new.username}",
                summary=f"{new.username} ({new.role})",
                now=now,
            )
    except UserError as exc:
        with hub.sessions() as s:
            ctx = _users_context(s, hub.clock.now())
        return render(
            request,
            "console/users.html",
            dict(ctx, ok="", error=str(exc), form={k: str(v) for k, v in form.items() if k != "password"}),
            status=422,
        )
    return RedirectResponse("/console/users?ok=created", status_code=303)


@router.post("/console/users/{username}/disable")
async def users_disable(request: Request, hub: Runtime, username: str, user=Depends(admin_required)):
    await check_csrf(request, user)
    with hub.sessions() as s, s.begin():
        target = user_queries.user(s, username)
        if target is None:
            raise Forbidden(f"There is no user {username!r}.", status=404)
        if target.id == user.id:
            raise Forbidden("You cannot disable yourself.", status=409)
        now = hub.clock.now()
        target.disabled_at = now
        end_all_sessions(s, target, now)
        record(s, actor=user.name, role=user.role, action="user.disable", target=f"user:{username}", now=now)
    return RedirectResponse("/console/users?ok=disabled", status_code=303)

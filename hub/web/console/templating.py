"""Jinja2 templates for the console: filters for times and durations, the navigation, and
``render`` which every page uses (it adds the user, the CSRF token and the clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates

from telecare.durations import format_duration
from telecare.enquiry.channels import Channel

from ..deps import runtime
from .security import current_user

WEB = Path(__file__).resolve().parent.parent
TEMPLATES = Jinja2Templates(directory=str(WEB / "templates"))
CONSOLE_TZ = ZoneInfo("Europe/London")


@dataclass
class NavItem:
    label: str
    href: str
    roles: tuple[str, ...] = ("admin", "staff")
    group: str = "Alerts"


# The console's pages, grouped (base.html shows the groups in this order). New features add a line here.
NAV = [
    NavItem("Board", "/console", group="Alerts"),
    NavItem("Dashboard", "/console/dashboard", group="Alerts"),
    NavItem("Notifications", "/console/notifications", group="Alerts"),
    NavItem("Sandbox phone", "/console/sandbox", group="Alerts"),
    NavItem("Residents", "/console/residents", group="People"),
    NavItem("Devices", "/console/devices", group="People"),
    NavItem("Contacts", "/console/contacts", group="People"),
    NavItem("Teams & rotas", "/console/teams", group="People"),
    NavItem("Check-ins", "/console/checkins", group="People"),
    NavItem("Enquiries", "/console/enquiries", group="Helpline"),
    NavItem("Callbacks", "/console/callbacks", group="Helpline"),
    NavItem("Check-in requests", "/console/checkin-requests", group="Helpline"),
    NavItem("Follow-ups", "/console/followups", group="Helpline"),
    NavItem("Directory", "/console/directory", group="Helpline"),
    NavItem("Policies", "/console/policies", group="Escalation"),
    NavItem("Dry run", "/console/dryrun", group="Escalation"),
    NavItem("Coverage", "/console/coverage", group="Escalation"),
    NavItem("Site file", "/console/site", group="Service"),
    NavItem("Settings", "/console/settings", group="Service"),
    NavItem("Dead letters", "/console/deadletters", group="Service"),
    NavItem("Audit trail", "/console/audit", group="Service"),
    NavItem("Users", "/console/users", roles=("admin",), group="Service"),
]


def local(value: datetime | None, fmt: str = "%a %d %b %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(CONSOLE_TZ).strftime(fmt)


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "—"
    seconds = max(0, int((now - value).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def offset(seconds: int | float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return (
        "+0 s"
        if seconds == 0
        else "+"
        + format_duration(seconds)
        .replace("m", " min ")
        .replace("h", " h ")
        .replace("s", " s")
        .replace("d", " d ")
        .strip()
    )


def words(value: str | None) -> str:
    return (value or "").replace("_", " ")


# The need categories (DESIGN.md) in staff's plain words.
NEED_WORDS = {
    "emergency": "Emergency",
    "safeguarding": "Safeguarding (someone at risk)",
    "money_benefits": "Money and benefits",
    "loneliness_befriending": "Loneliness and befriending",
    "falls_prevention": "Falls prevention",
    "home_repairs_adaptations": "Home repairs and adaptations",
    "telecare_alarms": "Telecare and alarms",
    "carers_support": "Support for carers",
    "transport": "Transport",
    "housing": "Housing",
    "health_wellbeing": "Health and wellbeing",
    "memory_dementia": "Memory and dementia",
    "fire_home_safety": "Fire and home safety",
    "scams_crime": "Scams and crime",
    "digital_skills": "Digital skills",
    "food_shopping": "Food and shopping",
    "social_care_assessment": "Social care assessment",
    "other": "Other",
}
CHANNEL_WORDS = {Channel.SMS: "Text (SMS)", Channel.VOICE: "Phone call", Channel.WEB: "Web chat", Channel.REST: "API"}
OUTCOME_WORDS = {
    "unresolved": "Unresolved",
    "signposted": "Signposted",
    "introduced": "Introduced",
    "handoff": "Handed to a person",
    "emergency": "Emergency",
}
REASON_WORDS = {
    "safeguarding": "Safeguarding",
    "emergency": "Emergency",
    "person": "Asked for a person",
    "cannot_help": "Assistant could not help",
    "followup": "Introduction did not work",
}


def _lookup(table: dict):
    return lambda value: table.get(value, words(value)) if value else "—"


def groups() -> list[str]:
    return list(dict.fromkeys(n.group for n in NAV))


TEMPLATES.env.filters.update(
    local=local,
    iso=iso,
    offset=offset,
    words=words,
    urlquote=lambda v: quote(str(v), safe=""),
    need=_lookup(NEED_WORDS),
    channel=_lookup(CHANNEL_WORDS),
    outcome=_lookup(OUTCOME_WORDS),
    reason=_lookup(REASON_WORDS),
)
TEMPLATES.env.globals.update(ago=ago)


# Only this site's own styles, script and forms; never inside another site's frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(request: Request, name: str, context: dict | None = None, status: int = 200, headers: dict | None = None):
    user = current_user(request)
    hub = runtime(request)
    waiting, urgent = getattr(request.state, "callbacks_waiting", None) or (0, 0)  # read by current_user
    ctx = {
        "user": user,
        "csrf": user.csrf if user else "",
        "now": hub.clock.now(),
        "nav": [n for n in NAV if user and user.role in n.roles],
        "nav_groups": groups(),
        "path": request.url.path,
        "sandbox": getattr(hub.notifier, "name", "") == "sandbox",
        "callbacks_open": waiting,
        "callbacks_urgent": urgent,
    }
    ctx.update(context or {})
    return TEMPLATES.TemplateResponse(
        request, name, ctx, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
    )

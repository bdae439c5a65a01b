"""Dry runs and the coverage report."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request

from telecare.escalation.coverage import STATES, coverage_report
from telecare.escalation.dryrun import DryRunError, alarm_types, dry_run
from telecare.schedule.windows import DAYS
from telecare.site import queries as site_queries
from telecare.site.loader import SiteError

from ..deps import Runtime, runtime
from .security import check_csrf, staff_required
from .templating import render

router = APIRouter(include_in_schema=False)


def next_local(now: datetime, day: str, hhmm: str, tz: str) -> datetime:
    """The next ``day`` at ``hhmm`` in ``tz`` from ``now`` (today counts if it is still ahead)."""
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    h, m = (int(x) for x in hhmm.split(":"))
    target = DAYS.index(day)
    days_ahead = (target - local_now.weekday()) % 7
    candidate = datetime(local_now.year, local_now.month, local_now.day, h, m, tzinfo=zone) + timedelta(days=days_ahead)
    candidate = datetime(candidate.year, candidate.month, candidate.day, h, m, tzinfo=zone)  # wall clock, across DST
    if candidate <= local_now:
        candidate += timedelta(days=7)
        candidate = datetime(candidate.year, candidate.month, candidate.day, h, m, tzinfo=zone)
    return candidate


def _options(s):
    residents = site_queries.residents_with_homes(s, limit=1000)
    return residents


async def _dryrun(request: Request, params: dict, draft: str | None):
    hub = runtime(request)
    resident = params.get("resident") or ""
    type_ = params.get("type") or "fall"
    day = params.get("day") or "sat"
    time_ = params.get("time") or "02:00"
    device = params.get("device") or None
    result = error = problems = None
    with hub.sessions() as s:
        residents = _options(s)
        devices = []
        if resident:
            devices = site_queries.device_ids_of(s, resident)
    if resident:
        try:
            if day not in DAYS:
                raise DryRunError("choose a day of the week")
            with hub.sessions() as s:
                tz = site_queries.timezone_of(s, resident) or "Europe/London"
            try:
                at = next_local(hub.clock.now(), day, time_, tz)
            except (ValueError, IndexError):
                raise DryRunError("the time must look like 02:00") from None
            with hub.sessions() as s:
                result = dry_run(s, resident=resident, event_type=type_, at=at, device=device, draft=draft or None)
        except SiteError as exc:
            problems = exc.problems
        except (DryRunError, ValueError) as exc:
            error = str(exc)
    return render(
        request,
        "console/dryrun.html",
        {
            "residents": residents,
            "devices": devices,
            "types": alarm_types(),
            "days": DAYS,
            "form": {"resident": resident, "type": type_, "day": day, "time": time_, "device": device or ""},
            "result": result,
            "error": error,
            "problems": problems,
            "draft": draft or "",
        },
        status=422 if (error or problems) else 200,
    )


@router.get("/console/dryrun")
async def dryrun_get(request: Request, user=Depends(staff_required)):
    return await _dryrun(request, dict(request.query_params), None)


@router.post("/console/dryrun")
async def dryrun_post(request: Request, user=Depends(staff_required)):
    await check_csrf(request, user)
    form = await request.form()
    params = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "yaml", "draft")}
    return await _dryrun(request, params, str(form.get("yaml") or form.get("draft") or ""))


@router.get("/console/coverage")
def coverage(request: Request, hub: Runtime, user=Depends(staff_required)):
    with hub.sessions() as s:
        report = coverage_report(s)
    return render(request, "console/coverage.html", {"report": report, "days": DAYS, "states": STATES})

"""Check-ins and the wellbeing picture for staff and admins: a responder token gets 403 on every route here
(routes stay thin; telecare.checkin decides).

- ``GET  /api/checkins?resident=ID``                   attempts and outcomes, newest first
- ``POST /api/checkins/{resident}/start``              call (or text) now; staff only
- ``GET|PUT|DELETE /api/checkins/{resident}/schedule`` the ``checkin:`` block; changes staff only
- ``GET|POST /api/checkins/{resident}/pauses``, ``DELETE …/pauses/{id}``  holidays, hospital stays
- ``GET  /api/wellbeing/drift``, ``POST /api/wellbeing/drift/{id}/clear``  drift flags
- ``GET  /api/wellbeing/betty``                        frequent pendant presses without an emergency
- ``GET  /api/wellbeing/watch``                        what the wellbeing watch is watching
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query

from telecare.audit import service as audit
from telecare.checkin import drift, frequent_false_alarms, queries
from telecare.checkin import schedule as schedules
from telecare.checkin import service as checkins
from telecare.checkin.models import STATES, Checkin, CheckinPause, CheckinSchedule, DriftFlag
from telecare.checkin.schedule import CheckinError
from telecare.notification import queries as notification_queries
from telecare.site import queries as site_queries
from telecare.site.models import Resident
from telecare.site.schema import CheckinIn
from telecare.watch import queries as watch_queries
from telecare.watch import service as watch

from ..auth import Caller, configurer, staff_only
from ..deps import Runtime
from .schemas.checkins import (
    AttemptOut,
    BettyOut,
    CheckinOut,
    ClearIn,
    DriftOut,
    PauseIn,
    PauseOut,
    ScheduleOut,
    WatchOut,
)

router = APIRouter()


# -- helpers --------------------------------------------------------------------------------------------
def _pause_out(p: CheckinPause) -> PauseOut:
    return PauseOut(
        id=p.id,
        from_=p.start,
        to=p.end,
        reason=p.reason,
        created_at=p.created_at,
        created_by=p.created_by,
        removed_at=p.removed_at,
        removed_by=p.removed_by,
    )


def _checkin_out(s, c: Checkin, r: Resident) -> CheckinOut:
    statuses = notification_queries.statuses(s, [a.notification_id for a in c.attempts])
    return CheckinOut(
        id=c.id,
        resident=r.ext_id,
        name=r.name,
        kind=c.kind,
        due_at=c.due_at,
        due_local=c.due_at.astimezone(ZoneInfo(r.timezone or "Europe/London")).strftime("%Y-%m-%d %H:%M %Z"),
        state=c.state,
        outcome=c.outcome,
        late=c.late,
        via=c.via,
        attempts_allowed=c.attempts_allowed,
        attempts_made=c.attempts_made,
        started_at=c.started_at,
        started_by=c.started_by,
        answered_at=c.answered_at,
        answered_by=c.answered_by,
        answers=c.answers or [],
        chat_requested=c.chat_requested,
        alert=c.alert_id,
        help_alert=c.help_alert_id,
        note=c.note,
        attempts=[
            AttemptOut(
                number=a.number,
                channel=a.channel,
                started_at=a.started_at,
                ended_at=a.ended_at,
                outcome=a.outcome,
                notification=a.notification_id,
                status=statuses.get(a.notification_id),
            )
            for a in c.attempts
        ],
    )


def _resident(s, ext: str) -> Resident:
    r = site_queries.resident(s, ext)
    if r is None:
        raise HTTPException(404, f"there is no resident {ext!r}")
    return r


def _schedule_out(s, r: Resident, include_removed: bool = False) -> ScheduleOut:
    sched = s.get(CheckinSchedule, r.id)
    tz = ZoneInfo(r.timezone or "Europe/London")
    nxt = sched.next_due_at if sched else None
    return ScheduleOut(
        resident=r.ext_id,
        name=r.name,
        timezone=r.timezone or "Europe/London",
        checkin=schedules.config(r),
        next_due_at=nxt,
        next_due_local=nxt.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z") if nxt else None,
        pauses=[_pause_out(p) for p in queries.pauses(s, r.id, include_removed=include_removed)],
    )


def _drift_out(f: DriftFlag, r: Resident) -> DriftOut:
    return DriftOut(
        id=f.id,
        resident=r.ext_id,
        name=r.name,
        kind=f.kind,
        raised_at=f.raised_at,
        detail=f.detail,
        evidence=f.evidence or [],
        befriender_told=f.notification_id is not None,
        cleared_at=f.cleared_at,
        cleared_by=f.cleared_by,
        clear_note=f.clear_note,
    )


# -- check-ins ------------------------------------------------------------------------------------------
@router.get("/api/checkins", response_model=list[CheckinOut], tags=["check-ins"])
def list_checkins(
    hub: Runtime,
    resident: str | None = None,
    state: str | None = None,
    since: datetime | None = Query(None, description="due at or after (RFC 3339)"),
    limit: int = Query(200, ge=1, le=5000),
    who: Caller = Depends(staff_only),
):
    if state and state not in STATES:
        raise HTTPException(422, f"state must be one of {', '.join(STATES)}")
    with hub.sessions() as s:
        return [
            _checkin_out(s, c, r)
            for c, r in queries.checkins(s, resident=resident, state=state, since=since, limit=limit)
        ]


@router.post(
    "/api/checkins/{resident}/start",
    response_model=CheckinOut,
    status_code=201,
    tags=["check-ins"],
    summary="Make the resident's check-in call (or SMS) now",
)
def start(resident: str, hub: Runtime, who: Caller = Depends(configurer)):
    with hub.sessions() as s, s.begin():
        _resident(s, resident)
        try:
            c = checkins.start_now(s, resident, hub.clock.now(), actor=who.name)
        except CheckinError as exc:
            raise HTTPException(409, str(exc)) from None
        audit.record(
            s,
            actor=who.name,
            role=who.role,
            via="api",
            action="checkin.start",
            target=f"resident:{resident}",
            now=hub.clock.now(),
            summary=f"check-in {c.id} started",
        )
        r = s.get(Resident, c.resident_id)
        out = _checkin_out(s, c, r)
    return out


@router.get("/api/checkins/{resident}/schedule", response_model=ScheduleOut, tags=["check-ins"])
def get_schedule(resident: str, hub: Runtime, who: Caller = Depends(staff_only)):
    with hub.sessions() as s:
        return _schedule_out(s, _resident(s, resident))


@router.put(
    "/api/checkins/{resident}/schedule",
    response_model=ScheduleOut,
    tags=["check-ins"],
    summary="Set the daily check-in: {at, days, via, attempts, retry, policy} as in the site file",
)
def put_schedule(resident: str, body: CheckinIn, hub: Runtime, who: Caller = Depends(configurer)):
    with hub.sessions() as s, s.begin():
        r = _resident(s, resident)
        if body.policy and not site_queries.policy_exists(s, body.policy):
            raise HTTPException(422, f"policy {body.policy!r} is not defined")
        before = schedules.config(r)
        r.checkin = body.model_dump(by_alias=True)
        schedules.configure(s, r, hub.clock.now(), actor=who.name)
        audit.record(
            s,
            actor=who.name,
            role=who.role,
            via="api",
            action="checkin.schedule",
            target=f"resident:{resident}",
            now=hub.clock.now(),
            summary="check-in schedule set",
            before=str(before) if before else None,
            after=str(r.checkin),
        )
        s.flush()
        return _schedule_out(s, r)


@router.delete(
    "/api/checkins/{resident}/schedule",
    response_model=ScheduleOut,
    tags=["check-ins"],
    summary="Stop scheduled check-ins (a pause is usually better)",
)
def delete_schedule(resident: str, hub: Runtime, who: Caller = Depends(configurer)):
    with hub.sessions() as s, s.begin():
        r = _resident(s, resident)
        before = schedules.config(r)
        r.checkin = None
        schedules.configure(s, r, hub.clock.now(), actor=who.name)
        audit.record(
            s,
            actor=who.name,
            role=who.role,
            via="api",
            action="checkin.schedule",
            target=f"resident:{resident}",
            now=hub.clock.now(),
            summary="check-ins stopped",
            before=str(before) if before else None,
        )
        return _schedule_out(s, r)


@router.get("/api/checkins/{resident}/pauses", response_model=list[PauseOut], tags=["check-ins"])
def get_pauses(
    resident: str,
    hub: Runtime,
    removed: bool = Query(False, description="include removed ones"),
    who: Caller = Depends(staff_only),
):
    with hub.sessions() as s:
        return _schedule_out(s, _resident(s, resident), include_removed=removed).pauses


@router.post(
    "/api/checkins/{resident}/pauses",
    response_model=PauseOut,
    status_code=201,
    tags=["check-ins"],
    summary="Pause check-ins (holiday, hospital stay): local dates, inclusive",
)
def add_pause(resident: str, body: PauseIn, hub: Runtime, who: Caller = Depends(configurer)):
    with hub.sessions() as s, s.begin():
        r = _resident(s, resident)
        try:
            p = schedules.add_pause(s, r, body.from_, body.to, body.reason, who.name, hub.clock.now())
        except CheckinError as exc:
            raise HTTPException(422, str(exc)) from None
        audit.record(
            s,
            actor=who.name,
            role=who.role,
            via="api",
            action="checkin.pause",
            target=f"resident:{resident}",
            now=hub.clock.now(),
            summary=f"paused {p.start} to {p.end or 'further notice'}: {p.reason}",
        )
        return _pause_out(p)


@router.delete("/api/checkins/{resident}/pauses/{pause_id}", response_model=PauseOut, tags=["check-ins"])
def remove_pause(resident: str, pause_id: int, hub: Runtime, who: Caller = Depends(configurer)):
    with hub.sessions() as s, s.begin():
        r = _resident(s, resident)
        try:
            p = schedules.remove_pause(s, r, pause_id, who.name, hub.clock.now())
        except CheckinError as exc:
            raise HTTPException(404, str(exc)) from None
        audit.record(
            s,
            actor=who.name,
            role=who.role,
            via="api",
            action="checkin.unpause",
            target=f"resident:{resident}",
            now=hub.clock.now(),
            summary=f"pause {pause_id} removed",
        )
        return _pause_out(p)


# -- wellbeing ------------------------------------------------------------------------------------------
@router.get("/api/wellbeing/drift", response_model=list[DriftOut], tags=["wellbeing"])
def drift_flags(
    hub: Runtime,
    state: str = Query("open", pattern="^(open|all)$"),
    resident: str | None = None,
    who: Caller = Depends(staff_only),
):
    with hub.sessions() as s:
        return [_drift_out(f, r) for f, r in queries.drift_flags(s, open_only=state == "open", resident=resident)]


@router.post(
    "/api/wellbeing/drift/{flag_id}/clear",
    response_model=DriftOut,
    tags=["wellbeing"],
    summary="Someone has looked into it: clear the flag (a new one needs new answers)",
)
def clear_drift(flag_id: int, hub: Runtime, body: ClearIn | None = None, who: Caller = Depends(configurer)):
    with hub.sessions() as s, s.begin():
        f = drift.clear(s, flag_id, who.name, hub.clock.now(), body.note if body else "")
        if f is None:
            raise HTTPException(404, f"drift flag {flag_id} does not exist")
        audit.record(
            s,
            actor=who.name,
            role=who.role,
            via="api",
            action="drift.clear",
            target=f"drift:{flag_id}",
            now=hub.clock.now(),
            summary=body.note if body else "",
        )
        return _drift_out(f, s.get(Resident, f.resident_id))


@router.get(
    "/api/wellbeing/betty",
    response_model=list[BettyOut],
    tags=["wellbeing"],
    summary="Residents who often press the pendant without an emergency (the Betty pattern)",
)
def betty_pattern(
    hub: Runtime,
    days: int = Query(frequent_false_alarms.DAYS, ge=1, le=366),
    at_least: int = Query(frequent_false_alarms.AT_LEAST, ge=1),
    resident: str | None = None,
    who: Caller = Depends(staff_only),
):
    with hub.sessions() as s:
        return frequent_false_alarms.frequent_callers(
            s, hub.clock.now(), days=days, at_least=at_least, resident=resident
        )


@router.get("/api/wellbeing/watch", response_model=list[WatchOut], tags=["wellbeing"])
def watch_states(
    hub: Runtime, home: str | None = None, limit: int = Query(1000, ge=1, le=100000), who: Caller = Depends(staff_only)
):
    with hub.sessions() as s:
        out = []
        for st, d, h in watch_queries.watch_states(s, home=home, limit=limit):
            cfg = watch.watch_config(d) or {}
            out.append(
                WatchOut(
                    home=h,
                    device=d.ext_id,
                    kind=st.kind,
                    watch={k: v for k, v in cfg.items() if k != "kind"},
                    watching_since=st.since_at,
                    in_bed=st.in_bed,
                    out_of_bed_since=st.left_at,
                    last_activity=st.last_ts,
                    next_check=st.due_at,
                    last_raised_at=st.raised_at,
                )
            )
        return out

"""A person's data in the console (issue 12): the subject access download on a resident's page, and
archiving residents and contacts who have left the service. Staff or admin only; every use audited,
with no personal data in the audit entry (the resident's internal number, not their name)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from telecare.audit.service import record
from telecare.checkin import schedule
from telecare.site.models import Contact, Resident
from telecare.subject.export import build
from telecare.subject.find import find

from ..deps import Runtime
from .security import Forbidden, check_csrf, staff_required

router = APIRouter(include_in_schema=False)


@router.post("/console/residents/{ext_id}/export")
async def export(request: Request, hub: Runtime, ext_id: str, user=Depends(staff_required)):
    await check_csrf(request, user)
    with hub.sessions() as s, s.begin():
        r = s.scalars(select(Resident).where(Resident.ext_id == ext_id)).first()
        if r is None:
            raise Forbidden(f"There is no resident {ext_id!r}.", status=404)
        now = hub.clock.now()
        doc = build(s, find(s, resident=ext_id), now)
        record(
            s,
            actor=user.name,
            role=user.role,
            action="person.export",
            target=f"resident:{r.id}",
            summary=f"subject access export of resident #{r.id}",
            now=now,
        )
        rid = r.id
    body = json.dumps(doc, indent=2, ensure_ascii=False, default=str)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="subject-access-resident-{rid}.json"',
            "Cache-Control": "no-store",
        },
    )


def _state(form) -> str:
    state = form.get("state", "left")
    if state not in ("left", "active"):
        raise Forbidden("state must be 'left' or 'active'.", status=422)
    return state


@router.post("/console/residents/{ext_id}/state")
async def resident_state(request: Request, hub: Runtime, ext_id: str, user=Depends(staff_required)):
    await check_csrf(request, user)
    state = _state(await request.form())
    with hub.sessions() as s, s.begin():
        r = s.scalars(select(Resident).where(Resident.ext_id == ext_id)).first()
        if r is None:
            raise Forbidden(f"There is no resident {ext_id!r}.", status=404)
        now = hub.clock.now()
        if r.state != state:
            r.state, r.left_at = state, (now if state == "left" else None)
            s.flush()
            schedule.configure(s, r, now, actor=user.name)  # no check-ins after leaving; back again: as before
            record(
                s,
                actor=user.name,
                role=user.role,
                action=f"resident.{'leave' if state == 'left' else 'return'}",
                target=f"resident:{ext_id}",
                summary=f"resident #{r.id} {'left the service' if state == 'left' else 'is back'}",
                now=now,
            )
    return RedirectResponse(f"/console/residents/{ext_id}?ok=saved", status_code=303)


@router.post("/console/contacts/{ext_id}/state")
async def contact_state(request: Request, hub: Runtime, ext_id: str, user=Depends(staff_required)):
    await check_csrf(request, user)
    state = _state(await request.form())
    with hub.sessions() as s, s.begin():
        c = s.scalars(select(Contact).where(Contact.ext_id == ext_id)).first()
        if c is None:
            raise Forbidden(f"There is no contact {ext_id!r}.", status=404)
        now = hub.clock.now()
        if c.state != state:
            c.state, c.left_at = state, (now if state == "left" else None)
            record(
                s,
                actor=user.name,
                role=user.role,
                action=f"contact.{'leave' if state == 'left' else 'return'}",
                target=f"contact:{ext_id}",
                summary=f"contact #{c.id} {'archived' if state == 'left' else 'back'}",
                now=now,
            )
    return RedirectResponse("/console/contacts", status_code=303)

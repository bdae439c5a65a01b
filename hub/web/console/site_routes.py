"""People and devices, contacts, teams and rotas, policies; editing any of them as a YAML
snippet checked by the site loader; the whole site's YAML export and import."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from telecare.alert.models import Alert
from telecare.audit.service import record
from telecare.escalation.dryrun import alarm_types
from telecare.schedule.rota import on_call
from telecare.schedule.windows import DAYS
from telecare.site.editing import SINGULAR, apply_snippet
from telecare.site.export import KINDS, export_items, export_site
from telecare.site.loader import SiteError, load_site
from telecare.site.models import Contact, Device, Home, Policy, Resident, ResidentContact, RotaShift, Team

from .security import Forbidden, check_csrf, staff_required
from .templating import render
from .uploads import yaml_text

router = APIRouter(include_in_schema=False)
PAGE = 50
LOW_BATTERY = 20

NEW_SNIPPETS = {
    "contacts": 'contacts:\n  - {id: new-contact, name: New Person, phone: "+447700900000", role: family}\n',
    "teams": ('teams:\n  - id: new-team\n    name: New Team\n    rota:\n'
              '      - {contact: CONTACT-ID, days: weekdays, from: "08:00", to: "20:00"}\n'),
    "policies": ('policies:\n  - id: new-policy\n    for: [P2]\n    steps:\n'
                 '      - {notify: [resident.contacts], via: [sms], ack_within: 15m}\n'
                 '      - {notify: [console], via: [console]}\n'),
    "residents": ('residents:\n  - id: new-resident\n    name: New Resident\n    phone: "+447700900000"\n'
                  '    address: 1 Example Street, Ashvale\n    postcode: AV1 1AA\n    contacts: []\n'
                  '    home:\n      id: home-new\n      devices:\n        - {id: pendant-1, kind: pendant}\n'
                  '        - {id: unit-1, kind: home_unit, heartbeat: 15m}\n'),
}
LIST_PAGE = {"contacts": "/console/contacts", "teams": "/console/teams", "policies": "/console/policies",
             "residents": "/console/residents"}


def _hub(request: Request):
    return request.app.state.hub


# -- residents and devices ---------------------------------------------------------------------------------
@router.get("/console/residents")
def residents(request: Request, q: str = "", page: int = 0, user=Depends(staff_required)):
    query = select(Resident).order_by(Resident.name).options(
        selectinload(Resident.homes).selectinload(Home.devices), selectinload(Resident.policy),
        selectinload(Resident.contact_links).joinedload(ResidentContact.contact))
    count = select(func.count()).select_from(Resident)
    if q:
        like = f"%{q.strip()}%"
        cond = or_(Resident.name.ilike(like), Resident.ext_id.ilike(like), Resident.postcode.ilike(like),
                   Resident.address.ilike(like))
        query, count = query.where(cond), count.where(cond)
    with _hub(request).sessions() as s:
        total = s.scalar(count)
        rows = list(s.scalars(query.offset(max(page, 0) * PAGE).limit(PAGE)))
        return render(request, "console/residents.html", {"rows": rows, "q": q, "page": page, "total": total,
                                                           "pages": (total + PAGE - 1) // PAGE})


@router.get("/console/residents/{ext_id}")
def resident(request: Request, ext_id: str, ok: str = "", user=Depends(staff_required)):
    with _hub(request).sessions() as s:
        r = s.scalars(select(Resident).where(Resident.ext_id == ext_id)).first()
        if r is None:
            raise Forbidden(f"There is no resident {ext_id!r}.", status=404)
        homes = list(r.homes)
        devices = [d for h in homes for d in h.devices]
        alerts = list(s.scalars(select(Alert).where(Alert.resident_id == r.id).order_by(Alert.id.desc()).limit(20)))
        return render(request, "console/resident.html", {"r": r, "homes": homes, "devices": devices,
                                                          "alerts": alerts, "ok": ok, "types": alarm_types()})


@router.get("/console/devices")
def devices(request: Request, show: str = "all", q: str = "", page: int = 0, user=Depends(staff_required)):
    query = (select(Device, Home.ext_id, Resident.name, Resident.ext_id).join(Home, Home.id == Device.home_id)
             .outerjoin(Resident, Resident.id == Home.resident_id))
    if show == "offline":
        query = query.where(Device.online.is_(False))
    elif show == "low":
        query = query.where(Device.battery < LOW_BATTERY)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(Home.ext_id.ilike(like), Device.ext_id.ilike(like), Resident.name.ilike(like)))
    with _hub(request).sessions() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery()))
        rows = s.execute(query.order_by(Device.online, Home.ext_id, Device.ext_id)
                         .offset(max(page, 0) * PAGE).limit(PAGE)).all()
        return render(request, "console/devices.html", {"rows": rows, "show": show, "q": q, "page": page,
                                                         "total": total, "pages": (total + PAGE - 1) // PAGE})


# -- contacts, teams, policies ----------------------------------------------------------------------------
@router.get("/console/contacts")
def contacts(request: Request, user=Depends(staff_required)):
    with _hub(request).sessions() as s:
        rows = list(s.scalars(select(Contact).order_by(Contact.name)))
        return render(request, "console/contacts.html", {"rows": rows})


@router.get("/console/teams")
def teams(request: Request, user=Depends(staff_required)):
    hub = _hub(request)
    with hub.sessions() as s:
        rows = list(s.scalars(select(Team).order_by(Team.name).options(
            selectinload(Team.shifts).joinedload(RotaShift.contact))))
        now = hub.clock.now()
        return render(request, "console/teams.html", {"rows": [(t, on_call(t, now)) for t in rows], "days": DAYS})


@router.get("/console/policies")
def policies(request: Request, ok: str = "", user=Depends(staff_required)):
    with _hub(request).sessions() as s:
        rows = list(s.scalars(select(Policy).order_by(Policy.id)))
        return render(request, "console/policies.html", {"rows": rows, "ok": ok})


# -- editing as YAML ----------------------------------------------------------------------------------------
def _edit_page(request: Request, kind: str, ext_id: str | None, text: str, *, problems=None, status: int = 200):
    with _hub(request).sessions() as s:
        residents = list(s.execute(select(Resident.ext_id, Resident.name).join(Home, Home.resident_id == Resident.id)
                                   .order_by(Resident.name).limit(500)).all()) if kind == "policies" else []
    return render(request, "console/edit.html", {
        "kind": kind, "singular": SINGULAR[kind], "ext_id": ext_id, "text": text, "problems": problems or [],
        "list_page": LIST_PAGE[kind], "residents": residents, "types": alarm_types(), "days": DAYS},
        status=status)


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise Forbidden(f"Unknown kind {kind!r}.", status=404)
    return kind


@router.get("/console/edit/{kind}/{ext_id}")
def edit_form(request: Request, kind: str, ext_id: str, user=Depends(staff_required)):
    kind = _kind(kind)
    with _hub(request).sessions() as s:
        text = export_items(s, kind, [ext_id])
    if text.strip() in ("{}", ""):
        raise Forbidden(f"There is no {SINGULAR[kind]} {ext_id!r}.", status=404)
    return _edit_page(request, kind, ext_id, text)


@router.get("/console/add/{kind}")
def add_form(request: Request, kind: str, user=Depends(staff_required)):
    kind = _kind(kind)
    return _edit_page(request, kind, None, NEW_SNIPPETS[kind])


async def _save(request: Request, kind: str, ext_id: str | None, user):
    await check_csrf(request, user)
    form = await request.form()
    text = str(form.get("yaml") or "")
    hub = _hub(request)
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            edit = apply_snippet(s, kind, text, now, ext_id=ext_id, source="form")
            if edit.report.changed:
                record(s, actor=user.name, role=user.role, action=f"{SINGULAR[kind]}.{'edit' if ext_id else 'add'}",
                       target=f"{SINGULAR[kind]}:{','.join(edit.ids)}", summary=edit.report.summary(),
                       before=edit.before or None, after=edit.after, now=now)
    except SiteError as exc:
        return _edit_page(request, kind, ext_id, text, problems=exc.problems, status=422)
    hub.site_changed()
    first = edit.ids[0] if edit.ids else ""
    done = "saved" if edit.report.changed else "unchanged"
    if kind == "residents":
        return RedirectResponse(f"/console/residents/{first}?ok={done}", status_code=303)
    return RedirectResponse(f"{LIST_PAGE[kind]}?ok={done}#{kind}-{first}", status_code=303)


@router.post("/console/edit/{kind}/{ext_id}")
async def edit_save(request: Request, kind: str, ext_id: str, user=Depends(staff_required)):
    return await _save(request, _kind(kind), ext_id, user)


@router.post("/console/add/{kind}")
async def add_save(request: Request, kind: str, user=Depends(staff_required)):
    return await _save(request, _kind(kind), None, user)


# -- the whole site -----------------------------------------------------------------------------------------
@router.get("/console/site")
def site_page(request: Request, ok: str = "", user=Depends(staff_required)):
    return render(request, "console/site.html", {"ok": ok, "problems": [], "text": "", "report": None})


@router.get("/console/site/export.yml")
def site_export(request: Request, user=Depends(staff_required)):
    hub = _hub(request)
    with hub.sessions() as s:
        text = export_site(s)
    stamp = hub.clock.now().strftime("%Y%m%d-%H%M")
    return Response(text, media_type="application/yaml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="linkage-site-{stamp}.yml"'})


@router.post("/console/site/import")
async def site_import(request: Request, user=Depends(staff_required)):
    await check_csrf(request, user)
    text = await yaml_text(await request.form())
    hub = _hub(request)
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            before = export_site(s)
            report = load_site(s, text, now, source="import")
            if report.changed:
                record(s, actor=user.name, role=user.role, action="site.import", target="site",
                       summary=report.summary(), before=before, after=text, now=now)
    except SiteError as exc:
        return render(request, "console/site.html", {"problems": exc.problems, "text": text, "report": None},
                      status=422)
    hub.site_changed()
    return render(request, "console/site.html", {"problems": [], "text": "", "report": report})


__all__ = ["router", "datetime"]

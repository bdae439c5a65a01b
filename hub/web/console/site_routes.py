"""People and devices, contacts, teams and rotas, policies; editing any of them as a YAML
snippet checked by the site loader; the whole site's YAML export and import."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from telecare.alert import queries as alert_queries
from telecare.audit.service import record
from telecare.escalation.dryrun import alarm_types
from telecare.schedule.rota import on_call
from telecare.schedule.windows import DAYS
from telecare.site import queries
from telecare.site.editing import SINGULAR, apply_snippet
from telecare.site.export import KINDS, export_items, export_site
from telecare.site.loader import SiteError, load_site
from telecare.site.redaction import redact_site_yaml

from ..deps import Runtime, runtime
from .security import Forbidden, check_csrf, staff_required
from .templating import render
from .yaml_files import YamlFile, export_response, import_file

router = APIRouter(include_in_schema=False)
PAGE = 50
LOW_BATTERY = 20

NEW_SNIPPETS = {
    "contacts": 'contacts:\n  - {id: new-contact, name: New Person, phone: "+447700900000", role: family}\n',
    "teams": (
        "teams:\n  - id: new-team\n    name: New Team\n    rota:\n"
        '      - {contact: CONTACT-ID, days: weekdays, from: "08:00", to: "20:00"}\n'
    ),
    "policies": (
        "policies:\n  - id: new-policy\n    for: [P2]\n    steps:\n"
        "      - {notify: [resident.contacts], via: [sms], ack_within: 15m}\n"
        "      - {notify: [console], via: [console]}\n"
    ),
    "residents": (
        'residents:\n  - id: new-resident\n    name: New Resident\n    phone: "+447700900000"\n'
        "    address: 1 Example Street, Ashvale\n    postcode: AV1 1AA\n    contacts: []\n"
        "    home:\n      id: home-new\n      devices:\n        - {id: pendant-1, kind: pendant}\n"
        "        - {id: unit-1, kind: home_unit, heartbeat: 15m}\n"
    ),
}
LIST_PAGE = {
    "contacts": "/console/contacts",
    "teams": "/console/teams",
    "policies": "/console/policies",
    "residents": "/console/residents",
}


# -- residents and devices ---------------------------------------------------------------------------------
@router.get("/console/residents")
def residents(request: Request, hub: Runtime, q: str = "", page: int = 0, left: int = 0, user=Depends(staff_required)):
    with hub.sessions() as s:
        total, rows = queries.residents_page(s, search=q, offset=max(page, 0) * PAGE, limit=PAGE, left=bool(left))
        return render(
            request,
            "console/residents.html",
            {"rows": rows, "q": q, "page": page, "total": total, "pages": (total + PAGE - 1) // PAGE, "left": left},
        )


@router.get("/console/residents/{ext_id}")
def resident(request: Request, hub: Runtime, ext_id: str, ok: str = "", user=Depends(staff_required)):
    with hub.sessions() as s:
        r = queries.resident(s, ext_id)
        if r is None:
            raise Forbidden(f"There is no resident {ext_id!r}.", status=404)
        homes = list(r.homes)
        devices = [d for h in homes for d in h.devices]
        alerts = alert_queries.recent_for_resident(s, r.id, limit=20)
        return render(
            request,
            "console/resident.html",
            {"r": r, "homes": homes, "devices": devices, "alerts": alerts, "ok": ok, "types": alarm_types()},
        )


@router.get("/console/devices")
def devices(
    request: Request, hub: Runtime, show: str = "all", q: str = "", page: int = 0, user=Depends(staff_required)
):
    with hub.sessions() as s:
        total, rows = queries.devices_page(
            s, show=show, search=q, low_battery=LOW_BATTERY, offset=max(page, 0) * PAGE, limit=PAGE
        )
        return render(
            request,
            "console/devices.html",
            {"rows": rows, "show": show, "q": q, "page": page, "total": total, "pages": (total + PAGE - 1) // PAGE},
        )


# -- contacts, teams, policies ----------------------------------------------------------------------------
@router.get("/console/contacts")
def contacts(request: Request, hub: Runtime, user=Depends(staff_required)):
    with hub.sessions() as s:
        rows = queries.contacts(s)
        return render(request, "console/contacts.html", {"rows": rows})


@router.get("/console/teams")
def teams(request: Request, hub: Runtime, user=Depends(staff_required)):
    with hub.sessions() as s:
        rows = queries.teams(s)
        now = hub.clock.now()
        return render(request, "console/teams.html", {"rows": [(t, on_call(t, now)) for t in rows], "days": DAYS})


@router.get("/console/policies")
def policies(request: Request, hub: Runtime, ok: str = "", user=Depends(staff_required)):
    with hub.sessions() as s:
        rows = queries.policies(s)
        return render(request, "console/policies.html", {"rows": rows, "ok": ok})


# -- editing as YAML ----------------------------------------------------------------------------------------
def _edit_page(request: Request, kind: str, ext_id: str | None, text: str, *, problems=None, status: int = 200):
    with runtime(request).sessions() as s:
        residents = queries.residents_with_homes(s, limit=500) if kind == "policies" else []
    return render(
        request,
        "console/edit.html",
        {
            "kind": kind,
            "singular": SINGULAR[kind],
            "ext_id": ext_id,
            "text": text,
            "problems": problems or [],
            "list_page": LIST_PAGE[kind],
            "residents": residents,
            "types": alarm_types(),
            "days": DAYS,
        },
        status=status,
    )


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise Forbidden(f"Unknown kind {kind!r}.", status=404)
    return kind


@router.get("/console/edit/{kind}/{ext_id}")
def edit_form(request: Request, hub: Runtime, kind: str, ext_id: str, user=Depends(staff_required)):
    kind = _kind(kind)
    with hub.sessions() as s:
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
    hub = runtime(request)
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            edit = apply_snippet(s, kind, text, now, ext_id=ext_id, source="form")
            if edit.report.changed:
                record(
                    s,
                    actor=user.name,
                    role=user.role,
                    action=f"{SINGULAR[kind]}.{'edit' if ext_id else 'add'}",
                    target=f"{SINGULAR[kind]}:{','.join(edit.ids)}",
                    summary=edit.report.summary(),
                    before=edit.before or None,
                    after=edit.after,
                    now=now,
                )
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


def _site_page(request: Request, *, text: str = "", problems=None, report=None, status: int = 200):
    return render(
        request, "console/site.html", {"problems": problems or [], "text": text, "report": report}, status=status
    )


SITE_FILE = YamlFile(
    name="site",
    export=lambda s, now: export_site(s),
    load=load_site,
    refused=SiteError,
    page=_site_page,
    after_change=lambda hub: hub.site_changed(),
    redact=redact_site_yaml,
)


@router.get("/console/site/export.yml")
def site_export(request: Request, hub: Runtime, user=Depends(staff_required)):
    return export_response(hub, SITE_FILE)


@router.post("/console/site/import")
async def site_import(request: Request, hub: Runtime, user=Depends(staff_required)):
    return await import_file(request, hub, user, SITE_FILE)


__all__ = ["router", "datetime"]

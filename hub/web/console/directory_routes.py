"""The directory of services in the console (issue 6): every service with its areas,
eligibility, introductions and contact details; what the assistant would offer for a need in
a postcode district (telecare.directory.search.match, the assistant's own choice); editing
one service as a YAML snippet or the whole file, checked by the directory loader with the
lines of any problem; YAML export and import. Changes are audited with the YAML before and
after, as for the site."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from telecare.audit.service import record
from telecare.directory import postcode as postcodes
from telecare.directory import queries as directory_queries
from telecare.directory import search
from telecare.directory.categories import NEEDS
from telecare.directory.editing import apply_service_snippet
from telecare.directory.export import export_directory, service_yaml
from telecare.directory.loader import DirectoryError, load_directory
from telecare.directory.models import Service

from ..deps import Runtime, runtime
from .security import Forbidden, check_csrf, staff_required
from .templating import render
from .yaml_files import YamlFile, export_response, import_file

router = APIRouter(include_in_schema=False)

NEW_SERVICE = """\
services:
  - id: new-service
    name: New Service
    description: What it does, in plain words (90 characters at most).
    needs: [other]
    areas: [council]
    phone: "01632 960999"
    web: https://example.org/new-service
    hours: Mon-Fri 9am-5pm
    eligibility: {min_age: 60, residents_only: true}
    introductions: false
"""


# -- the directory --------------------------------------------------------------------------------------------
@router.get("/console/directory")
def directory_page(
    request: Request,
    hub: Runtime,
    need: str = "",
    postcode: str = "",
    age: str = "",
    carer: str = "",
    ok: str = "",
    user=Depends(staff_required),
):
    problems: dict[str, str] = {}
    if need and need not in NEEDS:
        problems["need"] = f"{need!r} is not a need category"
        need = ""
    district = None
    if postcode.strip():
        pc = postcodes.parse(postcode)
        if pc is None:
            problems["postcode"] = f"{postcode!r} is not a UK postcode or postcode district (like AV3 or AV3 1AB)"
        else:
            district = pc.district
    years = None
    if age.strip():
        try:
            years = int(age)
            if not 0 <= years <= 120:
                raise ValueError
        except ValueError:
            problems["age"] = "give an age in years, like 82"
            years = None
    is_carer = True if carer else None
    with hub.sessions() as s:
        council = search.council(s)
        services = search.all_services(s, need=need or None, district=district)
        offers: list[tuple[str, list[Service]]] = []
        if district or need:
            for n in [need] if need else NEEDS:
                offers.append((n, search.match(s, n, district=district, age=years, carer=is_carer)))
        retired = directory_queries.retired(s)
        total = len(search.all_services(s))
    return render(
        request,
        "console/directory.html",
        {
            "services": services,
            "offers": offers,
            "retired": retired,
            "council": council,
            "need": need,
            "postcode": postcode,
            "district": district,
            "age": age,
            "carer": carer,
            "needs": NEEDS,
            "ok": ok,
            "problems": problems,
            "total": total,
            "outside": district is not None and not council.covers(district),
        },
        status=422 if problems else 200,
    )


# -- one service as a snippet ------------------------------------------------------------------------------------
def _edit_page(request: Request, ext_id: str | None, text: str, *, problems=None, status: int = 200):
    return render(
        request,
        "console/directory_edit.html",
        {"ext_id": ext_id, "text": text, "problems": problems or []},
        status=status,
    )


def _known(request: Request, ext_id: str) -> str:
    with runtime(request).sessions() as s:
        text = service_yaml(s, ext_id)
    if text is None:
        raise Forbidden(f"There is no service {ext_id!r} in the directory.", status=404)
    return text


@router.get("/console/directory/services/{ext_id}/edit")
def service_edit_form(request: Request, ext_id: str, user=Depends(staff_required)):
    return _edit_page(request, ext_id, _known(request, ext_id))


@router.get("/console/directory/add")
def service_add_form(request: Request, user=Depends(staff_required)):
    return _edit_page(request, None, NEW_SERVICE)


async def _save(request: Request, ext_id: str | None, user):
    await check_csrf(request, user)
    if ext_id is not None:
        _known(request, ext_id)
    form = await request.form()
    text = str(form.get("yaml") or "")
    hub = runtime(request)
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            edit = apply_service_snippet(s, text, now, ext_id=ext_id, source="form")
            if edit.report.changed:
                record(
                    s,
                    actor=user.name,
                    role=user.role,
                    action=f"service.{'edit' if ext_id else 'add'}",
                    target=f"service:{','.join(edit.ids)}",
                    summary=edit.report.summary(),
                    before=edit.before or None,
                    after=edit.after,
                    now=now,
                )
    except DirectoryError as exc:
        return _edit_page(request, ext_id, text, problems=exc.problems, status=422)
    done = "saved" if edit.report.changed else "unchanged"
    return RedirectResponse(f"/console/directory?ok={done}#svc-{edit.ids[0]}", status_code=303)


@router.post("/console/directory/services/{ext_id}/edit")
async def service_edit_save(request: Request, ext_id: str, user=Depends(staff_required)):
    return await _save(request, ext_id, user)


@router.post("/console/directory/add")
async def service_add_save(request: Request, user=Depends(staff_required)):
    return await _save(request, None, user)


# -- the whole file ---------------------------------------------------------------------------------------------
def _file_page(request: Request, *, text: str = "", problems=None, report=None, status: int = 200):
    return render(
        request,
        "console/directory_file.html",
        {"text": text, "problems": problems or [], "report": report},
        status=status,
    )


@router.get("/console/directory/file")
def directory_file(request: Request, hub: Runtime, edit: str = "", user=Depends(staff_required)):
    text = ""
    if edit:
        with hub.sessions() as s:
            text = export_directory(s, hub.clock.now())
    return _file_page(request, text=text)


DIRECTORY_FILE = YamlFile(
    name="directory", export=export_directory, load=load_directory, refused=DirectoryError, page=_file_page
)


@router.get("/console/directory/export.yml")
def directory_export(request: Request, hub: Runtime, user=Depends(staff_required)):
    return export_response(hub, DIRECTORY_FILE)


@router.post("/console/directory/import")
async def directory_import(request: Request, hub: Runtime, user=Depends(staff_required)):
    return await import_file(request, hub, user, DIRECTORY_FILE)


__all__ = ["router"]

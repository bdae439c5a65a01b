"""The site: devices, settings and the whole site as YAML (as ``linkage load``). Reading is for
staff and admin; so is changing (``configurer``).

- ``GET /api/devices?home=&offline=``  registered devices and their last word
- ``GET /api/settings``, ``PUT /api/settings/{key}``
- ``PUT /api/site``                    load or update the site from YAML
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from telecare.audit import service as audit
from telecare.clock import from_epoch
from telecare.durations import format_duration
from telecare.site import queries
from telecare.site import settings as site_settings
from telecare.site.loader import SiteError, load_site
from telecare.site.redaction import redact_site_yaml

from ..auth import Caller, configurer, staff_only
from ..deps import Runtime
from .schemas.site import DeviceOut, SettingIn

router = APIRouter(tags=["site"])


@router.get("/api/devices", response_model=list[DeviceOut])
def devices(
    hub: Runtime,
    home: str | None = None,
    offline: bool = False,
    limit: int = Query(1000, ge=1, le=100000),
    who: Caller = Depends(staff_only),
):
    with hub.sessions() as s:
        return [
            DeviceOut(
                home=h,
                id=d.ext_id,
                kind=d.kind,
                resident=r,
                online=d.online,
                battery=d.battery,
                last_seen=from_epoch(d.last_seen_epoch) if d.last_seen_epoch else None,
                heartbeat=format_duration(d.heartbeat_s) if d.heartbeat_s else None,
            )
            for d, h, r in queries.devices(s, home=home, offline=offline, limit=limit)
        ]


@router.get("/api/settings")
def get_settings(hub: Runtime, who: Caller = Depends(staff_only)):
    with hub.sessions() as s:
        return {k: site_settings.get(s, k) for k in site_settings.DEFAULTS}


@router.put("/api/settings/{key}")
def put_setting(key: str, body: SettingIn, hub: Runtime, who: Caller = Depends(configurer)):
    try:
        with hub.sessions() as s, s.begin():
            before = site_settings.get(s, key) if key in site_settings.DEFAULTS else None
            value = site_settings.put(s, key, body.value, who.name, hub.clock.now())
            audit.record(
                s,
                actor=who.name,
                role=who.role,
                via="api",
                action="setting.change",
                target=f"setting:{key}",
                before=before,
                after=value,
                now=hub.clock.now(),
            )
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None
    except ValueError as exc:
        raise HTTPException(422, f"value: {exc}") from None
    return {key: value}


@router.put("/api/site", summary="Load or update the site from YAML (as `linkage load`)")
async def put_site(request: Request, hub: Runtime, who: Caller = Depends(configurer)):
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        with hub.sessions() as s, s.begin():
            report = load_site(s, body, hub.clock.now(), source="site")
            audit.record(
                s,
                actor=who.name,
                role=who.role,
                via="api",
                action="site.load",
                target="site",
                summary=report.summary(),
                after=redact_site_yaml(body),
                now=hub.clock.now(),
            )
    except SiteError as exc:
        return JSONResponse(
            {
                "detail": [{"loc": ["body"], "msg": "site refused, nothing was loaded", "type": "value_error"}]
                + [{"loc": ["body", "line", p.line], "msg": p.message, "type": "value_error"} for p in exc.problems],
                "problems": [{"line": p.line, "message": p.message} for p in exc.problems],
            },
            status_code=422,
        )
    hub.site_changed()
    return {"summary": report.summary(), "changed": report.changed}

"""The whole site and the whole directory of services as YAML files: export (a download) and
import (an uploaded file or pasted text), one pair of handlers for both. An import is checked
by its loader and applied in one transaction, audited with the YAML before and after; a
refused file changes nothing and comes back with the lines of its problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from telecare.audit.service import record

from .security import check_csrf


@dataclass(frozen=True)
class YamlFile:
    name: str  # "site" or "directory": the audit action "<name>.import" and the download's file name
    export: Callable[[Any, datetime | None], str]  # (session, now) -> the whole file
    load: Callable[..., Any]  # (session, text, now, source=...) -> a report with .changed and .summary()
    refused: type[Exception]  # what ``load`` raises, with .problems
    page: Callable[..., Response]  # (request, *, text, problems, report, status) -> the import page
    after_change: Callable[[Any], None] | None = None  # (hub) -> None, after a load that committed
    redact: Callable[[str], str | None] = lambda text: text  # what the audit entry keeps of the file (no access notes)


async def yaml_text(form) -> str:
    """YAML that staff send to an import form: an uploaded file, or else the text pasted in the box."""
    upload = form.get("file")
    text = ""
    if upload is not None and hasattr(upload, "read"):
        text = (await upload.read()).decode("utf-8", errors="replace")
    if not text.strip():
        text = str(form.get("yaml") or "")
    return text


def export_response(hub, f: YamlFile) -> Response:
    now = hub.clock.now()
    with hub.sessions() as s:
        text = f.export(s, now)
    return Response(
        text,
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="linkage-{f.name}-{now:%Y%m%d-%H%M}.yml"'},
    )


async def import_file(request: Request, hub, user, f: YamlFile) -> Response:
    await check_csrf(request, user)
    text = await yaml_text(await request.form())
    try:
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            before = f.export(s, None)
            report = f.load(s, text, now, source="import")
            if report.changed:
                record(
                    s,
                    actor=user.name,
                    role=user.role,
                    action=f"{f.name}.import",
                    target=f.name,
                    summary=report.summary(),
                    before=f.redact(before),
                    after=f.redact(text),
                    now=now,
                )
    except f.refused as exc:
        return f.page(request, text=text, problems=exc.problems, report=None, status=422)
    if f.after_change is not None:
        f.after_change(hub)
    return f.page(request, text="", problems=[], report=report, status=200)

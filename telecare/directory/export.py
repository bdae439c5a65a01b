"""The directory of services as YAML, in the shape ``linkage directory load`` reads
(``data/directory/services.yml``, docs/assistant.md "Directory of services").

``export_directory`` writes the whole directory: the council block and every active service,
in the file's order. Loading what was exported changes nothing: every field the loader
writes is written back, and services no longer offered are left out (they are inactive in
the database already, and a file without them keeps them so). ``service_yaml`` writes one
service as a snippet for the console's edit form (``editing.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Council, Service

HEADER = """\
# The directory of services{when}. Load it with `linkage directory load FILE`
# or the console's Directory > Import. The file is the whole directory: a service left
# out stops being offered (it is kept, inactive, because enquiries refer to it).
# Fields: see docs/assistant.md, "Directory of services".
"""


class _FlowList(list[Any]):
    """A list written on one line: [AV1, AV2]."""


class _Flow(dict[str, Any]):
    """A mapping written on one line: {min_age: 60}."""


class _Quoted(str):
    """A string written in double quotes, as phone numbers are in the sample file: "01632 960000"."""


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no type information
    pass


_Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True))
_Dumper.add_representer(_Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"'))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def council_dict(c: Council) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "districts": _FlowList(c.districts or [])}
    if c.helpline:
        out["helpline"] = _Quoted(c.helpline)
    if c.places:
        out["places"] = dict(c.places)
    return out


def service_dict(svc: Service) -> dict[str, Any]:
    """One service as the file writes it: defaults left out, so the snippet stays short."""
    out: dict[str, Any] = {
        "id": svc.ext_id,
        "name": svc.name,
        "description": svc.description,
        "needs": _FlowList(svc.needs or []),
        "areas": _FlowList(svc.areas or []),
    }
    for key in ("phone", "web", "email", "hours"):
        value = getattr(svc, key)
        if value:
            out[key] = _Quoted(value) if key == "phone" else value
    eligibility = _Flow(
        {
            k: v
            for k, v in (("min_age", svc.min_age), ("carers", svc.carers_only), ("residents_only", svc.residents_only))
            if v
        }
    )
    if eligibility:
        out["eligibility"] = eligibility
    if svc.introductions:
        out["introductions"] = True
    if svc.intro_days is not None:
        out["intro_days"] = svc.intro_days
    return out


def dump(data: dict[str, Any]) -> str:
    text: str = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False
    )
    return text


def active_services(session: Session) -> list[Service]:
    return list(session.scalars(select(Service).where(Service.active.is_(True)).order_by(Service.position, Service.id)))


def directory_data(session: Session) -> dict[str, Any]:
    """The directory as the plain data of its file: {council: {...}, services: [...]}."""
    data: dict[str, Any] = {}
    council = session.get(Council, 1)
    if council is not None:
        data["council"] = council_dict(council)
    data["services"] = [service_dict(svc) for svc in active_services(session)]
    return data


def export_directory(session: Session, now: datetime | None = None) -> str:
    """The whole directory file (council and active services, in order)."""
    header = HEADER.format(when=f", exported {now:%Y-%m-%d %H:%M} UTC" if now else "")
    data = directory_data(session)
    parts = [header]
    if "council" in data:
        parts.append(dump({"council": data["council"]}))
    services = dump({"services": data["services"]}) if data["services"] else "services: []\n"
    # a blank line between services, as in the sample file, so a reviewer's diff reads well
    parts.append(services.replace("\n- id: ", "\n\n- id: "))
    return "\n".join(parts)


def service_yaml(session: Session, ext_id: str) -> str | None:
    """One service (active or not) as a snippet ``services: [ ... ]``; None if unknown."""
    svc = session.scalars(select(Service).where(Service.ext_id == ext_id)).first()
    if svc is None:
        return None
    return dump({"services": [service_dict(svc)]})


__all__ = ["export_directory", "service_yaml", "directory_data", "service_dict", "dump"]

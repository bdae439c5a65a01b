"""The site as YAML, in the shape ``linkage load`` reads (DESIGN.md, "Site YAML").

``export_site`` writes the whole site; ``export_items`` one kind and some ids (the console's
edit forms). Loading what was exported changes nothing (tests/test_site_export.py): every
field the loader writes is written back, durations as ``2m``/``1h30m``, day lists as
``daily``/``weekdays``/``weekends`` where they are exactly that.

Access notes (key-safe codes) are written as ``'[access note]'``, which the loader reads as
"keep the note held", unless ``with_secrets`` is asked for (``linkage site export
--with-secrets``); a whole-site export says which in a comment at its top.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from telecare.durations import format_duration
from telecare.storage.secrets import ACCESS_PLACEHOLDER

from .models import Contact, Home, Policy, Resident, ResidentContact, RotaShift, Team
from .schema import DAY_SETS

KINDS = ("contacts", "teams", "policies", "residents")


class _Flow(dict[str, Any]):
    """A mapping written on one line: {id: sue, name: Sue Smith}."""


class _FlowList(list[Any]):
    pass


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no type information
    pass


_Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def _dur(seconds: int | None) -> str | None:
    return None if seconds is None else format_duration(seconds)


def _days(days: Iterable[str] | None) -> str | _FlowList:
    days = list(days or [])
    for name, full in DAY_SETS.items():
        if days == full:
            return name
    return _FlowList(days)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def contact_dict(c: Contact) -> dict[str, Any]:
    return _Flow(
        _clean(
            {
                "id": c.ext_id,
                "name": c.name,
                "phone": c.phone,
                "role": c.role,
                "email": c.email,
                "state": "left" if c.state == "left" else None,
            }
        )
    )


def team_dict(t: Team) -> dict[str, Any]:
    out: dict[str, Any] = {"id": t.ext_id, "name": t.name}
    if t.timezone != "Europe/London":
        out["timezone"] = t.timezone
    out["rota"] = [
        _Flow({"contact": s.contact.ext_id, "days": _days(s.days), "from": s.start, "to": s.end}) for s in t.shifts
    ]
    return out


def step_dict(step: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"notify": _FlowList(step.get("notify") or []), "via": _FlowList(step.get("via") or [])}
    if step.get("ack_within_s") is not None:
        out["ack_within"] = _dur(step["ack_within_s"])
    w = step.get("window")
    if w:
        out["window"] = _Flow({"days": _days(w.get("days")), "from": w.get("from"), "to": w.get("to")})
    return _Flow(out)


def policy_dict(p: Policy) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.ext_id, "for": _FlowList(p.priorities or [])}
    if p.repeat:
        out["repeat"] = p.repeat
    if p.attend_within_s is not None:
        out["attend_within"] = _dur(p.attend_within_s)
    out["steps"] = [step_dict(s) for s in (p.steps or [])]
    return out


_DURATION_KEYS = {"retry", "absence", "heartbeat", "grace", "inactivity"}


def _durations(d: dict[str, Any] | None) -> dict[str, Any] | None:
    if d is None:
        return None
    out: dict[str, Any] = {}
    for k, v in d.items():
        if v is None:
            continue
        if k in _DURATION_KEYS and isinstance(v, int) and not isinstance(v, bool):
            v = format_duration(v)
        elif k == "days" and isinstance(v, list):
            v = _days(v)
        out[k] = v
    return _Flow(out)


def resident_dict(
    r: Resident, policies: dict[int, str], contacts: dict[int, str], with_secrets: bool = False
) -> dict[str, Any]:
    access = r.access if with_secrets or not r.access else ACCESS_PLACEHOLDER
    out = _clean(
        {
            "id": r.ext_id,
            "name": r.name,
            "phone": r.phone,
            "address": r.address,
            "postcode": r.postcode,
            "access": access,
        }
    )
    if r.timezone != "Europe/London":
        out["timezone"] = r.timezone
    out["contacts"] = _FlowList(contacts[link.contact_id] for link in r.contact_links)
    if r.befriender_id:
        out["befriender"] = contacts[r.befriender_id]
    if r.policy_id:
        out["policy"] = policies[r.policy_id]
    if r.homes:
        home = sorted(r.homes, key=lambda h: h.id)[0]
        devices = []
        for d in home.devices:
            dev: dict[str, Any] = {"id": d.ext_id, "kind": d.kind}
            if d.heartbeat_s is not None:
                dev["heartbeat"] = _dur(d.heartbeat_s)
            if d.grace_s is not None:
                dev["grace"] = _dur(d.grace_s)
            if d.watch:
                dev["watch"] = _durations(d.watch)
            devices.append(_Flow(dev))
        out["home"] = {"id": home.ext_id, "devices": devices}
    if r.checkin:
        out["checkin"] = _durations(r.checkin)
    if r.state == "left":
        out["state"] = "left"
    return out


def site_dict(
    session: Session, kinds: Iterable[str] = KINDS, ids: Iterable[str] | None = None, *, with_secrets: bool = False
) -> dict[str, Any]:
    """The site (or the items of ``kinds`` whose id is in ``ids``) as plain data."""
    kinds = list(kinds)
    wanted = set(ids) if ids is not None else None
    out: dict[str, Any] = {}

    def keep(ext: str) -> bool:
        return wanted is None or ext in wanted

    contact_ids = dict(session.execute(select(Contact.id, Contact.ext_id)).all())
    policy_ids = dict(session.execute(select(Policy.id, Policy.ext_id)).all())
    if "contacts" in kinds:
        out["contacts"] = [
            contact_dict(c) for c in session.scalars(select(Contact).order_by(Contact.id)) if keep(c.ext_id)
        ]
    if "teams" in kinds:
        q = select(Team).order_by(Team.id).options(selectinload(Team.shifts).joinedload(RotaShift.contact))
        out["teams"] = [team_dict(t) for t in session.scalars(q) if keep(t.ext_id)]
    if "policies" in kinds:
        out["policies"] = [
            policy_dict(p) for p in session.scalars(select(Policy).order_by(Policy.id)) if keep(p.ext_id)
        ]
    if "residents" in kinds:
        rq = (
            select(Resident)
            .order_by(Resident.id)
            .options(selectinload(Resident.contact_links), selectinload(Resident.homes).selectinload(Home.devices))
        )
        if wanted is not None:
            rq = rq.where(Resident.ext_id.in_(list(wanted)))
        out["residents"] = [resident_dict(r, policy_ids, contact_ids, with_secrets) for r in session.scalars(rq)]
    return {k: v for k, v in out.items() if v or wanted is None}


def dump(data: dict[str, Any]) -> str:
    text: str = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False
    )
    return text


HEADER_REDACTED = (
    "# Linkage site export. Access notes (key-safe codes) are NOT in this file: each is written as\n"
    "# '[access note]', and loading this file keeps the notes already held.\n"
)
HEADER_SECRETS = (
    "# Linkage site export WITH ACCESS NOTES (key-safe codes) in clear (--with-secrets).\n"
    "# Keep this file as you would the keys themselves; delete it when done.\n"
)


def export_site(session: Session, *, with_secrets: bool = False) -> str:
    header = HEADER_SECRETS if with_secrets else HEADER_REDACTED
    return header + dump(site_dict(session, with_secrets=with_secrets))


def export_items(session: Session, kind: str, ids: Iterable[str], *, with_secrets: bool = False) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    return dump(site_dict(session, [kind], ids, with_secrets=with_secrets))


__all__ = ["export_site", "export_items", "site_dict", "dump", "KINDS", "ResidentContact"]

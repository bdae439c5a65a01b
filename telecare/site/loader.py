"""``linkage load site.yml``: validate the whole file, then upsert it in one transaction.

A wrong file is refused whole, naming each bad line and why; nothing is half-loaded. A
second load of the same file changes nothing. Items that are in the database but not in
the file are left as they are (a site may be kept in several files or partly in the console).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare import bus, yamlcheck
from telecare.domain_events import DeviceWatchChanged, ResidentCheckinChanged
from telecare.storage import secrets
from telecare.yamlcheck import Problem, line_for, line_map, validation_problems

from . import settings as site_settings
from .models import Contact, Device, Home, Policy, Resident, ResidentContact, RotaShift, Team
from .redaction import is_placeholder
from .schema import SiteIn

STEP_TARGETS_FIXED = ("resident.contacts", "resident.befriender", "console")


class SiteError(Exception):
    def __init__(self, problems: list[Problem], source: str = "site file"):
        self.problems = problems
        self.source = source
        super().__init__(f"{source} refused, nothing was loaded:\n" + "\n".join(f"  {source} {p}" for p in problems))


@dataclass
class LoadReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(sum(self.created.values()) + sum(self.updated.values()))

    def summary(self) -> str:
        kinds = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        parts = [f"{k}: {self.created[k]} new, {self.updated[k]} updated, {self.unchanged[k]} unchanged" for k in kinds]
        return "; ".join(parts) if parts else "empty site file"


ALIASES = {"from_": "from", "for_": "for"}  # pydantic field names -> the file's keys


def _line_for(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    return line_for(lines, loc, ALIASES)


def parse_site(text: str, source: str = "site file") -> tuple[SiteIn, dict[tuple[Any, ...], int]]:
    try:
        root, data = yamlcheck.read(text)
    except yamlcheck.YamlSyntaxError as exc:
        raise SiteError([exc.problem], source) from None
    if root is None:
        return SiteIn(), {}
    problems: list[Problem] = []
    lines = line_map(root, problems)
    if problems:
        raise SiteError(problems, source)
    if not isinstance(data, dict):
        raise SiteError([Problem(1, "the file must be a mapping with contacts, teams, policies and residents")], source)
    try:
        site = SiteIn.model_validate(data)
    except ValidationError as exc:
        raise SiteError(validation_problems(exc, data, lines, ALIASES), source) from None
    return site, lines


def _check_data_key(site: SiteIn, lines: dict[tuple[Any, ...], int], source: str) -> None:
    """Access notes are stored encrypted (telecare.storage.secrets): without a data key, refuse
    the file rather than store them in clear or lose them."""
    if secrets.keyring() is not None:
        return
    problems = [
        Problem(
            _line_for(lines, ("residents", i, "access")),
            f"resident {r.id}: an access note cannot be stored: LINKAGE_DATA_KEY is not set (access "
            "notes are encrypted with it; `linkage data-key new` makes one)",
        )
        for i, r in enumerate(site.residents)
        if r.access and not is_placeholder(r.access)
    ]
    if problems:
        raise SiteError(problems, source)


# -- references -----------------------------------------------------------------------------
def _check_references(session: Session, site: SiteIn, lines: dict[tuple[Any, ...], int], source: str) -> None:
    problems: list[Problem] = []

    def dupes(kind: str, items: Sequence[Any], key: Callable[[Any], str] = lambda x: x.id) -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            k = key(item)
            if k in seen:
                problems.append(
                    Problem(lines.get((kind, i)), f"{kind}[{i}]: id '{k}' is used twice (also {kind}[{seen[k]}])")
                )
            seen[k] = i

    dupes("contacts", site.contacts)
    dupes("teams", site.teams)
    dupes("policies", site.policies)
    dupes("residents", site.residents)

    contacts = {c.id: c for c in site.contacts}
    db_contacts = set(session.scalars(select(Contact.ext_id)))
    teams = {t.id for t in site.teams} | set(session.scalars(select(Team.ext_id)))
    policies = {p.id for p in site.policies} | set(session.scalars(select(Policy.ext_id)))
    known_contacts = set(contacts) | db_contacts

    def need_contact(cid: str, loc: tuple[Any, ...], what: str) -> None:
        if cid not in known_contacts:
            problems.append(Problem(_line_for(lines, loc), f"{what}: contact '{cid}' is not defined under contacts"))

    for ti, team in enumerate(site.teams):
        for si, shift in enumerate(team.rota):
            need_contact(shift.contact, ("teams", ti, "rota", si, "contact"), f"team {team.id} rota")
    for pi, policy in enumerate(site.policies):
        for si, step in enumerate(policy.steps):
            for target in step.notify:
                loc: tuple[Any, ...] = ("policies", pi, "steps", si, "notify")
                if target in STEP_TARGETS_FIXED:
                    continue
                if target.startswith("team:"):
                    if target[5:] not in teams:
                        problems.append(
                            Problem(
                                _line_for(lines, loc),
                                f"policy {policy.id} step {si + 1}: team '{target[5:]}' is not defined",
                            )
                        )
                    continue
                cid = target[8:] if target.startswith("contact:") else target
                if cid not in known_contacts:
                    problems.append(
                        Problem(
                            _line_for(lines, loc),
                            (
                                f"policy {policy.id} step {si + 1}: '{target}' is neither a contact nor one of "
                                "resident.contacts, resident.befriender, console, team:ID, contact:ID"
                            ),
                        )
                    )
            if "console" in step.via and "console" not in step.notify:
                pass
            if si < len(policy.steps) - 1 and step.ack_within is None:
                problems.append(
                    Problem(
                        _line_for(lines, ("policies", pi, "steps", si)),
                        f"policy {policy.id} step {si + 1}: ack_within is needed on every step but the last",
                    )
                )
    home_ids: dict[str, str] = {}
    home_lines: dict[str, int | None] = {}
    for ri, r in enumerate(site.residents):
        for ci, cid in enumerate(r.contacts):
            need_contact(cid, ("residents", ri, "contacts", ci), f"resident {r.id}")
        if len(set(r.contacts)) != len(r.contacts):
            problems.append(
                Problem(_line_for(lines, ("residents", ri, "contacts")), f"resident {r.id}: a contact is listed twice")
            )
        if r.befriender:
            need_contact(r.befriender, ("residents", ri, "befriender"), f"resident {r.id} befriender")
        for loc, pid in (
            (("residents", ri, "policy"), r.policy),
            (("residents", ri, "checkin", "policy"), r.checkin.policy if r.checkin else None),
        ):
            if pid and pid not in policies:
                problems.append(Problem(_line_for(lines, loc), f"resident {r.id}: policy '{pid}' is not defined"))
        if r.home:
            if r.home.id in home_ids:
                problems.append(
                    Problem(
                        _line_for(lines, ("residents", ri, "home", "id")),
                        f"resident {r.id}: home '{r.home.id}' also belongs to {home_ids[r.home.id]}",
                    )
                )
            home_ids[r.home.id] = r.id
            home_lines[r.home.id] = _line_for(lines, ("residents", ri, "home", "id"))
            seen: set[str] = set()
            for di, d in enumerate(r.home.devices):
                if d.id in seen:
                    problems.append(
                        Problem(
                            _line_for(lines, ("residents", ri, "home", "devices", di)),
                            f"home {r.home.id}: device '{d.id}' is listed twice",
                        )
                    )
                seen.add(d.id)
    # a home already owned by someone else in the database
    if home_ids:
        owners = dict(
            session.execute(
                select(Home.ext_id, Resident.ext_id)
                .join(Resident, Resident.id == Home.resident_id)
                .where(Home.ext_id.in_(list(home_ids)))
            ).all()
        )
        for h, rid in home_ids.items():
            if h in owners and owners[h] != rid:
                problems.append(
                    Problem(home_lines[h], f"home '{h}' already belongs to resident '{owners[h]}', not '{rid}'")
                )
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise SiteError(problems, source)


# -- upsert ----------------------------------------------------------------------------------
def _assign(obj: object, **values: Any) -> bool:
    changed = False
    for k, v in values.items():
        if getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    return changed


def _by_ext(session: Session, model: type[Any]) -> dict[str, Any]:  # Any: load_site's `obj` takes every kind
    return {o.ext_id: o for o in session.scalars(select(model))}


def _set_state(obj: Contact | Resident, state: str, now: datetime) -> bool:
    """``state: left`` archives (``left_at`` is when); back to ``active`` re-admits. True if it changed."""
    if (obj.state or "active") == state:
        return False
    obj.state, obj.left_at = state, (now if state == "left" else None)
    return True


def load_site(session: Session, text: str, now: datetime, source: str = "site file") -> LoadReport:
    """Validate and load. Raises SiteError (nothing written) on any problem. The caller commits."""
    site, lines = parse_site(text, source)
    _check_references(session, site, lines, source)
    _check_data_key(site, lines, source)
    report = LoadReport()

    def count(kind: str, created: bool, changed: bool) -> None:
        (report.created if created else report.updated if changed else report.unchanged)[kind] += 1

    contacts = _by_ext(session, Contact)
    for c in site.contacts:
        obj = contacts.get(c.id)
        created = obj is None
        if obj is None:
            obj = contacts[c.id] = Contact(ext_id=c.id, name=c.name)
            session.add(obj)
        changed = _assign(obj, name=c.name, phone=c.phone, role=c.role, email=c.email)
        count("contacts", created, _set_state(obj, c.state, now) or changed)
    session.flush()

    teams = _by_ext(session, Team)
    for t in site.teams:
        obj = teams.get(t.id)
        created = obj is None
        if obj is None:
            obj = teams[t.id] = Team(ext_id=t.id, name=t.name)
            session.add(obj)
        changed = _assign(obj, name=t.name, timezone=t.timezone)
        want = [(contacts[s.contact].id, s.days, s.from_, s.to) for s in t.rota]
        have = [(s.contact_id, s.days, s.start, s.end) for s in obj.shifts]
        if want != have:
            obj.shifts.clear()
            session.flush()
            for i, (cid, days, start, end) in enumerate(want):
                obj.shifts.append(RotaShift(contact_id=cid, position=i, days=days, start=start, end=end))
            changed = True
        count("teams", created, changed)
    session.flush()

    policies = _by_ext(session, Policy)
    for p in site.policies:
        obj = policies.get(p.id)
        created = obj is None
        if obj is None:
            obj = policies[p.id] = Policy(ext_id=p.id)
            session.add(obj)
        steps = [
            {
                "notify": s.notify,
                "via": s.via,
                "ack_within_s": s.ack_within,
                "window": ({"days": s.window.days, "from": s.window.from_, "to": s.window.to} if s.window else None),
            }
            for s in p.steps
        ]
        count(
            "policies",
            created,
            _assign(obj, priorities=p.for_, repeat=p.repeat, attend_within_s=p.attend_within, steps=steps),
        )
    session.flush()

    residents = _by_ext(session, Resident)
    homes = _by_ext(session, Home)
    watched: list[Device] = []
    for r in site.residents:
        obj = residents.get(r.id)
        created = obj is None
        if obj is None:
            obj = residents[r.id] = Resident(ext_id=r.id, name=r.name)
            session.add(obj)
        befriender = contacts[r.befriender].id if r.befriender else None
        policy = policies[r.policy].id if r.policy else None
        checkin = r.checkin.model_dump(by_alias=True) if r.checkin else None
        checkin_before = None if created else (obj.checkin, obj.timezone)
        # '[access note]' (a redacted export or edit form) keeps the note the resident has
        access = obj.access if is_placeholder(r.access) else r.access
        state_before = None if created else obj.state
        changed = _assign(
            obj,
            name=r.name,
            phone=r.phone,
            address=r.address,
            postcode=r.postcode,
            access=access,
            timezone=r.timezone,
            befriender_id=befriender,
            policy_id=policy,
            checkin=checkin,
        )
        changed = _set_state(obj, r.state, now) or changed
        want = [contacts[c].id for c in r.contacts]
        if [link.contact_id for link in obj.contact_links] != want:
            obj.contact_links.clear()
            session.flush()
            for i, cid in enumerate(want):
                obj.contact_links.append(ResidentContact(contact_id=cid, position=i))
            changed = True
        session.flush()
        if (checkin_before != (obj.checkin, obj.timezone) and (checkin or not created)) or (
            state_before is not None and state_before != obj.state
        ):
            bus.record(session, ResidentCheckinChanged(obj.id, now, source))  # check-ins: when the next is due
        count("residents", created, changed)
        if r.home:
            home = homes.get(r.home.id)
            h_created = home is None
            if home is None:
                home = homes[r.home.id] = Home(ext_id=r.home.id, resident_id=obj.id)
                session.add(home)
                session.flush()
            count("homes", h_created, _assign(home, resident_id=obj.id))
            existing = {d.ext_id: d for d in home.devices}
            for d in r.home.devices:
                dev = existing.get(d.id)
                d_created = dev is None
                if dev is None:
                    dev = Device(
                        home_id=home.id, ext_id=d.id, kind=d.kind, registered_epoch=now.timestamp(), online=True
                    )
                    session.add(dev)
                watch = d.watch.model_dump(by_alias=True, exclude_none=True) if d.watch else None
                watch_before = None if d_created else (dev.watch, dev.kind)
                count(
                    "devices",
                    d_created,
                    _assign(dev, kind=d.kind, heartbeat_s=d.heartbeat, grace_s=d.grace, watch=watch),
                )
                if watch_before != (dev.watch, dev.kind) and (watch is not None or not d_created):
                    watched.append(dev)
    session.flush()
    for dev in watched:  # the wellbeing watch reads the new windows from now on
        bus.record(session, DeviceWatchChanged(dev.id, now))
    if site.retention is not None:  # the periods given; those left out keep what they were
        for key, seconds in site.retention.model_dump().items():
            if seconds is None:
                continue
            name = site_settings.RETENTION_PREFIX + key
            before = site_settings.get(session, name)
            after = site_settings.put(session, name, f"{seconds}s", source, now)
            count("settings", False, before != after)
    return report

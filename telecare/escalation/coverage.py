"""Coverage: the hours of the week where a policy would reach nobody, found before it matters.

For every policy and every kind of resident it serves, the week is cut at each time a rota
shift or a step's window starts or ends, and each piece is checked with the engine's own
rules (``covers`` for windows, ``on_call`` for rotas, a phone number and a phone channel for
people). A piece is

* ``nobody``: no step would reach anyone (the engine would skip every step and declare
  ``no_response`` at once);
* ``console``: only the control-room console would be told, no person's phone;
* ``thin``: some step inside its window would reach nobody (no one on the rota, contacts
  without phones) and is skipped, so escalation leans on the other steps;
* ``ok``: every step inside its window reaches someone.

Residents matter only through what their own contacts and befriender make reachable, so
residents are grouped by that ("profiles") and each profile is worked out once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from telecare.catalog import PRIORITIES
from telecare.schedule.rota import on_call
from telecare.schedule.windows import DAYS, covers
from telecare.site.models import Contact, Policy, Resident, ResidentContact, RotaShift, Team

STATES = ("ok", "thin", "console", "nobody")  # worst last
WEEK = 7 * 1440
REFERENCE_MONDAY = (2026, 1, 5)  # a week with no clock change in Europe


@dataclass(frozen=True)
class Profile:
    contacts: bool  # at least one of the resident's contacts has a phone
    befriender: bool  # the befriender has a phone
    timezone: str = "Europe/London"

    def describe(self) -> str:
        c = "contacts with phones" if self.contacts else "no contact with a phone"
        b = "befriender with a phone" if self.befriender else "no befriender with a phone"
        return f"{c}, {b}"


@dataclass
class Piece:
    start: int  # minute of the week, Monday 00:00 = 0
    end: int
    state: str
    reasons: list[str]

    @property
    def label(self) -> str:
        if self.start == 0 and self.end == WEEK:
            return "all week"
        return f"{minute_label(self.start)} – {minute_label(self.end)}"


@dataclass
class ProfileCoverage:
    profile: Profile
    residents: list[str]  # names (the first few)
    resident_count: int
    pieces: list[Piece]
    hours: list[list[tuple[str, list[str]]]]  # [day][hour] -> (state, reasons)

    def worst(self) -> str:
        return max((p.state for p in self.pieces), key=STATES.index, default="ok")

    def problems(self) -> list[Piece]:
        return [p for p in self.pieces if p.state != "ok"]


@dataclass
class PolicyCoverage:
    policy: str
    priorities: list[str]
    steps: list[str]
    profiles: list[ProfileCoverage]
    used_by: int  # residents

    def worst(self) -> str:
        return max((p.worst() for p in self.profiles), key=STATES.index, default="ok")

    def hours(self) -> list[list[tuple[str, list[str]]]]:
        """The worst state of any profile, per day and hour."""
        grid: list[list[tuple[str, list[str]]]] = [[("ok", []) for _ in range(24)] for _ in range(7)]
        for pc in self.profiles:
            for d in range(7):
                for h in range(24):
                    state, reasons = pc.hours[d][h]
                    if STATES.index(state) > STATES.index(grid[d][h][0]):
                        grid[d][h] = (state, reasons)
        return grid


@dataclass
class CoverageReport:
    policies: list[PolicyCoverage]
    uncovered_priorities: list[str]
    warnings: list[str] = field(default_factory=list)

    def worst(self) -> str:
        return max((p.worst() for p in self.policies), key=STATES.index, default="ok")


def minute_label(m: int) -> str:
    if m >= WEEK:
        return "Mon 00:00"
    d, rest = divmod(m, 1440)
    return f"{DAYS[d].title()} {rest // 60:02d}:{rest % 60:02d}"


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return (int(h) * 60 + int(m)) % 1440


def step_label(i: int, step: dict[str, Any]) -> str:
    via = ", ".join(step.get("via") or [])
    w = step.get("window")
    when = f" ({', '.join(w['days']) if len(w['days']) < 7 else 'daily'} {w['from']}–{w['to']})" if w else ""
    return f"step {i + 1}: {', '.join(step.get('notify') or [])} by {via}{when}"


class _Site:
    def __init__(self, s: Session):
        self.teams = {
            t.ext_id: t
            for t in s.scalars(select(Team).options(selectinload(Team.shifts).joinedload(RotaShift.contact)))
        }
        self.contacts = {c.ext_id: c for c in s.scalars(select(Contact))}


def _step_reach(site: _Site, step: dict[str, Any], when: datetime, profile: Profile) -> tuple[str, list[str]] | None:
    """None if the step is outside its window; else ('people' | 'console' | 'nobody', why not people)."""
    w = step.get("window")
    if w and not covers(w["days"], w["from"], w["to"], when, profile.timezone):
        return None
    phone = any(c in ("voice", "sms") for c in step.get("via") or [])
    people, console, why = 0, False, []
    for target in step.get("notify") or []:
        if target == "console":
            console = True
        elif target == "resident.contacts":
            if profile.contacts and phone:
                people += 1
            else:
                why.append("the resident's contacts have no phone" if phone else "no phone channel for contacts")
        elif target == "resident.befriender":
            if profile.befriender and phone:
                people += 1
            else:
                why.append("no befriender with a phone" if phone else "no phone channel for the befriender")
        elif target.startswith("team:"):
            team = site.teams.get(target[5:])
            members = on_call(team, when) if team else []
            reachable = [m for m in members if m.phone]
            name = team.name if team else target[5:]
            if not members:
                why.append(f"nobody on call in {name}")
            elif not reachable:
                why.append(f"{name}: on-call members have no phone")
            elif not phone:
                why.append(f"{name}: the step has no phone channel")
            else:
                people += 1
        else:
            c = site.contacts.get(target[8:] if target.startswith("contact:") else target)
            if c is None:
                why.append(f"contact {target} no longer exists")
            elif not c.phone:
                why.append(f"{c.name} has no phone number")
            elif not phone:
                why.append(f"{c.name}: the step has no phone channel")
            else:
                people += 1
    return ("people" if people else "console" if console else "nobody"), why


def _state_at(site: _Site, policy: Policy, when: datetime, profile: Profile) -> tuple[str, list[str]]:
    reaches, reasons, thin = [], [], False
    for i, step in enumerate(policy.steps or []):
        r = _step_reach(site, step, when, profile)
        if r is None:
            continue
        kind, why = r
        reaches.append(kind)
        if kind == "nobody" or (kind == "console" and why):
            thin = True
            reasons.append(f"step {i + 1}: {'; '.join(why) or 'nobody reachable'}")
    if not reaches or all(k == "nobody" for k in reaches):
        return "nobody", reasons or ["no step applies at this time"]
    if all(k != "people" for k in reaches):
        return "console", reasons or ["only the control-room console is told"]
    return ("thin" if thin else "ok"), reasons


def _boundaries(site: _Site, policy: Policy) -> list[int]:
    times = {0}
    for step in policy.steps or []:
        w = step.get("window")
        if w:
            times |= {_minutes(w["from"]), _minutes(w["to"])}
        for target in step.get("notify") or []:
            if target.startswith("team:") and target[5:] in site.teams:
                for shift in site.teams[target[5:]].shifts:
                    times |= {_minutes(shift.start), _minutes(shift.end)}
    return sorted(d * 1440 + m for d in range(7) for m in times)


def profile_coverage(site: _Site, policy: Policy, profile: Profile) -> list[Piece]:
    tz = ZoneInfo(profile.timezone)
    monday = datetime(*REFERENCE_MONDAY, tzinfo=tz)
    points = _boundaries(site, policy)
    pieces: list[Piece] = []
    for i, start in enumerate(points):
        end = points[i + 1] if i + 1 < len(points) else WEEK
        when = (monday + timedelta(minutes=start)).astimezone(tz)
        state, reasons = _state_at(site, policy, when, profile)
        if pieces and pieces[-1].state == state and pieces[-1].reasons == reasons:
            pieces[-1].end = end
        else:
            pieces.append(Piece(start, end, state, reasons))
    return pieces


def _hour_grid(pieces: list[Piece]) -> list[list[tuple[str, list[str]]]]:
    grid: list[list[tuple[str, list[str]]]] = [[("ok", []) for _ in range(24)] for _ in range(7)]
    for p in pieces:
        for m in range(p.start - p.start % 60, p.end, 60):
            d, h = divmod(m // 60, 24)
            if d < 7 and STATES.index(p.state) > STATES.index(grid[d][h][0]):
                grid[d][h] = (p.state, p.reasons)
    return grid


def coverage_report(session: Session, *, sample_names: int = 8) -> CoverageReport:
    site = _Site(session)
    policies = list(session.scalars(select(Policy).order_by(Policy.id)))
    first_for = {}
    for prio in PRIORITIES:
        first_for[prio] = next((p for p in policies if prio in (p.priorities or [])), None)
    uncovered = [p for p, pol in first_for.items() if pol is None]

    # residents -> their profile and the policies that would run for them
    users: dict[int, dict[Profile, list[str]]] = defaultdict(lambda: defaultdict(list))
    warnings: list[str] = []
    residents = session.scalars(
        select(Resident)
        .order_by(Resident.id)
        .options(
            selectinload(Resident.contact_links).joinedload(ResidentContact.contact), selectinload(Resident.befriender)
        )
    )
    for r in residents:
        contacts = r.contacts
        profile = Profile(any(c.phone for c in contacts), bool(r.befriender and r.befriender.phone), r.timezone)
        for c in contacts:
            if not c.phone:
                warnings.append(f"{r.name}: contact {c.name} has no phone number")
        if r.befriender and not r.befriender.phone:
            warnings.append(f"{r.name}: befriender {r.befriender.name} has no phone number")
        if r.policy_id:
            applies = {r.policy_id}
        else:
            applies = {p.id for p in first_for.values() if p is not None}
        for pid in applies:
            users[pid][profile].append(r.name)
    for team in site.teams.values():
        for shift in team.shifts:
            if not shift.contact.phone:
                warnings.append(f"{team.name}: {shift.contact.name} is on the rota but has no phone number")

    out = []
    for policy in policies:
        profiles = users.get(policy.id) or {Profile(True, True): []}
        pcs = []
        for profile, names in sorted(profiles.items(), key=lambda kv: -len(kv[1])):
            pieces = profile_coverage(site, policy, profile)
            pcs.append(ProfileCoverage(profile, names[:sample_names], len(names), pieces, _hour_grid(pieces)))
        out.append(
            PolicyCoverage(
                policy.ext_id,
                list(policy.priorities or []),
                [step_label(i, s) for i, s in enumerate(policy.steps or [])],
                pcs,
                sum(len(v) for v in (users.get(policy.id) or {}).values()),
            )
        )
    return CoverageReport(out, uncovered, sorted(set(warnings)))

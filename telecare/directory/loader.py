"""``linkage directory load services.yml``: validate the whole directory file, then load it.

The same technique as the site file (telecare/site/loader.py): PyYAML's node tree gives each
key and value its line (and catches a key written twice, which PyYAML would otherwise drop
silently), pydantic checks each field with ``extra="forbid"`` (a misspelt field is an error),
and the checks that need the whole file follow. Every problem is reported with its line, and
any problem refuses the whole file: nothing is half-loaded.

The file is the whole directory: a service that is no longer in it becomes inactive (kept,
because enquiries and introductions refer to it, but never offered again), and comes back if
it returns to the file. A second load of the same file changes nothing. The file's
``council:`` block (name, postcode districts, helpline number) is the council row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare import yamlcheck
from telecare.yamlcheck import Problem, line_for, line_map, validation_problems

from .models import COUNCIL, NATIONAL, Council, Service
from .schema import DirectoryIn


class DirectoryError(Exception):
    def __init__(self, problems: list[Problem], source: str = "directory file"):
        self.problems = problems
        self.source = source
        super().__init__(f"{source} refused, nothing was loaded:\n" + "\n".join(f"  {source} {p}" for p in problems))


@dataclass
class LoadReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    deactivated: list[str] = field(default_factory=list)  # services no longer in the file

    @property
    def changed(self) -> bool:
        return bool(sum(self.created.values()) + sum(self.updated.values()) + len(self.deactivated))

    def summary(self) -> str:
        kinds = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        parts = [f"{k}: {self.created[k]} new, {self.updated[k]} updated, {self.unchanged[k]} unchanged" for k in kinds]
        if self.deactivated:
            parts.append(f"{len(self.deactivated)} no longer listed, now inactive ({', '.join(self.deactivated)})")
        return "; ".join(parts) if parts else "empty directory file"


def parse_directory(text: str, source: str = "directory file") -> tuple[DirectoryIn, dict[tuple[Any, ...], int]]:
    """The file's content, checked field by field, and the line of every key. Raises DirectoryError."""
    try:
        root, data = yamlcheck.read(text)
    except yamlcheck.YamlSyntaxError as exc:
        raise DirectoryError([exc.problem], source) from None
    if root is None or not isinstance(data, dict):
        raise DirectoryError([Problem(1, "the file must be a mapping with council: and services:")], source)
    problems: list[Problem] = []
    lines = line_map(root, problems)
    if problems:
        raise DirectoryError(problems, source)
    try:
        directory = DirectoryIn.model_validate(data)
    except ValidationError as exc:
        problems = sorted(validation_problems(exc, data, lines), key=lambda p: p.line or 0)
        raise DirectoryError(problems, source) from None
    return directory, lines


def _check(session: Session, d: DirectoryIn, lines: dict[tuple[Any, ...], int], source: str) -> list[str]:
    """Checks across the file (and the council already loaded). Returns the council's districts."""
    problems: list[Problem] = []
    if d.council is not None:
        districts = list(d.council.districts)
        seen_d: set[str] = set()
        for i, code in enumerate(districts):
            if code in seen_d:
                problems.append(
                    Problem(
                        line_for(lines, ("council", "districts", i)), f"council > districts: '{code}' is listed twice"
                    )
                )
            seen_d.add(code)
        for place, code in d.council.places.items():
            if code not in seen_d:
                problems.append(
                    Problem(
                        line_for(lines, ("council", "places", place)),
                        f"council > places > {place}: '{code}' is not one of the council's districts",
                    )
                )
    else:
        row = session.get(Council, 1)
        districts = list(row.districts) if row else []
    if not d.services:
        problems.append(
            Problem(
                line_for(lines, ("services",)),
                "the file lists no services (the file is the whole directory: loading it would retire every service)",
            )
        )
    ids: dict[str, int] = {}
    for i, svc in enumerate(d.services):
        where = f"services[{i}] ({svc.id})"

        def at(*loc: str | int, i: int = i) -> int | None:
            return line_for(lines, ("services", i) + loc)

        if svc.id in ids:
            problems.append(Problem(at("id"), f"{where}: id '{svc.id}' is used twice (also services[{ids[svc.id]}])"))
        ids.setdefault(svc.id, i)
        for j, need in enumerate(svc.needs):
            if need in svc.needs[:j]:
                problems.append(Problem(at("needs", j), f"{where} > needs: '{need}' is listed twice"))
        for j, area in enumerate(svc.areas):
            if area in (COUNCIL, NATIONAL):
                if len(svc.areas) > 1:
                    problems.append(
                        Problem(
                            at("areas", j),
                            f"{where} > areas: '{area}' cannot be combined with other areas (it already covers them)",
                        )
                    )
            elif area.upper() not in districts:
                known = ", ".join(districts) if districts else "none: add a council: block with its districts"
                problems.append(
                    Problem(
                        at("areas", j),
                        f"{where} > areas: '{area}' is not one of the council's "
                        f"postcode districts ({known}), 'council' or 'national'",
                    )
                )
            elif area in svc.areas[:j]:
                problems.append(Problem(at("areas", j), f"{where} > areas: '{area}' is listed twice"))
        if svc.eligibility.residents_only and NATIONAL in svc.areas:
            problems.append(
                Problem(at("eligibility"), f"{where}: a national service cannot be for the council's residents only")
            )
        if not svc.phone and not svc.web:
            problems.append(
                Problem(at(), f"{where}: give a phone number or a web address (people need a way to reach it)")
            )
        if svc.intro_days is not None and not svc.introductions:
            problems.append(
                Problem(
                    at("intro_days"),
                    f"{where}: intro_days is only for a service that accepts introductions (introductions: true)",
                )
            )
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise DirectoryError(problems, source)
    return districts


def _assign(obj: object, **values: Any) -> bool:
    changed = False
    for k, v in values.items():
        if getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    return changed


def load_directory(session: Session, text: str, now: datetime, source: str = "directory file") -> LoadReport:
    """Validate and load. Raises DirectoryError (nothing written) on any problem. The caller commits."""
    d, lines = parse_directory(text, source)
    _check(session, d, lines, source)
    report = LoadReport()

    if d.council is not None:
        row = session.get(Council, 1)
        created = row is None
        if row is None:
            row = Council(id=1, name=d.council.name)
            session.add(row)
        changed = _assign(
            row,
            name=d.council.name,
            districts=list(d.council.districts),
            helpline=d.council.helpline,
            places=dict(d.council.places) or None,
        )
        if created or changed:
            row.updated_at = now
        (report.created if created else report.updated if changed else report.unchanged)["council"] += 1

    existing = {svc.ext_id: svc for svc in session.scalars(select(Service))}
    listed: set[str] = set()
    for position, item in enumerate(d.services):
        listed.add(item.id)
        svc = existing.get(item.id)
        created = svc is None
        if svc is None:
            svc = existing[item.id] = Service(ext_id=item.id, name=item.name)
            session.add(svc)
        changed = _assign(
            svc,
            name=item.name,
            description=item.description,
            needs=list(item.needs),
            areas=[a if a in (COUNCIL, NATIONAL) else a.upper() for a in item.areas],
            phone=item.phone,
            web=item.web,
            email=item.email,
            hours=item.hours,
            min_age=item.eligibility.min_age,
            carers_only=item.eligibility.carers,
            residents_only=item.eligibility.residents_only,
            introductions=item.introductions,
            intro_days=item.intro_days,
            active=item.active,
            position=position,
        )
        if created or changed:
            svc.updated_at = now
        (report.created if created else report.updated if changed else report.unchanged)["services"] += 1
    for ext_id, svc in sorted(existing.items()):
        if ext_id not in listed and svc.active:
            svc.active, svc.updated_at = False, now
            report.deactivated.append(ext_id)
    session.flush()
    return report


__all__ = ["load_directory", "parse_directory", "DirectoryError", "LoadReport", "Problem"]

"""Editing one service of the directory (or adding some) as a YAML snippet, with the same
validation as ``linkage directory load``.

The directory file is the whole directory (a service left out becomes inactive), so a
snippet cannot simply be loaded on its own. Instead:

1. the snippet is checked by the loader's own parser and whole-file checks
   (``parse_directory`` and the checks ``load_directory`` runs), so every problem is named
   with its line in the snippet, and anything wrong refuses it whole;
2. it must hold exactly the service being edited (an id cannot change: enquiries and
   introductions refer to it), or, to add, services the directory does not offer yet;
3. the snippet's services replace (in place, keeping the file's order) or follow the
   current directory's, and that whole file is loaded with ``load_directory``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from telecare.yamlcheck import Problem, line_for

from .export import directory_data, dump, service_yaml
from .loader import DirectoryError, LoadReport, _check, load_directory, parse_directory
from .models import Service


@dataclass
class Edit:
    report: LoadReport
    before: str
    after: str
    ids: list[str]


def _refuse(message: str, line: int | None, source: str) -> NoReturn:
    raise DirectoryError([Problem(line, message)], source)


def apply_service_snippet(
    session: Session, text: str, now: datetime, *, ext_id: str | None = None, source: str = "form"
) -> Edit:
    """Load a snippet ``services: [...]``: exactly ``ext_id`` when given, else new services.
    Raises DirectoryError (nothing written) with the snippet's line numbers."""
    parsed, lines = parse_directory(text, source)
    if parsed.council is not None:
        _refuse(
            "this form edits services only; change the council in the whole directory file",
            line_for(lines, ("council",)),
            source,
        )
    ids = [svc.id for svc in parsed.services]
    if not ids:
        _refuse("nothing to save: write a service under 'services:'", line_for(lines, ("services",)) or 1, source)
    if ext_id is not None and ids != [ext_id]:
        where = line_for(lines, ("services", 0, "id")) if len(ids) == 1 else line_for(lines, ("services",))
        _refuse(
            f"this form edits service '{ext_id}' only (its id cannot change: enquiries refer to it); "
            "to add another, use 'Add a service'",
            where,
            source,
        )
    if ext_id is None:
        active = set(session.scalars(select(Service.ext_id).where(Service.ext_id.in_(ids), Service.active.is_(True))))
        for i, new_id in enumerate(ids):
            if new_id in active:
                _refuse(
                    f"services[{i}] ({new_id}): the directory already has '{new_id}'; edit it instead",
                    line_for(lines, ("services", i, "id")),
                    source,
                )
    _check(session, parsed, lines, source)  # areas, contact details, ids twice: the loader's own checks

    raw = yaml.safe_load(text)["services"]
    before = "".join(service_yaml(session, i) or "" for i in ids)
    data = directory_data(session)
    services = data["services"]
    by_id = {item["id"]: n for n, item in enumerate(services)}
    for item in raw:
        key = str(item["id"])
        if key in by_id:
            services[by_id[key]] = item
        else:
            services.append(item)  # new, or a retired service brought back: at the end of the file
    try:
        report = load_directory(session, dump(data), now, source=source)
    except DirectoryError as exc:  # the snippet was fine alone; the whole file is not (should not happen)
        raise DirectoryError(
            [Problem(None, f"with the rest of the directory: {p.message}") for p in exc.problems], source
        ) from None
    session.flush()
    after = "".join(service_yaml(session, i) or "" for i in ids)
    return Edit(report, before, after, ids)


__all__ = ["apply_service_snippet", "Edit"]

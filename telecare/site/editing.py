"""Editing one item of the site (a policy, a team, a resident...) as a YAML snippet, with the
same validation as ``linkage load``: the snippet is a small site file, so the loader checks
it, names bad lines, and refuses it whole. The snippet must hold the item being edited and
nothing else (a renamed id would quietly make a new item)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import yaml
from sqlalchemy.orm import Session

from telecare.yamlcheck import Problem

from .export import KINDS, export_items
from .loader import LoadReport, SiteError, load_site

SINGULAR = {"contacts": "contact", "teams": "team", "policies": "policy", "residents": "resident"}


@dataclass
class Edit:
    report: LoadReport
    before: str
    after: str
    ids: list[str]


def _shape(text: str, kind: str, ext_id: str | None, source: str) -> list[str]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # the loader reports YAML errors with their line
    if not isinstance(data, dict) or set(data) - {kind}:
        others = ", ".join(sorted(set(data) - {kind})) if isinstance(data, dict) else "something else"
        raise SiteError([Problem(1, f"this form edits {kind} only; it holds {others}")], source)
    items = data.get(kind) or []
    if not isinstance(items, list):
        return []
    ids = [str(i.get("id")) for i in items if isinstance(i, dict)]
    if ext_id is not None and ids != [ext_id]:
        raise SiteError(
            [Problem(2, f"this form edits {SINGULAR[kind]} '{ext_id}' only; to add another, use 'Add'")], source
        )
    if ext_id is None and not ids:
        raise SiteError([Problem(1, f"nothing to add: write one or more {kind} under '{kind}:'")], source)
    return ids


def apply_snippet(
    session: Session, kind: str, text: str, now: datetime, *, ext_id: str | None = None, source: str = "form"
) -> Edit:
    """Load a snippet holding ``kind`` items (exactly ``ext_id`` when given). Raises SiteError."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    ids = _shape(text, kind, ext_id, source)
    before = export_items(session, kind, ids) if ids else ""
    report = load_site(session, text, now, source=source)
    session.flush()
    after = export_items(session, kind, ids)
    return Edit(report, before, after, ids)

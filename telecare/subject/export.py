"""A subject access request: everything held about one person, as one JSON-ready document.

Every row is given whole, as stored (its columns by name), grouped by what it is. The access note
is given as the resident record holds it (the model's ``access``). Nothing is written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from telecare.alert.models import Alert, TimelineEntry
from telecare.checkin.models import Checkin, CheckinAttempt, CheckinPause, DriftFlag
from telecare.consent.models import Consent
from telecare.enquiry.models import CallbackRequest, CheckinRequest, Enquiry, Introduction
from telecare.notification.models import Notification, Reply

from .find import Subject, attempt_notification_ids, find
from .rows import row_dict

FORMAT = "linkage-subject-access/1"


def _rows(s: Session, q: Any) -> list[dict[str, Any]]:
    return [row_dict(r) for r in s.scalars(q)]


def export(s: Session, *, resident: str | None = None, phone: str | None = None, now: datetime) -> dict[str, Any]:
    sub = find(s, resident=resident, phone=phone)
    return build(s, sub, now)


def build(s: Session, sub: Subject, now: datetime) -> dict[str, Any]:
    rids, phones = sub.resident_ids, sorted(sub.phones)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "made_at": now.isoformat(),
        "asked_for": {"residents": [r.ext_id for r in sub.residents], "phones": phones},
    }
    residents = []
    for r in sub.residents:
        rec = row_dict(r)
        rec["access"] = r.access  # as the model gives it
        rec["contacts"] = [dict(row_dict(c), position=i) for i, c in enumerate(r.contacts)]
        rec["befriender"] = row_dict(r.befriender) if r.befriender else None
        rec["homes"] = [dict(row_dict(h), devices=[row_dict(d) for d in h.devices]) for h in r.homes]
        residents.append(rec)
    doc["residents"] = residents
    doc["as_contact"] = [row_dict(c) for c in sub.contacts]

    alerts = []
    for a in s.scalars(select(Alert).where(Alert.id.in_(sub.alert_ids)).order_by(Alert.id)) if sub.alert_ids else ():
        rec = row_dict(a)
        rec["timeline"] = _rows(
            s, select(TimelineEntry).where(TimelineEntry.alert_id == a.id).order_by(TimelineEntry.id)
        )
        alerts.append(rec)
    doc["alerts"] = alerts

    checkins = []
    for c in (
        s.scalars(select(Checkin).where(Checkin.id.in_(sub.checkin_ids)).order_by(Checkin.id))
        if sub.checkin_ids
        else ()
    ):
        rec = row_dict(c)
        rec["attempts"] = _rows(
            s, select(CheckinAttempt).where(CheckinAttempt.checkin_id == c.id).order_by(CheckinAttempt.number)
        )
        checkins.append(rec)
    doc["checkins"] = checkins
    doc["checkin_pauses"] = _rows(s, select(CheckinPause).where(CheckinPause.resident_id.in_(rids))) if rids else []
    doc["drift_flags"] = (
        _rows(s, select(DriftFlag).where(DriftFlag.resident_id.in_(rids)).order_by(DriftFlag.id)) if rids else []
    )

    n_conds: list[Any] = []
    if phones:
        n_conds.append(Notification.to.in_(phones))
    if sub.alert_ids:
        n_conds.append(Notification.alert_id.in_(sub.alert_ids))
    n_ids = attempt_notification_ids(s, sub.checkin_ids)
    if n_ids:
        n_conds.append(Notification.id.in_(n_ids))
    doc["notifications"] = (
        _rows(s, select(Notification).where(or_(*n_conds)).order_by(Notification.id)) if n_conds else []
    )
    doc["replies"] = _rows(s, select(Reply).where(Reply.from_.in_(phones)).order_by(Reply.id)) if phones else []

    e_ids = sub.enquiry_ids
    doc["enquiries"] = _rows(s, select(Enquiry).where(Enquiry.id.in_(e_ids)).order_by(Enquiry.id)) if e_ids else []
    for name, model in (
        ("introductions", Introduction),
        ("callbacks", CallbackRequest),
        ("checkin_requests", CheckinRequest),
    ):
        conds: list[Any] = []
        if e_ids:
            conds.append(model.enquiry_id.in_(e_ids))
        if phones:
            conds.append(model.phone.in_(phones))
        if rids and hasattr(model, "resident_id"):
            conds.append(model.resident_id.in_(rids))
        doc[name] = _rows(s, select(model).where(or_(*conds)).order_by(model.id)) if conds else []
    c_conds: list[Any] = []
    if phones:
        c_conds.append(Consent.phone.in_(phones))
    if e_ids:
        c_conds.append(Consent.enquiry_id.in_(e_ids))
    if rids:
        c_conds.append(Consent.resident_id.in_(rids))
    doc["consents"] = _rows(s, select(Consent).where(or_(*c_conds)).order_by(Consent.id)) if c_conds else []
    # what they said to the assistant, as the hub holds it: the first message of each conversation (the
    # assistant's own tracker lives in the Rasa server's memory and is not part of the hub's records)
    doc["conversations"] = [
        {
            "enquiry": e["id"],
            "channel": e["channel"],
            "started_at": e["started_at"],
            "first_message": e["first_message"],
        }
        for e in doc["enquiries"]
    ]
    doc["counts"] = {k: len(v) for k, v in doc.items() if isinstance(v, list)}
    return doc

"""Read models for notifications: every outbound message or call, as the API lists them.
A responder's list is narrowed by a clause from telecare.auth.scope that the caller passes
(``visible=``), and bodies are redacted by the caller (``scope.notification_body``), since both
depend on who reads them; so this module does not import auth (which imports notification)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from telecare.notification.models import Notification, Reply
from telecare.site.models import Contact


def notifications(
    s: Session,
    *,
    alert: int | None = None,
    to: str | None = None,
    visible: ColumnElement[bool] | None = None,
    limit: int = 500,
) -> list[tuple[Notification, str | None]]:
    """(notification, the contact's outside id) in the order they were made; ``visible``: a WHERE
    clause on Notification that narrows the list (a responder's own messages)."""
    q = (
        select(Notification, Contact.ext_id)
        .outerjoin(Contact, Contact.id == Notification.contact_id)
        .order_by(Notification.id)
        .limit(limit)
    )
    if alert is not None:
        q = q.where(Notification.alert_id == alert)
    if to:
        q = q.where(Notification.to == to)
    if visible is not None:
        q = q.where(visible)
    return [(n, c) for n, c in s.execute(q).all()]


def statuses(s: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Notification id -> delivery status, for the ids given (None skipped)."""
    ids = [i for i in ids if i]
    if not ids:
        return {}
    return dict(s.execute(select(Notification.id, Notification.status).where(Notification.id.in_(ids))).all())


def with_contact_names(
    s: Session, *, alert: int | None = None, to: str | None = None, newest_first: bool = False, limit: int | None = None
) -> list[tuple[Notification, str | None]]:
    """(notification, the contact's name), for the console's lists and an alert's page."""
    q = select(Notification, Contact.name).outerjoin(Contact, Contact.id == Notification.contact_id)
    q = q.order_by(Notification.id.desc() if newest_first else Notification.id)
    if limit is not None:
        q = q.limit(limit)
    if alert is not None:
        q = q.where(Notification.alert_id == alert)
    if to:
        q = q.where(Notification.to == to)
    return [(n, c) for n, c in s.execute(q).all()]


def phones(s: Session) -> list[tuple[str, int, int]]:
    """(phone, messages sent to it, the last one's id) for every number messaged, latest first (the sandbox)."""
    return [
        (to, n, last)
        for to, n, last in s.execute(
            select(Notification.to, func.count(), func.max(Notification.id))
            .where(Notification.to != "console")
            .group_by(Notification.to)
            .order_by(func.max(Notification.id).desc())
        ).all()
    ]


def contact_names_by_phone(s: Session) -> dict[str, str]:
    return {
        phone: name
        for phone, name in s.execute(select(Contact.phone, Contact.name).where(Contact.phone.is_not(None))).all()
        if phone is not None
    }


def contact_name(s: Session, phone: str) -> str | None:
    return s.scalar(select(Contact.name).where(Contact.phone == phone))


def sent_to(s: Session, phone: str) -> list[Notification]:
    return list(s.scalars(select(Notification).where(Notification.to == phone).order_by(Notification.id)))


def replies_from(s: Session, phone: str) -> list[Reply]:
    return list(s.scalars(select(Reply).where(Reply.from_ == phone).order_by(Reply.id)))

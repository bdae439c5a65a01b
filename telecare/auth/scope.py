"""What a responder may see: the alerts they were asked to take, their own notifications, and an
access note only if they are the contact who accepted.

"Asked to take" means a notification for that alert went to their contact record. The
escalation engine (telecare.escalation.engine) writes one Notification per member it tries,
team steps included (every on-call member of the team at that moment gets one, with their
contact id), so a notification row is the whole proof: no display names, no phone numbers.

Access notes (the resident's ``access`` text, e.g. a key-safe code) go out in the acceptor's
"access" SMS (telecare.wording.sms.access_sms), but the stored body carries
``[access note]`` (the dispatcher puts the note in as it sends). Every body shown by the API or
the console goes through ``notification_body``: the contact the access message was sent to
reads it with the note (the resident's current one, decrypted); anyone else (staff and admins
too) sees ``[access note]``, and ``redact`` also covers older bodies and timelines. Staff
still see the resident's access field where it is configured.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from telecare.alert.models import Alert
from telecare.alert.states import ACKNOWLEDGED, ATTENDING
from telecare.notification.models import Notification
from telecare.site.models import Contact, Resident
from telecare.storage.secrets import ACCESS_PLACEHOLDER

REDACTED = ACCESS_PLACEHOLDER
# the access part of wording.sms.access_sms, whatever the resident's access text was at the time
_ACCESS_PART = re.compile(r"(Access: )(.*?)(\. Please go now\.)", re.DOTALL)


def offered_ids(contact_id: int) -> Select[int | None]:
    """A subquery of the ids of the alerts ``contact_id`` was notified about."""
    return select(Notification.alert_id).where(
        Notification.contact_id == contact_id, Notification.alert_id.is_not(None)
    )


def in_scope(contact_id: int | None) -> ColumnElement[bool]:
    """A WHERE clause on Alert: the alerts this contact was asked to take, or accepted."""
    if contact_id is None:
        return Alert.id.is_(None)  # nothing
    return or_(Alert.id.in_(offered_ids(contact_id)), Alert.acknowledged_contact_id == contact_id)


def may_see(s: Session, contact_id: int | None, alert_id: int) -> bool:
    if contact_id is None:
        return False
    return bool(s.scalar(select(exists().where(Alert.id == alert_id, in_scope(contact_id)))))


def accepted_by(alert: Alert, contact_id: int | None) -> bool:
    """Is ``contact_id`` the contact who has this alert now (and so may read its access notes)?"""
    return (
        contact_id is not None
        and alert.acknowledged_contact_id == contact_id
        and alert.state in (ACKNOWLEDGED, ATTENDING)
    )


def own_notifications(s: Session, contact_id: int | None) -> ColumnElement[bool]:
    """A WHERE clause on Notification: the messages sent to this contact (and answers sent to their phone)."""
    if contact_id is None:
        return Notification.id.is_(None)
    phone = s.scalar(select(Contact.phone).where(Contact.id == contact_id))
    cond = Notification.contact_id == contact_id
    if phone:
        cond = or_(
            cond, and_(Notification.contact_id.is_(None), Notification.purpose == "reply", Notification.to == phone)
        )
    return cond


def access_texts(s: Session, alert_ids: Iterable[int | None]) -> dict[int, str]:
    """alert id -> its resident's current access text (for redaction)."""
    ids = {a for a in alert_ids if a is not None}
    if not ids:
        return {}
    rows = s.execute(
        select(Alert.id, Resident.access)
        .join(Resident, Resident.id == Alert.resident_id)
        .where(Alert.id.in_(ids), Resident.access.is_not(None))
    ).all()
    return {a: acc for a, acc in rows if acc and acc.strip()}


def redact(text: str | None, access: str | None) -> str | None:
    """``text`` with the access note replaced by ``[access note]``."""
    if not text:
        return text
    if access and access.strip() and access in text:
        text = text.replace(access, REDACTED)
    return _ACCESS_PART.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)


def may_read_access(n: Notification, viewer_contact_id: int | None) -> bool:
    """Only the contact an access message was sent to reads it in full."""
    return viewer_contact_id is not None and n.contact_id == viewer_contact_id


def notification_body(n: Notification, viewer_contact_id: int | None, access: str | None) -> str:
    if may_read_access(n, viewer_contact_id):
        return n.body.replace(REDACTED, access) if n.purpose == "access" and access else n.body
    return redact(n.body, access) or ""


__all__ = [
    "REDACTED",
    "offered_ids",
    "in_scope",
    "may_see",
    "accepted_by",
    "own_notifications",
    "access_texts",
    "redact",
    "may_read_access",
    "notification_body",
]

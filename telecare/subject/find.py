"""Who a subject access or erasure request is about, and every row that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from telecare.alert.models import Alert
from telecare.checkin.models import Checkin, CheckinAttempt
from telecare.consent.models import Consent
from telecare.enquiry.models import CallbackRequest, CheckinRequest, Enquiry, Introduction
from telecare.notification.models import Notification, Reply
from telecare.site.models import Contact, Resident


class SubjectError(Exception):
    """The request cannot be done as asked (unknown resident, no such number, an active alert)."""


def normalise_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    p = "".join(phone.split()).replace("-", "")
    if p.startswith("00"):
        p = "+" + p[2:]
    elif p.startswith("0"):
        p = "+44" + p[1:]
    return p


def national(phone: str) -> str | None:
    """+447700900001 -> 07700900001 (how people write it in free text)."""
    return "0" + phone[3:] if phone.startswith("+44") else None


@dataclass
class Subject:
    residents: list[Resident] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)  # the person as a contact (by --phone)
    phones: set[str] = field(default_factory=set)
    enquiry_ids: list[int] = field(default_factory=list)
    alert_ids: list[int] = field(default_factory=list)
    checkin_ids: list[int] = field(default_factory=list)

    @property
    def resident_ids(self) -> list[int]:
        return [r.id for r in self.residents]

    @property
    def empty(self) -> bool:
        return not (self.residents or self.contacts or self.enquiry_ids)

    def phones_found(self, s: Session) -> bool:
        """Is the number anywhere at all (a notification, a reply, an introduction, a consent)?"""
        phones = sorted(self.phones)
        if not phones:
            return False
        cols = (
            Notification.to,
            Reply.from_,
            Introduction.phone,
            CallbackRequest.phone,
            CheckinRequest.phone,
            Consent.phone,
        )
        return any(s.scalar(select(col).where(col.in_(phones)).limit(1)) is not None for col in cols)


def find(s: Session, *, resident: str | None = None, phone: str | None = None) -> Subject:
    """``resident``: a resident's id from the site file; ``phone``: anyone using that number (a resident, a
    contact, someone who talked to the helpline). Exactly one of the two."""
    if bool(resident) == bool(phone):
        raise SubjectError("give either a resident id or a phone number")
    sub = Subject()
    if resident:
        r = s.scalars(select(Resident).where(Resident.ext_id == resident)).first()
        if r is None:
            raise SubjectError(f"there is no resident {resident!r}")
        sub.residents.append(r)
        if r.phone:
            sub.phones.add(r.phone)
    else:
        p = normalise_phone(phone)
        if not p or not p.startswith("+") or not p[1:].isdigit() or len(p) > 16:
            raise SubjectError("the phone number must look like +447700900001 (or 07700 900001)")
        sub.phones.add(p)
        sub.residents = list(s.scalars(select(Resident).where(Resident.phone == p).order_by(Resident.id)))
        sub.contacts = list(s.scalars(select(Contact).where(Contact.phone == p).order_by(Contact.id)))
    rids, phones = sub.resident_ids, sorted(sub.phones)
    conds = []
    if rids:
        conds.append(Enquiry.resident_id.in_(rids))
    if phones:
        conds.append(Enquiry.phone.in_(phones))
    if conds:
        sub.enquiry_ids = list(s.scalars(select(Enquiry.id).where(or_(*conds)).order_by(Enquiry.id)))
    if phones:  # enquiries that introduced this number, or asked a call back to it (on their behalf included)
        more = s.scalars(
            select(Introduction.enquiry_id).where(Introduction.phone.in_(phones), Introduction.enquiry_id.is_not(None))
        )
        more2 = s.scalars(
            select(CallbackRequest.enquiry_id).where(
                CallbackRequest.phone.in_(phones), CallbackRequest.enquiry_id.is_not(None)
            )
        )
        more3 = s.scalars(
            select(CheckinRequest.enquiry_id).where(
                CheckinRequest.phone.in_(phones), CheckinRequest.enquiry_id.is_not(None)
            )
        )
        sub.enquiry_ids = sorted({i for i in (*sub.enquiry_ids, *more, *more2, *more3) if i is not None})
    if rids:
        sub.alert_ids = list(s.scalars(select(Alert.id).where(Alert.resident_id.in_(rids)).order_by(Alert.id)))
        sub.checkin_ids = list(s.scalars(select(Checkin.id).where(Checkin.resident_id.in_(rids)).order_by(Checkin.id)))
    if sub.empty and not sub.phones_found(s):
        raise SubjectError("nothing is held about that person")
    return sub


def attempt_notification_ids(s: Session, checkin_ids: list[int]) -> list[int]:
    if not checkin_ids:
        return []
    return [
        n
        for n in s.scalars(select(CheckinAttempt.notification_id).where(CheckinAttempt.checkin_id.in_(checkin_ids)))
        if n is not None
    ]

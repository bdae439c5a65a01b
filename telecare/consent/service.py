"""Recording consent and its withdrawal. Every function works in the caller's transaction.

* ``give`` records what was agreed (an introduction's question, word for word).
* ``is_stop`` recognises a withdrawal: the whole message is STOP, "stop contacting me",
  "unsubscribe", "stop texting me", "stopall", "opt out", any case. Not CANCEL, END or QUIT, which
  Twilio also treats as opt-out words on a real account: here a responder's "cancel" is about an alert.
* ``withdraw`` marks everything given by that number withdrawn and keeps the STOP itself as
  a record (``MESSAGES``), so ``opted_out`` holds even for a number that never agreed to
  anything (a family contact paged about an alert).
* ``opted_out`` / ``opted_out_of`` answer "may we text or page this number?".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .models import MESSAGES, Consent

_STOP = re.compile(
    r"\s*(stop|stop ?all|unsubscribe|opt ?out|"
    r"stop (contacting|texting|messaging|calling|phoning|ringing) me|please stop( contacting me| texting me)?)"
    r"\s*[.!]*\s*",
    re.IGNORECASE,
)


def is_stop(body: str | None) -> bool:
    """The whole message asks us to stop (not "stop" inside a sentence: "I can't stop coughing")."""
    return bool(body) and len(body or "") <= 60 and _STOP.fullmatch(body or "") is not None


def _phone(phone: str | None) -> str | None:
    return "".join(phone.split()) if phone else None


def give(
    s: Session,
    *,
    service: str,
    wording: str | None,
    by: str,
    channel: str | None,
    now: datetime,
    phone: str | None = None,
    enquiry_id: int | None = None,
    resident_id: int | None = None,
    contact_id: int | None = None,
) -> Consent:
    if by not in ("enquiry", "resident", "contact", "phone"):
        raise ValueError(f"by must be enquiry, resident, contact or phone, not {by!r}")
    c = Consent(
        service=service,
        wording=wording,
        by=by,
        channel=channel,
        given_at=now,
        created_at=now,
        phone=_phone(phone),
        enquiry_id=enquiry_id,
        resident_id=resident_id,
        contact_id=contact_id,
    )
    s.add(c)
    return c


def opted_out(s: Session, phone: str | None) -> bool:
    phone = _phone(phone)
    if not phone:
        return False
    return (
        s.scalar(
            select(Consent.id)
            .where(Consent.phone == phone, Consent.service == MESSAGES, Consent.withdrawn_at.is_not(None))
            .limit(1)
        )
        is not None
    )


def opted_out_of(s: Session, phones: Iterable[str | None]) -> set[str]:
    """The numbers among ``phones`` that replied STOP (one query)."""
    wanted = {p for p in (_phone(x) for x in phones) if p}
    if not wanted:
        return set()
    return set(
        s.scalars(
            select(Consent.phone).where(
                Consent.phone.in_(wanted), Consent.service == MESSAGES, Consent.withdrawn_at.is_not(None)
            )
        )
    )


def withdraw(s: Session, *, phone: str, now: datetime, via: str = "sms", words: str | None = None) -> tuple[bool, int]:
    """Withdraw everything ``phone`` agreed to. Returns (first time, how many consents were withdrawn).

    A second STOP changes nothing and is not a new record."""
    phone = _phone(phone) or ""
    if not phone:
        raise ValueError("a withdrawal needs the phone number it came from")
    already = opted_out(s, phone)
    rows = list(s.scalars(select(Consent).where(Consent.phone == phone, Consent.withdrawn_at.is_(None))))
    for c in rows:
        c.withdrawn_at, c.withdrawn_via, c.withdrawn_words = now, via, (words or "").strip()[:40] or None
    if not already:
        s.add(
            Consent(
                service=MESSAGES,
                wording=None,
                by="phone",
                channel=via,
                phone=phone,
                given_at=None,
                withdrawn_at=now,
                withdrawn_via=via,
                withdrawn_words=(words or "").strip()[:40] or None,
                created_at=now,
            )
        )
    s.flush()
    return not already, len(rows)


def history(s: Session, *, enquiry_id: int | None = None, phone: str | None = None) -> list[Consent]:
    """Consent given in an enquiry, and anything given or withdrawn by its number, oldest first."""
    conds = []
    if enquiry_id is not None:
        conds.append(Consent.enquiry_id == enquiry_id)
    if _phone(phone):
        conds.append(Consent.phone == _phone(phone))
    if not conds:
        return []
    return list(s.scalars(select(Consent).where(or_(*conds)).order_by(Consent.created_at, Consent.id)))


__all__ = ["give", "is_stop", "opted_out", "opted_out_of", "withdraw", "history", "MESSAGES", "Consent"]

"""An erasure request: remove or irreversibly anonymise one person everywhere, keeping the rows.

Rows stay (an alert, a check-in, an enquiry still counts: the dashboard's figures do not move);
what identifies the person goes:

* the resident (or contact) record: name "erased", numbers, address, postcode, access note and email
  emptied, their site id replaced by ``erased-<n>``, archived (``state = left``);
* numbers kept as a key elsewhere (a notification's ``to``, a reply's ``from``, an introduction's or
  a consent's phone) become ``erased-<salted hash>``: the salt is random for each erasure and never
  stored, so the hash cannot be reversed or matched to the number again, while the rows of one
  erasure still match each other;
* free text about them is blanked: message bodies, replies, answers given on check-ins, drift notes,
  pause reasons, the helpline's first message and conversation id, call-back details;
* then every text column of every table (the audit trail's before/after copies of the site file,
  alert timelines, the outbox) is swept for the full name, the numbers (+44 and 0 forms), the
  address and the access note, which are replaced by ``[erased]``. Raw device events are not
  swept: they hold no words from or about a person.

Refused while one of their alerts is open or acknowledged (someone may be on the way). The
assistant's own memory of their conversations (Rasa's tracker) is outside the database: the hub
gives back the conversation ids (``Erasure.conversation_ids``) for the caller to clear.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Table, Text, cast, delete, or_, select, update
from sqlalchemy.orm import Session

from telecare.alert.models import Alert, TimelineEntry
from telecare.alert.states import ACKNOWLEDGED, OPEN
from telecare.checkin import schedule
from telecare.checkin.models import Checkin, CheckinPause, DriftFlag
from telecare.consent.models import Consent
from telecare.enquiry.models import CallbackRequest, CheckinRequest, Enquiry, Introduction
from telecare.notification.models import Notification, Reply
from telecare.site.models import Resident, ResidentContact
from telecare.storage.base import Base

from .find import Subject, SubjectError, attempt_notification_ids, find, national

log = logging.getLogger("linkage.subject")

ERASED = "erased"
MARK = "[erased]"
BLOCKING_STATES = (OPEN, ACKNOWLEDGED)
NOT_SWEPT = ("events",)  # device readings: no words from or about a person, and by far the largest table


@dataclass
class Erasure:
    residents: int = 0
    contacts: int = 0
    conversation_ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows changed

    def add(self, table: str, n: int) -> None:
        if n:
            self.rows[table] = self.rows.get(table, 0) + n


def check(s: Session, sub: Subject) -> None:
    """Refuse while an alert of theirs is open or acknowledged."""
    conds: list[Any] = []
    if sub.resident_ids:
        conds.append(Alert.resident_id.in_(sub.resident_ids))
    if sub.contacts:
        conds.append(Alert.acknowledged_contact_id.in_([c.id for c in sub.contacts]))
    if not conds:
        return
    active = list(s.scalars(select(Alert.id).where(or_(*conds), Alert.state.in_(BLOCKING_STATES)).order_by(Alert.id)))
    if active:
        raise SubjectError(
            f"refused: alert {', '.join(map(str, active))} is still "
            f"{'open or acknowledged' if len(active) > 1 else 'active'}; resolve or cancel it first"
        )


def conversation_ids(s: Session, sub: Subject) -> list[str]:
    if not sub.enquiry_ids:
        return []
    return sorted({c for c in s.scalars(select(Enquiry.conversation_id).where(Enquiry.id.in_(sub.enquiry_ids))) if c})


def erase(s: Session, *, resident: str | None = None, phone: str | None = None, now: datetime) -> Erasure:
    """Erase in the caller's transaction (commit it to make it so)."""
    sub = find(s, resident=resident, phone=phone)
    check(s, sub)
    out = Erasure(conversation_ids=conversation_ids(s, sub))
    salt = secrets.token_bytes(16)

    def hashed(p: str | None) -> str | None:
        return None if p is None else "erased-" + hashlib.sha256(salt + p.encode()).hexdigest()[:16]

    phones = sorted(sub.phones)
    words: list[str] = []  # swept from every table
    linked: list[str] = []  # also blanked, but only in rows tied to them (a first name: "Good morning, Betty")
    for p in phones:
        words += [p, national(p) or p]
    for r in sub.residents:
        words += [w for w in (r.name, r.phone, national(r.phone or ""), r.address, r.access) if w and len(w) >= 4]
        first = (r.name or "").split()[0] if (r.name or "").split() else ""
        if len(first) >= 3:
            linked.append(first)
    for c in sub.contacts:
        words += [w for w in (c.name, c.email) if w and len(w) >= 4]
    names_given: set[str] = set()
    asked: tuple[Any, ...] = (Introduction, CallbackRequest, CheckinRequest)
    for model in asked:
        conds: list[Any] = []
        if sub.enquiry_ids:
            conds.append(model.enquiry_id.in_(sub.enquiry_ids))
        if phones:
            conds.append(model.phone.in_(phones))
        if conds:
            names_given |= {n for n in s.scalars(select(model.name).where(or_(*conds))) if n}
    words += [n for n in names_given if len(n) >= 5 and " " in n.strip()]
    linked += [n for n in names_given if len(n) >= 3]
    words = sorted({w for w in words if w and w != ERASED}, key=len, reverse=True)
    linked = sorted({w for w in (*words, *linked) if w}, key=len, reverse=True)

    def scrub(text: str | None, among: list[str] = linked) -> str | None:
        if not text:
            return text
        for w in among:
            text = text.replace(w, MARK)
        return text

    # -- the people themselves ---------------------------------------------------------------------------
    for r in sub.residents:
        r.name, r.phone, r.address, r.postcode, r.access = ERASED, None, None, None, None
        r.checkin, r.befriender_id, r.ext_id = None, None, f"erased-{r.id}"
        r.state, r.left_at, r.erased_at = "left", r.left_at or now, now
        r.contact_links.clear()
        s.flush()
        schedule.configure(s, r, now, actor="erasure")  # no next check-in; one under way is cancelled
        out.residents += 1
    for c in sub.contacts:
        c.name, c.phone, c.email, c.ext_id = ERASED, None, None, f"erased-{c.id}"
        c.state, c.left_at, c.erased_at = "left", c.left_at or now, now
        out.add(
            "resident_contacts", _count(s.execute(delete(ResidentContact).where(ResidentContact.contact_id == c.id)))
        )
        s.execute(update(Resident).where(Resident.befriender_id == c.id).values(befriender_id=None))
        out.contacts += 1
    s.flush()

    # -- what happened to them ---------------------------------------------------------------------------
    for e in s.scalars(select(TimelineEntry).where(TimelineEntry.alert_id.in_(sub.alert_ids))) if sub.alert_ids else ():
        e.detail = scrub(e.detail) or ""
        e.actor = scrub(e.actor)
        e.data = _scrub_json(e.data, linked)
        out.add("alert_timeline", 1)
    for a in s.scalars(select(Alert).where(Alert.id.in_(sub.alert_ids))) if sub.alert_ids else ():
        a.acknowledged_by, a.resolved_by = scrub(a.acknowledged_by), scrub(a.resolved_by)
    n_conds: list[Any] = []
    if phones:
        n_conds.append(Notification.to.in_(phones))
    if sub.alert_ids:
        n_conds.append(Notification.alert_id.in_(sub.alert_ids))
    attempt_ids = attempt_notification_ids(s, sub.checkin_ids)
    if attempt_ids:
        n_conds.append(Notification.id.in_(attempt_ids))
    for n in s.scalars(select(Notification).where(or_(*n_conds))) if n_conds else ():
        n.body, n.detail = "", scrub(n.detail)
        if n.to in sub.phones:
            n.to = hashed(n.to) or ""
        out.add("notifications", 1)
    r_conds: list[Any] = []
    if phones:
        r_conds.append(Reply.from_.in_(phones))
    if sub.alert_ids:
        r_conds.append(Reply.alert_id.in_(sub.alert_ids))
    for rp in s.scalars(select(Reply).where(or_(*r_conds))) if r_conds else ():
        if rp.from_ in sub.phones:
            rp.from_, rp.body, rp.answer = hashed(rp.from_) or "", None, None
        else:  # a contact's answer about them: their words about the person are blanked of names
            rp.body, rp.answer = scrub(rp.body), scrub(rp.answer)
        out.add("replies", 1)
    for ck in s.scalars(select(Checkin).where(Checkin.id.in_(sub.checkin_ids))) if sub.checkin_ids else ():
        ck.answered_by = ERASED if ck.answered_by else None
        ck.answers = [dict(a, text=None, by=ERASED) for a in (ck.answers or []) if isinstance(a, dict)]
        ck.note = None
        out.add("checkins", 1)
    if sub.resident_ids:
        for f in s.scalars(select(DriftFlag).where(DriftFlag.resident_id.in_(sub.resident_ids))):
            f.detail, f.clear_note = scrub(f.detail) or "", None
            out.add("drift_flags", 1)
        out.add(
            "checkin_pauses",
            _count(
                s.execute(update(CheckinPause).where(CheckinPause.resident_id.in_(sub.resident_ids)).values(reason=""))
            ),
        )

    # -- the helpline ------------------------------------------------------------------------------------
    if sub.enquiry_ids:
        out.add(
            "enquiries",
            _count(
                s.execute(
                    update(Enquiry)
                    .where(Enquiry.id.in_(sub.enquiry_ids))
                    .values(phone=None, first_message=None, conversation_id=None, age=None, erased_at=now)
                )
            ),
        )
    helpline: tuple[Any, ...] = (Introduction, CallbackRequest, CheckinRequest)
    for model in helpline:
        conds = []
        if sub.enquiry_ids:
            conds.append(model.enquiry_id.in_(sub.enquiry_ids))
        if phones:
            conds.append(model.phone.in_(phones))
        if sub.resident_ids and model is not Introduction:
            conds.append(model.resident_id.in_(sub.resident_ids))
        if not conds:
            continue
        row: Any
        for row in s.scalars(select(model).where(or_(*conds))):
            row.name = None
            if isinstance(row, Introduction):
                row.phone = hashed(row.phone) or ""
                if row.follow_up_sent_at is None:
                    row.follow_up_due_at = None
            else:
                row.phone, row.note = None, None
                if isinstance(row, CallbackRequest):
                    row.detail = None
                else:
                    row.preferred_time = None
            out.add(model.__tablename__, 1)
    c_conds: list[Any] = []
    if phones:
        c_conds.append(Consent.phone.in_(phones))
    if sub.enquiry_ids:
        c_conds.append(Consent.enquiry_id.in_(sub.enquiry_ids))
    if sub.resident_ids:
        c_conds.append(Consent.resident_id.in_(sub.resident_ids))
    for k in s.scalars(select(Consent).where(or_(*c_conds))) if c_conds else ():
        k.phone = hashed(k.phone) if k.phone and not k.phone.startswith("erased-") else k.phone
        out.add("consents", 1)
    s.flush()

    # -- anything else that still names them ---------------------------------------------------------------
    for table, count in _sweep(s, words).items():
        out.add(table, count)
    log.info("erasure: %d resident(s), %d contact(s), %d table(s) touched", out.residents, out.contacts, len(out.rows))
    return out


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _scrub_json(value: Any, words: list[str]) -> Any:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False)
    new = text
    for w in words:
        new = new.replace(json.dumps(w, ensure_ascii=False)[1:-1], MARK)
    return value if new == text else json.loads(new)


def _text_columns(table: Table) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, (String, Text, JSON)) and not c.primary_key]


def _sweep(s: Session, words: list[str]) -> dict[str, int]:
    """Replace ``words`` wherever they are still written (one query per text column)."""
    changed: dict[str, int] = {}
    if not words:
        return changed
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_SWEPT:
            continue
        pk = list(table.primary_key.columns)
        for col in _text_columns(table):
            as_text = cast(col, Text) if isinstance(col.type, JSON) else col
            cond = or_(*[as_text.contains(w, autoescape=True) for w in words])
            for row in s.execute(select(*pk, col).where(cond)).all():
                value = row[-1]
                if isinstance(col.type, JSON):
                    new = _scrub_json(value, words)
                else:
                    new = value
                    for w in words:
                        new = new.replace(w, MARK)
                s.execute(update(table).where(*[c == row[i] for i, c in enumerate(pk)]).values({col.name: new}))
                changed[table.name] = changed.get(table.name, 0) + 1
    return changed

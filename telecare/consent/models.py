from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from telecare.storage.base import Base, UTCDateTime

# Consent.service for the standing "you may text and page this number" that STOP withdraws
MESSAGES = "linkage-messages"


class Consent(Base):
    """One thing agreed (``given_at`` set) and, later perhaps, withdrawn (``withdrawn_at``).

    A STOP from a number with nothing on record is kept as a row with no ``given_at`` and
    ``service = MESSAGES``: the withdrawal is the record."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_phone_withdrawn", "phone", "withdrawn_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(64))  # a directory service's id, or MESSAGES
    wording: Mapped[str | None] = mapped_column(Text)  # the question exactly as it was put to them
    enquiry_id: Mapped[int | None] = mapped_column(ForeignKey("enquiries.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    phone: Mapped[str | None] = mapped_column(String(80))  # whose consent it is (a salted hash once erased)
    by: Mapped[str] = mapped_column(String(16))  # enquiry | resident | contact | phone
    channel: Mapped[str | None] = mapped_column(String(8))  # sms | voice | web | rest | console
    given_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_via: Mapped[str | None] = mapped_column(String(16))  # sms (STOP) | console
    withdrawn_words: Mapped[str | None] = mapped_column(String(40))  # "STOP", "unsubscribe", ...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Enquiry tables. An ``Enquiry`` is one conversation with the assistant (SMS, call, web
chat); what it led to hangs off it: introductions to services (with a follow-up a week
later), requests for a person to call back, and requests for daily check-in calls that
staff confirm."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from telecare.storage.base import Base, UTCDateTime

from .channels import Channel

CHANNELS = tuple(c.value for c in Channel)  # sms, voice, web, rest
OUTCOMES = ("unresolved", "signposted", "introduced", "handoff", "emergency")  # least to most significant
CALLBACK_REASONS = ("safeguarding", "emergency", "person", "cannot_help", "followup")
FOLLOW_UP_ANSWERS = ("worked", "not_contacted")
CHECKIN_REQUEST_STATES = ("pending", "confirmed", "declined")


class Enquiry(Base):
    __tablename__ = "enquiries"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # sms | voice | web | rest
    conversation_id: Mapped[str | None] = mapped_column(String(200), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)  # need categories, in the order found
    services: Mapped[list[str]] = mapped_column(JSON, default=list)  # service ext_ids offered, in order
    outcome: Mapped[str] = mapped_column(String(16), default="unresolved")
    consent: Mapped[bool | None] = mapped_column(Boolean)  # to share name and number for an introduction
    on_behalf: Mapped[bool] = mapped_column(Boolean, default=False)  # asking for someone else
    district: Mapped[str | None] = mapped_column(String(8))
    first_message: Mapped[str | None] = mapped_column(Text)  # at most 500 characters
    turns: Mapped[int] = mapped_column(Integer, default=0)
    age: Mapped[int | None] = mapped_column(Integer)  # as the person said it ("I'm 82"), if they did
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # linkage person erase


class Introduction(Base):
    """Someone's name and number passed to a service, with their consent; followed up later."""

    __tablename__ = "introductions"
    __table_args__ = (Index("ix_introductions_phone_sent", "phone", "follow_up_sent_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int | None] = mapped_column(ForeignKey("enquiries.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    follow_up_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    follow_up_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    follow_up_answer: Mapped[str | None] = mapped_column(String(16))  # worked | not_contacted
    follow_up_by: Mapped[str | None] = mapped_column(String(8))  # "voice": ring rather than text (None: decide)
    follow_up_calls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # calls placed so far
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallbackRequest(Base):
    """A person from the team should ring this number (urgent: today, as soon as possible)."""

    __tablename__ = "callback_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int | None] = mapped_column(ForeignKey("enquiries.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(16))  # safeguarding | emergency | person | cannot_help | followup
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)  # open | done
    done_by: Mapped[str | None] = mapped_column(String(100))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)


class CheckinRequest(Base):
    """Someone asked for daily check-in calls; staff agree a time and set them up (or not)."""

    __tablename__ = "checkin_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int | None] = mapped_column(ForeignKey("enquiries.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    preferred_time: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | confirmed | declined
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

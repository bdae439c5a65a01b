"""The directory of services and the helpline's records: what /api/services, /api/enquiries,
/api/introductions, /api/callbacks and /api/checkin-requests give and take."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from telecare.enquiry.models import OUTCOMES


class Eligibility(BaseModel):
    min_age: int | None
    carers: bool = Field(description="only for unpaid carers")
    residents_only: bool = Field(description="only for people who live in the council's area")


class ServiceOut(BaseModel):
    id: str
    name: str
    description: str
    needs: list[str]
    areas: list[str] = Field(description="postcode districts, 'council' (the whole council area) or 'national'")
    phone: str | None
    web: str | None
    email: str | None
    hours: str | None
    eligibility: Eligibility
    introductions: bool = Field(description="the service accepts introductions (name and number, with consent)")
    intro_days: int | None


class EnquiryOut(BaseModel):
    id: int
    channel: str
    started_at: datetime
    updated_at: datetime
    needs: list[str]
    services: list[str] = Field(description="service ids offered")
    outcome: str = Field(description=", ".join(OUTCOMES))
    consent: bool | None
    on_behalf: bool
    turns: int
    district: str | None
    age: int | None = Field(default=None, description="the age the person gave, if they did")


class IntroductionOut(BaseModel):
    id: int
    enquiry: int | None
    service: str
    service_name: str
    name: str | None
    phone: str
    consent_at: datetime
    follow_up_due_at: datetime | None
    follow_up_sent_at: datetime | None
    follow_up_answer: str | None = Field(description="worked, not_contacted, or None (not asked or not answered)")
    answered_at: datetime | None
    follow_up_by: str = Field(default="sms", description="sms, or voice (a landline, or someone who rang us)")


class CallbackOut(BaseModel):
    id: int
    enquiry: int | None
    resident: str | None
    name: str | None
    phone: str | None
    reason: str
    urgent: bool
    detail: str | None
    created_at: datetime
    status: str
    done_by: str | None
    done_at: datetime | None
    note: str | None


class CheckinRequestOut(BaseModel):
    id: int
    enquiry: int | None
    resident: str | None
    name: str | None
    phone: str | None
    preferred_time: str | None
    created_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=1000)

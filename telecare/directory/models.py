"""The directory's tables: the services (one row per ``id`` in the directory file) and the
council the helpline serves (one row, the file's ``council:``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from telecare.storage.base import Base, UTCDateTime

COUNCIL = "council"  # in ``areas``: the whole council area
NATIONAL = "national"  # in ``areas``: anywhere in the UK


class Service(Base):
    """A service the helpline can signpost to (and, with ``introductions``, introduce people to)."""

    __tablename__ = "services"
    id: Mapped[int] = mapped_column(primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)  # plain words, short enough for an SMS
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)  # need categories (categories.NEEDS)
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)  # postcode districts ("AV1"), "council", "national"
    phone: Mapped[str | None] = mapped_column(String(32))  # as people dial it: "01632 960123"
    web: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(200))
    hours: Mapped[str | None] = mapped_column(String(200))
    min_age: Mapped[int | None] = mapped_column(Integer)
    carers_only: Mapped[bool] = mapped_column(Boolean, default=False)
    residents_only: Mapped[bool] = mapped_column(Boolean, default=False)  # for the council's residents only
    introductions: Mapped[bool] = mapped_column(Boolean, default=False)  # the partner accepts introductions
    intro_days: Mapped[int | None] = mapped_column(Integer)  # they get in touch within this many days
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: no longer in the directory file
    position: Mapped[int] = mapped_column(Integer, default=0)  # order in the file
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def eligibility(self) -> dict[str, Any]:
        return {"min_age": self.min_age, "carers": self.carers_only, "residents_only": self.residents_only}


class Council(Base):
    """The council the helpline serves: its name, its postcode districts and its helpline number."""

    __tablename__ = "councils"
    id: Mapped[int] = mapped_column(primary_key=True)  # always 1: one council per database
    name: Mapped[str] = mapped_column(String(200))
    districts: Mapped[list[str]] = mapped_column(JSON, default=list)  # ["AV1", ...]
    helpline: Mapped[str | None] = mapped_column(String(32))
    places: Mapped[dict[str, str] | None] = mapped_column(JSON)  # {"Northfield": "AV5", ...}: towns and villages
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

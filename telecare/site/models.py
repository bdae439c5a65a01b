from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telecare.clock import from_epoch
from telecare.storage.base import Base, UTCDateTime
from telecare.storage.secrets import EncryptedText


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(32), default="family")
    email: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(8), default="active", server_default="active")  # active | left
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    shifts: Mapped[list[RotaShift]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="RotaShift.position"
    )


class RotaShift(Base):
    __tablename__ = "rota_shifts"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    days: Mapped[list[str]] = mapped_column(JSON)  # ["mon", ...]
    start: Mapped[str] = mapped_column(String(5))  # "08:00" local
    end: Mapped[str] = mapped_column(String(5))  # "20:00"; earlier than start crosses midnight
    team: Mapped[Team] = relationship(back_populates="shifts")
    contact: Mapped[Contact] = relationship()


class Policy(Base):
    __tablename__ = "policies"
    id: Mapped[int] = mapped_column(primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(64), unique=True)
    priorities: Mapped[list[str]] = mapped_column(JSON, default=list)  # ["P1"]
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    attend_within_s: Mapped[int | None] = mapped_column(Integer)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{notify, via, ack_within_s, window}]


class Resident(Base):
    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(16))
    access: Mapped[str | None] = mapped_column(EncryptedText)  # key-safe codes: encrypted at rest (storage.secrets)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    befriender_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    checkin: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(8), default="active", server_default="active")  # active | left
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    befriender: Mapped[Contact | None] = relationship(foreign_keys=[befriender_id])
    policy: Mapped[Policy | None] = relationship()
    contact_links: Mapped[list[ResidentContact]] = relationship(
        cascade="all, delete-orphan", order_by="ResidentContact.position"
    )
    homes: Mapped[list[Home]] = relationship(back_populates="resident")

    @property
    def contacts(self) -> list[Contact]:
        return [link.contact for link in self.contact_links]


class ResidentContact(Base):
    __tablename__ = "resident_contacts"
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    contact: Mapped[Contact] = relationship()


class Home(Base):
    __tablename__ = "homes"
    id: Mapped[int] = mapped_column(primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(16))  # last home-unit status: online / offline
    resident: Mapped[Resident | None] = relationship(back_populates="homes")
    devices: Mapped[list[Device]] = relationship(back_populates="home", order_by="Device.id")


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("home_id", "ext_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(ForeignKey("homes.id"), index=True)
    ext_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    heartbeat_s: Mapped[int | None] = mapped_column(Integer)  # expected test-call interval
    grace_s: Mapped[int | None] = mapped_column(Integer)  # overrides the site-wide grace
    watch: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    registered_epoch: Mapped[float] = mapped_column(Float)
    last_seen_epoch: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[int | None] = mapped_column(Integer)
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    home: Mapped[Home] = relationship(back_populates="devices")

    @property
    def last_seen(self) -> datetime | None:
        return from_epoch(self.last_seen_epoch) if self.last_seen_epoch else None


class Setting(Base):
    """Site-wide settings staff can change (e.g. the heartbeat grace)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(100))

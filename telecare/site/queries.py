"""Read models for the site: residents, devices and their homes, contacts, teams, policies."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session, selectinload

from telecare.site.models import Contact, Device, Home, Policy, Resident, ResidentContact, RotaShift, Team


def devices(
    s: Session, *, home: str | None = None, offline: bool = False, limit: int = 1000
) -> list[tuple[Device, str, str | None]]:
    """(device, home id, resident id) by home and device id."""
    q = (
        select(Device, Home.ext_id, Resident.ext_id)
        .join(Home, Home.id == Device.home_id)
        .outerjoin(Resident, Resident.id == Home.resident_id)
        .order_by(Home.ext_id, Device.ext_id)
        .limit(limit)
    )
    if home:
        q = q.where(Home.ext_id == home)
    if offline:
        q = q.where(Device.online.is_(False))
    return [(d, h, r) for d, h, r in s.execute(q).all()]


def offline_count(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(Device).where(Device.online.is_(False))) or 0


def resident(s: Session, ext_id: str) -> Resident | None:
    return s.scalars(select(Resident).where(Resident.ext_id == ext_id)).first()


def resident_ext_ids(s: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Resident row id -> outside id, for the ids given (None skipped)."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(s.execute(select(Resident.id, Resident.ext_id).where(Resident.id.in_(ids))).all())


def policy_exists(s: Session, ext_id: str) -> bool:
    return s.scalars(select(Policy.id).where(Policy.ext_id == ext_id)).first() is not None


def residents_page(
    s: Session, *, search: str = "", offset: int = 0, limit: int = 50, left: bool = False
) -> tuple[int, list[Resident]]:
    """(how many match, one page of them by name), with homes, devices, policy and contacts loaded;
    ``search`` matches name, id, postcode or address. Residents who have left the service are listed
    only when ``left`` (then only they are)."""
    query = (
        select(Resident)
        .order_by(Resident.name)
        .options(
            selectinload(Resident.homes).selectinload(Home.devices),
            selectinload(Resident.policy),
            selectinload(Resident.contact_links).joinedload(ResidentContact.contact),
        )
    )
    count = select(func.count()).select_from(Resident)
    gone = Resident.state == "left" if left else Resident.state != "left"
    query, count = query.where(gone), count.where(gone)
    if search:
        like = f"%{search.strip()}%"
        cond = or_(
            Resident.name.ilike(like),
            Resident.ext_id.ilike(like),
            Resident.postcode.ilike(like),
            Resident.address.ilike(like),
        )
        query, count = query.where(cond), count.where(cond)
    total = s.scalar(count) or 0
    return total, list(s.scalars(query.offset(offset).limit(limit)))


def devices_page(
    s: Session, *, show: str = "all", search: str = "", low_battery: int = 20, offset: int = 0, limit: int = 50
) -> tuple[int, list[Row[Device, str, str, str]]]:
    """(how many match, one page of rows (device, home id, resident name, resident id)), offline first;
    ``show`` all, offline, or low (battery under ``low_battery``)."""
    query = (
        select(Device, Home.ext_id, Resident.name, Resident.ext_id)
        .join(Home, Home.id == Device.home_id)
        .outerjoin(Resident, Resident.id == Home.resident_id)
    )
    if show == "offline":
        query = query.where(Device.online.is_(False))
    elif show == "low":
        query = query.where(Device.battery < low_battery)
    if search:
        like = f"%{search.strip()}%"
        query = query.where(or_(Home.ext_id.ilike(like), Device.ext_id.ilike(like), Resident.name.ilike(like)))
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = s.execute(query.order_by(Device.online, Home.ext_id, Device.ext_id).offset(offset).limit(limit)).all()
    return total, list(rows)


def contacts(s: Session) -> list[Contact]:
    return list(s.scalars(select(Contact).order_by(Contact.name)))


def teams(s: Session) -> list[Team]:
    """By name, with their rota shifts and contacts loaded."""
    return list(
        s.scalars(select(Team).order_by(Team.name).options(selectinload(Team.shifts).joinedload(RotaShift.contact)))
    )


def policies(s: Session) -> list[Policy]:
    return list(s.scalars(select(Policy).order_by(Policy.id)))


def residents_with_homes(s: Session, limit: int = 500) -> list[Row[str, str]]:
    """(resident id, name) of residents who have a home, by name."""
    return list(
        s.execute(
            select(Resident.ext_id, Resident.name)
            .join(Home, Home.resident_id == Resident.id)
            .order_by(Resident.name)
            .limit(limit)
        ).all()
    )


def residents_by_id(s: Session, ids: Iterable[int | None]) -> dict[int, Resident]:
    """Resident row id -> resident, for the ids given (None skipped)."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {r.id: r for r in s.scalars(select(Resident).where(Resident.id.in_(sorted(ids))))}


def device_ids_of(s: Session, resident_ext_id: str) -> list[str]:
    """The outside ids of a resident's devices, in the order they were registered."""
    return list(
        s.scalars(
            select(Device.ext_id)
            .join(Home, Home.id == Device.home_id)
            .join(Resident, Resident.id == Home.resident_id)
            .where(Resident.ext_id == resident_ext_id)
            .order_by(Device.id)
        )
    )


def timezone_of(s: Session, resident_ext_id: str) -> str | None:
    return s.scalar(select(Resident.timezone).where(Resident.ext_id == resident_ext_id))

"""Finding services for a need, where someone lives and who they are.

``match(session, need, district=..., age=..., carer=..., limit=2)`` returns active services
that help with ``need``, in this order:

1. **local**: services whose ``areas`` name the person's postcode district (``AV3``);
2. **council-wide**: services with ``areas: [council]``;
3. **national**: services with ``areas: [national]``;

and, inside each group, in the directory file's order (put the service you would recommend
first higher in the file). Where someone lives decides which groups they see:

* a district of the council (``AV1``-``AV6`` for Ashvale): all three groups;
* no district (the postcode was not given, not understood, or skipped): council-wide and
  national services only, since we cannot tell which local ones are near;
* a district outside the council (``LS6``): national services, and council-wide services
  that are not for residents only (``residents_only`` services are for people who live in
  the council's area, or whose postcode we do not know).

Eligibility, from what the person told us (unknown is never a reason to leave a service out):

* ``min_age``: left out when the age is known and below it;
* ``carers_only``: offered only to someone who said they are a carer (``carer=True``), or
  when the need itself is ``carers_support``.

``all_services(session, need=None, district=None)`` is the directory as staff see it: every
active service (for the need, if given); with a district, only those that serve it, in the
same local, council-wide, national order; no eligibility filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .categories import NEEDS
from .models import COUNCIL, NATIONAL, Council, Service

LOCAL, COUNCIL_WIDE, NATION_WIDE = 0, 1, 2


@dataclass(frozen=True)
class CouncilInfo:
    name: str
    districts: tuple[str, ...]
    helpline: str
    places: tuple[tuple[str, str], ...] = ()  # (town or village, district)

    def covers(self, district: str | None) -> bool:
        return district is not None and district.upper() in self.districts


# Before any directory is loaded: plain words, and no districts (so every postcode is "outside").
NO_COUNCIL = CouncilInfo(name="the council", districts=(), helpline="")


def council(session: Session) -> CouncilInfo:
    """The council the helpline serves: name, postcode districts and helpline number."""
    row = session.get(Council, 1)
    if row is None:
        return NO_COUNCIL
    return CouncilInfo(
        name=row.name,
        districts=tuple(row.districts or ()),
        helpline=row.helpline or "",
        places=tuple((str(k), str(v)) for k, v in (row.places or {}).items()),
    )


def get(session: Session, ext_id: str) -> Service | None:
    """A service by its directory id, active or not (an enquiry may name one retired since)."""
    return session.scalars(select(Service).where(Service.ext_id == ext_id)).first()


def _tier(svc: Service, district: str | None, in_council: bool) -> int | None:
    """Which group ``svc`` is in for someone in ``district``; None if it does not serve them."""
    areas = svc.areas or []
    if NATIONAL in areas:
        return NATION_WIDE
    if COUNCIL in areas:
        if district is None or in_council or not svc.residents_only:
            return COUNCIL_WIDE
        return None
    if district is not None and district in areas:
        return LOCAL
    return None


def _active(session: Session) -> list[Service]:
    # The directory is small (tens to a few hundred rows): one indexed read, filtered here,
    # is simpler than JSON containment queries that differ between SQLite and PostgreSQL.
    return list(session.scalars(select(Service).where(Service.active.is_(True)).order_by(Service.position, Service.id)))


def _district(district: str | None) -> str | None:
    return district.strip().upper() if district and district.strip() else None


def match(
    session: Session,
    need: str,
    *,
    district: str | None = None,
    age: int | None = None,
    carer: bool | None = None,
    limit: int | None = 2,
) -> list[Service]:
    """Up to ``limit`` (None: all) active services for ``need`` that serve ``district`` and
    that the person is eligible for, local first, then council-wide, then national."""
    if need not in NEEDS:
        raise ValueError(f"{need!r} is not a need category")
    district = _district(district)
    in_council = council(session).covers(district)
    found: list[tuple[int, int, Service]] = []
    for svc in _active(session):
        if need not in (svc.needs or []):
            continue
        tier = _tier(svc, district, in_council)
        if tier is None:
            continue
        if age is not None and svc.min_age is not None and age < svc.min_age:
            continue
        if svc.carers_only and not (carer is True or need == "carers_support"):
            continue
        found.append((tier, svc.position, svc))
    found.sort(key=lambda x: (x[0], x[1], x[2].id))
    services = [svc for _, _, svc in found]
    return services if limit is None else services[:limit]


def all_services(session: Session, need: str | None = None, district: str | None = None) -> list[Service]:
    """Every active service (for ``need``); with ``district``, those that serve it, local first."""
    if need is not None and need not in NEEDS:
        raise ValueError(f"{need!r} is not a need category")
    services = [svc for svc in _active(session) if need is None or need in (svc.needs or [])]
    district = _district(district)
    if district is None:
        return services
    in_council = council(session).covers(district)
    tiers = [(_tier(svc, district, in_council), svc) for svc in services]
    return [
        svc
        for tier, svc in sorted(
            ((t, s) for t, s in tiers if t is not None), key=lambda x: (x[0], x[1].position, x[1].id)
        )
    ]


__all__ = ["council", "match", "get", "all_services", "CouncilInfo"]

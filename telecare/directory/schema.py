"""The directory file's shape (``data/directory/services.yml``), as pydantic models.

Checks that need the whole file (ids used twice, districts the council does not have) are
in ``loader.py``; everything about one field is here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from .categories import NEEDS
from .postcode import parse

ID = r"^[A-Za-z0-9_-]{1,64}$"
DESCRIPTION_MAX = 90  # an SMS reply lists up to four services; each must stay short
_PHONE = re.compile(r"^\+?\d[\d ]*\d$")
_WEB = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _text(v: Any) -> Any:
    return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def _phone(v: str | None) -> str | None:
    if v is None:
        return None
    v = " ".join(str(v).split())
    digits = sum(c.isdigit() for c in v)
    if not _PHONE.match(v) or not 3 <= digits <= 15:
        raise ValueError(f'{v!r} is not a phone number as people dial it, like "01632 960123" or "999"')
    return v


def _web(v: str | None) -> str | None:
    if v is None:
        return None
    v = str(v).strip()
    if not _WEB.match(v):
        raise ValueError(f"{v!r} is not a web address starting with https://")
    return v


def _email(v: str | None) -> str | None:
    if v is None:
        return None
    v = str(v).strip()
    if not _EMAIL.match(v):
        raise ValueError(f"{v!r} is not an email address")
    return v


def _need(v: str) -> str:
    if v not in NEEDS:
        raise ValueError(f"{v!r} is not a need category; use one of: {', '.join(NEEDS)}")
    return v


def _description(v: str) -> str:
    v = " ".join(str(v).split())
    if len(v) > DESCRIPTION_MAX:
        raise ValueError(
            f"is {len(v)} characters; keep it to {DESCRIPTION_MAX} or fewer (it is sent by SMS and read out on calls)"
        )
    return v


def _district(v: object) -> str:
    pc = parse(str(v))
    if pc is None or pc.inward is not None:
        raise ValueError(f'{v!r} is not a postcode district like "AV1"')
    return pc.district


Phone = Annotated[str | None, BeforeValidator(_text), AfterValidator(_phone)]
Need = Annotated[str, AfterValidator(_need)]
Area = Annotated[str, BeforeValidator(lambda v: str(v).strip() if v is not None else v)]
District = Annotated[str, BeforeValidator(_district)]


class EligibilityIn(Strict):
    min_age: int | None = Field(default=None, ge=0, le=120)
    carers: bool = False  # only for unpaid carers
    residents_only: bool = False  # only for people who live in the council's area


class ServiceIn(Strict):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1, max_length=200)
    description: Annotated[str, AfterValidator(_description)] = Field(min_length=1)
    needs: list[Need] = Field(min_length=1)
    areas: list[Area] = Field(min_length=1)
    phone: Phone = None
    web: Annotated[str | None, AfterValidator(_web)] = None
    email: Annotated[str | None, AfterValidator(_email)] = None
    hours: Annotated[str | None, BeforeValidator(_text)] = Field(default=None, max_length=200)
    eligibility: EligibilityIn = EligibilityIn()
    introductions: bool = False
    intro_days: int | None = Field(default=None, ge=1, le=60)
    active: bool = True

    @model_validator(mode="before")
    @classmethod
    def _none_is_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("eligibility", 0) is None:
            data = {**data, "eligibility": {}}
        return data


class CouncilIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    districts: list[District] = Field(min_length=1)
    helpline: Annotated[str, BeforeValidator(_text), AfterValidator(_phone)]
    # towns and villages -> their postcode district, for people who name a place, not a postcode
    places: dict[Annotated[str, Field(min_length=2, max_length=60)], District] = Field(
        default_factory=dict, max_length=500
    )


class DirectoryIn(Strict):
    council: CouncilIn | None = None
    services: list[ServiceIn] = []

    @model_validator(mode="before")
    @classmethod
    def _not_none(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("services", 0) is None:
            data = {**data, "services": []}
        return data

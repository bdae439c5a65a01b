"""UK postcodes: reading one from a field (``parse``) or from what someone wrote (``find_in``).

A postcode is an outward code (area letters, district number, sometimes a letter: ``AV1``,
``SW1A``, ``M25``) and, for a full postcode, an inward code (a digit and two letters:
``2AB``). The directory works by postcode *district*, the outward code.

``parse`` is for a string that is meant to be a postcode (a resident's record, an API query):
any case, any spacing, full or outward only. ``find_in`` looks inside free text ("i live at
av12ab near the park", "I'm in AV3") and is more careful, because ordinary words and numbers
can look like an outward code: a full postcode is recognised by its shape anywhere in the
text, but an outward code on its own only when its letters are a real postcode area (or the
sample council's fictional ``AV``) and it is not one of a few tokens people write for other
reasons ("CO2", "B12", "M25").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# The UK's postcode areas, and the fictional area of the sample council (Ashvale, AV1-AV6).
AREAS = frozenset("""
AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH EN EX
FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME MK ML N NE
NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ
TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE
""".split())
FICTIONAL_AREAS = frozenset({"AV"})
NOT_POSTCODES = frozenset({"CO2", "B12", "B6", "M25", "ME2", "E10"})  # a gas, vitamins, a motorway, "me too"...

# first letter never Q, V or X; second never I, J or Z; the inward letters never C, I, K, M, O or V
_OUTWARD = r"[A-PR-UWYZ](?:[A-HK-Y]?\d[A-Z\d]?|\d[A-HJKPSTUW])"
_INWARD = r"\d[ABD-HJLNP-UW-Z]{2}"
_FULL = re.compile(rf"^({_OUTWARD})({_INWARD})$")
_OUT_ONLY = re.compile(rf"^({_OUTWARD})$")
_FULL_IN_TEXT = re.compile(rf"(?<![A-Z0-9])({_OUTWARD})[ \t]*({_INWARD})(?![A-Z0-9])")
_OUT_IN_TEXT = re.compile(rf"(?<![A-Z0-9'])({_OUTWARD})(?![A-Z0-9'])")


@dataclass(frozen=True)
class Postcode:
    outward: str  # "AV1"
    inward: str | None = None  # "2AB"; None when only the outward code is known

    @property
    def full(self) -> str:
        """Normalised: "AV1 2AB", or "AV3" when only the outward code is known."""
        return f"{self.outward} {self.inward}" if self.inward else self.outward

    @property
    def district(self) -> str:
        """The postcode district (the outward code), what the directory's ``areas`` name."""
        return self.outward

    @property
    def area(self) -> str:
        """The letters at the start: "AV"."""
        return re.match(r"[A-Z]+", self.outward).group(0)

    def __str__(self) -> str:
        return self.full


def parse(text: str | None) -> Postcode | None:
    """The postcode ``text`` is (any case and spacing, full or outward only), else None."""
    if not text:
        return None
    t = re.sub(r"\s+", "", str(text)).upper()
    m = _FULL.match(t)
    if m:
        return Postcode(m.group(1), m.group(2))
    m = _OUT_ONLY.match(t)
    if m:
        return Postcode(m.group(1))
    return None


def find_in(text: str | None) -> Postcode | None:
    """The first full postcode in ``text``; failing that, the first outward code that is
    surely one (a known area, not a look-alike). None if there is neither."""
    if not text:
        return None
    t = str(text).upper()
    m = _FULL_IN_TEXT.search(t)
    if m:
        return Postcode(m.group(1), m.group(2))
    for m in _OUT_IN_TEXT.finditer(t):
        code = m.group(1)
        pc = Postcode(code)
        if (pc.area in AREAS or pc.area in FICTIONAL_AREAS) and code not in NOT_POSTCODES:
            return pc
    return None


def spoken(text: str | None) -> Postcode | None:
    """A postcode said aloud, as speech recognition writes it. (Filled in below.)"""
    return None


__all__ = ["Postcode", "parse", "find_in", "spoken", "AREAS"]

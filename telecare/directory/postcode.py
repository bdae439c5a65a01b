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
AREAS = frozenset(
    """
AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH EN EX
FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME MK ML N NE
NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ
TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE
""".split()
)
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
        letters = re.match(r"[A-Z]+", self.outward)
        assert letters is not None  # a parsed outward code starts with letters
        return letters.group(0)

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


# -- postcodes said aloud -------------------------------------------------------------------------------
# How speech recognition writes a spelled postcode: letters one by one ("A V 3 4 P Q"), numbers
# as words ("a v three four p q"), the NATO alphabet ("alpha victor three four papa quebec"),
# "A for apple", "double P"; sometimes in pieces ("AV 34 PQ", "av3 4pq").
_NATO = {
    "alpha": "a",
    "alfa": "a",
    "bravo": "b",
    "charlie": "c",
    "delta": "d",
    "echo": "e",
    "foxtrot": "f",
    "golf": "g",
    "hotel": "h",
    "india": "i",
    "juliet": "j",
    "juliett": "j",
    "kilo": "k",
    "lima": "l",
    "mike": "m",
    "november": "n",
    "oscar": "o",
    "papa": "p",
    "quebec": "q",
    "romeo": "r",
    "sierra": "s",
    "tango": "t",
    "uniform": "u",
    "victor": "v",
    "whiskey": "w",
    "whisky": "w",
    "x-ray": "x",
    "xray": "x",
    "yankee": "y",
    "zulu": "z",
    # letters as recognisers sometimes write their names
    "bee": "b",
    "be": "b",
    "see": "c",
    "sea": "c",
    "dee": "d",
    "ee": "e",
    "eff": "f",
    "gee": "g",
    "aitch": "h",
    "haitch": "h",
    "jay": "j",
    "kay": "k",
    "el": "l",
    "ell": "l",
    "em": "m",
    "en": "n",
    "pee": "p",
    "queue": "q",
    "cue": "q",
    "ar": "r",
    "are": "r",
    "es": "s",
    "ess": "s",
    "tee": "t",
    "tea": "t",
    "you": "u",
    "vee": "v",
    "double-u": "w",
    "ex": "x",
    "why": "y",
    "zed": "z",
    "zee": "z",
}
_UNITS = {
    "zero": "0",
    "nought": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "won": "1",
    "two": "2",
    "to": "2",
    "too": "2",
    "three": "3",
    "four": "4",
    "for": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_TEENS = {
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
}
_TENS = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
}
# "A for apple", "P as in Peter": the letter, then the word that explains it
_FOR_WORD = re.compile(r"\b([a-z])\s+(?:for|as in|like)\s+[a-z]+\b")
_DOUBLE = re.compile(r"\b(?:double|dubble)\s+([a-z0-9])\b")
_PIECE = re.compile(r"^[a-z0-9]{1,4}$")
MAX_SPOKEN = 200


def _spoken_tokens(text: str) -> list[list[str]]:
    """Runs of tokens that could be part of a spelled postcode, each token as its characters."""
    t = text.lower()[:MAX_SPOKEN].replace("\u2019", "'")
    t = re.sub(r"[.,;:!?()\[\]\"]", " ", t)
    t = _FOR_WORD.sub(lambda m: m.group(1), t)
    t = _DOUBLE.sub(lambda m: m.group(1) + " " + m.group(1), t)
    words = t.split()
    runs: list[list[str]] = []
    run: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        piece = None
        if w in _TENS:
            piece = _TENS[w] + (
                _UNITS[words[i + 1]]
                if i + 1 < len(words) and words[i + 1] in _UNITS and words[i + 1] not in ("o", "oh", "to", "too", "for")
                else "0"
            )
            if piece[-1] != "0" or (i + 1 < len(words) and words[i + 1] == "zero"):
                i += 1
        elif w in _TEENS:
            piece = _TEENS[w]
        elif w in _UNITS and (len(w) > 1 or run):  # "o" alone is a letter unless inside a run... see below
            piece = _UNITS[w] if w != "o" else "o"
        elif w in _NATO:
            piece = _NATO[w]
        elif _PIECE.match(w):
            piece = w
        if piece is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(piece)
        i += 1
    if run:
        runs.append(run)
    return runs


def spoken(text: str | None) -> Postcode | None:
    """A postcode said aloud, as speech recognition writes it ("A V 3 4 P Q", "a v three four p q",
    "alpha victor three four papa quebec", "A for apple V for Victor 3 4 P Q"), or None. The
    longest stretch of spelled pieces that makes a full postcode wins; failing that, an outward
    code whose letters are a real postcode area. For an answer to "what's your postcode?" only:
    in other text "a" and "i" are words."""
    if not text:
        return None
    best: Postcode | None = None
    outward: Postcode | None = None
    for run in _spoken_tokens(str(text)):
        n = len(run)
        for length in range(n, 0, -1):
            for start in range(0, n - length + 1):
                joined = "".join(run[start : start + length]).upper()
                if not 2 <= len(joined) <= 7:
                    continue
                m = (
                    _FULL.match(joined) or _FULL.match(joined.replace("O", "0")[:-2] + joined[-2:])
                    if len(joined) >= 5
                    else None
                )
                if m and best is None:
                    best = Postcode(m.group(1), m.group(2))
                om = _OUT_ONLY.match(joined)
                if om and outward is None and len(joined) >= 2:
                    pc = Postcode(om.group(1))
                    if (
                        (pc.area in AREAS or pc.area in FICTIONAL_AREAS)
                        and joined not in NOT_POSTCODES
                        and not joined.isdigit()
                    ):
                        outward = pc
            if best is not None:
                return best
    return outward


__all__ = ["Postcode", "parse", "find_in", "spoken", "AREAS"]

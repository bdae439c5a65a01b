"""Text for the phone channels: replies split into SMS parts, and replies made speakable.

Imported by the Rasa side (the Twilio connectors in ``assistant/connectors/``), so this
module is plain Python 3.10 with no imports from ``telecare``.

SMS: ``split`` cuts a reply into parts of at most ``limit`` characters (153 is one segment of
a concatenated GSM-7 message) at line and sentence ends where it can, else between words.
It never cuts inside a phone number, never drops a character other than the whitespace at a
cut, and cuts mid-word only when one "word" (a long web address) is longer than a part.
Text outside the GSM-7 alphabet is sent by carriers as UCS-2, 67 characters a segment, so
the limit shrinks to ``unicode_limit`` then; ``plain`` first swaps typographic punctuation
(curly quotes, dashes, ellipsis) for GSM-7 equivalents so that rarely happens.

Voice: ``speakable`` removes web addresses and spaces out phone numbers so text-to-speech
reads them digit by digit, with a pause between groups ("0 1 6 3 2, 9 6 0 0 0 0").
"""

from __future__ import annotations

import re

__all__ = ["GSM7", "GSM7_EXTENSION", "PHONE", "is_gsm7", "plain", "sms_length", "speakable", "split"]

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")  # two septets each

# A phone number: digit groups joined by single spaces or hyphens, optionally +country and
# (area code). Also matches other runs of numbers ("12 13"), which only keeps them together.
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d()]*(?:[ \-]\(?\d[\d()]*)+(?!\w)")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]']", re.IGNORECASE)
# "or visit https://…" goes with the address it introduces
_URL_PHRASE = re.compile(
    r"(?:,?\s*\b(?:or|and)\s+(?:visit\s+|see\s+|go\s+to\s+)?|\b(?:visit|see)\s+)?" + _URL.pattern, re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?]['\")\]]*$")

_TYPOGRAPHIC = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2012": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\u200b": "",
    "\u2022": "-",
    "\u00b7": "-",
    "\t": " ",
}


def plain(text: str) -> str:
    """Typographic punctuation replaced by GSM-7 look-alikes (keeps an SMS in 153-character segments)."""
    return "".join(_TYPOGRAPHIC.get(c, c) for c in text)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7 or c in GSM7_EXTENSION for c in text)


def sms_length(text: str, gsm: bool | None = None) -> int:
    """Length as a phone counts it: GSM-7 septets (extension characters are two), else UTF-16 units."""
    if gsm is None:
        gsm = is_gsm7(text)
    if gsm:
        return sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def _fit(s: str, limit: int, gsm: bool) -> int:
    """The longest prefix length of ``s`` whose SMS length is at most ``limit`` (at least 1)."""
    used = 0
    for i, c in enumerate(s):
        used += (2 if c in GSM7_EXTENSION else 1) if gsm else (2 if ord(c) > 0xFFFF else 1)
        if used > limit:
            return max(i, 1)
    return len(s)


def _cut(s: str, m: int) -> int:
    """Where to cut ``s`` (longer than a part) given that ``s[:m]`` is the most that fits."""
    phones = [(x.start(), x.end()) for x in PHONE.finditer(s)]

    def in_phone(p: int) -> bool:
        return any(a < p < b for a, b in phones)

    lines: list[int] = []
    sentences: list[int] = []
    words: list[int] = []
    p = 1
    while p <= m and p < len(s):
        if s[p].isspace() and not s[p - 1].isspace():
            q = p
            while q < len(s) and s[q].isspace():
                q += 1
            if not in_phone(p):
                run = s[p:q]
                if "\n" in run:
                    lines.append(p)
                elif _SENTENCE_END.search(s[:p]):
                    sentences.append(p)
                else:
                    words.append(p)
            p = q
        else:
            p += 1
    ends = sorted(lines + sentences)
    if ends and ends[-1] >= m // 2:
        return ends[-1]
    if words:
        return words[-1]
    if ends:
        return ends[-1]
    # one "word" longer than a part: cut inside it, but never inside a phone number
    for a, b in phones:
        if a < m < b and a > 0:
            return a
    return m


def split(text: str, limit: int = 153, max_parts: int = 6, unicode_limit: int = 67) -> list[str]:
    """``text`` as SMS parts of at most ``limit`` (see the module's docstring).

    At most ``max_parts`` parts: whatever would not fit is all in the last part, which is
    then longer than ``limit`` (the carrier sends it as a concatenated message; nothing is lost).
    """
    s = (text or "").strip()
    if not s:
        return []
    gsm = is_gsm7(s)
    if not gsm:
        limit = min(limit, unicode_limit)
    if limit < 1:
        raise ValueError("limit must be at least 1")
    parts: list[str] = []
    while s:
        if len(parts) == max_parts - 1 or sms_length(s, gsm) <= limit:
            parts.append(s)
            break
        m = _fit(s, limit, gsm)
        p = _cut(s, m)
        head = s[:p].rstrip()
        if not head:  # only whitespace before the cut: take what fits
            head, p = s[:m], m
        parts.append(head)
        s = s[p:].lstrip()
    return parts


def _spell_digits(number: str) -> str:
    """'01632 960000' -> '0 1 6 3 2, 9 6 0 0 0 0'; '+44 7700 900123' -> 'plus 4 4, 7 7 0 0, 9 0 0 1 2 3'."""
    groups = [g for g in re.split(r"[ \-()]+", number) if g]
    spoken: list[str] = []
    for g in groups:
        plus = g.startswith("+")
        digits = g.lstrip("+")
        if len(digits) > 6:  # an unspaced number: UK style 5 + 6, else threes and fours
            chunks = (
                [digits[:5], digits[5:]] if len(digits) == 11 else [digits[i : i + 3] for i in range(0, len(digits), 3)]
            )
        else:
            chunks = [digits]
        for i, c in enumerate(chunks):
            spoken.append(("plus " if plus and i == 0 else "") + " ".join(c))
    return ", ".join(spoken)


_LONG_NUMBER = re.compile(r"(?<![\w+])\+?\(?\d[\d()]*(?:[ \-]\(?\d[\d()]*)*(?!\w)")


def speakable(text: str, min_digits: int = 5) -> str:
    """Text for text-to-speech: no web addresses; numbers of ``min_digits`` or more read digit by digit."""
    s = _URL_PHRASE.sub("", text or "")

    def spell(match: re.Match[str]) -> str:
        number = match.group(0)
        if sum(c.isdigit() for c in number) < min_digits:
            return number
        return _spell_digits(number)

    s = _LONG_NUMBER.sub(spell, s)
    s = re.sub(r"\(\s*\)", "", s)  # "(see www…)"
    s = re.sub(r"[ \t]+", " ", s)
    s = re.sub(r" +([.,;:!?])", r"\1", s)
    s = re.sub(r"([.,;:!?])(?:[ \t]*[.,;:])+", r"\1", s)  # "Call us. ." after a removed address
    return "\n".join(line.strip() for line in s.splitlines()).strip()

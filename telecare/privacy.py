"""Personal data kept out of logs (docs/data-protection.md, "Logs"): phone numbers are shown with all
but their last three digits masked. Names, addresses, access notes and message text are never passed
to a logger at all; ``mask_phones`` is the safety net for text a library or an error message carries.
Plain Python, importable from both environments (the assistant's connectors use it too)."""

from __future__ import annotations

import re

# a phone number as people and providers write it: +44 7700 900201, 07700900201, 447700900201
# (bare digits from nine on, so alert ids and times stay readable)
_PHONE = re.compile(r"(?<![\w*.])(?:\+\d(?:[ \-]?\d){6,14}|\d(?: ?\d){8,14})(?![\w.])")


def mask_phone(number: object) -> str:
    """``+447700900201`` -> ``+*********201``: enough to tell two numbers apart in a log, not to ring one."""
    if number is None:
        return "-"
    text = str(number).replace(" ", "")
    digits = [c for c in text if c.isdigit()]
    if len(digits) <= 3:
        return "*" * len(text)
    keep = "".join(digits[-3:])
    return ("+" if text.startswith("+") else "") + "*" * (len(digits) - 3) + keep


def mask_phones(text: str) -> str:
    """Every phone-number-like run of digits in ``text`` masked as ``mask_phone`` does."""
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)

"""Checking that a webhook request came from Twilio: the one implementation, shared by the hub's
``/twilio/*`` routes (hub/web/twilio_routes.py, FastAPI) and the assistant's signed channels
(assistant/connectors/, Sanic, run by the Rasa server in ``.venv-rasa``).

Twilio signs the exact URL it requested (our public base URL + the path + ``?query``) and the
form fields it posted, blank ones included. This module rebuilds that URL, parses the form
keeping blanks and repeated keys, and asks twilio's own ``RequestValidator``.

It imports only the standard library and ``twilio.request_validator`` (no FastAPI, Sanic,
SQLAlchemy or anything else of the hub's), and stays Python 3.10-compatible and works with the
twilio 8.x that Rasa pins as well as twilio 9.x: importing ``hub`` pulls in nothing (its
``__init__`` is a docstring), so the Rasa process can import this module.
"""

from __future__ import annotations

import inspect
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"  # key=…,algorithm=HMAC_SHA256 (signed with a SharedKey)
HMAC_SHA1 = "HMAC_SHA1"  # the account auth token's signature, and the only one twilio < 9 knows

# why a request was refused (None: it was signed by Twilio)
NO_TOKEN = "no Twilio auth token is configured"
NO_SIGNATURE = f"no {SIGNATURE_HEADER} header"
WRONG_SIGNATURE = f"{SIGNATURE_HEADER} does not match"

_VALIDATE_TAKES_ALGORITHM = "algorithm" in inspect.signature(RequestValidator.validate).parameters


class FormParams(dict[str, list[str]]):
    """Form fields as lists of values, blanks and repeats kept (Twilio signs blank fields too).
    ``getlist`` is what ``RequestValidator`` looks for."""

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> FormParams:
        params = cls()
        for key, value in pairs:
            params.setdefault(key, []).append(value)
        return params

    def getlist(self, key: str) -> list[str]:
        return list(self.get(key, []))

    def first(self, key: str, default: str | None = None) -> str | None:
        values = self.get(key)
        return values[0] if values else default


def form_pairs(body: bytes | None, content_type: str | None) -> list[tuple[str, str]]:
    """The (key, value) pairs of a url-encoded form, in order, blanks kept. Anything that is not
    a UTF-8 url-encoded form gives none (Twilio's webhooks post only those; a body of another
    kind is not signed as a form, so its signature then fails)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if body and ctype not in ("", "application/x-www-form-urlencoded"):
        return []
    try:
        text = (body or b"").decode("utf-8")
    except UnicodeDecodeError:
        return []
    return parse_qsl(text, keep_blank_values=True)


def public_url(base: str | None, path: str, query: str = "", seen: str | None = None) -> str:
    """The URL Twilio requested, as it signed it: the public ``base`` (``https://linkage.example.org``,
    perhaps with a path prefix a proxy mounts us under) + ``path`` + ``?query``. A base that already
    ends with the path is taken as the whole webhook URL. Without a base, ``seen`` (the URL as this
    server saw it, which fails behind a proxy)."""
    base = (base or "").strip().rstrip("/")
    if not base:
        return seen or (path + ("?" + query if query else ""))
    url = base if urlsplit(base).path.endswith(path) and path not in ("", "/") else base + path
    return url + ("?" + query if query else "")


def algorithm(settings_header: str | None) -> str:
    """The algorithm named in ``X-Twilio-Webhooks-Signature-Settings`` (HMAC_SHA1 without one)."""
    for part in (settings_header or "").split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            return value.strip()
    return HMAC_SHA1


def refusal(
    token: str | None, url: str, params: object, signature: str | None, settings_header: str | None = None
) -> str | None:
    """None when Twilio signed this request (``url`` and ``params`` as Twilio sent them); else why
    not, one of NO_TOKEN, NO_SIGNATURE, WRONG_SIGNATURE. Never accepts an unsigned request."""
    if not token:
        return NO_TOKEN
    if not signature:
        return NO_SIGNATURE
    validator = RequestValidator(token)
    named = algorithm(settings_header)
    if _VALIDATE_TAKES_ALGORITHM:
        ok = validator.validate(url, params, signature, named)
    else:  # twilio < 9 (the Rasa environment) checks the auth token's HMAC-SHA1 signature only
        ok = named.upper() == HMAC_SHA1 and validator.validate(url, params, signature)
    return None if ok else WRONG_SIGNATURE

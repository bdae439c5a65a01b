"""Secrets at rest: the one place that encrypts and decrypts (issue 12; docs/security.md, "Secrets at rest").

A column typed ``EncryptedText`` (today ``residents.access``, the key-safe codes; DC-09 keys and the
like when they come: give the column this type and nothing else changes) holds
``enc1:<Fernet token>``. Fernet (``cryptography``) is AES-128-CBC with an HMAC-SHA256, keyed by
``LINKAGE_DATA_KEY`` (URL-safe base64 of 32 random bytes). Several keys may be given: the first
encrypts, all of them decrypt (``MultiFernet``), which is how a key is rotated
(``linkage data-key rotate``; docs/operations.md).

The domain never reads the environment: the composition root (``hub/config.py`` reads
``LINKAGE_DATA_KEY``; ``hub/runtime.py`` and ``hub/cli.py``) calls ``use_keys`` once per process.
Without a key, writing a secret raises ``NoDataKey`` and reading an encrypted one raises it
too; with the wrong key, ``WrongDataKey``. ``check_database`` is what a process runs before it
serves: it refuses (``DataKeyError``) when the database holds secrets it could not read, and
seals any value still in plain text (written before 0009_secrets, or by a process without a key).
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import MetaData, Table, Text, func, select, type_coerce, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator

PREFIX = "enc1:"
ACCESS_PLACEHOLDER = "[access note]"  # what stored copies (messages, audit, exports) carry instead of an access note
SAMPLE = 100  # how many stored secrets a start-up check decrypts


class DataKeyError(RuntimeError):
    """The data key is missing, malformed or wrong: the process stops with this message."""


class NoDataKey(DataKeyError):
    pass


class WrongDataKey(DataKeyError):
    pass


NO_KEY = (
    "LINKAGE_DATA_KEY is not set: access notes are encrypted at rest with it. Set it to the key this "
    "database was encrypted with (`make run` keeps one in var/data.key; `linkage data-key new` makes a new one "
    "for a new database)"
)


def new_key() -> str:
    """A new Fernet key (URL-safe base64 of 32 random bytes from the OS)."""
    return Fernet.generate_key().decode("ascii")


def _fernet(key: str, position: int) -> Fernet:
    try:
        return Fernet(key.strip().encode("ascii"))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise DataKeyError(
            f"LINKAGE_DATA_KEY: key {position} is not a Fernet key (URL-safe base64 of 32 bytes, "
            "44 characters; `linkage data-key new` makes one)"
        ) from None


class Keyring:
    """One or more keys: the first encrypts, every one decrypts."""

    def __init__(self, keys: Sequence[str]):
        keys = [k.strip() for k in keys if k and k.strip()]
        if not keys:
            raise NoDataKey(NO_KEY)
        self.keys = tuple(keys)
        self._multi = MultiFernet([_fernet(k, i + 1) for i, k in enumerate(keys)])

    def encrypt(self, text: str) -> str:
        return PREFIX + self._multi.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if not is_encrypted(stored):
            return stored
        try:
            return self._multi.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise WrongDataKey(
                "LINKAGE_DATA_KEY does not decrypt the access notes in this database: it is not the key "
                "they were encrypted with (during a rotation give both keys, new first: "
                "LINKAGE_DATA_KEY=NEW,OLD)"
            ) from None

    def rotate(self, stored: str) -> str:
        """``stored`` encrypted again with the first key (a plain value is encrypted)."""
        return self.encrypt(self.decrypt(stored))


_current: Keyring | None = None


def use_keys(keys: Keyring | Sequence[str] | None) -> Keyring | None:
    """Set this process's keys (``None`` or empty: none). Returns the keyring in use."""
    global _current
    _current = keys if isinstance(keys, Keyring) or keys is None else (Keyring(keys) if any(keys) else None)
    return _current


def keyring() -> Keyring | None:
    return _current


def is_encrypted(value: str | None) -> bool:
    return bool(value) and str(value).startswith(PREFIX)


def encrypt(text: str) -> str:
    if _current is None:
        raise NoDataKey(NO_KEY)
    return _current.encrypt(text)


def decrypt(stored: str) -> str:
    if not is_encrypted(stored):
        return stored
    if _current is None:
        raise NoDataKey(NO_KEY)
    return _current.decrypt(stored)


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with the process's data key on the way in, decrypted on the way out.
    (Equality in SQL cannot work on it: every encryption differs. Nothing needs it.)"""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        value = str(value)
        return value if is_encrypted(value) else encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(str(value))


def encrypted_columns(metadata: MetaData) -> list[tuple[Table, str]]:
    """Every (table, column name) typed EncryptedText."""
    return [(t, c.name) for t in metadata.sorted_tables for c in t.columns if isinstance(c.type, EncryptedText)]


@dataclass
class Census:
    encrypted: int = 0
    plain: int = 0

    @property
    def total(self) -> int:
        return self.encrypted + self.plain


def _raw(table: Table, name: str) -> Any:
    return type_coerce(table.c[name], Text)  # the stored text, not decrypted


def census(conn: Connection, metadata: MetaData) -> Census:
    out = Census()
    for table, name in encrypted_columns(metadata):
        col = _raw(table, name)
        total = conn.scalar(select(func.count()).select_from(table).where(table.c[name].is_not(None))) or 0
        enc = conn.scalar(select(func.count()).select_from(table).where(col.like(PREFIX + "%"))) or 0
        out.encrypted += enc
        out.plain += total - enc
    return out


def _pk(table: Table) -> Any:
    (pk,) = table.primary_key.columns
    return pk


def check_database(conn: Connection, metadata: MetaData) -> Census:
    """Refuse (DataKeyError) when ``conn``'s database holds secrets this process cannot read: any
    at all without a key, or a sample that the key does not decrypt. With a key, values still in
    plain text are encrypted (in ``conn``'s transaction). Returns what it found."""
    found = census(conn, metadata)
    if found.total and _current is None:
        raise NoDataKey(
            f"the database holds {found.total} access note{'s' if found.total != 1 else ''} "
            f"({found.encrypted} encrypted) and {NO_KEY}"
        )
    if _current is None:
        return found
    for table, name in encrypted_columns(metadata):
        col = _raw(table, name)
        for (stored,) in conn.execute(select(col).where(col.like(PREFIX + "%")).order_by(_pk(table)).limit(SAMPLE)):
            _current.decrypt(stored)
    if found.plain:
        seal_plain(conn, metadata)
    return found


def _rewrite(conn: Connection, metadata: MetaData, change: Any, only_plain: bool) -> int:
    n = 0
    for table, name in encrypted_columns(metadata):
        col, pk = _raw(table, name), _pk(table)
        q = select(pk, col).where(table.c[name].is_not(None))
        if only_plain:
            q = q.where(col.not_like(PREFIX + "%"))
        rows = list(conn.execute(q))
        for ident, stored in rows:
            conn.execute(update(table).where(pk == ident).values({name: type_coerce(change(stored), Text)}))
        n += len(rows)
    return n


def seal_plain(conn: Connection, metadata: MetaData) -> int:
    """Encrypt every secret still stored in plain text; returns how many."""
    ring = _current
    if ring is None:
        raise NoDataKey(NO_KEY)
    return _rewrite(conn, metadata, ring.encrypt, only_plain=True)


def reencrypt_all(conn: Connection, metadata: MetaData, ring: Keyring) -> int:
    """Every secret decrypted with ``ring``'s keys and encrypted again with its first key, in
    ``conn``'s transaction (all or nothing); returns how many."""
    return _rewrite(conn, metadata, ring.rotate, only_plain=False)


def replace_all(text: str, secrets: Iterable[str], placeholder: str = ACCESS_PLACEHOLDER) -> str:
    """``text`` with every one of ``secrets`` (longest first) replaced by the placeholder."""
    for value in sorted({s for s in secrets if s and s.strip()}, key=len, reverse=True):
        text = text.replace(value, placeholder)
    return text


__all__ = [
    "PREFIX",
    "ACCESS_PLACEHOLDER",
    "DataKeyError",
    "NoDataKey",
    "WrongDataKey",
    "Keyring",
    "new_key",
    "use_keys",
    "keyring",
    "is_encrypted",
    "encrypt",
    "decrypt",
    "EncryptedText",
    "encrypted_columns",
    "Census",
    "census",
    "check_database",
    "seal_plain",
    "reencrypt_all",
    "replace_all",
]

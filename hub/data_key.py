"""The data key at the composition root: every process that opens the database with access notes
in it (``linkage hub``, and the CLI commands that read or write them) gives
telecare.storage.secrets its keys from ``LINKAGE_DATA_KEY`` (hub.config.data_keys), migrates, and
then checks that it can read what is stored; it refuses with a message otherwise
(docs/security.md, "Secrets at rest"; the rotation procedure: docs/operations.md)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import Engine

import telecare.models  # noqa: F401  (every table, so every encrypted column is known)
from telecare.storage import secrets, upgrade
from telecare.storage.base import Base


def open_database(engine: Engine) -> secrets.Census:
    """Migrate (0009 encrypts plain notes when there is a key), then refuse (DataKeyError) if the
    database holds secrets this process cannot read; seal any still in plain text."""
    upgrade(engine)
    with engine.begin() as conn:
        return secrets.check_database(conn, Base.metadata)


def rotate(engine: Engine, new_key: str) -> int:
    """Re-encrypt every secret with ``new_key`` (the current keys still decrypt), in one
    transaction; returns how many. The process then uses ``new_key`` alone."""
    current = secrets.keyring()
    old = list(current.keys) if current is not None else []
    ring = secrets.Keyring([new_key, *old])
    with engine.begin() as conn:
        n = secrets.reencrypt_all(conn, Base.metadata, ring)
    secrets.use_keys([new_key])
    return n


def write_key_file(path: Path, key: str) -> None:
    """``key`` into ``path``, mode 0600 from the start (never readable by others, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)

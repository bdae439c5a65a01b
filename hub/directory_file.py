"""Loading the directory of services from its YAML file: ``linkage directory load`` and, on an
empty directory, the hub's start (``LINKAGE_DIRECTORY``, default data/directory/services.yml)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import func, select

from telecare.clock import Clock
from telecare.directory.loader import DirectoryError, LoadReport, load_directory
from telecare.directory.models import Service

log = logging.getLogger("linkage.directory")


def load_file(sessions, path: str | Path, clock: Clock) -> LoadReport:
    """Load ``path`` in one transaction. Raises DirectoryError (nothing loaded) or OSError."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    with sessions() as s, s.begin():
        return load_directory(s, text, clock.now(), source=str(path))


def load_if_empty(sessions, path: str | Path | None, clock: Clock) -> LoadReport | None:
    """At hub start: load the directory file when no service is known yet. A missing or bad
    file is logged, never fatal: the hub's alarms matter more than its directory."""
    if not path or str(path).lower() in ("off", "none"):
        return None
    try:
        with sessions() as s:
            if s.scalar(select(func.count()).select_from(Service)):
                return None
        if not Path(path).is_file():
            log.warning(
                "no directory of services at %s (LINKAGE_DIRECTORY); the assistant has nothing to offer "
                "until one is loaded with `linkage directory load FILE`",
                path,
            )
            return None
        report = load_file(sessions, path, clock)
    except DirectoryError as exc:
        log.error("the directory of services was not loaded: %s", exc)
        return None
    except Exception:  # noqa: BLE001  (another hub loading it at the same moment, a database hiccup...)
        log.exception("could not load the directory of services from %s", path)
        return None
    log.info("directory of services loaded from %s: %s", path, report.summary())
    return report

"""What the actions need from the process that hosts them: database sessions and a clock."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telecare.clock import Clock, SystemClock


@dataclass
class ActionContext:
    sessions: Callable[[], Any]  # a SQLAlchemy sessionmaker
    clock: Clock


_current: ActionContext | None = None


def configure(sessions, clock: Clock | None = None) -> ActionContext:
    global _current
    _current = ActionContext(sessions, clock or SystemClock())
    return _current


def current() -> ActionContext:
    if _current is None:
        raise RuntimeError("the actions have no database: call actions.context.configure(sessions, clock) first")
    return _current

"""What the actions need from the process that hosts them: database sessions and a clock."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

import telecare.handlers  # noqa: F401  (the domain's subscriptions, telecare.bus)
from telecare.clock import Clock, SystemClock


@dataclass
class ActionContext:
    sessions: Callable[[], Any]  # a SQLAlchemy sessionmaker
    clock: Clock


_current: ActionContext | None = None
# the hub running this action call (set per call by the hub that hosts the actions), so two hubs
# in one process (tests) never write into each other's database; else the configured one
_scoped: ContextVar[ActionContext | None] = ContextVar("linkage_action_context", default=None)


def use(ctx: ActionContext) -> Token:
    return _scoped.set(ctx)


def reset(token: Token) -> None:
    _scoped.reset(token)


def configure(sessions, clock: Clock | None = None) -> ActionContext:
    global _current
    _current = ActionContext(sessions, clock or SystemClock())
    return _current


def current() -> ActionContext:
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    if _current is None:
        raise RuntimeError("the actions have no database: call actions.context.configure(sessions, clock) first")
    return _current

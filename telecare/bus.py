"""The message bus: domain events recorded on the unit of work (the SQLAlchemy session) and
handed to whoever subscribed (*Architecture Patterns with Python*, chapters 8 and 9).

Two kinds of subscriber:

* **in the transaction** (``subscribe``): called at once, in the caller's transaction, when
  the event is recorded. Used where the reaction must commit or fail with the change
  (escalation starting when an alert opens, a check-in attempt failing with its
  notification). The domain's own subscriptions are made in ``telecare.handlers``; every
  entry point imports it (``hub``, ``actions``, the tests, the bench), and recording an
  event before it has been imported is an error, never a silently skipped escalation.
* **after commit** (``AfterCommit``): an adapter's reaction to what was committed (wake the
  dispatcher, publish the outbox, tell the live board, set escalation timers). Each
  subscriber is called once per commit with every event of its type from that transaction,
  so a batch of a thousand ingested events costs one call, not a thousand.

The publishing package only knows ``telecare.domain_events`` and this module; nobody calls
back up into the packages that react.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("linkage.bus")

E = TypeVar("E")
_KEY = "linkage.events"
InTransaction = Callable[[Session, Any], None]
AfterCommitHandler = Callable[[list[Any]], None]

_subscribers: dict[type, list[InTransaction]] = defaultdict(list)
_wired = False


class NotWired(RuntimeError):
    """An event was recorded before ``telecare.handlers`` made the domain's subscriptions."""


def subscribe(event_type: type, handler: InTransaction) -> None:
    """``handler(session, event)`` runs inside the transaction that records ``event_type``."""
    if handler not in _subscribers[event_type]:
        _subscribers[event_type].append(handler)


def wired() -> None:
    """Called by ``telecare.handlers`` once every subscription is made."""
    global _wired
    _wired = True


def record(session: Session, event: Any) -> None:
    """Record ``event`` on the session's unit of work and run its in-transaction handlers."""
    if not _wired:
        raise NotWired("import telecare.handlers before using the domain: it makes the subscriptions")
    tx = session.get_transaction()
    entry = session.info.get(_KEY)
    if entry is None or entry[0] is not tx:  # a session without AfterCommit keeps only this transaction's
        entry = session.info[_KEY] = (tx, [])
    entry[1].append(event)
    for handler in _subscribers.get(type(event), ()):
        handler(session, event)


def recorded(session: Session, event_type: type[E] | None = None) -> list[E]:
    """The events recorded in the session's current transaction (of ``event_type``, if given)."""
    events = session.info.get(_KEY, (None, []))[1]
    return [e for e in events if event_type is None or isinstance(e, event_type)]


def discard(session: Session) -> list[Any]:
    """Forget what the session recorded (a dry run, a rollback); returns it."""
    events: list[Any] = session.info.pop(_KEY, (None, []))[1]
    return events


class AfterCommit:
    """After-commit subscriptions for one session factory (one hub runtime)."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[AfterCommitHandler]] = defaultdict(list)
        self._any: list[AfterCommitHandler] = []

    def subscribe(self, event_type: type, handler: AfterCommitHandler) -> AfterCommit:
        """``handler(events)``: once per commit that recorded ``event_type``, with all of them."""
        self._handlers[event_type].append(handler)
        return self

    def subscribe_any(self, handler: AfterCommitHandler) -> AfterCommit:
        """``handler(events)``: once per commit that recorded anything at all."""
        self._any.append(handler)
        return self

    def attach(self, sessions: sessionmaker[Session]) -> AfterCommit:
        sa_event.listen(sessions, "after_commit", self._after_commit)
        sa_event.listen(sessions, "after_rollback", discard)
        return self

    def _after_commit(self, session: Session) -> None:
        self.dispatch(discard(session))

    def dispatch(self, events: Iterable[Any]) -> None:
        events = list(events)
        if not events:
            return
        by_type: dict[type, list[Any]] = defaultdict(list)
        for e in events:
            by_type[type(e)].append(e)
        for event_type, batch in by_type.items():
            for handler in self._handlers.get(event_type, ()):
                self._call(handler, batch)
        for handler in self._any:
            self._call(handler, events)

    @staticmethod
    def _call(handler: AfterCommitHandler, batch: list[Any]) -> None:
        try:
            handler(batch)
        except Exception:  # noqa: BLE001  (a side effect must never break a commit)
            log.exception("after-commit handler %s failed", getattr(handler, "__qualname__", handler))


__all__ = ["subscribe", "wired", "record", "recorded", "discard", "AfterCommit", "NotWired"]

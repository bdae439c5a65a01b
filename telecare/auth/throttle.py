"""Login throttling, per account and per client address, kept in the database.

Each attempt is counted *before* the password is checked (so attempts running at the same time
count too) and the count is cleared when the login succeeds. For each key (``user:<name>``,
whether or not such a user exists, so the answers never tell; and ``addr:<client address>``):

* the first ``FREE`` consecutive failures cost nothing;
* after that each attempt must wait an increasing delay (2 s, 4 s, 8 s, 16 s, 32 s): until it
  has passed the login is refused at once (HTTP 429 with Retry-After), the password unchecked;
* the ``LOCK_AFTER``-th consecutive failure locks the key for ``LOCK_FOR`` (15 minutes); a
  failure right after a lock locks it again; ``RESET_AFTER`` without a failure forgets the run;
* an administrator can unlock a key (console users page, or ``linkage user unlock``).

No worker sleeps: a refusal says when to come back. The clock is injected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import LoginThrottle

FREE = 5
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=15)
RESET_AFTER = timedelta(minutes=15)
MAX_DELAY = timedelta(seconds=60)


@dataclass
class Refusal:
    retry_after: int  # whole seconds
    locked: bool


def user_key(username: str) -> str:
    return "user:" + (username or "").strip().lower()[:100]


def addr_key(address: str | None) -> str:
    return "addr:" + (address or "unknown")[:100]


def delay_after(failures: int) -> timedelta:
    if failures < FREE:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE + 1)), MAX_DELAY)


def _row(s: Session, key: str) -> LoginThrottle:
    q = select(LoginThrottle).where(LoginThrottle.key == key)
    row = s.scalars(q.with_for_update()).first()
    if row is None:
        try:
            with s.begin_nested():
                row = LoginThrottle(key=key, failures=0)
                s.add(row)
                s.flush()
        except IntegrityError:  # another process made it just now
            row = s.scalars(q.with_for_update()).one()
    return row


def _fresh(row: LoginThrottle, now: datetime) -> None:
    """Forget a run of failures that ended long enough ago."""
    last = max([t for t in (row.last_failure_at, row.locked_until) if t is not None], default=None)
    if last is not None and now - last >= RESET_AFTER and not (row.locked_until and row.locked_until > now):
        row.failures, row.retry_at, row.locked_until = 0, None, None


def _refusal(row: LoginThrottle, now: datetime) -> Refusal | None:
    if row.locked_until is not None and row.locked_until > now:
        return Refusal(max(1, int((row.locked_until - now).total_seconds() + 0.999)), True)
    if row.retry_at is not None and row.retry_at > now:
        return Refusal(max(1, int((row.retry_at - now).total_seconds() + 0.999)), False)
    return None


def begin_attempt(s: Session, keys: list[str], now: datetime) -> Refusal | None:
    """Refuse (and count nothing) if any key must wait; otherwise count this attempt as a failure
    against every key until ``succeeded`` clears it. Call in a transaction of its own, committed
    before the password is checked."""
    rows = [_row(s, k) for k in sorted(set(keys))]
    refusals = []
    for row in rows:
        _fresh(row, now)
        r = _refusal(row, now)
        if r is not None:
            refusals.append(r)
    if refusals:
        return max(refusals, key=lambda r: (r.locked, r.retry_after))
    for row in rows:
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= LOCK_AFTER:
            row.locked_until, row.retry_at = now + LOCK_FOR, None
        else:
            d = delay_after(row.failures)
            row.retry_at = now + d if d else None
    return None


def forget_old(s: Session, now: datetime) -> int:
    """Delete runs that are over (what ``_fresh`` would reset), so sprayed usernames do not pile up.
    Run it in a transaction of its own."""
    return (
        cast(
            CursorResult[Any],
            s.execute(
                delete(LoginThrottle).where(  # a DELETE's result is a CursorResult
                    LoginThrottle.last_failure_at < now - RESET_AFTER,
                    LoginThrottle.locked_until.is_(None) | (LoginThrottle.locked_until < now - RESET_AFTER),
                )
            ),
        ).rowcount
        or 0
    )


def succeeded(s: Session, keys: list[str]) -> None:
    s.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(list(keys))))


def unlock(s: Session, key: str) -> bool:
    return bool(cast(CursorResult[Any], s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))).rowcount)


@dataclass
class Held:
    key: str
    kind: str  # account | address
    who: str
    failures: int
    until: datetime
    locked: bool


def held(s: Session, now: datetime) -> list[Held]:
    """Keys locked or waiting out a delay now (for the administrators' page)."""
    rows = s.scalars(
        select(LoginThrottle)
        .where((LoginThrottle.locked_until > now) | (LoginThrottle.retry_at > now))
        .order_by(LoginThrottle.key)
    )
    out = []
    for r in rows:
        kind, _, who = r.key.partition(":")
        locked = bool(r.locked_until and r.locked_until > now)
        until = r.locked_until if locked else r.retry_at
        assert until is not None  # the query keeps keys locked or delayed past now
        out.append(Held(r.key, "account" if kind == "user" else "address", who, r.failures, until, locked))
    return out


__all__ = [
    "FREE",
    "LOCK_AFTER",
    "LOCK_FOR",
    "Refusal",
    "user_key",
    "addr_key",
    "begin_attempt",
    "succeeded",
    "unlock",
    "held",
    "Held",
    "delay_after",
    "forget_old",
]

"""Limits on what one message and one sender may cost the assistant.

Plain Python (stdlib only, 3.10-compatible) so the Rasa channels (``.venv-rasa``) and the hub
(``.venv``) share it.

``cut(text)``
    An assistant message is cut to ``MAX_MESSAGE_CHARS`` (at a word boundary when one is
    near) before NLU and the emergency rules see it; the channel adds ``CUT_NOTICE`` to the
    reply so the person knows.

``ChatLimits``
    A token bucket per conversation and per client address. ``admit(conversation, client)``
    returns ``None`` (go ahead; one token taken from each bucket) or the seconds to wait.
    Configured by ``LINKAGE_CHAT_LIMITS``:

    * unset or blank: the default, ``conversation=20/60s,client=120/60s``;
    * ``off``: no limits (load tests and benchmarks);
    * a spec: comma-separated ``conversation=N/P``, ``client=N/P`` (N messages per period P,
      P a number with an optional unit ``s``, ``m`` or ``h``; ``off`` for that one alone) and
      ``keys=N`` (how many conversations and how many client addresses are remembered).
      A kind not named keeps its default. A bad spec raises ``ValueError`` naming the problem.

    Memory is bounded: each kind remembers at most ``keys`` buckets (default 10,000); a bucket
    that has refilled completely is forgotten first (it is the same as a new one), then the
    least recently used. An attacker inventing millions of conversation ids therefore costs a
    fixed amount of memory, and still meets the per-client bucket. An empty key (a client
    address the channel could not learn) is not limited by that kind, rather than making all
    such callers share one bucket.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import OrderedDict
from typing import Callable, Dict, Mapping, Optional, Tuple

MAX_MESSAGE_CHARS = 1000
CUT_NOTICE = "Your message was long, so I read the first 1,000 characters."

ENV = "LINKAGE_CHAT_LIMITS"
DEFAULT_SPEC = "conversation=20/60s,client=120/60s"
DEFAULT_KEYS = 10_000

# How far back from the limit a word boundary may be and still be used for the cut.
_BOUNDARY_WINDOW = 100


def cut(text: str) -> Tuple[str, bool]:
    """``text`` cut to ``MAX_MESSAGE_CHARS`` (at a word boundary if one is within the last
    100 characters, else exactly at the limit) and whether it was cut."""
    if text is None:
        return "", False
    if len(text) <= MAX_MESSAGE_CHARS:
        return text, False
    head = text[:MAX_MESSAGE_CHARS]
    if not text[MAX_MESSAGE_CHARS].isspace():
        # The limit falls inside a word: back up to the last space if it is near.
        for i in range(MAX_MESSAGE_CHARS - 1, MAX_MESSAGE_CHARS - 1 - _BOUNDARY_WINDOW, -1):
            if head[i].isspace():
                head = head[:i]
                break
    head = head.rstrip()
    if not head:  # only spaces before the limit: keep the hard cut rather than nothing
        head = text[:MAX_MESSAGE_CHARS]
    return head, True


_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*(\d{1,9}(?:\.\d{1,6})?)?\s*([smh]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
Rate = Optional[Tuple[int, float]]  # (messages, per seconds); None: not limited


def _parse_rate(name: str, value: str) -> Rate:
    if value.strip().lower() == "off":
        return None
    m = _RATE.match(value)
    if not m:
        raise ValueError(
            f"{ENV}: {name}={value!r} is not a rate; write it as N/Ps, e.g. {name}=20/60s "
            f"(units s, m or h), or {name}=off"
        )
    count = int(m.group(1))
    period = float(m.group(2) or "1") * _UNITS[m.group(3).lower()]
    if count < 1 or period <= 0:
        raise ValueError(f"{ENV}: {name}={value!r}: the count and the period must both be above zero")
    return count, period


def parse_spec(spec: Optional[str]) -> Optional[Dict[str, object]]:
    """The settings a ``LINKAGE_CHAT_LIMITS`` value stands for, or ``None`` for ``off``."""
    text = (spec or "").strip()
    if text.lower() == "off":
        return None
    settings: Dict[str, object] = {"conversation": (20, 60.0), "client": (120, 60.0), "keys": DEFAULT_KEYS}
    if not text:
        return settings
    seen = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep:
            raise ValueError(f"{ENV}: {part!r} has no '='; expected e.g. {DEFAULT_SPEC!r}, or 'off'")
        if name in seen:
            raise ValueError(f"{ENV}: {name!r} is given twice")
        seen.add(name)
        if name in ("conversation", "client"):
            settings[name] = _parse_rate(name, value)
        elif name == "keys":
            value = value.strip()
            if not value.isdigit() or not (1 <= int(value) <= 10_000_000):
                raise ValueError(f"{ENV}: keys={value!r} must be a whole number from 1 to 10000000")
            settings["keys"] = int(value)
        else:
            raise ValueError(
                f"{ENV}: unknown setting {name!r}; known: conversation, client, keys "
                f"(e.g. {DEFAULT_SPEC!r}), or the whole value 'off'"
            )
    return settings


class _Buckets:
    """Token buckets for one kind of key, at most ``size`` of them remembered."""

    def __init__(self, count: int, period: float, size: int) -> None:
        self.capacity = float(count)
        self.rate = count / period  # tokens per second
        self.refill_time = period  # an empty bucket is full again after this long
        self.size = size
        self._items: OrderedDict[str, Tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def tokens(self, key: str, now: float) -> float:
        entry = self._items.get(key)
        if entry is None:
            return self.capacity
        tokens, at = entry
        return min(self.capacity, tokens + max(0.0, now - at) * self.rate)

    def wait(self, tokens: float) -> float:
        """Seconds until one token is there."""
        return max(0.0, (1.0 - tokens) / self.rate)

    def take(self, key: str, tokens: float, now: float) -> None:
        self._items[key] = (tokens - 1.0, now)
        self._items.move_to_end(key)
        self._forget(now)

    def _forget(self, now: float) -> None:
        # Oldest first: a bucket idle long enough to be full again is the same as none.
        while self._items:
            key, (tokens, at) = next(iter(self._items.items()))
            if len(self._items) > self.size or tokens + max(0.0, now - at) * self.rate >= self.capacity:
                del self._items[key]
            else:
                break

    def __len__(self) -> int:
        return len(self._items)


class ChatLimits:
    """Per-conversation and per-client-address rate limits (token buckets)."""

    def __init__(
        self,
        conversation: Rate = (20, 60.0),
        client: Rate = (120, 60.0),
        *,
        keys: int = DEFAULT_KEYS,
        enabled: bool = True,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self.now = now
        self.conversation = _Buckets(conversation[0], conversation[1], keys) if enabled and conversation else None
        self.client = _Buckets(client[0], client[1], keys) if enabled and client else None

    @classmethod
    def parse(cls, spec: Optional[str], now: Callable[[], float] = time.monotonic) -> ChatLimits:
        settings = parse_spec(spec)
        if settings is None:
            return cls(None, None, enabled=False, now=now)
        return cls(
            settings["conversation"],
            settings["client"],
            keys=int(settings["keys"]),  # type: ignore[arg-type]
            now=now,
        )

    @classmethod
    def from_env(
        cls, environ: Optional[Mapping[str, str]] = None, now: Callable[[], float] = time.monotonic
    ) -> ChatLimits:
        """From ``LINKAGE_CHAT_LIMITS`` (see the module's docstring); raises ``ValueError``
        with a clear message on a bad value."""
        env = os.environ if environ is None else environ
        return cls.parse(env.get(ENV), now=now)

    def describe(self) -> str:
        """For a log line at start."""
        if not self.enabled or (self.conversation is None and self.client is None):
            return "off"
        parts = []
        for name, b in (("conversation", self.conversation), ("client", self.client)):
            if b is None:
                parts.append(f"{name}=off")
            else:
                parts.append(f"{name}={int(b.capacity)}/{b.refill_time:g}s")
        return ",".join(parts)

    def admit(self, conversation: str, client: str) -> Optional[float]:
        """``None``: go ahead (a message is counted against both); else the seconds to wait
        (nothing is counted)."""
        if not self.enabled:
            return None
        now = self.now()
        checks = []
        for buckets, key in ((self.conversation, conversation), (self.client, client)):
            if buckets is None or not key:
                continue
            checks.append((buckets, key, buckets.tokens(key, now)))
        wait = 0.0
        for buckets, _key, tokens in checks:
            if tokens < 1.0:
                wait = max(wait, buckets.wait(tokens))
        if wait > 0.0:
            # Round up a little so that a caller who waits exactly this long is admitted.
            return math.ceil(wait * 1000.0) / 1000.0
        for buckets, key, tokens in checks:
            buckets.take(key, tokens, now)
        return None

    def remembered(self) -> Tuple[int, int]:
        """How many conversation and client buckets are held (for tests and metrics)."""
        return (len(self.conversation) if self.conversation else 0, len(self.client) if self.client else 0)

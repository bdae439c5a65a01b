"""The board's live updates: one watcher per hub, server-sent events per browser.

The watcher notices alert changes two ways: the hub pokes it when it changes something
itself (API and console actions, ingest opening alerts, escalation timers, replies), and
while anyone is watching it also looks at the newest timeline entry once a second, which
catches changes made by another process too. Browsers get an ``alerts`` event and fetch the
board's fragment again; they also refresh every 30 s so ages stay right.

Each console user may hold at most ``MAX_STREAMS_PER_USER`` streams at once (a few tabs and a
wall screen); the next is refused with 429 until one closes, so one login cannot tie up the
hub's connections.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from telecare.alert import queries as alert_queries

log = logging.getLogger("linkage.console")
POLL_S = 1.0
IDLE_STOP_S = 30.0
MAX_STREAMS_PER_USER = 4


class Slot:
    """One stream's place in its user's allowance; given back once, however the stream ends."""

    def __init__(self, feed: LiveFeed, user_id: int):
        self.feed, self.user_id, self._open = feed, user_id, True

    def release(self) -> None:
        with self.feed._lock:
            if self._open:
                self._open = False
                n = self.feed._streams.get(self.user_id, 0) - 1
                if n > 0:
                    self.feed._streams[self.user_id] = n
                else:
                    self.feed._streams.pop(self.user_id, None)


class LiveFeed:
    def __init__(self, hub):
        self.hub = hub
        self.version = 0
        self._mark: tuple | None = None
        self._poke = threading.Event()
        self._lock = threading.Lock()
        self._watchers = 0
        self._thread: threading.Thread | None = None
        self._streams: dict[int, int] = {}  # console user id -> open streams
        self.max_per_user = MAX_STREAMS_PER_USER

    def open_slot(self, user_id: int) -> Slot | None:
        """A place for one more stream for this user, or None if they have ``max_per_user`` open."""
        with self._lock:
            if self._streams.get(user_id, 0) >= self.max_per_user:
                return None
            self._streams[user_id] = self._streams.get(user_id, 0) + 1
        return Slot(self, user_id)

    def poke(self) -> None:
        self._poke.set()

    def _look(self) -> None:
        with self.hub.sessions() as s:
            mark = alert_queries.change_mark(s)
        if mark != self._mark:
            self._mark = mark
            self.version += 1

    def _run(self) -> None:
        idle_since = None
        while True:
            poked = self._poke.wait(POLL_S)
            self._poke.clear()
            try:
                self._look()
                if poked:
                    self.version += 1  # a change the marks may not show (an update without a new entry)
            except Exception:  # noqa: BLE001  (the database may be restarting; try again)
                log.exception("live feed could not look at the alerts")
            with self._lock:
                if self._watchers == 0:
                    idle_since = idle_since or time.monotonic()
                    if (
                        time.monotonic() - idle_since > IDLE_STOP_S
                        or getattr(self.hub, "_stop", threading.Event()).is_set()
                    ):
                        self._thread = None
                        return
                else:
                    idle_since = None

    def _ensure(self) -> None:
        with self._lock:
            self._watchers += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="console-live", daemon=True)
                self._thread.start()

    def _leave(self) -> None:
        with self._lock:
            self._watchers -= 1

    async def events(self, request, heartbeat_s: float = 15.0, slot: Slot | None = None):
        """An async generator of SSE dicts for one browser."""
        self._ensure()
        try:
            seen = self.version
            yield {"event": "hello", "data": str(seen)}
            waited = 0.0
            while True:
                if await request.is_disconnected():
                    return
                if self.version != seen:
                    seen = self.version
                    waited = 0.0
                    yield {"event": "alerts", "data": str(seen)}
                await asyncio.sleep(0.25)
                waited += 0.25
                if waited >= heartbeat_s:
                    waited = 0.0
                    yield {"comment": "keep-alive"}
        finally:
            self._leave()
            if slot is not None:
                slot.release()

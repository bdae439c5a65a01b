"""Hands queued notifications to the notifier, soon after the commit that queued them."""
from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import sessionmaker

from telecare.clock import Clock, SystemClock
from telecare.notification import service

log = logging.getLogger("linkage.dispatch")


class Dispatcher:
    def __init__(self, sessions: sessionmaker, notifier, clock: Clock | None = None, interval: float = 1.0):
        self.sessions = sessions
        self.notifier = notifier
        self.clock = clock or SystemClock()
        self.interval = interval
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Dispatcher:
        with self.sessions() as s, s.begin():
            n = service.requeue_stuck(s)
        if n:
            log.warning("%d notifications were mid-send at the last stop; sending again", n)
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.wake.wait(self.interval)
            self.wake.clear()
            try:
                while self.run_once():
                    pass
            except Exception:  # noqa: BLE001
                log.exception("dispatch failed")

    def run_once(self) -> int:
        with self.sessions() as s, s.begin():
            items = service.claim(s, self.clock.now())
        for item in items:
            sent = service.send(self.notifier, item)
            with self.sessions() as s, s.begin():
                service.record_sent(s, item[0], sent, self.clock.now())
        return len(items)

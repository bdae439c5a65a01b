"""Hands queued notifications to the notifier, soon after the commit that queued them."""

from __future__ import annotations

import logging

from sqlalchemy.orm import sessionmaker

from telecare.clock import Clock, SystemClock
from telecare.notification import service

from ..worker import Worker

log = logging.getLogger("linkage.dispatch")


class Dispatcher:
    def __init__(self, sessions: sessionmaker, notifier, clock: Clock | None = None, interval: float = 1.0):
        self.sessions = sessions
        self.notifier = notifier
        self.clock = clock or SystemClock()
        self.interval = interval
        # a full claim goes round again at once; otherwise it sleeps until woken (NotificationQueued) or a second
        self.worker = Worker("dispatcher", self.run_once, interval=interval, wait_first=True, logger=log)
        self.wake = self.worker.wake_event

    def start(self) -> Dispatcher:
        with self.sessions() as s, s.begin():
            n = service.requeue_stuck(s)
        if n:
            log.warning("%d notifications were mid-send at the last stop; sending again", n)
        self.worker.start()
        return self

    def stop(self) -> None:
        self.worker.stop()

    def run_once(self) -> int:
        with self.sessions() as s, s.begin():
            items = service.claim(s, self.clock.now())
        for item in items:
            sent = service.send(self.notifier, item)
            with self.sessions() as s, s.begin():
                service.record_sent(s, item[0], sent, self.clock.now())
        return len(items)

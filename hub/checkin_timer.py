"""The hub's check-in timer: one worker thread (hub/worker.py) that starts the check-ins that
are due and moves their attempts on (telecare.checkin.service), and on the side sweeps the
watch (telecare.watch.service) and queues the introductions' follow-ups
(telecare.enquiry.followup). The URL paths under ``/api/wellbeing`` keep their names.

Why not one APScheduler job per check-in, as for escalation timers: 100,000 daily check-ins
would be 100,000 pickled jobs in ``apscheduler_jobs``, rewritten every day. The due times
already live on indexed rows (``checkin_schedules.next_due_at``, ``checkins.next_at``,
``watch_states.due_at``), so the thread reads the earliest, sleeps until then (at most
``max_wait``, so a schedule written by another process, say ``linkage load`` or ``linkage
checkin start``, is seen within a second), and starts everything due in batches of
``batch``, each batch one transaction. A start is committed together with the schedule's
move to the next day, so after a crash (even SIGKILL) nothing is lost and nothing is done
twice: what was not committed is still due, and runs at once after the restart.

Once a minute the same thread also queues the follow-ups of the assistant's introductions
that have fallen due (telecare.enquiry.followup.send_due), in a transaction of their own: a
failure there is logged and never holds up a check-in.
"""

from __future__ import annotations

import logging
import time

from telecare.checkin import schedule as checkin_schedule
from telecare.checkin import service as checkins
from telecare.enquiry import followup
from telecare.watch import service as watch

from .worker import Worker

log = logging.getLogger("linkage.checkin_timer")


class CheckinTimer:
    def __init__(
        self,
        runtime,
        *,
        batch: int = 500,
        max_wait: float = 1.0,
        watch_every: float = 5.0,
        followup_every: float = 60.0,
    ):
        self.runtime = runtime
        self.batch = batch
        self.max_wait = max_wait
        self.watch_every = watch_every
        self.followup_every = followup_every  # introductions' follow-ups (telecare.enquiry.followup)
        self._last_followup: float | None = None
        self._last_watch = 0.0
        self.last_run: float | None = None
        self.started_total = 0
        # a full batch goes round again at once; otherwise it sleeps until the next due time (at most max_wait)
        self.worker = Worker("checkin-timer", self.run_once, interval=max_wait, wait=self._wait, logger=log)
        self.wake = self.worker.wake_event

    def start(self) -> CheckinTimer:
        self.sync()
        self.worker.start()
        return self

    def stop(self) -> None:
        self.worker.stop()

    @property
    def alive(self) -> bool:
        return self.worker.alive

    def sync(self) -> None:
        """Schedules and watches for residents and devices loaded before this hub knew of them."""
        rt = self.runtime
        with rt.sessions() as s, s.begin():
            now = rt.clock.now()
            n = checkin_schedule.sync_missing(s, now)
            w = watch.sync_missing(s, now)
        if n or w:
            log.info("scheduled check-ins for %d residents and watches for %d devices", n, w)

    def _wait(self) -> float:
        rt = self.runtime
        try:
            with rt.sessions() as s:
                nxt = checkins.next_timer(s)
        except Exception:  # noqa: BLE001
            return self.max_wait
        if nxt is None:
            return self.max_wait
        return max(0.0, min(self.max_wait, (nxt - rt.clock.now()).total_seconds()))

    def run_once(self) -> bool:
        """Start what is due, move attempts on, sweep the watch. True if a batch was full."""
        rt = self.runtime
        with rt.sessions() as s, s.begin():
            started = checkins.start_due(s, rt.clock.now(), limit=self.batch)
        self.started_total += len(started)
        full = len(started) >= self.batch
        with rt.sessions() as s:
            ids = checkins.due_attempts(s, rt.clock.now(), limit=self.batch)
        for checkin_id in ids:
            with rt.sessions() as s, s.begin():
                checkins.fire(s, checkin_id, rt.clock.now())
        full = full or len(ids) >= self.batch
        if time.monotonic() - self._last_watch >= self.watch_every:
            self._last_watch = time.monotonic()
            with rt.sessions() as s, s.begin():
                watch.sweep(s, rt.clock.now())
        if self._last_followup is None or time.monotonic() - self._last_followup >= self.followup_every:
            self._last_followup = time.monotonic()
            try:
                with rt.sessions() as s, s.begin():
                    sent = followup.send_due(s, rt.clock.now())
                if sent:
                    log.info("sent %d introduction follow-ups", sent)
            except Exception:  # noqa: BLE001  (a follow-up must never hold up the check-ins)
                log.exception("introduction follow-ups failed")
        self.last_run = time.time()
        return full

"""Timers that survive: APScheduler with its job store in the hub's own database.

Each alert with an escalation timer has one date job ``alert-{id}`` at ``esc_next_at``.
The job store is persistent, so after a stop (even SIGKILL) the jobs are still there and
those that fell due while the hub was down run at once (``misfire_grace_time=None``,
``coalesce=True``). The alert's own ``esc_next_at`` is the truth: at start the jobs are
reconciled with it, and a sweep every few seconds fires anything due that has no job.

Retention (telecare.retention) runs once a UTC day, after 03:00: a job checks every minute whether
today's run is recorded in ``retention_runs`` and, if not, runs it. The record is in the database
and the time is the runtime's clock, so a restart neither skips nor repeats a day and tests can move
time with a FakeClock.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from telecare.alert.models import Alert
from telecare.alert.states import ACTIVE_STATES
from telecare.escalation import engine
from telecare.retention import service as retention

log = logging.getLogger("linkage.scheduler")

_runtime = None  # the HubRuntime whose jobs these are (APScheduler stores a function reference)


def fire_alert(alert_id: int) -> None:
    rt = _runtime
    if rt is None:
        return
    with rt.sessions() as s, s.begin():
        engine.fire(s, alert_id, rt.clock.now())


def sweep() -> None:
    rt = _runtime
    if rt is None:
        return
    with rt.sessions() as s:
        ids = engine.due(s, rt.clock.now())
    for alert_id in ids:
        fire_alert(alert_id)


def retention_tick() -> None:
    """Run today's retention if it is due (once per UTC day across every hub on the database)."""
    rt = _runtime
    if rt is None:
        return
    with rt.sessions() as s, s.begin():
        p = retention.run_if_due(s, rt.clock.now())
    if p is not None:
        log.info(
            "retention: %d rows removed or blanked (%s)",
            p.total,
            "; ".join(f"{k} {sum(v.values())}" for k, v in p.counts().items()),
        )


class Timers:
    def __init__(self, runtime, sweep_seconds: float = 5.0, retention_seconds: float = 60.0):
        global _runtime
        _runtime = runtime
        self.runtime = runtime
        self.scheduler = BackgroundScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(engine=runtime.engine, tablename="apscheduler_jobs"),
                "memory": MemoryJobStore(),
            },
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            timezone="UTC",
        )
        self.sweep_seconds = sweep_seconds
        self.retention_seconds = retention_seconds

    def start(self) -> Timers:
        self.scheduler.start()
        self.scheduler.add_job(
            sweep, "interval", seconds=self.sweep_seconds, id="sweep", jobstore="memory", replace_existing=True
        )
        self.scheduler.add_job(
            retention_tick,
            "interval",
            seconds=self.retention_seconds,
            id="retention",
            jobstore="memory",
            replace_existing=True,
        )
        self.reconcile()
        return self

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def reconcile(self) -> None:
        with self.runtime.sessions() as s:
            rows = s.execute(
                select(Alert.id, Alert.esc_next_at).where(
                    Alert.esc_next_at.is_not(None), Alert.state.in_(ACTIVE_STATES)
                )
            ).all()
        for alert_id, when in rows:
            if self.scheduler.get_job(f"alert-{alert_id}") is None:
                self.set(alert_id, when)
        log.info("timers reconciled: %d alerts have a pending escalation step", len(rows))

    def set(self, alert_id: int, when: datetime | None) -> None:
        job_id = f"alert-{alert_id}"
        if when is None:
            try:
                self.scheduler.remove_job(job_id)
            except Exception:  # noqa: BLE001  (JobLookupError: nothing to remove)
                pass
            return
        self.scheduler.add_job(fire_alert, "date", run_date=when, args=[alert_id], id=job_id, replace_existing=True)

    def changed(self, due: dict[int, datetime | None]) -> None:
        """After a commit: the alerts whose escalation timer moved, and when it is due now
        (None: no timer), from the ``EscalationTimerMoved`` events."""
        for alert_id, when in due.items():
            self.set(alert_id, when)

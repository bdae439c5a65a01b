"""Driving check-ins, the wellbeing watch and escalation together with the FakeClock: a hub
(not started: no threads) whose timers we fire by hand, stopping the clock at each due
time, and whose queued notifications go through the sandbox notifier. A week of daily
calls runs in milliseconds and every call lands at an exact, checkable instant."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from hub.config import Settings
from hub.runtime import HubRuntime
from telecare.alert.models import Alert
from telecare.alert.states import ACTIVE_STATES
from telecare.checkin import replies as checkin_replies
from telecare.checkin import service as checkins
from telecare.checkin.models import Checkin, CheckinAttempt, DriftFlag
from telecare.clock import FakeClock
from telecare.escalation import engine
from telecare.events.ingest import Inbound
from telecare.notification import service as notify
from telecare.notification.models import Notification
from telecare.notification.replies import ReplyResult, handle_reply
from telecare.site.loader import load_site
from telecare.watch import service as watch

from .escalation_helpers import ANNE, JIM, LONDON, NAME, PRIYA, RHYS, SUE, local  # noqa: F401

BETTY = "+447700900001"
_ids = itertools.count(1)


class World:
    """A hub on a FakeClock, driven by hand."""

    def __init__(self, hub: HubRuntime):
        self.hub = hub
        self.clock: FakeClock = hub.clock
        self.sessions = hub.sessions

    # -- time --------------------------------------------------------------------------------------------
    def next_timer(self) -> datetime | None:
        with self.sessions() as s:
            times = [
                checkins.next_timer(s),
                watch.next_due(s),
                s.scalar(select(func.min(Alert.esc_next_at)).where(Alert.state.in_(ACTIVE_STATES))),
            ]
        return min((t for t in times if t is not None), default=None)

    def step(self) -> None:
        """Everything due now, as the hub's threads would do it, then hand queued messages to the sandbox."""
        now = self.clock.now()
        with self.sessions() as s, s.begin():
            checkins.start_due(s, now)
        with self.sessions() as s:
            ids = checkins.due_attempts(s, now)
        for checkin_id in ids:
            with self.sessions() as s, s.begin():
                checkins.fire(s, checkin_id, now)
        with self.sessions() as s:
            alert_ids = engine.due(s, now)
        for alert_id in alert_ids:
            with self.sessions() as s, s.begin():
                engine.fire(s, alert_id, now)
        with self.sessions() as s, s.begin():
            watch.sweep(s, now)
        while self.hub.dispatcher.run_once():
            pass

    def run_until(self, until: datetime) -> None:
        for _ in range(100_000):
            nxt = self.next_timer()
            if nxt is None or nxt > until:
                break
            if nxt > self.clock.now():
                self.clock.set(nxt)
            self.step()
        else:  # pragma: no cover
            raise AssertionError("timers did not settle")
        if until > self.clock.now():
            self.clock.set(until)
        self.step()

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        self.run_until(self.clock.now() + delta)
        return self.clock.now()

    # -- the phone side --------------------------------------------------------------------------------------
    def reply(
        self, phone: str, body: str | None = None, digits: str | None = None, sid: str | None = None
    ) -> ReplyResult:
        """What POST /api/sandbox/reply and /twilio/sms do: a check-in's answer first, else an alert's."""
        channel = "voice" if digits else "sms"
        with self.sessions() as s, s.begin():
            now = self.clock.now()
            result = checkin_replies.route(
                s, phone=phone, now=now, body=body, digits=digits, channel=channel, provider_sid=sid
            ) or handle_reply(s, phone=phone, now=now, body=body, digits=digits, channel=channel, provider_sid=sid)
        while self.hub.dispatcher.run_once():
            pass
        return result

    def callback(self, n: Notification, status: str, answered_by: str | None = None) -> None:
        """A provider's status callback for a notification the sandbox sent."""
        with self.sessions() as s, s.begin():
            notify.status_update(s, n.provider_sid, status, self.clock.now(), answered_by=answered_by)

    def load(self, text: str) -> None:
        with self.sessions() as s, s.begin():
            load_site(s, text, self.clock.now())
        self.hub.site_changed()

    def event(self, device: str, type: str, home: str = "home-0001", **fields) -> None:
        """A raw device event arriving now, through ingest (as MQTT would hand it over)."""
        ts = self.clock.now().isoformat().replace("+00:00", "Z")
        body = {"event_id": f"ck-{next(_ids)}", "type": type, "ts": ts, **fields}
        self.hub.ingest.process(
            [
                Inbound(
                    kind="event",
                    topic=f"telecare/v1/{home}/{device}/event",
                    payload=orjson.dumps(body),
                    home=home,
                    device=device,
                )
            ]
        )

    # -- what happened -----------------------------------------------------------------------------------------
    def checkins(self, resident_id: int | None = None) -> list[Checkin]:
        with self.sessions() as s:
            q = (
                select(Checkin)
                .options(selectinload(Checkin.attempts).selectinload(CheckinAttempt.notification))
                .order_by(Checkin.due_at, Checkin.id)
            )
            if resident_id is not None:
                q = q.where(Checkin.resident_id == resident_id)
            return list(s.scalars(q))

    def last(self) -> Checkin:
        return self.checkins()[-1]

    def notifications(self, purpose: str | None = None, to: str | None = None) -> list[Notification]:
        with self.sessions() as s:
            q = select(Notification).order_by(Notification.id)
            if purpose:
                q = q.where(Notification.purpose == purpose)
            if to:
                q = q.where(Notification.to == to)
            return list(s.scalars(q))

    def alerts(self, type: str | None = None) -> list[Alert]:
        with self.sessions() as s:
            q = select(Alert).order_by(Alert.id)
            if type:
                q = q.where(Alert.type == type)
            return list(s.scalars(q))

    def timeline(self, alert_id: int) -> list[tuple[str, str]]:
        with self.sessions() as s:
            return [(t.kind, t.detail) for t in s.get(Alert, alert_id).timeline]

    def flags(self) -> list[DriftFlag]:
        with self.sessions() as s:
            return list(s.scalars(select(DriftFlag).order_by(DriftFlag.id)))


def make_world(db_url, sample_site_text, start: datetime, monkeypatch=None) -> World:
    hub = HubRuntime(Settings(database_url=db_url), clock=FakeClock(start), with_mqtt=False)
    assert hub.notifier.name == "sandbox"
    w = World(hub)
    w.load(sample_site_text)
    return w


@pytest.fixture
def world_at(db_url, sample_site_text, monkeypatch):
    """world_at(datetime) -> a World with the sample site loaded at that instant."""
    for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    made: list[World] = []

    def _make(start: datetime) -> World:
        w = make_world(db_url, sample_site_text, start)
        made.append(w)
        return w

    yield _make
    for w in made:
        w.hub.stop()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)

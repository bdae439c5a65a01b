"""The hub in one process: schema migration, ingest, outbox, supervision and the web app."""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import event

from telecare.clock import Clock, SystemClock
from telecare.events.ingest import IngestService
from telecare.heartbeat.supervision import Supervisor
from telecare.site.directory import DeviceDirectory
from telecare.storage import make_engine, make_session_factory, upgrade

from . import metrics
from .config import Settings
from .directory_file import load_if_empty as load_directory_if_empty
from .mqtt.broker import EmbeddedBroker, broker_answers
from .mqtt.consumer import MqttConsumer
from .mqtt.publisher import OutboxPublisher, publishing_client
from .notify import make_notifier
from .notify.dispatcher import Dispatcher
from .scheduler import Timers
from .wellbeing import WellbeingLoop

log = logging.getLogger("linkage.hub")


class HubRuntime:
    def __init__(self, settings: Settings | None = None, clock: Clock | None = None, *, with_mqtt: bool = True):
        self.settings = settings or Settings()
        self.clock = clock or SystemClock()
        self.engine = make_engine(self.settings.database_url)
        upgrade(self.engine)
        self.sessions = make_session_factory(self.engine)
        event.listen(self.sessions, "after_commit", self._after_commit)
        self.directory = DeviceDirectory()
        with self.sessions() as s:
            n = self.directory.load(s)
        log.info("schema up to date; %d devices registered", n)
        load_directory_if_empty(self.sessions, self.settings.directory_file, self.clock)  # services, for the assistant
        self.ingest = IngestService(self.sessions, self.directory, self.clock, on_alert=self._alerts_opened)
        self.supervisor = Supervisor(self.sessions, self.directory, self.clock)
        self.with_mqtt = with_mqtt
        self.broker: EmbeddedBroker | None = None
        self.consumer: MqttConsumer | None = None
        self.publisher: OutboxPublisher | None = None
        self.notifier = make_notifier()
        self.dispatcher = Dispatcher(self.sessions, self.notifier, self.clock)
        self.timers: Timers | None = None
        self.wellbeing: WellbeingLoop | None = None  # check-in timers and the wellbeing watch
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.change_listeners: list = []  # called (no arguments) when alerts may have changed: the console's live board

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "HubRuntime":
        self.dispatcher.start()
        self.timers = Timers(self).start()
        self.wellbeing = WellbeingLoop(self).start()
        if self.with_mqtt:
            m = self.settings.mqtt
            if not broker_answers(m.host, m.port) and self.settings.embedded_broker and m.host in ("127.0.0.1", "localhost"):
                log.warning("no MQTT broker answers at %s; starting the embedded one", m.url)
                self.broker = EmbeddedBroker(m.host, m.port).start()
            self.consumer = MqttConsumer(m, self.ingest, client_id=self.settings.mqtt_client_id).start()
            client, connected = publishing_client(m, f"{self.settings.mqtt_client_id}-out")
            self.publisher = OutboxPublisher(client, connected, self.sessions, self.clock).start()
        t = threading.Thread(target=self._supervise, name="supervision", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.timers:
            self.timers.stop()
        if self.wellbeing:
            self.wellbeing.stop()
        self.dispatcher.stop()
        if self.publisher:
            self.publisher.stop()
        if self.consumer:
            self.consumer.stop()
        if self.broker:
            self.broker.stop()
        self.engine.dispose()

    def _supervise(self) -> None:
        interval = self.settings.supervision_interval
        while not self._stop.wait(interval):
            try:
                raised = self.supervisor.run_once()
                if raised:
                    metrics.DEVICES_OFFLINE_RAISED.inc(len(raised))
                    self.changed()
            except Exception:  # noqa: BLE001
                log.exception("supervision run failed")

    # -- notifications between parts -----------------------------------------------------------
    def _after_commit(self, session) -> None:
        timers = session.info.pop("linkage.timers", None)
        dispatch = session.info.pop("linkage.dispatch", None)
        if timers and self.timers:
            try:
                self.timers.changed(timers)
            except Exception:  # noqa: BLE001  (the sweep will still fire it)
                log.exception("could not set escalation timers")
        if dispatch:
            self.dispatcher.wake.set()
        if timers or dispatch:
            self._tell_listeners()

    def _alerts_opened(self, ids: list[int]) -> None:
        self.changed()

    def changed(self) -> None:
        """Something wrote to the outbox: publish now rather than at the next tick."""
        if self.publisher:
            self.publisher.wake.set()
        self._tell_listeners()

    def _tell_listeners(self) -> None:
        for listener in self.change_listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001  (a listener must never break a commit)
                log.exception("change listener failed")

    def site_changed(self) -> None:
        self.directory.forget_missing()
        with self.sessions() as s:
            self.directory.load(s)

    # -- health ------------------------------------------------------------------------------------
    def broker_status(self) -> dict:
        if not self.with_mqtt:
            return {"ok": True, "url": None, "connected": False, "note": "MQTT disabled"}
        connected = bool(self.consumer and self.consumer.connected.is_set())
        return {"ok": connected, "url": self.settings.mqtt.url, "connected": connected,
                "embedded": self.broker is not None,
                "queue": self.consumer.queue.qsize() if self.consumer else 0}

    def scheduler_status(self) -> dict:
        last = self.supervisor.last_run
        interval = self.settings.supervision_interval
        alive = bool(self._threads) and all(t.is_alive() for t in self._threads)
        timers = bool(self.timers and self.timers.scheduler.running)
        stale = isinstance(self.clock, SystemClock) and last is not None and time.time() - last.timestamp() > 3 * interval + 5
        checkins = bool(self.wellbeing and self.wellbeing.alive)
        return {"ok": alive and timers and checkins and not stale, "supervision_running": alive,
                "timers_running": timers, "checkin_timer_running": checkins,
                "supervision_last_run": last.isoformat() if last else None, "supervision_interval_s": interval,
                "pending_timers": len(self.timers.scheduler.get_jobs()) - 1 if timers else None}

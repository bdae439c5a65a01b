"""The hub in one process: schema migration, ingest, outbox, supervision and the web app."""

from __future__ import annotations

import logging
import time

import telecare.handlers  # noqa: F401  (the domain's subscriptions, telecare.bus)
from telecare import bus
from telecare.clock import Clock, SystemClock
from telecare.domain_events import AlertChanged, EscalationTimerMoved, NotificationQueued
from telecare.events.ingest import IngestService
from telecare.heartbeat.supervision import Supervisor
from telecare.site.device_cache import DeviceCache
from telecare.storage import make_engine, make_session_factory, secrets

from . import metrics
from .checkin_timer import CheckinTimer
from .config import Settings
from .data_key import open_database
from .directory_file import load_if_empty as load_directory_if_empty
from .mqtt.broker import EmbeddedBroker, broker_answers
from .mqtt.consumer import MqttConsumer
from .mqtt.publisher import OutboxPublisher, publishing_client
from .notify import make_notifier
from .notify.dispatcher import Dispatcher
from .scheduler import Timers
from .worker import Worker

log = logging.getLogger("linkage.hub")


class HubStartError(RuntimeError):
    """The hub cannot start as configured (no broker, the broker refused it, ...): it stops, with
    this message, rather than run without ingest (docs/security.md, "Failing closed")."""


class HubRuntime:
    def __init__(self, settings: Settings | None = None, clock: Clock | None = None, *, with_mqtt: bool = True):
        self.settings = settings or Settings()
        self.clock = clock or SystemClock()
        if self.settings.data_keys is not None:  # the keys for access notes at rest (LINKAGE_DATA_KEY)
            secrets.use_keys(self.settings.data_keys)
        self.engine = make_engine(self.settings.database_url)
        try:
            open_database(self.engine)
        except secrets.DataKeyError as exc:
            self.engine.dispose()
            raise HubStartError(str(exc)) from None
        self.sessions = make_session_factory(self.engine)
        # what the adapters do once a transaction has committed (telecare.bus, docs/architecture.md)
        self.after_commit = (
            bus.AfterCommit()
            .subscribe(EscalationTimerMoved, self._timers_moved)
            .subscribe(NotificationQueued, self._wake_dispatcher)
            .subscribe(AlertChanged, self._wake_publisher)
            .subscribe_any(self._tell_listeners)
            .attach(self.sessions)
        )
        self.devices = DeviceCache()
        with self.sessions() as s:
            n = self.devices.load(s)
        log.info("schema up to date; %d devices registered", n)
        load_directory_if_empty(self.sessions, self.settings.directory_file, self.clock)  # services, for the assistant
        self.ingest = IngestService(self.sessions, self.devices, self.clock)
        self.supervisor = Supervisor(self.sessions, self.devices, self.clock)
        self.with_mqtt = with_mqtt and self.settings.mqtt is not None  # MQTT_URL=off: no ingest, said in health
        self.broker: EmbeddedBroker | None = None
        self.consumer: MqttConsumer | None = None
        self.publisher: OutboxPublisher | None = None
        self.notifier = make_notifier(self.settings)  # a partial Twilio configuration raises here
        self.dispatcher = Dispatcher(self.sessions, self.notifier, self.clock)
        self.timers: Timers | None = None
        self.checkin_timer: CheckinTimer | None = None  # check-ins, the watch's sweep, introductions' follow-ups
        self.supervision = Worker(
            "supervision", self._supervise, interval=self.settings.supervision_interval, wait_first=True, logger=log
        )
        self.change_listeners: list = []  # called (no arguments) when alerts may have changed: the console's live board

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> HubRuntime:
        """Start everything; a HubStartError (everything stopped again) when the broker does not
        answer or does not accept the hub within settings.mqtt_start_wait seconds."""
        deadline = time.monotonic() + self.settings.mqtt_start_wait
        if self.with_mqtt:
            self._find_broker(deadline)
        self.dispatcher.start()
        self.timers = Timers(self).start()
        self.checkin_timer = CheckinTimer(self).start()
        if self.with_mqtt:
            m = self.settings.mqtt
            self.consumer = MqttConsumer(m, self.ingest, client_id=self.settings.mqtt_client_id).start()
            client, connected = publishing_client(m, f"{self.settings.mqtt_client_id}-out")
            self.publisher = OutboxPublisher(client, connected, self.sessions, self.clock).start()
            if not self.consumer.connected.wait(max(deadline - time.monotonic(), 5.0)):
                why = self.consumer.last_error or "no answer to CONNECT"
                self.stop()
                raise HubStartError(
                    f"the MQTT broker at {m.url} did not accept the hub ({why}). Check MQTT_URL's username and "
                    "password (hub.env from `linkage mqtt broker-config`), and MQTT_CA_FILE for mqtts://."
                )
        self.supervision.start()
        return self

    def _find_broker(self, deadline: float) -> None:
        """A broker at MQTT_URL, or the embedded one when asked for (LINKAGE_EMBEDDED_BROKER=on;
        loopback only, for the demo). Never a broker nobody asked for."""
        m = self.settings.mqtt
        if self.settings.embedded_broker:
            if broker_answers(m.host, m.port, timeout=0.5):
                log.info("a broker already answers at %s; the embedded one is not needed", m.url)
                return
            log.warning(
                "starting the embedded MQTT broker on 127.0.0.1:%s (LINKAGE_EMBEDDED_BROKER=on: "
                "anonymous, loopback only, for a demo)",
                m.port,
            )
            self.broker = EmbeddedBroker("127.0.0.1", m.port).start()
            return
        while not broker_answers(m.host, m.port, timeout=min(1.0, max(deadline - time.monotonic(), 0.1))):
            if time.monotonic() >= deadline:
                raise HubStartError(
                    f"no MQTT broker answers at {m.url} (waited {self.settings.mqtt_start_wait:g}s); the hub does "
                    "not run without ingest. Start Mosquitto (`linkage mqtt broker-config`, docs/operations.md), "
                    "or for a demo on this machine set LINKAGE_EMBEDDED_BROKER=on."
                )
            time.sleep(0.25)

    def stop(self) -> None:
        self.supervision.stop()
        if self.timers:
            self.timers.stop()
        if self.checkin_timer:
            self.checkin_timer.stop()
        self.dispatcher.stop()
        if self.publisher:
            self.publisher.stop()
        if self.consumer:
            self.consumer.stop()
        if self.broker:
            self.broker.stop()
        self.engine.dispose()

    def _supervise(self) -> None:
        raised = self.supervisor.run_once()
        if raised:
            metrics.DEVICES_OFFLINE_RAISED.inc(len(raised))

    # -- after commit (subscribed in __init__) --------------------------------------------------------
    def _timers_moved(self, events: list[EscalationTimerMoved]) -> None:
        if self.timers:  # the sweep fires anything due that has no job, should this fail
            self.timers.changed({e.alert_id: e.due for e in events})

    def _wake_dispatcher(self, events: list[NotificationQueued]) -> None:
        self.dispatcher.wake.set()

    def _wake_publisher(self, events: list[AlertChanged]) -> None:
        # a further alarm joining an open alert (a storm: most ingest batches) rides the publisher's 1 s tick, as
        # before; it must not wake the publisher, and its SQLite writes, once per ingest batch
        if self.publisher and any(e.change != "joined" for e in events):
            self.publisher.wake.set()

    def changed(self) -> None:
        """Publish the outbox now rather than at the next tick, and tell the live board."""
        if self.publisher:
            self.publisher.wake.set()
        self._tell_listeners()

    def _tell_listeners(self, events: list | None = None) -> None:
        for listener in self.change_listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001  (a listener must never break a commit)
                log.exception("change listener failed")

    def site_changed(self) -> None:
        self.devices.forget_missing()
        with self.sessions() as s:
            self.devices.load(s)

    # -- health ------------------------------------------------------------------------------------
    def broker_status(self) -> dict:
        if not self.with_mqtt:
            return {
                "ok": True,
                "url": None,
                "connected": False,
                "embedded": False,
                "tls": False,
                "note": "MQTT disabled",
            }
        connected = bool(self.consumer and self.consumer.connected.is_set())
        return {
            "ok": connected,
            "url": self.settings.mqtt.url,
            "connected": connected,
            "embedded": self.broker is not None,
            "tls": self.settings.mqtt.tls,
            "queue": self.consumer.queue.qsize() if self.consumer else 0,
        }

    def scheduler_status(self) -> dict:
        last = self.supervisor.last_run
        interval = self.settings.supervision_interval
        alive = self.supervision.alive
        timers = bool(self.timers and self.timers.scheduler.running)
        stale = (
            isinstance(self.clock, SystemClock)
            and last is not None
            and time.time() - last.timestamp() > 3 * interval + 5
        )
        checkins = bool(self.checkin_timer and self.checkin_timer.alive)
        return {
            "ok": alive and timers and checkins and not stale,
            "supervision_running": alive,
            "timers_running": timers,
            "checkin_timer_running": checkins,
            "supervision_last_run": last.isoformat() if last else None,
            "supervision_interval_s": interval,
            "pending_timers": len(self.timers.scheduler.get_jobs()) - 1 if timers else None,
        }

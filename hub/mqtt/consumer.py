"""The ingest consumer: paho-mqtt 2 on a persistent session with manual acknowledgement.

paho's network thread only appends to a queue (a burst never blocks keep-alives). One
worker thread drains the queue in batches, hands each batch to ``IngestService.process``
(one transaction) and acknowledges the batch's messages to the broker only after commit,
in the order they arrived. A crash before commit leaves them unacknowledged, and the
broker delivers them again to the same session; (device, event_id) makes that harmless.
"""
from __future__ import annotations

import logging
import queue
import threading
import time

import paho.mqtt.client as mqtt

from hub import metrics
from hub.config import MqttSettings
from telecare.events.ingest import Inbound, IngestService

from .topics import SUBSCRIPTION, classify

log = logging.getLogger("linkage.mqtt")


class MqttConsumer:
    def __init__(self, settings: MqttSettings, service: IngestService, client_id: str = "linkage-hub",
                 batch_max: int = 1000, batch_wait: float = 0.005):
        self.settings = settings
        self.service = service
        self.client_id = client_id
        self.batch_max = batch_max
        self.batch_wait = batch_wait
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.connected = threading.Event()
        self._generation = 0  # bumps on every (re)connection; acks of an older one are not sent
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.processed = 0
        self.last_batch_at: float | None = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  manual_ack=True, protocol=mqtt.MQTTv311)
        if settings.username:
            self.client.username_pw_set(settings.username, settings.password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)

    # -- paho's thread ---------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        self._generation += 1
        client.subscribe(SUBSCRIPTION, qos=1)
        self.connected.set()
        metrics.MQTT_CONNECTED.set(1)
        log.info("connected to MQTT %s (session present: %s)", self.settings.url, flags.session_present)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        metrics.MQTT_CONNECTED.set(0)
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); paho reconnects", reason_code)

    def _on_message(self, client, userdata, msg):
        self.queue.put((msg._topic, msg.payload, msg.mid, msg.qos, self._generation))

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "MqttConsumer":
        self.client.connect_async(self.settings.host, self.settings.port, keepalive=30)
        self.client.loop_start()
        self._worker = threading.Thread(target=self._work, name="ingest-worker", daemon=True)
        self._worker.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._worker:
            self._worker.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    # -- the worker --------------------------------------------------------------------------
    def _take(self) -> list:
        try:
            first = self.queue.get(timeout=0.2)
        except queue.Empty:
            return []
        items = [first]
        deadline = time.monotonic() + self.batch_wait
        while len(items) < self.batch_max:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.0005)
        return items

    def _work(self) -> None:
        while not self._stop.is_set():
            items = self._take()
            if not items:
                self._idle()
                continue
            metrics.INGEST_QUEUE.set(self.queue.qsize())
            batch = []
            for topic, payload, mid, qos, gen in items:
                try:
                    topic_s = topic.decode("utf-8")
                except UnicodeDecodeError:
                    topic_s = topic.decode("utf-8", errors="backslashreplace")
                    batch.append(Inbound("bad_topic", topic_s, payload, reason="topic is not UTF-8"))
                    continue
                inbound = classify(topic_s, payload)
                if inbound is not None:
                    batch.append(inbound)
            if not self._process_until_done(batch):
                return  # stopping before the batch was committed: the broker delivers it again
            for topic, payload, mid, qos, gen in items:
                if qos and gen == self._generation:
                    self.client.ack(mid, qos)
            self.processed += len(items)
            self.last_batch_at = time.time()

    def _idle(self) -> None:
        """Nothing arriving: a good moment to write the last-seen times held in memory."""
        if self.service.directory.dirty:
            try:
                self.service.flush_seen()
            except Exception:  # noqa: BLE001  (supervision flushes too)
                log.exception("could not write last-seen times")

    def _process_until_done(self, batch: list[Inbound]) -> bool:
        """Commit the batch; True once it is committed, False if the hub is stopping first
        (then nothing may be acknowledged). On failure, retry; split a batch that keeps
        failing so one poisonous message becomes a dead letter instead of stopping ingest.
        If even that cannot be written (the database is down), wait and retry."""
        delay = 0.5
        while True:
            try:
                self._commit(batch)
                return True
            except Exception:  # noqa: BLE001
                metrics.INGEST_ERRORS.inc()
                log.exception("ingest batch of %d failed", len(batch))
            try:
                for one in batch:
                    self._commit_one(one)
                return True
            except Exception:  # noqa: BLE001
                log.exception("database unavailable; retrying in %.1fs", delay)
            if self._stop.wait(delay):
                return False
            delay = min(delay * 2, 10)

    def _commit(self, batch: list[Inbound]) -> None:
        t0 = time.perf_counter()
        res = self.service.process(batch)
        metrics.INGEST_BATCH_SECONDS.observe(time.perf_counter() - t0)
        metrics.INGEST_MESSAGES.labels("accepted").inc(res.accepted)
        metrics.INGEST_MESSAGES.labels("heartbeat").inc(res.heartbeats)
        metrics.INGEST_MESSAGES.labels("duplicate").inc(res.duplicates)
        metrics.INGEST_MESSAGES.labels("dead_letter").inc(res.dead)
        if res.alerts_opened:
            metrics.ALERTS_OPENED.inc(len(res.alerts_opened))

    def _commit_one(self, one: Inbound) -> None:
        try:
            self._commit([one])
        except Exception as exc:  # noqa: BLE001
            log.exception("message on %s could not be processed; dead-lettered", one.topic)
            self.service.dead_letter_now(one, "internal_error", f"the hub failed on this message: {exc!r}")
